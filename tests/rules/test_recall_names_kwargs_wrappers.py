"""Models written in ways real code writes them: Keras under its other names, layer arguments
from a literal `**config` dict, and layers inside wrappers. Each is judged like the plain
spelling, and what cannot be known stays silent."""

from __future__ import annotations

import ast
import textwrap

import pytest

from gradlint.config import Settings
from gradlint.engine import check_source, fix_source

# Unsafe fixes too: these tests state each fix's text, safe or unsafe (test_fix_safety.py judges which).
GL101 = Settings(select=("GL101",), unsafe_fixes=True)


def findings(src: str, settings: Settings = GL101, path: str = "m.py") -> list[tuple[int, str]]:
    return [(d.location.row, d.message) for d in check_source(textwrap.dedent(src), path, settings)]


def rows(src: str, path: str = "m.py") -> list[int]:
    return [row for row, _ in findings(src, path=path)]


def fixed(src: str) -> str:
    return fix_source(textwrap.dedent(src), "m.py", GL101).source


def fixable(src: str) -> list[bool]:
    return [d.fix is not None for d in check_source(textwrap.dedent(src), "m.py", GL101)]


# -- Keras under its other names ------------------------------------------------------------

@pytest.mark.parametrize("imports, dense", [
    ("import keras_core", "keras_core.layers.Dense"),
    ("import keras_core as keras", "keras.layers.Dense"),
    ("from keras_core import layers", "layers.Dense"),
    ("from keras_core.layers import Dense", "Dense"),
    ("from keras_core.src.layers.core.dense import Dense", "Dense"),
    ("from tf_keras.src.layers.core.dense import Dense", "Dense"),
    ("import tf_keras.src.layers as L", "L.Dense"),
    ("from keras.src.layers.core.dense import Dense", "Dense"),
    ("from keras.src import layers", "layers.Dense"),
    ("import tensorflow.python.keras as tpk", "tpk.layers.Dense"),
    ("from tensorflow.python.keras import layers", "layers.Dense"),
])
def test_keras_under_every_package_name_is_recognised(imports, dense):
    assert rows(f"{imports}\nlayer = {dense}(64, activation='relu')\n") == [2]


@pytest.mark.parametrize("imports", [
    ("from tensorflow.python.keras.engine.sequential import Sequential\n"
     "from tensorflow.python.keras.layers.core import Dense, Activation"),
    "from tf_keras.src.engine.sequential import Sequential\nfrom tf_keras.src.layers import Dense, Activation",
    "from keras.src.engine.sequential import Sequential\nfrom keras.src.layers import Dense, Activation",
    "from keras_core.src.models.sequential import Sequential\nfrom keras_core.layers import Dense, Activation",
])
def test_a_sequential_from_an_internal_module_is_a_model(imports):
    # The ReLU is only seen as what the Dense meets when the Sequential is recognised.
    src = f"""\
{imports}
model = Sequential([
    Dense(64, input_shape=(20,)),
    Activation("relu"),
    Dense(1),
])
"""
    [(row, message)] = findings(src)
    assert row == len(imports.splitlines()) + 2 and "followed by activation 'relu'" in message


KERAS_APPLICATIONS_MODEL = '''\
"""A small VGG-style network in the keras-applications manner."""
from . import get_submodules_from_kwargs
from . import imagenet_utils

backend = None
layers = None
models = None
keras_utils = None


def conv_block(x, filters, name):
    x = layers.Conv2D(filters, (3, 3), padding="same", name=name + "_conv")(x)
    x = layers.Activation("relu", name=name + "_relu")(x)
    return x


def SmallVGG(include_top=True, input_shape=(64, 64, 3), classes=10, **kwargs):
    global backend, layers, models, keras_utils
    backend, layers, models, keras_utils = get_submodules_from_kwargs(kwargs)

    img_input = layers.Input(shape=input_shape)
    x = conv_block(img_input, 32, "block1")
    x = layers.MaxPooling2D((2, 2), strides=(2, 2))(x)
    x = conv_block(x, 64, "block2")
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(256, activation="relu", name="fc1")(x)
        x = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return models.Model(img_input, x, name="small_vgg")
'''


def test_keras_applications_submodules_from_kwargs_are_keras():
    # The helper's Conv2D (through the module-level `layers` the model function sets with
    # `global`) and the model's own ReLU Dense.
    assert rows(KERAS_APPLICATIONS_MODEL, path="keras_applications/small_vgg.py") == [12, 27]


def test_keras_applications_imported_by_name_or_unpacked_locally():
    src = """\
    from keras_applications import get_submodules_from_kwargs

    def TinyNet(classes=10, **kwargs):
        backend, layers, models, keras_utils = get_submodules_from_kwargs(kwargs)
        inputs = layers.Input(shape=(32,))
        x = layers.Dense(64, activation="relu")(inputs)
        outputs = layers.Dense(classes, activation="softmax")(x)
        return models.Model(inputs, outputs)
    """
    assert rows(src) == [6]


def test_keras_applications_module_that_defines_the_getter():
    src = """\
    import keras

    def get_submodules_from_kwargs(kwargs):
        return (kwargs.get("backend", keras.backend), kwargs.get("layers", keras.layers),
                kwargs.get("models", keras.models), kwargs.get("utils", keras.utils))

    def Head(features, **kwargs):
        _, layers, _, _ = get_submodules_from_kwargs(kwargs)
        return layers.Dense(128, activation="relu")(features)
    """
    assert rows(src) == [9]


def test_keras_applications_older_get_keras_submodule():
    src = """\
    from . import get_keras_submodule

    layers = get_keras_submodule('layers')
    models = get_keras_submodule('models')

    def head(x):
        return layers.Dense(128, activation='relu')(x)
    """
    assert rows(src) == [7]


@pytest.mark.parametrize("src", [
    # Someone else's function of the same name: what it returns is not known.
    """\
    import keras
    from mylib.compat import get_submodules_from_kwargs

    def Net(**kwargs):
        backend, layers, models, utils = get_submodules_from_kwargs(kwargs)
        return layers.Dense(64, activation="relu")
    """,
    # The placeholder is never set: `layers` is None wherever it is used.
    """\
    import keras
    layers = None

    def head(x):
        return layers.Dense(64, activation="relu")(x)
    """,
    # Set by a function that is not keras-applications': not knowable.
    """\
    import keras
    layers = None

    def setup(module):
        global layers
        layers = module

    def head(x):
        return layers.Dense(64, activation="relu")(x)
    """,
])
def test_look_alike_submodule_getters_stay_silent(src):
    assert findings(src) == []


def test_a_name_a_function_rebinds_through_global_is_not_known():
    # `ACT` is "relu" at import, "tanh" once configure() has run.
    src = """\
    import keras
    ACT = "relu"

    def configure():
        global ACT
        ACT = "tanh"

    def head(x):
        return keras.layers.Dense(64, activation=ACT)(x)
    """
    assert findings(src) == []


@pytest.mark.parametrize("local, module, expected", [("relu", "tanh", [9]), ("tanh", "relu", [])])
def test_a_value_assigned_through_global_is_read_in_its_function(local, module, expected):
    # The module's ACT is bound once, inside configure(): its value is configure's `act`.
    src = f"""\
    import keras
    act = "{module}"

    def configure():
        global ACT
        act = "{local}"
        ACT = act

    layer = configure() or keras.layers.Dense(64, activation=ACT)
    """
    assert rows(src) == expected


# -- arguments from a literal **config dict ---------------------------------------------------

def graph_of(src: str):
    from gradlint.graph.model import build_graph
    from gradlint.graph.source import SourceText

    text = textwrap.dedent(src)
    return build_graph(ast.parse(text), SourceText(text), "m.py")


CONFIG_SCRIPT = """\
from tensorflow import keras
from tensorflow.keras import layers

conv_cfg = {"kernel_size": 3, "padding": "same", "activation": "relu"}
dense_cfg = dict(activation="relu")

model = keras.Sequential([
    keras.Input(shape=(32, 32, 3)),
    layers.Conv2D(32, **conv_cfg),
    layers.Conv2D(64, **conv_cfg),
    layers.GlobalAveragePooling2D(),
    layers.Dense(128, **dense_cfg),
    layers.Dense(10, activation="softmax"),
])
"""


def test_activation_from_a_literal_config_dict_is_judged():
    assert rows(CONFIG_SCRIPT) == [9, 10, 12]


def test_a_config_dict_gives_the_fan_in():
    # kernel_size=3 from the dict: the second Conv2D's kernel sees 3·3·32 inputs.
    graph = graph_of(CONFIG_SCRIPT)
    convs = sorted((l for l in graph.layers if l.class_name == "Conv2D"), key=lambda l: l.call.lineno)
    assert [(l.fan_in, l.fan_out) for l in convs] == [(27, 288), (288, 576)]


def test_the_fix_adds_the_initializer_to_the_call_not_to_the_shared_dict():
    out = fixed(CONFIG_SCRIPT)
    assert 'layers.Conv2D(32, **conv_cfg, kernel_initializer="he_normal"),' in out
    assert 'layers.Dense(128, **dense_cfg, kernel_initializer="he_normal"),' in out
    assert 'conv_cfg = {"kernel_size": 3, "padding": "same", "activation": "relu"}' in out
    ast.parse(out)
    assert findings(out) == []


def test_an_initializer_in_a_dict_only_this_layer_uses_is_fixed_in_the_dict():
    src = """\
    import keras
    from keras import layers

    def head(features):
        dense_kwargs = {
            "units": 256,
            "activation": "relu",
            "kernel_initializer": "glorot_uniform",
        }
        x = layers.Dense(**dense_kwargs)(features)
        return layers.Dense(10, activation="softmax")(x)
    """
    out = fixed(src)
    assert '"kernel_initializer": "he_uniform",' in out
    assert "layers.Dense(**dense_kwargs)(features)" in out
    assert findings(out) == []


@pytest.mark.parametrize("src", [
    # Two layers take their initializer from one dict: editing it changes both.
    """\
    import keras
    from keras import layers

    def mlp(x):
        block = dict(activation="relu", kernel_initializer="glorot_normal")
        x = layers.Dense(256, **block)(x)
        x = layers.Dense(256, **block)(x)
        return layers.Dense(1)(x)
    """,
    # A module-level dict other modules may import.
    """\
    import keras
    from keras import layers

    DENSE = {"activation": "relu", "kernel_initializer": "glorot_normal"}

    def mlp(x):
        x = layers.Dense(256, **DENSE)(x)
        return layers.Dense(1)(x)
    """,
])
def test_an_initializer_in_a_shared_dict_is_reported_without_a_fix(src):
    assert fixable(src) and not any(fixable(src))


def test_explicit_keywords_and_dict_keys_are_merged():
    # padding from the dict, activation given explicitly: the call passes both.
    src = """\
    import keras
    conv = {"padding": "same", "kernel_initializer": "he_normal"}
    a = keras.layers.Conv2D(16, 3, activation="tanh", **conv)
    b = keras.layers.Conv2D(16, 3, activation="relu", **{"padding": "same"})
    """
    assert rows(src) == [3, 4]


def test_nested_dict_displays_override_earlier_keys():
    src = """\
    import keras

    def block(x):
        base = {"kernel_size": 3, "activation": "tanh"}
        relu = {**base, "activation": "relu"}
        return keras.layers.Conv2D(32, **relu)(x)
    """
    assert rows(src) == [6]


def test_partial_over_a_config_dict():
    src = """\
    import functools
    from tensorflow import keras

    cfg = dict(kernel_size=3, padding="same", activation="relu")
    Conv = functools.partial(keras.layers.Conv2D, **cfg)
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        Conv(32),
        Conv(64),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    """
    assert rows(src) == [5]
    assert 'functools.partial(keras.layers.Conv2D, **cfg, kernel_initializer="he_normal")' in fixed(src)


@pytest.mark.parametrize("src", [
    # Bound twice: which dict reaches the layer depends on the run.
    """\
    import keras
    if wide:
        cfg = {"activation": "relu"}
    else:
        cfg = {"activation": "tanh"}
    layer = keras.layers.Dense(64, **cfg)
    """,
    # From a function call.
    """\
    import keras
    cfg = load_config("model.yaml")
    layer = keras.layers.Dense(64, **cfg)
    """,
    # A parameter.
    """\
    import keras
    def dense(units, **kwargs):
        return keras.layers.Dense(units, **kwargs)
    """,
    # Changed after it is written.
    """\
    import keras
    cfg = {"activation": "relu"}
    cfg["activation"] = "tanh"
    layer = keras.layers.Dense(64, **cfg)
    """,
    """\
    import keras
    cfg = {"activation": "relu"}
    cfg.update(activation="tanh")
    layer = keras.layers.Dense(64, **cfg)
    """,
    # Another name for the same dict.
    """\
    import keras
    cfg = {"activation": "relu"}
    other = cfg
    other["activation"] = "tanh"
    layer = keras.layers.Dense(64, **cfg)
    """,
    # A key that is not a constant.
    """\
    import keras
    cfg = {key: "relu"}
    layer = keras.layers.Dense(64, **cfg)
    """,
    # Python refuses these calls: a keyword given twice (TypeError), so no layer is made.
    """\
    import keras
    cfg = {"activation": "relu"}
    layer = keras.layers.Dense(64, activation="tanh", **cfg)
    """,
    """\
    import keras
    layer = keras.layers.Dense(64, **{"units": 32, "activation": "relu"})
    """,
    """\
    import keras
    a = {"activation": "relu"}
    layer = keras.layers.Dense(64, **a, **dict(activation="relu"))
    """,
    # `dict` is not the builtin here.
    """\
    import keras
    from mylib import frozendict as dict
    layer = keras.layers.Dense(64, **dict(activation="relu"))
    """,
])
def test_dicts_whose_keys_are_not_certain_stay_silent(src):
    assert findings(src) == []


def test_a_dict_value_means_what_it_means_where_the_dict_is_written():
    # `act` in the dict is the module's "tanh"; the function's own `act` does not change it.
    src = """\
    import keras
    act = "tanh"
    cfg = {"activation": act}

    def head(x, act="relu"):
        return keras.layers.Dense(64, **cfg)(x)
    """
    assert findings(src) == []


# -- layers inside wrappers ---------------------------------------------------------------------

def fans(src: str) -> list[tuple[int, str, int | None, int | None]]:
    """(line, class, fan_in, fan_out) of every layer with a judged initializer."""
    graph = graph_of(src)
    judged = [l for l in graph.layers if l.spec.initializer_param and not l.is_template]
    return sorted((l.call.lineno, l.class_name, l.fan_in, l.fan_out) for l in judged)


SEQUENCE_TAGGER = """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    keras.Input(shape=(40, 16)),
    layers.TimeDistributed(layers.Dense(64, activation="relu")),
    layers.Bidirectional(layers.LSTM(32, return_sequences=True)),
    layers.TimeDistributed(layers.Dense(64)),
    layers.ReLU(),
    layers.TimeDistributed(layers.Dense(5, activation="softmax")),
])
"""


def test_a_time_distributed_layer_keeps_its_activation_and_meets_what_follows_the_wrapper():
    found = findings(SEQUENCE_TAGGER)
    assert [row for row, _ in found] == [6, 8]
    assert "followed by activation 'relu' (line 9)" in found[1][1]


def test_time_distributed_fan_in_is_the_last_axis():
    # 16 features per step; the Bidirectional LSTM hands on 2 × 32.
    assert fans(SEQUENCE_TAGGER) == [(6, "Dense", 16, 64), (8, "Dense", 64, 64), (10, "Dense", 64, 5)]


def test_the_fix_goes_into_the_wrapped_layer():
    out = fixed(SEQUENCE_TAGGER)
    # One argument per line: the initializer pushes the line past 88 characters.
    assert ('    layers.TimeDistributed(\n        layers.Dense(\n            64,\n            activation="relu",\n'
            '            kernel_initializer="he_normal",\n        )\n    ),\n') in out
    assert 'layers.TimeDistributed(layers.Dense(64, kernel_initializer="he_normal")),' in out
    assert findings(out) == []


VIDEO_CLASSIFIER = """\
import keras
from keras import layers

frames = keras.Input(shape=(8, 28, 28, 1))
x = layers.TimeDistributed(layers.Conv2D(16, 3, padding="same"))(frames)
x = layers.Activation("relu")(x)
x = layers.TimeDistributed(layers.MaxPooling2D(2))(x)
x = layers.TimeDistributed(layers.Flatten())(x)
x = layers.TimeDistributed(layers.Dense(32, activation="relu"))(x)
x = layers.TimeDistributed(layers.BatchNormalization())(x)
x = layers.GRU(16)(x)
model = keras.Model(frames, layers.Dense(3, activation="softmax")(x))
"""


def test_time_distributed_convolutions_in_a_functional_model():
    # The Conv2D meets the ReLU after its wrapper; the Dense's scale is cancelled by the
    # BatchNormalization in the next wrapper.
    found = findings(VIDEO_CLASSIFIER)
    assert [row for row, _ in found] == [5]
    assert "followed by activation 'relu' (line 6)" in found[0][1]


def test_time_distributed_shapes_go_step_by_step():
    # 3·3·1 into the Conv2D; 14·14·16 per step after the pooling and the Flatten; 16 from the GRU.
    assert fans(VIDEO_CLASSIFIER) == [(5, "Conv2D", 9, 144), (9, "Dense", 3136, 32), (12, "Dense", 16, 3)]


def test_an_input_shape_declared_on_the_wrapper():
    src = """\
    import keras
    model = keras.Sequential([
        keras.layers.TimeDistributed(keras.layers.Dense(32, activation="relu"), input_shape=(10, 8)),
        keras.layers.TimeDistributed(keras.layers.Dense(1)),
    ])
    """
    assert fans(src) == [(3, "Dense", 8, 32), (4, "Dense", 32, 1)]


@pytest.mark.parametrize("wrapped", [
    "tfa.layers.WeightNormalization(layers.Dense(128, activation='relu'), data_init=False)",
    "tfa.layers.WeightNormalization(layer=layers.Dense(128, activation='relu'), data_init=False)",
    "layers.TimeDistributed(tfa.layers.WeightNormalization(layers.Dense(128, activation='relu'), False))",
])
def test_weight_normalization_without_data_init_starts_from_the_initializer(wrapped):
    src = f"""\
    import tensorflow as tf
    import tensorflow_addons as tfa
    from tensorflow.keras import layers
    inputs = tf.keras.Input(shape=(20, 64))
    x = {wrapped}(inputs)
    model = tf.keras.Model(inputs, layers.Dense(1)(x))
    """
    assert rows(src) == [5]


@pytest.mark.parametrize("wrapped", [
    # He already: nothing to say.
    "layers.TimeDistributed(layers.Dense(128, activation='relu', kernel_initializer='he_normal'))",
    # The first batch sets the scale (data_init, the default): the initializer's cancels.
    "tfa.layers.WeightNormalization(layers.Dense(128, activation='relu'))",
    "tfa.layers.WeightNormalization(layers.Dense(128, activation='relu'), data_init=flag)",
    # The kernel is divided by its spectral norm: its initial scale cancels.
    "layers.SpectralNormalization(layers.Dense(128, activation='relu'))",
    "tfa.layers.SpectralNormalization(layers.Dense(128, activation='relu'))",
    # A wrapper of the module's own may do anything to the kernel.
    "ScaledWrapper(layers.Dense(128, activation='relu'))",
])
def test_wrappers_that_leave_nothing_to_fix_stay_silent(wrapped):
    src = f"""\
    import tensorflow as tf
    import tensorflow_addons as tfa
    from tensorflow.keras import layers

    class ScaledWrapper(layers.Wrapper):
        def call(self, inputs):
            return self.layer(inputs) * 0.5

    inputs = tf.keras.Input(shape=(20, 64))
    x = {wrapped}(inputs)
    model = tf.keras.Model(inputs, layers.Dense(1)(x))
    """
    assert findings(src) == []


def test_an_unknown_wrapper_does_not_hand_on_what_follows_it():
    # What `Wrap` does with the Dense's output is not known: the ReLU after it is not the Dense's.
    src = """\
    import keras
    from mylib import Wrap
    inputs = keras.Input(shape=(64,))
    x = Wrap(keras.layers.Dense(64))(inputs)
    x = keras.layers.ReLU()(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    """
    assert findings(src) == []


def test_a_recurrent_layer_stays_inside_its_wrapper():
    src = """\
    import keras
    inputs = keras.Input(shape=(None, 8))
    x = keras.layers.TimeDistributed(keras.layers.SimpleRNN(8))(inputs)
    model = keras.Model(inputs, x)
    """
    graph = graph_of(src)
    assert sorted(l.class_name for l in graph.layers) == ["SimpleRNN", "TimeDistributed"]


def test_a_constant_kernel_stays_constant_under_spectral_normalization():
    # Dividing by the spectral norm rescales every weight alike: the units stay copies.
    src = """\
    import keras
    from keras import initializers, layers
    sn = layers.SpectralNormalization(
        layers.Conv2D(8, 3, kernel_initializer=initializers.Constant(value=1)),
        power_iterations=8,
    )
    """
    assert [(d.code, d.location.row) for d in check_source(textwrap.dedent(src), "m.py", Settings(select=("GL103",)))] \
        == [("GL103", 4)]
