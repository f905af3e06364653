"""Per file: read → prefilter → parse → model graph → rules → diagnostics (+ fixes).

Functions here are pure over (text, settings) so that files can be checked in any process, in
any order, and results cached by content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gradlint.config import Settings
from gradlint.files import SourceFile, UnreadableFile, read_source

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from gradlint.cache import ResultCache
    from gradlint.coverage import Coverage
    from gradlint.graph.project import Project
    from gradlint.diagnostics import Diagnostic, Fix
    from gradlint.fixing import Lineage
    from gradlint.sources import ParseUnit, UnitFailure, VirtualSource

# A module that mentions none of these imports nothing gradlint could judge.
# A training script that compiles a model the project builds elsewhere names no framework:
# `model.compile(optimizer=make_optimizer(), loss="mse")` lets it in too.
_COMPILE_CALL = (r"""\.compile\(\s*(?:optimizer\b|loss\b|["'](?:adam|adamw|sgd|rmsprop|nadam|adamax|adagrad|"""
                 r"""adadelta|ftrl|lion)["'])|\.compile\([^)]*\bloss\s*=""")
_MENTIONS_KERAS = re.compile(r"keras|tensorflow|torch|flax|jax|optax|" + _COMPILE_CALL)
_MENTIONS_KERAS_BYTES = re.compile(rb"keras|tensorflow|torch|flax|jax|optax|" + _COMPILE_CALL.encode())
_MAX_FIX_PASSES = 10


@dataclass
class FileResult:
    """What checking (or fixing) one file produced."""

    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # gradlint could not do its job here
    fixed: list[Diagnostic] = field(default_factory=list)
    original: SourceFile | None = None
    new_text: str | None = None  # the fixed text, when fixing changed something
    new_bytes: bytes | None = None  # what to write for new_text: the original's bytes outside the fixes
    content_key: str | None = None  # cache key of the very content checked, when asked for
    # The project's other modules the check read (path → content hash): the cached result
    # holds only while they are unchanged.
    dependencies: dict[str, str] = field(default_factory=dict)
    traceback: str | None = None  # of an internal error, for `-v`
    # What the check judged and what it could not see (a check's, not a fix's): None for a
    # file that was not analysed.
    coverage: Coverage | None = None

    @property
    def failed(self) -> bool:
        return bool(self.errors) or any(d.code in ("GL001", "GL002") for d in self.diagnostics)


@dataclass(frozen=True)
class FixOutcome:
    source: str
    fixed: list[Diagnostic]
    remaining: list[Diagnostic]
    lineage: Lineage | None = None  # how `source` is made of the original text
    refused: list[str] = field(default_factory=list)  # fixes not applied, and why


def _error(code: str, filename: str, message: str, row: int = 1, column: int = 1) -> Diagnostic:
    from gradlint.codes import non_rule_url
    from gradlint.diagnostics import Diagnostic, Position

    position = Position(max(row, 1), max(column, 1))
    return Diagnostic(code, message, filename, position, position, url=non_rule_url(code), severity="error")


_PROJECTS: dict[str, Project] = {}


def project_for(settings: Settings) -> Project:
    """The project's modules as one process has read them, per configuration root."""
    from gradlint.graph.project import Project

    root = str(settings.root)
    found = _PROJECTS.get(root)
    if found is None:
        found = _PROJECTS[root] = Project((settings.root,))
    return found


def check_source(text: str, filename: str, settings: Settings | None = None,
                 coverage: list[Coverage] | None = None) -> list[Diagnostic]:
    """All selected, unsuppressed findings for one module's text, sorted by position.

    With `coverage`, what the module's graph let the rules judge is appended to it."""
    if not _MENTIONS_KERAS.search(text):
        # Nothing here can be Keras: not even parsed. Syntax errors in such files are
        # Python's and other linters' business, and skipping them keeps large trees cheap.
        return []
    # Imported here, past the prefilter: a run over files without Keras code never pays for them.
    import ast

    from gradlint.diagnostics import Diagnostic
    from gradlint.edits import fit_line_length
    from gradlint.fixing import withhold_fixes_in_fstrings
    from gradlint.graph.model import build_graph
    from gradlint.graph.source import SourceText
    from gradlint.noqa import is_suppressed
    from gradlint.rules import ALL_RULES, is_selected

    settings = settings or Settings()
    ignore = (*settings.ignore, *per_file_ignores(filename, settings))
    rules = [r for r in ALL_RULES if is_selected(r.code, settings.select, ignore)]
    if not rules:
        return []
    try:
        tree = ast.parse(text, filename=filename)
    except SyntaxError as exc:
        return [_syntax_error(exc, text, filename)]
    except (ValueError, RecursionError, MemoryError) as exc:
        return [_error("GL002", filename, f"cannot be parsed: {_reason(exc)}")]
    source = SourceText(text)
    try:
        project = project_for(settings)
        project.begin()
        graph = build_graph(tree, source, filename, project=project)
        found = [d for rule in rules for d in rule.check(graph, settings)]
        if coverage is not None:
            from gradlint.graph.coverage import coverage_of

            coverage.append(coverage_of(graph))
    except RecursionError:
        return [_error("GL002", filename, "expressions nested too deeply to analyse")]
    kept = [d for d in found if not is_suppressed(source.line(d.location.row), d.code)
            and (settings.min_severity != "error" or d.severity == "error")]
    kept = withhold_fixes_in_fstrings(kept, tree, source)
    kept = fit_line_length(kept, tree, source, settings.line_length)
    return sorted(_dedupe(kept), key=Diagnostic.sort_key)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "expressions nested too deeply"
    if isinstance(exc, MemoryError):
        return "too large to parse"
    return str(exc)


def _syntax_error(exc: SyntaxError, text: str, filename: str) -> Diagnostic:
    row = exc.lineno or 1
    column = exc.offset or 1
    return _error("GL001", filename, f"SyntaxError: {exc.msg}", row, column)


def _dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple] = set()
    kept = []
    for d in diagnostics:
        key = (d.code, d.location, d.message)
        if key not in seen:
            seen.add(key)
            kept.append(d)
    return kept


def per_file_ignores(filename: str, settings: Settings) -> tuple[str, ...]:
    if not settings.per_file_ignores:
        return ()
    from gradlint.discovery import matches_patterns

    codes: list[str] = []
    for pattern, ignored in settings.per_file_ignores.items():
        if matches_patterns(Path(filename), [pattern], settings.root):
            codes.extend(ignored)
    return tuple(codes)


def fix_source(text: str, filename: str, settings: Settings | None = None,
               encoding: str | None = None) -> FixOutcome:
    """Apply every selected fix the settings allow (the safe ones; with `unsafe_fixes` the
    unsafe ones too), pass after pass, until none is left or none applies.

    A fix is refused, and the others still applied, when the code it gives does not parse
    or (with the file's `encoding`) when its text cannot be written in that encoding; the
    outcome says which and why. The outcome's lineage says which ranges of `text` the
    result keeps, for writing their bytes unchanged.
    """
    from gradlint.fixing import Lineage, applicable_subset, apply_fixes, filter_fixes, parse_error, refusal_for_broken_fix

    settings = settings or Settings()
    fixed: list[Diagnostic] = []
    refused: list[str] = []
    lineage = Lineage.unchanged(text)
    current = text
    for _ in range(_MAX_FIX_PASSES):
        fixable = [d for d in check_source(current, filename, settings) if d.fixable_with(settings.unsafe_fixes)]
        if encoding is not None:
            fixable, unwritable = filter_fixes(fixable, lambda fix: _unwritable(fix, encoding))
            refused.extend(unwritable)
        if not fixable:
            break
        result = apply_fixes(current, fixable)
        if not result.applied or result.text == current:
            break
        if parse_error(result.text) is not None:
            safe = applicable_subset(current, result.applied)
            refused.extend(refusal_for_broken_fix(d, why) for d, why in safe.refused)
            result = safe.result
            if not result.applied or result.text == current:
                break
        fixed.extend(result.applied)
        lineage = lineage.then(result.edits)
        current = result.text
    return FixOutcome(current, fixed, check_source(current, filename, settings), lineage, list(dict.fromkeys(refused)))


def _unwritable(fix: Fix, encoding: str) -> str | None:
    from gradlint.files import unencodable_reason

    return next((reason for e in fix.edits if (reason := unencodable_reason(e.content, encoding))), None)


def record_fixes(result: FileResult, source: SourceFile, outcome: FixOutcome, settings: Settings) -> FileResult:
    """Fill in what fixing `source` gave: the fixes, what remains, the refusals, and the
    bytes to write (the original's own outside the fixes). When no such bytes exist, nothing
    is fixed and the file's findings are reported as they are."""
    from gradlint.files import WriteRefused, fixed_bytes

    result.original = source
    result.errors.extend(f"{result.path}: {reason}" for reason in outcome.refused)
    if outcome.source != source.text:
        try:
            result.new_bytes = fixed_bytes(source, outcome.source,
                                           outcome.lineage.parts if outcome.lineage is not None else None)
        except WriteRefused as exc:
            result.errors.append(f"{result.path}: fixes not applied: {exc}")
            result.diagnostics = check_source(source.text, result.path, settings)
            return result
        result.new_text = outcome.source
    result.fixed = outcome.fixed
    result.diagnostics = outcome.remaining
    return result


def with_bytes(result: FileResult) -> FileResult:
    """A fixed result whose text was made without a lineage (a notebook's JSON) gets the
    bytes to write, or an error and no fix."""
    if result.new_text is None or result.new_bytes is not None or result.original is None:
        return result
    from gradlint.files import WriteRefused, fixed_bytes

    try:
        result.new_bytes = fixed_bytes(result.original, result.new_text)
    except WriteRefused as exc:
        result.errors.append(f"{result.path}: fixes not applied: {exc}")
        result.new_text = None
        result.fixed = []
    return result


# --- virtual sources (notebooks): parse units, each dropped alone when it does not parse ------

def check_units(text: str, filename: str, settings: Settings,
                units: Callable[[str], Sequence[ParseUnit]], coverage: list[Coverage] | None = None) -> list[Diagnostic]:
    """`check_source` for a module made of parse units: a unit that does not parse is its
    GL001 alone, and the others are checked as if it were absent. Costs nothing more when the
    module parses."""
    found = check_source(text, filename, settings, coverage)
    if not any(d.code == "GL001" for d in found):
        return found
    from gradlint.diagnostics import Diagnostic
    from gradlint.sources import drop_failing_units

    analysable = drop_failing_units(text, units(text))
    if not analysable.failures:
        return found  # every unit parses alone but not together: the module's own GL001
    return sorted([*_unit_errors(analysable.failures, filename),
                   *check_source(analysable.text, filename, settings, coverage)], key=Diagnostic.sort_key)


def fix_units(text: str, filename: str, settings: Settings,
              units: Callable[[str], Sequence[ParseUnit]]) -> FixOutcome:
    """`fix_source` for a module made of parse units: the units that parse are fixed as if
    the others were absent, and those are given back exactly as they were (no lineage: the
    result is spliced by lines)."""
    from gradlint.diagnostics import Diagnostic
    from gradlint.sources import drop_failing_units, restore_units

    original_units = units(text)
    analysable = drop_failing_units(text, original_units)
    if not analysable.failures:
        return fix_source(text, filename, settings)
    outcome = fix_source(analysable.text, filename, settings)
    fixed_text = text
    if outcome.source != analysable.text:
        fixed_text = restore_units(outcome.source, units(outcome.source), text, original_units, analysable.failures)
    remaining = sorted([*_unit_errors(analysable.failures, filename), *outcome.remaining], key=Diagnostic.sort_key)
    return FixOutcome(fixed_text, outcome.fixed, remaining, None, outcome.refused)


def _unit_errors(failures: Sequence[UnitFailure], filename: str) -> list[Diagnostic]:
    return [_error("GL001" if f.message.startswith("SyntaxError") else "GL002", filename, f.message, f.row, f.column)
            for f in failures]


def check_notebook_source(file: SourceFile, display: str, settings: Settings, fix: bool = False) -> FileResult:
    """Check (and with `fix`, fix) a notebook's text through its virtual source; a file that
    is not a notebook gradlint can read is a GL002 naming what is wrong."""
    from gradlint.notebook import load_notebook
    from gradlint.sources import SourceError

    result = FileResult(display)
    result.original = file
    try:
        source = load_notebook(file.text)
    except SourceError as exc:
        result.diagnostics.append(_error("GL002", display, str(exc), exc.row, exc.column))
        return result
    if source is None:
        return result
    return check_virtual(result, source, settings, fix)


def check_virtual(result: FileResult, source: VirtualSource, settings: Settings, fix: bool) -> FileResult:
    """Check or fix `source`'s module by its units, findings mapped through its position map,
    and with `fix` the file's new text rebuilt from the fixed module."""
    from gradlint.fixing import BrokenFix
    from gradlint.sources import SourceError

    assert result.original is not None
    display, file_text, module = result.path, result.original.text, source.module
    if not fix:
        coverage: list[Coverage] = []
        result.diagnostics = source.locate(check_units(module, display, settings, source.units, coverage),
                                           module, file_text)
        result.coverage = _located_coverage(coverage, source, module, file_text, display)
        return result
    try:
        outcome = fix_units(module, display, settings, source.units)
        new_text = file_text if outcome.source == module else source.rebuild(outcome.source)
        remaining = source.locate(outcome.remaining, outcome.source, new_text)
    except (BrokenFix, SourceError) as exc:
        result.errors.append(f"{display}: {exc}")
        result.diagnostics = source.locate(check_units(module, display, settings, source.units), module, file_text)
        return result
    result.errors.extend(f"{display}: {reason}" for reason in outcome.refused)
    result.diagnostics = remaining
    if new_text != file_text:
        result.fixed = source.locate(outcome.fixed, module, file_text)
        result.new_text = new_text
    return result


def _located_coverage(found: list[Coverage], source: VirtualSource, module: str, file_text: str,
                      display: str) -> Coverage | None:
    """A virtual module's coverage with its places mapped into the file, as its findings are."""
    from dataclasses import replace

    from gradlint.coverage import merged
    from gradlint.diagnostics import Diagnostic, Position

    if not found:
        return None
    coverage = merged(found)
    marks = [Diagnostic("", "", display, Position(u.row, u.column), Position(u.row, u.column))
             for u in coverage.unseen]
    located = source.locate(marks, module, file_text)
    coverage.unseen = [replace(u, row=d.location.row, column=d.location.column, cell=d.cell)
                       for u, d in zip(coverage.unseen, located)]
    return coverage


def check_file(path: Path, display: str, settings: Settings, fix: bool = False,
               data: bytes | None = None) -> FileResult:
    """Check (and with `fix`, compute the fixed text and bytes of) one file; never raises for
    bad input.

    `data` is the file's content when the caller has read it already."""
    try:
        source = read_source(path, data)
    except UnreadableFile as exc:
        return FileResult(display, [_error("GL002", display, f"cannot read file: {exc}")])
    return check_decoded(source, display, settings, fix)


def check_decoded(source: SourceFile, display: str, settings: Settings, fix: bool = False) -> FileResult:
    """`check_file` for content read and decoded already (a file's, or standard input's): a
    notebook by its cells, a module as it is."""
    if source.path.suffix == ".ipynb":
        notebook = check_notebook_source(source, display, settings, fix)
        return with_bytes(notebook) if fix else notebook
    result = FileResult(display)
    if not fix:
        coverage: list[Coverage] = []
        result.diagnostics = check_source(source.text, display, settings, coverage)
        result.coverage = coverage[0] if coverage else None
        return result
    return record_fixes(result, source, fix_source(source.text, display, settings, source.encoding), settings)


def _cache_for(settings: Settings, code: str | None = None, warned: set[str] | None = None) -> ResultCache | None:
    if not settings.use_cache:
        return None
    from gradlint.cache import ResultCache, cache_directory

    return ResultCache(cache_directory(settings), settings, code, warned)


def _check_with_key(path: Path, display: str, settings: Settings, fix: bool) -> FileResult:
    """`check_file`, with the cache key of the content it checked: a file edited since the
    calling process read it must not be cached under its old content's key."""
    from gradlint.cache import content_key

    try:
        data: bytes | None = path.read_bytes()
    except OSError:
        data = None  # check_file reports why
    result = check_file(path, display, settings, fix, data)
    if data is not None:
        result.content_key = content_key(data, display)
        result.dependencies = dict(project_for(settings).dependencies)
    return result


def _check_guarded(path: Path, display: str, settings: Settings, fix: bool, keyed: bool = False,
                   data: bytes | None = None) -> FileResult:
    """`check_file` (with `keyed`: `_check_with_key`), where a bug in gradlint becomes this
    file's error, "internal error while checking FILE", and the other files are still checked.
    An interrupt is not a bug: it goes on."""
    try:
        if keyed:
            return _check_with_key(path, display, settings, fix)
        return check_file(path, display, settings, fix, data)
    except Exception as exc:  # any failure here is gradlint's own
        return internal_error(display, exc)


def internal_error(display: str, exc: Exception) -> FileResult:
    """The result of a file gradlint failed on: a one-line error, and the traceback for `-v`
    (as text: a worker's traceback objects cannot travel to the parent)."""
    import traceback

    message = " ".join(str(exc).split())
    result = FileResult(display)
    result.errors.append(f"internal error while checking {display}: {type(exc).__name__}"
                         + (f": {message}" if message else ""))
    result.traceback = "".join(traceback.format_exception(exc))
    return result


def check_files(files: list, settings: Settings, fix: bool = False, jobs: int | None = None) -> list[FileResult]:
    """Check many files, each with its own settings (a file's `settings`, else `settings`);
    results come back sorted by path, then position.

    Every file is read here, in this process: files that mention no Keras are checked on the
    spot (they are not even parsed), and cached results are looked up for the others, so a
    warm run or a tree with little Keras code starts no worker at all. Only files that must
    be parsed go to worker processes, largest first, so that no worker is left with a big
    file at the end; workers read them again rather than hold every file's bytes here.
    """
    from gradlint.parallel import run_parallel

    caches = _Caches()
    results: list[FileResult] = []
    heavy: list[tuple[int, tuple[Path, str, Settings, bool, bool]]] = []  # (size, call)
    keys: dict[str, tuple[ResultCache, str]] = {}  # display → (its cache, its key)
    for f in files:
        if getattr(f, "problem", None):  # discovery found it cannot be checked: never opened
            results.append(FileResult(f.display, [_error("GL002", f.display, f.problem)]))
            continue
        own = getattr(f, "settings", None) or settings
        try:
            data: bytes | None = f.path.read_bytes()
        except OSError:
            data = None  # check_file reports why
        if data is None or not _MENTIONS_KERAS_BYTES.search(data):
            # Cheaper to check on the spot than to look up in the cache.
            results.append(_check_guarded(f.path, f.display, own, fix, data=data))
            continue
        cache = caches.of(own)  # with hashlib: only for the first file worth caching
        if cache is not None:
            key = cache.key(data, f.display)
            cached = cache.get(key, f.display)
            if cached is not None and fix and not any(d.fixable_with(own.unsafe_fixes) for d in cached):
                results.append(FileResult(f.display, cached))
                continue
            # A check needs what was judged too: an entry a fix left has none, and is redone.
            covered = cache.coverage(key) if cached is not None and not fix else None
            if cached is not None and covered is not None:
                results.append(FileResult(f.display, cached, coverage=covered))
                continue
            keys[f.display] = (cache, key)
        heavy.append((len(data), (f.path, f.display, own, fix, cache is not None)))
    heavy.sort(key=lambda item: -item[0])
    calls = [call for _, call in heavy]
    results.extend(run_parallel(_check_guarded, calls, jobs))
    for result in results:
        entry = keys.get(result.path)
        if (entry is not None and result.content_key is not None and result.content_key == entry[1]
                and not result.errors and result.new_text is None):
            entry[0].put(result.content_key, result.path, result.diagnostics, result.dependencies, result.coverage)
        if result.diagnostics:  # (a run over files without Keras never loads Diagnostic)
            result.diagnostics.sort(key=lambda d: d.sort_key())
    caches.save()
    return sorted(results, key=lambda r: r.path)


class _Caches:
    """The result caches of one run: one per (directory, settings fingerprint), so that files
    under different configurations never share results, and files under the same one share a
    single results file (two objects writing one file would each drop the other's entries)."""

    def __init__(self) -> None:
        self._by_settings: dict[int, tuple[Settings, ResultCache | None]] = {}
        self._by_file: dict[Path, ResultCache] = {}
        self._code: str | None = None  # gradlint's own sources, fingerprinted once per run
        self._warned: set[str] = set()  # a refused directory is warned about once per run

    def of(self, settings: Settings) -> ResultCache | None:
        found = self._by_settings.get(id(settings))
        if found is None:
            if self._code is None and settings.use_cache:
                from gradlint.cache import _code_fingerprint

                self._code = _code_fingerprint()
            cache = _cache_for(settings, self._code, self._warned)
            if cache is not None:
                cache = self._by_file.setdefault(cache.file, cache)
            found = self._by_settings[id(settings)] = (settings, cache)  # (kept alive: ids stay unique)
        return found[1]

    def save(self) -> None:
        for cache in self._by_file.values():
            cache.save()
