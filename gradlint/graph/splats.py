"""Literal `**config` dicts: the keyword arguments a call receives from them.

`Conv2D(32, **conv_cfg)` with `conv_cfg = {"kernel_size": 3, "activation": "relu"}` (or
`dict(kernel_size=3, activation="relu")`) passes `kernel_size=3, activation="relu"`. A dict is
read only where its keys are certain: a literal with constant string keys, bound once, and
never used other than by `**` (an alias, a `cfg[...] = ...` or a `cfg.update(...)` could change
it). Python refuses a keyword given twice, so such a call is known to raise: it makes no layer.
"""

from __future__ import annotations

import ast
from typing import Any

from gradlint.graph.facts import ArgSource, SplatEntry
from gradlint.graph.scopes import Resolver, Scope

_MAX_DEPTH = 4  # `{**base, ...}` inside `{**other, ...}`: how deep a dict is followed


class _Outcome:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


OPAQUE: Any = _Outcome("OPAQUE")  # keys not knowable: any parameter may be among them
RAISES: Any = _Outcome("RAISES")  # a keyword given twice: the call raises TypeError


class SplatReader:
    """Expands the `**` arguments of calls, for one module."""

    def __init__(self, module: ast.Module, resolver: Resolver) -> None:
        self.module = module
        self.resolver = resolver
        self._uses: dict[str, tuple[int, bool]] | None = None  # name → (`**name` uses, other uses?)

    def source(self, call: ast.Call, scope: Scope, skip: int = 0, offset: int = 0) -> ArgSource | Any:
        """The call as an argument source, its literal dicts expanded; RAISES if Python would
        refuse its keywords."""
        if any(isinstance(a, ast.Starred) for a in call.args):
            return ArgSource(call, skip, offset, opaque=True)
        entries: list[SplatEntry] = []
        opaque = False
        for kw in call.keywords:
            if kw.arg is not None:
                continue
            found = self._expand(kw.value, scope, scope, editable=True, depth=0)
            if found is RAISES:
                return RAISES
            if found is OPAQUE:
                opaque = True
            else:
                entries.extend(found)
        names = [kw.arg for kw in call.keywords if kw.arg is not None] + [e.name for e in entries]
        if len(names) != len(set(names)):
            return RAISES
        return ArgSource(call, skip, offset, tuple(entries), opaque)

    # -- one `**` value -------------------------------------------------------------------------
    def _expand(self, expr: ast.expr, scope: Scope, use_scope: Scope, editable: bool, depth: int) -> list[SplatEntry] | Any:
        """The entries of a dict passed by `**`, seen from `use_scope` (where the layer's
        arguments are read); OPAQUE or RAISES."""
        if depth > _MAX_DEPTH:
            return OPAQUE
        if isinstance(expr, ast.Name):
            found = self.resolver.assigned_value(expr.id, scope)
            if found is None or not isinstance(found[0], (ast.Dict, ast.Call)):
                return OPAQUE
            uses, other = self._uses_of(expr.id)
            if other:
                return OPAQUE
            literal, where = found
            private = where.parent is not None or expr.id.startswith("_")
            return self._expand(literal, where, use_scope, editable and uses == 1 and private, depth + 1)  # type: ignore[arg-type]
        if isinstance(expr, ast.Dict):
            return self._dict_display(expr, scope, use_scope, editable, depth)
        if isinstance(expr, ast.Call) and self._is_dict_builtin(expr, scope):
            return self._dict_call(expr, scope, use_scope, editable, depth)
        return OPAQUE

    def _dict_display(self, node: ast.Dict, scope: Scope, use_scope: Scope, editable: bool, depth: int) -> list[SplatEntry] | Any:
        """`{"k": v, **base}`: a later key replaces an earlier one."""
        merged: dict[str, SplatEntry] = {}
        for key, value in zip(node.keys, node.values):
            if key is None:
                inner = self._expand(value, scope, use_scope, editable, depth + 1)
                if inner is OPAQUE or inner is RAISES:
                    return inner
                for entry in inner:
                    merged.pop(entry.name, None)
                    merged[entry.name] = entry
                continue
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)) or not self._same_meaning(value, scope, use_scope):
                return OPAQUE
            merged.pop(key.value, None)
            merged[key.value] = SplatEntry(key.value, value, node, editable)
        return list(merged.values())

    def _dict_call(self, node: ast.Call, scope: Scope, use_scope: Scope, editable: bool, depth: int) -> list[SplatEntry] | Any:
        """`dict(k=v, **base)`: a key given twice raises TypeError."""
        if node.args:
            return OPAQUE
        entries: list[SplatEntry] = []
        for kw in node.keywords:
            if kw.arg is None:
                inner = self._expand(kw.value, scope, use_scope, editable, depth + 1)
                if inner is OPAQUE or inner is RAISES:
                    return inner
                entries.extend(inner)
            elif self._same_meaning(kw.value, scope, use_scope):
                entries.append(SplatEntry(kw.arg, kw.value, node, editable))
            else:
                return OPAQUE
        names = [e.name for e in entries]
        return RAISES if len(names) != len(set(names)) else entries

    @staticmethod
    def _is_dict_builtin(call: ast.Call, scope: Scope) -> bool:
        return isinstance(call.func, ast.Name) and call.func.id == "dict" and scope.lookup("dict") is None

    @staticmethod
    def _same_meaning(value: ast.expr, scope: Scope, use_scope: Scope) -> bool:
        """Every name in a dict's value means the same where the layer's arguments are read
        (they are read in the layer's scope, the dict may be written in an outer one)."""
        if scope is use_scope:
            return True
        return all(use_scope.lookup(n.id) is scope.lookup(n.id)
                   for n in ast.walk(value) if isinstance(n, ast.Name))

    # -- how a dict's name is used ------------------------------------------------------------------
    def _uses_of(self, name: str) -> tuple[int, bool]:
        """(how many `**name` there are, whether the name is used any other way), anywhere in
        the module: counting every scope's `name` over-counts, which only makes us refuse."""
        if self._uses is None:
            self._uses = _name_uses(self.module)
        return self._uses.get(name, (0, False))


def _name_uses(module: ast.Module) -> dict[str, tuple[int, bool]]:
    splats: set[int] = set()
    targets: set[int] = set()
    names: list[ast.Name] = []
    for node in ast.walk(module):
        if isinstance(node, ast.Name):
            names.append(node)
        elif isinstance(node, ast.Call):
            splats.update(id(k.value) for k in node.keywords if k.arg is None)
        elif isinstance(node, ast.Dict):
            splats.update(id(v) for k, v in zip(node.keys, node.values) if k is None)
        elif isinstance(node, ast.Assign):
            targets.update(id(t) for t in node.targets)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets.add(id(node.target))
    uses: dict[str, tuple[int, bool]] = {}
    for name in names:
        count, other = uses.get(name.id, (0, False))
        if id(name) in splats:
            count += 1
        elif id(name) not in targets:
            other = True
        uses[name.id] = (count, other)
    return uses
