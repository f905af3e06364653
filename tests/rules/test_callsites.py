"""An activation passed as a parameter, judged from every call of the helper in the module."""

from __future__ import annotations

import textwrap

from gradlint.config import Settings
from gradlint.engine import check_source

HELPER = """
    import keras
    from keras import layers

    def block(x, units, act="relu"):
        x = layers.Dense(units, activation=act)(x)
        return layers.Dropout(0.1)(x)

    def build():
        inputs = keras.Input(shape=(32,))
        x = block(inputs, 64)
        x = block(x, 64, act=ACT)
        return keras.Model(inputs, layers.Dense(1)(x))
"""


def found(src: str, code: str = "GL101") -> list:
    return check_source(textwrap.dedent(src), "m.py", Settings(select=(code,)))


def test_a_parameter_every_call_sets_to_relu_is_judged_and_the_calls_are_named():
    [finding] = found(HELPER.replace("ACT", '"relu"'))
    assert finding.location.row == 6
    assert finding.message.startswith(
        "Dense with activation 'relu' (parameter 'act' at every call: lines 11, 12) uses glorot_uniform")
    assert finding.fix is not None


def test_callers_that_pass_tanh_make_glorot_right():
    src = HELPER.replace('act="relu"', 'act="tanh"').replace("ACT", '"tanh"')
    assert found(src) == []


def test_callers_that_disagree_are_reported_at_each_call_the_initializer_does_not_fit():
    # Line 11 takes the default relu, line 12 passes tanh: Glorot fits tanh, not relu. The
    # finding is on the call (where the activation is chosen), naming the layer's line; no fix,
    # since changing the helper's initializer would break the tanh caller.
    [finding] = found(HELPER.replace("ACT", '"tanh"'))
    assert (finding.location.row, finding.location.column) == (11, 9)
    assert finding.message.startswith(
        "block() gets activation 'relu' (its default) here for its Dense on line 6, which uses glorot_uniform")
    assert "other calls pass 'tanh'" in finding.message and finding.fix is None
    # With He in the helper, the tanh call is the one that does not fit, at its argument.
    he = HELPER.replace("activation=act)", 'activation=act, kernel_initializer="he_normal")')
    [finding] = found(he.replace("ACT", '"tanh"'))
    assert (finding.location.row, finding.location.column) == (12, 26)
    assert "gets activation 'tanh' here" in finding.message and "wants Glorot" in finding.message


def test_disagreeing_callers_behind_batchnorm_or_unknown_callers_stay_silent():
    # BN(c·Wx) = BN(Wx) for relu and linear callers alike: the kernel's scale cancels.
    normalized = HELPER.replace("return layers.Dropout(0.1)(x)", "return layers.BatchNormalization()(x)")
    assert found(normalized.replace("ACT", "None")) == []
    assert found(HELPER.replace("ACT", "config.activation")) == []


def test_parameters_whose_callers_are_not_all_seen_stay_silent():
    # Never called here (an importer may pass anything), passed around as a value, decorated,
    # or called with **kwargs: the parameter may hold anything.
    never_called = """
        from keras import layers
        def block(x, act="relu"):
            return layers.Dense(64, activation=act)(x)
    """
    passed_around = HELPER.replace("ACT", '"relu"') + "    FACTORIES = [block]\n"
    decorated = HELPER.replace("ACT", '"relu"').replace("def block", "@register\n    def block")
    splat = HELPER.replace("ACT", '"relu"').replace("block(inputs, 64)", "block(inputs, 64, **options)")
    for src in (never_called, passed_around, decorated, splat):
        assert found(src) == [], src


def test_a_parameter_passed_on_by_another_helper_is_followed_to_its_callers():
    src = """
        import keras
        from keras import layers

        def dense(x, act):
            return layers.Dense(64, activation=act)(x)

        def stack(x, act):
            return dense(dense(x, act), act)

        inputs = keras.Input(shape=(64,))
        model = keras.Model(inputs, layers.Dense(1)(stack(inputs, "relu")))
    """
    [finding] = found(src)
    # Both calls of dense() are on line 9 and pass stack's own parameter, which its one caller sets.
    assert finding.location.row == 6 and "(parameter 'act' at the call on line 9)" in finding.message


def test_selu_passed_to_a_model_factory_with_dropout_is_gl302():
    src = """
        import keras
        from keras import layers

        def create_mlp(activation="relu"):
            model = keras.Sequential([keras.Input(shape=(20,))])
            for _ in range(4):
                model.add(layers.Dense(64, activation=activation, kernel_initializer="lecun_normal"))
                model.add(layers.Dropout(0.2))
            model.add(layers.Dense(1))
            return model

        mlp = create_mlp(activation="selu")
    """
    [finding] = found(src, "GL302")
    assert finding.location.row == 9 and "AlphaDropout" in finding.message
