"""The one vocabulary shared by every side of gradlint: static rules, runtime probe, reporters.

A finding is a plain value so that it can cross process boundaries, be cached as JSON and be
rendered by any reporter without knowing who produced it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class Position:
    """A place in a source text: 1-based row, 1-based column counted in characters."""

    row: int
    column: int


@dataclass(frozen=True)
class Edit:
    """Replace the text between two positions (end exclusive) with `content`."""

    content: str
    location: Position
    end_location: Position


# How far a fix may be trusted, as ruff says it. "safe": the textbook remedy where the author
# chose nothing (an initializer added where none was given, clipping added to an optimizer,
# an import); `fix --write` applies it. "unsafe": it replaces something the author wrote (an
# explicit initializer, a layer class), which may have been chosen on purpose; applied only
# with --unsafe-fixes (or `unsafe-fixes = true`).
SAFE, UNSAFE = "safe", "unsafe"
APPLICABILITIES = (SAFE, UNSAFE)


@dataclass(frozen=True)
class Fix:
    """A set of edits that together remove one finding; applied all or nothing."""

    message: str
    edits: tuple[Edit, ...]
    applicability: str = SAFE

    def applies(self, unsafe_fixes: bool) -> bool:
        """Whether a run applies this fix: a safe one always, an unsafe one when asked to."""
        return self.applicability == SAFE or unsafe_fixes


SEVERITIES = ("warning", "error")  # in increasing order


@dataclass(frozen=True)
class Diagnostic:
    """One finding, static (GLxxx) or runtime (GRxxx)."""

    code: str
    message: str
    filename: str
    location: Position
    end_location: Position
    fix: Fix | None = None
    cell: int | None = None
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # "error": the predicted (or measured) effect breaks training at initialization, or
    # gradlint could not check; "warning": a real fault that does not by itself.
    severity: str = "warning"

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def fixable_with(self, unsafe_fixes: bool) -> bool:
        """Whether `fix` would apply this finding's fix (with or without --unsafe-fixes)."""
        return self.fix is not None and self.fix.applies(unsafe_fixes)

    @property
    def hidden_fix(self) -> bool:
        """A fix that only --unsafe-fixes applies."""
        return self.fix is not None and self.fix.applicability != SAFE

    def sort_key(self) -> tuple[str, int, int, int, str]:
        """File, then notebook cell (rows count within a cell), then position, then code."""
        return (self.filename, self.cell or 0, self.location.row, self.location.column, self.code)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, used by the cache and the JSON reporter."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Diagnostic:
        """The inverse of `to_dict`, for data read back from disk: anything not of the shape
        `to_dict` writes raises TypeError or ValueError here, rather than become a finding
        that breaks a reporter or a sort later."""
        fields = _table(data, "finding")
        fix = fields.get("fix")
        return cls(
            code=_code(fields.get("code")),
            message=_text(fields.get("message"), "message"),
            filename=_text(fields.get("filename"), "filename"),
            location=_position(fields.get("location")),
            end_location=_position(fields.get("end_location")),
            fix=None if fix is None else _fix(fix),
            cell=_optional(fields.get("cell"), _count, "cell"),
            url=_optional(fields.get("url"), _text, "url"),
            extra=_extra(fields.get("extra", {})),
            severity=_severity(fields.get("severity", "warning")),
        )


# Checks for `Diagnostic.from_dict`: each returns the value as the dataclass holds it.
_EXTRA_DEPTH = 8  # `extra` holds flat measurements; deeper data is damage, not a finding
_SPANS = ("json_location", "json_end_location")  # [row, column] in a notebook's JSON text


def _table(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a table")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string")
    return value


def _code(value: Any) -> str:
    code = _text(value, "code")
    if not (code.isascii() and code.isalnum() and code[:1].isalpha()):
        raise ValueError(f"not a rule code: {code!r}")
    return code


def _severity(value: Any) -> str:
    if value not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}")
    return value


def _count(value: Any, what: str) -> int:
    """A 1-based row, column or cell number (bool is an int to Python, not to us)."""
    if type(value) is not int or value < 1:
        raise TypeError(f"{what} must be a positive integer")
    return value


def _optional(value: Any, check: Any, what: str) -> Any:
    return None if value is None else check(value, what)


def _position(value: Any) -> Position:
    fields = _table(value, "location")
    if set(fields) != {"row", "column"}:
        raise ValueError("a location has a row and a column, nothing else")
    return Position(_count(fields["row"], "row"), _count(fields["column"], "column"))


def _fix(value: Any) -> Fix:
    fields = _table(value, "fix")
    edits = fields.get("edits")
    if not isinstance(edits, (list, tuple)):  # a list once through JSON
        raise TypeError("fix edits must be a list")
    return Fix(
        message=_text(fields.get("message"), "fix message"),
        applicability=_applicability(fields.get("applicability", SAFE)),
        edits=tuple(_edit(e) for e in edits),
    )


def _applicability(value: Any) -> str:
    if value not in APPLICABILITIES:
        raise ValueError(f"applicability must be one of {APPLICABILITIES}")
    return value


def _edit(value: Any) -> Edit:
    fields = _table(value, "edit")
    return Edit(content=_text(fields.get("content"), "edit content"),
                location=_position(fields.get("location")), end_location=_position(fields.get("end_location")))


def _extra(value: Any) -> dict[str, Any]:
    extra = _table(value, "extra")
    _plain(extra, _EXTRA_DEPTH)
    for key in _SPANS:
        span = extra.get(key)
        if span is not None and not (isinstance(span, (list, tuple)) and len(span) == 2
                                     and all(type(n) is int and n >= 1 for n in span)):
            raise ValueError(f"extra {key} must be [row, column]")
    return extra


def _plain(value: Any, depth: int) -> None:
    """JSON data, nested at most `depth` deep, with string keys: what reporters can print."""
    if isinstance(value, (str, int, float)) or value is None:
        return
    if depth <= 0:
        raise ValueError("extra is nested too deeply")
    if isinstance(value, (list, tuple)):
        items: Any = value
    elif isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = value.values()
    else:
        raise TypeError("extra must hold plain JSON data")
    for item in items:
        _plain(item, depth - 1)
