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


@dataclass(frozen=True)
class Fix:
    """A set of edits that together remove one finding; applied all or nothing."""

    message: str
    edits: tuple[Edit, ...]
    applicability: str = "safe"


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

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def sort_key(self) -> tuple[str, int, int, int, str]:
        """File, then notebook cell (rows count within a cell), then position, then code."""
        return (self.filename, self.cell or 0, self.location.row, self.location.column, self.code)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, used by the cache and the JSON reporter."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnostic:
        fix = data.get("fix")
        return cls(
            code=data["code"],
            message=data["message"],
            filename=data["filename"],
            location=Position(**data["location"]),
            end_location=Position(**data["end_location"]),
            fix=None
            if fix is None
            else Fix(
                message=fix["message"],
                applicability=fix.get("applicability", "safe"),
                edits=tuple(
                    Edit(
                        content=e["content"],
                        location=Position(**e["location"]),
                        end_location=Position(**e["end_location"]),
                    )
                    for e in fix["edits"]
                ),
            ),
            cell=data.get("cell"),
            url=data.get("url"),
            extra=data.get("extra") or {},
        )
