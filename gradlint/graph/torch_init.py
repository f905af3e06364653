"""How PyTorch code initializes its layers' weights, read statically.

Every Linear and convolution starts with PyTorch's default (kaiming_uniform_(a=√5)). What
replaces it, in the order __init__ runs:
- `nn.init.*_(self.fc.weight, …)` (the deprecated names without `_` too), and in-place tensor
  methods under `torch.no_grad()` (`self.fc.weight.normal_(0, 0.01)`, `.data.zero_()`);
- the same inside `for m in self.modules():` (or `.children()`, `.named_modules()`, a list
  of modules) and inside the function `self.apply(fn)` / `model.apply(fn)` calls, where
  `isinstance(m, nn.Conv2d)` (or `type(m) == …`) tests pick which layers a statement reaches;
- a method that does this, called from __init__ (`self._init_weights()`).
A statement that may or may not run for a layer (behind a test gradlint cannot decide) makes
its initializer unknown: the rules never guess.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradlint.graph.facts import InitializerFact, Layer
from gradlint.graph.module_walk import Instance
from gradlint.graph.scopes import Scope
from gradlint.graph.values import constant_value
from gradlint.keras_api.initializers import (
    InitializerSpec,
    InitKind,
    family_spec,
    initializer_spec,
    variance_scaling_family,
)
from gradlint.keras_api.scales import WeightScale
from gradlint.torch_api.initializers import (
    CALCULATE_GAIN,
    DEFAULT_DISPLAY,
    DEFAULT_SCALE,
    INIT_MODULE,
    INIT_PARAMS,
    NORMAL,
    TENSOR_METHODS,
    calculate_gain,
    kaiming_scale,
    truncated_normal_moments,
)
from gradlint.torch_api.layers import WEIGHT, torch_layer

if TYPE_CHECKING:
    from gradlint.graph.torch_model import TorchGraph

_MODULE_ITERATORS = frozenset({"modules", "children", "named_modules", "named_children"})
_DISPLAY_LIMIT = 70


def default_initializer() -> InitializerFact:
    """PyTorch's default for Linear and Conv*: Var(w) = 1/(3·fan_in), uniform."""
    spec = InitializerSpec(InitKind.VARIANCE_SCALING, class_name="kaiming_uniform_", string_name="kaiming_uniform_")
    return InitializerFact(None, None, None, spec, None, "uniform", DEFAULT_DISPLAY,
                           variance_scaling={"scale": DEFAULT_SCALE, "mode": "fan_in", "distribution": "uniform"},
                           no_family_default=True)


@dataclass(frozen=True)
class InitSite:
    """The statement that set a layer's initializer, and whether it serves that layer alone
    (a fix may rewrite it) or a loop over several."""

    call: ast.Call
    statement: ast.stmt | None
    alone: bool
    function: str  # the nn.init name it amounts to (kaiming_normal_, normal_, …)


@dataclass(eq=False)
class _Modules:
    """What a name in an initialization function may be: these layers (all of them, or one
    each turn of a loop); `sure` is False behind a test that cannot be decided."""

    layers: list[Layer]
    alone: bool
    sure: bool = True
    class_name_of: str | None = None  # `classname = m.__class__.__name__`: the name of m's class


class TorchInitializers:
    """Reads every initialization statement of the module and sets `Layer.initializer`."""

    def __init__(self, graph: TorchGraph) -> None:
        self.graph = graph
        self.sites: dict[int, InitSite] = {}  # id(layer call) → the statement that set it
        self._done: set[int] = set()

    def read(self) -> None:
        self._read_layer_classes()
        for cls in self.graph.classes.values():
            self._read_class(cls)
        self._read_function(self.graph.tree.body, self.graph.scopes.module_scope, None, {}, depth=0)
        # A model built in a function (`def build_model(): model = nn.Sequential(...)`) is
        # initialized there too: `model.apply(init)`, `for m in model.modules(): ...`.
        for function in self.graph.tree.body:
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                scope = self.graph.scopes.defs.get(id(function), self.graph.scopes.module_scope)
                self._read_function(function.body, scope, None, {}, depth=0)

    def _read_layer_classes(self) -> None:
        """A layer class's `reset_parameters` override initializes every instance (torch's
        own __init__ calls it): read with `self` standing for each instance."""
        graph = self.graph
        for layer in graph.layers:
            own = graph.layer_classes.get(layer.class_name)
            if own is None or layer.spec.initializer_param is None:
                continue
            method = next((n for n in own[1].body if isinstance(n, ast.FunctionDef) and n.name == "reset_parameters"), None)
            if method is None:
                continue
            scope = graph.scopes.defs.get(id(method), graph.scopes.module_scope)
            # The statement serves every instance: a fix may not rewrite it for one.
            self._read_function(method.body, scope, None, {"self": _Modules([layer], alone=False)}, depth=1)

    def _read_class(self, cls: ast.ClassDef) -> None:
        """A class's __init__, after those of the submodule classes it builds (they run first)."""
        if id(cls) in self._done:
            return
        self._done.add(id(cls))
        for value in self.graph.attrs.get(id(cls), {}).values():
            if isinstance(value, Instance):
                self._read_class(value.cls)
        init = self.graph.method(cls, "__init__")
        if init is None:
            return
        scope = self.graph.scopes.defs.get(id(init), self.graph.scopes.module_scope)
        self._read_function(init.body, scope, cls, {}, depth=0)

    # -- statements ----------------------------------------------------------------------------
    def _read_function(self, body: list[ast.stmt], scope: Scope, cls: ast.ClassDef | None,
                       names: dict[str, _Modules], depth: int, sure: bool = True) -> None:
        if depth > 4:
            return
        for statement in body:
            self._statement(statement, scope, cls, names, depth, sure)

    def _statement(self, node: ast.stmt, scope: Scope, cls: ast.ClassDef | None, names: dict[str, _Modules],
                   depth: int, sure: bool) -> None:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            self._call(node.value, node, scope, cls, names, depth, sure)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            of = _class_name_subject(node.value)
            if of is not None and of in names:
                modules = names[of]
                names[node.targets[0].id] = _Modules(modules.layers, modules.alone, modules.sure, class_name_of=of)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            self._read_function(node.body, scope, cls, names, depth, sure)
        elif isinstance(node, ast.For):
            self._loop(node, scope, cls, names, depth, sure)
        elif isinstance(node, ast.If):
            self._branch(node, scope, cls, names, depth, sure)
        elif isinstance(node, ast.Try):
            self._read_function(node.body, scope, cls, names, depth, False)

    def _loop(self, node: ast.For, scope: Scope, cls: ast.ClassDef | None, names: dict[str, _Modules],
              depth: int, sure: bool) -> None:
        layers = self._iterated(node.iter, scope, cls)
        target = node.target
        if isinstance(target, ast.Tuple) and len(target.elts) == 2 and isinstance(node.iter, ast.Call) \
                and isinstance(node.iter.func, ast.Attribute) and (node.iter.func.attr.startswith("named_") or node.iter.func.attr == "items"):
            target = target.elts[1]
        if layers is None or not isinstance(target, ast.Name):
            return
        inner = dict(names)
        inner[target.id] = _Modules(layers, alone=len(layers) == 1, sure=sure)
        self._read_function(node.body, scope, cls, inner, depth, sure)

    def _iterated(self, expr: ast.expr, scope: Scope, cls: ast.ClassDef | None) -> list[Layer] | None:
        """The layers `for m in <expr>` visits: self.modules() and the like, or a list of modules."""
        graph = self.graph
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _MODULE_ITERATORS:
            owner = expr.func.value
            if isinstance(owner, ast.Name) and owner.id == "self" and cls is not None:
                return self._class_layers(cls)
            return graph.all_layers(graph.module_value(owner, scope, cls))
        if isinstance(expr, (ast.List, ast.Tuple)):
            found: list[Layer] = []
            for element in expr.elts:
                found.extend(graph.all_layers(graph.module_value(element, scope, cls)))
            return found
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in ("values", "items"):
            expr = expr.func.value  # a ModuleDict's modules (an items() pair's module is taken below)
        value = graph.module_value(expr, scope, cls)
        return graph.all_layers(value) if value is not None else None

    def _class_layers(self, cls: ast.ClassDef) -> list[Layer]:
        return self.graph.all_layers(Instance(cls))

    def _branch(self, node: ast.If, scope: Scope, cls: ast.ClassDef | None, names: dict[str, _Modules],
                depth: int, sure: bool) -> None:
        split = self._isinstance_test(node.test, scope, names)
        if split is None:
            self._read_function(node.body, scope, cls, names, depth, False)
            self._read_function(node.orelse, scope, cls, names, depth, False)
            return
        name, classes, negated = split
        modules = names[name]
        torch_class = self.graph.torch_class
        hit = [l for l in modules.layers if l.class_name in classes or torch_class.get(id(l.call)) in classes]
        miss = [l for l in modules.layers if l not in hit]
        if negated:
            hit, miss = miss, hit
        for chosen, body in ((hit, node.body), (miss, node.orelse)):
            if body:
                inner = dict(names)
                inner[name] = _Modules(chosen, modules.alone, modules.sure)
                self._read_function(body, scope, cls, inner, depth, sure)

    def _isinstance_test(self, test: ast.expr, scope: Scope, names: dict[str, _Modules]) -> tuple[str, set[str], bool] | None:
        """`isinstance(m, nn.Conv2d)`, `isinstance(m, (nn.Linear, nn.Conv2d))`, `type(m) == nn.Linear`,
        `not isinstance(...)`: the name tested and the torch class names it picks."""
        negated = False
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, negated = test.operand, True
        by_name = self._class_name_test(test, names)
        if by_name is not None:
            return by_name[0], by_name[1], negated != by_name[2]
        subject: ast.expr | None = None
        kinds: ast.expr | None = None
        if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id == "isinstance" \
                and len(test.args) == 2:
            subject, kinds = test.args
        elif isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.Is)) \
                and isinstance(test.left, ast.Call) and isinstance(test.left.func, ast.Name) \
                and test.left.func.id == "type" and len(test.left.args) == 1:
            subject, kinds = test.left.args[0], test.comparators[0]
        if not isinstance(subject, ast.Name) or subject.id not in names or kinds is None:
            return None
        elements = kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]
        classes: set[str] = set()
        for element in elements:
            qualified = self.graph.resolver.qualified_name(element, scope)
            if qualified is None or torch_layer(qualified) is None and not qualified.startswith("torch.nn."):
                return None  # a class of the user's own: which layers it picks is not known
            classes.add(qualified.rsplit(".", 1)[1])
        return subject.id, classes, negated

    @staticmethod
    def _class_name_test(test: ast.expr, names: dict[str, _Modules]) -> tuple[str, set[str], bool] | None:
        """The DCGAN idiom: `classname.find("Conv") != -1`, `"Conv" in classname`,
        `classname.startswith("Conv")`, `classname == "Linear"`, where `classname` holds a
        module's class name: the module's name, the torch classes it picks, and negation."""
        def text(node: ast.expr) -> str | None:
            return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None

        def variable(node: ast.expr) -> _Modules | None:
            found = names.get(node.id) if isinstance(node, ast.Name) else None
            return found if found is not None and found.class_name_of is not None else None

        holder: _Modules | None = None
        match = None
        negated = False
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            op, right = test.ops[0], test.comparators[0]
            left = test.left
            if isinstance(left, ast.Call) and isinstance(left.func, ast.Attribute) and left.func.attr == "find" \
                    and len(left.args) == 1 and (part := text(left.args[0])) is not None \
                    and isinstance(right, (ast.Constant, ast.UnaryOp)):
                holder = variable(left.func.value)
                negative = isinstance(right, ast.UnaryOp) and isinstance(right.op, ast.USub) \
                    and isinstance(right.operand, ast.Constant)
                bound = right.operand.value if negative else None  # type: ignore[union-attr]
                if bound == 1 and isinstance(op, (ast.NotEq, ast.Gt)):
                    match = lambda name, part=part: part in name
                elif bound == 1 and isinstance(op, ast.Eq):
                    match, negated = (lambda name, part=part: part in name), True
            elif isinstance(op, (ast.In, ast.NotIn)) and (part := text(left)) is not None:
                holder = variable(right)
                match, negated = (lambda name, part=part: part in name), isinstance(op, ast.NotIn)
            elif isinstance(op, (ast.Eq, ast.NotEq)) and (whole := text(right)) is not None:
                holder = variable(left)
                match, negated = (lambda name, whole=whole: name == whole), isinstance(op, ast.NotEq)
        elif isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and test.func.attr == "startswith" \
                and len(test.args) == 1 and (prefix := text(test.args[0])) is not None:
            holder = variable(test.func.value)
            match = lambda name, prefix=prefix: name.startswith(prefix)
        if holder is None or match is None or holder.class_name_of is None:
            return None
        return holder.class_name_of, {l.class_name for l in holder.layers if match(l.class_name)}, negated

    def _call(self, call: ast.Call, statement: ast.stmt, scope: Scope, cls: ast.ClassDef | None,
              names: dict[str, _Modules], depth: int, sure: bool) -> None:
        graph = self.graph
        func = call.func
        # self.apply(fn) / model.apply(fn)
        if isinstance(func, ast.Attribute) and func.attr == "apply" and len(call.args) == 1:
            owner = func.value
            if isinstance(owner, ast.Name) and owner.id == "self" and cls is not None:
                layers = self._class_layers(cls)
            else:
                value = graph.module_value(owner, scope, cls)
                layers = graph.all_layers(value) if value is not None else []
            self._apply(call.args[0], scope, cls, layers, depth, sure)
            return
        # self._init_weights(): a method of the class run from __init__
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self" \
                and cls is not None and not call.args:
            method = graph.method(cls, func.attr)
            if method is not None:
                inner = graph.scopes.defs.get(id(method), scope)
                self._read_function(method.body, inner, cls, names, depth + 1, sure)
            return
        name = graph.resolver.qualified_name(func, scope) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if name is not None and name.startswith(INIT_MODULE):
            function = name[len(INIT_MODULE):]
            if function in INIT_PARAMS and call.args:
                self._init(call, statement, scope, cls, names, call.args[0], function, INIT_PARAMS[function], 1, sure)
            return
        if isinstance(func, ast.Attribute) and func.attr in TENSOR_METHODS:
            function, params = TENSOR_METHODS[func.attr]
            self._init(call, statement, scope, cls, names, func.value, function, params, 0, sure)

    def _apply(self, fn: ast.expr, scope: Scope, cls: ast.ClassDef | None, layers: list[Layer], depth: int,
               sure: bool) -> None:
        graph = self.graph
        function: ast.FunctionDef | None = None
        if isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name) and fn.value.id == "self" and cls is not None:
            function = graph.method(cls, fn.attr)
            params = function.args.args[1:] if function is not None else []
        else:
            found = graph.resolver.function_def(fn, scope)
            function = found if isinstance(found, ast.FunctionDef) else None
            params = function.args.args if function is not None else []
        if function is None or not params:
            for layer in layers:  # whatever it does to them is not known
                self._set(layer, None, None, sure=False)
            return
        inner = graph.scopes.defs.get(id(function), scope)
        names = {params[0].arg: _Modules(layers, alone=len(layers) == 1, sure=sure)}
        self._read_function(function.body, inner, cls, names, depth + 1, sure)

    # -- one initialization ------------------------------------------------------------------------
    def _init(self, call: ast.Call, statement: ast.stmt, scope: Scope, cls: ast.ClassDef | None,
              names: dict[str, _Modules], tensor: ast.expr, function: str,
              params: tuple[tuple[str, object], ...], skip: int, sure: bool) -> None:
        target = _weight_owner(tensor)
        if target is None:
            return  # a bias, or a tensor that is not a layer's weight
        if isinstance(target, ast.Name) and target.id in names:
            modules = names[target.id]
            layers, alone, sure = modules.layers, modules.alone, sure and modules.sure
        else:
            value = self.graph.module_value(target, scope, cls)
            layers = [value] if isinstance(value, Layer) else []
            alone = True
        if not layers:
            return
        values = self._arguments(call, scope, params, skip)
        fact = _fact(function, values, self._display(call), call)
        for layer in layers:
            self._set(layer, fact, InitSite(call, statement, alone, function), sure)

    def _set(self, layer: Layer, fact: InitializerFact | None, site: InitSite | None, sure: bool) -> None:
        if layer.spec.initializer_param is None:
            return
        layer.initializer = fact if sure else None
        if site is not None and sure:
            self.sites[id(layer.call)] = site
        else:
            self.sites.pop(id(layer.call), None)

    def _arguments(self, call: ast.Call, scope: Scope, params: tuple[tuple[str, object], ...], skip: int) -> dict[str, object]:
        values: dict[str, object] = {name: default for name, default in params}
        given: dict[str, ast.expr] = {}
        for (name, _), arg in zip(params, call.args[skip:]):
            given[name] = arg
        if len(call.args) - skip > len(params) or any(isinstance(a, ast.Starred) for a in call.args):
            return {"?": None}
        for keyword in call.keywords:
            if keyword.arg is None:
                return {"?": None}
            given[keyword.arg] = keyword.value
        for name, expr in given.items():
            values[name] = self._number(expr, scope)
        return values

    def _number(self, expr: ast.expr, scope: Scope, depth: int = 0) -> object:
        """A literal, or arithmetic on literals, `math.sqrt(…)` and `nn.init.calculate_gain(…)`."""
        value = constant_value(expr, scope, self.graph.resolver)
        if not _unknown(value) or depth > 6:
            return value
        if isinstance(expr, ast.BinOp):
            left, right = self._number(expr.left, scope, depth + 1), self._number(expr.right, scope, depth + 1)
            if _numeric(left) and _numeric(right):
                try:
                    return {ast.Mult: lambda: left * right, ast.Div: lambda: left / right,  # type: ignore[operator]
                            ast.Add: lambda: left + right, ast.Sub: lambda: left - right,  # type: ignore[operator]
                            ast.Pow: lambda: left ** right}.get(type(expr.op), lambda: value)()  # type: ignore[operator]
                except (ZeroDivisionError, OverflowError):
                    return value
        if isinstance(expr, ast.Call):
            name = self.graph.resolver.qualified_name(expr.func, scope) if isinstance(expr.func, (ast.Name, ast.Attribute)) else None
            args = [self._number(a, scope, depth + 1) for a in expr.args]
            if name in ("math.sqrt", "numpy.sqrt") and len(args) == 1 and _numeric(args[0]) and args[0] >= 0:  # type: ignore[operator]
                return math.sqrt(args[0])  # type: ignore[arg-type]
            if name == CALCULATE_GAIN and 1 <= len(args) <= 2:
                param = args[1] if len(args) == 2 else next(
                    (self._number(k.value, scope, depth + 1) for k in expr.keywords if k.arg == "param"), None)
                gain = calculate_gain(args[0], param)
                return value if gain is None else gain
        return value

    def _display(self, call: ast.Call) -> str:
        text = " ".join(self.graph.source.segment(call).split())
        return text if len(text) <= _DISPLAY_LIMIT else text[: _DISPLAY_LIMIT - 4] + " …)"


def _class_name_subject(value: ast.expr) -> str | None:
    """`m.__class__.__name__` or `type(m).__name__` → "m"."""
    if not (isinstance(value, ast.Attribute) and value.attr == "__name__"):
        return None
    inner = value.value
    if isinstance(inner, ast.Attribute) and inner.attr == "__class__" and isinstance(inner.value, ast.Name):
        return inner.value.id
    if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "type" \
            and len(inner.args) == 1 and isinstance(inner.args[0], ast.Name):
        return inner.args[0].id
    return None


def _weight_owner(tensor: ast.expr) -> ast.expr | None:
    """`self.fc.weight`, `m.weight.data` → the module expression (`self.fc`, `m`)."""
    if isinstance(tensor, ast.Attribute) and tensor.attr == "data":
        tensor = tensor.value
    if isinstance(tensor, ast.Attribute) and tensor.attr == WEIGHT:
        return tensor.value
    return None


def _unknown(value: object) -> bool:
    return not isinstance(value, (int, float, str, tuple, type(None), bool, dict))


def _numeric(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fact(function: str, values: dict[str, object], display: str, call: ast.Call) -> InitializerFact | None:
    """The initializer an nn.init call amounts to; None where its values are not known."""
    if "?" in values:
        return None
    name = function if function.endswith("_") else function + "_"
    distribution = "normal" if name in NORMAL else "uniform"

    def made(spec: InitializerSpec | None, **kw: object) -> InitializerFact | None:
        if spec is None:
            return None
        return InitializerFact(call, None, None, spec, kw.pop("family", None), distribution, display, **kw)  # type: ignore[arg-type]

    if name in ("kaiming_normal_", "kaiming_uniform_", "xavier_normal_", "xavier_uniform_"):
        if name.startswith("kaiming"):
            scale, mode = kaiming_scale(values.get("a"), values.get("nonlinearity")), values.get("mode")
        else:
            gain = values.get("gain")
            scale, mode = (gain * gain if _numeric(gain) else None), "fan_avg"  # type: ignore[operator]
        if scale is None or mode not in ("fan_in", "fan_out", "fan_avg"):
            return None
        family = variance_scaling_family(scale, mode)
        if family is not None:
            return made(family_spec(family, distribution), family=family)
        spec = initializer_spec("variance_scaling")
        return made(spec, variance_scaling={"scale": scale, "mode": mode, "distribution": distribution},
                    no_family_default=abs(scale - DEFAULT_SCALE) < 1e-9 and mode == "fan_in")
    if name == "orthogonal_":  # (its gain, 1 by default, scales every singular value)
        gain = values.get("gain")
        return made(initializer_spec("orthogonal"), variance_scaling={"gain": float(gain)}) \
            if _numeric(gain) and isinstance(gain, (int, float)) else None
    if name in ("eye_", "dirac_"):
        return made(initializer_spec("identity"))
    if name == "normal_":
        mean, std = values.get("mean"), values.get("std")
        if not (_numeric(mean) and _numeric(std)):
            return None
        return made(initializer_spec("random_normal"), weight_scale=WeightScale("RandomNormal", float(mean), float(std) ** 2))  # type: ignore[arg-type]
    if name == "trunc_normal_":
        mean, std, low, high = (values.get(k) for k in ("mean", "std", "a", "b"))
        if not all(_numeric(v) for v in (mean, std, low, high)):
            return None
        moments = truncated_normal_moments(float(mean), float(std), float(low), float(high))  # type: ignore[arg-type]
        if moments is None:
            return None
        return made(initializer_spec("truncated_normal"), weight_scale=WeightScale("TruncatedNormal", *moments))
    if name == "uniform_":
        low, high = values.get("a", values.get("from")), values.get("b", values.get("to"))
        if not (_numeric(low) and _numeric(high)):
            return None
        return made(initializer_spec("random_uniform"),
                    weight_scale=WeightScale("RandomUniform", (low + high) / 2, (high - low) ** 2 / 12))  # type: ignore[operator]
    if name in ("zeros_", "ones_", "constant_"):
        value = {"zeros_": 0.0, "ones_": 1.0}.get(name, values.get("val", values.get("value")))
        if not _numeric(value):
            return None
        class_name = {"zeros_": "Zeros", "ones_": "Ones"}.get(name, "Constant")
        return made(initializer_spec(class_name.lower()), weight_scale=WeightScale(class_name, float(value), 0.0))  # type: ignore[arg-type]
    return None
