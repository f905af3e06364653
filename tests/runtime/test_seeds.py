"""`--seeds N`: several seeds, how many show each finding, and the default by model size."""

from __future__ import annotations

import re

import pytest

from gradlint.diagnostics import Diagnostic, Position
from gradlint.runtime.results import LayerStats, ProbeReport
from gradlint.runtime.seeds import (
    DEFAULT_SEEDS,
    SMALL_MODEL_PARAMETERS,
    merge,
    probe_seeds,
    seed_count,
)
from gradlint.runtime.settings import ProbeOptions


def test_small_models_get_three_seeds_large_ones_one_and_a_request_wins():
    assert seed_count(None, 517)[0] == DEFAULT_SEEDS == 3
    assert seed_count(None, SMALL_MODEL_PARAMETERS)[0] == 3
    assert seed_count(None, SMALL_MODEL_PARAMETERS + 1) == (
        1, "1 seed by default: 100,001 parameters > 100,000 (--seeds N for more)")
    assert seed_count(None, None)[0] == 1
    assert seed_count(5, 10_000_000) == (5, "--seeds 5")


def _report(seed: int, findings: list[Diagnostic]) -> ProbeReport:
    layer = LayerStats(index=0, name="dense", type="Dense", activation="relu", initializer="he_uniform",
                       forward_rms=1.0, backward_signal=0.1, weight_grad_norm=0.1, weight_norm=1.0, relative_grad=0.1)
    return ProbeReport(target="m.py:f", filename="m.py", model_name="m", model_class="Sequential",
                       model_kind="sequential", layers=(layer,), loss="mse", loss_value=1.0, loss_non_finite=False,
                       inputs=(), batch_size=32, repeats=1, seed=seed, findings=tuple(findings), parameters=517)


def _dead(where: str) -> Diagnostic:
    return Diagnostic("GR104", f"dead ReLU stack: … ({where}); …", "m.py", Position(3, 1), Position(3, 1),
                      extra={"criterion": "dead_units", "headline": "dead ReLU stack", "where": where})


def test_merged_findings_name_their_seeds_and_the_summary_counts_them():
    reports = [_report(0, []), _report(1, [_dead("layers dense_7…dense_16, width 5")]), _report(2, []),
               _report(3, [_dead("layers dense_7…dense_16, width 5")])]
    merged = merge(reports, "--seeds 4")
    assert merged.seed == 0 and merged.layers == reports[0].layers
    [finding] = merged.findings
    assert finding.extra["seeds"] == [1, 3] and finding.extra["seed"] == 1 and finding.extra["seed_count"] == 4
    assert finding.message.endswith("[seed 1; in 2 of 4 seeds: 1, 3]")
    assert merged.seed_summary.lines() == [
        "GR104 dead ReLU stack in 2 of 4 seeds (seeds 1, 3; layers dense_7…dense_16, width 5)"]
    data = merged.to_dict()["seeds"]
    assert data["per_seed"] == [{"seed": 0, "findings": []}, {"seed": 1, "findings": ["GR104"]},
                                {"seed": 2, "findings": []}, {"seed": 3, "findings": ["GR104"]}]
    assert data["findings"][0]["count"] == 2


def test_different_spans_are_given_per_seed():
    reports = [_report(3, [_dead("layer dense_15, width 5")]), _report(4, [_dead("layers dense_12…dense_15, width 5")])]
    [line] = merge(reports, "--seeds 2").seed_summary.lines()
    assert line == ("GR104 dead ReLU stack in 2 of 2 seeds (seeds 3, 4; seed 3: layer dense_15, width 5; "
                    "seed 4: layers dense_12…dense_15, width 5)")


def test_one_seed_leaves_the_report_as_it_is():
    calls = []

    def probe(target, options, progress=None):
        calls.append(options.seed)
        return _report(options.seed, [])

    assert probe_seeds("m.py:f", ProbeOptions(seed=7), 1, probe=probe).seed_summary is None
    assert calls == [7]
    probe_seeds("m.py:f", ProbeOptions(seed=7), None, probe=probe)  # 517 parameters: the default 3
    assert calls == [7, 7, 8, 9]


@pytest.fixture(scope="module")
def five_seeds(run_probe, fixture_target):
    target = fixture_target("narrow_relu_stack.py", "build_model")
    return target, run_probe(target, "--seeds", "5", "--repeats", "1", "--output-format", "json")


def test_each_seed_reports_what_probing_it_alone_reports(five_seeds, run_probe):
    target, result = five_seeds
    data = result.json()
    assert data["seeds"]["seeds"] == [0, 1, 2, 3, 4] and data["seeds"]["reason"] == "--seeds 5"
    for entry in data["seeds"]["per_seed"]:
        alone = run_probe(target, "--seed", str(entry["seed"]), "--seeds", "1", "--repeats", "1",
                          "--output-format", "json").json()
        assert alone["seeds"] is None
        assert entry["findings"] == [f["code"] for f in alone["findings"]]


def test_the_dead_stack_is_counted_over_the_seeds_that_show_it(five_seeds, run_probe):
    target, result = five_seeds
    data = result.json()
    dead = [e["seed"] for e in data["seeds"]["per_seed"] if "GR104" in e["findings"]]
    assert dead  # the stack dies at some of seeds 0–4
    [gr104] = [f for f in data["seeds"]["findings"] if f["code"] == "GR104"]
    assert gr104["seeds"] == dead and gr104["count"] == len(dead)
    # A finding at any seed is a finding: exit 1, even when seed 0 itself is healthy.
    assert result.exit_code == 1
    text = run_probe(target, "--seeds", "5", "--repeats", "1").stdout
    match = re.search(r"GR104 dead ReLU stack in (\d) of 5 seeds \(seeds? [\d, ]+; .*width 5\)", text)
    assert match and int(match.group(1)) == len(dead)


def test_seeds_do_not_apply_to_confirm(run_probe, fixture_target):
    result = run_probe(fixture_target("narrow_relu_stack.py", "build_model"), "--confirm", "--seeds", "3")
    assert result.exit_code == 2
    assert "--seeds does not apply to --confirm" in result.stderr


def test_a_model_above_the_size_limit_is_probed_at_one_seed_by_default(run_probe, fixture_target):
    data = run_probe(fixture_target("deep_relu_mlp_he.py", "build_model"), "--repeats", "1",
                     "--output-format", "json").json()
    assert data["parameters"] > SMALL_MODEL_PARAMETERS
    assert data["seeds"] is None and data["seed"] == 0
