"""Checking and fixing read code; they never run it.

A project is planted with modules that leave a marker file when they are executed or imported:
a module with side effects at import, a package `__init__.py`, a `conftest.py`, a module that
raises on import, one whose `if __name__ == "__main__":` block writes, modules named `keras` and
`tensorflow` that would shadow the real ones if gradlint imported them, and a notebook whose
cells (and `%run` magic) would write. Each also holds Keras code with a finding, so gradlint
demonstrably reads and rewrites it. `gradlint check` and `gradlint fix --write` leave no marker,
through the CLI in this process and through `python -m gradlint` run in the project with the
project on sys.path, serially and in a process pool.

`python -m` also puts the current directory first on sys.path, so a repository's own
`click.py`, `tokenize.py` or `ast.py` would be imported in place of the real ones. Run in such a
repository (and not told to import from it), `python -m gradlint` imports none of them; a
control shows that plain Python run there does.

A control test imports the planted modules, runs the `__main__` one as a script and runs the
notebook's Python cell, to show that the traps do fire.

Finally, the static path (everything but gradlint/runtime/ and gradlint/keras.py, which build
real models on request) contains no eval, exec, __import__, runpy or unpickling, and only one
dynamic import: the CLI's lazy import of its own `gradlint.runtime.cli` for `gradlint probe`.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import gradlint
from gradlint.cli import LazyGroup, main

KERAS_CODE = """\
def build():
    from tensorflow import keras
    return keras.Sequential([keras.layers.Dense(64, activation='relu'), keras.layers.Dense(1)])
"""
FIXED_LINE = "keras.layers.Dense(64, activation='relu', kernel_initializer='he_normal')"


def _marker(markers: Path, name: str) -> str:
    return f"import pathlib\npathlib.Path({str(markers / name)!r}).write_text('executed')\n"


def _modules(markers: Path) -> dict[str, str]:
    """Relative path → source. Every module is a trap that also holds a GL101 finding."""
    modules = {
        "side_effect.py": _marker(markers, "side_effect") + KERAS_CODE,
        "pkg/__init__.py": _marker(markers, "pkg") + KERAS_CODE,
        "pkg/sub.py": _marker(markers, "pkg.sub") + KERAS_CODE,
        "conftest.py": _marker(markers, "conftest") + KERAS_CODE,
        "raises_on_import.py": _marker(markers, "raises_on_import") + KERAS_CODE
        + "raise RuntimeError('imported')\n",
        "main_guard.py": KERAS_CODE + 'if __name__ == "__main__":\n'
        + "".join(f"    {line}\n" for line in _marker(markers, "main_guard").splitlines()),
        "keras.py": _marker(markers, "keras") + KERAS_CODE,
        "tensorflow.py": _marker(markers, "tensorflow") + KERAS_CODE,
    }
    # Enough files that gradlint's pool (8 files per worker at least) starts 2 workers.
    modules.update({f"models/m{i:02d}.py": _marker(markers, f"models.m{i:02d}") + KERAS_CODE for i in range(10)})
    return modules


def _notebook(markers: Path) -> str:
    cells = [
        ["%run side_effect.py\n", "!touch " + str(markers / "shell") + "\n"],
        _marker(markers, "notebook").splitlines(keepends=True),
        KERAS_CODE.splitlines(keepends=True),
    ]
    return json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                   "outputs": [], "source": source} for i, source in enumerate(cells)],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }, indent=1) + "\n"


@pytest.fixture()
def planted(tmp_path: Path):
    """(project, markers): the planted project and the (empty) directory traps write into."""
    project, markers = tmp_path / "project", tmp_path / "markers"
    markers.mkdir()
    for relative, source in _modules(markers).items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(source)
    (project / "notebook.ipynb").write_text(_notebook(markers))
    (project / "pyproject.toml").write_text("[tool.gradlint]\n")
    yield project, markers
    # Should a trap have been imported here after all, keep it from haunting other tests.
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(project)):
            del sys.modules[name]


def _fired(markers: Path) -> list[str]:
    return sorted(p.name for p in markers.iterdir())


def _planted_files(project: Path) -> list[Path]:
    return sorted(p for p in project.rglob("*") if p.suffix in (".py", ".ipynb"))


def test_the_traps_fire_when_the_code_is_run(planted):
    project, markers = planted
    imports = ["side_effect", "pkg", "pkg.sub", "conftest", "raises_on_import", "keras", "tensorflow",
               *(f"models.m{i:02d}" for i in range(10))]
    script = "import importlib\nfor name in %r:\n    try:\n        importlib.import_module(name)\n" \
             "    except RuntimeError:\n        pass\n" % imports
    env = {**os.environ, "PYTHONPATH": str(project)}
    subprocess.run([sys.executable, "-c", script], cwd=project, env=env, timeout=60, check=True)
    subprocess.run([sys.executable, "main_guard.py"], cwd=project, env=env, timeout=60, check=True)
    cell = "".join(json.loads((project / "notebook.ipynb").read_text())["cells"][1]["source"])
    subprocess.run([sys.executable, "-c", cell], cwd=project, env=env, timeout=60, check=True)
    assert _fired(markers) == sorted([*imports, "main_guard", "notebook"])


def _cli(*args: str):
    return CliRunner().invoke(main, [*args, "--no-cache", "--output-format", "json", "."])


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_check_and_fix_through_the_cli_run_nothing(planted, monkeypatch, jobs):
    project, markers = planted
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    checked = _cli("check", "--jobs", jobs)
    assert checked.exit_code == 1, checked.output
    reported = sorted(Path(d["filename"]).resolve() for d in json.loads(checked.output))
    assert reported == sorted(p.resolve() for p in _planted_files(project))
    fixed = _cli("fix", "--write", "--jobs", jobs)
    assert fixed.exit_code == 0, fixed.output
    assert all(FIXED_LINE in p.read_text() for p in _planted_files(project))
    assert _fired(markers) == []


def test_python_m_gradlint_in_the_checked_directory_runs_nothing(planted):
    project, markers = planted
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project), str(Path(gradlint.__file__).parent.parent)])}
    run = [sys.executable, "-m", "gradlint"]
    checked = subprocess.run([*run, "check", "--no-cache", "--jobs", "2", "--output-format", "json", "."],
                             cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 1, checked.stderr
    assert len(json.loads(checked.stdout)) == len(_planted_files(project))
    fixed = subprocess.run([*run, "fix", "--write", "--no-cache", "--jobs", "2", "."],
                           cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert fixed.returncode == 0, fixed.stderr
    assert all(FIXED_LINE in p.read_text() for p in _planted_files(project))
    assert _fired(markers) == []


# Named like the modules gradlint itself imports: its dependency, the standard library's, and
# the frameworks it reads about.
SHADOWING = ("click", "tokenize", "ast", "keras", "tensorflow")


@pytest.fixture()
def shadowed(planted):
    """(project, markers): the planted project, with traps named like the modules above."""
    project, markers = planted
    for name in SHADOWING:
        (project / f"{name}.py").write_text(_marker(markers, name) + KERAS_CODE)
    return project, markers


def _without_the_project(project: Path) -> dict[str, str]:
    """The environment, with gradlint importable and nothing that names the project."""
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).resolve() != project]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONSAFEPATH", "PYTHONPATH")}
    return {**env, "PYTHONPATH": os.pathsep.join([str(PACKAGE.parent), *paths])}


def test_python_run_in_the_project_imports_its_shadowing_modules(shadowed):
    """The control: the traps are found first from the current directory, and fire."""
    project, markers = shadowed
    subprocess.run([sys.executable, "-c", "import " + ", ".join(SHADOWING)], cwd=project,
                   env=_without_the_project(project), timeout=60, check=True)
    assert _fired(markers) == sorted(SHADOWING)


def test_python_m_gradlint_imports_nothing_from_the_current_directory(shadowed):
    project, markers = shadowed
    env = _without_the_project(project)
    run = [sys.executable, "-m", "gradlint"]
    checked = subprocess.run([*run, "check", "--no-cache", "--jobs", "2", "--output-format", "json", "."],
                             cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert _fired(markers) == [], checked.stderr
    assert checked.returncode == 1, checked.stderr
    reported = {Path(d["filename"]).name for d in json.loads(checked.stdout)}
    assert {f"{name}.py" for name in SHADOWING} <= reported  # read and judged, never imported
    fixed = subprocess.run([*run, "fix", "--write", "--no-cache", "--jobs", "2", "."],
                           cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert fixed.returncode == 0, fixed.stderr
    assert all(FIXED_LINE in (project / f"{name}.py").read_text() for name in SHADOWING)
    assert _fired(markers) == []


@pytest.mark.parametrize(("safe_path", "path", "kept"), [
    (False, ["", "/lib"], ["/lib"]),
    (False, ["{cwd}", "/lib"], ["/lib"]),
    (False, ["/elsewhere", "/lib"], ["/elsewhere", "/lib"]),
    # Under -P / PYTHONSAFEPATH the interpreter added nothing: the first entry is the user's.
    (True, ["{cwd}", "/lib"], ["{cwd}", "/lib"]),
])
def test_only_the_entry_python_m_added_is_dropped(monkeypatch, tmp_path, safe_path, path, kept):
    from types import SimpleNamespace

    from gradlint.__main__ import _drop_current_directory

    monkeypatch.chdir(tmp_path)
    cwd = os.getcwd()
    monkeypatch.setattr(sys, "flags", SimpleNamespace(safe_path=safe_path))
    monkeypatch.setattr(sys, "path", [p.format(cwd=cwd) for p in path])
    _drop_current_directory()
    assert sys.path == [p.format(cwd=cwd) for p in kept]


# -- the static path by inspection ---------------------------------------------------------

PACKAGE = Path(gradlint.__file__).parent
_CALLS = {"eval", "exec", "__import__"}
_MODULES = {"importlib", "runpy", "pickle", "marshal", "shelve"}


class _DynamicCode(ast.NodeVisitor):
    """Every way the code could evaluate text or import a module chosen at run time."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []  # (enclosing function, what)
        self.scope: list[str] = []

    def _enter(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _enter

    def _add(self, what: str) -> None:
        self.found.append((".".join(self.scope), what))

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in _CALLS:
            self._add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in _CALLS | {"import_module"}:
            self._add(ast.unparse(node))
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] in _MODULES:
                self._add(f"import {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.module.split(".")[0] in _MODULES:
            self._add(f"from {node.module} import ...")


def _static_modules() -> list[Path]:
    def static(path: Path) -> bool:
        relative = path.relative_to(PACKAGE)
        return relative.parts[0] != "runtime" and relative != Path("keras.py")

    return sorted(p for p in PACKAGE.rglob("*.py") if static(p))


def test_the_static_path_evaluates_no_text_and_imports_nothing_chosen_at_run_time():
    modules = _static_modules()
    assert PACKAGE / "engine.py" in modules and PACKAGE / "keras.py" not in modules
    assert not any("runtime" in p.relative_to(PACKAGE).parts for p in modules)
    found = []
    for path in modules:
        visitor = _DynamicCode()
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        found += [(path.relative_to(PACKAGE).as_posix(), scope, what) for scope, what in visitor.found]
    assert sorted(found) == [
        ("cli.py", "LazyGroup.get_command", "import importlib"),
        ("cli.py", "LazyGroup.get_command", "importlib.import_module"),
    ]
    # …and that one import only ever loads gradlint's own commands (the probe, the signal model).
    assert LazyGroup.lazy and all(target.startswith(("gradlint.runtime.", "gradlint.signal."))
                                  for target in LazyGroup.lazy.values())
