"""The static prediction (`gradlint signal`, from the source alone) against what the probe
measures on the same model: normalizations between layers of different widths, where the
ratio of norms depends on how many values each row holds."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint.cli import main
from gradlint.runtime.session import probe_target
from gradlint.runtime.settings import ProbeOptions

KERAS_LN_STACK = textwrap.dedent('''\
    from tensorflow import keras
    from tensorflow.keras import layers


    def build_model():
        inputs = keras.Input((64,))
        x = inputs
        for width in (32, 1024, 1024):
            x = layers.Dense(width, kernel_initializer="he_normal")(x)
            x = layers.NORM()(x)
            x = layers.ReLU()(x)
        outputs = layers.Dense(10, activation="softmax")(x)
        return keras.Model(inputs, outputs)
''')

TORCH_LN_STACK = textwrap.dedent('''\
    import torch.nn as nn

    model = nn.Sequential(
        nn.Linear(64, 32), nn.NORM(32), nn.ReLU(),
        nn.Linear(32, 1024), nn.NORM(1024), nn.ReLU(),
        nn.Linear(1024, 1024), nn.NORM(1024), nn.ReLU(),
        nn.Linear(1024, 10),
    )


    def build_model():
        return model
''')


def _static_ratio(path: Path) -> float:
    result = CliRunner().invoke(main, ["signal", "--output-format", "json", str(path)])
    assert result.exit_code in (0, 1), result.output
    [found] = json.loads(result.stdout)
    return found["backward_ratio"]


@pytest.mark.parametrize("source, norm", [
    (KERAS_LN_STACK, "LayerNormalization"),
    (KERAS_LN_STACK, "BatchNormalization"),
    (TORCH_LN_STACK, "LayerNorm"),
    (TORCH_LN_STACK, "BatchNorm1d"),
])
def test_normalized_rows_of_different_widths_are_compared_by_norm(tmp_path: Path, source: str, norm: str):
    if "torch" in source:
        pytest.importorskip("torch", reason="the PyTorch probe needs torch (the test extra installs it)")
    path = tmp_path / "model.py"
    path.write_text(source.replace("NORM", norm))
    static = _static_ratio(path)
    measured = probe_target(f"{path}:build_model", ProbeOptions(repeats=2)).backward_ratio()
    assert measured is not None
    # Within the recurrence's accuracy on BatchNorm stacks (×2); compared per unit, the widths
    # 32 and 1024 would put it √32 ≈ 5.7 away.
    assert abs(math.log10(static / measured)) < math.log10(2), (static, measured)
