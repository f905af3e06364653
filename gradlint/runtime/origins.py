"""Where each layer of a target was constructed: the rows of the call in the target's file.

The probe localizes a finding to layers (the first dead layer, the layers where the backward
signal collapses); the static side files its findings under source rows. Recording each layer's
construction site while the target builds its model joins the two, so that a runtime finding
is "explained by" a static one only when that one is on a layer the probe points at. A layer
made in a loop has the loop body's row, like the static finding on it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

from gradlint.runtime.results import ProbeReport

Site = tuple[str, Any, int, int]  # file, code object, last instruction, line: resolved to rows lazily
_DEPTH = 40  # frames looked at per construction; model code sits far above this


class Origins:
    """Construction sites of the layers made while recording, innermost first."""

    def __init__(self) -> None:
        self._sites: list[tuple[Any, tuple[Site, ...]]] = []

    def note(self, layer: Any) -> None:
        self._sites.append((layer, _call_sites(layer)))

    def rows_by_name(self, path: Path | None, name_of: Callable[[Any], str | None] | None = None,
                     ) -> dict[str, tuple[int, int]]:
        """{layer name: (first row, last row)} of the constructions in `path`; a name two
        layers share is left out rather than guessed. `name_of`: the name the report gives a
        layer (default: its `name`, as Keras layers have)."""
        if path is None:
            return {}
        wanted = os.path.realpath(path)
        same: dict[str, bool] = {}
        found: dict[str, tuple[int, int] | None] = {}
        for layer, sites in self._sites:
            rows = next((_rows(site) for site in sites
                         if same.setdefault(site[0], _same_file(site[0], wanted))), None)
            name = name_of(layer) if name_of is not None else getattr(layer, "name", None)
            if rows is None or not isinstance(name, str):
                continue
            found[name] = None if name in found and found[name] != rows else rows
        return {name: rows for name, rows in found.items() if rows is not None}

    def attach(self, report: ProbeReport, path: Path | None,
               name_of: Callable[[Any], str | None] | None = None) -> ProbeReport:
        """The report with each layer's construction rows in the target's file."""
        rows = self.rows_by_name(path, name_of)
        if not rows:
            return report
        layers = tuple(replace(layer, source_rows=rows.get(layer.name)) for layer in report.layers)
        return replace(report, layers=layers)


@contextlib.contextmanager
def recording(keras: Any) -> Iterator[Origins]:
    """Note every Keras layer constructed inside the block (Layer.__init__ wrapped, then put back)."""
    origins = Origins()
    base = keras.layers.Layer
    original = base.__dict__["__init__"]

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        with contextlib.suppress(Exception):  # where a layer came from is never worth a failed build
            origins.note(self)

    base.__init__ = init
    try:
        yield origins
    finally:
        base.__init__ = original


def _call_sites(layer: Any) -> tuple[Site, ...]:
    """The frames above the construction, innermost first, skipping the layer's own __init__
    chain (a user-defined layer's `super().__init__()` is not where it was made)."""
    sites: list[Site] = []
    frame: FrameType | None = sys._getframe(2)
    for _ in range(_DEPTH):
        if frame is None:
            break
        code = frame.f_code
        if not (code.co_name == "__init__" and frame.f_locals.get("self") is layer):
            sites.append((code.co_filename, code, frame.f_lasti, frame.f_lineno))
        frame = frame.f_back
    return tuple(sites)


def _rows(site: Site) -> tuple[int, int]:
    """The rows of the call being executed at `site` (a call may span several lines)."""
    _, code, lasti, line = site
    first = last = line
    with contextlib.suppress(Exception):
        start, end, _, _ = list(code.co_positions())[lasti // 2]
        if start is not None:
            first, last = start, end if end is not None else start
    return first, last


def _same_file(file: str, wanted: str) -> bool:
    return file == wanted or os.path.realpath(file) == wanted
