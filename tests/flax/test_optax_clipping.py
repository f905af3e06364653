"""GL201 for Flax: a recurrent model's optax optimizer not chained with clipping, and the fix
that chains it."""

from __future__ import annotations

import sys

from flax_helpers import check, codes, fix

_LSTM = """
import optax
from flax import linen as nn
from flax.training import train_state

class LM(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.RNN(nn.LSTMCell(128))(x)
        return nn.Dense(100)(x)

"""


def test_an_unclipped_adam_is_reported_on_its_call_and_wrapped():
    text = _LSTM + """
def create(params):
    tx = optax.adam(1e-3)
    return train_state.TrainState.create(apply_fn=LM().apply, params=params, tx=tx)
"""
    [found] = check(text)
    assert found.code == "GL201" and (found.location.row, found.location.column) == (13, 10)
    assert "nn.RNN" in found.message and "optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))" in found.message
    assert found.fix is not None and found.fix.applicability == "safe"
    assert "tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))" in fix(text)


def test_nnx_optimizer_and_inject_hyperparams():
    text = """
from flax import nnx
import optax

class LM(nnx.Module):
    def __init__(self, *, rngs):
        self.rnn = nnx.RNN(nnx.LSTMCell(64, 64, rngs=rngs))

    def __call__(self, x):
        return self.rnn(x)

optimizer = nnx.Optimizer(LM(rngs=nnx.Rngs(0)), optax.inject_hyperparams(optax.adamw)(learning_rate=1e-3))
"""
    assert codes(text) == [(11, "GL201")]
    assert ("nnx.Optimizer(LM(rngs=nnx.Rngs(0)), optax.chain(optax.clip_by_global_norm(1.0), "
            "optax.inject_hyperparams(optax.adamw)(learning_rate=1e-3)))") in fix(text)


def test_an_unclipped_chain_gets_the_clip_first():
    text = _LSTM + """
tx = optax.chain(
    optax.add_decayed_weights(1e-4),
    optax.sgd(0.1, momentum=0.9),
)
opt_state = tx.init(params)
"""
    assert codes(text) == [(14, "GL201")]
    fixed = fix(text)
    assert "tx = optax.chain(\n    optax.clip_by_global_norm(1.0),\n    optax.add_decayed_weights(1e-4)," in fixed


def test_clip_value_setting_writes_optax_clip():
    text = _LSTM + "opt_state = optax.rmsprop(1e-3).init(params)\n"
    assert "optax.chain(optax.clip(0.5), optax.rmsprop(1e-3)).init(params)" in fix(text, clip="clipvalue", clip_value=0.5)


def test_clipped_optimizers_are_silent():
    for clipped in (
        "tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))\nstate = tx.init(params)\n",
        "base = optax.adam(1e-3)\ntx = optax.chain(optax.clip(1.0), base)\nstate = tx.init(params)\n",
        "tx = optax.MultiSteps(optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3)), 4)\n",
        "def make():\n    return optax.adam(1e-3)\n\ntx = optax.chain(optax.clip_by_global_norm(1.0), make())\n",
    ):
        assert codes(_LSTM + clipped) == [], clipped


def test_an_optimizer_handed_to_unknown_code_is_not_judged():
    assert codes(_LSTM + "state = build_state(optax.adam(1e-3))\n") == []
    assert codes(_LSTM + "tx = optax.chain(*transforms, optax.adam(1e-3))\nstate = tx.init(params)\n") == []


def test_gradients_clipped_by_hand_are_not_judged():
    text = _LSTM + """
tx = optax.adam(1e-3)
clipper = optax.clip_by_global_norm(1.0)
state = tx.init(params)
"""
    assert codes(text) == []


def test_no_recurrent_model_no_finding():
    assert codes("""
from flax import linen as nn
import optax

class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(1)(x)

tx = optax.adam(1e-3)
state = tx.init(params)
""") == []


def test_scanned_cells_count_as_recurrent():
    text = """
import optax
from flax import linen as nn

class Encoder(nn.Module):
    @nn.compact
    def __call__(self, carry, x):
        cell = nn.scan(nn.OptimizedLSTMCell, variable_broadcast="params", split_rngs={"params": False})
        return cell(128)(carry, x)

tx = optax.adam(1e-3)
state = tx.init(params)
"""
    assert codes(text) == [(10, "GL201")]


def test_the_static_path_imports_no_jax_flax_or_optax():
    check(_LSTM + "tx = optax.adam(1e-3)\nstate = tx.init(params)\n")
    assert not {"jax", "flax", "optax"} & set(sys.modules)


def test_the_prefilter_admits_files_that_name_only_jax_or_optax():
    from gradlint.engine import _MENTIONS_KERAS

    assert _MENTIONS_KERAS.search("import jax.numpy as jnp\n")
    assert _MENTIONS_KERAS.search("import optax\n")
    assert _MENTIONS_KERAS.search("from flax import nnx\n")
    assert not _MENTIONS_KERAS.search("import numpy as np\nprint(np.zeros(3))\n")
