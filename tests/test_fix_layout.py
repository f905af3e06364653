"""Fixes that formatters keep: a black-formatted file is still black-clean after `fix --write`."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint.cli import main
from gradlint.config import load_settings
from gradlint.engine import fix_source

# Each source is black-formatted, and its fix makes a line longer than 88 characters.
CASES = {
    "GL101 added initializer": ("GL101", """\
        import keras
        from keras import layers


        def build(units: int = 64) -> keras.Model:
            return keras.Sequential(
                [
                    layers.Dense(units, activation="selu", kernel_regularizer="l2", name="h1"),
                    layers.Dense(1),
                ]
            )
        """),
    "GL101 replaced initializer": ("GL101", """\
        import keras
        from keras import layers

        encoder = layers.Dense(256, activation="tanh", kernel_initializer="he_normal", name="e")
        """),
    "GL103": ("GL103", """\
        import keras
        from keras import layers

        model = keras.Sequential(
            [
                keras.Input(shape=(20,)),
                layers.Dense(100, activation="tanh", kernel_initializer="zeros", name="h_1"),
                layers.Dense(1),
            ]
        )
        """),
    "GL201 clipnorm added to a constructor": ("GL201", """\
        import keras
        from keras import layers

        model = keras.Sequential([layers.LSTM(64), layers.Dense(1)])
        optimizer = keras.optimizers.Adam(learning_rate=3e-4, beta_1=0.9, amsgrad=True)
        model.compile(optimizer=optimizer, loss="mse")
        """),
    "GL201 string to class call": ("GL201", """\
        import keras
        from keras import layers

        model = keras.Sequential([layers.LSTM(64), layers.Dense(1)])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "auc"])
        """),
    "GL202 added clip line": ("GL202", """\
        import tensorflow as tf

        model = tf.keras.Sequential([tf.keras.layers.LSTM(128), tf.keras.layers.Dense(1)])
        optimizer = tf.keras.optimizers.Adam(1e-3)


        class Trainer:
            def step(self, x, y):
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean(tf.square(y - model(x, training=True)))
                variables = model.trainable_variables
                encoder_decoder_gradients = tape.gradient(loss, variables)
                optimizer.apply_gradients(zip(encoder_decoder_gradients, variables))
                return loss
        """),
    "GL302": ("GL302", """\
        import keras
        from keras import layers

        model = keras.Sequential(
            [
                layers.Dense(300, activation="selu", kernel_initializer="lecun_normal"),
                layers.Dropout(rate=0.2, noise_shape=None, seed=1234567890, name="dropout1"),
                layers.Dense(10, activation="softmax"),
            ]
        )
        """),
    "GL201 optimizer added before the one row of arguments": ("GL201", """\
        import keras
        from keras import layers

        char_gru = keras.Sequential([layers.Embedding(96, 64), layers.GRU(256)])
        char_gru.compile(
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["acc"]
        )  # the row of arguments, as black writes a call too long for one line
        """),
    "GL101 in the one row of arguments, with a nested call": ("GL101", """\
        import keras
        from keras import initializers

        e = keras.layers.Dense(
            8, activation="tanh", kernel_initializer=initializers.VarianceScaling(2.0, "fan_in")
        )
        """),
    "GL101 on a line with a comment": ("GL101", """\
        import keras

        model = keras.Sequential(
            [
                keras.layers.Flatten(input_shape=(28, 28)),
                keras.layers.Dense(512, activation="relu"),  # the first hidden layer, 512 wide
                keras.layers.Dense(10),
            ]
        )
        """),
    "GL101 on a functional call": ("GL101", """\
        import keras
        from keras import layers

        inputs = keras.Input(shape=(256,))
        x = layers.Dense(256, activation="relu", kernel_regularizer="l2", name="dense")(inputs)
        """),
}


def _black(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "black", "--check", "--diff", "-q", str(path)],
                          capture_output=True, text=True, check=False, cwd=path.parent)


def _project(tmp_path: Path, source: str, table: str = "[tool.gradlint]\n") -> Path:
    (tmp_path / "pyproject.toml").write_text(table)
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(source))
    return path


def _fix(path: Path, code: str):
    return CliRunner().invoke(main, ["fix", "--write", "--unsafe-fixes", "--no-cache", "--select", code, str(path)])


@pytest.mark.parametrize("case", sorted(CASES))
def test_black_leaves_every_fix_kind_as_gradlint_wrote_it(tmp_path: Path, case: str):
    code, source = CASES[case]
    path = _project(tmp_path, source)
    assert _black(path).returncode == 0, "the input is black-formatted"
    before = path.read_text()
    result = _fix(path, code)
    assert result.exit_code == 0, result.output
    after = path.read_text()
    assert after != before
    assert max(len(line) for line in after.splitlines()) <= 88
    black = _black(path)
    assert black.returncode == 0, black.stdout
    assert CliRunner().invoke(main, ["check", "--no-cache", "--select", code, str(path)]).exit_code == 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_without_room_to_lay_out_the_line_would_be_too_long(tmp_path: Path, case: str):
    """What the cases above guard against: the fix, written inline, passes 88 characters."""
    code, source = CASES[case]
    path = _project(tmp_path, source, "[tool.gradlint]\nline-length = 1000\n")
    assert _fix(path, code).exit_code == 0
    assert max(len(line) for line in path.read_text().splitlines()) > 88


def test_the_edited_call_gets_one_argument_per_line_in_its_own_indentation(tmp_path: Path):
    path = _project(tmp_path, CASES["GL201 string to class call"][1])
    _fix(path, "GL201")
    assert path.read_text().endswith(
        "model.compile(\n"
        "    optimizer=keras.optimizers.Adam(clipnorm=1.0),\n"
        '    loss="binary_crossentropy",\n'
        '    metrics=["accuracy", "auc"],\n'
        ")\n")


def test_a_nested_call_splits_its_brackets_as_black_does(tmp_path: Path):
    path = _project(tmp_path, CASES["GL101 added initializer"][1])
    _fix(path, "GL101")
    assert (
        "            layers.Dense(\n"
        "                units,\n"
        '                activation="selu",\n'
        '                kernel_initializer="lecun_normal",\n'
        '                kernel_regularizer="l2",\n'
        '                name="h1",\n'
        "            ),\n") in path.read_text()


def test_a_fix_that_fits_keeps_the_line_as_it_is(tmp_path: Path):
    path = _project(tmp_path, "import keras\nlayer = keras.layers.Dense(64, activation='relu')\n")
    _fix(path, "GL101")
    assert path.read_text() == "import keras\nlayer = keras.layers.Dense(64, activation='relu', kernel_initializer='he_normal')\n"


def test_a_line_too_long_before_the_fix_is_not_laid_out(tmp_path: Path):
    long = "layer = keras.layers.Dense(64, activation='relu', name='a_rather_long_layer_name_that_runs_on')\n"
    path = _project(tmp_path, "import keras\n" + long)
    _fix(path, "GL101")
    assert path.read_text().count("\n") == 2


@pytest.mark.parametrize(("table", "expected"), [
    ("[tool.gradlint]\nline-length = 100\n[tool.ruff]\nline-length = 120\n", 100),
    ("[tool.gradlint]\n[tool.ruff]\nline-length = 120\n[tool.black]\nline-length = 79\n", 120),
    ("[tool.gradlint]\n[tool.black]\nline-length = 79\n", 79),
    ("[tool.gradlint]\n", 88),
])
def test_the_line_length_comes_from_gradlint_else_ruff_else_black(tmp_path: Path, table: str, expected: int):
    (tmp_path / "pyproject.toml").write_text(table)
    assert load_settings(None, tmp_path).line_length == expected


def test_black_line_length_is_the_one_fixes_keep(tmp_path: Path):
    source = 'import keras\n\nlayer = keras.layers.Dense(64, activation="relu")\n'
    path = _project(tmp_path, source, "[tool.gradlint]\n[tool.black]\nline-length = 60\n")
    assert _black(path).returncode == 0
    _fix(path, "GL101")
    assert path.read_text() == ('import keras\n\nlayer = keras.layers.Dense(\n    64,\n    activation="relu",\n'
                                '    kernel_initializer="he_normal",\n)\n')
    assert _black(path).returncode == 0


def test_a_bad_line_length_is_an_error_naming_the_key(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\nline-length = 0\n")
    (tmp_path / "m.py").write_text("import keras\n")
    result = CliRunner().invoke(main, ["check", "--no-cache", str(tmp_path / "m.py")])
    assert result.exit_code == 2
    assert "line-length must be an integer of at least 1" in result.stderr


def test_an_argument_after_a_line_of_arguments_ending_in_a_comma_is_not_over_indented():
    source = ("import keras\n"
              "layer = keras.layers.Dense(\n"
              "    64, activation='relu',\n"
              ")\n")
    fixed = fix_source(source, "m.py").source
    assert fixed == ("import keras\n"
                     "layer = keras.layers.Dense(\n"
                     "    64, activation='relu',\n"
                     "    kernel_initializer='he_normal',\n"
                     ")\n")


def test_an_argument_after_the_opening_line_ending_in_a_comma_goes_one_step_deeper():
    source = ("import keras\n"
              "layer = keras.layers.Dense(64, activation='relu',\n"
              ")\n")
    fixed = fix_source(source, "m.py").source
    assert "\n    kernel_initializer='he_normal',\n)" in fixed


def test_crlf_is_kept_in_the_laid_out_lines(tmp_path: Path):
    path = _project(tmp_path, "")
    source = textwrap.dedent(CASES["GL201 string to class call"][1]).replace("\n", "\r\n")
    path.write_bytes(source.encode())
    _fix(path, "GL201")
    data = path.read_bytes()
    assert b"model.compile(\r\n    optimizer=keras.optimizers.Adam(clipnorm=1.0),\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
