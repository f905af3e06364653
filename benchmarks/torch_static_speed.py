"""Static-path speed of gradlint on PyTorch code, against a bare LibCST parse of the same files.

Run: pip install -e '.[bench]' && python benchmarks/torch_static_speed.py [--modules N]

The corpora: the installed `torch/nn` and `torchvision/models` sources where they are installed
(the static path never imports them), and a generated one: N modules in the shapes PyTorch code
takes (an MLP with its training loop, a BatchNorm CNN with the torchvision init loop, a
residual block, an LSTM language model trained with and without clipping, a GPT-style block
initialized through `apply`), with names and widths varied so that no two files are alike.
Both are measured when torch is installed (its own sources hold few models to judge; the
generated corpus has findings by construction, so that a run that silently judges nothing
shows it). Printed per corpus: files, MB, the LibCST parse, `gradlint check --no-cache -j1`
(wall clock of the process), their ratio against the Keras target of `static_speed.py`
(≤ 1.3 × the parse), and the findings.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from static_speed import bare_libcst_parse

TARGET = 1.3  # cold, one process: ≤ 1.3 × bare LibCST parse (static_speed.py's keras_cold_1)

_MLP = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP{i}(nn.Module):
    def __init__(self, d_in={d}, hidden={h}, classes=10):
        super().__init__()
        self.fc1 = nn.Linear(d_in, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, classes)
        self.drop = nn.Dropout(0.{p})

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = self.drop(F.relu(self.fc1(x)))
        x = self.drop(F.relu(self.fc2(x)))
        return self.fc3(x)


def train_{i}(loader, epochs=3):
    model = MLP{i}()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
    return model
'''

_CNN = '''
import torch.nn as nn


class CNN{i}(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, {h}, 3, padding=1, bias=False), nn.BatchNorm2d({h}), nn.ReLU(inplace=True),
            nn.Conv2d({h}, {h}, 3, padding=1, bias=False), nn.BatchNorm2d({h}), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d({h}, {h2}, 3, padding=1, bias=False), nn.BatchNorm2d({h2}), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Linear({h2}, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))
'''

_RESNET = '''
import torch.nn as nn
import torch.nn.functional as F


class Block{i}(nn.Module):
    def __init__(self, planes={h}):
        super().__init__()
        self.conv1 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x
        return F.relu(out)


class Net{i}(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, {h}, 3, padding=1)
        self.blocks = nn.Sequential(*[Block{i}() for _ in range({n})])
        self.head = nn.Linear({h}, 10)

    def forward(self, x):
        x = self.blocks(F.relu(self.stem(x)))
        return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))
'''

_LSTM = '''
import torch
import torch.nn as nn


class LM{i}(nn.Module):
    def __init__(self, vocab=10000, emb={h}, hidden={h2}):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.rnn = nn.LSTM(emb, hidden, num_layers=2, dropout=0.2)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        out, state = self.rnn(self.embed(x), state)
        return self.decoder(out), state


def fit_{i}(batches, clip={clip}):
    model = LM{i}()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in batches:
        optimizer.zero_grad()
        logits, _ = model(x)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
        loss.backward()
        {clip_line}
        optimizer.step()
'''

_GPT = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP{i}(nn.Module):
    def __init__(self, d={h}):
        super().__init__()
        self.fc = nn.Linear(d, 4 * d)
        self.proj = nn.Linear(4 * d, d)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x)))


class GPTBlock{i}(nn.Module):
    def __init__(self, d={h}):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, 8)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = MLP{i}(d)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h)[0]
        return x + self.mlp(self.ln_2(x))
'''

_TEMPLATES = (_MLP, _CNN, _RESNET, _LSTM, _GPT)


def write_corpus(root: Path, modules: int) -> list[Path]:
    """`modules` generated PyTorch files under root."""
    files = []
    for i in range(modules):
        template = _TEMPLATES[i % len(_TEMPLATES)]
        text = template.format(i=i, d=784 - i % 7, h=32 * (1 + i % 4), h2=64 * (1 + i % 3), n=1 + i % 4,
                               p=1 + i % 5, clip=i % 2 == 0,
                               clip_line="torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)"
                               if i % 10 == 3 else "pass")
        path = root / f"model_{i:04d}.py"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    return files


def installed_corpus() -> list[Path]:
    files: list[Path] = []
    for name, sub in (("torch", "nn"), ("torchvision", "models")):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            files.extend(sorted((Path(list(spec.submodule_search_locations)[0]) / sub).rglob("*.py")))
    return files


def gradlint_check(root: Path) -> tuple[float, int]:
    """Wall clock of one cold `gradlint check -j1`, and the findings it reports."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gradlint", "check", "--no-cache", "-j1", "--exit-zero",
                           "--output-format", "json", str(root)], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"gradlint check failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed, len(json.loads(done.stdout or "[]"))


def measure(kind: str, root: Path, files: list[Path]) -> None:
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    parse = bare_libcst_parse(files)
    cold, findings = gradlint_check(root)
    ratio = cold / parse
    print(f"{kind:44s} {len(files):6d} {megabytes:6.2f} {parse:7.2f}s {cold:7.2f}s {ratio:6.2f} "
          f"{'ok' if ratio <= TARGET else 'MISSED':>6s} {findings:8d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=600, help="modules in the generated corpus")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}; target: cold -j1 ≤ {TARGET} × libcst parse")
    print(f"{'corpus':44s} {'files':>6s} {'MB':>6s} {'libcst':>8s} {'cold -j1':>8s} {'ratio':>6s} {'':6s} {'findings':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        found = installed_corpus()
        if found:
            root = Path(tmp) / "installed"
            root.mkdir()
            for index, path in enumerate(found):  # copied: discovery leaves site-packages alone
                (root / f"{index:05d}_{path.name}").write_bytes(path.read_bytes())
            measure("installed torch/nn (+ torchvision/models)", root, sorted(root.glob("*.py")))
        root = Path(tmp) / "generated"
        root.mkdir()
        measure(f"generated ({args.modules} modules)", root, write_corpus(root, args.modules))


if __name__ == "__main__":
    main()
