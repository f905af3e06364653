"""GL201 for PyTorch Lightning: a Trainer fitting a recurrent module without gradient_clip_val."""

from __future__ import annotations

import pytest
from torch_helpers import check, dedent, fix

MODULE = """
import torch
import torch.nn as nn
import lightning as L


class Seq2One(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(32, 64, batch_first=True)
        self.out = nn.Linear(64, 1)

    def forward(self, x):
        h, _ = self.gru(x)
        return self.out(h[:, -1])

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters())

"""


def test_trainer_without_clipping_gets_gradient_clip_val():
    text = MODULE + 'trainer = L.Trainer(max_epochs=5)\ntrainer.fit(Seq2One(), train_dataloaders=loader)\n'
    (finding,) = check(text)
    assert finding.code == "GL201" and "`Seq2One()` (Seq2One with nn.GRU)" in finding.message
    assert "trainer = L.Trainer(max_epochs=5, gradient_clip_val=1.0)\n" in fix(text)


def test_gradient_clip_val_none_is_rewritten_unsafely():
    text = MODULE + "model = Seq2One()\nL.Trainer(gradient_clip_val=None).fit(model)\n"
    assert fix(text) == dedent(text)
    assert "L.Trainer(gradient_clip_val=1.0).fit(model)" in fix(text, unsafe=True)


@pytest.mark.parametrize("tail", [
    "L.Trainer(gradient_clip_val=0.5).fit(Seq2One())\n",
    "L.Trainer(**config).fit(Seq2One())\n",
    "L.Trainer().fit(make_model())\n",
])
def test_clipping_trainers_and_unknown_models_are_silent(tail):
    assert check(MODULE + tail) == []


def test_a_module_that_clips_itself_is_silent():
    text = MODULE.replace("    def configure_optimizers(self):", "    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):\n        pass\n\n    def configure_optimizers(self):")
    assert check(text + "L.Trainer().fit(Seq2One())\n") == []


HF = """
import torch.nn as nn
from transformers import Trainer, TrainingArguments


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(64, 64, batch_first=True)
        self.out = nn.Linear(64, 5)

    def forward(self, x, labels=None):
        h, _ = self.lstm(x)
        return self.out(h)


args = TrainingArguments(output_dir="out", max_grad_norm={clip})
trainer = Trainer(model=Tagger(), args=args)
"""


def test_huggingface_trainer_is_a_finding_only_with_clipping_turned_off():
    for silent in ("1.0", "0.5"):
        assert check(HF.format(clip=silent)) == []
    assert check(HF.replace(", max_grad_norm={clip}", "")) == []  # the default clips at 1.0
    (finding,) = check(HF.format(clip="0"))
    assert finding.code == "GL201" and "max_grad_norm=0" in finding.message
    assert fix(HF.format(clip="0")) == dedent(HF.format(clip="0"))  # unsafe: the author wrote it
    assert 'max_grad_norm=1.0)' in fix(HF.format(clip="None"), unsafe=True)
