"""Linear time on hostile sources, shown by counting work, never by timing.

The work is measured in characters: every slice, search, encode or regular-expression scan of
the source charges the characters it copies or examines (`Meter`). Doubling the input must
about double the charge (linear), not quadruple it (quadratic). The inputs are the shapes
that used to be quadratic: thousands of findings on one long line (every finding re-read the
line), a notebook cell with thousands of findings (every finding decoded the whole cell), a
run of `~` after the notebooks' placeholder mark (one more search per `~`), and a cell with
thousands of IPython lines (one search of the cell per line when putting them back).
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

import pytest

import gradlint.edits
import gradlint.graph.source
import gradlint.noqa
import gradlint.notebook
from gradlint.config import Settings
from gradlint.engine import check_notebook_source, check_source
from gradlint.files import SourceFile
from gradlint.notebook import (
    build_virtual_module,
    parse_notebook,
    unique_tag,
)

GL101 = Settings(select=("GL101",))
# Doubling the input: linear work doubles (a little more for the logarithms of a sort or a
# binary search), quadratic work quadruples.
LINEAR = 2.4


class Meter:
    """Characters examined or copied so far."""

    def __init__(self) -> None:
        self.chars = 0


class MeteredText(str):
    """A str that charges a meter for the characters each of its methods may examine or copy;
    the strings it gives back are metered too, so a line sliced from the source still counts."""

    meter: Meter

    def __new__(cls, value: str, meter: Meter) -> Self:
        text = super().__new__(cls, value)
        text.meter = meter
        return text

    def _wrap(self, value):
        if isinstance(value, str) and not isinstance(value, MeteredText):
            return MeteredText(value, self.meter)
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        return value

    def _charged(self, chars: int, value):
        self.meter.chars += max(chars, 1)
        return self._wrap(value)

    def _span(self, start: int | None, end: int | None) -> int:
        return len(range(*slice(start, end).indices(len(self))))

    def __getitem__(self, key):
        value = str.__getitem__(self, key)
        return self._charged(len(value), value)

    def __contains__(self, sub: object) -> bool:
        return self._charged(len(self), str.__contains__(self, sub))  # type: ignore[operator]

    def find(self, sub, start=None, end=None):
        return self._charged(self._span(start, end), str.find(self, sub, start, end))

    def rfind(self, sub, start=None, end=None):
        return self._charged(self._span(start, end), str.rfind(self, sub, start, end))

    def index(self, sub, start=None, end=None):
        return self._charged(self._span(start, end), str.index(self, sub, start, end))

    def count(self, sub, start=None, end=None):
        return self._charged(self._span(start, end), str.count(self, sub, start, end))

    def startswith(self, prefix, start=None, end=None):
        width = max(map(len, prefix)) if isinstance(prefix, tuple) else len(prefix)
        return self._charged(width, str.startswith(self, prefix, start, end))

    def endswith(self, suffix, start=None, end=None):
        width = max(map(len, suffix)) if isinstance(suffix, tuple) else len(suffix)
        return self._charged(width, str.endswith(self, suffix, start, end))


def _whole(name: str) -> Callable[..., object]:
    """A method that examines (and copies) the whole string."""
    method = getattr(str, name)

    def charged(self: MeteredText, *args, **kwargs):
        return self._charged(len(self), method(self, *args, **kwargs))

    return charged


for _name in ("split", "splitlines", "replace", "strip", "lstrip", "rstrip", "lower", "upper",
              "encode", "isascii", "__add__", "__iter__"):
    setattr(MeteredText, _name, _whole(_name))


class MeteredPattern:
    """A compiled regular expression that charges the characters its scans cover: a search
    up to where it matched, a match as far as it matched, finditer/findall/sub the span."""

    def __init__(self, pattern: re.Pattern[str], meter: Meter) -> None:
        self.pattern, self.meter = pattern, meter

    def __getattr__(self, name: str):
        return getattr(self.pattern, name)

    def _charge(self, chars: int) -> None:
        self.meter.chars += max(chars, 1)

    def search(self, string, pos=0, endpos=None):
        found = self.pattern.search(string, pos, len(string) if endpos is None else endpos)
        self._charge((found.end() if found else len(string) if endpos is None else endpos) - pos)
        return found

    def match(self, string, pos=0, endpos=None):
        found = self.pattern.match(string, pos, len(string) if endpos is None else endpos)
        self._charge(found.end() - pos if found else 1)
        return found

    def fullmatch(self, string, pos=0, endpos=None):
        end = len(string) if endpos is None else endpos
        found = self.pattern.fullmatch(string, pos, end)
        self._charge(end - pos if found else 1)
        return found

    def finditer(self, string, pos=0, endpos=None):
        end = len(string) if endpos is None else endpos
        self._charge(end - pos)
        return self.pattern.finditer(string, pos, end)

    def findall(self, string, pos=0, endpos=None):
        end = len(string) if endpos is None else endpos
        self._charge(end - pos)
        return self.pattern.findall(string, pos, end)

    def sub(self, repl, string, count=0):
        self._charge(len(string))
        return self.pattern.sub(repl, string, count)

    def split(self, string, maxsplit=0):
        self._charge(len(string))
        return self.pattern.split(string, maxsplit)


METERED_MODULES = (gradlint.graph.source, gradlint.edits, gradlint.noqa, gradlint.notebook)


@contextmanager
def metered(monkeypatch: pytest.MonkeyPatch) -> Iterator[Meter]:
    """Every regular expression of the modules that look at source text charges `meter`, and
    so do the ones they compile while running."""
    meter = Meter()
    with monkeypatch.context() as patch:
        for module in METERED_MODULES:
            for name, value in list(vars(module).items()):
                if isinstance(value, re.Pattern):
                    patch.setattr(module, name, MeteredPattern(value, meter))
            if getattr(module, "re", None) is re:
                compiling = types.SimpleNamespace(**vars(re))
                compiling.compile = lambda *args, **kwargs: MeteredPattern(re.compile(*args, **kwargs), meter)
                patch.setattr(module, "re", compiling)
        _forget_noqa_lines()
        yield meter
    _forget_noqa_lines()


def _forget_noqa_lines() -> None:
    """Lines read by an earlier run must not make this one look cheap."""
    getattr(gradlint.noqa.suppressed_codes, "cache_clear", lambda: None)()


def work(monkeypatch: pytest.MonkeyPatch, run: Callable[[Meter], object]) -> int:
    with metered(monkeypatch) as meter:
        run(meter)
    return meter.chars


def assert_linear(monkeypatch: pytest.MonkeyPatch, run: Callable[[Meter, int], object], size: int) -> None:
    """`run` at `size` and at twice `size`: the work may double, not quadruple."""
    small = work(monkeypatch, lambda meter: run(meter, size))
    large = work(monkeypatch, lambda meter: run(meter, 2 * size))
    assert large <= LINEAR * small, f"work grew ×{large / small:.2f} when the input doubled ({small} → {large} characters)"


# -- one long line, a finding (with a fix) per call on it --------------------------------------

def one_line_of_layers(layers: int, tail: str = "") -> str:
    """Generated code: `d0 = layers.Dense(…); d1 = layers.Dense(…); …` on one line."""
    body = "; ".join(f'd{i} = layers.Dense(64, activation="relu")' for i in range(layers))
    return f"from tensorflow import keras\nfrom tensorflow.keras import layers\n{body}{tail}\n"


@pytest.mark.parametrize("tail", [
    "",  # ASCII: newline_at rescanned the line for every finding
    "  # différent",  # not ASCII: every position conversion re-encoded the line
    "  # noqa: E501",  # a noqa comment: every finding searched the line for it
], ids=["ascii", "non-ascii", "noqa"])
def test_findings_on_one_long_line_cost_linear_work(monkeypatch: pytest.MonkeyPatch, tail: str):
    def run(meter: Meter, layers: int) -> None:
        found = check_source(MeteredText(one_line_of_layers(layers, tail), meter), "m.py", GL101)
        assert len(found) == layers and all(d.fix is not None for d in found)

    assert_linear(monkeypatch, run, 400)


def test_the_meter_sees_quadratic_work():
    """The meter itself: rescanning a line once per finding is charged quadratically."""
    def rescan(items: int) -> int:
        meter = Meter()
        line = MeteredText("x, " * items, meter)
        for i in range(items):
            line.find(",", 0)
            line.rstrip()
        return meter.chars

    assert rescan(800) > 3.5 * rescan(400)


# -- notebooks ----------------------------------------------------------------------------------

def notebook_json(*sources: str) -> str:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
              "source": source.splitlines(keepends=True)} for i, source in enumerate(sources)]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


def test_findings_in_one_notebook_cell_cost_linear_work(monkeypatch: pytest.MonkeyPatch):
    def run(meter: Meter, layers: int) -> None:
        text = notebook_json("from tensorflow import keras\n"
                             + 'x = keras.layers.Dense(64, activation="relu")\n' * layers)
        source = SourceFile(Path("n.ipynb"), MeteredText(text, meter), "utf-8", text.encode())
        result = check_notebook_source(source, "n.ipynb", GL101)
        assert len(result.diagnostics) == layers and "json_location" in result.diagnostics[-1].extra

    assert_linear(monkeypatch, run, 300)


def test_the_placeholder_mark_is_found_in_one_pass(monkeypatch: pytest.MonkeyPatch):
    """A cell that holds the mark followed by a long run of `~` (each `~` used to cost one
    more search of every cell)."""
    def run(meter: Meter, tildes: int) -> None:
        tag = unique_tag(MeteredText(f"%matplotlib inline\n# gradlint:ipython{'~' * tildes}\n", meter))
        assert len(tag) < 30

    assert_linear(monkeypatch, run, 2000)


def test_the_virtual_module_of_a_hostile_notebook_grows_linearly():
    """The mark is in every placeholder: a mark as long as the input made the module
    quadratic in size for a cell with many IPython lines."""
    def module_size(tildes: int) -> int:
        notebook = parse_notebook(notebook_json(
            f"# gradlint:ipython{'~' * tildes}\n" + "%time x = 1\n" * (tildes // 10),
            "from tensorflow import keras\n"))
        module = build_virtual_module(notebook)
        assert module.split(module.text)[1].startswith("# gradlint:ipython~")
        return len(module.text) + len(module.separator)

    assert module_size(4000) <= LINEAR * module_size(2000)


def test_putting_thousands_of_ipython_lines_back_costs_linear_work(monkeypatch: pytest.MonkeyPatch):
    def run(meter: Meter, magics: int) -> None:
        source = "from tensorflow import keras\n" + "".join(f"%time x = {i}\n" for i in range(magics))
        module = build_virtual_module(parse_notebook(notebook_json(source, "y = 1\n")))
        assert module.split(MeteredText(module.text, meter))[1] == source

    assert_linear(monkeypatch, run, 400)
