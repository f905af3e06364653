"""jax.nn.initializers (re-exported as `nn.initializers` and `nnx.initializers`) as data.

Every initializer there is a factory: `he_normal()` returns the function that draws the
weights. Its variance, for a kernel of fans computed as JAX does (in × receptive field,
out × receptive field):
- the family ones and `variance_scaling(scale, mode, distribution)`: E[w²] = scale / fan_mode
  whatever the distribution (JAX corrects its truncated normal for the truncation);
- `normal(stddev=1e-2)`: N(0, stddev²); `truncated_normal(stddev=1e-2, lower=-2, upper=2)`:
  the normal truncated at ±2 stddev, without correction; `uniform(scale=1e-2)`: U[0, scale);
- `zeros`, `ones` (initializers themselves, not factories), `constant(value)`;
- `orthogonal(scale=1.0)`: rows or columns of norm `scale`.
Flax's default kernel_init for Dense, Conv and their NNX twins is lecun_normal().
"""

from __future__ import annotations

from gradlint.keras_api.activations import Family

MODULES = ("jax.nn.initializers.", "flax.linen.initializers.", "flax.nnx.initializers.", "flax.nnx.nn.initializers.")

# Family factories: the family and the distribution (truncated normal counts as normal).
FAMILY: dict[str, tuple[Family, str]] = {
    **{f"{stem}_{dist}": (family, dist) for stem, family in (
        ("he", Family.HE), ("kaiming", Family.HE), ("glorot", Family.GLOROT), ("xavier", Family.GLOROT),
        ("lecun", Family.LECUN)) for dist in ("normal", "uniform")},
}
# variance_scaling's parameters in positional order, and JAX's defaults (none: required).
VARIANCE_SCALING_PARAMS = ("scale", "mode", "distribution")
# Fixed-scale factories: parameters in positional order and their defaults.
FIXED: dict[str, tuple[tuple[str, float], ...]] = {
    "normal": (("stddev", 1e-2),),
    "truncated_normal": (("stddev", 1e-2), ("dtype", 0.0), ("lower", -2.0), ("upper", 2.0)),
    "uniform": (("scale", 1e-2),),
    "constant": (("value", 0.0),),
}
# Initializers used uncalled (they are the drawing function), and the factories of the same.
CONSTANT: dict[str, float] = {"zeros": 0.0, "ones": 1.0}
CONSTANT_FACTORIES: dict[str, float] = {"zeros_init": 0.0, "ones_init": 1.0}
ORTHOGONAL = frozenset({"orthogonal", "delta_orthogonal"})

DEFAULT_DISPLAY = "Flax's default kernel_init, lecun_normal()"


def member(canonical_name: str) -> str | None:
    """`jax.nn.initializers.he_normal` → "he_normal"; None outside the initializer modules."""
    for module in MODULES:
        if canonical_name.startswith(module):
            name = canonical_name[len(module):]
            return None if "." in name else name
    return None


def family_name(family: Family, distribution: str) -> str:
    """The factory a fix writes: he_normal, glorot_uniform, lecun_normal."""
    return f"{family.prefix}_{'uniform' if distribution == 'uniform' else 'normal'}"
