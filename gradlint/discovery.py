"""Paths on the command line → the files to check.

Directories are walked for Python files and notebooks (the `extensions` setting); default
excludes, `exclude`/`extend-exclude` and .gitignore files are honoured; a file named explicitly
is always checked.

What a walk never takes, so that gradlint never reads or rewrites what is not the project's:
- a symbolic link (to a file or a directory) whose real path lies outside the real paths of
  the directories being walked: silently, as git and ripgrep do (they do not follow links at
  all). Name such a path on the command line to check it.
- anything but regular files: FIFOs, devices and sockets (named explicitly, they are reported
  as GL002 and never opened);
- the same file twice: a file reached by two paths (a link, `m.py ../w/m.py`) is one file, by
  real path, and is reported under the first name it was reached by.

Symlink loops and broken links are skipped. A directory that cannot be read, and a path named
on the command line that does not exist, are reported as GL002 naming them, and the other
paths are still checked. `.gitignore` files apply only inside a git work tree (a `.git` at or above
them), as git has it; they are read only when they are regular files of at most 1 MB, and an
invalid pattern in one is a warning naming the file and line, and is skipped.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import translate
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradlint import notices
from gradlint.config import Settings
from gradlint.patterns import compile_gitignore, pattern_problem
from gradlint.regular_files import FileTooLarge, NotRegularFile, file_kind, read_regular_file
from gradlint.settings_tree import SettingsTree

if TYPE_CHECKING:
    import pathspec

SOURCE_SUFFIXES = (".py",)
# Suffixes gradlint knows how to check; a file named explicitly with one of them that
# `extensions` leaves out is skipped under --force-exclude (pre-commit names every file).
KNOWN_SUFFIXES = (".py", ".pyi", ".ipynb")
# A .gitignore larger than this is not a list of patterns anyone wrote: ignored, with a warning.
MAX_IGNORE_FILE_BYTES = 1 << 20

Warn = Callable[[str], None]
# (spec, path of the walked directory relative to the .gitignore's directory, with a final "/")
Ignores = list[tuple["pathspec.GitIgnoreSpec", str]]


@dataclass(frozen=True)
class Discovered:
    path: Path
    display: str  # how reports name it: relative to the working directory when inside it
    problem: str | None = None  # why it cannot be checked at all (reported as GL002), e.g. an unreadable directory
    # The settings that apply to it (its nearest configuration, with the command line's options).
    settings: Settings | None = field(default=None, compare=False, repr=False)


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
        return compile_gitignore(self.patterns)

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


def _reason(exc: OSError) -> str:
    """`Permission denied` → `permission denied`, as GL002 messages say it."""
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


@dataclass(frozen=True)
class _Given:
    """A path named on the command line, examined once."""

    path: Path
    real: str  # its real path: the identity of the file, and the root of a walk
    is_dir: bool = False
    problem: str | None = None


def _examine(given: Path) -> _Given:
    """What the path names, by `stat` (never by opening it: a FIFO would block)."""
    try:
        info = os.stat(given)
    except (FileNotFoundError, NotADirectoryError):
        if not os.path.islink(given):
            return _Given(given, os.path.abspath(given), problem="no such file or directory")
        return _Given(given, os.path.abspath(given), problem="cannot read file: broken symbolic link")
    except OSError as exc:
        return _Given(given, os.path.abspath(given), problem=f"cannot read: {_reason(exc)}")
    real = os.path.realpath(given)
    if stat.S_ISDIR(info.st_mode):
        return _Given(given, real, is_dir=True)
    if stat.S_ISREG(info.st_mode):
        return _Given(given, real)
    return _Given(given, real, problem=f"not a regular file ({file_kind(info.st_mode)})")


class _Scopes:
    """What a walk needs of each configuration it meets (its excludes compiled once, its file
    types), by the Settings object the tree gives."""

    def __init__(self, tree: SettingsTree, suffixes: tuple[str, ...] | None) -> None:
        self.tree = tree
        self.suffixes = suffixes
        self._scopes: dict[int, _Scope] = {}

    def of(self, settings: Settings) -> _Scope:
        scope = self._scopes.get(id(settings))
        if scope is None:
            suffixes = self.suffixes or tuple(f".{e}" for e in settings.extensions)
            excludes = PatternSet((*settings.exclude, *settings.extend_exclude), settings.root)
            scope = self._scopes[id(settings)] = _Scope(settings, excludes, suffixes)
        return scope

    def for_given(self, given: _Given) -> _Scope:
        """A path named on the command line: its directory's, as `_examine` found it (no
        second stat to ask whether it is one)."""
        return self.of(self.tree.for_directory(given.path if given.is_dir else given.path.parent))

    def force_excluded(self, path: Path, is_dir: bool) -> bool:
        """A path named on the command line is excluded by the configuration it lies under,
        or one of its directories by the configuration above that one: what a walk from the
        top would have left out."""
        entry = path.absolute()
        while True:
            scope = self.of(self.tree.for_directory(entry.parent))
            if scope.excludes.matches(entry):
                return True
            if not is_dir and entry.suffix in KNOWN_SUFFIXES and entry.suffix not in scope.suffixes:
                return True
            root = scope.settings.root.absolute()
            if (self.tree.is_single or scope.settings.config_path is None or root == entry
                    or not entry.is_relative_to(root) or root.parent == root):
                return False
            entry, is_dir = root, True  # the nested project's own directory, seen from above


@dataclass(frozen=True)
class _Scope:
    settings: Settings
    excludes: PatternSet
    suffixes: tuple[str, ...]


def discover(paths: Iterable[Path], settings: Settings | SettingsTree, suffixes: tuple[str, ...] | None = None,
             force_exclude: bool = False, warn: Warn | None = None) -> Iterator[Discovered]:
    """Every file to check, each once, in a stable (sorted) order per argument, with the
    settings that apply to it.

    `settings`: one Settings for every file, or a SettingsTree: then each directory walked
    takes the configuration it holds, else its parent's, so that a nested project's excludes
    (relative to its own directory) apply when the walk starts above it.
    A file named explicitly is checked even if excluded, unless `force_exclude` (what
    pre-commit needs, since it names every file). What cannot be checked at all (an
    unreadable directory, a FIFO named explicitly, a path that does not exist) comes as a
    Discovered with a `problem`, in its place among the others.
    What was skipped that the user should know of (a .gitignore that is not a small regular
    file, an invalid pattern in one) goes to `warn`, by default standard error."""
    tree = settings if isinstance(settings, SettingsTree) else SettingsTree.single(settings)
    scopes = _Scopes(tree, suffixes)
    cwd = Path.cwd()
    given = [_examine(path) for path in paths]
    roots = tuple(g.real.rstrip(os.sep) + os.sep for g in given if g.is_dir)
    ignore_files = _IgnoreFiles(cwd, warn or notices.warn)
    seen: set[str] = set()
    for item in given:
        path = item.path
        scope = scopes.for_given(item)
        if force_exclude and scopes.force_excluded(path, item.is_dir):
            continue
        found: Iterable[tuple[Path, str, str | None, Settings]] = [(path, item.real, item.problem, scope.settings)]
        if item.is_dir:
            found = _walk(item, roots, scope, scopes, ignore_files)
        for path, real, problem, file_settings in found:
            if real not in seen:
                seen.add(real)
                yield Discovered(path, _display(path, cwd), problem, file_settings)


def _inside(real: str, roots: tuple[str, ...]) -> bool:
    """`real` is one of the roots (each ending in a separator) or below one."""
    return (real + os.sep).startswith(roots)


def _walk(root: _Given, roots: tuple[str, ...], top: _Scope, scopes: _Scopes,
          ignore_files: _IgnoreFiles) -> Iterator[tuple[Path, str, str | None, Settings]]:
    """(path, real path, problem, settings) of every file to check below `root`, and of every
    directory that cannot be read (with the problem). A directory holding a configuration
    of its own is walked with it; one that holds none, with its parent's."""
    # A directory named on the command line is checked even if excluded: inside it, only
    # patterns (of its own configuration) that match below it apply.
    explicit_excluded = top.excludes.matches(root.path)
    ignores, in_repo = ignore_files.above(root.real) if top.settings.respect_gitignore else ([], False)
    visited: set[tuple[int, int]] = set()
    stack: list[tuple[Path, str, Ignores, bool, _Scope]] = [(root.path, root.real, ignores, in_repo, top)]
    while stack:
        directory, real, ignores, in_repo, scope = stack.pop()
        try:
            info = os.stat(directory)
            if (info.st_dev, info.st_ino) in visited:
                continue  # a symlink loop, or a directory reached twice
            visited.add((info.st_dev, info.st_ino))
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            yield directory, real, f"cannot read directory: {_reason(exc)}", scope.settings
            continue
        names = {e.name for e in entries}
        scope = scopes.of(scopes.tree.below(real, names, scope.settings))
        gitignore = scope.settings.respect_gitignore
        in_repo = in_repo or ".git" in names
        if gitignore and in_repo and ".gitignore" in names:
            spec = ignore_files.spec(directory / ".gitignore")
            if spec is not None:
                ignores = [*ignores, (spec, "")]
        excludes, suffixes = scope.excludes, scope.suffixes
        skip_paths = explicit_excluded and scope is top
        subdirs = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
                is_file = not is_dir and entry.is_file()  # regular files only (links followed)
            except OSError:
                continue
            if not (is_dir or is_file) or (is_file and os.path.splitext(entry.name)[1] not in suffixes):
                continue  # broken symlink, FIFO, socket, … or not a file type to check
            excluded = excludes.matches_name(entry.name)
            path = Path(entry.path)
            if not excluded and not skip_paths:
                excluded = excludes.matches_path(path)
            if excluded or (gitignore and _ignored(entry.name, is_dir, ignores)):
                continue
            if entry.is_symlink():
                entry_real = os.path.realpath(entry.path)
                if not _inside(entry_real, roots):
                    continue  # leads out of the tree: never read, never rewritten
            else:
                entry_real = os.path.join(real, entry.name)
            if is_dir:
                subdirs.append((path, entry_real, [(s, f"{p}{entry.name}/") for s, p in ignores], in_repo, scope))
            else:
                yield path, entry_real, None, scope.settings
        stack.extend(reversed(subdirs))


def _ignored(name: str, is_dir: bool, ignores: Ignores) -> bool:
    """A .gitignore that applies here ignores the entry `name` of the walked directory."""
    relative = name + "/" if is_dir else name
    return any(spec.match_file(prefix + relative) for spec, prefix in ignores)


class _IgnoreFiles:
    """The .gitignore files of one run, each read (and warned about) once."""

    def __init__(self, cwd: Path, warn: Warn) -> None:
        self.cwd = cwd
        self.warn = warn
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}

    def above(self, real_root: str) -> tuple[Ignores, bool]:
        """The .gitignore files above a walk's root, up to its repository's root, and whether
        the root is inside a git work tree at all (outside one, no .gitignore applies)."""
        chain = [real_root]
        while not os.path.lexists(os.path.join(chain[-1], ".git")):
            parent = os.path.dirname(chain[-1])
            if parent == chain[-1]:
                return [], False
            chain.append(parent)
        found: Ignores = []
        for directory in chain[1:]:
            ignore = os.path.join(directory, ".gitignore")
            if os.path.lexists(ignore):
                spec = self.spec(Path(ignore))
                if spec is not None:
                    found.append((spec, os.path.relpath(real_root, directory).replace(os.sep, "/") + "/"))
        return found, True

    def spec(self, path: Path) -> pathspec.GitIgnoreSpec | None:
        key = os.path.realpath(path)
        if key not in self._specs:
            shown = _display(path, self.cwd)
            lines = _read_ignore_file(path, shown, self.warn)
            self._specs[key] = _gitignore_spec(lines, shown, self.warn) if lines else None
        return self._specs[key]


def _read_ignore_file(path: Path, shown: str, warn: Warn) -> list[str] | None:
    """The lines of a .gitignore; None (with a warning) unless it is a regular file of at most
    MAX_IGNORE_FILE_BYTES: a FIFO is never opened, and no more than the limit is read."""
    try:
        data = read_regular_file(path, MAX_IGNORE_FILE_BYTES)
    except (FileNotFoundError, NotADirectoryError):
        return None  # a broken link, or gone: nothing to honour
    except NotRegularFile as exc:
        warn(f"{shown}: {exc}; ignored")
        return None
    except FileTooLarge:
        warn(f"{shown}: larger than {MAX_IGNORE_FILE_BYTES // (1 << 20)} MB; ignored")
        return None
    except OSError as exc:
        warn(f"{shown}: cannot read: {_reason(exc)}; ignored")
        return None
    return data.decode("utf-8", errors="replace").splitlines()


def _gitignore_spec(lines: list[str], shown: str, warn: Warn) -> pathspec.GitIgnoreSpec:
    """The patterns of a .gitignore; an invalid one (that git accepts and ignores) is a warning
    naming the file and line, and is left out."""
    try:
        return compile_gitignore(lines)
    except (ValueError, re.error):
        pass  # find which lines, and keep the others
    import pathspec

    patterns: list[Any] = []  # pathspec's pattern class differs between its versions
    for number, line in enumerate(lines, start=1):
        try:
            patterns.extend(compile_gitignore([line]).patterns)
        except (ValueError, re.error) as exc:
            warn(f"{shown}:{number}: invalid pattern {line!r} ({pattern_problem(line, exc)}); skipped")
    return pathspec.GitIgnoreSpec(patterns)
