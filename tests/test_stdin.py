"""Editors pipe the buffer through `gradlint check|fix --stdin-filename PATH -`: findings are
reported as PATH with PATH's settings, and `fix` hands back the whole source on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BAD = "from tensorflow.keras import layers\nhidden = layers.Dense(64, activation='relu')\n"
FIXED = "from tensorflow.keras import layers\nhidden = layers.Dense(64, activation='relu', kernel_initializer='he_normal')\n"
UNFIXABLE = ("import tensorflow as tf\nfrom tensorflow.keras import layers\n"
             "old = layers.Dense(8, activation='relu', kernel_initializer=tf.compat.v1.glorot_uniform_initializer())\n")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def gradlint(*args: str, stdin: bytes, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "gradlint", *args, "--no-cache"], input=stdin,
                          capture_output=True, cwd=cwd, timeout=60)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.gradlint]\nper-file-ignores = { "legacy/*" = ["GL101"] }\nextend-exclude = ["generated"]\n'
    )
    (tmp_path / "models").mkdir()
    return tmp_path


def test_check_reports_stdin_under_the_given_name(project: Path):
    done = gradlint("check", "--stdin-filename", "models/net.py", "-", stdin=BAD.encode(), cwd=project)
    assert done.returncode == 1
    assert done.stdout.decode().splitlines()[0].startswith("models/net.py:2:10: GL101 [*] Dense with activation 'relu'")
    assert not (project / "models" / "net.py").exists()


def test_check_json_names_the_file(project: Path):
    done = gradlint("check", "--output-format", "json", "--stdin-filename", "models/net.py", "-",
                    stdin=BAD.encode(), cwd=project)
    [finding] = json.loads(done.stdout)
    assert finding["filename"] == str(project / "models" / "net.py")
    assert finding["location"] == {"row": 2, "column": 10}


def test_per_file_ignores_are_resolved_for_the_given_name(project: Path):
    done = gradlint("check", "--stdin-filename", "legacy/old_net.py", "-", stdin=BAD.encode(), cwd=project)
    assert done.returncode == 0 and done.stdout == b""


def test_settings_come_from_the_given_names_project(project: Path, tmp_path_factory: pytest.TempPathFactory):
    """An editor runs gradlint from anywhere; the name finds the pyproject.toml."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    name = str(project / "legacy" / "unsaved.py")
    done = gradlint("check", "--stdin-filename", name, "-", stdin=BAD.encode(), cwd=elsewhere)
    assert done.returncode == 0, done.stdout


def test_force_exclude_skips_an_excluded_name(project: Path):
    done = gradlint("check", "--force-exclude", "--stdin-filename", "generated/net.py", "-",
                    stdin=BAD.encode(), cwd=project)
    assert done.returncode == 0 and done.stdout == b""
    done = gradlint("fix", "--force-exclude", "--stdin-filename", "generated/net.py", "-",
                    stdin=BAD.encode(), cwd=project)
    assert done.returncode == 0 and done.stdout == BAD.encode()


def test_fix_writes_the_fixed_source_to_stdout(project: Path):
    done = gradlint("fix", "--stdin-filename", "models/net.py", "-", stdin=BAD.encode(), cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout == FIXED.encode()
    assert done.stderr == b""


def test_fix_keeps_crlf_and_the_encoding(project: Path):
    source = "# -*- coding: latin-1 -*-\n# café\n" + BAD
    data = source.replace("\n", "\r\n").encode("latin-1")
    done = gradlint("fix", "--stdin-filename", "models/net.py", "-", stdin=data, cwd=project)
    assert done.returncode == 0
    assert done.stdout == ("# -*- coding: latin-1 -*-\n# café\n" + FIXED).replace("\n", "\r\n").encode("latin-1")


def test_fix_with_nothing_to_fix_echoes_the_input_exactly(project: Path):
    data = b"import os\r\nprint(os.sep)  \n"
    done = gradlint("fix", "--stdin-filename", "models/util.py", "-", stdin=data, cwd=project)
    assert done.returncode == 0 and done.stdout == data


def test_fix_reports_what_remains_on_stderr(project: Path):
    done = gradlint("fix", "--stdin-filename", "models/net.py", "-", stdin=(UNFIXABLE + BAD.split("\n", 1)[1]).encode(),
                    cwd=project)
    assert done.returncode == 1
    assert b"kernel_initializer='he_normal'" in done.stdout
    assert done.stderr.decode().startswith("models/net.py:3:7: GL101 Dense with activation 'relu'")


def test_fix_of_code_that_does_not_parse_gives_it_back_unchanged(project: Path):
    data = b"from tensorflow import keras\nmodel = keras.Sequential([\n"
    done = gradlint("fix", "--stdin-filename", "models/net.py", "-", stdin=data, cwd=project)
    assert done.returncode == 2
    assert done.stdout == data
    assert b"GL001" in done.stderr


def test_notebook_on_stdin(project: Path):
    data = (FIXTURES / "mnist_mlp.ipynb").read_bytes()
    # The fixture's fixed lines run to 99 characters; this test is about the bytes kept, not
    # the layout of long calls.
    config = project / "pyproject.toml"
    config.write_text(config.read_text() + "line-length = 120\n")
    done = gradlint("check", "--stdin-filename", "models/mnist.ipynb", "-", stdin=data, cwd=project)
    assert done.returncode == 1
    assert done.stdout.decode().startswith("models/mnist.ipynb:cell 8:2:5: GL101")
    done = gradlint("fix", "--stdin-filename", "models/mnist.ipynb", "-", stdin=data, cwd=project)
    assert done.returncode == 0
    fixed = json.loads(done.stdout)
    assert "he_normal" in "".join(fixed["cells"][7]["source"])
    assert len(done.stdout.splitlines()) == len(data.splitlines())


def test_dash_cannot_be_mixed_with_paths(project: Path):
    done = gradlint("check", "-", "models", stdin=b"", cwd=project)
    assert done.returncode == 2
    assert b"cannot be combined" in done.stderr
