"""Canonical names: every spelling of a Keras object is reduced to `keras.<module>.<Name>`.

`tf.keras.layers.Dense`, `tensorflow.python.keras.layers.core.Dense`, `tf_keras.layers.Dense`
and `keras.src.layers.core.dense.Dense` all denote one class; rules compare canonical names only.
"""

from __future__ import annotations

# Longest prefixes first: the first match wins.
_KERAS_ROOTS = (
    "tensorflow.compat.v1.keras.",
    "tensorflow.compat.v2.keras.",
    "tensorflow.python.keras.",
    "tensorflow.keras.",
    "tf_keras.src.",
    "tf_keras.",
    "keras.src.",
    "keras.api._v2.keras.",
    "keras.api.",
    "keras._tf_keras.keras.",
    "keras.",
)
# Sub-packages whose members we name by their last component only.
_KERAS_SUBMODULES = frozenset(
    {"layers", "activations", "initializers", "optimizers", "models", "ops", "regularizers",
     "losses", "callbacks", "utils", "mixed_precision", "constraints"}
)
# TensorFlow names that stand for Keras ones.
_TF_ALIASES = {
    "tensorflow.initializers.": "keras.initializers.",
    "tensorflow.compat.v1.initializers.": "keras.initializers.",
    "tensorflow.optimizers.": "keras.optimizers.",
}


def canonical(qualified: str) -> str:
    """Reduce a dotted import path to the canonical spelling used by the tables.

    Non-Keras paths (e.g. `tensorflow.nn.relu`, `torch.nn.Linear`) come back unchanged.
    """
    for prefix, target in _TF_ALIASES.items():
        if qualified.startswith(prefix):
            qualified = target + qualified[len(prefix):]
            break
    for root in _KERAS_ROOTS:
        if qualified.startswith(root):
            rest = qualified[len(root):].split(".")
            break
    else:
        if qualified == "keras" or qualified == "tensorflow.keras" or qualified == "tf_keras":
            return "keras"
        return qualified
    if len(rest) == 1:
        return "keras." + rest[0]
    if rest[0] in _KERAS_SUBMODULES:
        # keras.optimizers.legacy.Adam, keras.src.layers.core.dense.Dense → last component.
        return f"keras.{rest[0]}.{rest[-1]}"
    return "keras." + ".".join(rest)


def is_keras_module(qualified: str) -> bool:
    """True for the Keras package itself or one of its sub-packages (things with members)."""
    c = canonical(qualified)
    return c == "keras" or (c.startswith("keras.") and c.split(".")[1] in _KERAS_SUBMODULES and c.count(".") == 1)
