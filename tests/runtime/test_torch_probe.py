"""The probe on real PyTorch models: what it measures, what it flags, and what it must not.

The numbers the tests hold it to come from PyTorch's own defaults: `nn.Linear` initializes its
weight with kaiming_uniform_(a=√5), i.e. Var(w) = 1/(3·fan_in), a gain of 1/3. Between two
ReLU layers the backward signal's squared norm is multiplied by fan_out·Var(w)·E[φ'²] =
(1/3)·(1/2) = 1/6, so its norm by √(1/6) ≈ 0.41 per layer. The probe's first/last ratio over n
hidden layers is then 0.41^(n−1): above GR101's 1e-3 up to 8 hidden layers (0.0019), below it
from 9 on (7.7e-4). He init (kaiming_normal_, gain 2) keeps it at 1.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from gradlint.runtime.session import probe_target
from gradlint.runtime.settings import ProbeOptions

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FACTOR = math.sqrt((1 / 3) * (1 / 2))  # ≈ 0.408 per ReLU layer at PyTorch's default init

MODELS = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp(depth, width=128, init=None):
    layers = [nn.Linear(64, width), nn.ReLU()]
    for _ in range(depth - 2):
        layers += [nn.Linear(width, width), nn.ReLU()]
    layers.append(nn.Linear(width, 10))
    model = nn.Sequential(*layers)
    if init is not None:
        for m in model.modules():
            if isinstance(m, nn.Linear):
                init(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
    return model


def default_mlp_20():
    return mlp(20)


def default_mlp_8():
    return mlp(9)  # 8 hidden layers and the head


def default_mlp_10():
    return mlp(10)  # 9 hidden layers and the head


def he_mlp_20():
    return mlp(20, init=nn.init.kaiming_normal_)


class Functional(nn.Module):
    """Activations as F.relu calls in forward(), not modules."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(32, 64)
        self.fc2 = nn.Linear(64, 64)
        self.head = nn.Linear(64, 1)

    def forward(self, x):
        return torch.sigmoid(self.head(F.relu(self.fc2(F.relu(self.fc1(x))))))


def functional_mlp():
    return Functional()


def bn_cnn():
    layers, channels = [], 3
    for width in (16, 32, 32, 64, 64):
        layers += [nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
        channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10)]
    return nn.Sequential(*layers)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        out += x
        return F.relu(out)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.blocks = nn.Sequential(*[Block(16) for _ in range(4)])
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def resnet():
    return ResNet()


class Down(nn.Module):
    """A downsampling block: its shortcut is a strided 1×1 convolution and a BatchNorm."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, 2, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.shortcut(x))


def projected_resnet():
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                         Block(16), Down(16, 32), Block(32), Down(32, 64), Block(64),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def mnist_cnn():
    """A head sized for 28×28 inputs: the default 32×32 does not fit it."""
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 7 * 7, 10))


class LanguageModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(500, 32)
        self.lstm = nn.LSTM(32, 48, num_layers=2, batch_first=True)
        self.out = nn.Linear(48, 500)

    def forward(self, tokens):
        hidden, _ = self.lstm(self.embed(tokens))
        return F.log_softmax(self.out(hidden), dim=-1)


def lstm_lm():
    return LanguageModel()


def dead_stack():
    """A ReLU layer whose bias pushes every unit below zero: nothing passes back through it."""
    model = mlp(6, width=32)
    with torch.no_grad():
        model[4].bias.fill_(-100.0)
    return model


def overflowing():
    model = mlp(4, width=32)
    with torch.no_grad():
        model[0].weight.mul_(1e38)
    return model


class Branchy(nn.Module):
    """forward() branches on a tensor's value: torch.fx cannot trace it."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(32, 1)

    def forward(self, x):
        h = self.act(self.fc1(x))
        if h.sum() > 0:
            h = h * 1.0
        return self.fc2(h)


def branchy():
    return Branchy()


class OwnParameter(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        return x * self.scale


def no_first_layer():
    return OwnParameter()


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 32)
        layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.out = nn.Linear(32, 2)

    def forward(self, tokens):
        return self.out(self.encoder(self.embed(tokens)).mean(1))


def transformer():
    return Encoder()


def bare_gru():
    return nn.GRU(16, 32)  # time first: (steps, batch, features)


def narrow_stack():
    """16 × nn.Linear(5, 5) + ReLU with He-uniform weights and zero biases: dead at some seeds."""
    layers = [nn.Linear(8, 5), nn.ReLU()]
    for _ in range(15):
        layers += [nn.Linear(5, 5), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(5, 1))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return model


def double_mlp():
    return mlp(4, width=16).double()


def scripted():
    return torch.jit.script(mlp(3, width=8))


def not_a_model():
    return {"layers": [nn.Linear(4, 4)]}
'''


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("torch_models") / "torch_models.py"
    path.write_text(MODELS, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def probe(models: Path):
    cache: dict[tuple, object] = {}

    def run(factory: str, **options: object):
        key = (factory, tuple(sorted(options.items())))
        if key not in cache:
            cache[key] = probe_target(f"{models}:{factory}", ProbeOptions(**options))
        return cache[key]

    return run


def criteria(report) -> set[tuple[str, str]]:
    return {(d.code, d.extra["criterion"]) for d in report.findings}


def hidden_signals(report) -> list[float]:
    return [layer.backward_signal for layer in report.hidden()]


# --- the default init's shrinking backward signal ------------------------------------------


def test_default_init_mlp_shrinks_the_backward_signal_by_the_predicted_factor_and_is_flagged(probe):
    report = probe("default_mlp_20")
    assert report.framework == "torch" and report.model_kind == "sequential"
    assert [layer.type for layer in report.layers] == ["Linear"] * 20
    assert [layer.activation for layer in report.layers] == ["relu"] * 19 + ["linear"]
    signals = hidden_signals(report)
    per_layer = (signals[0] / signals[-1]) ** (1 / (len(signals) - 1))
    assert per_layer == pytest.approx(DEFAULT_FACTOR, rel=0.08)
    assert all(a < b for a, b in zip(signals, signals[1:]))  # shrinks at every layer, towards the input
    assert ("GR101", "backward_ratio") in criteria(report)
    finding = next(d for d in report.findings if d.extra["criterion"] == "backward_ratio")
    assert finding.extra["ratio"] == pytest.approx(DEFAULT_FACTOR ** 18, rel=0.8)
    assert finding.extra["span"], "the finding names the layers where the signal collapses"


def test_measured_backward_signal_is_within_1_5x_of_the_prediction_at_every_hidden_layer(probe):
    report = probe("default_mlp_20")
    for layer in report.hidden():
        assert layer.predicted_backward_signal is not None, layer.name
        assert 1 / 1.5 < layer.backward_signal / layer.predicted_backward_signal < 1.5, layer.name
    assert report.predicted_backward_ratio == pytest.approx(report.backward_ratio(), rel=0.5)
    # The first layer's forward RMS is the one the biases have not yet shaped.
    first = report.layers[0]
    assert first.forward_rms / first.predicted_forward_rms == pytest.approx(1.0, rel=0.15)


def test_the_ratio_crosses_the_gr101_limit_between_8_and_9_hidden_layers(probe):
    eight, nine = probe("default_mlp_8"), probe("default_mlp_10")
    assert len(eight.hidden()) == 8 and len(nine.hidden()) == 9
    assert 1e-3 < eight.backward_ratio() < 1e-2
    assert ("GR101", "backward_ratio") not in criteria(eight)
    assert nine.backward_ratio() < 1e-3
    assert ("GR101", "backward_ratio") in criteria(nine)


def test_he_init_keeps_the_same_mlp_clean(probe):
    report = probe("he_mlp_20")
    assert report.findings == ()
    assert 0.3 < report.backward_ratio() < 3
    assert [layer.initializer for layer in report.layers[:2]] == ["fan_in·Var(W)=2", "fan_in·Var(W)=2"]


def test_the_initializer_column_shows_pytorchs_default_gain_of_a_third(probe):
    report = probe("default_mlp_8")
    labels = [layer.initializer for layer in report.layers]
    assert all(label.startswith("fan_in·Var(W)=") for label in labels)
    assert all(float(label.split("=")[1]) == pytest.approx(1 / 3, rel=0.06) for label in labels)


# --- models that must probe clean ----------------------------------------------------------


def test_batchnorm_cnn_is_clean_and_predicted(probe):
    report = probe("bn_cnn")
    assert report.findings == ()
    assert report.inputs[0].startswith("input (32, 3, 32, 32) float32 (default spatial size 32×32")
    types = [layer.type for layer in report.layers]
    assert types == ["Conv2d", "BatchNorm2d"] * 5 + ["Linear"]
    assert [layer.activation for layer in report.layers if layer.type == "BatchNorm2d"] == ["relu"] * 5
    assert all(layer.forward_rms == pytest.approx(1.0, abs=0.02) for layer in report.layers if layer.type == "BatchNorm2d")
    assert report.predicted_backward_ratio == pytest.approx(report.backward_ratio(), rel=0.5)


def test_residual_network_with_inplace_ops_is_clean_and_its_blocks_are_followed(probe):
    report = probe("resnet")
    assert report.findings == ()
    names = [layer.name for layer in report.layers]
    assert names[:4] == ["stem", "bn", "blocks[0].conv1", "blocks[0].bn1"] and names[-1] == "fc"
    assert all(layer.backward_signal and layer.backward_signal > 0 for layer in report.hidden())
    # The residual adds are in the prediction: every hidden row has a predicted value.
    assert all(layer.predicted_backward_signal is not None for layer in report.hidden())
    assert 1 / 3 < report.backward_ratio() / report.predicted_backward_ratio < 3


def test_projection_shortcuts_are_followed_by_the_prediction(probe):
    report = probe("projected_resnet")
    assert report.findings == ()
    assert "[4].shortcut[0]" in [layer.name for layer in report.layers]
    assert all(layer.predicted_backward_signal is not None for layer in report.hidden())
    assert 1 / 3 < report.backward_ratio() / report.predicted_backward_ratio < 3


def test_functional_activations_are_read_from_the_traced_forward(probe):
    report = probe("functional_mlp")
    assert [(layer.name, layer.activation) for layer in report.layers] == [
        ("fc1", "relu"), ("fc2", "relu"), ("head", "sigmoid")]
    assert report.loss == "binary_crossentropy (chosen from the output)"


def test_lstm_language_model_probes_without_crashing(probe):
    report = probe("lstm_lm")
    assert [layer.type for layer in report.layers] == ["Embedding", "LSTM", "Linear"]
    assert report.inputs == ("input (32, 100) int in [0, 500) (default sequence length 100; --input-shape sets it)",)
    assert all(layer.backward_signal is not None and math.isfinite(layer.backward_signal) for layer in report.layers)
    assert all(layer.weight_grad_norm and layer.weight_grad_norm > 0 for layer in report.layers)
    assert report.loss == "nll_loss (chosen from the output)"
    assert report.layers[1].predicted_forward_rms is None  # a recurrent layer: not modelled, "-"
    assert any("LSTM" in note for note in report.notes)


# --- what it must flag ---------------------------------------------------------------------


def test_a_layer_whose_every_unit_is_dead_is_gr104(probe):
    report = probe("dead_stack")
    dead = next(d for d in report.findings if d.code == "GR104")
    assert dead.extra["first_dead"] == "[4]"
    assert report.layers[2].dead_units == report.layers[2].units == 32


def test_overflowing_activations_are_gr103(probe):
    report = probe("overflowing")
    assert "GR103" in {d.code for d in report.findings}


# --- inputs --------------------------------------------------------------------------------


def test_a_head_sized_for_28x28_is_probed_at_28x28_and_says_so(probe):
    report = probe("mnist_cnn")
    assert report.inputs[0].startswith("input (32, 1, 28, 28) float32 (spatial size 28×28, after 32×32 did not fit")


def test_input_shape_overrides_and_fills_none_from_the_first_layer(probe):
    report = probe("bn_cnn", input_shapes=((None, 16, 16),))
    assert report.inputs == ("input (32, 3, 16, 16) float32",)
    lm = probe("lstm_lm", input_shapes=((12,),))
    assert lm.inputs == ("input (32, 12) int in [0, 500)",)


def test_inside_a_module_fx_keeps_whole_nothing_is_claimed(probe):
    """nn.TransformerEncoder is one node of the trace: its layers' activations (a functional relu)
    and their backward prediction are not known, and out_proj's output is never a module call."""
    from gradlint.runtime.report import fully_measured, render_text

    report = probe("transformer", input_shapes=((16,),))
    by_name = {layer.name: layer for layer in report.layers}
    assert by_name["encoder.layers[0].linear1"].activation is None
    assert by_name["encoder.layers[0].linear1"].measured
    assert all(layer.predicted_backward_signal is None for layer in report.layers)
    assert any("no backward signal is predicted" in note for note in report.notes)
    out_proj = by_name["encoder.layers[0].self_attn.out_proj"]
    assert out_proj.forward_rms is None and out_proj.backward_signal is None
    assert out_proj.weight_grad_norm > 0  # its weight is used, by MultiheadAttention's own call
    assert not fully_measured(report)
    assert "No gradient problems found in what was measured" in render_text(report)


def test_a_bare_time_first_gru_is_fed_steps_first(probe):
    report = probe("bare_gru", repeats=1)
    assert report.inputs == ("input (100, 32, 16) float32 (default sequence length 100; --input-shape sets it)",)
    assert [(layer.name, layer.type, layer.activation) for layer in report.layers] == [("GRU", "GRU", "tanh")]
    assert report.layers[0].forward_rms > 0 and report.layers[0].weight_grad_norm > 0


def test_a_float64_model_gets_float64_inputs(probe):
    report = probe("double_mlp")
    assert report.inputs == ("input (32, 64) float64",)
    assert all(layer.measured for layer in report.layers)


def test_untraceable_forward_still_measures_every_layer(probe):
    report = probe("branchy")
    # Without a graph, an activation module called next is seen; a functional one could hide after fc2.
    assert [(layer.name, layer.activation) for layer in report.layers] == [("fc1", "relu"), ("fc2", None)]
    assert all(layer.measured for layer in report.layers)
    assert any("could not be traced" in note for note in report.notes)


def test_probing_leaves_the_model_as_it_was(models: Path):
    from gradlint.runtime.torch_probe import probe_module

    namespace: dict = {}
    exec(compile(MODELS, str(models), "exec"), namespace)
    model = namespace["bn_cnn"]()
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = torch.random.get_rng_state()
    probe_module(model, ProbeOptions(), target="bn_cnn", filename=str(models))
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(state, torch.random.get_rng_state())


# --- errors and the command line -----------------------------------------------------------


def test_a_factory_returning_neither_keras_nor_torch_exits_2_naming_it(models: Path, run_probe):
    result = run_probe(f"{models}:not_a_model")
    assert result.exit_code == 2
    assert (f"error: {models}:not_a_model: not_a_model() returned a dict, neither a Keras model nor a "
            f"torch.nn.Module") in result.stderr
    assert result.stdout == ""


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")  # TorchScript is deprecated in torch 2.13
def test_a_torchscript_module_is_refused_with_the_reason(models: Path, run_probe):
    result = run_probe(f"{models}:scripted")
    assert result.exit_code == 2
    assert "is a TorchScript module: its compiled forward runs no Python hooks" in result.stderr


def test_a_first_layer_that_says_nothing_asks_for_input_shape(models: Path, run_probe):
    result = run_probe(f"{models}:no_first_layer")
    assert result.exit_code == 2
    assert "cannot derive the input shape of OwnParameter" in result.stderr
    assert "--input-shape" in result.stderr


def test_json_report_has_the_keras_probes_shape(models: Path, run_probe):
    result = run_probe(f"{models}:default_mlp_20", "--output-format", "json", "--seeds", "1")
    assert result.exit_code == 1
    data = result.json()
    assert data["model"] == {"name": "Sequential", "class": "torch.nn.Sequential", "kind": "sequential",
                             "framework": "torch"}
    assert {"backward_ratio", "predicted_backward_ratio", "forward_growth"} <= set(data["summary"])
    row = MODELS.splitlines().index("    layers = [nn.Linear(64, width), nn.ReLU()]") + 1
    assert data["layers"][0]["name"] == "[0]" and data["layers"][0]["source_rows"] == [row, row]
    assert "GR101" in {f["code"] for f in data["findings"]}


def test_a_torch_target_imports_neither_tensorflow_nor_torch_before_it_is_probed(models: Path):
    code = f"""
        import sys
        from gradlint.engine import check_source
        import gradlint.runtime.session, gradlint.runtime.torch_session, gradlint.runtime.torch_probe
        check_source(open({str(models)!r}).read(), "torch_models.py")
        assert "torch" not in sys.modules, "the static path and the runtime modules imported torch"
        from gradlint.runtime.session import probe_target
        from gradlint.runtime.settings import ProbeOptions
        report = probe_target({str(models)!r} + ":he_mlp_20", ProbeOptions(repeats=1))
        assert report.framework == "torch" and "torch" in sys.modules
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_check_runtime_probes_a_torch_target_beside_the_static_findings(tmp_path: Path, monkeypatch):
    import json

    from click.testing import CliRunner

    from gradlint.cli import main

    (tmp_path / "torch_models.py").write_text(MODELS, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.gradlint]\n[tool.gradlint.runtime]\ntargets = ["torch_models.py:default_mlp_20", '
        '"torch_models.py:he_mlp_20"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "--runtime", "--no-cache", "--output-format", "json", "."])
    assert result.exit_code == 1, result.output
    runtime = [d for d in json.loads(result.output) if d["code"].startswith("GR")]
    assert {d["code"] for d in runtime} == {"GR101"}
    factory_row = MODELS.splitlines().index("def default_mlp_20():") + 1
    assert {d["location"]["row"] for d in runtime} == {factory_row}  # filed at the factory; He init is clean


def test_which_targets_skip_tensorflow(tmp_path: Path):
    from gradlint.runtime.targets import parse_target
    from gradlint.runtime.torch_session import is_torch_target

    cases = {
        "torch_only.py": "import torch.nn as nn\n\ndef build():\n    return nn.Linear(2, 2)\n",
        "lightning.py": "from lightning import LightningModule\n",
        "both.py": "import torch\nimport keras\n",
        "tf_and_torch_loader.py": "import tensorflow as tf\nfrom torch.utils.data import DataLoader\n",
        "neither.py": "from mypackage.models import build\n",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    chosen = {name for name in cases if is_torch_target(parse_target(f"{tmp_path / name}:build"))}
    # With TensorFlow installed, a file that names neither framework keeps the Keras path.
    assert chosen == {"torch_only.py", "lightning.py"}


def test_a_file_importing_both_frameworks_that_returns_a_torch_module_is_probed_with_torch(tmp_path: Path):
    path = tmp_path / "mixed.py"
    path.write_text("import tensorflow as tf\nimport torch.nn as nn\n\n\ndef build():\n"
                    "    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))\n", encoding="utf-8")
    first = probe_target(f"{path}:build", ProbeOptions(seed=3))
    again = probe_target(f"{path}:build", ProbeOptions(seed=3))
    assert first.framework == "torch" and [layer.name for layer in first.layers] == ["[0]", "[2]"]
    assert first.layers[0].weight_norm == again.layers[0].weight_norm  # seeded for torch, built again


def test_without_torch_the_probe_says_how_to_install_it(models: Path):
    code = f"""
        import sys
        sys.modules["torch"] = None  # what an environment without the torch extra looks like
        from gradlint.runtime.cli import probe
        probe([{str(models)!r} + ":he_mlp_20"])
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert 'pip install "gradlint[torch]"' in result.stderr
    assert "Traceback" not in result.stderr


def test_an_inplace_relu_after_a_layer_changes_none_of_its_numbers():
    """The tensor hook sees ∂L/∂(the layer's output), not of what nn.ReLU(inplace=True) made of it."""
    from gradlint.runtime.torch_probe import probe_module

    def build(inplace: bool) -> torch.nn.Module:
        torch.manual_seed(0)
        nn = torch.nn
        return nn.Sequential(nn.Linear(16, 32), nn.ReLU(inplace=inplace), nn.Linear(32, 32),
                             nn.ReLU(inplace=inplace), nn.Linear(32, 1))

    plain, inplace = (probe_module(build(flag), ProbeOptions(), target="t", filename="t.py") for flag in (False, True))
    for a, b in zip(plain.layers, inplace.layers):
        assert (a.forward_rms, a.backward_signal, a.weight_grad_norm, a.dead_units) == (
            b.forward_rms, b.backward_signal, b.weight_grad_norm, b.dead_units)
    assert all(layer.backward_signal > 0 for layer in inplace.layers)


def test_a_narrow_relu_stack_is_gr104_at_the_seeds_where_it_dies(models: Path):
    """A stack that no input of 4096 gets through is dead at that seed; the probe must say so there,
    and not at every seed."""
    from gradlint.runtime.seeds import probe_seeds

    namespace: dict = {}
    exec(compile(MODELS, str(models), "exec"), namespace)

    def dead_for_4096_inputs(seed: int) -> bool:
        torch.manual_seed(seed)  # as the probe seeds the build
        model = namespace["narrow_stack"]()
        x = torch.randn(4096, 8)
        with torch.no_grad():
            for layer in model:
                x = layer(x)
                if isinstance(layer, torch.nn.ReLU) and not (x > 0).any():
                    return True
        return False

    report = probe_seeds(f"{models}:narrow_stack", ProbeOptions(), 12)
    flagged = next((set(f.seeds) for f in report.seed_summary.findings if f.code == "GR104"), set())
    surely_dead = {seed for seed in range(12) if dead_for_4096_inputs(seed)}
    assert surely_dead, "the fixture should die at some seed"
    assert surely_dead <= flagged < set(range(12))
    assert any(line.startswith("GR104 dead ReLU stack in ") and "width 5" in line for line in report.seed_summary.lines())


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")  # TorchScript is deprecated in torch 2.13
def test_a_module_saved_with_torch_save_is_probed_and_other_pt_files_say_what_they_hold(models: Path, tmp_path: Path,
                                                                                       run_probe):
    namespace: dict = {}
    exec(compile(MODELS, str(models), "exec"), namespace)
    torch.manual_seed(0)
    model = namespace["default_mlp_20"]()
    torch.save(model, tmp_path / "whole.pt")
    torch.save(model.state_dict(), tmp_path / "weights.pth")
    torch.jit.save(torch.jit.script(model), tmp_path / "scripted.pt")

    report = probe_target(str(tmp_path / "whole.pt"), ProbeOptions())
    assert report.framework == "torch" and len(report.layers) == 20
    assert ("GR101", "backward_ratio") in criteria(report)

    weights = run_probe(str(tmp_path / "weights.pth"))
    assert weights.exit_code == 2 and "holds a state_dict (parameters only, no model)" in weights.stderr
    scripted = run_probe(str(tmp_path / "scripted.pt"))
    assert scripted.exit_code == 2 and "a TorchScript archive (torch.jit.save)" in scripted.stderr
