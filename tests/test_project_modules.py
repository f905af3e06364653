"""Models built in one module of the project and trained in another: judged as one model,
and a cached result holds only while the modules it read are unchanged."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

MODELS = textwrap.dedent('''\
    import keras
    from keras import layers


    def build_lstm(vocab=10000):
        return keras.Sequential([
            layers.Embedding(vocab, 64),
            layers.LSTM(64),
            layers.Dense(1, activation="sigmoid"),
        ])


    def build_cnn():
        return keras.Sequential([
            layers.Conv1D(32, 3, activation="relu", kernel_initializer="he_normal"),
            layers.GlobalMaxPooling1D(),
            layers.Dense(1, activation="sigmoid"),
        ])
''')

TRAIN = textwrap.dedent('''\
    import keras
    from models import build_cnn, build_lstm

    model = build_lstm()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")

    cnn = build_cnn()
    cnn.compile(optimizer="adam", loss="binary_crossentropy")
''')


def gradlint(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradlint", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    (tmp_path / "models.py").write_text(MODELS)
    (tmp_path / "train.py").write_text(TRAIN)
    return tmp_path


def test_an_lstm_built_in_another_module_is_judged_where_it_is_compiled(project: Path):
    result = gradlint(project, "check", "--no-cache", "--output-format", "concise", ".")
    assert result.stdout.splitlines() == [
        "train.py:5:25: GL201 [*] LSTM model compiled with optimizer keras.optimizers.Adam(1e-3), "
        "which does not clip gradients; add clipnorm=1.0"]
    fixed = gradlint(project, "fix", "--write", "--no-cache", ".")
    assert fixed.returncode == 0, fixed.stderr
    fixed_text = (project / "train.py").read_text()
    assert "clipnorm=1.0" in fixed_text and fixed_text.count("keras.optimizers.Adam(") == 1
    assert (project / "models.py").read_text() == MODELS  # the other module is not touched


@pytest.mark.parametrize("imports, call", [
    ("import models", "models.build_lstm()"),
    ("import models as m", "m.build_lstm()"),
    ("from models import build_lstm as make", "make()"),
])
def test_every_import_form_reaches_the_module(project: Path, imports: str, call: str):
    (project / "train.py").write_text(
        f"import keras\n{imports}\n\nmodel = {call}\nmodel.compile(optimizer=keras.optimizers.Adam(1e-3))\n")
    result = gradlint(project, "check", "--no-cache", "--output-format", "concise", "train.py")
    assert result.stdout.count("GL201") == 1, result.stdout + result.stderr


def test_a_relative_import_in_a_package(tmp_path: Path):
    package = tmp_path / "textclf"
    package.mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(MODELS)
    (package / "train.py").write_text(TRAIN.replace("from models import", "from .models import"))
    result = gradlint(tmp_path, "check", "--no-cache", "--output-format", "concise", ".")
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == ["textclf/train.py"]


def test_a_library_of_the_same_name_elsewhere_is_not_read(tmp_path: Path):
    # No models.py beside train.py or under the root: the import is not the project's.
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    (tmp_path / "train.py").write_text(TRAIN)
    result = gradlint(tmp_path, "check", "--no-cache", ".")
    assert result.returncode == 0 and result.stdout == ""


def test_a_cached_result_is_checked_again_when_a_module_it_read_changes(project: Path):
    first = gradlint(project, "check", ".")
    assert first.returncode == 1 and "GL201" in first.stdout
    assert gradlint(project, "check", ".").stdout == first.stdout  # from the cache
    # train.py is unchanged, but the LSTM is gone from models.py: the cached finding must go.
    (project / "models.py").write_text(MODELS.replace("layers.LSTM(64)", "layers.GlobalAveragePooling1D()"))
    again = gradlint(project, "check", ".")
    assert again.returncode == 0 and again.stdout == ""


OPTIM = textwrap.dedent('''\
    import keras


    def make_optimizer(lr=1e-3):
        return keras.optimizers.Adam(learning_rate=lr)


    def make_clipped(lr=1e-3):
        return keras.optimizers.Adam(learning_rate=lr, clipnorm=1.0)
''')

# A training script that names no framework at all: everything comes from the project.
TRAIN_WITH_FACTORIES = textwrap.dedent('''\
    from models import build_cnn, build_lstm
    from optim import make_clipped, make_optimizer

    rnn = build_lstm()
    rnn.compile(optimizer=make_optimizer(3e-4), loss="binary_crossentropy")

    clipped = build_lstm()
    clipped.compile(optimizer=make_clipped(), loss="binary_crossentropy")

    cnn = build_cnn()
    cnn.compile(optimizer=make_optimizer(), loss="binary_crossentropy")
''')


def test_an_optimizer_factory_imported_from_another_module_is_followed(project: Path):
    (project / "optim.py").write_text(OPTIM)
    (project / "train.py").write_text(TRAIN_WITH_FACTORIES)
    result = gradlint(project, "check", "--no-cache", "--output-format", "concise", ".")
    # Only the LSTM with the unclipped factory: the clipped factory and the CNN are fine. The
    # finding is where train.py takes the optimizer, naming the constructor's file and line,
    # without a fix: checking train.py edits no other file.
    assert result.stdout.splitlines() == [
        "train.py:5:23: GL201 LSTM model compiled with optimizer keras.optimizers.Adam(learning_rate=lr) "
        "(returned by make_optimizer(), optim.py:5), which does not clip gradients; add clipnorm=1.0 there"]
    assert gradlint(project, "fix", "--write", "--no-cache", ".").returncode == 1
    assert (project / "optim.py").read_text() == OPTIM
    # Clipping in the factory clears the finding, even from a cached result of train.py.
    assert gradlint(project, "check", ".").returncode == 1
    (project / "optim.py").write_text(OPTIM.replace("Adam(learning_rate=lr)", "Adam(learning_rate=lr, clipnorm=1.0)"))
    again = gradlint(project, "check", ".")
    assert (again.returncode, again.stdout) == (0, ""), again.stdout + again.stderr


def test_an_unknown_imported_factory_is_listed_as_not_judged(project: Path):
    (project / "train.py").write_text(TRAIN_WITH_FACTORIES)  # no optim.py: a library's, not ours
    result = gradlint(project, "check", "--no-cache", "--explain-unknown", "train.py")
    assert [line.split(": ", 1)[1] for line in result.stdout.splitlines()] == [
        "rnn.compile not judged: optimizer cannot be known statically (make_optimizer(3e-4))",
        "clipped.compile not judged: optimizer cannot be known statically (make_clipped())",
    ]  # (the CNN has no recurrent layer: any optimizer suits it)


BLOCKS = textwrap.dedent('''\
    from tensorflow.keras import layers


    def dense_block(x, units, act="relu"):
        x = layers.Dense(units, activation=act)(x)
        return layers.Dropout(0.2)(x)


    def conv_bn(x, filters, act):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.Activation(act)(x)
''')

CLASSIFIER = textwrap.dedent('''\
    from tensorflow import keras

    from blocks import conv_bn, dense_block

    inputs = keras.Input((32, 32, 3))
    x = conv_bn(inputs, 32, "relu")
    x = keras.layers.Flatten()(x)
    x = dense_block(x, 256)
    x = dense_block(x, 128, act="tanh")
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
''')


def test_a_helper_imported_from_another_module_is_judged_at_each_call(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    (tmp_path / "blocks.py").write_text(BLOCKS)
    (tmp_path / "classifier.py").write_text(CLASSIFIER)
    result = gradlint(tmp_path, "check", "--no-cache", "--output-format", "concise", ".")
    # The default relu meets the helper's Glorot Dense: a finding at that call, naming the
    # layer's place. The tanh call fits Glorot; the BatchNorm-guarded conv fits anything.
    assert result.stdout.splitlines() == [
        "classifier.py:8:5: GL101 dense_block() gets activation 'relu' (its default) here for its Dense "
        "(blocks.py:5), which uses glorot_uniform (Keras default); relu wants He initialization: give "
        "dense_block() the initializer as a parameter too, and pass the one this activation wants"]
    # He in the helper: now the tanh call is the one that does not fit, at its argument.
    (tmp_path / "blocks.py").write_text(BLOCKS.replace("activation=act)", 'activation=act, kernel_initializer="he_normal")'))
    again = gradlint(tmp_path, "check", "--output-format", "concise", ".")
    assert [line.split(" GL101 ")[0] for line in again.stdout.splitlines()] == ["classifier.py:9:29:"]
    assert "gets activation 'tanh' here" in again.stdout and "wants Glorot" in again.stdout


def test_a_module_created_after_a_cached_check_is_read(tmp_path: Path):
    # train.py imports build_lstm from a models.py that does not exist yet: nothing to judge,
    # and the cached result must not outlive the module's arrival.
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    (tmp_path / "train.py").write_text(TRAIN)
    assert gradlint(tmp_path, "check", ".").stdout == ""
    (tmp_path / "models.py").write_text(MODELS)
    result = gradlint(tmp_path, "check", "--output-format", "concise", "train.py")
    assert [line.split(" ")[1] for line in result.stdout.splitlines()] == ["GL201"], result.stdout + result.stderr


def test_a_wrapped_recurrent_layer_of_another_module_is_named_with_its_wrapper(project: Path):
    (project / "models.py").write_text(MODELS.replace("layers.LSTM(64)", "layers.Bidirectional(layers.LSTM(64))"))
    result = gradlint(project, "check", "--no-cache", "--output-format", "concise", "train.py")
    assert "GL201 [*] Bidirectional(LSTM) model compiled with optimizer" in result.stdout, result.stdout
