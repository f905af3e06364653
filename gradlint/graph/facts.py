"""The facts the model graph establishes about one layer, as plain values rules can read."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from gradlint.graph.scopes import Scope
from gradlint.keras_api.activations import LINEAR, Family
from gradlint.keras_api.initializers import InitializerSpec
from gradlint.keras_api.layers import LayerSpec, Wrapping
from gradlint.keras_api.scales import WeightScale


@dataclass(frozen=True)
class ActivationFact:
    """The activation a layer's output meets, and where that was learned.

    `source` is "argument" (its own activation=), "layer" (an activation layer or function
    applied to its output), or "output"/"weighted" (the output goes out of the model or into
    another weighted layer, so the layer is linear). An argument that is a parameter of the
    enclosing function, known from every call of it, names the parameter and the calls' lines.
    """

    name: str
    source: str
    node: ast.AST | None = None
    parameter: str | None = None
    call_lines: tuple[int, ...] = ()
    # Met on the main path of a layer whose output is also added back on a residual shortcut.
    shortcut: bool = False
    slope: float | None = None  # a leaky slope the activation is given (PyTorch's LeakyReLU(0.1))

    @property
    def is_linear(self) -> bool:
        return self.name == LINEAR


@dataclass(frozen=True)
class InitializerFact:
    """A layer's initializer argument, resolved as far as it statically can be."""

    expr: ast.expr | None  # the argument as written; None when absent (Keras default)
    resolved: ast.AST | None  # what it denotes after following a variable: str, call or dict
    resolved_scope: Scope | None
    spec: InitializerSpec | None  # None: unknown or custom
    family: Family | None  # the family it realises, if any
    distribution: str | None
    display: str  # how the message names it
    via_variable: bool = False
    variance_scaling: dict[str, Any] = field(default_factory=dict)
    # The weights' distribution where a framework's table gives it directly (PyTorch's
    # nn.init.normal_(w, std=…)) rather than Keras arguments to read.
    weight_scale: WeightScale | None = None
    # A default that realises no family (PyTorch's kaiming_uniform_(a=√5), a gain of 1/3): it
    # fits no activation, so GL101 judges it against the family the activation wants.
    no_family_default: bool = False
    # Families a framework's default is taken to fit besides its own (Flax's lecun_normal has
    # Glorot's gain at equal widths, under tanh or at a linear output): GL101 asks no change.
    default_also_fits: tuple[Family, ...] = ()

    @property
    def is_default(self) -> bool:
        return self.expr is None


@dataclass(frozen=True)
class SplatEntry:
    """One key of a literal dict that a call passes as `**config`: a keyword argument."""

    name: str
    value: ast.expr
    literal: ast.expr  # the `{...}` or `dict(...)` the entry is written in
    editable: bool  # the dict serves this call alone: a fix may rewrite the entry in place


@dataclass(eq=False)
class ArgSource:
    """One call that supplies arguments to a layer: the constructor itself, or the
    `functools.partial(...)` that fixed some of them. The call's positional arguments from
    `skip` on stand for the layer's parameters from `offset` on; `splatted` holds the keyword
    arguments its `**config` dicts supply, where they are literals. `opaque`: a `*args` or a
    `**mapping` whose keys cannot be known, so any parameter may be among them."""

    call: ast.Call
    skip: int = 0
    offset: int = 0
    splatted: tuple[SplatEntry, ...] = ()
    opaque: bool = False

    @property
    def positional(self) -> list[ast.expr]:
        return self.call.args[self.skip:]

    def keyword(self, name: str) -> ast.expr | None:
        """The value passed for `name` by keyword, written in the call or in one of its dicts
        (Python refuses a keyword given twice, so there is at most one)."""
        for kw in self.call.keywords:
            if kw.arg == name:
                return kw.value
        return next((e.value for e in self.splatted if e.name == name), None)

    def keyword_names(self) -> list[str]:
        return [kw.arg for kw in self.call.keywords if kw.arg is not None] + [e.name for e in self.splatted]

    def entry_of(self, expr: ast.AST) -> SplatEntry | None:
        """The dict entry `expr` is the value of, if it comes from a `**config` dict."""
        return next((e for e in self.splatted if e.value is expr), None)


@dataclass(frozen=True)
class WrapperFact:
    """A wrapper a layer is applied through: `TimeDistributed(Dense(...))`."""

    call: ast.Call
    class_name: str
    wrapping: Wrapping


@dataclass(eq=False)
class Layer:
    """One Keras layer written in the source: a constructor call (or a partial that makes it).

    `home` is the call where a finding about its initializer is reported and fixed.
    """

    call: ast.Call
    class_name: str
    spec: LayerSpec
    scope: Scope
    sources: list[ArgSource]  # later sources override earlier ones (partial, then call)
    partial: ast.Call | None = None
    activation_arg: ActivationFact | None = None  # explicit, non-linear; None if absent/linear
    activation_unknown: bool = False  # given, but not knowable statically
    # Why the layer cannot be judged, when it cannot: a key of gradlint.coverage.REASONS and
    # the particular (the parameter, the expression), for --statistics and --explain-unknown.
    unknown_reason: tuple[str, str] | None = None
    initializer: InitializerFact | None = None  # None: not a judged parameter, or unknown
    initializer_home: ast.Call | None = None  # call whose arguments hold (or would hold) it
    # The `**config` dict entry that holds it, when it comes from one (a fix edits the entry
    # only where the dict serves this layer alone).
    initializer_entry: SplatEntry | None = None
    following: ActivationFact | None = None  # set by the graph from the layer's context
    is_template: bool = False  # a partial(...) itself, judged for its own explicit arguments
    fan_in: int | None = None  # set by graph/shapes.py where the input shape is visible
    fan_out: int | None = None
    # Every fan-in a layer applied more than once (in a loop) sees, when they differ.
    fan_in_choices: tuple[int, ...] = ()
    # The wrappers it is applied through, innermost first. The graph sees the layer where its
    # outermost wrapper is used: `TimeDistributed(Dense(...))(x)` applies this Dense.
    wrappers: tuple[WrapperFact, ...] = ()

    @property
    def time_axes(self) -> int:
        """Leading axes a TimeDistributed wrapper adds around the layer's own input."""
        return sum(1 for w in self.wrappers if w.wrapping is Wrapping.TIME)

    def argument(self, name: str) -> tuple[ast.expr, ArgSource] | None:
        """The expression passed for a parameter, by keyword or position, last source wins."""
        found = None
        for source in self.sources:
            value = source.keyword(name)
            if value is not None:
                found = (value, source)
            if name in self.spec.positional:
                index = self.spec.positional.index(name) - source.offset
                args = source.positional
                if 0 <= index < len(args) and not any(isinstance(a, ast.Starred) for a in args[: index + 1]):
                    found = (args[index], source)
        return found

    @property
    def activation(self) -> ActivationFact | None:
        """What GL101 and friends judge: the explicit activation, else what follows."""
        if self.activation_unknown:
            return None
        return self.activation_arg or self.following
