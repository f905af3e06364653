"""Models built flow-sensitively: a name rebound in each branch of a function has the layers
of its own branch, and a compile after the branches trains any of them."""

from __future__ import annotations

import ast
import textwrap

from gradlint.config import Settings
from gradlint.engine import check_source
from gradlint.graph.model import build_graph
from gradlint.graph.source import SourceText

ZOO = """
    from keras.layers import LSTM, Conv1D, Dense, Embedding, GlobalMaxPooling1D
    from keras.models import Sequential

    def get_model(name):
        if name == "cnn":
            model = Sequential()
            model.add(Embedding(1000, 32))
            model.add(Conv1D(32, 3, activation="relu", kernel_initializer="he_normal"))
            model.add(GlobalMaxPooling1D())
            model.add(Dense(1, activation="sigmoid"))
        else:
            model = Sequential()
            model.add(Embedding(1000, 32))
            model.add(RECURRENT(32))
            model.add(Dense(1, activation="sigmoid"))
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model
"""


def codes(src: str) -> list[tuple[int, str]]:
    return [(d.location.row, d.code) for d in check_source(textwrap.dedent(src), "zoo.py", Settings())]


def test_a_compile_after_the_branches_trains_the_recurrent_one():
    assert codes(ZOO.replace("RECURRENT", "LSTM")) == [(17, "GL201")]


def test_no_branch_recurrent_no_clipping_finding():
    assert codes(ZOO.replace("RECURRENT", "Dense")) == []


def test_each_branch_keeps_its_own_layers():
    # Two branches; only the second stacks ReLU layers with Glorot. Before, a name bound twice
    # dropped every .add() in the function, and neither was seen.
    src = """
        from keras.layers import Dense
        from keras.models import Sequential

        def get_model(deep):
            if deep:
                model = Sequential()
                model.add(Dense(64, input_dim=8, activation="tanh"))
                model.add(Dense(1))
            else:
                model = Sequential()
                model.add(Dense(64, input_dim=8, activation="relu"))
                model.add(Dense(64, activation="relu"))
                model.add(Dense(1))
            return model
    """
    found = check_source(textwrap.dedent(src), "zoo.py", Settings(select=("GL101",)))
    assert [d.location.row for d in found] == [12, 13]
    # The two are one stack of the second branch's model, not two lone layers.
    graph = build_graph(ast.parse(textwrap.dedent(src)), SourceText(textwrap.dedent(src)), "zoo.py")
    stacked = [[e.layer.call.lineno for e in stack.entries] for stack in graph.stacks]
    assert [12, 13, 14] in stacked or [12, 13] in stacked, stacked


def test_an_add_both_branches_reach_is_given_to_neither():
    # Which model gets the Dense(1) depends on the branch taken. Were it given to the first,
    # its He-initialized Dense(256) would look linear (feeding a weighted layer) and be flagged;
    # where its output goes is in truth not known, and it is not judged.
    src = """
        from keras.layers import Dense
        from keras.models import Sequential

        def get_model(wide):
            if wide:
                model = Sequential([Dense(256, input_dim=8, kernel_initializer="he_normal")])
            else:
                model = Sequential([Dense(64, input_dim=8, kernel_initializer="he_normal")])
            model.add(Dense(1))
            return model
    """
    assert codes(src) == []


def test_a_list_of_layers_built_in_init_and_applied_in_a_loop_in_call():
    src = """
        import keras
        from keras import layers, ops

        class MLP(keras.Model):
            def __init__(self, hidden=256):
                super().__init__()
                self.blocks = [layers.Dense(hidden) for _ in range(12)]
                self.head = layers.Dense(10)

            def call(self, x):
                for dense in self.blocks:
                    x = ops.relu(dense(x))
                return self.head(x)
    """
    [finding] = check_source(textwrap.dedent(src), "m.py", Settings(select=("GL101",)))
    # The loop applies the list's twelve copies in turn, each followed by ops.relu.
    assert finding.location.row == 8
    assert "followed by activation 'relu' (line 13)" in finding.message
    assert "over this run of 12 layers" in finding.message and finding.severity == "warning"


def test_a_list_of_layers_the_loop_leaves_unactivated_is_not_judged_as_relu():
    src = """
        import keras
        from keras import layers

        class Encoder(keras.Model):
            def __init__(self):
                super().__init__()
                self.blocks = [layers.Dense(64, kernel_initializer="he_normal") for _ in range(3)]

            def call(self, x):
                for block in self.blocks:
                    x = block(x) + x
                return x
    """
    # Each block's output is added back onto the residual path: linear, and He there is not
    # judged by where an unseen consumer takes it.
    assert codes(src) == []
