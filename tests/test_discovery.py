"""Which files a directory walk takes: default excludes, name and path patterns, negations,
.gitignore, and pathspec left unimported when every pattern is a plain name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gradlint.config import Settings
from gradlint.discovery import discover

TREE = [
    "train.py",
    "models/mlp.py",
    "models/rnn_generated.py",
    "models/legacy/old.py",
    "models/legacy/keep.py",
    "notebooks/explore.ipynb",
    "venv/lib/site.py",
    "src/build/artifact.py",
    "src/.venv/thing.py",
    "data/readme.txt",
]


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    for name in TREE:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}\n" if name.endswith(".ipynb") else "x = 1\n")
    return tmp_path


def found(root: Path, **settings) -> list[str]:
    chosen = Settings(config_path=root / "pyproject.toml", **settings)
    return sorted(d.path.relative_to(root).as_posix() for d in discover([root], chosen))


def test_default_excludes_match_a_name_at_any_depth(tree: Path):
    assert found(tree) == ["models/legacy/keep.py", "models/legacy/old.py", "models/mlp.py",
                           "models/rnn_generated.py", "notebooks/explore.ipynb", "train.py"]


def test_name_glob_and_anchored_path_patterns(tree: Path):
    assert found(tree, extend_exclude=("*_generated.py", "models/legacy/old.py")) == [
        "models/legacy/keep.py", "models/mlp.py", "notebooks/explore.ipynb", "train.py"]
    # A pattern with a slash is anchored at the configuration's directory, as in .gitignore.
    assert "models/legacy/old.py" in found(tree, extend_exclude=("legacy/old.py",))


def test_a_negation_brings_back_what_a_name_pattern_left_out(tree: Path):
    assert found(tree, extend_exclude=("*.py", "!keep.py"), extensions=("py",)) == ["models/legacy/keep.py"]


def test_gitignore_is_respected_unless_turned_off(tree: Path):
    (tree / ".gitignore").write_text("models/legacy/\n")
    assert "models/legacy/old.py" not in found(tree)
    assert "models/legacy/old.py" in found(tree, respect_gitignore=False)


def test_plain_name_patterns_do_not_import_pathspec(tree: Path):
    code = ("import sys; from pathlib import Path; from gradlint.config import Settings;"
            "from gradlint.discovery import discover;"
            f"root = Path({str(tree)!r});"
            "files = list(discover([root], Settings(config_path=root / 'p.toml', respect_gitignore=False)));"
            "print(len(files), 'pathspec' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["6", "False"]
