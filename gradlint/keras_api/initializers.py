"""Initializers as data: every Keras spelling, the variance family it realises, its distribution.

`VarianceScaling(scale, mode, distribution)` is the general form; the named initializers are
its special cases, which is how a VarianceScaling call is judged by its values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from gradlint.keras_api.activations import Family


class InitKind(Enum):
    FAMILY = "family"  # Glorot / He / LeCun: GL101 judges it
    VARIANCE_SCALING = "variance_scaling"  # judged by its scale and mode
    FIXED_SCALE = "fixed_scale"  # RandomNormal, Zeros, …: GL103's, not GL101's
    OTHER = "other"  # Orthogonal, Identity: never judged


@dataclass(frozen=True)
class InitializerSpec:
    kind: InitKind
    family: Family | None = None
    distribution: str | None = None  # "normal" | "uniform" | None
    class_name: str = ""
    string_name: str = ""


def _family(stem: str, cls_stem: str, family: Family) -> dict[str, InitializerSpec]:
    return {
        f"{stem}_{dist}": InitializerSpec(
            InitKind.FAMILY, family, dist, f"{cls_stem}{dist.capitalize()}", f"{stem}_{dist}"
        )
        for dist in ("normal", "uniform")
    }


_BY_STRING: dict[str, InitializerSpec] = {
    **_family("glorot", "Glorot", Family.GLOROT),
    **_family("he", "He", Family.HE),
    **_family("lecun", "Lecun", Family.LECUN),
    "variance_scaling": InitializerSpec(InitKind.VARIANCE_SCALING, class_name="VarianceScaling",
                                        string_name="variance_scaling"),
    **{s: InitializerSpec(InitKind.FIXED_SCALE, class_name=c, string_name=s) for s, c in (
        ("random_normal", "RandomNormal"), ("random_uniform", "RandomUniform"),
        ("truncated_normal", "TruncatedNormal"), ("zeros", "Zeros"), ("ones", "Ones"),
        ("constant", "Constant"),
    )},
    **{s: InitializerSpec(InitKind.OTHER, class_name=c, string_name=s) for s, c in (
        ("orthogonal", "Orthogonal"), ("identity", "Identity"),
    )},
}
_BY_STRING["xavier_normal"] = _BY_STRING["glorot_normal"]
_BY_STRING["xavier_uniform"] = _BY_STRING["glorot_uniform"]

# Every spelling, squashed (lower case, no underscores): "GlorotUniform", "glorot_uniform",
# "glorot_uniform_initializer" and "RandomNormalInitializer" meet on one key.
_BY_KEY: dict[str, InitializerSpec] = {}
for _name, _spec in _BY_STRING.items():
    _BY_KEY[_name.replace("_", "")] = _spec
    _BY_KEY[_spec.class_name.lower()] = _spec
    _BY_KEY[_name.replace("_", "") + "initializer"] = _spec
_BY_KEY["orthogonalinitializer"] = _BY_STRING["orthogonal"]
_BY_KEY["normal"] = _BY_STRING["random_normal"]
_BY_KEY["uniform"] = _BY_STRING["random_uniform"]
_BY_KEY["zero"] = _BY_STRING["zeros"]
_BY_KEY["one"] = _BY_STRING["ones"]


def initializer_spec(name: str) -> InitializerSpec | None:
    """Look up a string (`"he_normal"`) or a class/function name (`HeNormal`, `he_normal`)."""
    return _BY_KEY.get(name.replace("_", "").lower())


def family_spec(family: Family, distribution: str) -> InitializerSpec:
    """The named initializer of a family in a distribution, e.g. (He, "normal") → he_normal."""
    return _BY_STRING[f"{family.prefix}_{distribution}"]


# VarianceScaling's positional order and defaults.
VARIANCE_SCALING_PARAMS = ("scale", "mode", "distribution", "seed")
VARIANCE_SCALING_DEFAULTS = {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"}
# (scale, mode) that each family sets.
FAMILY_VARIANCE_SCALING: dict[Family, tuple[float, str]] = {
    Family.HE: (2.0, "fan_in"),
    Family.GLOROT: (1.0, "fan_avg"),
    Family.LECUN: (1.0, "fan_in"),
}


def variance_scaling_family(scale: object, mode: object) -> Family | None:
    """The family a VarianceScaling(scale, mode) call realises, or None for any other setting."""
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not isinstance(mode, str):
        return None
    for family, (f_scale, f_mode) in FAMILY_VARIANCE_SCALING.items():
        if abs(float(scale) - f_scale) < 1e-9 and mode == f_mode:
            return family
    return None


def distribution_of_variance_scaling(distribution: object) -> str:
    return "uniform" if distribution == "uniform" else "normal"
