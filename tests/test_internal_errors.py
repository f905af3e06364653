"""A bug in gradlint is an error of the file it happened in, exit code 2, never "problems found".

A rule is made to raise on one file of a project (in this process and, forked, in the
workers); gradlint reports that file in one line, "internal error while checking FILE:
ExcType: message", checks every other file, exits 2 even with --exit-zero, and shows the
traceback only with -v. A bug outside any one file (here: in rendering the report) is one
line and exit 2 as well.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint import parallel
from gradlint.cli import main
from gradlint.rules import rule_by_code

KERAS_CODE = """\
from tensorflow import keras

model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
"""
BROKEN = "broken.py"
MESSAGE = "the rule tripped over\nsomething"  # a message on two lines is still one line of output


@pytest.fixture()
def project(tmp_path: Path, monkeypatch) -> Path:
    """20 Keras modules (enough for a pool of 2) and `broken.py`, on which GL101 raises."""
    for i in range(20):
        (tmp_path / f"model_{i:02d}.py").write_text(KERAS_CODE)
    (tmp_path / BROKEN).write_text(KERAS_CODE)
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    rule = type(rule_by_code("GL101"))
    real = rule.check

    def check(self, graph, settings):
        if Path(graph.path).name == BROKEN:
            raise RuntimeError(MESSAGE)
        return real(self, graph, settings)

    monkeypatch.setattr(rule, "check", check)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, [*args, "--no-cache", "."])


EXPECTED = f"error: internal error while checking {BROKEN}: RuntimeError: the rule tripped over something"
JOBS = [
    "1",
    pytest.param("2", marks=pytest.mark.skipif(
        multiprocessing.get_start_method() != "fork" or parallel.default_jobs() < 2,
        reason="the workers see the patched rule only when forked, and a pool needs 2 CPUs")),
]


@pytest.mark.parametrize("jobs", JOBS)
def test_a_bug_on_one_file_is_that_file_s_error_and_the_others_are_checked(project, jobs):
    result = run("check", "--output-format", "json", "-j", jobs)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [EXPECTED]
    checked = sorted(Path(d["filename"]).name for d in json.loads(result.stdout))
    assert checked == [f"model_{i:02d}.py" for i in range(20)]


@pytest.mark.parametrize("jobs", JOBS)
def test_exit_zero_does_not_hide_a_bug(project, jobs):
    result = run("check", "--exit-zero", "-j", jobs)
    assert result.exit_code == 2, result.output
    assert EXPECTED in result.stderr.splitlines()


@pytest.mark.parametrize("jobs", JOBS)
def test_verbose_shows_the_traceback(project, jobs):
    quiet = run("check", "-j", jobs)
    assert "Traceback" not in quiet.output
    verbose = run("check", "-v", "-j", jobs)
    assert verbose.exit_code == 2
    lines = verbose.stderr.splitlines()
    assert lines[0] == EXPECTED
    assert lines[1] == "Traceback (most recent call last):"
    assert "raise RuntimeError(MESSAGE)" in verbose.stderr
    assert verbose.stderr.endswith(f"RuntimeError: {MESSAGE}\n")


def test_fix_reports_the_bug_and_fixes_the_other_files(project):
    result = run("fix", "--write")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [EXPECTED]
    assert "he_normal" in (project / "model_00.py").read_text()
    assert (project / BROKEN).read_text() == KERAS_CODE


def test_a_bug_on_standard_input_names_the_buffer(project):
    result = CliRunner().invoke(main, ["check", "--stdin-filename", BROKEN, "-"], input=KERAS_CODE)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [EXPECTED]


def test_a_bug_outside_any_file_is_one_line_and_exit_2(project, monkeypatch):
    def render(*args, **kwargs):
        raise ValueError("no renderer today")

    monkeypatch.setattr("gradlint.cli.renderer", render)
    result = run("check", "--exit-zero")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "error: internal error: ValueError: no renderer today"
    assert "Traceback" not in result.stderr
    verbose = run("check", "--verbose")
    assert verbose.exit_code == 2
    assert "Traceback (most recent call last):" in verbose.stderr and "in render" in verbose.stderr
