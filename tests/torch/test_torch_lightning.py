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
