"""What a check judged and what it could not see: `--statistics` counts, `--explain-unknown`
places and reasons, the note for a Keras file with no recognised layer, and all of it kept
right through the cache and in notebooks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from gradlint.cli import main

# A project as one finds them: a helper whose activation comes from callers that are not in
# this file, layers configured from a dict read at run time, a BatchNorm-guarded convolution
# whose activation is a parameter (nothing to judge: BN cancels the kernel's scale), a layer
# class gradlint does not know, and two models compiled with an optimizer passed in: any
# optimizer suits the CNN, but the LSTM's clipping cannot be known.
BLOCKS_PY = """\
import json

from tensorflow import keras
from tensorflow.keras import layers

CONFIG = json.load(open("config.json"))


def dense_block(x, units, act):
    return layers.Dense(units, activation=act)(x)


def conv_bn(x, filters, activation):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation(activation)(x)


def build(optimizer):
    inputs = keras.Input((32, 32, 3))
    x = conv_bn(inputs, 32, CONFIG["act"])
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu", kernel_initializer="he_normal")(x)
    x = layers.Dense(64, activation=CONFIG["hidden_act"])(x)
    x = layers.FancyProjection(16)(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def build_tagger(optimizer):
    model = keras.Sequential([layers.Embedding(20000, 64), layers.LSTM(64), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    return model
"""

# Everything visible: the same report has nothing to explain here.
CLEAN_PY = """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    keras.Input((784,)),
    layers.Dense(256, activation="relu", kernel_initializer="he_normal"),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
"""


def cli(cwd: Path, *args: str):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "blocks.py").write_text(BLOCKS_PY)
    (tmp_path / "clean.py").write_text(CLEAN_PY)
    return tmp_path


def test_explain_unknown_lists_each_place_and_why(project: Path):
    result = cli(project, "check", "--explain-unknown", "--no-cache", ".")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "blocks.py:10:12: Dense not judged: activation is a parameter that no call in its module passes "
        "(other modules' calls are judged there) (`act` of dense_block())",
        'blocks.py:24:9: Dense not judged: activation comes from a configuration object or mapping '
        '(CONFIG["hidden_act"])',
        "blocks.py:25:9: FancyProjection not judged: layer class is not one gradlint knows "
        "(keras.layers.FancyProjection)",
        "blocks.py:34:5: model.compile not judged: optimizer cannot be known statically (optimizer)",
    ]


def test_statistics_count_what_was_judged_per_family(project: Path):
    result = cli(project, "check", "--statistics", "--no-cache", ".")
    assert result.exit_code == 0, result.output
    # blocks.py: the guarded Conv2D, the he_normal Dense, the softmax and sigmoid heads and the
    # CNN's compile are judged; clean.py: both layers and its compile.
    assert result.stdout.splitlines() == [
        "Judged 6 of 9 layer calls; 2 of 3 compiles.",
        "Not judged:",
        "  1 layer calls  activation comes from a configuration object or mapping",
        "  1 layer calls  activation is a parameter that no call in its module passes (other modules' calls are judged there)",
        "  1 layer calls  layer class is not one gradlint knows",
        "  1 compiles     optimizer cannot be known statically",
        "(--explain-unknown lists them with their places)",
    ]
    data = json.loads(cli(project, "check", "--statistics", "--no-cache", "--output-format", "json", ".").stdout)
    assert data["coverage"]["layers"] == {
        "judged": 6, "total": 9,
        "not_judged": {"activation-config": 1, "activation-parameter": 1, "layer-class": 1},
    }
    assert data["coverage"]["training"] == {"judged": 2, "total": 3, "not_judged": {"optimizer-unknown": 1}}


def test_a_known_caller_turns_an_unknown_into_a_judgement(project: Path):
    text = BLOCKS_PY + '\n\ndef head(x):\n    return dense_block(x, 10, "tanh")\n'
    (project / "blocks.py").write_text(text)
    places = cli(project, "check", "--explain-unknown", "--no-cache", "blocks.py").stdout
    assert "dense_block" not in places
    assert "Judged 5 of 7 layer calls" in cli(project, "check", "--statistics", "--no-cache", "blocks.py").stdout


def test_a_warm_run_explains_the_same_and_a_fix_entry_is_not_taken_for_a_check(project: Path):
    (project / "mlp.py").write_text(CLEAN_PY.replace(', kernel_initializer="he_normal"', ""))
    cold = cli(project, "check", "--explain-unknown", "--exit-zero", ".")
    warm = cli(project, "check", "--explain-unknown", "--exit-zero", ".")
    assert warm.stdout == cold.stdout and "FancyProjection" in warm.stdout
    # A fix caches results without coverage; the statistics that follow still count them.
    assert cli(project, "fix", ".").exit_code == 1
    stats = cli(project, "check", "--statistics", "--exit-zero", ".").stdout
    assert "Judged 8 of 11 layer calls; 3 of 4 compiles." in stats


def test_damaged_coverage_in_the_cache_is_recomputed(project: Path):
    cli(project, "check", "--exit-zero", ".")
    [results] = (project / ".gradlint_cache").glob("results-*.json")
    header, body = results.read_text().split("\n", 1) if not results.read_text().startswith("{") else ("", results.read_text())
    data = json.loads(body)
    for entry in data["entries"].values():
        entry["coverage"] = {"judged": {"layers": "many"}, "unseen": [], "keras_unseen": False}
    results.write_text((header + "\n" if header else "") + json.dumps(data))
    result = cli(project, "check", "--statistics", "--exit-zero", ".")
    assert result.exit_code == 0 and "Judged 6 of 9 layer calls" in result.stdout


def test_notebook_places_name_their_cell(tmp_path: Path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Sweep"),
        nbformat.v4.new_code_cell("from tensorflow import keras\nfrom tensorflow.keras import layers"),
        nbformat.v4.new_code_cell("%matplotlib inline\nact = params['act']\n"
                                  "model = keras.Sequential([keras.Input((8,)), layers.Dense(4, activation=act)])"),
    ]
    nbformat.write(notebook, tmp_path / "sweep.ipynb")
    result = cli(tmp_path, "check", "--explain-unknown", "--no-cache", "sweep.ipynb")
    assert result.stdout == ("sweep.ipynb:cell 3:3:46: Dense not judged: activation is computed at run time (act)\n")


def test_a_keras_file_with_no_recognised_layer_gets_a_note_not_a_finding(tmp_path: Path):
    # Layers reached through a variable gradlint cannot follow: the file builds a model, unseen.
    (tmp_path / "dynamic.py").write_text(
        "import tensorflow as tf\n\n"
        "LAYERS = {'dense': tf.keras.layers.Dense}\n\n"
        "def make(kind, units):\n    return LAYERS[kind](units, activation='relu')\n\n"
        "def build():\n    cls = getattr(tf.keras.layers, 'Dense')\n    return cls(4)\n"
    )
    # A training script that only loads a model and uses callbacks: nothing to see, no note.
    (tmp_path / "train.py").write_text(
        "from tensorflow import keras\n\nmodel = keras.models.load_model('m.keras')\n"
        "model.fit(x, y, callbacks=[keras.callbacks.EarlyStopping()])\n"
    )
    result = cli(tmp_path, "check", "--no-cache", ".")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == ("note: dynamic.py: imports Keras, but no layer gradlint knows is built in it; "
                             "its models were not checked\n")
    for quiet in (("-q",), ("--output-format", "json")):
        assert cli(tmp_path, "check", "--no-cache", *quiet, ".").stderr == ""


@pytest.mark.parametrize("args", [("--statistics",), ("--output-format", "sarif"), ("--output-format", "github")])
def test_explain_unknown_is_a_list_or_json_only(project: Path, args: tuple[str, ...]):
    result = cli(project, "check", "--explain-unknown", *args, ".")
    assert result.exit_code == 2 and "--explain-unknown" in result.output


def test_explain_unknown_as_json(project: Path):
    rows = json.loads(cli(project, "check", "--explain-unknown", "--no-cache", "--output-format", "json", ".").stdout)
    assert [(r["filename"], r["row"], r["reason"]) for r in rows] == [
        ("blocks.py", 10, "activation-parameter"), ("blocks.py", 24, "activation-config"),
        ("blocks.py", 25, "layer-class"), ("blocks.py", 34, "optimizer-unknown"),
    ]
    assert rows[0]["detail"] == "`act` of dense_block()" and rows[0]["cell"] is None
