"""The torch_api tables and the fans the graph computes agree with PyTorch itself, where it is
installed (the static path never imports it; this test does, to check the tables)."""

from __future__ import annotations

import math

import pytest

from torch_helpers import graph_of

from gradlint.torch_api.initializers import DEFAULT_SCALE, calculate_gain, truncated_normal_moments

torch = pytest.importorskip("torch")
nn = torch.nn


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None),
])
def test_calculate_gain(nonlinearity, param):
    assert calculate_gain(nonlinearity, param) == pytest.approx(nn.init.calculate_gain(nonlinearity, param))


@pytest.mark.parametrize("source, build", [
    ("nn.Linear(300, 40)", lambda: nn.Linear(300, 40)),
    ("nn.Conv2d(16, 32, 3)", lambda: nn.Conv2d(16, 32, 3)),
    ("nn.Conv2d(16, 32, kernel_size=(3, 5), groups=4)", lambda: nn.Conv2d(16, 32, kernel_size=(3, 5), groups=4)),
    ("nn.Conv1d(8, 4, 7)", lambda: nn.Conv1d(8, 4, 7)),
    ("nn.Conv3d(2, 6, 3)", lambda: nn.Conv3d(2, 6, 3)),
    ("nn.ConvTranspose2d(64, 32, 4, stride=2)", lambda: nn.ConvTranspose2d(64, 32, 4, stride=2)),
    ("nn.ConvTranspose1d(12, 6, 5, groups=3)", lambda: nn.ConvTranspose1d(12, 6, 5, groups=3)),
])
def test_fans_are_the_ones_torch_initializes_with(source, build):
    (layer,) = graph_of(f"import torch.nn as nn\nlayer = {source}\n").torch.layers
    expected = nn.init._calculate_fan_in_and_fan_out(build().weight)
    assert (layer.fan_in, layer.fan_out) == expected


def test_the_default_init_has_a_gain_of_one_third():
    torch.manual_seed(0)
    weight = nn.Linear(2000, 500).weight.detach()
    assert (2000 * weight.pow(2).mean()).item() == pytest.approx(DEFAULT_SCALE, rel=0.02)


def test_truncated_normal_moments():
    torch.manual_seed(0)
    sample = torch.empty(400_000)
    nn.init.trunc_normal_(sample, mean=0.1, std=1.0, a=-1.0, b=1.5)
    mean, variance = truncated_normal_moments(0.1, 1.0, -1.0, 1.5)
    assert sample.mean().item() == pytest.approx(mean, abs=0.005)
    assert sample.var().item() == pytest.approx(variance, rel=0.01)
    assert math.isclose(truncated_normal_moments(0.0, 0.02, -2.0, 2.0)[1], 0.02 ** 2, rel_tol=1e-9)
