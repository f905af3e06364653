"""The project's own modules, as another file of the project sees them.

An LSTM built by `build_lstm()` in `models.py` and compiled in `train.py` is one model, and
the file that compiles it is where its clipping is judged. A first-party import is looked up
as Python would find it for a script run from its directory or from the project's root:
relative imports from the importing file's package, absolute ones beside the importing file,
then under the configuration root. Nothing is imported or run: the module is parsed and its
model graph built, once per process for each content. Every module a check reads this way is
one of its dependencies (path and content hash), so that a cached result is used only while
they are unchanged.
"""

from __future__ import annotations

import ast
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradlint.graph.facts import Layer
    from gradlint.graph.model import ModuleGraph

_MAX_BYTES = 2_000_000  # a module larger than this is not read for another's sake
# The digest a dependency records for a file that was looked for and not found: creating it
# later must re-check the files that looked.
ABSENT = "absent"
# Per process: a file's content hash, kept while its size and modification time stay, so that
# a run with many readers of one module (and a warm run re-checking every cached result's
# dependencies) hashes each module once.
_DIGESTS: dict[str, tuple[int, int, str]] = {}
_MAX_DEPTH = 3  # models built in one module from another's functions, and so on


@dataclass
class Project:
    """Finds, parses and keeps the project's modules for the files checked in one process."""

    roots: tuple[Path, ...]
    _graphs: dict[tuple[str, str], ModuleGraph | None] = field(default_factory=dict)
    dependencies: dict[str, str] = field(default_factory=dict)  # path → sha256 of what was read
    depth: int = 0
    # What the current file's check already looked up: each import is located, and each module
    # read and hashed, once per checked file however often it is called.
    _located: dict[tuple[str, str, int], Path | None] = field(default_factory=dict)
    _read: dict[str, ModuleGraph | None] = field(default_factory=dict)

    def begin(self) -> None:
        """A new file is checked: start its list of dependencies afresh."""
        self.dependencies = {}
        self._located = {}
        self._read = {}

    def function(self, importer: str, module: str, level: int, name: str
                 ) -> tuple[ModuleGraph, ast.FunctionDef | ast.AsyncFunctionDef] | None:
        """The function `name` of the module an import names, with that module's graph."""
        if self.depth >= _MAX_DEPTH:
            return None
        path = self._located_once(importer, module, level)
        if path is None:
            for candidate in self.candidates(Path(importer), module, level):
                self.dependencies.setdefault(str(candidate), ABSENT)
            return None
        if str(path) not in self._read:
            self._read[str(path)] = self.graph(path)
        graph = self._read[str(path)]
        if graph is None:
            return None
        for binding in graph.scopes.module_scope.bindings.get(name, []):
            if isinstance(binding.node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and len(graph.scopes.module_scope.bindings[name]) == 1:
                return graph, binding.node
        return None

    def first_party(self, importer: str, module: str, level: int) -> bool:
        """Whether an import names one of the project's modules."""
        return self._located_once(importer, module, level) is not None

    def _located_once(self, importer: str, module: str, level: int) -> Path | None:
        """`locate`, once per checked file for each import."""
        key = (importer, module, level)
        if key not in self._located:
            self._located[key] = self.locate(Path(importer), module, level)
        return self._located[key]

    def graph_holding(self, layer: Layer) -> ModuleGraph | None:
        """The graph of the project's module (read for this file's sake) that built `layer`."""
        return next((g for g in self._graphs.values() if g is not None and id(layer.call) in g.catalog.by_call), None)

    def locate(self, importer: Path, module: str, level: int) -> Path | None:
        """The file of a first-party module, or None (a library, or not found)."""
        return next((c for c in self.candidates(importer, module, level) if c.is_file()), None)

    def candidates(self, importer: Path, module: str, level: int) -> list[Path]:
        """Where the module's file would be, in the order Python would find it."""
        parts = [p for p in module.split(".") if p]
        if level > 0:
            base = importer.resolve().parent
            for _ in range(level - 1):
                base = base.parent
            bases = [base]
        else:
            bases = [importer.resolve().parent, *self.roots]
        found = []
        for base in bases:
            stem = base.joinpath(*parts) if parts else base
            if parts:
                found.append(stem.with_suffix(".py"))
            found.append(stem / "__init__.py")
        return found

    def graph(self, path: Path) -> ModuleGraph | None:
        try:
            info = path.stat()
        except OSError:
            return None
        if info.st_size > _MAX_BYTES:
            return None
        known = _DIGESTS.get(str(path))
        if known is not None and known[:2] == (info.st_size, info.st_mtime_ns) \
                and (str(path), known[2]) in self._graphs:
            self.dependencies[str(path)] = known[2]
            return self._graphs[(str(path), known[2])]
        try:
            data = path.read_bytes()
        except OSError:
            return None
        digest = hashlib.sha256(data).hexdigest()
        _DIGESTS[str(path)] = (info.st_size, info.st_mtime_ns, digest)
        self.dependencies[str(path)] = digest
        key = (str(path), digest)
        if key not in self._graphs:
            self._graphs[key] = self._build(path, data)
        return self._graphs[key]

    def _build(self, path: Path, data: bytes) -> ModuleGraph | None:
        from gradlint.files import UnreadableFile, decode_source
        from gradlint.graph.model import build_graph
        from gradlint.graph.source import SourceText

        try:
            text, _ = decode_source(data)
            tree = ast.parse(text)
        except (UnreadableFile, SyntaxError, ValueError, RecursionError):
            return None
        self.depth += 1
        try:
            return build_graph(tree, SourceText(text), str(path), project=self)
        except RecursionError:
            return None
        finally:
            self.depth -= 1


def unchanged(dependencies: dict[str, str]) -> bool:
    """Every module a cached result read still has the content it read, and every one it
    looked for in vain is still missing."""
    for path, digest in dependencies.items():
        if digest == ABSENT:
            if os.path.isfile(path):
                return False
            continue
        if _digest(path) != digest:
            return False
    return True


def _digest(path: str) -> str | None:
    """The file's sha256, from the per-process memo while its size and mtime are unchanged."""
    try:
        info = os.stat(path)
        known = _DIGESTS.get(path)
        if known is not None and known[:2] == (info.st_size, info.st_mtime_ns):
            return known[2]
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None
    _DIGESTS[path] = (info.st_size, info.st_mtime_ns, digest)
    return digest
