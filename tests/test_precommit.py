"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit on a throwaway repository:
the check hook fails on a bad file and passes on a good one; the fix hook rewrites the bad file
and fails once (files were modified), then everything passes.

pre-commit builds the hooks' environment from a git repository with pip, so this copies the
working tree (tracked and untracked files) into a temporary repository and commits it there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BAD = "from tensorflow import keras\n\nmodel = keras.Sequential([keras.layers.Dense(64, activation='relu'), keras.layers.Dense(1)])\n"
FIXED = BAD.replace("activation='relu')", "activation='relu', kernel_initializer='he_normal')")
GOOD = "from tensorflow import keras\n\nmodel = keras.Sequential([keras.layers.Dense(64, activation='tanh'), keras.layers.Dense(1)])\n"

pytest.importorskip("pre_commit")
yaml = pytest.importorskip("yaml")  # pre-commit's own dependency
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=gradlint tests", "-c", "user.email=tests@gradlint.invalid",
                    "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
                   cwd=cwd, check=True, capture_output=True)


def _working_tree_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("gradlint-hooks")
    for name in _working_tree_files():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "gradlint under test", cwd=repo)
    return repo


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "bad.py").write_text(BAD)
    (tmp_path / "good.py").write_text(GOOD)
    shutil.copy(ROOT / "fixtures" / "mnist_mlp.ipynb", tmp_path / "mnist.ipynb")
    git("init", "-q", cwd=tmp_path)
    git("add", "-A", cwd=tmp_path)
    return tmp_path


def try_repo(hook_repo: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env["PRE_COMMIT_HOME"] = str(project.parent / f"{project.name}-pre-commit-home")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), *args, "--color", "never"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=600)


def test_hooks_file_declares_check_and_fix_hooks():
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"gradlint", "gradlint-fix"}
    assert hooks["gradlint"]["entry"] == "gradlint check --force-exclude"
    assert hooks["gradlint-fix"]["entry"] == "gradlint fix --write --force-exclude"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "pyi", "jupyter"]
        assert hook["require_serial"] is True


def test_pre_commit_runs_the_hooks(hook_repo: Path, project: Path):
    # The check hook passes on the good file …
    good = try_repo(hook_repo, project, "gradlint", "--files", "good.py")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "gradlint" in good.stdout and "Passed" in good.stdout

    # … and with both hooks on all files: the check fails naming the bad ones, the fix rewrites them.
    files = ("--files", "bad.py", "good.py", "mnist.ipynb")
    notebook_before = (project / "mnist.ipynb").read_text()
    first = try_repo(hook_repo, project, *files)
    assert first.returncode == 1, first.stdout + first.stderr
    out = first.stdout
    assert "bad.py:3:27: GL101 [*] Dense with activation 'relu'" in out
    assert "mnist.ipynb:cell 8:2:5: GL101 [*]" in out
    assert "good.py" not in out
    assert "files were modified by this hook" in out
    assert (project / "bad.py").read_text() == FIXED
    assert (project / "good.py").read_text() == GOOD
    notebook_after = (project / "mnist.ipynb").read_text()
    assert notebook_after != notebook_before
    # The fixed `layers.Dense(256, ...)(inputs)` passes 88 characters: one argument per line,
    # four more lines of the cell's source, each a line of the JSON.
    assert len(notebook_after.splitlines()) == len(notebook_before.splitlines()) + 4

    # Once fixed, both hooks pass.
    second = try_repo(hook_repo, project, *files)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count("Passed") == 2
