"""GL103 init-scale, GL301 deep-saturating-stack, GL302 selu-with-dropout and GL303
exponential-hidden-activation: what they flag, what they leave alone, and the exact fixes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gradlint.config import Settings, settings_from_table
from gradlint.engine import check_source, fix_source
from gradlint.errors import ConfigError


def only(code: str, **kw) -> Settings:
    # Unsafe fixes too: these tests state each fix's text, safe or unsafe (test_fix_safety.py judges which).
    return Settings(select=(code,), unsafe_fixes=True, **kw)


def findings(src: str, code: str, **kw) -> list[tuple[int, str]]:
    return [(d.location.row, d.message) for d in check_source(textwrap.dedent(src), "m.py", only(code, **kw))]


def rows(src: str, code: str, **kw) -> list[int]:
    return [row for row, _ in findings(src, code, **kw)]


def fixed(src: str, code: str, **kw) -> str:
    outcome = fix_source(textwrap.dedent(src), "m.py", only(code, **kw))
    return outcome.source


# == GL103 init-scale =================================================================================

def _dense(init: str, fan_in: int = 256, activation: str = "relu", units: int = 256) -> str:
    return f"""
        import keras
        from keras import initializers, layers
        inputs = keras.Input(shape=({fan_in},))
        x = layers.Dense({units}, activation="{activation}", kernel_initializer={init})(inputs)
        model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
    """


@pytest.mark.parametrize("init", [
    "initializers.RandomNormal(stddev=1e-4)",
    "initializers.RandomNormal(0.0, 1e-4)",
    "initializers.RandomNormal(mean=0.0, stddev=1e-4, seed=1)",
    "initializers.TruncatedNormal(stddev=1e-4)",
    "initializers.RandomUniform(-1e-4, 1e-4)",
    "initializers.RandomUniform(minval=-1e-4, maxval=1e-4)",
    "keras.initializers.random_normal(stddev=1e-4)",
    '{"class_name": "RandomNormal", "config": {"stddev": 1e-4}}',
])
def test_every_spelling_of_a_tiny_fixed_scale_is_flagged(init):
    assert rows(_dense(init), "GL103") == [5]


@pytest.mark.parametrize("init, fan_in", [
    ('"random_normal"', 10),  # Keras' stddev 0.05: 0.0025 against He's 2/10
    ('"normal"', 10),
    ('"truncated_normal"', 10),
    ('"random_uniform"', 10),
    ('"RandomNormal"', 10),
    ("initializers.RandomNormal()", 10),
])
def test_keras_default_scales_are_judged_against_the_fan_in(init, fan_in):
    assert rows(_dense(init, fan_in=fan_in), "GL103") == [5]
    assert rows(_dense(init, fan_in=784), "GL103") == []


def test_the_message_gives_the_gain_the_target_and_the_fix():
    [(row, message)] = findings(_dense("initializers.RandomNormal(stddev=1e-4, seed=7)"), "GL103")
    assert message == (
        "Dense (relu) uses initializers.RandomNormal(stddev=1e-4, seed=7): with fan_in=256 its gain "
        "fan_in·Var(w) is 2.6e-06 (He initialization for relu sets 2), so the signal shrinks ×1.1e-03 per layer; "
        "use kernel_initializer=initializers.HeNormal(seed=7)"
    )


def test_defaults_relied_on_are_named():
    [(_, message)] = findings(_dense('"random_uniform"', fan_in=10), "GL103")
    assert message.startswith("Dense (relu) uses random_uniform (default minval=-0.05, maxval=0.05): with fan_in=10")


def test_truncated_normal_counts_its_smaller_variance():
    # stddev 0.9 × sqrt(2/256): a plain normal is at g = 0.81; truncated at 2σ, 0.63. Both fine,
    # but at stddev 0.3 × sqrt(2/256) the truncated one drops below 0.1 where the plain one does not.
    plain = "initializers.RandomNormal(stddev=0.0283)"
    truncated = "initializers.TruncatedNormal(stddev=0.0283)"
    assert rows(_dense(plain), "GL103") == []
    assert rows(_dense(truncated), "GL103") == [5]


def test_too_large_is_flagged_too():
    [(_, message)] = findings(_dense("initializers.RandomNormal(stddev=0.5)"), "GL103")
    assert "its gain fan_in·Var(w) is 64 (He initialization for relu sets 2), so the signal grows ×5.7 per layer" in message


def test_glorot_target_uses_fan_in_and_fan_out():
    # tanh, 64 → 64: Glorot wants 2/128; stddev 0.01 gives 1e-4, a gain of 0.0064.
    [(_, message)] = findings(_dense("initializers.RandomNormal(stddev=0.01)", 64, "tanh", 64), "GL103")
    assert "is 0.0064 (Glorot initialization for tanh sets 1), so the signal shrinks ×0.08 per layer" in message


@pytest.mark.parametrize("init, flagged", [
    ("RandomNormal(stddev=1e-4)", True),
    ("RandomNormal(stddev=2.0)", True),
    ("RandomNormal(stddev=0.02)", False),
    ("TruncatedNormal(stddev=0.02)", False),
    ("RandomNormal(stddev=0.5)", False),
    ("RandomUniform(-0.001, 0.001)", True),  # stddev 0.00058
    ("RandomUniform(-0.01, 0.01)", False),
    ("RandomUniform(-3.0, 3.0)", True),  # stddev 1.7
])
def test_where_fan_in_is_unknown_only_extreme_scales_are_flagged(init, flagged):
    src = f"""
        from tensorflow.keras import layers, initializers
        def block(x, width):
            return layers.Dense(width, activation="relu", kernel_initializer=initializers.{init})(x)
    """
    assert rows(src, "GL103") == ([4] if flagged else [])


def test_transformer_initialization_is_not_flagged():
    src = """
        import tensorflow as tf
        class FeedForward(tf.keras.layers.Layer):
            def __init__(self, d_model, d_ff):
                super().__init__()
                init = tf.keras.initializers.TruncatedNormal(stddev=0.02)
                self.up = tf.keras.layers.Dense(d_ff, activation="gelu", kernel_initializer=init)
                self.down = tf.keras.layers.Dense(d_model, kernel_initializer=init)
            def call(self, x):
                return self.down(self.up(x))
    """
    assert rows(src, "GL103") == []


def test_values_that_are_not_constant_are_not_judged():
    src = textwrap.dedent(_dense("initializers.RandomNormal(stddev=STD)")) + "STD = get_std()\n"
    assert rows(src, "GL103") == []


@pytest.mark.parametrize("init", ['"zeros"', '"ones"', "initializers.Zeros()", "initializers.Ones()",
                                  "initializers.Constant(0.1)", '"constant"', "keras.initializers.zeros()"])
def test_constant_kernels_of_hidden_layers_are_always_flagged(init):
    assert rows(_dense(init), "GL103") == [5]
    # Where the output goes cannot be seen, a zero kernel is as likely a deliberate output
    # layer or branch end (the idioms above): only a non-zero constant, symmetric anywhere.
    src = f"""
        import keras
        from keras import initializers
        def layer():
            return keras.layers.Dense(32, activation="relu", kernel_initializer={init})
    """
    zero = init in ('"zeros"', "initializers.Zeros()", '"constant"', "keras.initializers.zeros()")  # (Constant's default is 0)
    assert rows(src, "GL103") == ([] if zero else [5])


def test_constant_message():
    [(_, message)] = findings(_dense('"zeros"', units=64), "GL103")
    assert message == (
        "Dense (relu) uses zeros: every unit starts with the same weights and computes the same output: "
        "the layer begins as one unit copied 64 times, which only different gradients from above can tell "
        "apart; zero weights also pass no gradient to the layers below; use kernel_initializer=\"he_normal\""
    )


def test_a_single_zero_output_unit_is_fine_but_not_a_constant_one():
    logistic = """
        import tensorflow as tf
        model = tf.keras.Sequential([tf.keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros", input_shape=(30,))])
    """
    assert rows(logistic, "GL103") == []
    assert rows(logistic.replace('"zeros"', '"ones"'), "GL103") == [3]


def test_gl101_leaves_fixed_scale_initializers_to_gl103():
    src = _dense("initializers.RandomNormal(stddev=1e-4)")
    assert rows(src, "GL101") == []
    assert [d.code for d in check_source(textwrap.dedent(src), "m.py", Settings())] == ["GL103"]


def test_compounding_over_a_stack():
    src = """
        import keras
        from keras import layers
        inputs = keras.Input(shape=(256,))
        x = layers.Dense(256, activation="relu", kernel_initializer=keras.initializers.RandomNormal(stddev=1e-3))(inputs)
        x = layers.Dense(256, activation="relu", kernel_initializer=keras.initializers.RandomNormal(stddev=1e-3))(x)
        x = layers.Dense(256, activation="relu", kernel_initializer=keras.initializers.RandomNormal(stddev=1e-3))(x)
        x = layers.BatchNormalization()(x)
        x = layers.Dense(256, activation="relu", kernel_initializer=keras.initializers.RandomNormal(stddev=1e-3))(x)
        model = keras.Model(inputs, layers.Dense(1)(x))
    """
    found = findings(src, "GL103")
    assert [row for row, _ in found] == [5, 6, 7, 9]
    assert all("its gain fan_in·Var(w) is 0.00026" in m for _, m in (found[0], found[1], found[3]))
    # Normalization ends the run: the first two compound with the third, the fourth stands alone.
    assert all("over this run of 3 layers" in m for _, m in found[:2])
    assert "over this run" not in found[3][1]
    # The third is so small that its BN divides by √ε and does not rescue it.
    assert "reaches BatchNormalization, but with a gain fan_in·Var(w) of 0.00026" in found[2][1]
    assert {d.severity for d in check_source(textwrap.dedent(src), "m.py", only("GL103"))} == {"error"}


def test_loops_compound_by_their_count():
    src = """
        import keras
        model = keras.Sequential([keras.Input(shape=(256,))])
        init = keras.initializers.RandomNormal(stddev=0.5)
        for _ in range(20):
            model.add(keras.layers.Dense(256, activation="relu", kernel_initializer=init))
        model.add(keras.layers.Dense(1))
    """
    [(_, message)] = findings(src, "GL103")
    # ReLU with a gain of 64: χ = 32 per layer, √32^19 ≈ 2e14 over the run.
    assert "grows ×5.7 per layer" in message and "×2.0e+14 over this run of 20 layers" in message


def test_fan_in_that_changes_over_a_loop_gives_a_range():
    src = """
        import keras
        inputs = keras.Input(shape=(32,))
        x = inputs
        for _ in range(12):
            x = keras.layers.Dense(64, activation="tanh", kernel_initializer=keras.initializers.RandomNormal(stddev=0.01))(x)
        model = keras.Model(inputs, keras.layers.Dense(1)(x))
    """
    [(_, message)] = findings(src, "GL103")
    assert "with fan_in=32 to 64 its gain" in message and "over this run of 12 layers" in message


def test_unknown_activation_is_reported_without_a_fix():
    src = """
        import keras
        def layer(act):
            return keras.layers.Dense(32, activation=act, kernel_initializer="ones")
    """
    found = check_source(textwrap.dedent(src), "m.py", only("GL103"))
    assert len(found) == 1 and found[0].fix is None
    assert found[0].message.endswith("use the initializer of its activation's family")


# -- GL103 fixes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("before, after", [
    ("initializers.RandomNormal(stddev=1e-4)", "initializers.HeNormal()"),
    ("initializers.RandomNormal(mean=0.0, stddev=1e-4, seed=42)", "initializers.HeNormal(seed=42)"),
    ("initializers.RandomNormal(0.0, 1e-4, 42)", "initializers.HeNormal(seed=42)"),
    ("initializers.TruncatedNormal(stddev=1e-4, seed=SEED)", "initializers.HeNormal(seed=SEED)"),
    ("initializers.RandomUniform(-1e-4, 1e-4)", "initializers.HeUniform()"),
    ("keras.initializers.random_uniform(-1e-4, 1e-4)", "keras.initializers.he_uniform()"),
    ("initializers.Zeros()", "initializers.HeNormal()"),
    ("initializers.Constant(0.5)", "initializers.HeNormal()"),
    ("'zeros'", "'he_normal'"),
    ('"random_uniform"', '"he_uniform"'),
    ('"RandomNormal"', '"HeNormal"'),
])
def test_fix_writes_the_family_initializer_in_the_same_form(before, after):
    src = _dense(before, fan_in=10)
    assert fixed(src, "GL103") == textwrap.dedent(src).replace(before, after)


def test_fix_follows_fix_distribution_for_constants():
    src = _dense('"ones"')
    assert fixed(src, "GL103", fix_distribution="uniform") == textwrap.dedent(src).replace('"ones"', '"he_uniform"')


def test_fix_of_an_imported_class_adds_the_new_name_to_the_import():
    src = """
        from tensorflow.keras.layers import Conv2D
        from tensorflow.keras.initializers import RandomNormal
        def block(x):
            return Conv2D(64, 3, activation="tanh", kernel_initializer=RandomNormal(stddev=5.0, seed=3))(x)
    """
    assert fixed(src, "GL103") == textwrap.dedent("""
        from tensorflow.keras.layers import Conv2D
        from tensorflow.keras.initializers import RandomNormal, GlorotNormal
        def block(x):
            return Conv2D(64, 3, activation="tanh", kernel_initializer=GlorotNormal(seed=3))(x)
    """)


def test_fix_of_a_shared_variable_gives_the_layer_its_own_initializer():
    src = """
        import keras
        init = keras.initializers.RandomNormal(stddev=0.5)
        model = keras.Sequential([
            keras.Input(shape=(256,)),
            keras.layers.Dense(256, activation="relu", kernel_initializer=init),
            keras.layers.Dense(1),
        ])
    """
    assert fixed(src, "GL103") == textwrap.dedent(src).replace('kernel_initializer=init', 'kernel_initializer="he_normal"')


def test_tf1_initializer_functions_default_to_a_scale_of_one_and_get_no_automatic_fix():
    src = """
        import tensorflow as tf
        inputs = tf.keras.Input(shape=(256,))
        h = tf.keras.layers.Dense(256, activation="relu", kernel_initializer=tf.compat.v1.random_normal_initializer())(inputs)
        model = tf.keras.Model(inputs, tf.keras.layers.Dense(1)(h))
    """
    found = check_source(textwrap.dedent(src), "m.py", only("GL103"))
    assert len(found) == 1 and found[0].fix is None
    assert "(default stddev=1)" in found[0].message and "its gain fan_in·Var(w) is 2.6e+02" in found[0].message
    assert found[0].message.endswith('use kernel_initializer="he_normal"')


# == GL301 deep-saturating-stack ==========================================================================

def _mlp(*hidden: str, output: str = 'Dense(10, activation="softmax")') -> str:
    lines = "\n".join(f"    {h}," for h in hidden)
    return (f"from keras import Sequential\nfrom keras.layers import {_NAMES}\nmodel = Sequential([\n"
            f"    Input(shape=(784,)),\n{lines}\n    {output},\n])\n")


_NAMES = ("Activation, BatchNormalization, Dense, Dropout, GroupNormalization, Input, LayerNormalization, "
          "UnitNormalization")


SIG = 'Dense(64, activation="sigmoid")'


def test_four_hidden_sigmoid_layers_are_one_finding_at_the_first():
    src = _mlp(SIG, SIG, SIG, SIG)
    [(row, message)] = findings(src, "GL301")
    assert row == 5
    assert message == (
        "4 hidden layers in a row with saturating activations (sigmoid) and no normalization between them: "
        "sigmoid′ ≤ 0.25, so the gradient shrinks ×0.24 per layer and the first layer gets 0.013 of the last one's; "
        "use relu with kernel_initializer=\"he_normal\", or put BatchNormalization between the layers"
    )
    # 0.013 is a real loss but short of the probe's 1e-3: a warning. Six layers cross it.
    [four] = check_source(textwrap.dedent(src), "m.py", only("GL301"))
    [six] = check_source(textwrap.dedent(_mlp(*[SIG] * 6)), "m.py", only("GL301"))
    assert (four.severity, six.severity) == ("warning", "error")


def test_three_are_not_enough_and_the_output_layer_does_not_count():
    assert rows(_mlp(SIG, SIG, SIG), "GL301") == []
    assert rows(_mlp(SIG, SIG, SIG, output='Dense(1, activation="sigmoid")'), "GL301") == []


@pytest.mark.parametrize("norm", ["BatchNormalization()", "LayerNormalization()", "GroupNormalization(groups=8)",
                                  "UnitNormalization()"])
def test_normalization_between_layers_breaks_the_stack(norm):
    assert rows(_mlp(SIG, SIG, norm, SIG, SIG), "GL301") == []


def test_dropout_and_activation_layers_do_not_break_it():
    src = _mlp(SIG, "Dropout(0.2)", "Dense(64)", 'Activation("sigmoid")', SIG, "Dropout(0.2)", SIG)
    assert rows(src, "GL301") == [5]


def test_a_relu_layer_breaks_the_stack():
    assert rows(_mlp(SIG, SIG, 'Dense(64, activation="relu")', SIG, SIG), "GL301") == []


def test_every_saturating_activation_counts_and_the_bound_multiplies():
    src = _mlp(SIG, 'Dense(64, activation="tanh")', 'Dense(64, activation="hard_sigmoid")',
               'Dense(64, activation="softsign")', 'Dense(64, activation="log_sigmoid")')
    [(_, message)] = findings(src, "GL301")
    assert message.startswith("5 hidden layers in a row with saturating activations "
                              "(sigmoid, tanh, hard_sigmoid, softsign, log_sigmoid)")
    assert "sigmoid′ ≤ 0.25, hard_sigmoid′ ≤ 0.2, so the gradient shrinks" in message


def test_tanh_with_glorot_does_not_vanish():
    # Glorot keeps tanh near its critical gain: the probe measures 0.68 over 6 layers, and the
    # recurrence predicts 0.44 over 8. Nothing to report, at any depth the probe would pass.
    assert rows(_mlp(*['Dense(64, activation="tanh")'] * 8), "GL301") == []


def test_depth_is_configurable():
    assert rows(_mlp(SIG, SIG, SIG), "GL301", saturating_depth=3) == [5]
    assert rows(_mlp(SIG, SIG, SIG, SIG), "GL301", saturating_depth=5) == []
    assert settings_from_table({"saturating-depth": 6}, Path("pyproject.toml")).saturating_depth == 6
    with pytest.raises(ConfigError, match="saturating-depth must be an integer of at least 2"):
        settings_from_table({"saturating-depth": 1}, Path("pyproject.toml"))


def test_functional_stack_with_the_activation_applied_as_a_function():
    src = """
        import tensorflow as tf
        inputs = tf.keras.Input(shape=(32,))
        x = tf.keras.layers.Dense(64)(inputs)
        x = tf.nn.sigmoid(x)
        x = tf.keras.layers.Dense(64, activation=tf.nn.sigmoid)(x)
        x = tf.keras.layers.Dense(64, activation="sigmoid")(x)
        x = tf.keras.layers.Dense(64, activation=tf.keras.activations.sigmoid)(x)
        outputs = tf.keras.layers.Dense(1)(x)
        model = tf.keras.Model(inputs, outputs)
    """
    assert rows(src, "GL301") == [4]


def test_functional_stack_broken_by_batch_normalization_is_not_flagged():
    src = """
        import tensorflow as tf
        inputs = tf.keras.Input(shape=(32,))
        x = inputs
        for _ in range(6):
            x = tf.keras.layers.Dense(64)(x)
            x = tf.keras.layers.BatchNormalization()(x)
            x = tf.keras.layers.Activation("sigmoid")(x)
        model = tf.keras.Model(inputs, tf.keras.layers.Dense(1)(x))
    """
    assert rows(src, "GL301") == []


def test_residual_connections_end_a_stack():
    src = """
        import keras
        from keras import layers
        inputs = keras.Input(shape=(64,))
        x = layers.Dense(64, activation="tanh")(inputs)
        y = layers.Dense(64, activation="tanh")(x)
        y = layers.Dense(64, activation="tanh")(y)
        x = layers.Add()([x, y])
        x = layers.Dense(64, activation="tanh")(x)
        x = layers.Dense(64, activation="tanh")(x)
        model = keras.Model(inputs, layers.Dense(1)(x))
    """
    assert rows(src, "GL301") == []


def test_repeats_count_only_when_the_loop_count_is_known():
    known = """
        import keras
        model = keras.Sequential([keras.Input(shape=(8,))])
        for _ in range(5):
            model.add(keras.layers.Dense(32, activation="sigmoid"))
        model.add(keras.layers.Dense(1))
    """
    assert rows(known, "GL301") == [5]
    unknown = known.replace("range(5)", "range(n_layers)")
    assert rows(unknown, "GL301") == []


def test_a_loop_that_may_break_counts_once():
    src = """
        import keras
        model = keras.Sequential([keras.Input(shape=(8,))])
        for i in range(5):
            if i == max_depth:
                break
            model.add(keras.layers.Dense(32, activation="sigmoid"))
        model.add(keras.layers.Dense(1))
    """
    assert rows(src, "GL301") == []


def test_a_loop_alternating_activations_is_not_a_run():
    src = """
        import keras
        model = keras.Sequential([keras.Input(shape=(8,))])
        for _ in range(4):
            model.add(keras.layers.Dense(32, activation="sigmoid"))
            model.add(keras.layers.Dense(32, activation="relu"))
        model.add(keras.layers.Dense(1))
    """
    assert rows(src, "GL301") == []


def test_list_comprehension_of_layers():
    src = """
        import tensorflow as tf
        def build_model():
            hidden = [tf.keras.layers.Dense(128, activation="sigmoid") for _ in range(30)]
            return tf.keras.Sequential([tf.keras.Input(shape=(64,)), *hidden, tf.keras.layers.Dense(1)])
    """
    [(row, message)] = findings(src, "GL301")
    assert row == 4 and message.startswith("30 hidden layers")


def test_subclassed_model_layers_on_self():
    src = """
        import tensorflow as tf
        class DeepSigmoid(tf.keras.Model):
            def __init__(self):
                super().__init__()
                self.h1 = tf.keras.layers.Dense(64, activation="sigmoid")
                self.h2 = tf.keras.layers.Dense(64, activation="sigmoid")
                self.h3 = tf.keras.layers.Dense(64, activation="sigmoid")
                self.h4 = tf.keras.layers.Dense(64, activation="sigmoid")
                self.out = tf.keras.layers.Dense(1)
            def call(self, x):
                return self.out(self.h4(self.h3(self.h2(self.h1(x)))))
    """
    assert rows(src, "GL301") == [6]


def test_convolutions_count_too():
    src = """
        from tensorflow import keras
        model = keras.Sequential([
            keras.layers.Conv2D(32, 3, activation="sigmoid", input_shape=(32, 32, 3)),
            keras.layers.Conv2D(32, 3, activation="sigmoid"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="sigmoid"),
            keras.layers.Conv2D(64, 3, activation="sigmoid"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ])
    """
    assert rows(src, "GL301") == [4]


# == GL302 selu-with-dropout ==================================================================================

def test_dropout_in_a_selu_stack_is_fixed_to_alpha_dropout():
    src = """
        from tensorflow import keras
        model = keras.models.Sequential([
            keras.layers.Flatten(input_shape=[28, 28]),
            keras.layers.Dense(300, activation="selu", kernel_initializer="lecun_normal"),
            keras.layers.Dropout(0.2, noise_shape=None, seed=42),
            keras.layers.Dense(10, activation="softmax"),
        ])
    """
    [(row, message)] = findings(src, "GL302")
    assert row == 6
    assert message == (
        "plain Dropout after a SELU layer (Dense, line 5): zeroing units shifts the mean and variance that "
        "SELU's self-normalization keeps at 0 and 1; use keras.layers.AlphaDropout(0.2, noise_shape=None, seed=42), "
        "which keeps them"
    )
    assert fixed(src, "GL302") == textwrap.dedent(src).replace("layers.Dropout(", "layers.AlphaDropout(")


def test_dropout_after_an_activation_layer_selu():
    src = """
        import keras
        from keras import layers
        inputs = keras.Input(shape=(20,))
        x = layers.Dense(64, kernel_initializer="lecun_normal")(inputs)
        x = layers.Activation("selu")(x)
        x = layers.Dropout(0.1)(x)
        model = keras.Model(inputs, layers.Dense(1)(x))
    """
    assert rows(src, "GL302") == [7]


def test_imported_name_with_an_alias():
    src = """
        import keras
        from keras.layers import Dense, Dropout as Drop
        model = keras.Sequential([Dense(64, activation="selu"), Drop(0.3), Dense(1)])
    """
    assert fixed(src, "GL302") == textwrap.dedent("""
        import keras
        from keras.layers import Dense, Dropout as Drop, AlphaDropout
        model = keras.Sequential([Dense(64, activation="selu"), AlphaDropout(0.3), Dense(1)])
    """)


def test_alpha_dropout_already_imported_is_used():
    src = """
        from keras import Sequential
        from keras.layers import AlphaDropout, Dense, Dropout
        model = Sequential([Dense(64, activation="selu"), Dropout(0.1), Dense(64, activation="selu"), Dropout(0.1), Dense(1)])
    """
    assert fixed(src, "GL302") == textwrap.dedent(src).replace(", Dropout(0.1)", ", AlphaDropout(0.1)")


@pytest.mark.parametrize("src", [
    # AlphaDropout already.
    """
    from keras import layers, Sequential
    model = Sequential([layers.Dense(64, activation="selu"), layers.AlphaDropout(0.1), layers.Dense(1)])
    """,
    # ReLU network.
    """
    from keras import layers, Sequential
    model = Sequential([layers.Dense(64, activation="relu"), layers.Dropout(0.5), layers.Dense(1)])
    """,
    # Dropout on the input, before the first SELU layer.
    """
    from keras import layers, Sequential
    model = Sequential([layers.Dropout(0.2, input_shape=(20,)), layers.Dense(64, activation="selu"), layers.Dense(1)])
    """,
])
def test_not_selu_with_dropout(src):
    assert rows(src, "GL302") == []


# == GL303 exponential-hidden-activation ===========================================================================

@pytest.mark.parametrize("activation", [
    '"exponential"', "'exp'", "keras.activations.exponential", "tf.exp", "tf.math.exp", "keras.ops.exp",
])
def test_every_spelling_of_exponential(activation):
    src = f"""
        import keras
        import tensorflow as tf
        inputs = keras.Input(shape=(10,))
        x = keras.layers.Dense(32, activation={activation})(inputs)
        model = keras.Model(inputs, keras.layers.Dense(1)(x))
    """
    assert rows(src, "GL303") == [5]


def test_applied_after_the_layer():
    src = """
        import tensorflow as tf
        inputs = tf.keras.Input(shape=(10,))
        x = tf.keras.layers.Dense(32)(inputs)
        x = tf.keras.layers.Activation("exponential")(x)
        y = tf.keras.layers.Dense(32)(x)
        y = tf.math.exp(y)
        model = tf.keras.Model(inputs, tf.keras.layers.Dense(1)(y))
    """
    found = findings(src, "GL303")
    assert [row for row, _ in found] == [4]
    assert found[0][1].startswith("hidden Dense followed by an exponential (line 5), first of 2 in a row: exp is unbounded")


def test_one_finding_per_run_of_exponential_layers():
    src = """
        from keras import Sequential
        from keras.layers import Dense
        model = Sequential([
            Dense(64, activation="exponential", input_shape=(10,)),
            Dense(64, activation="exponential"),
            Dense(64, activation="relu", kernel_initializer="he_normal"),
            Dense(64, activation="exponential"),
            Dense(1),
        ])
    """
    assert rows(src, "GL303") == [5, 8]


@pytest.mark.parametrize("src", [
    # Poisson regression: exponential output.
    """
    import tensorflow as tf
    model = tf.keras.Sequential([
        tf.keras.layers.Dense(16, activation="relu", kernel_initializer="he_normal", input_shape=(4,)),
        tf.keras.layers.Dense(1, activation="exponential"),
    ])
    model.compile(optimizer="adam", loss="poisson")
    """,
    # Where the output goes is not visible: not known to be hidden.
    """
    from tensorflow import keras
    def make():
        return keras.layers.Dense(32, activation="exponential")
    """,
    # A custom activation named like it is not Keras'.
    """
    from tensorflow import keras
    from mylib import exponential
    model = keras.Sequential([keras.layers.Dense(8, activation=exponential, input_shape=(4,)), keras.layers.Dense(1)])
    """,
])
def test_not_an_exponential_hidden_layer(src):
    assert rows(src, "GL303") == []


def test_gl101_does_not_judge_exponential():
    src = _mlp('Dense(64, activation="exponential")', output="Dense(1)")
    assert rows(src, "GL101") == []
    assert rows(src, "GL303") == [5]


# -- GL103: idioms the probe shows to be harmless, and what stays a finding ----------------

IDIOMS = """
    import keras
    from keras import layers, initializers

    def rezero_block(x, dim):
        h = layers.Dense(dim, activation="relu", kernel_initializer="he_normal")(x)
        h = layers.Dense(dim, kernel_initializer="zeros")(h)
        return x + h

    def lora(x, rank=8):
        frozen = layers.Dense(512, use_bias=False, trainable=False)(x)
        down = layers.Dense(rank, use_bias=False)(x)
        up = layers.Dense(512, use_bias=False, kernel_initializer="zeros")(down)
        return frozen + up

    def unet_head(features):
        return layers.Conv2D(3, 3, padding="same", kernel_initializer="zeros")(features)

    def classifier():
        inputs = keras.Input(shape=(64,))
        x = layers.Dense(64, activation="relu", kernel_initializer="he_normal")(inputs)
        outputs = layers.Dense(10, kernel_initializer=initializers.RandomNormal(stddev=1e-4))(x)
        return keras.Model(inputs, outputs)

    def normalized():
        inputs = keras.Input(shape=(128,))
        x = inputs
        for _ in range(30):
            x = layers.Dense(128, kernel_initializer=initializers.RandomNormal(stddev=0.01))(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        return keras.Model(inputs, layers.Dense(10)(x))
"""


def test_zero_and_small_starts_that_are_idioms_are_not_flagged():
    # ReZero and LoRA's B end a residual branch, a zero output head only scales the loss's
    # gradient once, and a BN after a kernel well above its epsilon cancels its scale.
    assert rows(IDIOMS, "GL103") == []


def test_a_kernel_too_small_for_the_normalization_after_it_is_an_error():
    src = IDIOMS.replace("stddev=0.01))(x)\n            x = layers.BatchNormalization()",
                         "stddev=0.001))(x)\n            x = layers.BatchNormalization()")
    [finding] = check_source(textwrap.dedent(src), "m.py", only("GL103"))
    assert "reaches BatchNormalization, but with a gain fan_in·Var(w) of 0.00013" in finding.message
    # 30 × Dense(128, stddev=0.001) → BN → ReLU: the probe measures 1.2e-16.
    assert "predicted to get ×1.5e-16 of the last one's gradient" in finding.message
    assert finding.severity == "error"


def test_a_zero_kernel_in_a_hidden_layer_is_still_its_own_finding():
    src = IDIOMS.replace('h = layers.Dense(dim, kernel_initializer="zeros")(h)\n        return x + h',
                         'h = layers.Dense(dim, activation="relu", kernel_initializer="zeros")(h)\n'
                         '        return layers.Dense(dim)(h)')
    [(row, message)] = findings(src, "GL103")
    assert row == 7 and "zero weights also pass no gradient to the layers below" in message


def _random_normal_stack(fan_in: int) -> str:
    return f"""
        import keras
        from keras import layers
        inputs = keras.Input(shape=({fan_in},))
        x = inputs
        for _ in range(10):
            x = layers.Dense({fan_in}, activation="relu", kernel_initializer="random_normal")(x)
        model = keras.Model(inputs, layers.Dense(10)(x))
    """


def test_random_normal_0_05_is_judged_by_its_gain_not_its_name():
    # stddev 0.05 at fan-in 784: gain 1.96, He's 2 (the probe measures 0.90 over 10 layers).
    assert rows(_random_normal_stack(784), "GL103") == []
    # At fan-in 32 the gain is 0.08: 25 times too small at every layer.
    [finding] = check_source(textwrap.dedent(_random_normal_stack(32)), "m.py", only("GL103"))
    assert "its gain fan_in·Var(w) is 0.08 (He initialization for relu sets 2)" in finding.message
    assert "over this run of 10 layers" in finding.message and finding.severity == "error"


def test_gl303_gives_the_predicted_forward_growth():
    src = """
        import keras
        from keras import layers
        inputs = keras.Input(shape=(64,))
        x = layers.Dense(64, activation="exponential")(inputs)
        x = layers.Dense(64, activation="exponential")(x)
        model = keras.Model(inputs, layers.Dense(1)(x))
    """
    [finding] = check_source(textwrap.dedent(src), "m.py", only("GL303"))
    # exp of N(0, q) has E[φ²] = e^(2q): e^2 after the first layer, e^(2·e^2) after the second.
    assert "the predicted forward RMS reaches 1.6e+03)" in finding.message
    assert finding.severity == "error"
