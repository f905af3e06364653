"""How PyTorch code initializes weights, and what GL101/GL103 make of it."""

from __future__ import annotations

import pytest
from torch_helpers import check, codes, graph_of

MLP = """
import torch.nn as nn
import torch.nn.functional as F

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(256, 256)
        self.fc2 = nn.Linear(256, 256)
        self.out = nn.Linear(256, 10)
{init}
    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.out(x)
"""


def _mlp(init: str = "") -> str:
    return MLP.format(init=init)


def test_default_init_under_relu_is_flagged_with_torch_words():
    found = check(_mlp())
    assert [(d.location.row, d.code) for d in found] == [(7, "GL101"), (8, "GL101")]
    message = found[0].message
    assert "kaiming_uniform_(a=√5)" in message and "×0.41 per layer" in message
    assert 'nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")' in message
    assert "kernel_initializer" not in message


def test_the_output_layer_keeps_the_default_silently():
    assert codes("""
        import torch.nn as nn
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    """) == []


@pytest.mark.parametrize("init", [
    # He by name, every spelling of the module.
    ('        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")\n'
     '        nn.init.kaiming_uniform_(self.fc2.weight, mode="fan_in", nonlinearity="relu")\n'),
    # kaiming_*_ defaults to leaky_relu with a=0: He.
    "        nn.init.kaiming_normal_(self.fc1.weight)\n        nn.init.kaiming_normal_(self.fc2.weight)\n",
    # A list of modules.
    ("        for layer in [self.fc1, self.fc2]:\n"
     "            nn.init.kaiming_normal_(layer.weight, nonlinearity='relu')\n"),
])
def test_he_initialization_in_the_ways_torch_code_writes_it(init):
    assert codes(_mlp(init)) == []


@pytest.mark.parametrize("init", [
    # The torchvision loop.
    ("        for m in self.modules():\n"
     "            if isinstance(m, nn.Linear):\n"
     '                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")\n'
     "                nn.init.zeros_(m.bias)\n"),
    # apply() with a method.
    ("        self.apply(self._init)\n\n"
     "    def _init(self, m):\n"
     "        if type(m) == nn.Linear:\n"
     "            nn.init.kaiming_uniform_(m.weight.data, a=0)\n"),
])
def test_a_loop_over_every_linear_reaches_the_output_layer_too(init):
    # He reaches the 256→10 output layer as well; there it has Xavier's variance anyway (2/256
    # against 2/266), so the signal cannot tell them apart and nothing is said. Made square,
    # the output layer's He is GL101's, as in Keras, without a fix: the statement serves every layer.
    assert check(_mlp(init)) == []
    found = check(_mlp(init).replace("nn.Linear(256, 10)", "nn.Linear(256, 256)"))
    assert [(d.location.row, d.code) for d in found] == [(9, "GL101")]
    assert found[0].fix is None and "xavier_" in found[0].message and "(self.out.weight)" in found[0].message


def test_isinstance_dispatch_picks_only_the_named_class():
    # Only Conv2d layers get He: the Linears keep the default.
    assert codes(_mlp("        for m in self.modules():\n"
                      "            if isinstance(m, nn.Conv2d):\n"
                      "                nn.init.kaiming_normal_(m.weight)\n")) == [(7, "GL101"), (8, "GL101")]


def test_an_init_behind_an_undecidable_test_makes_the_layer_unknown():
    assert codes(_mlp("        if pretrained_style:\n"
                      "            nn.init.xavier_uniform_(self.fc1.weight)\n")) == [(8, "GL101")]


def test_xavier_under_relu_is_glorot_and_flagged():
    found = check(_mlp("        nn.init.xavier_uniform_(self.fc1.weight)\n"
                       "        nn.init.kaiming_normal_(self.fc2.weight, nonlinearity='relu')\n"))
    assert [(d.location.row, d.code) for d in found] == [(7, "GL101")]
    assert "xavier_uniform_(self.fc1.weight)" in found[0].message
    assert found[0].fix is not None and found[0].fix.applicability == "unsafe"


def test_explicit_default_and_gains_read_through_calculate_gain():
    graph = graph_of(_mlp("        nn.init.kaiming_uniform_(self.fc1.weight, a=math.sqrt(5))\n"
                          "        nn.init.xavier_normal_(self.fc2.weight, gain=nn.init.calculate_gain('tanh'))\n"
                          "        nn.init.orthogonal_(self.out.weight)\n").replace("import torch.nn as nn", "import math\nimport torch.nn as nn"))
    fc1, fc2, out = graph.torch.layers
    assert fc1.initializer.no_family_default
    assert fc2.initializer.family is None
    assert fc2.initializer.variance_scaling["scale"] == pytest.approx(25 / 9)
    assert out.initializer.spec.class_name == "Orthogonal"


def test_fixed_scale_inits_are_gl103s():
    found = check(_mlp("        nn.init.normal_(self.fc1.weight, std=1e-4)\n"
                       "        nn.init.kaiming_normal_(self.fc2.weight, nonlinearity='relu')\n"
                       "        nn.init.normal_(self.out.weight, std=0.01)\n"))
    # The output layer's small start is an idiom; fc1's is not.
    assert [(d.location.row, d.code) for d in found] == [(7, "GL103")]
    assert "nn.init.normal_(self.fc1.weight, std=1e-4)" in found[0].message


def test_no_grad_tensor_methods_and_trunc_normal():
    graph = graph_of(_mlp("        with torch.no_grad():\n"
                          "            self.fc1.weight.normal_(0, 0.02)\n"
                          "            self.fc2.weight.data.uniform_(-0.1, 0.1)\n"
                          "        nn.init.trunc_normal_(self.out.weight, std=0.02)\n"))
    fc1, fc2, out = graph.torch.layers
    assert fc1.initializer.weight_scale.variance == pytest.approx(0.02 ** 2)
    assert fc2.initializer.weight_scale.variance == pytest.approx(0.2 ** 2 / 12)
    # Truncated at ±2 (absolute), 100 standard deviations out: the variance is the normal's.
    assert out.initializer.weight_scale.variance == pytest.approx(0.02 ** 2, rel=1e-6)


def test_module_level_apply():
    text = """
        import torch
        import torch.nn as nn

        def init_weights(m):
            if isinstance(m, nn.Linear):
                torch.nn.init.xavier_uniform_(m.weight)
                m.bias.data.fill_(0.01)

        net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
        net.apply(init_weights)
    """
    assert codes(text) == []
    assert [(r, c) for r, c in codes(text.replace("nn.Tanh()", "nn.ReLU()"))] == [(9, "GL101"), (9, "GL101")]


def test_the_dcgan_class_name_idiom():
    graph = graph_of("""
        import torch.nn as nn

        def weights_init(m):
            classname = m.__class__.__name__
            if classname.find("Conv") != -1:
                nn.init.normal_(m.weight.data, 0.0, 0.02)
            elif classname.find("BatchNorm") != -1:
                nn.init.normal_(m.weight.data, 1.0, 0.02)
                nn.init.constant_(m.bias.data, 0)

        netD = nn.Sequential(nn.Conv2d(3, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2), nn.Linear(64, 1))
        netD.apply(weights_init)
    """)
    conv, linear = (l for l in graph.torch.layers if l.spec.initializer_param)
    assert conv.initializer.weight_scale.variance == 0.02 ** 2
    assert linear.initializer.no_family_default  # "Linear" does not contain "Conv"


def test_a_module_assigned_in_two_branches_is_not_followed():
    found = codes("""
        import torch.nn as nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self, deep):
                super().__init__()
                self.fc = nn.Linear(8, 8)
                if deep:
                    self.body = nn.Sequential(nn.Linear(8, 8), nn.Tanh())
                else:
                    self.body = nn.Identity()
                self.out = nn.Linear(8, 1)

            def forward(self, x):
                return self.out(self.body(F.relu(self.fc(x))))
    """)
    # fc meets a ReLU: judged; what follows the body's Tanh (the body is one of two) is not.
    assert found == [(7, "GL101")]


def test_an_output_layer_with_its_activation_keeps_the_default_silently():
    assert codes("""
        import torch
        import torch.nn as nn

        class Classifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.hidden = nn.Linear(30, 16)
                nn.init.kaiming_normal_(self.hidden.weight, nonlinearity="relu")
                self.out = nn.Linear(16, 1)

            def forward(self, x):
                return torch.sigmoid(self.out(torch.relu(self.hidden(x))))
    """) == []


def test_layer_subclasses_and_their_reset_parameters():
    text = """
        import torch.nn as nn
        import torch.nn.functional as F

        class HeLinear(nn.Linear):
            def reset_parameters(self):
                nn.init.kaiming_normal_(self.weight, nonlinearity="relu")

        class PlainLinear(nn.Linear):
            pass

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = HeLinear(64, 64)
                self.fc2 = PlainLinear(64, 64)
                self.fc3 = nn.Linear(64, 1)

            def forward(self, x):
                return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
    """
    found = check(text)
    # HeLinear initializes itself; PlainLinear keeps PyTorch's default, and its message says so.
    assert [(d.location.row, d.code) for d in found] == [(15, "GL101")]
    assert found[0].message.startswith("PlainLinear followed by activation 'relu'")
    graph = graph_of(text)
    assert graph.torch.layers[0].fan_in == 64
