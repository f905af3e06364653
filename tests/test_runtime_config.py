"""[tool.gradlint.runtime] is part of the configuration: every command validates it, with the
errors [tool.gradlint]'s own keys get (exit 2, the file and the key named, a did-you-mean),
and validating it never loads TensorFlow or numpy."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint.cli import main
from gradlint.config import load_settings
from gradlint.errors import ConfigError

MODEL = """\
from tensorflow import keras

def build_model():
    return keras.Sequential([keras.layers.Dense(8, activation="relu", kernel_initializer="he_normal")])
"""

# Every command that reads the configuration, with arguments that would otherwise succeed.
COMMANDS = {
    "check": ("check", "--no-cache", "model.py"),
    "fix": ("fix", "--no-cache", "model.py"),
    "fix --write": ("fix", "--write", "--no-cache", "model.py"),
    "signal": ("signal", "model.py"),
    "probe": ("probe", "model.py:build_model"),
}


@pytest.fixture()
def project(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "model.py").write_text(MODEL)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def configure(project: Path, runtime: str) -> Path:
    path = project / "pyproject.toml"
    path.write_text(f"[tool.gradlint]\nselect = ['GL']\n\n[tool.gradlint.runtime]\n{runtime}\n")
    return path


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_every_command_rejects_a_misspelt_runtime_key_naming_the_file(project: Path, command: str):
    config = configure(project, "batchsize = 8")
    result = run(*COMMANDS[command])
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"error: {config}: unknown key 'batchsize' in [tool.gradlint.runtime] "
                             "(did you mean 'batch-size'?)\n")
    assert result.stdout == ""
    assert (project / "model.py").read_text() == MODEL


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_every_command_rejects_a_wrong_runtime_value_naming_the_file(project: Path, command: str):
    config = configure(project, 'batch-size = "8"')
    result = run(*COMMANDS[command])
    assert result.exit_code == 2
    assert result.stderr == f"error: {config}: [tool.gradlint.runtime] batch-size must be an integer, not '8'\n"


@pytest.mark.parametrize(("runtime", "message"), [
    ("batch_size = 8", "unknown key 'batch_size' in [tool.gradlint.runtime] (did you mean 'batch-size'?)"),
    ("input_shapes = '28,28,1'", "unknown key 'input_shapes' in [tool.gradlint.runtime] (did you mean 'input-shape'?)"),
    ("gpu = true", "unknown key 'gpu' in [tool.gradlint.runtime] (known keys: targets, batch-size, seed,"),
    ("repeats = 0", "[tool.gradlint.runtime] repeats must be an integer ≥ 1, not 0"),
    ("vanishing-ratio = 2.0", "[tool.gradlint.runtime] vanishing-ratio must be a number > 0 and < 1, not 2.0"),
    ("targets = 'model.py:build_model'", "[tool.gradlint.runtime] targets must be a list of strings"),
    ("input-shape = '28,x'", "[tool.gradlint.runtime] input-shape: bad dimension 'x'"),
])
def test_the_loaded_configuration_names_the_file_and_the_runtime_key(project: Path, runtime: str, message: str):
    config = configure(project, runtime)
    with pytest.raises(ConfigError) as info:
        load_settings(None, project)
    assert str(info.value).startswith(f"{config.resolve()}: {message}")


def test_a_runtime_table_that_is_not_a_table_is_named_as_the_other_keys_are(project: Path):
    (project / "pyproject.toml").write_text("[tool.gradlint]\nruntime = 8\n")
    result = run("check", "--no-cache", "model.py")
    assert result.exit_code == 2
    assert "pyproject.toml: [tool.gradlint] runtime must be a table, not 8" in result.stderr


def test_a_runtime_table_in_a_plain_toml_given_with_config_is_validated_too(project: Path):
    other = project / "gradlint.toml"
    other.write_text("[runtime]\nseeds = 1\n")
    result = run("check", "--no-cache", "--config", str(other), "model.py")
    assert result.exit_code == 2
    assert result.stderr == (f"error: {other}: unknown key 'seeds' in [tool.gradlint.runtime] "
                             "(did you mean 'seed'?)\n")


def test_a_valid_runtime_table_changes_nothing_for_check(project: Path):
    configure(project, 'targets = ["model.py:build_model"]\nbatch-size = 8\ninput-shape = "None,4"\nseed = 3')
    result = run("check", "--no-cache", "model.py")
    assert (result.exit_code, result.output) == (0, "")
    assert load_settings(None, project).runtime["batch-size"] == 8


def test_check_validates_the_runtime_table_without_loading_numpy_or_tensorflow(project: Path):
    configure(project, 'targets = ["model.py:build_model"]\nbatch-size = 8\ninput-shape = ["28,28,1", "None,10"]')
    code = textwrap.dedent("""
        import sys
        from click.testing import CliRunner
        from gradlint.cli import main
        print(CliRunner().invoke(main, ["check", "--no-cache", "model.py"]).exit_code)
        with open("pyproject.toml", "a") as config:
            config.write("batchsize = 8\\n")
        print(CliRunner().invoke(main, ["check", "--no-cache", "model.py"]).exit_code)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "tensorflow", "keras", "torch")))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == ["0", "2", "[]"]
