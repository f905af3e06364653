"""The model's declared input shapes are honoured; --input-shape fills only what is open."""

from __future__ import annotations

import pytest

from gradlint.runtime.inputs import DEFAULT_SEQUENCE_LENGTH


@pytest.fixture(scope="module")
def shapes(fixture_target):
    return lambda factory: fixture_target("declared_shapes.py", factory)


def test_a_declared_length_is_the_length_probed(run_probe, shapes):
    result = run_probe(shapes("build_text_classifier"), "--output-format", "json", "--repeats", "1", "--seeds", "1")
    assert result.exit_code == 0, result.stderr
    assert result.json()["inputs"] == ["input_layer (32, 200) int in [0, 1000)"]


def test_an_input_shape_contradicting_a_declared_length_is_an_error_naming_both(run_probe, shapes):
    target = shapes("build_text_classifier")
    result = run_probe(target, "--input-shape", "20", "--repeats", "1")
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: {target}: --input-shape (20,) contradicts input 'input_layer', "
                           f"declared as (200,) per sample (dimension 1 is 200, not 20)")


def test_a_contradicted_channel_count_is_named_by_its_dimension(run_probe, shapes):
    result = run_probe(shapes("build_image_classifier"), "--input-shape", "32,32,1")
    assert result.exit_code == 2
    assert ("--input-shape (32, 32, 1) contradicts input 'image', declared as (32, 32, 3) per sample "
            "(dimension 3 is 3, not 1)") in result.stderr


def test_an_input_shape_that_agrees_or_says_none_is_accepted(run_probe, shapes):
    for given in ("200", "None", "None,200"):  # the last with its batch dimension
        result = run_probe(shapes("build_text_classifier"), "--input-shape", given, "--output-format", "json",
                           "--repeats", "1", "--seeds", "1")
        assert result.exit_code == 0, (given, result.stderr)
        assert result.json()["inputs"] == ["input_layer (32, 200) int in [0, 1000)"]


def test_a_sequence_model_with_an_open_length_gets_the_default_and_says_so(run_probe, shapes):
    result = run_probe(shapes("build_any_length_signal_model"), "--repeats", "1", "--seeds", "1")
    assert result.exit_code == 0, result.stderr
    expected = (f"signal (32, {DEFAULT_SEQUENCE_LENGTH}, 8) float32 "
                f"(default sequence length {DEFAULT_SEQUENCE_LENGTH}; --input-shape sets it)")
    assert expected in result.stdout
    given = run_probe(shapes("build_any_length_signal_model"), "--input-shape", "40,None", "--output-format", "json",
                      "--repeats", "1", "--seeds", "1")
    assert given.exit_code == 0, given.stderr
    assert given.json()["inputs"] == ["signal (32, 40, 8) float32"]


def test_open_image_dimensions_still_need_an_input_shape(run_probe, shapes):
    target = shapes("build_any_size_image_model")
    result = run_probe(target)
    assert result.exit_code == 2
    assert "input 'image' has shape (None, None, 3) per sample; pass --input-shape" in result.stderr
    result = run_probe(target, "--input-shape", "24,24,3", "--output-format", "json", "--repeats", "1", "--seeds", "1")
    assert result.exit_code == 0, result.stderr
    assert result.json()["inputs"] == ["image (32, 24, 24, 3) float32"]
