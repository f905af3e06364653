"""GL301, GL302 and GL303 read PyTorch stacks as they read Keras ones, in torch's words."""

from __future__ import annotations

from torch_helpers import check, fix


def test_deep_sigmoid_sequential_is_gl301_with_torch_advice():
    found = check("""
        import torch.nn as nn
        model = nn.Sequential(
            nn.Linear(64, 64), nn.Sigmoid(),
            nn.Linear(64, 64), nn.Sigmoid(),
            nn.Linear(64, 64), nn.Sigmoid(),
            nn.Linear(64, 64), nn.Sigmoid(),
            nn.Linear(64, 64), nn.Sigmoid(),
            nn.Linear(64, 64), nn.Sigmoid(),
            nn.Linear(64, 10),
        )
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
    """)
    (gl301,) = [d for d in found if d.code == "GL301"]
    assert gl301.location.row == 3
    assert "nn.BatchNorm1d" in gl301.message and "kernel_initializer" not in gl301.message


def test_the_same_stack_with_batchnorm_between_is_silent():
    found = check("""
        import torch.nn as nn
        model = nn.Sequential(
            nn.Linear(64, 64), nn.BatchNorm1d(64), nn.Sigmoid(),
            nn.Linear(64, 64), nn.BatchNorm1d(64), nn.Sigmoid(),
            nn.Linear(64, 64), nn.BatchNorm1d(64), nn.Sigmoid(),
            nn.Linear(64, 64), nn.BatchNorm1d(64), nn.Sigmoid(),
            nn.Linear(64, 64), nn.BatchNorm1d(64), nn.Sigmoid(),
            nn.Linear(64, 64), nn.BatchNorm1d(64), nn.Sigmoid(),
            nn.Linear(64, 10),
        )
    """)
    assert "GL301" not in [d.code for d in found]


def test_plain_dropout_after_selu_is_gl302_and_becomes_alpha_dropout():
    text = """
        import torch.nn as nn
        model = nn.Sequential(nn.Linear(100, 100), nn.SELU(), nn.Dropout(0.2), nn.Linear(100, 10))
        nn.init.kaiming_normal_(model[0].weight, nonlinearity="linear")
    """
    assert [d.code for d in check(text)] == ["GL302"]
    assert "nn.AlphaDropout(0.2)" in fix(text, unsafe=True)


def test_exp_in_forward_is_gl303():
    (finding,) = check("""
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(16, 16)
                nn.init.kaiming_normal_(self.fc1.weight)
                self.fc2 = nn.Linear(16, 1)

            def forward(self, x):
                return self.fc2(torch.exp(self.fc1(x)))
    """)
    assert finding.code == "GL303" and finding.location.row == 7
    assert "F.relu" in finding.message
