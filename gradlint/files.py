"""Reading and writing source files without changing a byte gradlint did not mean to change.

The encoding (PEP 263 cookie or UTF-8 BOM) is read as it is. A fixed file is not re-encoded:
the bytes of everything the fixes did not edit are copied from the original file, and only
the fixes' own text is encoded (`fixed_bytes`). That holds for encodings where decoding and
encoding again would change bytes (cp932, big5, `unicode_escape`, …).

Writes (`write_atomic`) go through a verified temporary copy beside the file. It replaces
the file by an atomic rename when the copy can take the file's identity (owner, group,
mode, extended attributes) and the file has no other hard link; otherwise the file is
rewritten in place from the copy. The file is re-read just before it is replaced, and is
never written if it changed since gradlint read it, or if it is read-only. SIGINT and
SIGTERM wait until the write is over, so a write is never left half done and its temporary
copy is always removed.
"""

from __future__ import annotations

import codecs
import errno
import io
import os
import re
import stat
import tokenize
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import FrameType
from typing import Any


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


# Longest first: UTF-32-LE's mark begins with UTF-16-LE's.
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
              (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))


def _wide_encoding(data: bytes) -> str | None:
    """"UTF-16"/"UTF-32" for text with that byte order mark (and the NUL bytes such text has)."""
    if b"\x00" not in data:
        return None
    return next((name for bom, name in _WIDE_BOMS if data.startswith(bom)), None)


def decode_source(data: bytes) -> tuple[str, str]:
    """Bytes of a .py file → (text, encoding), or UnreadableFile."""
    wide = _wide_encoding(data)
    if wide is not None:
        # Python's tokenizer reads only ASCII-compatible encodings: such a file is not a module.
        raise UnreadableFile(f"{wide} encoded (byte order mark); Python source must be UTF-8 "
                             "or declare an 8-bit encoding")
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


# -- the bytes of a fixed file ---------------------------------------------------------------

# A part of the fixed text: a (start, end) character range kept from the original, or new text.
Part = tuple[int, int] | str


@lru_cache(maxsize=32)
def _literal_ascii(encoding: str) -> re.Pattern[str]:
    """Runs of the ASCII characters that this encoding spells as their own byte (all of them
    but the backslash in `unicode_escape`, for which line breaks stay line breaks)."""
    literal = []
    for code in range(128):
        try:
            if bytes([code]).decode(encoding) == chr(code):
                literal.append(re.escape(chr(code)))
        except (UnicodeDecodeError, ValueError):
            pass
    return re.compile(f"[{''.join(literal)}]+") if literal else re.compile(r"(?!)")


def encode_fragment(text: str, encoding: str) -> bytes:
    """`text` in `encoding`, ASCII spelled as itself wherever the encoding reads it so.

    Raises UnicodeEncodeError when the encoding cannot represent a character.
    """
    pieces: list[bytes] = []
    cursor = 0
    for match in _literal_ascii(encoding).finditer(text):
        if match.start() > cursor:
            pieces.append(text[cursor:match.start()].encode(encoding))
        pieces.append(match.group().encode("ascii"))
        cursor = match.end()
    if cursor < len(text):
        pieces.append(text[cursor:].encode(encoding))
    return b"".join(pieces)


def unencodable_reason(content: str, encoding: str) -> str | None:
    """Why a fix's text cannot go into a file in `encoding`, or None when it can."""
    try:
        encode_fragment(content, encoding)
    except UnicodeEncodeError as exc:
        return f"its text {exc.object[exc.start:exc.end]!r} cannot be written in the file's encoding ({encoding})"
    return None


def _codec(encoding: str) -> str:
    return codecs.lookup(encoding).name


def fixed_bytes(original: SourceFile, new_text: str, parts: Sequence[Part] | None = None) -> bytes:
    """The bytes to write for `new_text`: the original's own bytes for every range `parts`
    keeps, the file's encoding only for the new text between them.

    Without `parts` (a notebook's JSON, rewritten by the notebook writer) the whole text is
    encoded, which keeps every other byte only in UTF-8, so nothing else is accepted.
    Raises WriteRefused when the result would not read back as exactly `new_text`.
    """
    if parts is None:
        data = _whole_text_bytes(original, new_text)
    else:
        if "".join(p if isinstance(p, str) else original.text[p[0]:p[1]] for p in parts) != new_text:
            raise WriteRefused("internal error: the fixed text does not match its edits")
        data = _spliced(original, parts)
    try:
        text, encoding = decode_source(data)
    except UnreadableFile as exc:
        text, encoding = None, str(exc)
    if text != new_text or _codec(encoding) != _codec(original.encoding):
        raise WriteRefused(f"the fixed text cannot be written in the file's encoding ({original.encoding}) "
                           "without changing bytes outside the fixes")
    return data


def _whole_text_bytes(original: SourceFile, new_text: str) -> bytes:
    if _codec(original.encoding) not in ("utf-8", "utf-8-sig") or original.text.encode(original.encoding) != original.raw:
        raise WriteRefused(f"the fixed text cannot be written in the file's encoding ({original.encoding}) "
                           "without changing bytes outside the fixes")
    return new_text.encode(original.encoding)


def _spliced(original: SourceFile, parts: Sequence[Part]) -> bytes:
    encoding, raw = original.encoding, original.raw
    prefix = b""
    if _codec(encoding) == "utf-8-sig":  # the mark is no character: it stays first
        prefix = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
        encoding = "utf-8"
    body = raw[len(prefix):]
    boundaries = sorted({offset for p in parts if not isinstance(p, str) for offset in p})
    where = _offsets_by_encoding(body, original.text, encoding, boundaries)
    if where is None:
        where = _offsets_by_decoding(body, encoding, boundaries)
    where[len(original.text)] = len(body)  # bytes that read as no character go with the last one
    pieces = [prefix]
    for part in parts:
        if isinstance(part, str):
            try:
                pieces.append(encode_fragment(part, encoding))
            except UnicodeEncodeError as exc:
                raise WriteRefused(unencodable_reason(part, original.encoding) or str(exc)) from None
        else:
            pieces.append(body[where[part[0]]:where[part[1]]])
    return b"".join(pieces)


def _offsets_by_encoding(body: bytes, text: str, encoding: str, boundaries: list[int]) -> dict[int, int] | None:
    """Byte offset of each character offset, when the original bytes are exactly the text
    encoded (always so for UTF-8); None when some part of the file is spelled otherwise."""
    where: dict[int, int] = {}
    position, previous = 0, 0
    for offset in [*boundaries, len(text)]:
        try:
            chunk = text[previous:offset].encode(encoding)
        except UnicodeEncodeError:
            return None
        if not body.startswith(chunk, position):
            return None
        position += len(chunk)
        where[offset] = position
        previous = offset
    return where if position == len(body) else None


_CHUNK = 4096


def _offsets_by_decoding(body: bytes, encoding: str, boundaries: list[int]) -> dict[int, int]:
    """Byte offset of each character offset, found by decoding: the first byte position
    where that many characters are complete and the decoder is back in its initial state.

    Chunks without a boundary are decoded whole; only those with one are walked byte by byte.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    initial = decoder.getstate()
    where: dict[int, int] = {}
    targets = iter(boundaries)
    target = next(targets, None)
    chars = 0
    position = 0
    while target is not None and position <= len(body):
        chunk = body[position:position + _CHUNK]
        state = decoder.getstate()
        produced = len(decoder.decode(chunk, final=not chunk))
        if chars < target and chars + produced < target and chunk:
            chars += produced
            position += len(chunk)
            continue
        decoder.setstate(state)
        for i in range(len(chunk) + 1):
            if decoder.getstate() == initial:
                while target is not None and target <= chars:
                    if target < chars:
                        raise WriteRefused("the fixes cut through a character of the original file")
                    where[target] = position + i
                    target = next(targets, None)
            if i < len(chunk):
                chars += len(decoder.decode(chunk[i:i + 1]))
        if not chunk:
            break
        position += len(chunk)
    if target is not None:
        raise WriteRefused("the fixes cut through a character of the original file")
    return where


# -- writing -----------------------------------------------------------------------------------

def write_atomic(original: SourceFile, data: bytes) -> None:
    """Replace the file's content with `data`, or raise WriteRefused (or OSError) and leave
    it as it was.

    A symlink is written through to its target, which keeps the link. Owner, group, mode,
    extended attributes and hard links are kept. The file is not touched if it changed on
    disk since it was read, or if it is read-only.
    """
    target = Path(os.path.realpath(original.path))
    with deferred_signals():
        info = _writable(target)
        try:
            temp, beside = _verified_copy(target.parent, target.name, data), True
        except PermissionError:
            # A directory the user may not add to: no rename is possible, but the file can
            # still be rewritten in place from a copy kept in the temporary directory.
            import tempfile

            temp, beside = _verified_copy(Path(tempfile.gettempdir()), target.name, data), False
        try:
            if beside and info.st_nlink == 1 and _take_identity(temp, target, info):
                _refuse_if_changed(target, info, original.raw)
                os.replace(temp, target)
                _sync_directory(target.parent)
            else:
                _rewrite_in_place(target, info, original.raw, data)
        finally:
            _remove(temp)


def _writable(target: Path) -> os.stat_result:
    """The file's status, when gradlint may write it: a regular file that is not read-only."""
    try:
        info = os.stat(target)
    except OSError as exc:
        raise WriteRefused(f"cannot re-read before writing: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise WriteRefused("not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o222:
        raise WriteRefused(f"read-only file (mode {mode:04o})")
    effective = os.access in os.supports_effective_ids
    if not os.access(target, os.W_OK, effective_ids=effective):
        raise WriteRefused(f"read-only file for this user (mode {mode:04o}, owner {info.st_uid})")
    return info


def _verified_copy(directory: Path, name: str, data: bytes) -> Path:
    """A new file in `directory`, named after `name`, holding `data`, flushed to disk and
    read back.

    Its name is chosen before it is created, so that whatever interrupts this function, the
    file is removed if it was made.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    while True:
        temp = directory / f".{name}.{os.urandom(4).hex()}.gradlint-tmp"
        try:
            fd = os.open(temp, flags, 0o600)
        except FileExistsError:
            continue  # someone else's name: try another
        except OSError:
            raise  # nothing was made
        except BaseException:
            _remove(temp)  # interrupted after the file was made, but before we knew it
            raise
        try:
            try:
                _write_all(fd, data)
                os.fsync(fd)
                if _read_all(fd) != data:
                    raise WriteRefused("the temporary copy did not read back as written")
            finally:
                os.close(fd)
        except BaseException:
            _remove(temp)
            raise
        return temp


def _take_identity(temp: Path, target: Path, info: os.stat_result) -> bool:
    """Give the copy the file's owner, group, mode and extended attributes; False when that
    is not possible (the file must then be rewritten in place)."""
    try:
        copy = os.stat(temp)
        if (copy.st_uid, copy.st_gid) != (info.st_uid, info.st_gid):
            os.chown(temp, info.st_uid, info.st_gid)
        os.chmod(temp, stat.S_IMODE(info.st_mode))  # after chown, which may clear set-id bits
        _copy_xattrs(target, temp)
        copy = os.stat(temp)
    except OSError:
        return False
    # chmod drops a set-group-id bit silently for a group the user is not in
    return (copy.st_uid, copy.st_gid, copy.st_mode) == (info.st_uid, info.st_gid, info.st_mode)


def _xattrs(path: Path) -> list[str]:
    if not hasattr(os, "listxattr"):
        return []
    try:
        return os.listxattr(path)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, getattr(errno, "EOPNOTSUPP", errno.ENOTSUP)):
            return []
        raise


def _copy_xattrs(source: Path, destination: Path) -> None:
    """Make `destination`'s extended attributes (ACLs included) exactly `source`'s."""
    wanted = {name: os.getxattr(source, name) for name in _xattrs(source)}
    present = set(_xattrs(destination))
    for name in present - wanted.keys():
        os.removexattr(destination, name)  # e.g. a default ACL inherited from the directory
    for name, value in wanted.items():
        if name not in present or os.getxattr(destination, name) != value:
            os.setxattr(destination, name, value)


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _changed(fd: int, info: os.stat_result, expected: bytes) -> bool:
    now = os.fstat(fd)
    return (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino) or _read_all(fd) != expected


_STALE = "changed on disk while gradlint was running; not overwritten"


def _refuse_if_changed(target: Path, info: os.stat_result, expected: bytes) -> None:
    """The last look before the rename: the file must still be the one gradlint read."""
    try:
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise WriteRefused(f"cannot re-read before writing: {exc.strerror or exc}") from None
    try:
        if _changed(fd, info, expected):
            raise WriteRefused(_STALE)
    finally:
        os.close(fd)


def _rewrite_in_place(target: Path, info: os.stat_result, expected: bytes, data: bytes) -> None:
    """Overwrite the file through its own inode (which keeps hard links and owner), then
    read it back; on any failure, put the original content back."""
    fd = os.open(target, os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        if _changed(fd, info, expected):
            raise WriteRefused(_STALE)
        try:
            _replace_content(fd, data)
            if _read_all(fd) != data:
                raise WriteRefused("the file did not read back as written; original restored")
        except BaseException:
            try:
                _replace_content(fd, expected)
            except OSError as exc:
                raise WriteRefused(f"writing failed and the original could not be restored: {exc.strerror or exc}") from None
            raise
    finally:
        os.close(fd)


def _replace_content(fd: int, data: bytes) -> None:
    _write_all(fd, data)
    os.ftruncate(fd, len(data))
    os.fsync(fd)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable; a file system that cannot sync directories is left be."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# -- signals -----------------------------------------------------------------------------------

@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is over, then act on them as before.

    A write must not stop half way: it either happens or not, and its temporary copy is
    removed either way. A second signal during the block is not held: it acts at once.
    Outside the main thread (where Python runs no signal handler) this does nothing.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}

    def hold(signum: int, frame: object) -> None:
        held.append(signum)
        if len(held) > 1:
            _deliver(signum, previous[signum], restore=True)

    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if handler is not signal.SIG_IGN:  # `nohup`, `cmd &`: ignored it stays
            previous[signum] = signal.signal(signum, hold)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        if held:
            _deliver(held[0], previous[held[0]], restore=False)


def _deliver(signum: int, handler: object, restore: bool) -> None:
    """Act on a held signal as its previous handler would have."""
    import signal

    if callable(handler):
        handler(signum, None)
    elif handler in (signal.SIG_DFL, None):  # None: a handler not set from Python
        if restore:
            signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
