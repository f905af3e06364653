"""torch.nn layers and how models apply them: fans, activations, Sequential, forward()."""

from __future__ import annotations

import textwrap
import warnings

import pytest
from torch_helpers import codes, graph_of


def _layer(graph, line):
    return next(l for l in graph.layers if l.call.lineno == line)


def test_fans_follow_the_constructor_arguments():
    graph = graph_of("""
        import torch.nn as nn
        a = nn.Linear(784, 256)
        b = nn.Conv2d(3, 16, 3)
        c = nn.Conv2d(in_channels=32, out_channels=64, kernel_size=(3, 5), groups=4)
        d = nn.ConvTranspose2d(64, 32, 4, stride=2)
        e = nn.LazyLinear(10)
        f = nn.Linear(width, 10)
    """)
    assert (_layer(graph, 2).fan_in, _layer(graph, 2).fan_out) == (784, 256)
    assert (_layer(graph, 3).fan_in, _layer(graph, 3).fan_out) == (27, 144)
    assert (_layer(graph, 4).fan_in, _layer(graph, 4).fan_out) == (8 * 15, 64 * 15)
    # A transposed convolution's weight is (in, out, *k): torch's fan-in is out × area.
    assert (_layer(graph, 5).fan_in, _layer(graph, 5).fan_out) == (32 * 16, 64 * 16)
    assert (_layer(graph, 6).fan_in, _layer(graph, 6).fan_out) == (None, 10)
    assert _layer(graph, 7).fan_in is None


def test_activations_from_modules_functions_and_methods():
    graph = graph_of("""
        import torch
        from torch import nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Linear(8, 8)
                self.b = nn.Linear(8, 8)
                self.c = nn.Linear(8, 8)
                self.d = nn.Linear(8, 8)
                self.e = nn.Linear(8, 8)
                self.act = nn.LeakyReLU(0.2)
                self.out = nn.Linear(8, 1)

            def forward(self, x):
                x = F.relu(self.a(x))
                x = torch.tanh(self.b(x))
                x = self.c(x).sigmoid()
                x = self.act(self.d(x))
                x = F.leaky_relu(self.e(x), negative_slope=0.3)
                return self.out(x)
    """)
    found = {l.call.lineno: l.following for l in graph.layers}
    assert [found[n].name for n in range(8, 13)] == ["relu", "tanh", "sigmoid", "leaky_relu", "leaky_relu"]
    assert found[11].slope == 0.2 and found[12].slope == 0.3
    assert found[14].name == "linear" and found[14].source == "output"


def test_sequential_positional_and_ordered_dict():
    graph = graph_of("""
        from collections import OrderedDict
        import torch.nn as nn
        a = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Dropout(p=0.1), nn.Linear(8, 2))
        b = nn.Sequential(OrderedDict([("fc", nn.Linear(4, 8)), ("act", nn.SiLU()), ("out", nn.Linear(8, 2))]))
    """)
    stacks = [[(e.layer.class_name, [getattr(x, "name", None) or x.class_name for x in e.after]) for e in s.entries]
              for s in graph.stacks]
    assert stacks == [[("Linear", ["gelu", "Dropout"]), ("Linear", [])], [("Linear", ["silu"]), ("Linear", [])]]
    assert all(s.end == "output" for s in graph.stacks)
    assert graph.torch.paths[id(_layer(graph, 4).call)] == "b.fc"


def test_module_list_loop_repeats_the_layer():
    graph = graph_of("""
        import torch.nn as nn

        class Tower(nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = nn.ModuleList([nn.Linear(64, 64) for _ in range(12)])
                self.head = nn.Linear(64, 1)

            def forward(self, x):
                for block in self.blocks:
                    x = nn.functional.relu(block(x))
                return self.head(x)
    """)
    (stack,) = graph.stacks
    assert [(e.layer.call.lineno, e.repeat) for e in stack.entries] == [(6, 12), (7, 1)]


def test_submodule_classes_are_inlined_and_residual_adds_seen():
    graph = graph_of("""
        import torch.nn as nn
        import torch.nn.functional as F

        class Block(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.fc1 = nn.Linear(d, d)
                self.fc2 = nn.Linear(d, d)

            def forward(self, x):
                return x + self.fc2(F.relu(self.fc1(x)))

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = nn.Sequential(Block(32), Block(32))
                self.out = nn.Linear(32, 1)

            def forward(self, x):
                return self.out(self.blocks(x))
    """)
    from gradlint.graph.guards import added_back

    fc2 = _layer(graph, 8)
    assert added_back(graph, fc2)
    assert _layer(graph, 7).following.name == "relu"


def test_batchnorm_after_the_layer_guards_it():
    found = codes("""
        import torch.nn as nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(3, 32, 3, padding=1, bias=False)
                self.bn1 = nn.BatchNorm2d(32)
                self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
                self.pool = nn.MaxPool2d(2)
                self.fc = nn.Linear(32 * 16 * 16, 10)

            def forward(self, x):
                x = F.relu(self.bn1(self.conv1(x)))
                x = self.pool(F.relu(self.conv2(x)))
                return self.fc(x.flatten(1))
    """)
    assert found == [(9, "GL101")]  # conv2: ReLU, no normalization after it


def test_opaque_flow_concludes_nothing():
    found = codes("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(8, 8)
                self.fc2 = nn.Linear(8, 8)

            def forward(self, x):
                h = self.fc1(x)
                y = self.helper(h)
                z = self.fc2(x) * 0.5
                return y, z
    """)
    assert found == []


def test_a_linear_of_the_users_own_is_not_torch():
    assert codes("""
        import torch
        from mylib import nn

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 8)

            def forward(self, x):
                return torch.relu(self.fc(x))
    """) == []


def test_fans_from_the_arguments_every_instantiation_passes():
    graph = graph_of("""
        import torch.nn as nn

        class Block(nn.Module):
            def __init__(self, d, expansion=4):
                super().__init__()
                self.fc1 = nn.Linear(d, expansion * d)
                self.fc2 = nn.Linear(expansion * d, d)

        class Net(nn.Module):
            def __init__(self, width=128):
                super().__init__()
                self.blocks = nn.Sequential(Block(width), Block(width))

        def head(w):
            w = w * 2
            return nn.Linear(w, 1)

        def tail(w):
            return nn.Linear(w, 1)

        net = Net()
        head(8)
        tail(16)
        tail(32)
    """)
    fans = {l.call.lineno: (l.fan_in, l.fan_out) for l in graph.torch.layers}
    assert fans[6] == (128, 512) and fans[7] == (512, 128)
    assert fans[16] == (None, 1)  # reassigned before use
    assert fans[19] == (None, 1)  # the two calls disagree


def test_module_dict_by_key_and_in_loops():
    text = """
        import torch.nn as nn
        import torch.nn.functional as F

        class Heads(nn.Module):
            def __init__(self):
                super().__init__()
                self.trunk = nn.ModuleDict({"fc1": nn.Linear(32, 32), "fc2": nn.Linear(32, 32)})
                self.out = nn.Linear(32, 1)
                for name, m in self.trunk.items():
                    nn.init.kaiming_normal_(m.weight)

            def forward(self, x):
                for layer in self.trunk.values():
                    x = F.relu(layer(x))
                return self.out(x)
    """
    assert codes(text) == []  # He for both, through items()
    without_init = "\n".join(l for l in text.splitlines() if "items()" not in l and "kaiming" not in l)
    assert codes(without_init) == [(7, "GL101"), (7, "GL101")]
    by_key = without_init.replace("for layer in self.trunk.values():\n                    x = F.relu(layer(x))",
                                  'x = F.relu(self.trunk["fc2"](x))')
    assert 'self.trunk["fc2"](x)' in by_key and codes(by_key) == [(7, "GL101")]


def test_a_submodules_output_meets_what_its_caller_applies():
    graph = graph_of("""
        import torch.nn as nn
        import torch.nn.functional as F

        class Encoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(32, 32)

            def forward(self, x):
                return self.fc(x)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.enc = Encoder()
                self.out = nn.Linear(32, 1)

            def forward(self, x):
                return self.out(F.relu(self.enc(x)))
    """)
    fc, out = graph.torch.layers
    # Encoder's own return is not the model's output: Net applies a ReLU to it.
    assert fc.following.name == "relu" and out.following.source == "output"


def test_a_list_built_by_append_is_not_taken_as_written():
    found = codes("""
        import torch.nn as nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self, depth):
                super().__init__()
                self.fc = nn.Linear(32, 32)
                blocks = [nn.Tanh()]
                for _ in range(depth):
                    blocks.insert(0, nn.Linear(32, 32))
                self.body = nn.Sequential(*blocks)
                self.out = nn.Linear(32, 1)

            def forward(self, x):
                return self.out(self.body(self.fc(x)))
    """)
    # What the body holds is not known (it is not an empty Sequential): fc is not taken to
    # feed `out` directly, so nothing is concluded about it.
    assert found == []


def test_containers_built_up_by_add_module_or_append_are_not_followed():
    found = codes("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(32, 32)
                self.body = nn.Sequential()
                self.body.add_module("hidden", nn.Linear(32, 32))
                self.out = nn.Linear(32, 1)

            def forward(self, x):
                return self.out(self.body(self.fc(x)))

        model = nn.Sequential()
        model.add_module("fc", nn.Linear(8, 8))
        head = nn.Linear(8, 1)
    """)
    assert found == []


def test_a_module_list_filled_by_append_in_a_range_loop():
    graph = graph_of("""
        import torch.nn as nn
        import torch.nn.functional as F

        class Tower(nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = nn.ModuleList()
                for _ in range(6):
                    self.blocks.append(nn.Linear(64, 64))
                self.head = nn.Linear(64, 1)

            def forward(self, x):
                for block in self.blocks:
                    x = F.relu(block(x))
                return self.head(x)
    """)
    (stack,) = graph.stacks
    assert [(e.layer.call.lineno, e.repeat) for e in stack.entries] == [(9, 6), (10, 1)]


@pytest.mark.parametrize("fill", [
    "for _ in range(3):\n    for _ in range(2):\n        self.blocks.append(nn.Linear(64, 64))",
    "for i in range(6):\n    if i % 2:\n        self.blocks.append(nn.Linear(64, 64))",
    "while len(self.blocks) < 4:\n    self.blocks.append(nn.Linear(64, 64))",
], ids=["nested-loops", "branch-in-loop", "while"])
def test_a_module_list_appended_to_where_the_count_is_not_read_is_not_followed(fill: str):
    body = textwrap.indent(fill, " " * 16)
    source = f"""
        import torch.nn as nn
        import torch.nn.functional as F

        class Tower(nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = nn.ModuleList()
{body}
                self.head = nn.Linear(64, 1)

            def forward(self, x):
                for block in self.blocks:
                    x = F.relu(block(x))
                return self.head(x)
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no syntax node built without its required fields)
        graph = graph_of(source)
    head = 8 + fill.count("\n") + 1  # the line after the fill
    (stack,) = graph.stacks
    assert [(e.layer.call.lineno, e.repeat) for e in stack.entries] == [(head, 1)]


def test_modules_built_by_a_factory_function_or_method():
    found = codes("""
        import torch.nn as nn

        def conv_bn(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.stem = conv_bn(3, 32)
                self.body = self._plain(32)
                self.head = nn.Linear(32, 10)

            def _plain(self, c):
                return nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())

            def forward(self, x):
                return self.head(self.body(self.stem(x)))
    """)
    # The stem's convolution feeds a BatchNorm; the body's feeds only a ReLU.
    assert found == [(14, "GL101")]


def test_a_list_of_layers_built_in_a_range_loop():
    graph = graph_of("""
        import torch.nn as nn

        class DeepMLP(nn.Module):
            def __init__(self, width=128, depth=20):
                super().__init__()
                layers = []
                for _ in range(depth):
                    layers += [nn.Linear(width, width), nn.ReLU()]
                layers.append(nn.Linear(width, 10))
                self.net = nn.Sequential(*layers)

            def forward(self, x):
                return self.net(x)

        model = DeepMLP()
    """)
    (stack,) = graph.stacks
    assert [(e.layer.call.lineno, e.repeat) for e in stack.entries] == [(8, 20), (9, 1)]
    assert stack.end == "output" and graph.torch.layers[0].fan_in == 128


def test_paths_count_the_positions_a_spliced_list_takes():
    graph = graph_of("""
        import torch.nn as nn
        hidden = [nn.Linear(4, 4), nn.ReLU()]
        model = nn.Sequential(*hidden, nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
        tower = nn.Sequential(*[nn.Linear(4, 4) for _ in range(3)], nn.Linear(4, 1))
    """)
    paths = {l.call.lineno * 100 + l.call.col_offset: graph.torch.paths.get(id(l.call)) for l in graph.torch.layers}
    # The comprehension's layer is at three places (no path); the head after it is tower[3].
    assert sorted(p for p in paths.values() if p) == ["model[0]", "model[2]", "model[4]", "tower[3]"]


def test_module_lists_indexed_by_a_range_loop():
    text = """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self, n=4):
                super().__init__()
                self.fcs = nn.ModuleList([nn.Linear(64, 64) for _ in range(n)])
                self.bns = nn.ModuleList([nn.BatchNorm1d(64) for _ in range(n)])
                self.gates = nn.ModuleList([nn.Linear(64, 64) for _ in range(n)])
                self.out = nn.Linear(64, 1)

            def forward(self, x):
                for i in range(len(self.fcs)):
                    x = F.relu(self.bns[i](self.fcs[i](x)))
                for i in range(4):
                    x = torch.tanh(self.gates[i](x))
                return self.out(x)
    """
    from gradlint.graph.guards import normalization_reached

    graph = graph_of(text)
    fcs = _layer(graph, 8)
    assert fcs.following.name == "relu" and normalization_reached(graph, fcs) is not None
    # fcs feed their BatchNorm; gates meet tanh with PyTorch's default.
    assert codes(text) == [(10, "GL101")]


def test_forward_with_residual_adds_is_one_model_for_the_signal():
    from gradlint.signal.from_graph import signal_of
    from gradlint.signal.model import Residual, Weighted

    graph = graph_of("""
        import torch.nn as nn
        import torch.nn.functional as F

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(64, 64)
                self.fc2 = nn.Linear(64, 64)

            def forward(self, x):
                h = self.fc2(F.relu(self.fc1(x)))
                return x + h

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.stem = nn.Linear(64, 64)
                self.blocks = nn.ModuleList([Block() for _ in range(3)])
                self.head = nn.Linear(64, 1)

            def forward(self, x):
                x = self.stem(x)
                for block in self.blocks:
                    x = block(x)
                return self.head(x)
    """)
    (model,) = [m for m in signal_of(graph).models if m.description.name == "Net"]
    steps = model.description.steps
    assert [type(s).__name__ for s in steps] == ["Weighted", "Residual", "Residual", "Residual", "Weighted"]
    assert all(isinstance(s, Residual) and not s.skip and sum(isinstance(b, Weighted) for b in s.branch) == 2
               for s in steps[1:4])
    assert steps[-1].head
