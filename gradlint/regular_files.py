"""Reading a file only when it is a regular file: a FIFO would block forever, and a device
such as /dev/zero never ends. Used for the files gradlint reads for itself (configuration,
.gitignore), which a path, a link or a swap can turn into anything.
"""

from __future__ import annotations

import os
import stat

_CHUNK = 1 << 16


class NotRegularFile(Exception):
    """The path names a FIFO, a device, a socket or a directory; it was not opened, or (when
    it was swapped in meanwhile) not read."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"not a regular file ({kind})")
        self.kind = kind


class FileTooLarge(Exception):
    """The file holds more than the caller's limit; no more than the limit was read."""


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    for test, name in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def read_regular_file(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The bytes of the regular file at `path` (links followed).

    Raises NotRegularFile without opening anything else, FileTooLarge beyond `limit` bytes,
    or OSError. It is opened non-blocking, so a FIFO swapped in after the check cannot block."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularFile(file_kind(info.st_mode))
    if limit is not None and info.st_size > limit:
        raise FileTooLarge(limit)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise NotRegularFile(file_kind(opened.st_mode))
        data = _read_up_to(fd, None if limit is None else limit + 1)
    finally:
        os.close(fd)
    if limit is not None and len(data) > limit:
        raise FileTooLarge(limit)  # it grew after the check
    return data


def _read_up_to(fd: int, limit: int | None) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while limit is None or size < limit:
        chunk = os.read(fd, _CHUNK if limit is None else min(_CHUNK, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
