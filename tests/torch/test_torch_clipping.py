"""GL202 for PyTorch training loops: backward() → step() of a recurrent model, unclipped."""

from __future__ import annotations

from torch_helpers import check, dedent, fix

MODEL = """
import torch
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(1000, 64)
        self.encoder = Encoder()
        self.out = nn.Linear(128, 10)

    def forward(self, x):
        h, _ = self.encoder(self.embed(x))
        return self.out(h)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(64, 128, batch_first=True)

    def forward(self, x):
        return self.gru(x)

"""


def test_unclipped_loop_of_a_nested_recurrent_module_is_fixed_before_the_step():
    loop = """
def fit(model, loader, optimizer):
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()


tagger = Tagger()
fit(tagger, [], torch.optim.Adam(tagger.parameters()))
"""
    (finding,) = check(MODEL + loop)
    step_row = dedent(MODEL + loop).splitlines().index("        optimizer.step()") + 1
    assert finding.code == "GL202" and finding.location.row == step_row
    assert "`model` (Tagger with nn.GRU)" in finding.message
    fixed = fix(MODEL + loop)
    assert ("        loss.backward()\n"
            "        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)\n"
            "        optimizer.step()\n") in fixed


def test_amp_gets_unscale_then_clip():
    loop = """
model = Tagger().cuda()
opt = torch.optim.AdamW(model.parameters())
scaler = torch.cuda.amp.GradScaler()
for x, y in []:
    with torch.autocast("cuda"):
        loss = nn.functional.cross_entropy(model(x), y)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
"""
    fixed = fix(MODEL + loop)
    assert ("    scaler.scale(loss).backward()\n"
            "    scaler.unscale_(opt)\n"
            "    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)\n"
            "    scaler.step(opt)\n") in fixed


def test_clipped_loops_schedulers_and_feed_forward_models_are_silent():
    clipped = """
model = Tagger()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 10)
for x, y in []:
    loss = model(x).sum()
    loss.backward()
    nn.utils.clip_grad_value_(model.parameters(), 0.5)
    optimizer.step()
    scheduler.step()
"""
    assert check(MODEL + clipped) == []
    feed_forward = dedent("""
        import torch
        import torch.nn as nn
        model = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in []:
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            optimizer.step()
    """)
    assert "GL202" not in [d.code for d in check(feed_forward)]
    # A model whose class cannot be seen (an argument without callers) is not judged.
    unknown = """
def fit(model, loader, optimizer):
    for x, y in loader:
        model(x).sum().backward()
        optimizer.step()
"""
    assert check(MODEL + unknown) == []


def test_a_loop_function_is_judged_by_the_models_its_callers_pass():
    loop = """
def fit(model, data, optimizer):
    for x, y in data:
        model(x).sum().backward()
        optimizer.step()


fit(nn.Sequential(nn.Linear(4, 4)), [], None)
fit(Tagger().to("cuda"), [], None)
"""
    assert [d.code for d in check(MODEL + loop)] == ["GL202"]
