"""Models built by a module-level function: `def build_model(): return nn.Sequential(...)`,
the way benchmark suites and training scripts write them."""

from __future__ import annotations

from torch_helpers import codes

BUILT = """
import torch.nn as nn


def build_model(width=256):
    model = nn.Sequential(
        nn.Linear(784, width), nn.ReLU(),
        nn.Linear(width, width), nn.ReLU(),
        nn.Linear(width, 10),
    )
    return model


def build_tanh():
    return nn.Sequential(nn.Linear(256, 256), nn.Tanh(), nn.Linear(256, 10))
"""


def test_a_sequential_returned_by_a_function_is_judged():
    # The two ReLU layers keep PyTorch's default (gain 1/3): GL101 on each; so does the tanh
    # model's hidden layer (×0.58 per layer against Glorot's ×1).
    assert [row for row, code in codes(BUILT) if code == "GL101"] == [6, 7, 14]


def test_a_function_that_builds_a_block_for_a_class_is_not_a_model_of_its_own():
    # make_block's last Linear meets ReLU in the class's forward(); read alone, its output
    # would seem to leave the model (linear), and the two readings would cancel.
    src = """
    import torch.nn as nn
    import torch.nn.functional as F


    def make_block(width):
        return nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = make_block(256)
            self.head = nn.Linear(256, 10)

        def forward(self, x):
            return self.head(F.relu(self.block(x)))
    """
    assert [row for row, code in codes(src) if code == "GL101"] == [6, 6]


def test_a_sequential_built_up_after_its_assignment_is_left_alone():
    src = """
    import torch.nn as nn


    def build_model(depth):
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU())
        for _ in range(depth):
            model.append(nn.Linear(256, 256))
        return model
    """
    assert codes(src) == []


def test_the_function_s_own_init_of_its_model_is_read():
    # `model.apply(fn)` and `for m in model.modules()` on the function's local model: He for
    # every Linear, so nothing to say (read as PyTorch's default, both would be GL101).
    apply = """
    import torch.nn as nn


    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")


    def build_model():
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
        model.apply(init_weights)
        return model
    """
    loop = """
    import torch.nn as nn


    def build_model():
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        return model
    """
    assert [c for _, c in codes(apply) if c == "GL101"] == []
    assert [c for _, c in codes(loop) if c == "GL101"] == []
