"""Reading and writing source files without changing a byte gradlint did not mean to change.

The encoding (PEP 263 cookie or UTF-8 BOM) and line endings are read as they are and written
back as they were; writes go through a temporary file and an atomic rename.
"""

from __future__ import annotations

import io
import os
import stat
import tokenize
from dataclasses import dataclass
from pathlib import Path


class UnreadableFile(Exception):
    """The file cannot be read as Python source; the message says why."""


@dataclass(frozen=True)
class SourceFile:
    path: Path
    text: str
    encoding: str  # as detected; "utf-8-sig" keeps a BOM
    raw: bytes

    @property
    def fingerprint(self) -> bytes:
        return self.raw


def decode_source(data: bytes) -> tuple[str, str]:
    """Bytes of a .py file → (text, encoding), or UnreadableFile."""
    if b"\x00" in data:
        raise UnreadableFile("binary file (contains NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise UnreadableFile(f"bad encoding declaration: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        declared = "declared encoding " + encoding if encoding not in ("utf-8", "utf-8-sig") else "UTF-8"
        raise UnreadableFile(
            f"not valid {declared} (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "add an encoding declaration such as '# -*- coding: latin-1 -*-'"
        ) from None
    except LookupError:
        raise UnreadableFile(f"unknown encoding '{encoding}' in the encoding declaration") from None


def read_source(path: Path, data: bytes | None = None) -> SourceFile:
    """The file's source; `data`, when given, is its content as already read."""
    if data is not None:
        text, encoding = decode_source(data)
        return SourceFile(path, text, encoding, data)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise UnreadableFile("is a directory") from None
    except FileNotFoundError:
        raise UnreadableFile("no such file") from None
    except PermissionError:
        raise UnreadableFile("permission denied") from None
    except OSError as exc:
        raise UnreadableFile(exc.strerror or str(exc)) from None
    text, encoding = decode_source(data)
    return SourceFile(path, text, encoding, data)


class WriteRefused(Exception):
    """The file was not written; the message says why. The original is intact."""


def write_atomic(original: SourceFile, new_text: str) -> None:
    """Replace the file's content with `new_text` in its own encoding, atomically.

    The file is not touched if it changed on disk since it was read. A symlink is written
    through to its target, which keeps the link. Permission bits are kept.
    """
    path = original.path
    target = Path(os.path.realpath(path))
    try:
        current = target.read_bytes()
    except OSError as exc:
        raise WriteRefused(f"cannot re-read before writing: {exc.strerror or exc}") from None
    if current != original.raw:
        raise WriteRefused("changed on disk while gradlint was running; not overwritten")
    import tempfile

    data = new_text.encode(original.encoding)
    mode = stat.S_IMODE(target.stat().st_mode)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".gradlint-tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
