"""The reference behaviour, on real TensorFlow/Keras models built from fixtures/runtime.

Measured with TensorFlow 2.21 / Keras 3: 30 Dense(256, relu) + a head have a first/last
backward-signal ratio near 4e-5 with the default initializer and near 1 with he_normal;
30 sigmoid layers: ~0; 20 ReLU layers with RandomNormal(stddev=0.5): activations ~1e16.
"""

from __future__ import annotations

import pytest

from gradlint.report.json_format import diagnostic_json
from gradlint.runtime.session import probe_target
from gradlint.runtime.settings import ProbeOptions


@pytest.fixture(scope="module")
def reports(fixture_target):
    """Each reference model probed once, with the default options (batch 32, 3 repeats, seed 0)."""
    cache = {}

    def get(file: str):
        if file not in cache:
            cache[file] = probe_target(fixture_target(file, "build_model"), ProbeOptions())
        return cache[file]

    return get


def codes(report):
    return sorted({d.code for d in report.findings})


def test_deep_relu_with_default_init_vanishes(reports):
    report = reports("deep_relu_mlp.py")
    assert 1e-5 < report.backward_ratio() < 2e-4  # reference: ~4e-5
    assert codes(report) == ["GR101"]
    [finding] = report.findings
    assert finding.extra["criterion"] == "backward_ratio"
    assert "dense (layer 1)" in finding.message and "dense_29 (layer 30)" in finding.message
    # The static rule that explains it, on the line of the Dense call in the loop.
    assert finding.message.endswith("(explained by GL101 at line 18)")


def test_deep_relu_rows_describe_every_weighted_layer_in_model_order(reports):
    report = reports("deep_relu_mlp.py")
    assert len(report.layers) == 31
    assert [layer.name for layer in report.layers[:3]] == ["dense", "dense_1", "dense_2"]
    assert {(layer.type, layer.activation, layer.initializer) for layer in report.layers[:30]} == {
        ("Dense", "relu", "glorot_uniform")}
    assert report.layers[-1].activation == "softmax" and report.layers[-1].head
    assert not any(layer.head for layer in report.layers[:30])
    # Forward RMS shrinks by ~√2 per ReLU layer; backward signal grows towards the output.
    forward = [layer.forward_rms for layer in report.layers[:30]]
    backward = [layer.backward_signal for layer in report.layers[:30]]
    assert forward[-1] < forward[0] * 1e-3
    assert backward == sorted(backward)
    assert report.loss == "sparse_categorical_crossentropy (compiled)"
    assert report.inputs == ("input_layer (32, 784) float32",)


def test_the_finding_points_at_the_factory(reports, fixture_target):
    report = reports("deep_relu_mlp.py")
    [finding] = report.findings
    assert finding.filename.endswith("fixtures/runtime/deep_relu_mlp.py")
    assert finding.location.row == 14  # def build_model():


def test_deep_relu_with_he_init_is_clean(reports):
    report = reports("deep_relu_mlp_he.py")
    assert 0.3 < report.backward_ratio() < 3  # reference: ~1
    assert report.findings == ()
    relative = [layer.relative_grad for layer in report.layers]
    assert min(relative) > 1e-3  # every layer would learn


def test_deep_sigmoid_vanishes(reports):
    report = reports("deep_sigmoid_mlp.py")
    assert report.backward_ratio() < 1e-10  # reference: ~0
    assert codes(report) == ["GR101"]
    criteria = {d.extra["criterion"] for d in report.findings}
    assert criteria == {"backward_ratio", "relative_grad"}


def test_large_stddev_explodes(reports):
    report = reports("large_stddev_mlp.py")
    assert set(codes(report)) & {"GR102", "GR103"}
    assert max(layer.forward_rms for layer in report.layers) > 1e12  # reference: ~1e16
    growth = next(d for d in report.findings if d.extra["criterion"] == "forward_growth")
    assert "forward RMS grows from" in growth.message and "at dense_19" in growth.message
    assert report.layers[0].initializer == "random_normal(stddev=0.5)"


def test_cli_json_carries_the_same_numbers_and_check_shaped_findings(reports, run_probe, fixture_target, tmp_path):
    plot = tmp_path / "signal.png"
    result = run_probe(fixture_target("deep_relu_mlp.py", "build_model"), "--output-format", "json",
                       "--plot", str(plot))
    assert result.exit_code == 1
    data = result.json()
    report = reports("deep_relu_mlp.py")
    assert data["target"] == report.target
    assert [layer["backward_signal"] for layer in data["layers"][:30]] == [
        layer.backward_signal for layer in report.layers[:30]]  # same seed, same numbers
    assert data["findings"] == [diagnostic_json(d) for d in report.findings]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_text_for_a_clean_model(run_probe, fixture_target):
    result = run_probe(fixture_target("deep_relu_mlp_he.py", "build_model"), "--repeats", "1")
    assert result.exit_code == 0, result.stderr
    assert "medians of 1 batch, seed 0" in result.stdout
    assert result.stdout.rstrip().endswith("No gradient problems found.")
    assert " 30  dense_29  Dense  relu        he_normal" in result.stdout


def test_thresholds_on_the_command_line(run_probe, fixture_target):
    result = run_probe(fixture_target("deep_sigmoid_mlp.py", "build_model"), "--vanishing-ratio", "1e-30",
                       "--min-relative-grad", "0", "--repeats", "1", "--batch-size", "8")
    assert result.exit_code == 0, result.stdout


def test_ignored_codes_are_not_reported(run_probe, fixture_target, tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.gradlint]\nignore = ["GR101"]\n')
    result = run_probe(fixture_target("deep_sigmoid_mlp.py", "build_model"), "--config", str(config),
                       "--repeats", "1", "--batch-size", "8")
    assert result.exit_code == 0, result.stdout
    assert "No gradient problems found." in result.stdout
