"""run_targets: what `gradlint check --runtime` merges into its report."""

from __future__ import annotations

from gradlint.runtime import ProbeOptions, options_from_table, run_targets


def test_findings_of_every_target_and_one_message_per_failure(fixture_target):
    options = options_from_table({"repeats": 1, "batch-size": 16})
    sigmoid = fixture_target("deep_sigmoid_mlp.py", "build_model")
    broken = fixture_target("bad_factories.py", "build_nothing")
    clean = fixture_target("deep_relu_mlp_he.py", "build_model")
    findings, errors = run_targets([sigmoid, broken, clean], options)
    assert {d.code for d in findings} == {"GR101"}
    assert all(d.filename.endswith("deep_sigmoid_mlp.py") for d in findings)
    assert errors == [f"{broken}: build_nothing() returned None, not a Keras model"]


def test_no_targets_no_work():
    assert run_targets([], ProbeOptions()) == ([], [])
