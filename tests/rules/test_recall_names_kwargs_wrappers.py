"""Models written in ways real code writes them: Keras under its other names, layer arguments
from a literal `**config` dict, and layers inside wrappers. Each is judged like the plain
spelling, and what cannot be known stays silent."""

from __future__ import annotations

import ast
import textwrap

import pytest

from gradlint.config import Settings
from gradlint.engine import check_source, fix_source

GL101 = Settings(select=("GL101",))


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
    "from tensorflow.python.keras.engine.sequential import Sequential\n"
    "from tensorflow.python.keras.layers.core import Dense, Activation",
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
