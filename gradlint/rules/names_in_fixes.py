"""Which Keras a fix names: the one the file already writes its Keras objects with.

A file may bind several Keras namespaces at once: `import tensorflow as tf` for `tf.data`
beside `import tf_keras` for a hub layer, or `import keras` beside `tf.keras.layers`. Any of
them resolves to `keras.optimizers.Nadam`, but they are not interchangeable: `tf_keras` is a
library of its own (Keras 2 where `tf.keras` is Keras 3), and a model built with one cannot
be compiled with the other's optimizer. A class call a fix adds is therefore written with
the namespace of the file's own calls of the same kind (optimizers), else of its other Keras
calls (layers, models), and the rules rank the names they could use by it.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator

from gradlint.graph.model import ModuleGraph
from gradlint.graph.scopes import Scope
from gradlint.keras_api.names import canonical

_PROBE = "_"  # any attribute name: `<root>._` is canonical `keras._` exactly when <root> is Keras' root

# Module paths that are copies of Keras of their own, not another door into the `keras`
# package: `tensorflow.keras` loads `keras` (Keras 2 up to TF 2.15, Keras 3 from 2.16), while
# `tf_keras` is the separate Keras 2 package and `tensorflow.python.keras` TF's old internal copy.
_SEPARATE_LIBRARIES = frozenset({"tf_keras", "tensorflow.python.keras"})


def keras_root(path: str) -> str | None:
    """The module path a dotted import path reaches Keras through:
    `tensorflow.keras.layers.LSTM` → "tensorflow.keras", `tf_keras.optimizers` → "tf_keras",
    `keras.src.layers.Dense` → "keras"; None for a path outside Keras."""
    parts = path.split(".")
    for end in range(1, len(parts) + 1):
        root = ".".join(parts[:end])
        if canonical(f"{root}.{_PROBE}") == f"keras.{_PROBE}":
            return root
    return None


def library(root: str) -> str:
    """The installed package behind a Keras root: "keras" for every door into it."""
    return root if root in _SEPARATE_LIBRARIES else "keras"


def spelled_root(graph: ModuleGraph, expr: ast.AST, scope: Scope) -> str | None:
    """The Keras root an expression is written through, following the file's imports and
    aliases: `tf.keras.optimizers.Adam` (with `import tensorflow as tf`) → "tensorflow.keras"."""
    path = graph.resolver.dotted_name(expr, scope)
    return keras_root(path) if path else None


def keras_root_in_use(graph: ModuleGraph, kind: str) -> str | None:
    """The Keras root of the file's own calls of Keras `kind` ("optimizers", "layers"), else of
    all its calls of Keras classes and functions; the most used, the first written on a tie.
    None when the file calls nothing of Keras."""
    same_kind: Counter[str] = Counter()
    any_kind: Counter[str] = Counter()
    for root, called_kind in _keras_calls(graph):
        any_kind[root] += 1
        if called_kind == kind:
            same_kind[root] += 1
    for counts in (same_kind, any_kind):
        if counts:
            return counts.most_common(1)[0][0]  # Counter keeps first-seen order among equals
    return None


def _keras_calls(graph: ModuleGraph) -> Iterator[tuple[str, str]]:
    """(root, kind) of every call of something Keras in the module, in source order: kind is the
    sub-package (`layers` for `tf.keras.layers.LSTM(…)`), "" for `keras.Sequential(…)`."""
    for call in graph.scopes.calls:
        path = graph.resolver.dotted_name(call.func, graph.scopes.scope_of(call))
        root = keras_root(path) if path else None
        if root is None:
            continue
        name = canonical(path).split(".")  # type: ignore[arg-type]
        yield root, name[1] if len(name) > 2 else ""


SAME_ROOT, SAME_LIBRARY, OTHER_LIBRARY = 0, 1, 2


def namespace_rank(graph: ModuleGraph, text: str, scope: Scope, preferred: str | None) -> int:
    """How well a name a fix could write (`tf_keras.optimizers.Nadam`) fits the Keras root the
    file uses (`preferred`): SAME_ROOT, SAME_LIBRARY (`keras` where the file writes
    `tf.keras`), or OTHER_LIBRARY, which would mix two Keras in one model."""
    if preferred is None:
        return SAME_ROOT
    try:
        expr = ast.parse(text, mode="eval").body
    except SyntaxError:
        return OTHER_LIBRARY
    root = spelled_root(graph, expr, scope)
    if root == preferred:
        return SAME_ROOT
    if root is None or library(root) == library(preferred):
        return SAME_LIBRARY
    return OTHER_LIBRARY
