"""Flax layers and how models apply them: fans, activations, Sequential, compact bodies,
setup(), NNX modules, loops and residual adds."""

from __future__ import annotations

from flax_helpers import codes, graph_of, layer_at


def test_nnx_fans_follow_the_constructor_and_linen_fans_follow_the_layer_before():
    graph = graph_of("""
        from flax import linen as nn
        from flax import nnx

        a = nnx.Linear(784, 256, rngs=nnx.Rngs(0))
        b = nnx.Conv(3, 16, kernel_size=(3, 3), rngs=nnx.Rngs(0))
        c = nnx.Linear(width, 10, rngs=nnx.Rngs(0))

        class CNN(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = nn.relu(nn.Conv(32, (3, 3))(x))
                x = nn.relu(nn.Conv(64, (3, 3))(x))
                x = x.reshape((x.shape[0], -1))
                x = nn.relu(nn.Dense(256)(x))
                return nn.Dense(10)(x)
    """)
    assert (layer_at(graph, 4).fan_in, layer_at(graph, 4).fan_out) == (784, 256)
    assert (layer_at(graph, 5).fan_in, layer_at(graph, 5).fan_out) == (27, 144)
    assert layer_at(graph, 6).fan_in is None and layer_at(graph, 6).fan_out == 10
    assert (layer_at(graph, 11).fan_in, layer_at(graph, 11).fan_out) == (None, 288)  # the input's width is unseen
    assert (layer_at(graph, 12).fan_in, layer_at(graph, 12).fan_out) == (288, 576)
    assert layer_at(graph, 14).fan_in is None  # after a reshape
    assert (layer_at(graph, 15).fan_in, layer_at(graph, 15).fan_out) == (256, 10)


def test_activations_from_linen_jax_and_jax_numpy():
    graph = graph_of("""
        import functools
        import jax
        import jax.numpy as jnp
        from flax import linen as nn

        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = nn.relu(nn.Dense(8)(x))
                x = jax.nn.gelu(nn.Dense(8)(x))
                x = jnp.tanh(nn.Dense(8)(x))
                x = nn.leaky_relu(nn.Dense(8)(x), negative_slope=0.2)
                x = nn.sigmoid(nn.Dense(8)(x))
                x = nn.Sequential([nn.Dense(8), functools.partial(nn.leaky_relu, negative_slope=0.1)])(x)
                return nn.Dense(1)(x)
    """)
    found = {l.call.lineno: l.following for l in graph.layers}
    assert [found[n].name for n in range(9, 14)] == ["relu", "gelu", "tanh", "leaky_relu", "sigmoid"]
    assert found[12].slope == 0.2
    sequential_dense = next(l for l in graph.layers if l.call.lineno == 14)
    assert sequential_dense.following.name == "leaky_relu" and sequential_dense.following.slope == 0.1
    assert found[15].name == "linear" and found[15].source == "output"


def test_linen_mlp_with_default_init_is_flagged_in_its_hidden_layers_only():
    assert codes("""
        from flax import linen as nn

        class MLP(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = nn.Dense(512)(x)
                x = nn.relu(x)
                x = nn.Dense(512)(x)
                x = nn.relu(x)
                return nn.Dense(10)(x)
    """) == [(6, "GL101"), (8, "GL101")]


def test_the_message_speaks_flax():
    from flax_helpers import check

    [first] = check("""
        from flax import linen as nn

        class MLP(nn.Module):
            @nn.compact
            def __call__(self, x):
                return nn.Dense(10)(nn.relu(nn.Dense(512)(x)))
    """)
    assert "nn.Dense followed by activation 'relu'" in first.message
    assert "Flax's default kernel_init, lecun_normal()" in first.message
    assert "×0.71 per layer" in first.message
    assert "kernel_init=nn.initializers.he_normal()" in first.message


def test_setup_attributes_are_applied_in_call():
    assert codes("""
        import flax.linen as nn

        class MLP(nn.Module):
            def setup(self):
                self.hidden = nn.Dense(256)
                self.act = nn.relu
                self.out = nn.Dense(10)

            def __call__(self, x):
                return self.out(self.act(self.hidden(x)))
    """) == [(5, "GL101")]


def test_nnx_module_layers_in_init_applied_in_call():
    assert codes("""
        from flax import nnx

        class MLP(nnx.Module):
            def __init__(self, din, dout, *, rngs: nnx.Rngs):
                self.linear1 = nnx.Linear(din, 512, rngs=rngs)
                self.bn = nnx.BatchNorm(512, rngs=rngs)
                self.linear2 = nnx.Linear(512, 512, rngs=rngs)
                self.linear3 = nnx.Linear(512, dout, rngs=rngs)

            def __call__(self, x):
                x = nnx.relu(self.bn(self.linear1(x)))
                x = nnx.relu(self.linear2(x))
                return self.linear3(x)
    """) == [(7, "GL101")]  # linear1 reaches BatchNorm: its scale cancels


def test_sequential_in_linen_and_nnx():
    assert codes("""
        from flax import linen as nn
        from flax import nnx

        a = nn.Sequential([nn.Dense(128), nn.relu, nn.Dense(10)])
        b = nnx.Sequential(nnx.Linear(8, 128, rngs=nnx.Rngs(0)), nnx.relu, nnx.Linear(128, 10, rngs=nnx.Rngs(0)))
    """) == [(4, "GL101"), (5, "GL101")]


def test_tanh_sigmoid_and_linear_outputs_with_the_default_are_not_flagged():
    # lecun_normal has Glorot's gain at equal widths: nobody chose it, and it fits these.
    assert codes("""
        import jax.numpy as jnp
        from flax import linen as nn

        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = jnp.tanh(nn.Dense(64)(x))
                x = nn.sigmoid(nn.Dense(64)(x))
                return nn.Dense(1)(x)
    """) == []


def test_loops_over_a_layer_list_and_inline_loops():
    graph = graph_of("""
        from flax import linen as nn

        class Tower(nn.Module):
            def setup(self):
                self.layers = [nn.Dense(128) for _ in range(4)]

            def __call__(self, x):
                for layer in self.layers:
                    x = nn.relu(layer(x))
                return x

        class Compact(nn.Module):
            @nn.compact
            def __call__(self, x):
                for _ in range(6):
                    x = nn.gelu(nn.Dense(64)(x))
                return nn.Dense(1)(x)
    """)
    tower = layer_at(graph, 5)
    assert tower.following.name == "relu" and tower.fan_in is None
    stack = next(s for s in graph.stacks if s.entries[0].layer.call.lineno == 16)
    assert stack.entries[0].repeat == 6 and stack.end == "output"
    assert layer_at(graph, 16).fan_in is None  # the first turn's input width is unseen
    assert layer_at(graph, 17).fan_in == 64


def test_residual_block_end_is_left_alone_and_the_main_path_is_judged():
    block = """
        from flax import linen as nn

        class Block(nn.Module):
            @nn.compact
            def __call__(self, x):
                y = nn.Dense(64)(x)
                y = nn.relu(y)
                y = nn.Dense(64{init})(y)
                return x + y

        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = nn.Dense(64, kernel_init=nn.initializers.he_normal())(x)
                x = nn.relu(x)
                x = Block()(x)
                x = Block()(x)
                return nn.Dense(10)(x)
    """
    assert codes(block.format(init="")) == [(6, "GL101")]
    # A zero-initialized branch end (ReZero, Fixup) is an idiom, and nothing passes it at first.
    assert codes(block.format(init=", kernel_init=nn.initializers.zeros")) == []


def test_layer_norm_and_group_norm_guard_too():
    assert codes("""
        from flax import linen as nn

        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = nn.relu(nn.LayerNorm()(nn.Dense(256)(x)))
                x = nn.relu(nn.GroupNorm(num_groups=8)(nn.Conv(64, (3, 3))(x)))
                x = nn.relu(nn.RMSNorm()(nn.Dense(256)(x)))
                return nn.Dense(10)(x)
    """) == []


def test_output_into_unknown_code_is_not_judged():
    assert codes("""
        from flax import linen as nn

        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = my_custom_op(nn.Dense(256)(x))
                return nn.Dense(10)(x)
    """) == []


def test_saturating_and_exponential_stacks_speak_flax():
    from flax_helpers import check

    found = check("""
        import jax.numpy as jnp
        from flax import linen as nn

        class Sig(nn.Module):
            @nn.compact
            def __call__(self, x):
                for _ in range(12):
                    x = nn.sigmoid(nn.Dense(128)(x))
                return nn.Dense(1)(x)

        class Exp(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = jnp.exp(nn.Dense(32)(x))
                return nn.Dense(1)(x)
    """)
    by_code = {d.code: d for d in found}
    assert set(by_code) == {"GL301", "GL303"}
    assert "kernel_init=nn.initializers.he_normal()" in by_code["GL301"].message
    assert "nn.relu, nn.elu or nn.softplus" in by_code["GL303"].message


def test_a_file_without_flax_builds_no_flax_layers():
    graph = graph_of("""
        import torch.nn as nn
        model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))
    """)
    assert graph.flax.layers == [] and all(not graph.flax.owns(l) for l in graph.layers)


def test_nnx_list_of_blocks_applied_in_a_loop():
    assert codes("""
        from flax import nnx

        class Tower(nnx.Module):
            def __init__(self, depth, *, rngs):
                self.blocks = nnx.List([nnx.Linear(256, 256, rngs=rngs) for _ in range(depth)])
                self.head = nnx.Linear(256, 10, rngs=rngs)

            def __call__(self, x):
                for block in self.blocks:
                    x = nnx.silu(block(x))
                return self.head(x)
    """) == [(5, "GL101")]


def test_a_layer_applied_where_outputs_disagree_is_not_judged():
    graph = graph_of("""
        from flax import linen as nn

        class Net(nn.Module):
            def setup(self):
                self.shared = nn.Dense(64)

            def __call__(self, x, y):
                a = nn.relu(self.shared(x))
                b = nn.tanh(self.shared(y))
                return a, b
    """)
    layer = layer_at(graph, 5)
    assert layer.following is None and layer.unknown_reason == ("outputs-disagree", "relu and tanh")


_FIELDS = """
    from typing import Callable
    from flax import linen as nn

    class MLP(nn.Module):
        hidden: int = 256
        act: Callable = nn.relu

        @nn.compact
        def __call__(self, x):
            x = self.act(nn.Dense(self.hidden)(x))
            return nn.Dense(10)(x)

    model = MLP(){more}
"""


def test_linen_fields_are_known_where_every_instantiation_agrees():
    graph = graph_of(_FIELDS.format(more=""))
    hidden, head = layer_at(graph, 10), layer_at(graph, 11)
    assert hidden.fan_out == 256 and hidden.following.name == "relu"
    assert (head.fan_in, head.fan_out) == (256, 10)
    assert codes(_FIELDS.format(more="")) == [(10, "GL101")]


def test_linen_fields_an_instantiation_overrides_are_unknown():
    other_width = graph_of(_FIELDS.format(more="\n    wide = MLP(hidden=1024)"))
    assert layer_at(other_width, 10).fan_out is None
    # Another activation for the field: the layer's activation is not known, so it is not judged.
    other_act = _FIELDS.format(more="\n    smooth = MLP(act=nn.tanh)")
    assert layer_at(graph_of(other_act), 10).following is None
    assert codes(other_act) == []


def test_a_class_never_instantiated_here_keeps_its_fields_unknown():
    text = _FIELDS.format(more="").replace("model = MLP()", "")
    assert layer_at(graph_of(text), 10).fan_out is None
    assert codes(text) == []  # (nor is the field's activation taken on trust)


def test_nnx_init_parameters_from_the_instantiations():
    graph = graph_of("""
        from flax import nnx

        class MLP(nnx.Module):
            def __init__(self, din, dmid, dout=10, *, rngs):
                self.fc = nnx.Linear(din, dmid, rngs=rngs)
                self.out = nnx.Linear(dmid, dout, rngs=rngs)

            def __call__(self, x):
                return self.out(nnx.relu(self.fc(x)))

        model = MLP(784, dmid=128, rngs=nnx.Rngs(0))
        again = MLP(784, 128, rngs=nnx.Rngs(1))
    """)
    assert (layer_at(graph, 5).fan_in, layer_at(graph, 5).fan_out) == (784, 128)
    assert (layer_at(graph, 6).fan_in, layer_at(graph, 6).fan_out) == (128, 10)


def test_a_normalization_after_a_loop_guards_only_its_last_turn():
    assert codes("""
        from flax import linen as nn

        class Tower(nn.Module):
            @nn.compact
            def __call__(self, x):
                for _ in range(4):
                    x = nn.relu(nn.Dense(128)(x))
                x = nn.LayerNorm()(x)
                return nn.Dense(10)(x)
    """) == [(7, "GL101")]


def test_a_submodule_gets_the_width_its_parent_gives_it():
    graph = graph_of("""
        from flax import linen as nn

        class Block(nn.Module):
            features: int

            @nn.compact
            def __call__(self, x):
                return nn.relu(nn.Conv(self.features, (3, 3))(x))

        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = nn.relu(nn.Conv(32, (3, 3))(x))
                x = Block(64)(x)
                return nn.Dense(10)(x)
    """)
    block_conv = layer_at(graph, 8)
    assert (block_conv.fan_in, block_conv.fan_out) == (32 * 9, 64 * 9)
    assert layer_at(graph, 15).fan_in == 64


def test_gradlint_signal_predicts_flax_models():
    from flax_helpers import dedent

    from gradlint.signal.cli import models_in_text

    [model] = models_in_text(dedent("""
        from flax import linen as nn

        class MLP(nn.Module):
            @nn.compact
            def __call__(self, x):
                for _ in range(20):
                    x = nn.relu(nn.Dense(256)(x))
                return nn.Dense(10)(x)
    """), "model.py")
    # ×0.71 per layer over 20 ReLU layers with lecun_normal: the first gets a small fraction.
    assert model.prediction.backward_ratio < 1e-2


def test_layers_made_by_a_partial_take_its_arguments():
    text = """
        import functools
        from flax import linen as nn

        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                dense = functools.partial(nn.Dense, use_bias=False)
                he = functools.partial(nn.Dense, kernel_init=nn.initializers.glorot_normal())
                x = nn.relu(dense(128)(x))
                x = nn.relu(he(128)(x))
                return nn.Dense(10)(x)
    """
    graph = graph_of(text)
    first, second = layer_at(graph, 9), layer_at(graph, 10)
    assert first.fan_out == 128 and first.initializer.is_default
    assert second.initializer.family.value == "Glorot" and second.fan_in == 128
    assert codes(text) == [(9, "GL101"), (10, "GL101")]
    from flax_helpers import check, fix

    fixed = fix(text, unsafe=True)
    assert "nn.relu(dense(128, kernel_init=nn.initializers.he_normal())(x))" in fixed
    # The partial's kernel_init is shared by whatever else it makes: not rewritten, only advised.
    assert "functools.partial(nn.Dense, kernel_init=nn.initializers.glorot_normal())" in fixed
    shared = next(d for d in check(fixed) if d.location.row == 10)
    assert shared.fix is None and "kernel_init=nn.initializers.he_normal()" in shared.message


def test_remat_blocks_and_starred_nnx_sequential():
    assert codes("""
        from flax import linen as nn
        from flax import nnx

        class Block(nn.Module):
            @nn.compact
            def __call__(self, x):
                return nn.relu(nn.Dense(256)(x))

        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = nn.remat(Block)()(x)
                return nn.Dense(10)(x)

        layers = [nnx.Linear(64, 64, rngs=nnx.Rngs(0)), nnx.relu]
        model = nnx.Sequential(*layers, nnx.Linear(64, 1, rngs=nnx.Rngs(0)))
    """) == [(7, "GL101"), (15, "GL101")]
