"""The command line as users meet it: output, exit codes, options, configuration."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint.cli import main

BAD = """\
from tensorflow import keras

model = keras.Sequential([
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
"""
GOOD = BAD.replace('activation="relu")', 'activation="relu", kernel_initializer="he_normal")')


@pytest.fixture()
def project(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mlp.py").write_text(BAD)
    (tmp_path / "models" / "ok.py").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def test_check_text_output_and_exit_code(project: Path):
    result = run("check", "--no-cache")
    assert result.exit_code == 1
    assert result.output == (
        "models/mlp.py:4:5: GL101 [*] Dense with activation 'relu' uses glorot_uniform (Keras default): "
        "the gradient shrinks ×0.71 per layer; "
        'relu wants He initialization: kernel_initializer="he_normal" (after the fix: ×1.0 per layer)\n'
        "Found 1 problem (1 fixable with 'gradlint fix --write').\n"
    )


def test_clean_code_prints_nothing_and_exits_0(project: Path):
    result = run("check", "--no-cache", "models/ok.py")
    assert (result.exit_code, result.output) == (0, "")


def test_exit_zero_and_quiet(project: Path):
    result = run("check", "--no-cache", "--exit-zero", "--quiet")
    assert result.exit_code == 0
    assert result.output.count("\n") == 1 and "Found" not in result.output


def test_json_output_in_ruff_shape(project: Path):
    result = run("check", "--no-cache", "--output-format", "json")
    [finding] = json.loads(result.output)
    assert finding["code"] == "GL101"
    assert finding["filename"] == str(project / "models" / "mlp.py")
    assert finding["location"] == {"row": 4, "column": 5}
    assert finding["end_location"] == {"row": 4, "column": 46}
    assert finding["cell"] is None
    assert finding["url"].endswith("#gl101-init-activation-mismatch")
    assert finding["fix"] == {
        "message": 'Use kernel_initializer="he_normal"',
        "applicability": "safe",
        "edits": [{"content": ', kernel_initializer="he_normal"',
                   "location": {"row": 4, "column": 45}, "end_location": {"row": 4, "column": 45}}],
    }


def test_json_output_is_an_empty_list_when_clean(project: Path):
    result = run("check", "--no-cache", "--output-format", "json", "models/ok.py")
    assert (result.exit_code, json.loads(result.output)) == (0, [])


def test_colour_only_on_a_terminal_and_never_with_no_color(project: Path):
    assert "\x1b[" not in run("check", "--no-cache").output  # not a terminal
    script = "import sys; from gradlint.cli import main; sys.argv=['gradlint','check','--no-cache']; main()"
    for env in ({"NO_COLOR": "1"}, {}):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env={**os.environ, **env}, cwd=project)
        assert "\x1b[" not in out.stdout


def test_fix_without_write_shows_a_diff_and_changes_nothing(project: Path):
    result = run("fix", "--no-cache")
    assert result.exit_code == 1
    assert "--- a/models/mlp.py\n+++ b/models/mlp.py\n" in result.output
    assert '+    keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),' in result.output
    assert "Would fix 1 problem" in result.output
    assert (project / "models" / "mlp.py").read_text() == BAD


def test_fix_write_reports_and_a_second_run_finds_nothing(project: Path):
    result = run("fix", "--write", "--no-cache")
    assert result.exit_code == 0
    assert result.output == "Found 1 problem (1 fixed, 0 remaining).\n"
    assert (project / "models" / "mlp.py").read_text() == GOOD
    again = run("fix", "--write", "--no-cache")
    assert (again.exit_code, again.output) == (0, "")
    assert run("check", "--no-cache").exit_code == 0


def test_select_ignore_and_per_file_ignores(project: Path):
    assert run("check", "--no-cache", "--ignore", "GL101").exit_code == 0
    assert run("check", "--no-cache", "--select", "GR").exit_code == 0
    assert run("check", "--no-cache", "--select", "GL1", "--ignore", "GL10").exit_code == 0
    (project / "pyproject.toml").write_text('[tool.gradlint]\nper-file-ignores = { "models/mlp.py" = ["GL101"] }\n')
    assert run("check", "--no-cache").exit_code == 0
    (project / "pyproject.toml").write_text('[tool.gradlint]\nper-file-ignores = { "other/*" = ["GL101"] }\n')
    assert run("check", "--no-cache").exit_code == 1


def test_excludes_gitignore_and_explicit_files(project: Path):
    (project / "pyproject.toml").write_text('[tool.gradlint]\nextend-exclude = ["models/mlp.py"]\n')
    assert run("check", "--no-cache").exit_code == 0
    assert run("check", "--no-cache", "models/mlp.py").exit_code == 1  # named: always checked
    assert run("check", "--no-cache", "--force-exclude", "models/mlp.py").exit_code == 0
    (project / "pyproject.toml").write_text("[tool.gradlint]\n")
    (project / ".git").mkdir()  # .gitignore files apply inside a git work tree
    (project / ".gitignore").write_text("models/\n")
    assert run("check", "--no-cache").exit_code == 0
    (project / "venv").mkdir()
    (project / ".gitignore").write_text("")
    (project / "venv" / "lib.py").write_text(BAD)
    result = run("check", "--no-cache")
    assert "venv" not in result.output and result.exit_code == 1


def test_a_walk_that_finds_nothing_says_so_on_stderr(project: Path):
    (project / ".git").mkdir()
    (project / ".gitignore").write_text("models/\n")
    result = run("check", "--no-cache")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr.startswith("warning: no Python files or notebooks found under the given paths")
    # Named files (pre-commit) and --quiet: no warning.
    assert run("check", "--no-cache", "--quiet").stderr == ""
    assert run("check", "--no-cache", "--force-exclude", "--extension", "ipynb", "models/ok.py").stderr == ""


def test_config_found_above_the_checked_path(project: Path):
    (project / "pyproject.toml").write_text('[tool.gradlint]\nignore = ["GL101"]\n')
    os.chdir(project / "models")
    assert run("check", "--no-cache", "mlp.py").exit_code == 0
    assert run("check", "--no-cache", "--config", str(project / "missing.toml"), "mlp.py").exit_code == 2


def test_rules_and_rule_documentation():
    listing = run("rules")
    assert listing.exit_code == 0
    assert re.search(r"^GL101 +init-activation-mismatch +\[\*\]", listing.output, re.MULTILINE)
    doc = run("rule", "gl101")
    assert doc.exit_code == 0
    assert "He" in doc.output and "2/fan_in" in doc.output and 'kernel_initializer="he_normal"' in doc.output
    unknown = run("rule", "GL999")
    assert unknown.exit_code == 2 and "unknown rule 'GL999'" in unknown.output


def test_python_dash_m_and_version():
    out = subprocess.run([sys.executable, "-m", "gradlint", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("gradlint, version ")
