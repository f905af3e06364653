"""Results per file, keyed by content, gradlint version and the settings that shape them.

A warm run re-parses nothing that has not changed. The cache file is written atomically, so
no reader ever sees half of it; anything unreadable, corrupt or foreign is ignored and
rewritten, never trusted and never fatal.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gradlint import __version__
from gradlint.config import Settings
from gradlint.diagnostics import Diagnostic

_FORMAT = 2
# Entries no run has used for this long (deleted or renamed files) are dropped.
_KEEP_DAYS = 30
# Settings that decide which files are read, not what a file's findings are.
_NOT_IN_KEY = {"exclude", "extend_exclude", "respect_gitignore", "runtime", "config_path", "cache_dir", "use_cache"}


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
    if settings.cache_dir is not None:
        return settings.cache_dir if settings.cache_dir.is_absolute() else settings.root / settings.cache_dir
    return settings.root / ".gradlint_cache"


def settings_fingerprint(settings: Settings) -> str:
    data = {k: v for k, v in asdict(settings).items() if k not in _NOT_IN_KEY}
    return json.dumps(data, sort_keys=True, default=str)


def content_key(content: bytes, display: str) -> str:
    """An entry's key: the file's name and exact content (the settings and gradlint's version
    are in the results file's name)."""
    digest = hashlib.sha256(display.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(content)
    return digest.hexdigest()


class ResultCache:
    """All results for one (gradlint, settings) pair in one file, `results-<id>.json`: read
    once on first use, written once at the end of a run. One file rather than one per
    checked file: a warm run opens one cache file instead of thousands."""

    def __init__(self, directory: Path, settings: Settings) -> None:
        self.directory = directory
        salt = f"{_FORMAT}\0{__version__}\0{_code_fingerprint()}\0{settings_fingerprint(settings)}"
        self.file = directory / f"results-{hashlib.sha256(salt.encode()).hexdigest()[:16]}.json"
        self._entries: dict[str, Any] | None = None
        self._changed = False
        self._seen: dict[str, str] = {}  # display name → its key in this run
        self._today = int(time.time() // 86400)

    key = staticmethod(content_key)

    def get(self, key: str, display: str) -> list[Diagnostic] | None:
        entries = self._load()
        self._seen[display] = key
        entry = entries.get(key)
        if entry is None:
            return None
        try:
            found = [Diagnostic.from_dict(d) for d in entry["diagnostics"]]
        except (KeyError, TypeError, ValueError, AttributeError):
            del entries[key]  # damaged: recompute, and the new result replaces it
            self._changed = True
            return None
        if entry.get("day") != self._today:
            entry["day"] = self._today  # at most one write a day to keep a used entry alive
            self._changed = True
        return found

    def put(self, key: str, display: str, diagnostics: list[Diagnostic]) -> None:
        self._load()[key] = {"path": display, "day": self._today, "diagnostics": [d.to_dict() for d in diagnostics]}
        self._seen[display] = key
        self._changed = True

    def save(self) -> None:
        """Write the entries back, atomically. A file checked in this run keeps only its current
        entry, and entries unused for `_KEEP_DAYS` go, so the cache does not grow with every
        edit, rename or deletion."""
        if not self._changed or self._entries is None:
            return
        kept = {k: e for k, e in self._entries.items() if self._keep(k, e)}
        try:
            self._ensure_root()
            fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".results-", suffix=".tmp")
            os.chmod(temp, 0o644)  # mkstemp's 0600 would lock out a CI job running as another user
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"format": _FORMAT, "entries": kept}, handle, separators=(",", ":"))
            os.replace(temp, self.file)
            self._changed = False
            self._drop_stale_files()
        except OSError:
            pass  # a read-only tree or a full disk must not stop the check

    def _drop_stale_files(self) -> None:
        """Results of other settings or gradlint versions that no run has written for
        `_KEEP_DAYS`."""
        limit = time.time() - _KEEP_DAYS * 86400
        for other in self.directory.glob("results-*.json"):
            try:
                if other != self.file and other.stat().st_mtime < limit:
                    other.unlink()
            except OSError:
                continue

    def _keep(self, key: str, entry: Any) -> bool:
        path = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(path, str) or self._seen.get(path, key) != key:
            return False  # damaged, or superseded by the file's current content
        day = entry.get("day")
        return isinstance(day, int) and self._today - day <= _KEEP_DAYS

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            try:
                data = json.loads(self.file.read_bytes())
                entries = data["entries"] if data.get("format") == _FORMAT else None
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                entries = None  # missing, corrupt or foreign: start afresh
            self._entries = entries if isinstance(entries, dict) else {}
        return self._entries

    def _ensure_root(self) -> None:
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / ".gitignore").write_text("# Created by gradlint\n*\n", encoding="utf-8")
            (self.directory / "CACHEDIR.TAG").write_text(
                "Signature: 8a477f597d28d172789f06886806bc55\n# gradlint result cache\n", encoding="utf-8"
            )
