"""File names (and messages) made safe for each kind of output, without losing what they say.

A POSIX file name is bytes. Python carries the bytes that are not UTF-8 as lone surrogates
(U+DC80–U+DCFF, the 'surrogateescape' error handler), and a name may hold a newline, a tab or
an escape character. No output of gradlint may break or crash on them:

- Line-based formats (text, concise, github, --show-files) give one line per finding: a
  control character or an undecodable byte is written as a Python-style escape (`\\n`, `\\t`,
  `\\r`, `\\x1b`, `\\xff`; `\\u2028` for the Unicode line separators), so the line stays one
  line and names the file unambiguously enough to find it. A backslash stays as it is
  (it separates directories on Windows).
- JSON and SARIF are valid UTF-8: an undecodable byte of a name (or any other lone
  surrogate in a string) is shown as U+FFFD, the replacement character, in `filename` and in
  messages. SARIF's artifact URIs are percent-encoded from the name's raw bytes
  (`os.fsencode`), so they still name the file exactly.
- Diffs quote a file name in their `---`/`+++` headers as git does (C-style, in double quotes,
  octal for bytes that are not printable ASCII), which `git apply` reads back.
"""

from __future__ import annotations

import os
import re
from typing import Any

# C0 controls, DEL, C1 controls, the Unicode line and paragraph separators, and surrogates.
_UNSAFE_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_SURROGATE = re.compile("[\ud800-\udfff]")
_GIT_NAMED = {0x07: b"\\a", 0x08: b"\\b", 0x09: b"\\t", 0x0A: b"\\n", 0x0B: b"\\v", 0x0C: b"\\f", 0x0D: b"\\r",
              0x22: b'\\"', 0x5C: b"\\\\"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as surrogateescape carries it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def line_safe(text: str) -> str:
    """`text` with no line break, control character or undecodable byte left in it."""
    return _UNSAFE_IN_LINE.sub(_escape_char, text)


def valid_unicode(text: str) -> str:
    """`text` with every lone surrogate (an undecodable byte of a file name) as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def valid_unicode_tree(value: Any) -> Any:
    """A JSON-ready value with `valid_unicode` applied to every string in it, keys included."""
    if isinstance(value, str):
        return valid_unicode(value)
    if isinstance(value, dict):
        return {valid_unicode_tree(k): valid_unicode_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [valid_unicode_tree(v) for v in value]
    return value


def name_bytes(filename: str) -> bytes:
    """The file name as the file system has it (undecodable bytes restored)."""
    try:
        return os.fsencode(filename)
    except UnicodeEncodeError:  # a surrogate that no byte stands for: not from the file system
        return filename.encode("utf-8", "surrogatepass")


def git_quoted(name: bytes) -> bytes:
    """A path for a diff header, quoted as git quotes it when it has to be."""
    if all(0x20 <= b < 0x7F and b not in (0x22, 0x5C) for b in name):
        return name
    out = bytearray(b'"')
    for b in name:
        if b in _GIT_NAMED:
            out += _GIT_NAMED[b]
        elif 0x20 <= b < 0x7F:
            out.append(b)
        else:
            out += b"\\%03o" % b
    out += b'"'
    return bytes(out)
