"""Paths on the command line → the files to check.

Directories are walked for Python files and notebooks (the `extensions` setting); default
excludes, `exclude`/`extend-exclude` and .gitignore files are honoured; a file named explicitly
is always checked. Symlink loops and broken links are skipped, never followed forever.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import translate
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from gradlint.config import Settings

if TYPE_CHECKING:
    import pathspec

SOURCE_SUFFIXES = (".py",)
# Suffixes gradlint knows how to check; a file named explicitly with one of them that
# `extensions` leaves out is skipped under --force-exclude (pre-commit names every file).
KNOWN_SUFFIXES = (".py", ".pyi", ".ipynb")


@dataclass(frozen=True)
class Discovered:
    path: Path
    display: str  # how reports name it: relative to the working directory when inside it


class MissingPath(Exception):
    """A path given on the command line does not exist."""


class PatternSet:
    """Gitignore-style patterns anchored at `root`; a bare name (`build`, `*.ipynb`) matches
    any path component, as in ruff's `exclude`."""

    def __init__(self, patterns: Iterable[str], root: Path) -> None:
        self.patterns = list(patterns)
        self.root = root.resolve()
        plain = [p.rstrip("/") for p in self.patterns if "/" not in p.rstrip("/") and not p.startswith("!")]
        # Negations need gitignore's full semantics, which a name match ahead of them would skip.
        self.negated = any(p.startswith("!") for p in self.patterns)
        # One regular expression for all the names: a walk tries it on every entry.
        self._names = re.compile("|".join(translate(p) for p in plain)) if plain and not self.negated else None
        # pathspec costs tens of milliseconds to import: needed only for patterns that are
        # more than a name (the default excludes are all names).
        self.needs_spec = self.negated or len(plain) < len(self.patterns)

    @cached_property
    def spec(self) -> pathspec.GitIgnoreSpec:
        import pathspec

        return pathspec.GitIgnoreSpec.from_lines(self.patterns)

    def matches_name(self, name: str) -> bool:
        """A name pattern matches this one path component."""
        return self._names is not None and self._names.match(name) is not None

    def matches(self, path: Path) -> bool:
        """Any pattern matches `path` or one of its directories below the root."""
        relative = self._relative(path)
        return any(self.matches_name(part) for part in relative.split("/")) or self.matches_path(path)

    def matches_path(self, path: Path) -> bool:
        """A pattern that is more than a name matches `path` (a walk has tried each
        component's name already, as it descended)."""
        return self.needs_spec and self.spec.match_file(self._relative(path))

    def _relative(self, path: Path) -> str:
        try:
            return path.absolute().relative_to(self.root).as_posix()
        except ValueError:  # outside the project: only the name itself can match
            return path.name


def matches_patterns(path: Path, patterns: Iterable[str], root: Path) -> bool:
    return PatternSet(patterns, root).matches(path)


def _display(path: Path, cwd: Path) -> str:
    """Relative to the working directory when inside it, else as given."""
    absolute = path if path.is_absolute() else cwd / path
    try:
        return absolute.relative_to(cwd).as_posix()
    except ValueError:
        return str(path)


def discover(paths: Iterable[Path], settings: Settings, suffixes: tuple[str, ...] | None = None,
             force_exclude: bool = False) -> Iterator[Discovered]:
    """Every file to check, each once, in a stable (sorted) order per argument.

    A file named explicitly is checked even if excluded, unless `force_exclude` (what
    pre-commit needs, since it names every file)."""
    if suffixes is None:
        suffixes = tuple(f".{e}" for e in settings.extensions)
    seen: set[Path] = set()
    cwd = Path.cwd()
    excludes = PatternSet((*settings.exclude, *settings.extend_exclude), settings.root)
    for given in paths:
        if not given.exists() and not given.is_symlink():
            raise MissingPath(f"{given}: no such file or directory")
        if force_exclude and excludes.matches(given):
            continue
        if force_exclude and given.suffix in KNOWN_SUFFIXES and given.suffix not in suffixes and not given.is_dir():
            continue
        if not given.is_dir():
            key = given.absolute()
            if key not in seen:
                seen.add(key)
                yield Discovered(given, _display(given, cwd))
            continue
        for path in _walk(given, excludes, settings, suffixes):
            key = path.absolute()
            if key not in seen:
                seen.add(key)
                yield Discovered(path, _display(path, cwd))


def _gitignore_spec(directory: Path) -> pathspec.GitIgnoreSpec | None:
    ignore = directory / ".gitignore"
    try:
        lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


def _ancestor_ignores(directory: Path) -> list[tuple[Path, pathspec.GitIgnoreSpec]]:
    """.gitignore files above the walked directory, up to the repository root."""
    found = []
    current = directory.resolve()
    for parent in (current, *current.parents):
        if parent != current:
            spec = _gitignore_spec(parent)
            if spec is not None:
                found.append((parent, spec))
        if (parent / ".git").exists():
            break
    return found


def _ignored(path: Path, is_dir: bool, ignores: list[tuple[Path, pathspec.GitIgnoreSpec]]) -> bool:
    resolved = path.absolute()
    for base, spec in ignores:
        try:
            relative = resolved.relative_to(base).as_posix()
        except ValueError:
            continue
        if spec.match_file(relative + ("/" if is_dir else "")):
            return True
    return False


def _walk(root: Path, excludes: PatternSet, settings: Settings, suffixes: tuple[str, ...]) -> Iterator[Path]:
    # A directory named on the command line is checked even if excluded: inside it, only
    # patterns that match below it apply.
    explicit_excluded = excludes.matches(root)
    ignores = _ancestor_ignores(root) if settings.respect_gitignore else []
    ignores = [(b.absolute(), s) for b, s in ignores]
    visited: set[tuple[int, int]] = set()
    stack: list[tuple[Path, list[tuple[Path, pathspec.GitIgnoreSpec]]]] = [(root, ignores)]
    while stack:
        directory, inherited = stack.pop()
        try:
            info = directory.stat()
        except OSError:
            continue
        if (info.st_dev, info.st_ino) in visited:
            continue  # a symlink loop, or a directory reached twice
        visited.add((info.st_dev, info.st_ino))
        local = inherited
        if settings.respect_gitignore:
            spec = _gitignore_spec(directory)
            if spec is not None:
                local = [*inherited, (directory.absolute(), spec)]
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
                is_file = entry.is_file()
            except OSError:
                continue
            if not (is_dir or is_file):
                continue  # broken symlink, socket, …
            excluded = excludes.matches_name(entry.name)
            if not excluded and not explicit_excluded:
                excluded = excludes.matches_path(path)
            if excluded or _ignored(path, is_dir, local):
                continue
            if is_dir:
                subdirs.append((path, local))
            elif path.suffix in suffixes:
                yield path
        stack.extend(reversed(subdirs))
