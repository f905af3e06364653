"""Target strings: what is a factory in a file, a module, a saved model (no TensorFlow needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradlint.runtime.errors import ProbeError
from gradlint.runtime.targets import parse_target, source_of

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "runtime"



@pytest.mark.parametrize(
    ("spec", "kind", "location", "factory"),
    [
        ("models/mlp.py:build_model", "file", "models/mlp.py", "build_model"),
        ("mlp.py:build_model", "file", "mlp.py", "build_model"),
        ("models/mlp:build_model", "file", "models/mlp", "build_model"),
        ("project.models.mlp:build_model", "module", "project.models.mlp", "build_model"),
        ("project.models:Factory.create", "module", "project.models", "Factory.create"),
        ("checkpoints/model.keras", "saved", "checkpoints/model.keras", None),
        ("model.h5", "saved", "model.h5", None),
        ("C:/models/model.keras", "saved", "C:/models/model.keras", None),
        ("C:/models/mlp.py:build", "file", "C:/models/mlp.py", "build"),
    ],
)
def test_targets_are_classified(spec, kind, location, factory):
    parsed = parse_target(spec)
    assert (parsed.kind, parsed.location, parsed.factory) == (kind, location, factory)
    assert parsed.spec == spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("models/mlp.py", "name the function that builds the model, e.g. models/mlp.py:build_model"),
        ("mlp.py:build-model", "'build-model' is not a function name"),
        ("mlp.py:", "'' is not a function name"),
        ("just-words", "not a target"),
        ("", "empty target"),
    ],
)
def test_malformed_targets_say_what_is_expected(spec, message):
    with pytest.raises(ProbeError, match=message):
        parse_target(spec)


def test_a_directory_is_explained_as_an_unsupported_saved_model(tmp_path):
    with pytest.raises(ProbeError, match="is a directory; Keras 3 loads .keras and .h5 files"):
        parse_target(str(tmp_path))


def test_the_source_of_a_file_target_is_read_without_running_it():
    path, text = source_of(parse_target(f"{FIXTURES / 'broken_import.py'}:build_model"))
    assert path.name == "broken_import.py"
    assert "keras_nonexistent_addons" in text  # read, not imported: no ImportError here


def test_a_saved_model_has_no_source():
    with pytest.raises(ProbeError, match="a saved model has no source code"):
        source_of(parse_target("model.keras"))
