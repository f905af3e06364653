"""`nn.init.orthogonal_(w, gain=g)`: every singular value is g, so a square layer's gain is g²."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint.cli import main

MLP = """\
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(256, 256) for _ in range(6)])
        self.out = nn.Linear(256, 10)
        for layer in self.layers:
            nn.init.orthogonal_(layer.weight, gain=GAIN)

    def forward(self, x):
        for layer in self.layers:
            x = nn.functional.relu(layer(x))
        return self.out(x)
"""


@pytest.mark.parametrize("gain, per_layer", [
    ('nn.init.calculate_gain("relu")', 1.0),  # √2: relu halves the energy, the gain doubles it
    ("1.0", math.sqrt(0.5)),
    ("0.5", math.sqrt(0.5) * 0.5),
])
def test_the_gain_scales_the_predicted_signal(tmp_path: Path, gain: str, per_layer: float):
    (tmp_path / "model.py").write_text(MLP.replace("GAIN", gain))
    result = CliRunner().invoke(main, ["signal", "--output-format", "json", str(tmp_path / "model.py")])
    [model] = json.loads(result.stdout)
    # Five steps from the first hidden layer to the last.
    assert model["backward_ratio"] == pytest.approx(per_layer ** 5, rel=0.15)
