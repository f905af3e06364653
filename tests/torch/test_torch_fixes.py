"""Fixes for PyTorch layers: one nn.init line in the file's style, or none where no single edit
is safe; every fix re-parses and a second pass changes nothing."""

from __future__ import annotations

import subprocess
import sys

from torch_helpers import check, dedent, fix

from gradlint.engine import check_source


def test_adds_the_init_line_after_the_assignment():
    fixed = fix("""
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.fc1 = nn.Linear(d, 128)
                self.fc2 = nn.Linear(128, 1)

            def forward(self, x):
                return self.fc2(torch.relu(self.fc1(x)))
    """)
    assert fixed == dedent("""
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.fc1 = nn.Linear(d, 128)
                nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
                self.fc2 = nn.Linear(128, 1)

            def forward(self, x):
                return self.fc2(torch.relu(self.fc1(x)))
    """)


def test_the_files_names_and_quotes():
    # `from torch.nn import init` is the file's name for it; its strings are single-quoted.
    fixed = fix("""
        import torch
        from torch.nn import init, Linear, Module

        class Net(Module):
            def __init__(self):
                super().__init__()
                self.name = 'net'
                self.hidden = Linear(64, 64)
                self.relu_layer = Linear(64, 64)
                self.out = Linear(64, 1)

            def forward(self, x):
                return self.out(torch.relu(self.relu_layer(torch.tanh(self.hidden(x)))))
    """)
    assert "        init.xavier_normal_(self.hidden.weight)\n" in fixed
    assert "        init.kaiming_normal_(self.relu_layer.weight, nonlinearity='relu')\n" in fixed
    only_torch = fix("""
        import torch

        fc = torch.nn.Linear(10, 10)
        head = torch.nn.Linear(10, 1)
        model = torch.nn.Sequential(fc, torch.nn.SiLU(), head)
    """)
    assert "fc = torch.nn.Linear(10, 10)\ntorch.nn.init.kaiming_normal_(fc.weight, nonlinearity=\"relu\")\n" in only_torch


def test_uniform_when_configured():
    from gradlint.config import Settings
    from gradlint.engine import fix_source

    text = dedent("""
        from torch import nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 8)
                self.out = nn.Linear(8, 1)
            def forward(self, x):
                return self.out(nn.functional.gelu(self.fc(x)))
    """)
    fixed = fix_source(text, "m.py", Settings(fix_distribution="uniform")).source
    assert 'nn.init.kaiming_uniform_(self.fc.weight, nonlinearity="relu")' in fixed


def test_inline_sequential_is_reported_without_a_fix():
    text = """
        import torch.nn as nn
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    """
    (finding,) = check(text)
    assert finding.fix is None
    assert 'nn.init.kaiming_normal_(model[0].weight, nonlinearity="relu")' in finding.message
    assert fix(text) == dedent(text)


def test_an_init_call_of_the_layer_alone_is_rewritten_unsafely():
    text = """
        import torch.nn as nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(256, 256)
                nn.init.normal_(self.fc.weight, mean=0.0, std=1e-4)
                self.out = nn.Linear(256, 1)

            def forward(self, x):
                return self.out(F.relu(self.fc(x)))
    """
    assert fix(text) == dedent(text)  # unsafe: not without --unsafe-fixes
    fixed = fix(text, unsafe=True)
    assert '        nn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")\n' in fixed
    assert "std=1e-4" not in fixed


def test_prefilter_admits_torch_files_and_still_skips_the_rest():
    assert check_source("import torch\nmodel = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), "
                        "torch.nn.Linear(8, 1))\n", "m.py")
    # Neither keras, tensorflow nor torch: not even parsed (no GL001 for the syntax error).
    assert check_source("import numpy as np\ndef broken(:\n", "m.py") == []


def test_the_static_path_never_imports_torch():
    code = ("import sys\n"
            "from gradlint.engine import check_source\n"
            "text = open(sys.argv[1]).read()\n"
            "assert check_source(text, sys.argv[1])\n"
            "assert 'torch' not in sys.modules and 'tensorflow' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code, "fixtures/torch/mlp_mnist.py"], check=True,
                   cwd=__file__.rsplit("/tests/", 1)[0])


def test_a_notebook_cell_gets_its_init_line(tmp_path):
    import nbformat
    from click.testing import CliRunner

    from gradlint.cli import main

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import torch.nn as nn\nimport torch.nn.functional as F"),
        nbformat.v4.new_code_cell("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                                  "        self.fc1 = nn.Linear(784, 256)\n        self.fc2 = nn.Linear(256, 10)\n\n"
                                  "    def forward(self, x):\n        return self.fc2(F.relu(self.fc1(x)))"),
        nbformat.v4.new_code_cell("!pip install torch\nmodel = Net()"),
    ]
    path = tmp_path / "train.ipynb"
    nbformat.write(notebook, path)
    checked = CliRunner().invoke(main, ["check", "--no-cache", str(path)])
    assert checked.exit_code == 1 and "cell 2:4:20: GL101" in checked.output
    fixed = CliRunner().invoke(main, ["fix", "--write", "--no-cache", str(path)])
    assert fixed.exit_code == 0, fixed.output
    cells = nbformat.read(path, as_version=4).cells
    assert '        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")\n' in cells[1].source
    assert cells[2].source == "!pip install torch\nmodel = Net()"
