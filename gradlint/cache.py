"""Results per file, keyed by content, gradlint version and the settings that shape them.

A warm run re-parses nothing that has not changed. Entries are single JSON files written
atomically, so parallel workers never see half an entry; anything unreadable, corrupt or
foreign is ignored and rewritten, never trusted and never fatal.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

from gradlint import __version__
from gradlint.config import Settings
from gradlint.diagnostics import Diagnostic

_FORMAT = 1
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


class ResultCache:
    """A directory of entries `<key[:2]>/<key>.json`; created on first write."""

    def __init__(self, directory: Path, settings: Settings) -> None:
        self.directory = directory
        self.salt = f"{_FORMAT}\0{__version__}\0{_code_fingerprint()}\0{settings_fingerprint(settings)}".encode()

    def key(self, content: bytes, display: str) -> str:
        digest = hashlib.sha256(self.salt)
        digest.update(display.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(content)
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> list[Diagnostic] | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            if data.get("key") != key:
                return None
            return [Diagnostic.from_dict(d) for d in data["diagnostics"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # missing, corrupt or foreign: recompute

    def put(self, key: str, diagnostics: list[Diagnostic]) -> None:
        path = self._path(key)
        try:
            self._ensure_root()
            path.parent.mkdir(parents=True, exist_ok=True)
            payload = json.dumps({"key": key, "diagnostics": [d.to_dict() for d in diagnostics]})
            fd, temp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.replace(temp, path)
        except OSError:
            pass  # a read-only tree or a full disk must not stop the check

    def _ensure_root(self) -> None:
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / ".gitignore").write_text("# Created by gradlint\n*\n", encoding="utf-8")
            (self.directory / "CACHEDIR.TAG").write_text(
                "Signature: 8a477f597d28d172789f06886806bc55\n# gradlint result cache\n", encoding="utf-8"
            )
