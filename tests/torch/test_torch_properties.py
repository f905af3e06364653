"""Properties of checking and fixing over random PyTorch model code.

Each program is a module class: layers assigned in `__init__` (some inline in an
`nn.Sequential`), an initialization (none, direct `nn.init` calls, a `self.modules()` loop, an
`apply`), and a `forward()` that applies them with activation modules, functions, tensor
methods and residual adds; sometimes a training loop. For every program: checking does not
fail, the fixed code parses, fixing it again changes nothing, no fixable finding is left, and
fixing creates no finding that was not reported before.
"""

from __future__ import annotations

import ast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradlint.config import Settings
from gradlint.engine import check_source, fix_source

STABLE = settings(derandomize=True, database=None, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_ACTIVATIONS = ("F.relu({x})", "torch.tanh({x})", "{x}.relu()", "self.act({x})", "F.gelu({x})",
                "F.leaky_relu({x}, 0.1)", "torch.sigmoid({x})", "{x}")
_ACT_MODULES = ("nn.ReLU()", "nn.Tanh()", "nn.LeakyReLU(0.2)", "nn.GELU()", "nn.SELU()", "nn.Sigmoid()")
_INITS = (
    "",
    "        nn.init.kaiming_normal_(self.fc0.weight, nonlinearity='relu')\n",
    "        nn.init.normal_(self.fc1.weight, std={std})\n",
    ("        for m in self.modules():\n            if isinstance(m, nn.Linear):\n"
     "                nn.init.xavier_uniform_(m.weight)\n"),
    "        self.apply(self._init)\n",
    "        with torch.no_grad():\n            self.fc0.weight.uniform_(-{std}, {std})\n",
)


@st.composite
def torch_programs(draw: st.DrawFn) -> str:
    width = draw(st.sampled_from((16, 64, 256)))
    count = draw(st.integers(2, 5))
    lines = ["import torch", "import torch.nn as nn", "import torch.nn.functional as F", "", "",
             "class Net(nn.Module):", "    def __init__(self):", "        super().__init__()"]
    lines.append(f"        self.act = {draw(st.sampled_from(_ACT_MODULES))}")
    for i in range(count):
        layer = f"nn.Linear({width}, {width})"
        if draw(st.booleans()):
            layer = f"nn.Sequential({layer}, {draw(st.sampled_from(_ACT_MODULES))})"
        lines.append(f"        self.fc{i} = {layer}")
        if draw(st.integers(0, 4)) == 0:
            lines.append(f"        self.bn{i} = nn.BatchNorm1d({width})")
    recurrent = draw(st.booleans())
    if recurrent:
        lines.append(f"        self.rnn = nn.GRU({width}, {width}, batch_first=True)")
    lines.append(f"        self.out = nn.Linear({width}, 1)")
    init = draw(st.sampled_from(_INITS)).format(std=draw(st.sampled_from(("1e-4", "0.02", "1.0"))))
    lines.extend(init.rstrip("\n").split("\n") if init else [])
    lines += ["", "    def _init(self, m):", "        if isinstance(m, nn.Linear):",
              "            nn.init.kaiming_uniform_(m.weight, a=5 ** 0.5)", "",
              "    def forward(self, x):"]
    for i in range(count):
        step = f"self.fc{i}(x)"
        if f"        self.bn{i} = nn.BatchNorm1d({width})" in lines:
            step = f"self.bn{i}({step})"
        step = draw(st.sampled_from(_ACTIVATIONS)).format(x=step)
        lines.append(f"        x = x + {step}" if draw(st.integers(0, 3)) == 0 else f"        x = {step}")
    if recurrent:
        lines.append("        x, _ = self.rnn(x)")
    lines.append("        return self.out(x)")
    if draw(st.booleans()):
        amp = draw(st.booleans())
        lines += ["", "", "model = Net()", "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)",
                  "scaler = torch.cuda.amp.GradScaler()" if amp else "scaler = None",
                  "for x, y in []:", "    loss = (model(x) - y).pow(2).mean()"]
        lines += (["    scaler.scale(loss).backward()", "    scaler.step(optimizer)", "    scaler.update()"]
                  if amp else ["    loss.backward()", "    optimizer.step()"])
    return "\n".join(lines) + "\n"


@settings(STABLE, max_examples=120)
@given(torch_programs(), st.booleans())
def test_fixing_random_torch_models(source: str, unsafe: bool) -> None:
    options = Settings(unsafe_fixes=unsafe, line_length=200)
    before = check_source(source, "model.py", options)
    outcome = fix_source(source, "model.py", options)
    ast.parse(outcome.source)
    assert not any(d.fixable_with(unsafe) for d in outcome.remaining)
    assert fix_source(outcome.source, "model.py", options).source == outcome.source
    # Fixing creates no problem: what remains was there before (by code; fixes move lines).
    reported = {d.code for d in before}
    assert {d.code for d in outcome.remaining} <= reported
