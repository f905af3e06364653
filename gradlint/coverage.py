"""What a check judged, and what it could not see and why.

A codebase that gets no findings is either clean or unseen: a layer whose activation is a
parameter nobody is seen to pass, a model built from a config file, a layer class gradlint
does not know. `--statistics` counts both sides per family of codes, and `--explain-unknown`
lists what was not judged with its place, so that a user can tell which it is.

Plain values only: a file's coverage travels from worker processes and through the cache.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# The families of codes, and what one judgement of each is about.
LAYERS = "layers"  # GL1xx and GL3xx: a weighted layer's initializer against its activation
TRAINING = "training"  # GL2xx: a compile() and the clipping of its optimizer
FAMILIES: dict[str, str] = {LAYERS: "layer calls", TRAINING: "compiles"}

# Why something was not judged: a short key, and how a person reads it.
REASONS: dict[str, str] = {
    "activation-parameter": "activation is a parameter that no call in its module passes (other modules' calls are judged there)",
    "activation-callers": "activation is a parameter some of whose callers pass a value that cannot be known",
    "activation-mixed": "activation is a parameter whose callers pass different activations",
    "activation-config": "activation comes from a configuration object or mapping",
    "activation-name": "activation is a name gradlint does not know (a custom or registered one)",
    "activation-dynamic": "activation is computed at run time",
    "arguments-opaque": "arguments come through *args or **kwargs that cannot be read",
    "output-unseen": "where the layer's output goes is not seen (model not traced)",
    "output-opaque": "the layer's output goes into code gradlint cannot follow (a custom layer or function)",
    "outputs-disagree": "the layer's output meets different activations in different places",
    "initializer-unknown": "initializer cannot be known statically",
    "layer-class": "layer class is not one gradlint knows",
    "model-untraced": "the compiled model is not traced to its layers",
    "optimizer-unknown": "optimizer cannot be known statically",
}


@dataclass(frozen=True)
class Unseen:
    """One layer call or compile that was not judged, where it is, and why."""

    family: str
    reason: str  # a key of REASONS
    what: str  # what it is, as the source says: "Dense", "model.compile"
    row: int
    column: int
    detail: str = ""  # the particular: the parameter's name, the expression
    cell: int | None = None  # notebook cell, where the row counts within it

    @property
    def explanation(self) -> str:
        text = REASONS.get(self.reason, self.reason)
        return f"{text} ({self.detail})" if self.detail else text

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "reason": self.reason, "what": self.what, "row": self.row,
                "column": self.column, "detail": self.detail, "cell": self.cell}

    @staticmethod
    def from_dict(data: Any) -> Unseen | None:
        """None for anything that is not one (a damaged cache entry)."""
        if not isinstance(data, dict):
            return None
        strings = ("family", "reason", "what", "detail")
        numbers = ("row", "column")
        if not all(isinstance(data.get(k), str) for k in strings) \
                or not all(type(data.get(k)) is int for k in numbers) \
                or not (data.get("cell") is None or type(data.get("cell")) is int):
            return None
        return Unseen(data["family"], data["reason"], data["what"], data["row"], data["column"],
                      data["detail"], data["cell"])


@dataclass
class Coverage:
    """One file's (or a run's) count of what was judged, per family, and what was not."""

    judged: Counter[str] = field(default_factory=Counter)
    unseen: list[Unseen] = field(default_factory=list)
    # The file imports Keras and names layer classes, yet no layer was recognised in it.
    keras_unseen: bool = False

    def add(self, other: Coverage) -> None:
        self.judged.update(other.judged)
        self.unseen.extend(other.unseen)
        self.keras_unseen = self.keras_unseen or other.keras_unseen

    def total(self, family: str) -> int:
        return self.judged[family] + sum(1 for u in self.unseen if u.family == family)

    def reasons(self, family: str) -> list[tuple[str, int]]:
        """(reason, how many) for one family, most frequent first."""
        counts = Counter(u.reason for u in self.unseen if u.family == family)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    def to_dict(self) -> dict[str, Any]:
        return {"judged": dict(self.judged), "unseen": [u.to_dict() for u in self.unseen],
                "keras_unseen": self.keras_unseen}

    @staticmethod
    def from_dict(data: Any) -> Coverage | None:
        """None for anything that is not one (a damaged cache entry)."""
        if not isinstance(data, dict) or not isinstance(data.get("judged"), dict) \
                or not isinstance(data.get("unseen"), list) or not isinstance(data.get("keras_unseen"), bool):
            return None
        judged = data["judged"]
        if not all(isinstance(k, str) and type(v) is int and v >= 0 for k, v in judged.items()):
            return None
        unseen = [Unseen.from_dict(u) for u in data["unseen"]]
        if any(u is None for u in unseen):
            return None
        return Coverage(Counter(judged), [u for u in unseen if u is not None], data["keras_unseen"])


def merged(coverages: Iterable[Coverage | None]) -> Coverage:
    total = Coverage()
    for coverage in coverages:
        if coverage is not None:
            total.add(coverage)
    return total
