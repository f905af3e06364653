"""Results per file, keyed by content, gradlint version and the settings that shape them
(each file's own: files under different configurations go to different results files).

A warm run re-parses nothing that has not changed. The cache touches only what is provably
its own:
- it writes only into a directory it created, or adopted while empty, and marked there with
  a CACHEDIR.TAG that names gradlint; a non-empty directory without that marker is never
  used (one warning, and no cache for the run);
- in such a directory it deletes only files it wrote: `results-<id>.json` (and the
  `.results-<id>.*.tmp` of a run that was killed) whose first bytes are gradlint's header
  naming that same id, and that no run has written for `_KEEP_DAYS`;
- its own temp file is removed whatever stops a write (a full disk, an interrupt).
Whatever it reads back is checked field by field: anything unreadable, damaged or foreign is
dropped and recomputed, never trusted and never fatal.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradlint import __version__
from gradlint.config import Settings
from gradlint.diagnostics import Diagnostic

if TYPE_CHECKING:
    from gradlint.coverage import Coverage

_FORMAT = 3
# Entries no run has used for this long (deleted or renamed files) are dropped, and so are
# results files no run has written (other settings, older gradlint versions).
_KEEP_DAYS = 30
# A temp file this old is from a run that was killed before it could remove it.
_TEMP_KEEP_SECONDS = 86400
# Settings that decide which files are read, not what a file's findings are.
_NOT_IN_KEY = {"exclude", "extend_exclude", "respect_gitignore", "runtime", "config_path", "cache_dir", "use_cache"}

TAG_NAME = "CACHEDIR.TAG"
_TAG_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"  # https://bford.info/cachedir/
_TAG_OWNER = "# This file is a cache directory tag created by gradlint."
_TAG_OWNERS = (_TAG_OWNER, "# gradlint result cache")  # the second: what gradlint 0.1.0 wrote
_TAG = (f"{_TAG_SIGNATURE.decode()}\n{_TAG_OWNER}\n"
        "# For information about cache directory tags, see https://bford.info/cachedir/\n")
_GITIGNORE = "# Created by gradlint: nothing here belongs in version control.\n*\n"
_RESULTS_NAME = re.compile(r"results-(?P<id>[0-9a-f]{16})\.json")
_TEMP_NAME = re.compile(r"\.results-(?P<id>[0-9a-f]{16})\.[A-Za-z0-9_]+\.tmp")


def _header(file_id: str) -> bytes:
    """How every results file gradlint writes begins: the first keys of its JSON, in order."""
    return f'{{"gradlint":"result-cache","id":"{file_id}",'.encode()


def _code_fingerprint() -> str:
    """gradlint's own sources (names, sizes, mtimes): an edited install invalidates the cache
    even before its version number changes."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        try:
            info = path.stat()
        except OSError:
            continue
        digest.update(f"{path.relative_to(package)}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_directory(settings: Settings) -> Path:
    """The configured or given directory (made absolute when the settings were read), else
    `.gradlint_cache` beside the configuration."""
    if settings.cache_dir is not None:
        return settings.root / settings.cache_dir  # (an absolute cache_dir stays as it is)
    return settings.root / ".gradlint_cache"


def settings_fingerprint(settings: Settings) -> str:
    """What of the settings shapes a file's findings, and the directory its patterns
    (`per-file-ignores`) and project modules are read from: two sub-projects with the same
    table still differ by where they are."""
    data = {k: v for k, v in asdict(settings).items() if k not in _NOT_IN_KEY}
    data["root"] = str(settings.root)
    return json.dumps(data, sort_keys=True, default=str)


def content_key(content: bytes, display: str) -> str:
    """An entry's key: the file's name and exact content (the settings and gradlint's version
    are in the results file's name)."""
    digest = hashlib.sha256(display.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(content)
    return digest.hexdigest()


def _warn(message: str) -> None:
    """The cache never stops a check; when it cannot serve, the user hears why, once."""
    try:
        sys.stderr.write(f"warning: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # standard error closed: nothing better to do


def _has_marker(directory: Path) -> bool:
    """Whether `directory` holds gradlint's CACHEDIR.TAG: a regular file (a link to another
    directory's tag does not count) with the standard signature and gradlint's line."""
    try:
        fd = os.open(directory / TAG_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        head = os.read(fd, 1024)
    except OSError:
        return False
    finally:
        os.close(fd)
    lines = head.decode("utf-8", "replace").splitlines()
    return head.startswith(_TAG_SIGNATURE) and any(line.strip() in _TAG_OWNERS for line in lines[1:])


def _is_empty(directory: Path) -> bool:
    with os.scandir(directory) as entries:
        return next(entries, None) is None


def _create_new(path: Path, text: str) -> None:
    """Write a file that must not exist yet; one a concurrent run just wrote is left alone."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _read_regular(path: Path) -> bytes | None:
    """A file's bytes, or None if it is missing or not a regular file (a FIFO would block,
    a device would never end)."""
    try:
        with open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK)) as handle:
            return handle.read() if stat.S_ISREG(os.fstat(handle.fileno()).st_mode) else None
    except OSError:
        return None


def _is_own_file(path: Path, file_id: str) -> bool:
    """A regular file (not a link) whose first bytes are gradlint's header naming `file_id`."""
    header = _header(file_id)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.read(fd, len(header)) == header
    except OSError:
        return False
    finally:
        os.close(fd)


class ResultCache:
    """All results for one (gradlint, settings) pair in one file, `results-<id>.json`: read
    once on first use, written once at the end of a run. One file rather than one per
    checked file: a warm run opens one cache file instead of thousands."""

    def __init__(self, directory: Path, settings: Settings, code: str | None = None,
                 warned: set[str] | None = None) -> None:
        """`code`: gradlint's `_code_fingerprint()`, when the caller has it already (a run with
        a cache per sub-project takes it once). `warned`: the warnings said already, shared by
        a run's caches, so that several configurations naming one refused directory get one."""
        self.directory = directory
        self._warned = set() if warned is None else warned
        code = _code_fingerprint() if code is None else code
        salt = f"{_FORMAT}\0{__version__}\0{code}\0{settings_fingerprint(settings)}"
        self.id = hashlib.sha256(salt.encode()).hexdigest()[:16]
        self.file = directory / f"results-{self.id}.json"
        self._entries: dict[str, Any] | None = None
        self._changed = False
        self._usable = True  # False once the directory turns out not to be gradlint's
        self._seen: dict[str, str] = {}  # display name → its key in this run
        self._today = int(time.time() // 86400)

    key = staticmethod(content_key)

    def get(self, key: str, display: str) -> list[Diagnostic] | None:
        entries = self._load()
        self._seen[display] = key
        entry = entries.get(key)
        if entry is None:
            return None
        found = _findings(entry, display)
        if found is None:
            del entries[key]  # damaged: recompute, and the new result replaces it
            self._changed = True
            return None
        if not _dependencies_unchanged(entry.get("dependencies")):
            return None  # a module it read has changed since: recompute
        if entry["day"] != self._today:
            entry["day"] = self._today  # at most one write a day to keep a used entry alive
            self._changed = True
        return found

    def coverage(self, key: str) -> Coverage | None:
        """What the check of an entry `get` returned judged; None when it was not recorded
        (a fix's result) or is damaged."""
        from gradlint.coverage import Coverage

        entry = self._load().get(key)
        return Coverage.from_dict(entry.get("coverage")) if isinstance(entry, dict) else None

    def put(self, key: str, display: str, diagnostics: list[Diagnostic],
            dependencies: dict[str, str] | None = None, coverage: Coverage | None = None) -> None:
        """`dependencies`: the project's other modules the result read (path → content hash)."""
        entry: dict[str, Any] = {"path": display, "day": self._today, "diagnostics": [d.to_dict() for d in diagnostics]}
        if dependencies:
            entry["dependencies"] = dict(dependencies)
        if coverage is not None:
            entry["coverage"] = coverage.to_dict()
        self._load()[key] = entry
        self._seen[display] = key
        self._changed = True

    def save(self) -> None:
        """Write the entries back, atomically. A file checked in this run keeps only its current
        entry, and entries unused for `_KEEP_DAYS` go, so the cache does not grow with every
        edit, rename or deletion."""
        if not self._changed or self._entries is None or not self._usable:
            return
        kept = {k: e for k, e in self._entries.items() if self._keep(k, e)}
        try:
            if not self._claim():
                return
            try:
                self._write(kept)
            except (TypeError, ValueError, RecursionError):
                # An entry no file of this run looked up, too damaged to write back (nested
                # deeper than the encoder goes): keep only this run's entries, all checked.
                current = set(self._seen.values())
                self._write({k: e for k, e in kept.items() if k in current})
        except OSError as exc:
            _warn(f"cannot write the result cache in {self.directory}: {exc.strerror or exc}")
            return
        self._changed = False
        self._drop_stale_files()

    def _write(self, entries: dict[str, Any]) -> None:
        """Into a temp file beside the results file, then renamed over it: no reader ever sees
        half of it. The temp file goes whatever interrupts the write. The header comes first:
        it is how a later run recognises the file as its own."""
        data = {"gradlint": "result-cache", "id": self.id, "format": _FORMAT, "entries": entries}
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=f".results-{self.id}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                os.fchmod(handle.fileno(), 0o644)  # mkstemp's 0600 would lock out a CI job running as another user
                json.dump(data, handle, separators=(",", ":"))
            os.replace(temp, self.file)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise

    def _claim(self) -> bool:
        """Make sure the directory is gradlint's: create it (never its parents) or adopt it
        while empty, marking it; refuse it, with a warning, if it holds anything else."""
        directory = self.directory
        try:
            os.mkdir(directory)
        except FileExistsError:
            pass
        except FileNotFoundError:
            self._refuse("cannot create the result cache {}: its parent directory does not exist "
                         "(gradlint creates only the cache directory itself)")
            return False
        if _has_marker(directory):
            return True
        if not directory.is_dir():
            self._refuse("not using {} as the result cache: it is not a directory")
            return False
        if not _is_empty(directory):
            self._refuse_foreign()
            return False
        _create_new(directory / ".gitignore", _GITIGNORE)
        _create_new(directory / TAG_NAME, _TAG)  # last: the marker says the directory is set up
        if not _has_marker(directory):
            self._refuse_foreign()  # something else was written there meanwhile
            return False
        return True

    def _refuse(self, message: str) -> None:
        self._usable = False
        text = message.format(self.directory)
        if text not in self._warned:
            self._warned.add(text)
            _warn(text)

    def _refuse_foreign(self) -> None:
        self._refuse("not using {} as the result cache: the directory is not empty and has no "
                     f"{TAG_NAME} from gradlint, so it may hold someone else's files; "
                     "name a new or empty directory, or use --no-cache")

    def _drop_stale_files(self) -> None:
        """Results of other settings or gradlint versions that no run has written for
        `_KEEP_DAYS`, and temp files of killed runs: only files named as gradlint names
        them *and* starting with gradlint's header for that name, in this marked directory."""
        now = time.time()
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        for name in names:
            match = _RESULTS_NAME.fullmatch(name) or _TEMP_NAME.fullmatch(name)
            path = self.directory / name
            if match is None or path == self.file:
                continue
            limit = _KEEP_DAYS * 86400 if match.re is _RESULTS_NAME else _TEMP_KEEP_SECONDS
            try:
                old = now - path.lstat().st_mtime > limit
                if old and _is_own_file(path, match["id"]):
                    path.unlink()
            except OSError:
                continue

    def _keep(self, key: str, entry: Any) -> bool:
        path = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(path, str) or self._seen.get(path, key) != key:
            return False  # damaged, or superseded by the file's current content
        day = entry.get("day")
        return type(day) is int and self._today - day <= _KEEP_DAYS

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = self._read_entries()
        return self._entries

    def _read_entries(self) -> dict[str, Any]:
        """The entries of this settings' results file; none if the directory is not
        gradlint's (then it is not written either), or the file is missing, corrupt, nested
        too deeply to parse, or written by another format."""
        if not _has_marker(self.directory):
            try:
                if self.directory.is_dir() and not _is_empty(self.directory):
                    self._refuse_foreign()
            except OSError:
                pass  # unreadable: `save` says why it cannot write there
            return {}  # missing or empty: created or adopted when the run saves
        raw = _read_regular(self.file)
        if raw is None:
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # (UnicodeDecodeError is a ValueError)
            return {}
        valid = (isinstance(data, dict) and data.get("gradlint") == "result-cache" and data.get("id") == self.id
                 and data.get("format") == _FORMAT and isinstance(data.get("entries"), dict))
        return data["entries"] if valid else {}


def _dependencies_unchanged(dependencies: Any) -> bool:
    """The other modules a cached result read still hold what it read (a damaged list: no)."""
    if dependencies is None:
        return True
    if not isinstance(dependencies, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in dependencies.items()):
        return False
    from gradlint.graph.project import unchanged

    return unchanged(dependencies)


def _findings(entry: Any, display: str) -> list[Diagnostic] | None:
    """An entry's findings, if every field is what `put` writes, for this very file; None
    for anything damaged."""
    if not (isinstance(entry, dict) and entry.get("path") == display and type(entry.get("day")) is int
            and isinstance(entry.get("diagnostics"), list)):
        return None
    try:
        found = [Diagnostic.from_dict(d) for d in entry["diagnostics"]]
    except (TypeError, ValueError, RecursionError):
        return None
    return found if all(d.filename == display for d in found) else None
