"""Command line: parse options, call the engine, pick a reporter, choose the exit code.

Exit codes follow ruff: 0 nothing found, 1 findings, 2 gradlint could not check everything
(a file it could not read or parse, a bad option or configuration, a bug in gradlint). An
interrupted run exits 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), and one
whose reader stopped reading (`gradlint check | head -1`) exits 141, as if by SIGPIPE, quietly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gradlint import __version__
from gradlint.config import Settings, command_line_cache_dir
from gradlint.errors import GradlintError
from gradlint.report import OUTPUT_FORMATS, renderer
from gradlint.report.text import check_summary, plural

if TYPE_CHECKING:
    from gradlint.diagnostics import Diagnostic
    from gradlint.settings_tree import SettingsTree

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
# What --statistics can be printed as; with github or sarif it is a usage error (exit 2).
STATISTICS_FORMATS = ("text", "concise", "json")
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a process SIGPIPE ended
_VERBOSE = "gradlint.verbose"  # key in click's context meta, shared by nested contexts


class LazyGroup(click.Group):
    """A group whose heavier commands are imported only when they are run, and which turns
    what escapes a command into an exit code: interrupts, a closed output pipe, and bugs."""

    lazy = {"probe": "gradlint.runtime.cli:probe", "signal": "gradlint.signal.cli:signal"}

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from gradlint.interrupts import interrupts_raised

        with interrupts_raised():
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt as exc:
            _exit_interrupted(exc)
        except BrokenPipeError:
            _exit_broken_pipe()
        except GradlintError as exc:
            _fail(str(exc))
        except Exception as exc:  # a bug in gradlint: say so in one line, not a traceback
            _exit_internal_error(exc, bool(ctx.meta.get(_VERBOSE)))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attr = self.lazy[name].split(":")
            import importlib

            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gradlint")
def main() -> None:
    """Find what makes Keras gradients vanish or explode, before training."""


def _exit_interrupted(exc: KeyboardInterrupt) -> None:
    """After SIGINT or SIGTERM: nothing more reaches standard output (not even the rest of a
    write the signal cut short), and the exit code says the run did not finish."""
    from gradlint.interrupts import begin_shutdown, exit_code, signal_name

    begin_shutdown()
    _discard_standard_output()
    try:
        click.echo(f"error: interrupted by {signal_name(exc)}; gradlint stopped before finishing", err=True)
    except OSError:
        pass
    sys.exit(exit_code(exc))


def _exit_broken_pipe() -> None:
    """Whatever read the output stopped reading: stop, quietly."""
    _discard_standard_output()
    sys.exit(EXIT_BROKEN_PIPE)


def _discard_standard_output() -> None:
    """Point file descriptor 1 at /dev/null: what Python still holds in its buffer goes there
    at exit, rather than after an error message, into a closed pipe, or into a pipe whose
    reader stopped reading (which would block the exit)."""
    try:
        descriptor = sys.stdout.fileno()  # none when the output is captured in memory
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):
        return
    try:
        os.dup2(devnull, descriptor)
    except OSError:
        pass
    finally:
        os.close(devnull)


def _exit_internal_error(exc: Exception, verbose: bool) -> None:
    import traceback

    message = " ".join(str(exc).split())
    click.echo(f"error: internal error: {type(exc).__name__}" + (f": {message}" if message else ""), err=True)
    if verbose:
        click.echo("".join(traceback.format_exception(exc)), err=True, nl=False)
    sys.exit(EXIT_ERROR)


def _remember_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    ctx.meta[_VERBOSE] = value


def _verbose() -> bool:
    return bool(click.get_current_context().meta.get(_VERBOSE))


def _report_errors(results: list) -> None:
    """Each file's errors, one line each, on standard error; with -v, internal errors' tracebacks."""
    verbose = _verbose()
    for result in results:
        for error in result.errors:
            click.echo(f"error: {error}", err=True)
        if verbose and getattr(result, "traceback", None):
            click.echo(result.traceback, err=True, nl=False)


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c.strip().upper() for v in values for c in v.split(",") if c.strip())


def _cache_dir(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """--cache-dir, else GRADLINT_CACHE_DIR, as an absolute path from the current directory."""
    try:
        return command_line_cache_dir(value, os.environ)
    except GradlintError as exc:
        _fail(str(exc))
        return None


def common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument("paths", nargs=-1, type=click.Path(path_type=Path)),
        click.option("--select", multiple=True, metavar="CODES",
                     help="Rule codes or prefixes to enable (comma-separated), e.g. GL101,GL2. Replaces the configured list."),
        click.option("--extend-select", multiple=True, metavar="CODES", help="Codes to enable on top of the configured ones."),
        click.option("--ignore", multiple=True, metavar="CODES", help="Codes or prefixes to disable, added to the configured ones."),
        click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default="text", show_default=True),
        click.option("--exit-zero", is_flag=True, help="Exit 0 even when problems are found (2 still means gradlint could not check)."),
        click.option("-q", "--quiet", is_flag=True, help="Print findings only: no summary, no diffs."),
        click.option("--no-color", is_flag=True, help="No colours (NO_COLOR is honoured too)."),
        click.option("--config", type=click.Path(path_type=Path), help="pyproject.toml (or TOML file) to read settings from."),
        click.option("--force-exclude", is_flag=True, help="Apply exclusions to files named on the command line too (for pre-commit)."),
        click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                     help="Processes to check files in (default and most: the number of CPUs; "
                          "fewer for few files)."),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache."),
        click.option("--cache-dir", type=click.Path(), default=None, callback=_cache_dir,
                     help="Where to keep the result cache, relative to the current directory (default: "
                          "$GRADLINT_CACHE_DIR, else .gradlint_cache next to the configuration)."),
        click.option("--extension", multiple=True, metavar="EXTS",
                     help="File types to take when walking directories (comma-separated: py, pyi, ipynb); "
                          "--extension py leaves notebooks out. Replaces the configured list."),
        click.option("--stdin-filename", metavar="PATH", default=None,
                     help="Read the source from standard input (path '-') and report it as PATH, "
                          "with PATH's settings and per-file ignores. For editors."),
        click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, expose_value=False,
                     callback=_remember_unsafe_fixes,
                     help="Also apply (and mark [*]) unsafe fixes: those that replace something the author "
                          "wrote, such as an explicit initializer. Overrides `unsafe-fixes` in the configuration."),
        click.option("--min-severity", type=click.Choice(("warning", "error")), default=None, expose_value=False,
                     callback=_remember_min_severity,
                     help="Report only findings of this severity and above; 'error': what the signal model "
                          "(or the probe) says breaks training at initialization."),
        click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_remember_verbose,
                     is_eager=True, help="Show the traceback of an internal error."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _settings(config: Path | None, paths: tuple[Path, ...], select: tuple[str, ...],
              extend_select: tuple[str, ...], ignore: tuple[str, ...], extension: tuple[str, ...] = (),
              cache_dir: Path | None = None, no_cache: bool = False) -> tuple[SettingsTree, Settings]:
    """The run's settings per directory (each file's nearest configuration, or `--config`'s
    for all, with the command line's options on top), and those of the first path: what the
    run's own choices (the summary, `--runtime`, standard input) follow."""
    for flag, values in (("--select", select), ("--extend-select", extend_select), ("--ignore", ignore)):
        if not values:
            continue
        from gradlint.rules import validate_selectors

        bad = validate_selectors(_codes(values))
        if bad is not None:
            raise GradlintError(f"{flag}: unknown rule code or prefix '{bad}'")
    chosen_extensions = None
    if extension:
        from gradlint.config import extensions

        try:
            chosen_extensions = extensions(_split(extension))
        except TypeError as exc:
            raise GradlintError(f"--extension must be {exc}") from None
    from gradlint.settings_tree import Overrides, SettingsTree

    meta = click.get_current_context().meta
    tree = SettingsTree(config, Overrides(
        select=_codes(select), extend_select=_codes(extend_select), ignore=_codes(ignore),
        extensions=chosen_extensions, min_severity=meta.get("gradlint.min_severity"),
        unsafe_fixes=meta.get("gradlint.unsafe_fixes"), cache_dir=cache_dir, use_cache=False if no_cache else None))
    start = paths[0] if paths else Path.cwd()
    # The nearest existing directory: an editor's buffer may name a file not saved yet.
    start = next((p for p in (start, *start.absolute().parents) if p.exists()), Path.cwd())
    return tree, tree.for_path(start)


def _show_settings(tree: SettingsTree, paths: tuple[Path, ...], stdin: bool) -> None:
    """`check --show-settings PATH ...`: for each path, the configuration file its settings
    come from and the settings themselves; exit 0, or 2 naming a path that does not exist."""
    from gradlint.report.show import render_settings

    if not stdin:
        for path in paths:
            if not os.path.lexists(path):
                _fail(f"{path}: no such file or directory")
    blocks = [render_settings(tree.for_path(p), str(p), tree.is_single) for p in paths or (Path("."),)]
    click.echo("\n".join(blocks), nl=False)
    sys.exit(EXIT_CLEAN)


def _remember_unsafe_fixes(ctx: click.Context, param: click.Parameter, value: bool | None) -> None:
    """--unsafe-fixes / --no-unsafe-fixes override `unsafe-fixes` from the configuration."""
    ctx.meta["gradlint.unsafe_fixes"] = value


def _remember_min_severity(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """--min-severity overrides `min-severity` from the configuration, for check and fix alike."""
    ctx.meta["gradlint.min_severity"] = value


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def _reads_stdin(paths: tuple[Path, ...], stdin_filename: str | None) -> bool:
    """Source from standard input: the path '-', or no path and --stdin-filename."""
    if any(str(p) == "-" for p in paths):
        if len(paths) > 1:
            _fail("'-' (standard input) cannot be combined with other paths")
        return True
    return not paths and stdin_filename is not None


def _settings_paths(paths: tuple[Path, ...], stdin: bool, stdin_filename: str | None) -> tuple[Path, ...]:
    """Where settings are looked up from: the name given to standard input, else the paths."""
    if not stdin:
        return paths
    return (Path(stdin_filename),) if stdin_filename else ()


def _run_stdin(stdin_filename: str | None, settings: Settings, force_exclude: bool, fix: bool) -> tuple[list, bytes]:
    """([result], the bytes read); no result when --force-exclude excludes the name."""
    from gradlint.stdin import check_stdin, is_excluded

    data = sys.stdin.buffer.read()
    if force_exclude and stdin_filename and is_excluded(stdin_filename, settings):
        return [], data
    try:
        return [check_stdin(data, stdin_filename, settings, fix=fix)], data
    except Exception as exc:  # a bug in gradlint, reported like any file's
        from gradlint.engine import internal_error

        return [internal_error(stdin_filename or "-", exc)], data


def _use_color(no_color: bool) -> bool:
    return not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _discover(paths: tuple[Path, ...], settings: SettingsTree, force_exclude: bool = False,
              quiet: bool = False) -> list:
    """The files to check, each with its settings; a path that cannot be checked (one that
    does not exist) comes as a file with a problem, reported as GL002 beside the findings of
    the others."""
    from gradlint.discovery import discover

    paths = paths or (Path("."),)
    files = list(discover(paths, settings, force_exclude=force_exclude))
    if not files and not quiet and any(p.is_dir() for p in paths):
        # Silence would read as "all clean"; say that nothing was checked, and why it may be.
        click.echo("warning: no Python files or notebooks found under the given paths "
                   "(excluded, or ignored by a .gitignore?)", err=True)
    return files


def _emit(diagnostics: list[Diagnostic], output_format: str, color: bool, trailer: str = "",
          unsafe_fixes: bool = False) -> None:
    """The report, rendered whole (with `trailer`, a summary line) before a single write: an
    interrupt while rendering prints nothing rather than a part that looks complete.
    `unsafe_fixes`: unsafe fixes are marked fixable too."""
    _write_stdout(renderer(output_format, color, unsafe_fixes)(diagnostics) + trailer)


def _write_stdout(text: str) -> None:
    """All of `text` on standard output, or an OSError (BrokenPipeError when the reader went
    away). Python's buffered writer reports a write that a closing pipe cut short as a short
    count, without raising; the rest would be lost with no error at all."""
    stream = sys.stdout
    binary = getattr(stream, "buffer", None)
    if binary is None:
        click.echo(text, nl=False)
        return
    stream.flush()
    pending = memoryview(text.encode(stream.encoding or "utf-8", stream.errors or "strict"))
    while pending:
        written = binary.write(pending)
        if written is None:  # a non-blocking stream took it all into its buffer
            break
        if written <= 0:
            raise OSError("standard output accepts no more data")
        pending = pending[written:]
    binary.flush()


@main.command()
@common_options
@click.option("--statistics", is_flag=True,
              help="Print the number of findings per code (and how many are fixable) instead of the findings: "
                   "a table, or JSON with --output-format json (not with github or sarif).")
@click.option("--show-files", is_flag=True, help="Print the files that would be checked, and exit.")
@click.option("--show-settings", is_flag=True, help="Print the settings that apply to the first path, and exit.")
@click.option("--runtime", is_flag=True,
              help="Also probe the models listed in [tool.gradlint.runtime] targets (runs their code; needs gradlint[runtime]).")
@click.option("--add-noqa", is_flag=True,
              help="Add a '# noqa: CODE' comment to the line of every current finding, and exit "
                   "(to adopt gradlint in existing code).")
@click.option("--explain-unknown", is_flag=True,
              help="List the layer calls and compiles that could not be judged, with their places and "
                   "the reason, instead of the findings (a list, or JSON with --output-format json).")
def check(paths: tuple[Path, ...], select: tuple[str, ...], extend_select: tuple[str, ...],
          ignore: tuple[str, ...], output_format: str, exit_zero: bool, quiet: bool,
          no_color: bool, config: Path | None, force_exclude: bool, jobs: int | None,
          no_cache: bool, cache_dir: Path | None, extension: tuple[str, ...], stdin_filename: str | None,
          statistics: bool, show_files: bool, show_settings: bool, runtime: bool,
          add_noqa: bool, explain_unknown: bool) -> None:
    """Report problems in PATHS (default: the current directory; '-': standard input)."""
    from gradlint.engine import check_files

    if statistics and output_format not in STATISTICS_FORMATS:
        raise click.UsageError(f"--statistics prints a table or JSON: use it with --output-format "
                               f"{', '.join(STATISTICS_FORMATS)}, not {output_format}")
    if explain_unknown and (statistics or output_format not in STATISTICS_FORMATS):
        raise click.UsageError("--explain-unknown prints a list or JSON: use it without --statistics, with "
                               f"--output-format {', '.join(STATISTICS_FORMATS)}")

    stdin = _reads_stdin(paths, stdin_filename)
    settings_paths = _settings_paths(paths, stdin, stdin_filename)
    try:
        tree, settings = _settings(config, settings_paths, select, extend_select, ignore, extension, cache_dir,
                                   no_cache)
        if show_settings:
            _show_settings(tree, settings_paths, stdin)
    except GradlintError as exc:
        _fail(str(exc))
    if add_noqa:
        if stdin or runtime:
            raise click.UsageError("--add-noqa edits files: it takes neither standard input nor --runtime")
        _add_noqa(_discover(paths, tree, force_exclude, quiet), settings, quiet)
    if stdin:
        results, _ = _run_stdin(stdin_filename, settings, force_exclude, fix=False)
    else:
        files = _discover(paths, tree, force_exclude, quiet)
        if show_files:
            from gradlint.report.show import render_files

            click.echo(render_files(f.display for f in files), nl=False)
            sys.exit(EXIT_CLEAN)
        results = check_files(files, settings, jobs=jobs)
    diagnostics = [d for r in results for d in r.diagnostics]
    runtime_failed = False
    if runtime:
        found, errors = _runtime_findings(settings, quiet=output_format == "json")
        from gradlint.diagnostics import Diagnostic

        diagnostics = sorted([*diagnostics, *found], key=Diagnostic.sort_key)
        for error in errors:
            click.echo(f"error: {error}", err=True)
        runtime_failed = bool(errors)
    if statistics:  # text and concise: the table; json: the same rows as JSON (as ruff does)
        from gradlint.coverage import merged
        from gradlint.report.statistics import render_statistics, render_statistics_json

        render = render_statistics_json if output_format == "json" else render_statistics
        _write_stdout(render(diagnostics, settings.unsafe_fixes, merged(r.coverage for r in results)))
    elif explain_unknown:
        from gradlint.report.coverage import located, render_unknown, render_unknown_json

        render_places = render_unknown_json if output_format == "json" else render_unknown
        _write_stdout(render_places(located(results)))
    else:
        summary = output_format == "text" and not quiet and diagnostics
        _emit(diagnostics, output_format, _use_color(no_color),
              check_summary(diagnostics, settings.unsafe_fixes) + "\n" if summary else "", settings.unsafe_fixes)
    _report_errors(results)
    if output_format == "text" and not quiet:
        _note_unseen_keras(results)
    failed = runtime_failed or any(r.failed for r in results)
    sys.exit(EXIT_ERROR if failed else EXIT_CLEAN if exit_zero or not diagnostics else EXIT_FINDINGS)


def _note_unseen_keras(results: list) -> None:
    """A file that imports Keras and names layer classes, but in which no layer was
    recognised, is said on standard error: its models were not checked. Not a finding."""
    from gradlint.report.coverage import unseen_keras_files
    from gradlint.report.escape import line_safe

    for path in unseen_keras_files(results):
        click.echo(f"note: {line_safe(path)}: imports Keras, but no layer gradlint knows is built in it; "
                   "its models were not checked", err=True)


def _add_noqa(files: list, settings: Settings, quiet: bool) -> None:
    """`check --add-noqa`: each file with findings gets its noqa comments, written safely;
    what could not be done is said on standard error. Exits 0, or 2 when a file could not
    be checked or written."""
    from gradlint.add_noqa import add_noqa_to_file
    from gradlint.engine import check_decoded
    from gradlint.files import UnreadableFile, WriteRefused, read_source, write_atomic
    from gradlint.notebook import NotebookError

    added, failed = 0, False
    for f in files:
        if getattr(f, "problem", None):
            click.echo(f"error: {f.display}: {f.problem}", err=True)
            failed = True
            continue
        try:
            source = read_source(f.path)
        except UnreadableFile as exc:
            click.echo(f"error: {f.display}: cannot read file: {exc}", err=True)
            failed = True
            continue
        own = f.settings or settings
        result = check_decoded(source, f.display, own)  # (decoded once: the same source is edited)
        _report_errors([result])
        _report_unchecked(result.diagnostics)
        failed = failed or result.failed
        try:
            outcome = add_noqa_to_file(source, result.diagnostics, own.line_length)
            if outcome.data is not None:
                write_atomic(source, outcome.data)
        except (WriteRefused, NotebookError, OSError) as exc:
            click.echo(f"error: {f.display}: not written: {exc}", err=True)
            failed = True
            continue
        added += outcome.added
        for skip in outcome.skipped:
            d = skip.diagnostic
            where = f"cell {d.cell}, line {d.location.row}" if d.cell else f"line {d.location.row}"
            click.echo(f"warning: {f.display}: {d.code} on {where} not suppressed: {skip.reason}, "
                       "where a comment cannot go (use per-file-ignores)", err=True)
    if not quiet:
        click.echo(f"Added {plural(added, 'noqa directive')}.", err=True)
    sys.exit(EXIT_ERROR if failed else EXIT_CLEAN)


def _runtime_findings(settings: Settings, *, quiet: bool) -> tuple[list[Diagnostic], list[str]]:
    """Probe the configured targets; their findings obey --select/--ignore like static ones.
    On a terminal (and not `quiet`), progress and each target's time go to stderr."""
    from gradlint.rules import is_selected
    from gradlint.runtime import options_from_table, run_targets
    from gradlint.runtime.progress import Progress

    try:
        options = options_from_table(settings.runtime)
    except GradlintError as exc:
        return [], [str(exc)]
    if not options.targets:
        return [], ["--runtime: no targets configured; add `targets = [\"model.py:build_model\"]` "
                    "to [tool.gradlint.runtime] in pyproject.toml"]
    found, errors = run_targets(list(options.targets), options, Progress(enabled=False if quiet else None))
    return [d for d in found if is_selected(d.code, settings.select, settings.ignore)], errors


@main.command()
@common_options
@click.option("--write", is_flag=True, help="Apply the fixes to the files (without it: show a diff, change nothing).")
@click.option("--confirm", "confirm_target", metavar="TARGET", default=None,
              help="Probe TARGET (file.py:factory) before and after the fixes of its file, then, with "
                   "--write, write them (runs the target's code; needs gradlint[runtime]).")
def fix(paths: tuple[Path, ...], select: tuple[str, ...], extend_select: tuple[str, ...],
        ignore: tuple[str, ...], output_format: str, exit_zero: bool, quiet: bool,
        no_color: bool, config: Path | None, force_exclude: bool, jobs: int | None,
        no_cache: bool, cache_dir: Path | None, extension: tuple[str, ...], stdin_filename: str | None,
        write: bool, confirm_target: str | None) -> None:
    """Fix what can be fixed in PATHS; show the diff unless --write is given.

    With '-' (standard input), the fixed source is written to standard output and the
    remaining findings to standard error."""
    from gradlint.engine import check_files
    from gradlint.files import WriteRefused, write_atomic

    stdin = _reads_stdin(paths, stdin_filename)
    settings_paths = _settings_paths(paths, stdin, stdin_filename)
    try:
        tree, settings = _settings(config, settings_paths, select, extend_select, ignore, extension, cache_dir,
                                   no_cache)
        if confirm_target is not None:  # the settings of the target's file
            settings = tree.for_path(Path(confirm_target.rpartition(":")[0] or confirm_target))
    except GradlintError as exc:
        _fail(str(exc))
    if confirm_target is not None:
        _fix_confirm(confirm_target, settings, write, output_format, _use_color(no_color), quiet, exit_zero)
    if stdin:
        _fix_stdin(stdin_filename, settings, force_exclude, output_format, exit_zero)
    results = check_files(_discover(paths, tree, force_exclude, quiet), settings, fix=True, jobs=jobs)
    color = _use_color(no_color)
    failed = any(r.failed for r in results)
    fixed = sum(len(r.fixed) for r in results)
    remaining = [d for r in results for d in r.diagnostics]
    _report_errors(results)
    if not write:
        _report_unchecked(remaining)
        if output_format == "json":
            _emit([d for r in results for d in r.fixed], "json", color)
        elif not quiet:
            for result in results:
                if result.new_text is not None and result.original is not None:
                    click.echo(_result_diff(result, color), nl=False)
            held_back = _held_back_note(remaining, settings)
            if fixed:
                written = [d for r in results for d in r.fixed]
                click.echo(f"Would fix {plural(fixed, 'problem')} ({len(remaining)} remaining{held_back}); "
                           f"run '{_write_command(written)}' to apply.")
            elif held_back:
                click.echo(f"No fixes to apply without --unsafe-fixes ({held_back.removeprefix('; ')}).")
        if failed:
            sys.exit(EXIT_ERROR)
        sys.exit(EXIT_FINDINGS if fixed and not exit_zero else EXIT_CLEAN)
    for result in results:
        if result.new_bytes is None or result.original is None:
            continue  # nothing to write (a fix refused for the file's encoding is reported already)
        try:
            write_atomic(result.original, result.new_bytes)
        except (WriteRefused, OSError) as exc:
            failed = True
            fixed -= len(result.fixed)
            remaining.extend(result.fixed)
            click.echo(f"error: {result.path}: not written: {exc}", err=True)
    _emit(remaining, output_format, color, unsafe_fixes=settings.unsafe_fixes)
    if output_format == "text" and not quiet and (fixed or remaining):
        click.echo(f"Found {plural(fixed + len(remaining), 'problem')} ({fixed} fixed, {len(remaining)} remaining"
                   f"{_held_back_note(remaining, settings)}).")
    sys.exit(EXIT_ERROR if failed else EXIT_CLEAN if exit_zero or not remaining else EXIT_FINDINGS)


def _held_back_note(remaining: list[Diagnostic], settings: Settings) -> str:
    """`; 1 hidden fix can be enabled with the '--unsafe-fixes' option` when unsafe fixes were
    held back, else nothing: the summary says what was not applied and how to apply it."""
    from gradlint.report.text import hidden_fixes, hidden_fixes_note

    hidden = 0 if settings.unsafe_fixes else hidden_fixes(remaining)
    return f"; {hidden_fixes_note(hidden)}" if hidden else ""


def _write_command(fixed: list[Diagnostic]) -> str:
    """The command that writes these fixes: with --unsafe-fixes when some of them are unsafe."""
    return "gradlint fix --write --unsafe-fixes" if any(d.hidden_fix for d in fixed) else "gradlint fix --write"


def _report_unchecked(diagnostics: list[Diagnostic]) -> None:
    """GL001/GL002 (a file gradlint could not parse or read), one line each on standard error,
    naming the file: a diff shows only what changes, and these would otherwise go unseen."""
    unchecked = [d for d in diagnostics if d.code in ("GL001", "GL002")]
    if unchecked:
        click.echo(renderer("concise")(unchecked), nl=False, err=True)


def _fix_confirm(target: str, settings: Settings, write: bool, output_format: str, color: bool,
                 quiet: bool = False, exit_zero: bool = False) -> None:
    """`fix` for the target's file, as plain `fix` would do it (a diff, or --write; the same
    summary and exit codes), with the probe's verdict on the model as written and as fixed
    (in memory) added. Runtime findings that remain after the fixes count as remaining ones."""
    from gradlint.engine import FixOutcome, fix_source
    from gradlint.runtime import confirm_fix, options_from_table

    outcomes: list[FixOutcome] = []

    def fixer(text: str, name: str) -> FixOutcome:
        outcomes.append(fix_source(text, name, settings))
        return outcomes[-1]

    try:
        result = confirm_fix(target, options_from_table(settings.runtime), fixer=fixer)
    except GradlintError as exc:
        _fail(str(exc))
        return
    outcome = outcomes[-1]
    for reason in outcome.refused:
        click.echo(f"error: {result.filename}: {reason}", err=True)
    fixed, remaining = (list(outcome.fixed) if result.changed else []), list(outcome.remaining)
    written = not (write and result.changed) or _write_confirmed(result, settings)
    if not written:
        fixed, remaining = [], [*fixed, *remaining]
    _show_confirmed(result, fixed, remaining, write, output_format, color, quiet, settings)
    if outcome.refused or not written:
        sys.exit(EXIT_ERROR)
    found = [*remaining, *result.after.findings] if write else fixed
    sys.exit(EXIT_FINDINGS if found and not exit_zero else EXIT_CLEAN)


def _write_confirmed(result: Any, settings: Settings) -> bool:
    """Write the fixes the probe confirmed, unless the file changed meanwhile; False (with the
    error on standard error) when it could not be written."""
    from gradlint.engine import fix_source
    from gradlint.files import UnreadableFile, WriteRefused, fixed_bytes, read_source, write_atomic

    try:
        original = read_source(Path(result.filename))
        if original.text != result.original:
            raise WriteRefused("changed on disk while gradlint was running; not overwritten")
        # Fixed again, knowing the file's encoding: the lineage says which bytes to keep.
        outcome = fix_source(original.text, result.filename, settings, original.encoding)
        if outcome.source != result.source:
            raise WriteRefused("; ".join(outcome.refused) or "the fixes differ from the ones probed")
        write_atomic(original, fixed_bytes(original, outcome.source, outcome.lineage.parts if outcome.lineage else None))
    except (WriteRefused, OSError, UnreadableFile) as exc:
        click.echo(f"error: {result.filename}: not written: {exc}", err=True)
        return False
    return True


def _show_confirmed(result: Any, fixed: list[Diagnostic], remaining: list[Diagnostic], write: bool,
                    output_format: str, color: bool, quiet: bool, settings: Settings | None = None) -> None:
    """What `fix` shows (the diff, or the remaining findings after --write; its summary line),
    with the probe's verdict before the summary; the runtime findings left after the fixes
    count among the remaining ones. JSON: one object, the fixed and remaining findings beside
    the probe's `before` and `after`. In the formats other tools read (github, sarif) the
    verdict goes to standard error, to keep their output whole."""
    from gradlint.runtime.report import render_confirm_text

    left = [*remaining, *result.after.findings]
    if output_format == "json":
        import json

        data = {"fixed": json.loads(renderer("json")(fixed)), "remaining": json.loads(renderer("json")(left)),
                **result.to_dict()}
        _write_stdout(json.dumps(data, indent=2, allow_nan=False) + "\n")
        return
    if write:
        _emit(remaining, output_format, color)
    elif not quiet and result.changed:
        click.echo(_diff(result.original, result.source, result.filename, color), nl=False)
    click.echo(render_confirm_text(result, color), nl=False, err=output_format in ("github", "sarif"))
    if output_format != "text" or quiet:
        return
    held_back = _held_back_note(left, settings or Settings())
    if write and (fixed or left):
        click.echo(f"Found {plural(len(fixed) + len(left), 'problem')} ({len(fixed)} fixed, {len(left)} remaining"
                   f"{held_back}).")
    elif not write and fixed:
        click.echo(f"Would fix {plural(len(fixed), 'problem')} ({len(left)} remaining{held_back}); "
                   f"run '{_write_command(fixed)}' to apply.")


def _fix_stdin(stdin_filename: str | None, settings: Settings, force_exclude: bool,
               output_format: str, exit_zero: bool) -> None:
    """Fixed source to standard output (the input as it came if nothing changed or nothing
    could be done), remaining findings to standard error; then exit."""
    from gradlint.stdin import output_bytes

    results, data = _run_stdin(stdin_filename, settings, force_exclude, fix=True)
    sys.stdout.buffer.write(output_bytes(results[0], data) if results else data)
    sys.stdout.buffer.flush()
    remaining = [d for r in results for d in r.diagnostics]
    click.echo(renderer("concise" if output_format == "text" else output_format)(remaining), nl=False, err=True)
    _report_errors(results)
    failed = any(r.failed for r in results)
    sys.exit(EXIT_ERROR if failed else EXIT_CLEAN if exit_zero or not remaining else EXIT_FINDINGS)


def _result_diff(result: Any, color: bool) -> bytes:
    """A file's diff, byte for byte what `fix --write` would write (so `git apply` takes it);
    a notebook's per changed cell, its source as the user sees it."""
    if result.original.path.suffix != ".ipynb":
        new = result.new_bytes
        if new is None:  # pragma: no cover - a fixed result always has its bytes
            new = result.new_text.encode(result.original.encoding, "surrogateescape")
        return _diff(result.original.raw, new, result.path, color)
    from gradlint.notebook import changed_cells

    def shown(old: str, new: str) -> tuple[str, str]:
        # Cells rarely end with a line break; don't flag every diff with "No newline".
        ends = ("\n", "\r")
        return (old + "\n", new + "\n") if not old.endswith(ends) and not new.endswith(ends) else (old, new)

    return b"".join(_diff(*shown(old, new), f"{result.path}:cell {index}", color)
                    for index, old, new in changed_cells(result.original.text, result.new_text))


_GREEN, _RED, _RESET = b"\x1b[32m", b"\x1b[31m", b"\x1b[0m"


def _diff(old: bytes | str, new: bytes | str, path: str, color: bool) -> bytes:
    """A unified diff of two contents, as bytes: every byte of a line is kept (an escape
    character, a form feed, a line in another encoding), and lines end only at \\n, as git
    reads them. Text given as str is shown as UTF-8. The file name is quoted in the headers
    as git quotes it."""
    import difflib

    from gradlint.report.escape import git_quoted, name_bytes

    name = name_bytes(path)
    lines = difflib.diff_bytes(difflib.unified_diff, _byte_lines(_as_bytes(old)), _byte_lines(_as_bytes(new)),
                               git_quoted(b"a/" + name), git_quoted(b"b/" + name))
    out = []
    for line in lines:
        body, ending = (line[:-1], b"\n") if line.endswith(b"\n") else (line, b"\n\\ No newline at end of file\n")
        if color and body.startswith(b"+") and not body.startswith(b"+++"):
            body = _GREEN + body + _RESET
        elif color and body.startswith(b"-") and not body.startswith(b"---"):
            body = _RED + body + _RESET
        out.append(body + ending)
    return b"".join(out)


def _as_bytes(content: bytes | str) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8", "backslashreplace")


def _byte_lines(data: bytes) -> list[bytes]:
    """Lines ending with b"\\n" (kept); the last may have no line break."""
    lines = data.split(b"\n")
    last = lines.pop()
    return [line + b"\n" for line in lines] + ([last] if last else [])


@main.command("rules")
@click.option("--output-format", type=click.Choice(("text", "json", "markdown")), default="text", show_default=True,
              help="markdown: the whole of docs/rules.md.")
def rules_command(output_format: str) -> None:
    """List every code: code, name, whether it is fixable, what it finds."""
    from gradlint.rules.docs import code_docs, rules_markdown

    docs = code_docs()
    if output_format == "json":
        import json

        click.echo(json.dumps([
            {"code": d.code, "name": d.name, "fixable": d.fixable, "summary": d.summary, "url": d.url}
            for d in docs
        ], indent=2))
        return
    if output_format == "markdown":
        click.echo(rules_markdown(), nl=False)
        return
    width = max(len(d.name) for d in docs)
    for d in docs:
        click.echo(f"{d.code}  {d.name:<{width}}  {'[*]' if d.fixable else '   '}  {d.summary}")


@main.command("rule")
@click.argument("code")
@click.option("--output-format", type=click.Choice(("text", "json")), default="text", show_default=True)
def rule_command(code: str, output_format: str) -> None:
    """Explain CODE: what it finds, why it matters, an example, its fix and options."""
    from gradlint.rules.docs import code_docs, doc_for, render_doc

    doc = doc_for(code)
    if doc is None:
        known = ", ".join(d.code for d in code_docs())
        _fail(f"unknown rule '{code}' (known: {known})")
        return
    if output_format == "json":
        import json

        fix_safety = [{"fix": f.what, "applicability": f.applicability, "why": f.why} for f in doc.fix_safety]
        click.echo(json.dumps({"code": doc.code, "name": doc.name, "summary": doc.summary, "fixable": doc.fixable,
                               "fix_safety": fix_safety, "options": list(doc.options), "url": doc.url,
                               "explanation": render_doc(doc)}, indent=2))
        return
    click.echo(render_doc(doc), nl=False)
