"""Properties of checking and fixing, over random Keras model code (tests/strategies.py).

For every generated program:
- the fixed code parses, fixing it again changes nothing, and no fixable finding is left;
- fixing never creates a problem: what it fixes and what it leaves were reported before;
- every line a fix changes lies within a finding that had a fix, or is a line one of that
  fix's own edits touches (an import extended), pass after pass;
- a name a fix imports is new to the file: it neither shadows nor is shadowed by another;
- a file's findings are the same checked alone or among many files through the CLI, serially
  or in a process pool, and `fix --write` writes exactly what `fix_source` computes;
- in a codec that does not survive decoding and encoding again, every line a fix does not
  change keeps its bytes, and the file reads back as exactly the fixed text;
- `fix --write` never writes a read-only file: it is named as an error, the others are fixed.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import tempfile
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlint.cli import main
from gradlint.config import Settings
from gradlint.diagnostics import Diagnostic
from gradlint.engine import check_source, fix_source
from gradlint.fixing import apply_fixes
from gradlint.report.json_format import diagnostic_json
from gradlint.stdin import check_stdin, output_bytes
from strategies import STABLE, EncodedProgram, Program, byte_lines, encoded_programs, programs, text_lines

NAME = "model.py"
SETTINGS = Settings()  # safe fixes only, as `fix --write` applies them
ALL_FIXES = Settings(unsafe_fixes=True)  # as `fix --write --unsafe-fixes`
EITHER = st.sampled_from([SETTINGS, ALL_FIXES])


@dataclass(frozen=True)
class Pass:
    """One round of fixing: the text before, the findings whose fixes were applied, the text after."""

    before: str
    applied: list[Diagnostic]
    after: str


def fix_passes(text: str, chosen: Settings) -> list[Pass]:
    """fix_source's rounds, replayed with the public pieces it is made of."""
    passes = []
    current = text
    for _ in range(10):
        fixable = [d for d in check_source(current, NAME, chosen) if d.fixable_with(chosen.unsafe_fixes)]
        if not fixable:
            break
        result = apply_fixes(current, fixable)
        if not result.applied or result.text == current:
            break
        passes.append(Pass(current, result.applied, result.text))
        current = result.text
    return passes


def rows_a_fix_may_change(applied: list[Diagnostic]) -> set[int]:
    """The finding's own rows and every row its edits touch."""
    rows: set[int] = set()
    for d in applied:
        rows.update(range(d.location.row, d.end_location.row + 1))
        for edit in d.fix.edits:
            rows.update(range(edit.location.row, edit.end_location.row + 1))
    return rows


def changed_rows(before: str, after: str) -> list[tuple[str, int]]:
    """("changed", row) for each old row replaced or deleted; ("inserted", row) for lines added
    right after old row `row` (0: at the top). Line endings count: keepends."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    found = []
    for tag, i1, i2, _, _ in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            found += [("changed", row) for row in range(i1 + 1, i2 + 1)]
        elif tag == "insert":
            found.append(("inserted", i1))
    return found


FIX_SETTINGS = st.sampled_from([
    SETTINGS,
    ALL_FIXES,
    Settings(fix_distribution="uniform", clip="clipvalue", clip_value=0.5),
    Settings(fix_distribution="uniform", clip="clipvalue", clip_value=0.5, unsafe_fixes=True),
    Settings(clip="global_clipnorm", clip_value=5.0),
])


@settings(STABLE, max_examples=150)
@given(programs(), FIX_SETTINGS)
def test_fixed_code_parses_is_idempotent_and_has_nothing_fixable_left(program: Program, chosen: Settings):
    outcome = fix_source(program.text, NAME, chosen)
    ast.parse(outcome.source)
    assert fix_source(outcome.source, NAME, chosen).source == outcome.source
    # What is left fixable is what these settings hold back: unsafe fixes, without unsafe_fixes.
    assert [d for d in check_source(outcome.source, NAME, chosen) if d.fixable_with(chosen.unsafe_fixes)] == []


@settings(STABLE, max_examples=150)
@given(programs(), EITHER)
def test_fixing_never_adds_a_problem(program: Program, chosen: Settings):
    """Every finding fixed or left over was reported before fixing (counted per code)."""
    reported = Counter(d.code for d in check_source(program.text, NAME, chosen))
    outcome = fix_source(program.text, NAME, chosen)
    assert Counter(d.code for d in [*outcome.fixed, *outcome.remaining]) <= reported


@settings(STABLE, max_examples=150)
@given(programs(), EITHER)
def test_every_changed_line_belongs_to_a_fixed_finding(program: Program, chosen: Settings):
    passes = fix_passes(program.text, chosen)
    final = passes[-1].after if passes else program.text
    assert fix_source(program.text, NAME, chosen).source == final
    for step in passes:
        allowed = rows_a_fix_may_change(step.applied)
        for kind, row in changed_rows(step.before, step.after):
            if kind == "changed":
                assert row in allowed, f"line {row} changed outside every fixed finding"
            else:
                assert row in allowed or row + 1 in allowed, f"line added after line {row}, away from every fix"


def _imported_names(tree: ast.AST) -> Counter:
    return Counter((alias.asname or alias.name).split(".")[0]
                   for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                   for alias in node.names)


def _identifiers(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
    return found | set(_imported_names(tree))


@settings(STABLE, max_examples=150)
@given(programs(), EITHER)
def test_a_name_a_fix_imports_means_nothing_else_in_the_file(program: Program, chosen: Settings):
    """An import added (or extended) by a fix would shadow, or be shadowed by, any other
    use of its name: the name must be new to the file."""
    before = ast.parse(program.text)
    after = ast.parse(fix_source(program.text, NAME, chosen).source)
    added = _imported_names(after) - _imported_names(before)
    assert set(added) & _identifiers(before) == set()


# Two of the properties' findings, kept as plain examples.

def test_an_argument_is_added_after_every_positional_one():
    src = "import keras\nlayer = keras.layers.Dense(64, 'relu', True)\n"
    assert fix_source(src, NAME, SETTINGS).source == \
        "import keras\nlayer = keras.layers.Dense(64, 'relu', True, kernel_initializer='he_normal')\n"


def test_a_fix_imports_no_name_the_file_uses_for_something_else():
    src = ("from mylib import HeUniform\n"
           "from tensorflow.keras.initializers import GlorotUniform\n"
           "import keras\n"
           "layer = keras.layers.Dense(64, activation='relu', kernel_initializer=GlorotUniform())\n")
    outcome = fix_source(src, NAME, ALL_FIXES)
    assert outcome.source == src
    assert [(d.code, d.fix) for d in outcome.remaining] == [("GL101", None)]


def _cli(directory: Path, *args: str):
    old = os.getcwd()
    os.chdir(directory)
    try:
        return CliRunner().invoke(main, [*args, "--no-cache", "--output-format", "json", "."])
    finally:
        os.chdir(old)


def _without_filename(found: list[dict]) -> list[dict]:
    return [{k: v for k, v in d.items() if k != "filename"} for d in found]


# gradlint/parallel.py starts a pool only with at least 8 files per worker: 2 workers need 16.
# Six programs, each written three times, make 18 files.
@settings(STABLE, max_examples=5)
@given(st.lists(programs(), min_size=6, max_size=6))
def test_findings_do_not_depend_on_neighbours_serial_or_parallel_runs(drawn: list[Program]):
    batch = drawn * 3
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "pyproject.toml").write_text("[tool.gradlint]\n")
        for i, program in enumerate(batch):
            (directory / f"m{i:02d}.py").write_bytes(program.text.encode("utf-8"))
        alone = {
            f"m{i:02d}.py": [diagnostic_json(d) for d in check_source(p.text, f"m{i:02d}.py", SETTINGS)]
            for i, p in enumerate(batch)
        }
        runs = {}
        for jobs in ("1", "2"):
            result = _cli(directory, "check", "--jobs", jobs)
            assert result.exit_code in (0, 1), result.output
            by_file: dict[str, list[dict]] = {name: [] for name in alone}
            for finding in json.loads(result.output):
                by_file[Path(finding["filename"]).name].append(finding)
            runs[jobs] = {name: _without_filename(found) for name, found in by_file.items()}
        expected = {name: _without_filename(found) for name, found in alone.items()}
        assert runs["1"] == expected
        assert runs["2"] == expected

        result = _cli(directory, "fix", "--write", "--jobs", "2")
        assert result.exit_code in (0, 1), result.output
        for i, program in enumerate(batch):
            written = (directory / f"m{i:02d}.py").read_bytes()
            assert written == fix_source(program.text, f"m{i:02d}.py", SETTINGS).source.encode("utf-8")


# -- writing ----------------------------------------------------------------------------------

@settings(STABLE, max_examples=150)
@given(encoded_programs())
def test_a_fixed_file_keeps_the_bytes_of_every_line_no_fix_changed(program: EncodedProgram):
    """cp932, big5, big5hkscs, johab, unicode_escape, raw_unicode_escape, with characters
    spelled as the codec would not spell them: lines are matched by text, and a line whose
    text did not change must keep its very bytes."""
    result = check_stdin(program.data, NAME, SETTINGS, fix=True)  # what `fix -` does
    data = output_bytes(result, program.data)
    expected = fix_source(program.text, NAME, SETTINGS).source
    assert result.errors == []
    assert data.decode(program.codec) == expected
    old, new = text_lines(program.text), text_lines(expected)
    written = byte_lines(data)
    assert len(written) == len(new)  # a line break the fix wrote is a line break in the file
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            assert list(program.lines[i1:i2]) == written[j1:j2]


@settings(STABLE, max_examples=6)
@given(st.lists(st.tuples(programs(), st.booleans()), min_size=3, max_size=3))
def test_fix_write_never_writes_a_read_only_file(drawn: list[tuple[Program, bool]]):
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "pyproject.toml").write_text("[tool.gradlint]\n")
        for i, (program, read_only) in enumerate(drawn):
            path = directory / f"m{i}.py"
            path.write_bytes(program.text.encode("utf-8"))
            if read_only:
                path.chmod(0o444)
        result = _cli(directory, "fix", "--write")
        refused = False
        for i, (program, read_only) in enumerate(drawn):
            path = directory / f"m{i}.py"
            fixed = fix_source(program.text, f"m{i}.py", SETTINGS).source
            if read_only:
                assert path.read_bytes() == program.text.encode("utf-8")
                assert stat.S_IMODE(path.stat().st_mode) == 0o444
                named = f"m{i}.py: not written: read-only file" in result.output
                assert named == (fixed != program.text)
                refused |= named
            else:
                assert path.read_bytes() == fixed.encode("utf-8")
        assert result.exit_code == 2 if refused else result.exit_code in (0, 1)
        assert [p.name for p in directory.iterdir() if "gradlint-tmp" in p.name] == []
