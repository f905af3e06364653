"""Command line: parse options, call the engine, pick a reporter, choose the exit code.

Exit codes follow ruff: 0 nothing found, 1 findings, 2 gradlint could not check everything
(a file it could not read or parse, a bad option or configuration).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gradlint import __version__
from gradlint.config import Settings, load_settings
from gradlint.diagnostics import Diagnostic
from gradlint.errors import GradlintError
from gradlint.report import OUTPUT_FORMATS, renderer
from gradlint.report.text import check_summary, plural

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class LazyGroup(click.Group):
    """A group whose heavier commands are imported only when they are run."""

    lazy = {"probe": "gradlint.runtime.cli:probe"}

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


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c.strip().upper() for v in values for c in v.split(",") if c.strip())


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
                     help="Processes to check files in (default: the number of CPUs)."),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache."),
        click.option("--cache-dir", type=click.Path(path_type=Path), default=None,
                     help="Where to keep the result cache (default: .gradlint_cache next to the configuration)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _settings(config: Path | None, paths: tuple[Path, ...], select: tuple[str, ...],
              extend_select: tuple[str, ...], ignore: tuple[str, ...]) -> Settings:
    for flag, values in (("--select", select), ("--extend-select", extend_select), ("--ignore", ignore)):
        if not values:
            continue
        from gradlint.rules import validate_selectors

        bad = validate_selectors(_codes(values))
        if bad is not None:
            raise GradlintError(f"{flag}: unknown rule code or prefix '{bad}'")
    start = paths[0] if paths else Path.cwd()
    settings = load_settings(config, start if start.exists() else Path.cwd())
    chosen = _codes(select) or settings.select
    return settings.with_overrides(
        select=(*chosen, *_codes(extend_select)),
        ignore=(*settings.ignore, *_codes(ignore)),
    )


def _use_color(no_color: bool) -> bool:
    return not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _discover(paths: tuple[Path, ...], settings: Settings, force_exclude: bool = False) -> list:
    from gradlint.discovery import MissingPath, discover

    try:
        return list(discover(paths or (Path("."),), settings, force_exclude=force_exclude))
    except MissingPath as exc:
        _fail(str(exc))
        raise AssertionError  # unreachable


def _emit(diagnostics: list[Diagnostic], output_format: str, color: bool) -> None:
    click.echo(renderer(output_format, color)(diagnostics), nl=False)


@main.command()
@common_options
def check(paths: tuple[Path, ...], select: tuple[str, ...], extend_select: tuple[str, ...],
          ignore: tuple[str, ...], output_format: str, exit_zero: bool, quiet: bool,
          no_color: bool, config: Path | None, force_exclude: bool, jobs: int | None,
          no_cache: bool, cache_dir: Path | None) -> None:
    """Report problems in PATHS (default: the current directory)."""
    from gradlint.engine import check_files

    try:
        settings = _settings(config, paths, select, extend_select, ignore)
    except GradlintError as exc:
        _fail(str(exc))
    settings = settings.with_overrides(cache_dir=cache_dir, use_cache=False if no_cache else None)
    results = check_files(_discover(paths, settings, force_exclude), settings, jobs=jobs)
    diagnostics = [d for r in results for d in r.diagnostics]
    _emit(diagnostics, output_format, _use_color(no_color))
    for result in results:
        for error in result.errors:
            click.echo(f"error: {error}", err=True)
    if output_format == "text" and not quiet and diagnostics:
        click.echo(check_summary(diagnostics))
    failed = any(r.failed for r in results)
    sys.exit(EXIT_ERROR if failed else EXIT_CLEAN if exit_zero or not diagnostics else EXIT_FINDINGS)


@main.command()
@common_options
@click.option("--write", is_flag=True, help="Apply the fixes to the files (without it: show a diff, change nothing).")
def fix(paths: tuple[Path, ...], select: tuple[str, ...], extend_select: tuple[str, ...],
        ignore: tuple[str, ...], output_format: str, exit_zero: bool, quiet: bool,
        no_color: bool, config: Path | None, force_exclude: bool, jobs: int | None,
        no_cache: bool, cache_dir: Path | None, write: bool) -> None:
    """Fix what can be fixed in PATHS; show the diff unless --write is given."""
    from gradlint.engine import check_files
    from gradlint.files import WriteRefused, write_atomic

    try:
        settings = _settings(config, paths, select, extend_select, ignore)
    except GradlintError as exc:
        _fail(str(exc))
    settings = settings.with_overrides(cache_dir=cache_dir, use_cache=False if no_cache else None)
    results = check_files(_discover(paths, settings, force_exclude), settings, fix=True, jobs=jobs)
    color = _use_color(no_color)
    failed = any(r.failed for r in results)
    fixed = sum(len(r.fixed) for r in results)
    remaining = [d for r in results for d in r.diagnostics]
    for result in results:
        for error in result.errors:
            click.echo(f"error: {error}", err=True)
    if not write:
        if output_format == "json":
            _emit([d for r in results for d in r.fixed], "json", color)
        elif not quiet:
            for result in results:
                if result.new_text is not None and result.original is not None:
                    click.echo(_diff(result.original.text, result.new_text, result.path, color), nl=False)
            if fixed:
                click.echo(f"Would fix {plural(fixed, 'problem')}"
                           f" ({len(remaining)} remaining); run 'gradlint fix --write' to apply.")
            elif not remaining:
                pass
        if failed:
            sys.exit(EXIT_ERROR)
        sys.exit(EXIT_FINDINGS if fixed and not exit_zero else EXIT_CLEAN)
    for result in results:
        if result.new_text is None or result.original is None:
            continue
        try:
            write_atomic(result.original, result.new_text)
        except (WriteRefused, OSError) as exc:
            failed = True
            fixed -= len(result.fixed)
            remaining.extend(result.fixed)
            click.echo(f"error: {result.path}: not written: {exc}", err=True)
    _emit(remaining, output_format, color)
    if output_format == "text" and not quiet and (fixed or remaining):
        click.echo(f"Found {plural(fixed + len(remaining), 'problem')} ({fixed} fixed, {len(remaining)} remaining).")
    sys.exit(EXIT_ERROR if failed else EXIT_CLEAN if exit_zero or not remaining else EXIT_FINDINGS)


def _diff(old: str, new: str, path: str, color: bool) -> str:
    import difflib

    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    out = []
    for line in lines:
        if not line.endswith(("\n", "\r")):
            line += "\n\\ No newline at end of file\n"
        if color and line.startswith("+") and not line.startswith("+++"):
            line = click.style(line, fg="green")
        elif color and line.startswith("-") and not line.startswith("---"):
            line = click.style(line, fg="red")
        out.append(line)
    return "".join(out)


@main.command("rules")
@click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default="text", show_default=True)
def rules_command(output_format: str) -> None:
    """List every rule: code, name, whether it is fixable, what it finds."""
    from gradlint.rules import ALL_RULES

    if output_format == "json":
        import json

        click.echo(json.dumps([
            {"code": r.code, "name": r.name, "fixable": r.fixable, "summary": r.summary, "url": r.url()}
            for r in ALL_RULES
        ], indent=2))
        return
    width = max(len(r.name) for r in ALL_RULES)
    for r in ALL_RULES:
        click.echo(f"{r.code}  {r.name:<{width}}  {'[*]' if r.fixable else '   '}  {r.summary}")


@main.command("rule")
@click.argument("code")
def rule_command(code: str) -> None:
    """Explain rule CODE: what it finds, why it matters, an example and its fix."""
    from gradlint.rules import ALL_RULES, rule_by_code

    rule = rule_by_code(code)
    if rule is None:
        known = ", ".join(r.code for r in ALL_RULES)
        _fail(f"unknown rule '{code}' (known: {known})")
        return
    fixable = "Fix available with `gradlint fix`." if rule.fixable else "No automatic fix."
    click.echo(f"# {rule.code} {rule.name}\n\n{rule.summary}.\n\n{fixable}\n\n{rule.doc}")
