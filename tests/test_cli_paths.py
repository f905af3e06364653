"""Paths on the command line that cannot be checked: each is reported, naming it, the others are
still checked, and the run exits 2; `fix` (the diff) says so on standard error, since a diff
only shows what changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint.cli import main

BAD = """\
import keras

model = keras.Sequential([
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
"""
FIXED = BAD.replace('activation="relu")', 'activation="relu", kernel_initializer="he_normal")')
BROKEN = "import keras\n\ndef build(:\n    return keras.Sequential()\n"


@pytest.fixture()
def project(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    (tmp_path / "bad.py").write_text(BAD)
    (tmp_path / "good.py").write_text(FIXED)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, [*args, "--no-cache"])


def codes(result) -> list[tuple[str, str]]:
    return sorted((Path(d["filename"]).name, d["code"]) for d in json.loads(result.stdout))


def test_a_missing_path_beside_good_files_is_reported_and_the_others_are_checked(project: Path):
    result = run("check", "missing.py", "good.py", "bad.py")
    assert result.exit_code == 2
    bad, missing, summary = result.stdout.splitlines()
    assert bad.startswith("bad.py:4:5: GL101 [*] Dense with activation 'relu'")
    assert missing == "missing.py:1:1: GL002 no such file or directory"
    assert summary == "Found 2 problems (1 fixable with 'gradlint fix --write')."


@pytest.mark.parametrize("missing", ["missing.py", "no/such/dir", "bad.py/not-a-directory.py"])
def test_every_kind_of_missing_path_is_a_gl002_naming_it_in_the_json_report(project: Path, missing: str):
    result = run("check", "--output-format", "json", missing, "bad.py")
    assert result.exit_code == 2
    assert codes(result) == sorted([("bad.py", "GL101"), (Path(missing).name, "GL002")])
    [gl002] = [d for d in json.loads(result.stdout) if d["code"] == "GL002"]
    assert gl002["message"] == "no such file or directory"
    assert gl002["filename"].endswith(missing)


def test_only_missing_paths_exit_2_with_each_named(project: Path):
    result = run("check", "gone.py", "also-gone.ipynb")
    assert result.exit_code == 2
    assert "gone.py:1:1: GL002 no such file or directory" in result.stdout
    assert "also-gone.ipynb:1:1: GL002 no such file or directory" in result.stdout


def test_fix_write_fixes_the_files_beside_a_missing_one(project: Path):
    result = run("fix", "--write", "missing.py", "bad.py")
    assert result.exit_code == 2
    assert (project / "bad.py").read_text() == FIXED
    assert "missing.py:1:1: GL002 no such file or directory" in result.stdout
    assert not (project / "missing.py").exists()


def test_fix_diff_names_on_stderr_the_files_it_could_not_read_or_parse(project: Path):
    (project / "broken.py").write_text(BROKEN)
    result = run("fix", "missing.py", "broken.py", "bad.py")
    assert result.exit_code == 2
    assert result.stderr == ("broken.py:3:11: GL001 SyntaxError: invalid syntax\n"
                             "missing.py:1:1: GL002 no such file or directory\n")
    assert result.stdout.startswith("--- a/bad.py\n+++ b/bad.py\n")
    assert "Would fix 1 problem" in result.stdout
    assert (project / "bad.py").read_text() == BAD and (project / "broken.py").read_text() == BROKEN


@pytest.mark.parametrize("flags", [(), ("--quiet",), ("--output-format", "json")])
def test_fix_diff_reports_an_unparsable_file_whatever_the_output(project: Path, flags: tuple[str, ...]):
    (project / "broken.py").write_text(BROKEN)
    result = run("fix", *flags, "broken.py")
    assert result.exit_code == 2
    assert result.stderr == "broken.py:3:11: GL001 SyntaxError: invalid syntax\n"


def test_fix_diff_of_clean_files_prints_nothing_on_stderr(project: Path):
    result = run("fix", "good.py", "bad.py")
    assert result.exit_code == 1
    assert result.stderr == ""


def test_signal_reports_a_missing_path_and_predicts_the_others(project: Path):
    result = CliRunner().invoke(main, ["signal", "missing.py", "bad.py"])
    assert result.exit_code == 2
    assert result.stderr == "error: missing.py: no such file or directory\n"
    assert result.stdout.startswith("bad.py:4: <module>")
