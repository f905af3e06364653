"""What the user asks to probe, and turning it into a live Keras model.

A target is `path/to/model.py:build_model`, `package.module:build_model` (a function called with
no arguments that returns a model) or a saved `model.keras` / `model.h5`. Loading runs the
user's code; every way that can fail becomes a ProbeError that names the target.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import os
import re
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradlint.runtime.backend import Backend
from gradlint.runtime.errors import ProbeError, reason
from gradlint.runtime.torch_backend import is_torch_module

TORCH_SAVED_SUFFIXES = (".pt", ".pth")  # loaded in runtime/torch_session.py
SAVED_SUFFIXES = (".keras", ".h5", ".hdf5", *TORCH_SAVED_SUFFIXES)
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class Target:
    """A parsed target string."""

    spec: str  # as the user wrote it
    kind: str  # "file" | "module" | "saved"
    location: str  # file path (file, saved) or dotted module name (module)
    factory: str | None = None  # attribute path of the factory function

    @property
    def has_source(self) -> bool:
        return self.kind in ("file", "module")


@dataclass
class LoadedModel:
    """A built model and where it came from (for diagnostics and the static cross-reference)."""

    model: Any
    filename: str  # what findings are filed under
    source: str | None = None  # the module source the model was built from
    source_path: Path | None = None
    factory_line: int | None = None


def parse_target(spec: str) -> Target:
    """Classify a target string without touching the file system beyond suffix checks."""
    text = spec.strip()
    if not text:
        raise ProbeError("empty target; expected path/to/model.py:build_model, package.module:build_model or model.keras")
    if text.lower().endswith(SAVED_SUFFIXES):
        return Target(spec, "saved", text)
    if ":" in text:
        left, _, factory = text.rpartition(":")
        if not _DOTTED.match(factory):
            raise ProbeError(f"{spec}: '{factory}' is not a function name")
        if left.endswith(".py") or "/" in left or os.sep in left:
            return Target(spec, "file", left, factory)
        if _DOTTED.match(left):
            return Target(spec, "module", left, factory)
        raise ProbeError(f"{spec}: '{left}' is neither a .py file nor a dotted module name")
    if text.endswith(".py"):
        raise ProbeError(f"{spec}: name the function that builds the model, e.g. {text}:build_model")
    if Path(text).is_dir():
        raise ProbeError(
            f"{spec}: is a directory; Keras 3 loads .keras and .h5 files (a TensorFlow SavedModel "
            f"has to be re-saved as .keras)"
        )
    raise ProbeError(
        f"{spec}: not a target; expected path/to/model.py:build_model, package.module:build_model, "
        f"model.keras or model.h5"
    )


def source_of(target: Target) -> tuple[Path, str]:
    """The file and text of a source target's module, without running it."""
    if target.kind == "file":
        path = Path(target.location)
    elif target.kind == "module":
        with _on_sys_path(Path.cwd()):
            try:
                spec = importlib.util.find_spec(target.location)
            except (ImportError, ValueError) as exc:
                raise ProbeError(f"{target.spec}: cannot find module '{target.location}': {exc}") from exc
        if spec is None or not spec.origin or not spec.has_location:
            raise ProbeError(f"{target.spec}: cannot find the source of module '{target.location}'")
        path = Path(spec.origin)
    else:
        raise ProbeError(f"{target.spec}: a saved model has no source code")
    if not path.is_file():
        raise ProbeError(f"{target.spec}: file not found: {path}")
    try:
        return path, path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProbeError(f"{target.spec}: cannot read {path}: {exc}") from exc


def load_model(target: Target, backend: Backend, *, source: str | None = None) -> LoadedModel:
    """Build the target's model. `source` replaces the module's text (used by --confirm)."""
    if target.kind == "saved":
        return _load_saved(target, backend)
    return built_by_factory(target, lambda factory: _call_factory(target, factory, backend), source=source)


def built_by_factory(target: Target, call: Callable[[Any], Any], *, source: str | None = None) -> LoadedModel:
    """Run a file or module target's code and hand its factory to `call` (which builds and
    checks the model, as Keras or torch wants it); `source` replaces the module's text."""
    if target.kind == "file" or source is not None:
        path, original = source_of(target)
        text = original if source is None else source
        module_name = _module_name_for(target, path)
        with _fresh_module(module_name):
            module = _exec_module(target, module_name, path, text)
            factory = _resolve_factory(target, module)
            model = call(factory)
        filename = target.location if target.kind == "file" else _display_path(path)
        return LoadedModel(model, filename, text, path, _first_line(factory))
    # A module target, imported the ordinary way.
    with _on_sys_path(Path.cwd()):
        module = _import(target)
        factory = _resolve_factory(target, module)
        model = call(factory)
    module_file: str | None = getattr(module, "__file__", None)
    module_path = Path(module_file) if module_file else None
    module_text: str | None = None
    if module_path is not None and module_path.suffix == ".py":
        with contextlib.suppress(OSError, UnicodeDecodeError):
            module_text = module_path.read_text(encoding="utf-8")
    filename = _display_path(module_path) if module_path is not None else target.spec
    return LoadedModel(model, filename, module_text, module_path, _first_line(factory))


# --- helpers ---------------------------------------------------------------------------------


def _display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _module_name_for(target: Target, path: Path) -> str:
    """The module's own name: its dotted name, or the file's stem if that is free."""
    if target.kind == "module":
        return target.location
    stem = re.sub(r"\W", "_", path.stem) or "model"
    if stem[0].isdigit():
        stem = "_" + stem
    existing = sys.modules.get(stem)
    existing_file = getattr(existing, "__file__", None)
    if existing is None or (existing_file and Path(existing_file).resolve() == path.resolve()):
        return stem
    return f"gradlint_target_{stem}"


@contextlib.contextmanager
def _on_sys_path(folder: Path) -> Iterator[None]:
    entry = str(folder)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)


@contextlib.contextmanager
def _fresh_module(name: str) -> Iterator[None]:
    """Let the target's module own `name` while it runs, then put back what was there."""
    missing = object()
    previous = sys.modules.get(name, missing)
    try:
        yield
    finally:
        if previous is missing:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous  # type: ignore[assignment]


def _exec_module(target: Target, name: str, path: Path, text: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.__spec__ = spec
    module.__loader__ = spec.loader if spec else None
    module.__package__ = name.rpartition(".")[0] if target.kind == "module" else ""
    try:
        code = compile(text, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise ProbeError(f"{target.spec}: syntax error at line {exc.lineno}: {exc.msg}") from exc
    sys.modules[name] = module
    folder = path.parent if target.kind == "file" else Path.cwd()
    with _on_sys_path(folder):
        try:
            exec(code, module.__dict__)
        except Exception as exc:
            raise ProbeError(f"{target.spec}: importing {path} failed: {reason(exc)}") from exc
    return module


def _import(target: Target) -> types.ModuleType:
    try:
        return importlib.import_module(target.location)
    except ModuleNotFoundError as exc:
        if exc.name and target.location.startswith(exc.name):
            raise ProbeError(f"{target.spec}: no module named '{target.location}'") from exc
        raise ProbeError(f"{target.spec}: importing {target.location} failed: ModuleNotFoundError: {exc}") from exc
    except SyntaxError as exc:
        raise ProbeError(
            f"{target.spec}: syntax error in {exc.filename} at line {exc.lineno}: {exc.msg}"
        ) from exc
    except Exception as exc:
        raise ProbeError(f"{target.spec}: importing {target.location} failed: {reason(exc)}") from exc


def _resolve_factory(target: Target, module: types.ModuleType) -> Any:
    assert target.factory is not None
    obj: Any = module
    for part in target.factory.split("."):
        if not hasattr(obj, part):
            functions = sorted(
                n for n, v in vars(module).items()
                if inspect.isfunction(v) and getattr(v, "__module__", None) == module.__name__
                and not n.startswith("_")
            )
            known = f"; functions defined there: {', '.join(functions)}" if functions else ""
            raise ProbeError(f"{target.spec}: {target.location} has no attribute '{target.factory}'{known}")
        obj = getattr(obj, part)
    if not callable(obj):
        kind = type(obj).__name__
        article = "an" if kind[:1].lower() in "aeiou" else "a"
        raise ProbeError(f"{target.spec}: '{target.factory}' is {article} {kind}, not a function")
    return obj


def called(target: Target, factory: Any) -> Any:
    """What the factory returns; what it raises, as the ProbeError that says so."""
    try:
        return factory()
    except Exception as exc:
        raise ProbeError(
            f"{target.spec}: calling {target.factory}() raised {reason(exc)}"
            + ("; the factory is called with no arguments" if isinstance(exc, TypeError) else "")
        ) from exc


def _call_factory(target: Target, factory: Any, backend: Backend) -> Any:
    keras = backend.keras
    result = called(target, factory)
    if isinstance(result, keras.Model) or is_torch_module(result):  # (torch: runtime/torch_session.py)
        return result
    if isinstance(result, keras.layers.Layer):
        what = f"a {type(result).__name__} layer"
    elif type(result).__module__.split(".")[0] == "tf_keras":
        what = f"a legacy tf_keras {type(result).__name__} (only Keras 3 models can be probed)"
    else:
        what = "None" if result is None else f"a {type(result).__name__}"
    raise ProbeError(f"{target.spec}: {target.factory}() returned {what}, not a Keras model")


def _load_saved(target: Target, backend: Backend) -> LoadedModel:
    path = Path(target.location)
    if not path.exists():
        raise ProbeError(f"{target.spec}: file not found")
    try:
        model = backend.keras.models.load_model(path)
    except Exception as exc:
        raise ProbeError(f"{target.spec}: cannot load the saved model: {reason(exc)}") from exc
    if not isinstance(model, backend.keras.Model):
        raise ProbeError(f"{target.spec}: the file holds a {type(model).__name__}, not a Keras model")
    return LoadedModel(model, target.location)


def _first_line(factory: Any) -> int | None:
    code = getattr(inspect.unwrap(factory), "__code__", None)
    return code.co_firstlineno if code is not None else None
