"""Which files a directory walk takes: default excludes, name and path patterns, negations,
.gitignore (inside git work trees only), links, and pathspec left unimported when every
pattern is a plain name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import STABLE

from gradlint.config import Settings
from gradlint.discovery import discover
from gradlint.patterns import pattern_error

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


def git_init(directory: Path) -> None:
    subprocess.run(["git", "init", "-q", str(directory)], check=True, capture_output=True)


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
    git_init(tree)
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


def test_gitignore_files_above_the_walked_directory_apply_up_to_the_repository_root(tree: Path):
    git_init(tree)
    (tree / ".gitignore").write_text("/models/legacy/old.py\n")
    (tree / "models" / ".gitignore").write_text("rnn_*.py\n")
    chosen = Settings(config_path=tree / "pyproject.toml")
    walked = sorted(d.path.name for d in discover([tree / "models" / "legacy"], chosen))
    assert walked == ["keep.py"]  # the anchored pattern of the root's .gitignore, from below
    assert "models/rnn_generated.py" not in found(tree)


def test_a_nested_repository_in_a_plain_directory_has_its_gitignore_honoured(tmp_path: Path):
    repo = tmp_path / "checkouts" / "repo"
    (repo / "src").mkdir(parents=True)
    (tmp_path / ".gitignore").write_text("*.py\n")  # outside any repository: not honoured
    git_init(repo)
    (repo / ".gitignore").write_text("generated.py\n")
    (repo / "src" / "generated.py").write_text("x = 1\n")
    (repo / "src" / "model.py").write_text("x = 1\n")
    assert found(tmp_path) == ["checkouts/repo/src/model.py"]


def test_a_root_reached_through_a_link_keeps_its_repositorys_gitignore(tree: Path, tmp_path_factory):
    git_init(tree)
    (tree / ".gitignore").write_text("legacy/\n")
    link = tmp_path_factory.mktemp("elsewhere") / "models"
    link.symlink_to(tree / "models")
    chosen = Settings(config_path=tree / "pyproject.toml")
    assert sorted(d.path.name for d in discover([link], chosen)) == ["mlp.py", "rnn_generated.py"]


def test_links_out_of_the_walked_roots_are_not_taken_named_ones_are(tree: Path, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "precious.py").write_text("x = 1\n")
    (outside / "precious_lib.py").write_text("x = 1\n")
    (tree / "models" / "precious.py").symlink_to(outside / "precious.py")
    (tree / "vendored").symlink_to(outside)
    (tree / "models" / "same.py").symlink_to("mlp.py")  # inside: taken, and one file with mlp.py
    chosen = Settings(config_path=tree / "pyproject.toml")
    walked = [d.path for d in discover([tree], chosen)]
    assert not any("precious" in p.name for p in walked)
    assert [p.name for p in walked if p.name in ("mlp.py", "same.py")] == ["mlp.py"]
    named = [d.path for d in discover([tree / "models" / "precious.py", tree / "vendored"], chosen)]
    # vendored/precious.py is the file already named: one file, under its first name.
    assert named == [tree / "models" / "precious.py", tree / "vendored" / "precious_lib.py"]


@STABLE
@given(st.text(alphabet="ab/*?!# .\\[]-z^", max_size=8))
def test_pattern_validity_matches_pathspec_without_importing_it_for_common_patterns(pattern: str):
    """pattern_error accepts patterns with no backslash, bracket or bare `!` unread: that must
    be what pathspec says of them too."""
    import re
    import warnings

    import pathspec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # `[[`: "possible nested set"
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
            valid = True
        except (ValueError, re.error):
            valid = False
    assert (pattern_error(pattern) is None) == valid
