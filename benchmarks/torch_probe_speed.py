"""How long `gradlint probe` takes on PyTorch models, next to `import torch` and to training.

    python benchmarks/torch_probe_speed.py [--runs 3] [--batch-size 32] [--repeats 3]

The models are torch counterparts of probe_speed.py's: a 30-layer ReLU MLP at PyTorch's
default init, a ResNet-20 on 32×32×3 (BatchNorm, residual adds), a 200-step bidirectional
LSTM text classifier and a 12-layer transformer encoder (nn.TransformerEncoder). Each is
probed as `gradlint probe file.py:factory` probes it, in one process that imports torch once:
the factory runs, the forward pass is traced (torch.fx), the hooked passes run, the prediction
and the verdicts follow. Printed per model: the median over `--runs` probes and its parts, and
its ratio to `import torch` (timed in a fresh interpreter) and to one training step (forward,
backward and an SGD step on the same batch size, median of 5 after a first one).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from probe_speed import probe_times

from gradlint.runtime.settings import ProbeOptions

MODELS = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp30():
    layers = [nn.Linear(784, 256), nn.ReLU()]
    for _ in range(28):
        layers += [nn.Linear(256, 256), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(256, 10))


class Basic(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.short is None else self.short(x)))


class ResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(3):
                blocks.append(Basic(cin, cout, stride if i == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def resnet20():
    return ResNet20()


class BiLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20000, 128)
        self.lstm = nn.LSTM(128, 64, batch_first=True, bidirectional=True)
        self.out = nn.Linear(128, 1)

    def forward(self, tokens):
        hidden, _ = self.lstm(self.embed(tokens))
        return torch.sigmoid(self.out(hidden[:, -1]))


def bilstm_classifier():
    return BiLSTM()


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(8000, 128)
        layer = nn.TransformerEncoderLayer(128, 4, 256, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 12, enable_nested_tensor=False)
        self.out = nn.Linear(128, 2)

    def forward(self, tokens):
        return self.out(self.encoder(self.embed(tokens)).mean(1))


def transformer_encoder():
    return Encoder()
'''
FACTORIES = ("mlp30", "resnet20", "bilstm_classifier", "transformer_encoder")
INPUT_SHAPES = {"bilstm_classifier": ((200,),), "transformer_encoder": ((128,),)}


def import_time() -> float:
    """`import torch` in a fresh interpreter (median of 3)."""
    code = "import time; t = time.perf_counter(); import torch; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(3)]
    return statistics.median(runs)


def train_step_time(namespace: dict, factory: str, report: Any, batch_size: int) -> float:
    """Median of 5 SGD steps (forward, MSE against random targets, backward, step) after one."""
    import torch

    torch.manual_seed(0)
    model = namespace[factory]()
    model.train()
    shape = INPUT_SHAPES.get(factory, (None,))[0]
    if factory == "mlp30":
        x = torch.randn(batch_size, 784)
    elif factory == "resnet20":
        x = torch.randn(batch_size, 3, 32, 32)
    else:
        high = model.embed.num_embeddings
        x = torch.randint(0, high, (batch_size, *shape))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    times = []
    for _ in range(6):
        started = time.perf_counter()
        optimizer.zero_grad()
        out = model(x)
        loss = torch.nn.functional.mse_loss(out, torch.randn_like(out))
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import torch

    print(f"python {platform.python_version()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    imported = import_time()
    print(f"import torch: {imported:.2f} s (fresh interpreter, median of 3)\n")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "torch_probe_models.py"
        path.write_text(MODELS, encoding="utf-8")
        namespace: dict = {}
        exec(compile(MODELS, str(path), "exec"), namespace)
        header = f"{'model':<22}{'params':>10}{'probe':>9}{'(build':>8}{'passes':>8}{'predict)':>10}" \
                 f"{'train step':>12}{'probe/import':>14}{'probe/step':>12}"
        print(header)
        medians = []
        for factory in FACTORIES:
            options = ProbeOptions(batch_size=args.batch_size, repeats=args.repeats,
                                   input_shapes=INPUT_SHAPES.get(factory, ()), explain=False)
            times, parts, report = probe_times(f"{path}:{factory}", options, args.runs)
            probe = statistics.median(times)
            medians.append(probe)
            step = train_step_time(namespace, factory, report, args.batch_size)
            codes = ",".join(sorted({d.code for d in report.findings})) or "clean"
            print(f"{factory:<22}{report.parameters:>10,}{probe:>8.2f}s{parts.get('build', 0):>7.2f}s"
                  f"{parts.get('probe', 0):>7.2f}s{parts.get('prediction', 0):>9.2f}s{step:>11.3f}s"
                  f"{probe / imported:>13.2f}×{probe / step:>11.1f}×  {codes}")
    print(f"\nmedian probe over the {len(FACTORIES)} models: {statistics.median(medians):.2f} s "
          f"(after torch's import, which is paid once per process)")


if __name__ == "__main__":
    main()
