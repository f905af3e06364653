"""One PyTorch target from string to judged report: import torch, build, probe, judge, explain.

`runtime/session.py` hands a target here when it is a PyTorch one, before TensorFlow is
imported: a file whose imports name torch and neither Keras nor TensorFlow (or any source
target when TensorFlow is not installed and torch is). A target that imports both is built on
the Keras path, and handed here if what it returns is a `torch.nn.Module` (built again, seeded
for torch). Either way the
framework is the returned object's: a torch module is probed here, anything else is an error
naming what came back.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from gradlint.diagnostics import Diagnostic, Position
from gradlint.errors import GradlintError
from gradlint.runtime import explain
from gradlint.runtime.backend import quiet_python_warnings, stdout_to_stderr
from gradlint.runtime.errors import ProbeError, reason
from gradlint.runtime.origins import Origins
from gradlint.runtime.progress import NoProgress, Progress
from gradlint.runtime.results import ProbeReport
from gradlint.runtime.settings import ProbeOptions
from gradlint.runtime.targets import (
    TORCH_SAVED_SUFFIXES,
    LoadedModel,
    Target,
    built_by_factory,
    called,
    source_of,
)
from gradlint.runtime.torch_backend import is_torch_module, load_torch
from gradlint.runtime.verdicts import judge

TORCH_ROOTS = frozenset({"torch", "torchvision", "torchaudio", "torchtext", "timm", "lightning", "pytorch_lightning"})
KERAS_ROOTS = frozenset({"keras", "tensorflow", "tf_keras"})


def is_torch_target(target: Target) -> bool:
    """Whether to probe `target` with torch without importing TensorFlow first."""
    if target.kind == "saved":
        return target.location.lower().endswith(TORCH_SAVED_SUFFIXES)
    try:
        _, text = source_of(target)
    except GradlintError:
        return False  # the Keras path reports it as it always has
    roots = imported_roots(text)
    if roots & KERAS_ROOTS:
        return False
    if roots & TORCH_ROOTS:
        return True
    return importlib.util.find_spec("tensorflow") is None and importlib.util.find_spec("torch") is not None


def imported_roots(text: str) -> set[str]:
    """The top-level packages a module's imports name, anywhere in it (empty if it does not parse)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set()
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def probe_torch(target: Target, options: ProbeOptions, *, progress: Progress | None = None,
                source: str | None = None) -> ProbeReport:
    """Probe one PyTorch target and judge it. `source` replaces the module's text (--confirm).

    torch's global seed is `options.seed` while the model is built, so the same code gets the
    same initial weights. Raises ProbeError (naming the target) or RuntimeMissing.
    """
    from gradlint.runtime.torch_probe import probe_module

    progress = progress or NoProgress()
    spec = target.spec
    started = time.perf_counter()
    if "torch" not in sys.modules:
        progress.step("loading torch")
    torch = load_torch()
    imported = time.perf_counter()
    with quiet_python_warnings(not options.verbose), stdout_to_stderr():
        progress.step(f"building {spec}")
        try:
            with torch.random.fork_rng(devices=[]), _recording(torch) as origins:
                torch.manual_seed(options.seed)
                loaded = load_torch_model(target, source=source)
        except GradlintError:
            raise
        except Exception as exc:
            raise ProbeError(f"{spec}: building the model failed: {reason(exc)}") from exc
        built = time.perf_counter()
        try:
            report = probe_module(loaded.model, options, target=spec, filename=loaded.filename, progress=progress)
        except ProbeError as exc:
            raise ProbeError(f"{spec}: {exc}") from exc.__cause__
        except Exception as exc:
            raise ProbeError(f"{spec}: probing failed: {reason(exc)}") from exc
    report = _with_rows(report, origins, loaded)
    static: list[Diagnostic] = []
    if options.explain and loaded.source is not None:
        static = explain.static_findings(loaded.source, loaded.filename)
    location = Position(loaded.factory_line or 1, 1)
    findings = judge(report, options, location=location, static=static)
    timings = {"import": imported - started, "build": built - imported, **report.timings}
    return replace(report, findings=tuple(findings), timings=timings)


def load_torch_model(target: Target, *, source: str | None = None) -> LoadedModel:
    """Run the target's module and call its factory; the result must be a torch.nn.Module."""
    if target.kind == "saved":
        return _load_saved(target)
    return built_by_factory(target, lambda factory: _call(target, factory), source=source)


def _call(target: Target, factory: Any) -> Any:
    result = called(target, factory)
    if is_torch_module(result):
        return result
    raise ProbeError(f"{target.spec}: {target.factory}() returned {returned(result)}")


def _load_saved(target: Target) -> LoadedModel:
    """A whole module saved with `torch.save(model, path)` (unpickling runs code, as a target's
    module does). A TorchScript archive is refused with the reason, a state_dict with what to
    probe instead."""
    import zipfile

    torch = load_torch()
    path = Path(target.location)
    if not path.is_file():
        raise ProbeError(f"{target.spec}: file not found")
    if _is_torchscript(path, zipfile):
        raise ProbeError(f"{target.spec}: a TorchScript archive (torch.jit.save): its compiled forward runs no "
                         f"Python hooks, so no layer can be measured; save the module with torch.save(model, path), "
                         f"or probe the function that builds it")
    try:
        model = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as exc:
        raise ProbeError(f"{target.spec}: cannot load the saved model: {reason(exc)}") from exc
    if not is_torch_module(model):
        if isinstance(model, dict) and model and all(hasattr(v, "shape") for v in model.values()):
            raise ProbeError(f"{target.spec}: the file holds a state_dict (parameters only, no model); "
                             f"probe the function that builds the model instead (model.py:build_model)")
        raise ProbeError(f"{target.spec}: the file holds {returned(model)}")
    return LoadedModel(model, target.location)


def _is_torchscript(path: Path, zipfile: Any) -> bool:
    """torch.jit.save writes a zip archive with a `code/` folder; torch.save's has none."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in name for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def returned(result: Any) -> str:
    """What a factory returned that the probe cannot measure, in words."""
    root = type(result).__module__.split(".")[0]
    if result is None:
        what = "None"
    elif root in KERAS_ROOTS:
        what = (f"a Keras {type(result).__name__} from a file that imports torch and not Keras; "
                f"import keras (or tensorflow) in that file to have it probed as a Keras model")
        return what
    elif root == "torch":
        what = f"a torch {type(result).__name__}"
    else:
        what = f"a {type(result).__name__}"
    return f"{what}, neither a Keras model nor a torch.nn.Module"


# --- where each module was constructed --------------------------------------------------------


@contextlib.contextmanager
def _recording(torch: Any) -> Iterator[Origins]:
    """Note the construction sites of every torch module made inside the block."""
    origins = Origins()
    base = torch.nn.Module
    original = base.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        with contextlib.suppress(Exception):
            origins.note(self)

    base.__init__ = init  # type: ignore[method-assign]
    try:
        yield origins
    finally:
        base.__init__ = original  # type: ignore[method-assign]


def _with_rows(report: ProbeReport, origins: Origins, loaded: LoadedModel) -> ProbeReport:
    """Each layer's construction rows in the target's file (for "explained by"), named as the
    report names a module: its path in the model."""
    if loaded.source_path is None:
        return report
    from gradlint.runtime.torch_probe import display_name

    names = {id(m): display_name(n, m) for n, m in loaded.model.named_modules()}
    return origins.attach(report, loaded.source_path, lambda module: names.get(id(module)))
