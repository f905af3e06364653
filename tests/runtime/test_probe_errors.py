"""Everything that can go wrong with a target: a clear message naming it, exit 2, and a
traceback only with --verbose."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("file", "factory", "message"),
    [
        ("broken_import.py", "build_model",
         "importing {path} failed: ModuleNotFoundError: No module named 'keras_nonexistent_addons'"),
        ("bad_factories.py", "build_model_raises",
         "calling build_model_raises() raised ValueError: unknown dataset 'imagenet-2'"),
        ("bad_factories.py", "build_layer", "build_layer() returned a Dense layer, not a Keras model"),
        ("bad_factories.py", "build_nothing", "build_nothing() returned None, not a Keras model"),
        ("bad_factories.py", "build_with_arguments",
         "missing 1 required positional argument: 'depth'; the factory is called with no arguments"),
        ("bad_factories.py", "NOT_A_FUNCTION", "'NOT_A_FUNCTION' is an int, not a function"),
        ("bad_factories.py", "build_modle",
         "has no attribute 'build_modle'; functions defined there: build_layer, build_model_raises"),
        ("bad_factories.py", "build_without_input",
         "cannot determine the input shape (the Sequential model has no Input layer); pass --input-shape"),
        ("no_such_file.py", "build_model", "file not found"),
    ],
)
def test_a_target_that_cannot_be_probed_is_exit_2_with_a_message_naming_it(
        run_probe, fixture_target, file, factory, message):
    target = fixture_target(file, factory)
    result = run_probe(target)
    assert result.exit_code == 2
    assert result.stdout == ""
    path = target.rpartition(":")[0]
    assert result.stderr.startswith(f"error: {target}: ")
    assert message.format(path=path) in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("fixtures/runtime/deep_relu_mlp.py", "name the function that builds the model"),
        ("no_such_package.models:build_model", "no module named 'no_such_package.models'"),
        ("checkpoints/missing.keras", "checkpoints/missing.keras: file not found"),
    ],
)
def test_malformed_or_missing_targets(run_probe, target, message):
    result = run_probe(target)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_verbose_shows_the_user_code_traceback(run_probe, fixture_target):
    result = run_probe(fixture_target("bad_factories.py", "build_model_raises"), "--verbose")
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert 'raise ValueError("unknown dataset \'imagenet-2\'")' in result.stderr


def test_a_wrong_input_shape_reports_what_keras_said(run_probe, fixture_target):
    result = run_probe(fixture_target("bad_factories.py", "build_without_input"), "--input-shape", "7")
    assert result.exit_code == 2
    assert "building the model for input shape (7,) failed: ValueError:" in result.stderr
    assert "The total size of the tensor must be unchanged" in result.stderr


def test_a_saved_file_that_is_not_a_model(run_probe, tmp_path):
    bogus = tmp_path / "model.keras"
    bogus.write_text("not a zip archive")
    result = run_probe(str(bogus))
    assert result.exit_code == 2
    assert f"error: {bogus}: cannot load the saved model:" in result.stderr


def test_one_failing_target_does_not_hide_the_others(run_probe, fixture_target):
    good = fixture_target("deep_relu_mlp_he.py", "build_model")
    bad = fixture_target("bad_factories.py", "build_layer")
    result = run_probe(bad, good, "--repeats", "1")
    assert result.exit_code == 2
    assert "returned a Dense layer" in result.stderr
    assert "No gradient problems found." in result.stdout


def test_usage_errors_come_before_tensorflow_loads(run_probe, tmp_path):
    assert "no target" in run_probe().stderr
    result = run_probe("model.py:build", "--plot", str(tmp_path / "plot.pdf"))
    assert result.exit_code == 2 and "must end in .png or .svg" in result.stderr
    result = run_probe("model.py:build", "--input-shape", "28,x")
    assert result.exit_code == 2 and "bad dimension 'x'" in result.stderr


def test_runtime_settings_are_read_from_the_configuration(run_probe, tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.gradlint.runtime]\ntargets = ["not-a-target"]\n')
    result = run_probe("--config", str(config))
    assert result.exit_code == 2 and "error: not-a-target: not a target" in result.stderr
    config.write_text('[tool.gradlint.runtime]\nbatch_size = 8\n')
    result = run_probe("model.py:build", "--config", str(config))
    assert result.exit_code == 2
    assert f"{config}: unknown key 'batch_size' in [tool.gradlint.runtime] (did you mean 'batch-size'?)" in result.stderr
