"""GL201/GL202: which models are recurrent, which optimizers and training steps clip, and the
exact source every fix writes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gradlint.config import Settings, settings_from_table
from gradlint.engine import check_source, fix_source
from gradlint.errors import ConfigError
from gradlint.rules import rule_by_code

# Unsafe fixes too: these tests state each fix's text, safe or unsafe (test_fix_safety.py judges which).
GL201 = Settings(select=("GL201",), unsafe_fixes=True)
GL202 = Settings(select=("GL202",), unsafe_fixes=True)
BOTH = Settings(select=("GL201", "GL202"), unsafe_fixes=True)
# For tests about what a fix writes, not how a call too long for 88 columns is laid out.
GL201_WIDE = Settings(select=("GL201",), unsafe_fixes=True, line_length=120)


def findings(src: str, settings: Settings = GL201) -> list[tuple[int, str]]:
    return [(d.location.row, d.message) for d in check_source(textwrap.dedent(src), "m.py", settings)]


def rows(src: str, settings: Settings = GL201) -> list[int]:
    return [row for row, _ in findings(src, settings)]


def fixed(src: str, settings: Settings = GL201) -> str:
    outcome = fix_source(textwrap.dedent(src), "m.py", settings)
    assert [d for d in outcome.remaining if d.fix is not None] == []
    # Fixing again changes nothing.
    assert fix_source(outcome.source, "m.py", settings).source == outcome.source
    return outcome.source


def fix_messages(src: str, settings: Settings = GL201) -> list[str]:
    return [d.fix.message for d in check_source(textwrap.dedent(src), "m.py", settings) if d.fix]


# == GL201: what makes a model recurrent ======================================================

@pytest.mark.parametrize("layer, name", [
    ("keras.layers.SimpleRNN(32)", "SimpleRNN"),
    ("keras.layers.LSTM(32)", "LSTM"),
    ("keras.layers.GRU(32)", "GRU"),
    ("keras.layers.RNN(keras.layers.LSTMCell(32))", "RNN"),
    ("keras.layers.RNN(keras.layers.StackedRNNCells([keras.layers.GRUCell(8), keras.layers.GRUCell(8)]))", "RNN"),
    ("keras.layers.ConvLSTM2D(16, 3)", "ConvLSTM2D"),
    ("keras.layers.ConvLSTM1D(16, 3)", "ConvLSTM1D"),
    ("keras.layers.Bidirectional(keras.layers.LSTM(32))", "Bidirectional(LSTM)"),
    ("keras.layers.Bidirectional(layer=keras.layers.GRU(32))", "Bidirectional(GRU)"),
    ("keras.layers.TimeDistributed(keras.layers.SimpleRNN(8))", "TimeDistributed(SimpleRNN)"),
])
def test_every_recurrent_layer_makes_the_model_recurrent(layer, name):
    src = f"import keras\nmodel = keras.Sequential([{layer}, keras.layers.Dense(1)])\nmodel.compile('adam', 'mse')\n"
    [(row, message)] = findings(src)
    assert row == 3 and message.startswith(f"{name} model compiled with optimizer \"adam\"")


@pytest.mark.parametrize("imports, lstm", [
    ("import tensorflow as tf", "tf.keras.layers.LSTM"),
    ("from tensorflow.keras.layers import LSTM", "LSTM"),
    ("from keras import layers as L", "L.LSTM"),
    ("import tensorflow.compat.v1 as tf1", "tf1.keras.layers.CuDNNLSTM"),
    ("from tensorflow.keras.layers import CuDNNGRU as Fast", "Fast"),
])
def test_recurrent_layers_are_resolved_through_imports(imports, lstm):
    src = f"{imports}\nfrom tensorflow import keras\nmodel = keras.Sequential([{lstm}(32), keras.layers.Dense(1)])\nmodel.compile(optimizer='adam')\n"
    assert rows(src) == [4]


@pytest.mark.parametrize("src", [
    "from mylib import LSTM\nfrom tensorflow import keras\nmodel = keras.Sequential([LSTM(32)])\nmodel.compile('adam')\n",
    "import torch\nfrom tensorflow import keras\nmodel = keras.Sequential([torch.nn.LSTM(4, 4)])\nmodel.compile('adam')\n",
])
def test_lookalike_recurrent_layers_are_not_keras(src):
    assert findings(src) == []


def test_the_message_names_the_layer_optimizer_and_the_remedy():
    src = """\
    import keras
    model = keras.Sequential([keras.layers.Embedding(1000, 16), keras.layers.LSTM(16), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    """
    assert findings(src) == [
        (3, 'LSTM model compiled with optimizer "adam", which does not clip gradients; add clipnorm=1.0'),
    ]


def test_add_chain_model():
    src = """\
    from keras.models import Sequential
    from keras.layers import LSTM, Dense, RepeatVector
    model = Sequential()
    model.add(LSTM(128, input_shape=(7, 12)))
    model.add(RepeatVector(4))
    for _ in range(2):
        model.add(LSTM(128, return_sequences=True))
    model.add(Dense(12, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    """
    assert rows(src) == [9]


def test_functional_model_whose_outputs_depend_on_a_recurrent_layer():
    src = """\
    from tensorflow import keras
    from tensorflow.keras import layers
    inputs = keras.Input(shape=(None, 8))
    x = layers.Conv1D(32, 3, activation="relu", kernel_initializer="he_normal")(inputs)
    x = layers.GRU(32)(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(1)(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="adam", loss="mse")
    """
    [(row, message)] = findings(src)
    assert row == 9 and message.startswith("GRU model")


def test_functional_seq2seq_with_states_unpacked_from_the_lstm():
    src = """\
    import keras
    encoder_inputs = keras.Input(shape=(None, 70))
    encoder_outputs, state_h, state_c = keras.layers.LSTM(256, return_state=True)(encoder_inputs)
    decoder_inputs = keras.Input(shape=(None, 90))
    decoder_lstm = keras.layers.LSTM(256, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=[state_h, state_c])
    decoder_outputs = keras.layers.Dense(90, activation="softmax")(decoder_outputs)
    model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)
    model.compile(
        optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"]
    )
    """
    assert rows(src) == [10]


def test_model_built_in_one_function_and_compiled_in_another():
    src = """\
    import tensorflow as tf

    def build_model(units):
        model = tf.keras.Sequential()
        model.add(tf.keras.layers.LSTM(units, input_shape=(30, 1)))
        model.add(tf.keras.layers.Dense(1))
        return model

    def train(x, y):
        model = build_model(50)
        model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
        model.fit(x, y, epochs=5)
    """
    assert rows(src) == [11]


def test_model_passed_to_a_training_function_is_followed_to_its_callers():
    src = """\
    from tensorflow import keras

    def compile_and_fit(model, x, y):
        model.compile(loss="mse", metrics=["mae"])
        return model.fit(x, y)

    lstm = keras.Sequential([keras.layers.LSTM(32), keras.layers.Dense(1)])
    compile_and_fit(lstm, None, None)
    """
    [(row, message)] = findings(src)
    assert row == 4 and message.startswith("LSTM model compiled without an optimizer")


def test_model_subclass_with_a_recurrent_layer():
    src = """\
    import keras

    class Tagger(keras.Model):
        def __init__(self, tags):
            super().__init__()
            self.encoder = keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True))
            self.head = keras.layers.Dense(tags)

        def call(self, x):
            return self.head(self.encoder(x))

    tagger = Tagger(9)
    tagger.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    """
    [(row, message)] = findings(src)
    assert row == 13 and message.startswith("Bidirectional(LSTM) model")


def test_nested_sequential_encoder_makes_the_outer_model_recurrent():
    src = """\
    import keras
    encoder = keras.Sequential([keras.layers.Embedding(1000, 32), keras.layers.GRU(32)])
    classifier = keras.Sequential([encoder, keras.layers.Dense(1)])
    classifier.compile("sgd", "mse")
    """
    assert rows(src) == [4]


def test_a_sub_model_from_a_factory_applied_as_a_layer_is_followed():
    """An encoder built by the module's own function and called on a tensor; beside it, a
    CNN feature extractor applied the same way must not make its head recurrent."""
    src = """\
    import keras
    from keras import layers

    def make_encoder():
        inp = keras.Input(shape=(None, 8))
        return keras.Model(inp, layers.GRU(16)(inp))

    def make_features():
        inp = keras.Input(shape=(32, 32, 3))
        x = layers.Conv2D(16, 3, activation="relu", kernel_initializer="he_normal")(inp)
        return keras.Model(inp, layers.GlobalAveragePooling2D()(x))

    encoder = make_encoder()
    sequence = keras.Input(shape=(None, 8))
    forecaster = keras.Model(sequence, layers.Dense(1)(encoder(sequence)))
    forecaster.compile(optimizer="adam", loss="mse")

    features = make_features()
    image = keras.Input(shape=(32, 32, 3))
    classifier = keras.Model(image, layers.Dense(10, activation="softmax")(features(image)))
    classifier.compile(optimizer="adam", loss="categorical_crossentropy")
    """
    [(row, message)] = findings(src)
    assert row == 16 and message.startswith("GRU model compiled")


# == GL201: models that are not recurrent are not flagged ======================================

def test_cnn_baseline_beside_a_recurrent_model_is_not_flagged():
    src = """\
    from tensorflow import keras
    from tensorflow.keras import layers

    def build_cnn():
        inputs = keras.Input(shape=(28, 28, 1))
        x = layers.Conv2D(32, 3, activation="relu", kernel_initializer="he_normal")(inputs)
        x = layers.Flatten()(x)
        outputs = layers.Dense(10, activation="softmax")(x)
        return keras.Model(inputs, outputs)

    def build_lstm():
        return keras.Sequential([layers.Embedding(10000, 32), layers.LSTM(32), layers.Dense(1)])

    cnn = build_cnn()
    cnn.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rnn = build_lstm()
    rnn.compile(optimizer="adam", loss="binary_crossentropy")
    mlp = keras.Sequential([layers.Embedding(10000, 32), layers.GlobalAveragePooling1D(), layers.Dense(1)])
    mlp.compile(optimizer="adam", loss="binary_crossentropy")
    """
    assert rows(src) == [17]


def test_one_name_for_a_baseline_then_a_recurrent_model():
    src = """\
    import keras
    model = keras.Sequential([keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model = keras.Sequential([keras.layers.GRU(8), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model = keras.models.load_model("saved.keras")
    model.compile(optimizer="sgd", loss="mse")
    """
    assert rows(src) == [5]


def test_shared_helper_head_does_not_make_every_caller_recurrent():
    src = """\
    import keras
    def head(x):
        return keras.layers.Dense(1)(x)
    def recurrent():
        inputs = keras.Input(shape=(None, 4))
        return keras.Model(inputs, head(keras.layers.GRU(8)(inputs)))
    def convolutional():
        inputs = keras.Input(shape=(None, 4))
        return keras.Model(inputs, head(keras.layers.Conv1D(8, 3)(inputs)))
    a = recurrent()
    a.compile("adam", "mse")
    b = convolutional()
    b.compile("adam", "mse")
    """
    assert rows(src) == [11]


# == GL201: which optimizers clip ===============================================================

@pytest.mark.parametrize("clip", ["clipnorm=1.0", "clipvalue=0.5", "global_clipnorm=5", "clipnorm=CLIP"])
@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Nadam", "Lion"])
def test_clipped_optimizers_are_fine(clip, optimizer):
    src = f"""\
    import keras
    CLIP = 1.0
    model = keras.Sequential([keras.layers.LSTM(8), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.{optimizer}(1e-3, {clip}), loss="mse")
    """
    assert findings(src) == []


@pytest.mark.parametrize("optimizer", [
    "tf.keras.optimizers.legacy.Adam()", "tf.optimizers.SGD(0.01)", "tf.keras.optimizers.experimental.AdamW()",
    "tf.keras.optimizers.Adafactor()", "tf.keras.optimizers.Ftrl()", "tf.keras.optimizers.Adadelta()",
    "tf.keras.optimizers.Adamax()", "tf.keras.optimizers.Lamb()",
])
def test_every_keras_optimizer_class_is_judged(optimizer):
    src = f"import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.GRU(8)])\nmodel.compile({optimizer}, 'mse')\n"
    assert rows(src) == [3]


@pytest.mark.parametrize("optimizer", [
    '"sgd"', "'RMSprop'", '"nadam"', '"adamw"', '"adagrad"',
])
def test_every_string_optimizer_is_judged(optimizer):
    src = f"import keras\nmodel = keras.Sequential([keras.layers.GRU(8)])\nmodel.compile(optimizer={optimizer})\n"
    assert rows(src) == [3]


@pytest.mark.parametrize("src", [
    # A parameter, a factory of the user's own, **kwargs, a lookup: not known statically.
    "import keras\ndef fit(opt):\n    m = keras.Sequential([keras.layers.LSTM(8)])\n    m.compile(optimizer=opt)\n",
    "import keras\nfrom project import make_optimizer\nm = keras.Sequential([keras.layers.LSTM(8)])\nm.compile(optimizer=make_optimizer())\n",
    "import keras\ncfg = {}\nm = keras.Sequential([keras.layers.LSTM(8)])\nm.compile(optimizer=keras.optimizers.Adam(**cfg))\n",
    "import keras\nm = keras.Sequential([keras.layers.LSTM(8)])\nm.compile(optimizer=keras.optimizers.get('adam'))\n",
    "import keras\nm = keras.Sequential([keras.layers.LSTM(8)])\nm.compile(optimizer='my_registered_optimizer')\n",
    "import keras\nm = keras.Sequential([keras.layers.LSTM(8)])\nm.compile(**config)\n",
    # Wrapped for mixed precision, clipped inside.
    "import keras\nm = keras.Sequential([keras.layers.LSTM(8)])\n"
    "m.compile(optimizer=keras.mixed_precision.LossScaleOptimizer(keras.optimizers.Adam(clipnorm=1.0)))\n",
])
def test_optimizers_that_cannot_be_known_or_that_clip_are_not_judged(src):
    assert findings(src) == []


def test_unclipped_optimizer_inside_a_loss_scale_optimizer_is_found():
    src = """\
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.LSTM(8)])
    opt = tf.keras.mixed_precision.LossScaleOptimizer(tf.keras.optimizers.Adam())
    model.compile(opt, "mse")
    """
    assert rows(src) == [3]


def test_optimizer_variable_finding_goes_on_the_constructor():
    src = """\
    from tensorflow.keras.optimizers import RMSprop
    from tensorflow.keras import Sequential
    from tensorflow.keras.layers import SimpleRNN, Dense
    opt = RMSprop(1e-3)

    def train(x, y):
        model = Sequential([SimpleRNN(16), Dense(1)])
        model.compile(opt, "mse")
    """
    [(row, message)] = findings(src)
    assert row == 4
    assert message == ("SimpleRNN model compiled with optimizer RMSprop(1e-3) (compile() on line 8), "
                       "which does not clip gradients; add clipnorm=1.0")


def test_a_custom_compile_is_not_keras_compile():
    src = """\
    import keras

    class GAN(keras.Model):
        def __init__(self, discriminator, generator):
            super().__init__()
            self.discriminator = discriminator
            self.generator = generator

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer = d_optimizer
            self.g_optimizer = g_optimizer
            self.loss_fn = loss_fn

    disc = keras.Sequential([keras.layers.LSTM(32), keras.layers.Dense(1)])
    gen = keras.Sequential([keras.layers.Dense(32)])
    gan = GAN(disc, gen)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(3e-4),
        g_optimizer=keras.optimizers.Adam(3e-4),
        loss_fn=keras.losses.BinaryCrossentropy(),
    )
    """
    assert findings(src) == []


def test_one_finding_for_an_optimizer_shared_by_two_recurrent_models():
    src = """\
    import keras
    opt = keras.optimizers.Adam()
    a = keras.Sequential([keras.layers.LSTM(8)])
    a.compile(opt, "mse")
    b = keras.Sequential([keras.layers.GRU(8)])
    b.compile(opt, "mse")
    """
    assert rows(src) == [2]


# == GL201: fixes ================================================================================

@pytest.mark.parametrize("imports, path", [
    ("import keras", "keras.optimizers.Adam"),
    ("import tensorflow as tf", "tf.keras.optimizers.Adam"),
    ("from tensorflow import keras", "keras.optimizers.Adam"),
    ("import tensorflow as tf\nfrom tensorflow import keras", "keras.optimizers.Adam"),
    ("import keras\nfrom keras import optimizers", "optimizers.Adam"),
    ("import keras\nfrom keras import optimizers as O", "O.Adam"),
    ("import keras\nfrom tensorflow.keras.optimizers import Adam", "Adam"),
])
def test_string_optimizer_becomes_the_class_in_the_files_own_spelling(imports, path):
    head = (f"{imports}\nfrom tensorflow.keras.layers import LSTM\nfrom tensorflow.keras.models import Sequential\n"
            "m = Sequential([LSTM(8)])\n")
    src = head + 'm.compile(optimizer="adam", loss="mse")\n'
    assert fixed(src) == head + f'm.compile(optimizer={path}(clipnorm=1.0), loss="mse")\n'


def test_string_optimizer_with_single_quotes_and_positional():
    src = """\
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.GRU(8), tf.keras.layers.Dense(1)])
    model.compile('sgd', 'mse', metrics=['mae'])
    """
    assert fixed(src) == textwrap.dedent("""\
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.GRU(8), tf.keras.layers.Dense(1)])
    model.compile(tf.keras.optimizers.SGD(clipnorm=1.0), 'mse', metrics=['mae'])
    """)


def test_import_added_in_module_style_when_no_name_fits():
    src = """\
    \"\"\"Forecaster.\"\"\"
    import numpy as np
    from tensorflow.keras import layers, models

    model = models.Sequential([layers.LSTM(50, input_shape=(30, 1)), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    """
    assert fixed(src) == textwrap.dedent("""\
    \"\"\"Forecaster.\"\"\"
    import numpy as np
    from tensorflow.keras import layers, models
    from tensorflow.keras import optimizers

    model = models.Sequential([layers.LSTM(50, input_shape=(30, 1)), layers.Dense(1)])
    model.compile(optimizer=optimizers.Adam(clipnorm=1.0), loss="mse")
    """)


def test_import_added_in_class_style_when_the_file_imports_classes():
    src = """\
    from keras.models import Sequential
    from keras.layers import LSTM, Dense

    model = Sequential()
    model.add(LSTM(50, return_sequences=True, input_shape=(60, 1)))
    model.add(LSTM(50))
    model.add(Dense(1))
    model.compile(optimizer='adam', loss='mean_squared_error')
    """
    assert fixed(src) == textwrap.dedent("""\
    from keras.models import Sequential
    from keras.layers import LSTM, Dense
    from keras.optimizers import Adam

    model = Sequential()
    model.add(LSTM(50, return_sequences=True, input_shape=(60, 1)))
    model.add(LSTM(50))
    model.add(Dense(1))
    model.compile(optimizer=Adam(clipnorm=1.0), loss='mean_squared_error')
    """)


def test_one_import_serves_every_fix_in_the_file():
    src = """\
    from tensorflow.keras import layers, models
    a = models.Sequential([layers.LSTM(8)])
    a.compile(optimizer="adam", loss="mse")
    b = models.Sequential([layers.GRU(8)])
    b.compile(loss="mse")
    """
    assert fixed(src) == textwrap.dedent("""\
    from tensorflow.keras import layers, models
    from tensorflow.keras import optimizers
    a = models.Sequential([layers.LSTM(8)])
    a.compile(optimizer=optimizers.Adam(clipnorm=1.0), loss="mse")
    b = models.Sequential([layers.GRU(8)])
    b.compile(optimizer=optimizers.RMSprop(clipnorm=1.0), loss="mse")
    """)


def test_a_name_taken_by_the_file_is_not_imported_over():
    src = """\
    from tensorflow.keras import layers, models
    optimizers = ["adam", "sgd"]
    a = models.Sequential([layers.LSTM(8)])
    a.compile(optimizer="adam", loss="mse")
    """
    assert fixed(src) == textwrap.dedent("""\
    from tensorflow.keras import layers, models
    from tensorflow.keras.optimizers import Adam
    optimizers = ["adam", "sgd"]
    a = models.Sequential([layers.LSTM(8)])
    a.compile(optimizer=Adam(clipnorm=1.0), loss="mse")
    """)


def test_constructor_gets_clipnorm_in_its_layout():
    src = """\
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.LSTM(8)])
    optimizer = tf.keras.optimizers.Adam(
        learning_rate=1e-3,
        beta_1=0.9
    )
    model.compile(optimizer=optimizer, loss="mse")
    model.compile(optimizer=tf.keras.optimizers.SGD(), loss="mse")
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1, clipnorm=None), loss="mse")
    """
    assert fixed(src) == textwrap.dedent("""\
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.LSTM(8)])
    optimizer = tf.keras.optimizers.Adam(
        learning_rate=1e-3,
        beta_1=0.9,
        clipnorm=1.0
    )
    model.compile(optimizer=optimizer, loss="mse")
    model.compile(optimizer=tf.keras.optimizers.SGD(clipnorm=1.0), loss="mse")
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1, clipnorm=1.0), loss="mse")
    """)


def test_missing_optimizer_is_added_first_in_the_calls_layout():
    src = """\
    import keras
    model = keras.Sequential([keras.layers.GRU(8), keras.layers.Dense(1)])
    model.compile(
        loss="mse",
        metrics=["mae"],
    )
    model.compile(loss="mse")
    model.compile()
    """
    assert fixed(src) == textwrap.dedent("""\
    import keras
    model = keras.Sequential([keras.layers.GRU(8), keras.layers.Dense(1)])
    model.compile(
        optimizer=keras.optimizers.RMSprop(clipnorm=1.0),
        loss="mse",
        metrics=["mae"],
    )
    model.compile(optimizer=keras.optimizers.RMSprop(clipnorm=1.0), loss="mse")
    model.compile(optimizer=keras.optimizers.RMSprop(clipnorm=1.0))
    """)


def test_super_compile_without_an_optimizer_is_not_no_optimizer():
    src = """\
    import keras
    class Model(keras.Model):
        def __init__(self):
            super().__init__()
            self.rnn = keras.layers.LSTM(8)
        def compile(self, optimizer, loss):
            super().compile()
            self.custom_optimizer = optimizer
    """
    assert findings(src) == []


def test_self_compile_in_a_recurrent_subclass_is_judged():
    src = """\
    import keras
    class Model(keras.Model):
        def __init__(self):
            super().__init__()
            self.rnn = keras.layers.LSTM(8)
            self.compile(optimizer="adam", loss="mse")
    """
    assert fixed(src) == textwrap.dedent(src).replace('"adam"', "keras.optimizers.Adam(clipnorm=1.0)")


@pytest.mark.parametrize("table, clip", [
    ({"clip": "clipvalue", "clip-value": 0.5}, "clipvalue=0.5"),
    ({"clip": "global_clipnorm"}, "global_clipnorm=1.0"),
    ({"clip-value": 5}, "clipnorm=5.0"),
])
def test_clip_keyword_and_value_are_configurable(table, clip):
    settings = settings_from_table({**table, "select": ["GL201"]}, None)
    src = "import keras\nm = keras.Sequential([keras.layers.LSTM(8)])\nm.compile(keras.optimizers.Adam(), 'mse')\n"
    assert fixed(src, settings) == src.replace("Adam()", f"Adam({clip})")


@pytest.mark.parametrize("table", [{"clip": "clip_norm"}, {"clip-value": 0}, {"clip-value": "1.0"}, {"clip-value": True}])
def test_bad_clip_settings_are_errors(table):
    with pytest.raises(ConfigError):
        settings_from_table(table, Path("pyproject.toml"))


def test_shared_optimizer_is_fixed_and_the_fix_says_so():
    src = """\
    import keras
    opt = keras.optimizers.Adam(1e-3)
    rnn = keras.Sequential([keras.layers.LSTM(8)])
    rnn.compile(opt, "mse")
    mlp = keras.Sequential([keras.layers.Dense(8)])
    mlp.compile(opt, "mse")
    """
    [message] = fix_messages(src)
    assert message == ("Add clipnorm=1.0 to Adam(...) (a model that is not recurrent shares this optimizer; "
                       "clipping does it no harm)")
    assert "Adam(1e-3, clipnorm=1.0)" in fixed(src)


def test_crlf_line_endings_are_kept_when_an_import_is_added():
    src = "from keras.models import Sequential\r\nfrom keras.layers import GRU\r\nm = Sequential([GRU(4)])\r\nm.compile('adam')\r\n"
    assert fix_source(src, "m.py", GL201).source == (
        "from keras.models import Sequential\r\nfrom keras.layers import GRU\r\nfrom keras.optimizers import Adam\r\n"
        "m = Sequential([GRU(4)])\r\nm.compile(Adam(clipnorm=1.0))\r\n")


# == GL202: custom training steps =================================================================

LOOP = """\
import tensorflow as tf

model = tf.keras.Sequential([
    tf.keras.layers.Embedding(20000, 64),
    tf.keras.layers.LSTM(64),
    tf.keras.layers.Dense(1),
])
optimizer = tf.keras.optimizers.Adam(1e-3{clip})
loss_fn = tf.keras.losses.BinaryCrossentropy(from_logits=True)

@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
{extra}    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss
"""


def test_custom_loop_of_a_recurrent_model_is_flagged_and_fixed():
    src = LOOP.format(clip="", extra="")
    [(row, message)] = findings(src, GL202)
    assert row == 16
    assert message == ("LSTM model trained by a custom step that applies unclipped gradients (and its "
                       "optimizer tf.keras.optimizers.Adam(1e-3), line 8, does not clip); clip them first: "
                       "grads, _ = tf.clip_by_global_norm(grads, 1.0)")
    assert fixed(src, GL202) == LOOP.format(clip="", extra="    grads, _ = tf.clip_by_global_norm(grads, 1.0)\n")


@pytest.mark.parametrize("extra", [
    "    grads, _ = tf.clip_by_global_norm(grads, 5.0)\n",
    "    grads = [tf.clip_by_norm(g, 1.0) for g in grads]\n",
    "    grads = [tf.clip_by_value(g, -1.0, 1.0) for g in grads]\n",
    "    grads = [tf.math.clip_by_norm(g, 1.0) for g in grads]\n",
    "    grads = [tf.keras.ops.clip(g, -1.0, 1.0) for g in grads]\n",
    "    grads = clip_all(grads)\n",
])
def test_gradients_clipped_in_the_loop_are_fine(extra):
    src = LOOP.format(clip="", extra=extra) + (
        "\ndef clip_all(grads):\n    return [tf.clip_by_norm(g, 1.0) for g in grads]\n")
    assert findings(src, GL202) == []


@pytest.mark.parametrize("clip", [", clipnorm=1.0", ", clipvalue=1.0", ", global_clipnorm=1.0"])
def test_an_optimizer_that_clips_is_fine(clip):
    assert findings(LOOP.format(clip=clip, extra=""), GL202) == []


def test_clipping_the_predictions_is_not_clipping_the_gradients():
    src = LOOP.format(clip="", extra="").replace(
        "loss = loss_fn(y, model(x, training=True))",
        "loss = loss_fn(y, tf.clip_by_value(model(x, training=True), -5.0, 5.0))")
    assert rows(src, GL202) == [16]


def test_a_non_recurrent_training_step_in_the_same_module_is_not_flagged():
    src = LOOP.format(clip="", extra="") + textwrap.dedent("""\

    mlp = tf.keras.Sequential([tf.keras.layers.Dense(10)])
    mlp_optimizer = tf.keras.optimizers.SGD()

    def mlp_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(mlp(x) - y))
        grads = tape.gradient(loss, mlp.trainable_variables)
        mlp_optimizer.apply_gradients(zip(grads, mlp.trainable_variables))
    """)
    assert rows(src, GL202) == [16]


SUBCLASS = """\
import tensorflow as tf
from tensorflow import keras


class TextModel(keras.Model):
    def __init__(self, vocab):
        super().__init__()
        self.embed = keras.layers.Embedding(vocab, 32)
        self.lstm = keras.layers.LSTM(32)
        self.out = keras.layers.Dense(1)

    def call(self, x):
        return self.out(self.lstm(self.embed(x)))

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
{extra}        self.optimizer.apply_gradients(zip(gradients, trainable_vars))
        return {{"loss": loss}}
"""


def test_train_step_of_a_recurrent_subclass_is_flagged_and_fixed():
    src = SUBCLASS.format(extra="")
    [(row, message)] = findings(src, GL202)
    assert row == 22 and message.startswith("LSTM model trained by a custom step that applies unclipped gradients;")
    assert fixed(src, GL202) == SUBCLASS.format(
        extra="        gradients, _ = tf.clip_by_global_norm(gradients, 1.0)\n")


def test_subclass_compiled_with_a_clipped_optimizer_is_fine():
    src = SUBCLASS.format(extra="") + "\nm = TextModel(100)\nm.compile(optimizer=keras.optimizers.Adam(clipnorm=1.0), loss='mse')\n"
    assert findings(src, BOTH) == []


def test_subclass_compiled_without_clipping_is_reported_once_on_its_compile():
    src = SUBCLASS.format(extra="") + "\nm = TextModel(100)\nm.compile(optimizer='adam', loss='mse')\n"
    found = check_source(src, "m.py", BOTH)
    assert [(d.code, d.location.row) for d in found] == [("GL201", 26)]
    assert "keras.optimizers.Adam(clipnorm=1.0)" in fixed(src, BOTH)


def test_keras3_optimizer_apply_is_a_training_step_too():
    src = SUBCLASS.format(extra="").replace(
        "self.optimizer.apply_gradients(zip(gradients, trainable_vars))",
        "self.optimizer.apply(gradients, trainable_vars)")
    assert rows(src, GL202) == [22]
    assert "gradients, _ = tf.clip_by_global_norm(gradients, 1.0)\n        self.optimizer.apply(" in fixed(src, GL202)


def test_a_subclass_without_recurrent_layers_is_not_flagged():
    src = SUBCLASS.format(extra="").replace("keras.layers.LSTM(32)", "keras.layers.GlobalAveragePooling1D()")
    assert findings(src, GL202) == []


def test_gan_style_step_is_judged_per_model_through_the_optimizers_it_is_given():
    src = """\
    import tensorflow as tf
    import keras

    class GAN(keras.Model):
        def __init__(self, discriminator, generator):
            super().__init__()
            self.discriminator = discriminator
            self.generator = generator

        def compile(self, d_optimizer, g_optimizer):
            super().compile()
            self.d_optimizer = d_optimizer
            self.g_optimizer = g_optimizer

        def train_step(self, real):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(self.discriminator(real))
            grads = tape.gradient(loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
            with tf.GradientTape() as tape:
                loss = -tf.reduce_mean(self.discriminator(self.generator(real)))
            grads = tape.gradient(loss, self.generator.trainable_weights)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
            return {"loss": loss}

    disc = keras.Sequential([keras.layers.GRU(16), keras.layers.Dense(1)])
    gen = keras.Sequential([keras.layers.GRU(16, return_sequences=True)])
    gan = GAN(discriminator=disc, generator=gen)
    gan.compile(d_optimizer=keras.optimizers.Adam(3e-4), g_optimizer=keras.optimizers.Adam(3e-4, clipnorm=1.0))
    """
    assert rows(src, BOTH) == [19]


@pytest.mark.parametrize("imports, tf_name, added", [
    ("import tensorflow as tf", "tf", ""),
    ("import tensorflow", "tensorflow", ""),
    ("import tensorflow as tflow", "tflow", ""),
    ("from tensorflow import GradientTape", "tf", "import tensorflow as tf\n"),
])
def test_the_clip_uses_the_modules_own_name_for_tensorflow(imports, tf_name, added):
    body = """\

model = keras.Sequential([keras.layers.GRU(8), keras.layers.Dense(1)])
opt = keras.optimizers.Adam()


def step(x, y, tape_class):
    with tape_class() as tape:
        loss = keras.ops.mean(model(x))
    grads = tape.gradient(loss, model.trainable_variables)
{clip}    opt.apply_gradients(zip(grads, model.trainable_variables))
"""
    src = f"{imports}\nimport keras\n" + body.format(clip="")
    assert fixed(src, GL202) == f"{imports}\nimport keras\n{added}" + body.format(
        clip=f"    grads, _ = {tf_name}.clip_by_global_norm(grads, 1.0)\n")


def test_gradients_used_inline_get_the_finding_without_a_fix():
    src = """\
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.SimpleRNN(8)])
    opt = tf.keras.optimizers.SGD(0.1)
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(x))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    """
    [diagnostic] = check_source(textwrap.dedent(src), "m.py", GL202)
    assert diagnostic.location.row == 7 and diagnostic.fix is None


def test_gradients_computed_inside_the_tape_block_are_clipped_there():
    src = """\
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.GRU(8)])
    opt = tf.keras.optimizers.SGD(0.1)
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(x))
            grads = tape.gradient(loss, model.trainable_variables)  # inside
        opt.apply_gradients(zip(grads, model.trainable_variables))
    """
    assert fixed(src, GL202) == textwrap.dedent(src).replace(
        "# inside\n", "# inside\n        grads, _ = tf.clip_by_global_norm(grads, 1.0)\n")


def test_gradient_assignment_sharing_its_line_gets_no_fix():
    src = """\
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.GRU(8)])
    opt = tf.keras.optimizers.SGD(0.1)
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(x))
        grads = tape.gradient(loss, model.trainable_variables); n = len(grads)
        opt.apply_gradients(zip(grads, model.trainable_variables))
    """
    [diagnostic] = check_source(textwrap.dedent(src), "m.py", GL202)
    assert diagnostic.fix is None


def test_the_optimizer_a_step_function_is_given_is_followed_to_its_callers():
    src = """\
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.LSTM(8)])
    def step(model, optimizer, x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(x))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    step(model, tf.keras.optimizers.Adam(clipnorm=1.0), None)
    """
    assert findings(src, GL202) == []
    assert rows(src.replace("Adam(clipnorm=1.0)", "Adam()"), GL202) == [7]


# == docs ===========================================================================================

def test_docs_explain_clipnorm_versus_clipvalue():
    gl201, gl202 = rule_by_code("GL201"), rule_by_code("GL202")
    assert gl201 is not None and gl202 is not None
    assert "[0.9, 100.0]" in gl201.doc and "[0.9, 1.0]" in gl201.doc and "clipnorm" in gl201.doc
    assert "clip_by_global_norm" in gl202.doc
    assert gl201.fixable and gl202.fixable


# == GL201: the fix names the Keras the file's own calls use ======================================
# A file may bind several Keras namespaces (`tf` for tf.data beside `tf_keras` for a hub layer);
# the optimizer a fix writes comes from the one the model's layers are written with, since a
# model of one Keras cannot be compiled with another's optimizer.

NADAM = 'model.compile(optimizer="nadam", loss="binary_crossentropy")\n'


def sequential(prefix: str) -> str:
    return (f"model = {prefix}Sequential([\n    {prefix}layers.Embedding(1000, 32),\n    {prefix}layers.LSTM(32),\n"
            f'    {prefix}layers.Dense(1, activation="sigmoid"),\n])\n')


@pytest.mark.parametrize("imports, prefix, optimizer", [
    ("import tensorflow as tf\nimport tf_keras\n", "tf.keras.", "tf.keras.optimizers.Nadam"),
    ("import tensorflow as tf\nimport tf_keras as keras\n", "tf.keras.", "tf.keras.optimizers.Nadam"),
    ("import keras\nimport tensorflow as tf\n", "tf.keras.", "tf.keras.optimizers.Nadam"),
    ("import tf_keras\nfrom tensorflow import keras\n", "keras.", "keras.optimizers.Nadam"),
    ("import tensorflow as tf\nimport keras\n", "keras.", "keras.optimizers.Nadam"),
    ("import tf_keras\nimport tensorflow as tf\n", "tf_keras.", "tf_keras.optimizers.Nadam"),
])
def test_a_string_optimizer_becomes_a_class_of_the_keras_the_layers_are_written_with(imports, prefix, optimizer):
    head = imports + sequential(prefix)
    assert fixed(head + NADAM, GL201_WIDE) == head + NADAM.replace('"nadam"', f"{optimizer}(clipnorm=1.0)")


def test_a_compile_without_an_optimizer_gets_the_default_of_the_layers_keras():
    head = "import tensorflow as tf\nimport tf_keras\n" + sequential("tf.keras.")
    src = head + 'model.compile(loss="mse")\n'
    assert fixed(src) == head + 'model.compile(optimizer=tf.keras.optimizers.RMSprop(clipnorm=1.0), loss="mse")\n'


@pytest.mark.parametrize("imports, added", [
    ("from keras import layers, Sequential\nimport tf_keras\n", "from keras import optimizers\n"),
    ("import tensorflow as tf\nfrom tf_keras import layers, Sequential\n", "from tf_keras import optimizers\n"),
])
def test_no_name_of_another_keras_is_used_an_import_of_the_layers_keras_is_added(imports, added):
    body = sequential("")
    src = imports + body + NADAM
    assert fixed(src) == imports + added + body + NADAM.replace('"nadam"', "optimizers.Nadam(clipnorm=1.0)")


def test_the_files_own_optimizer_calls_decide_before_its_layers():
    """`keras` and `tf.keras` are one library: the file's optimizers are written `tf.keras`, so
    the added one is too, though more of its layers are written `keras`."""
    head = ("import keras\nimport tensorflow as tf\n" + sequential("keras.")
            + "model.compile(optimizer=tf.keras.optimizers.Adam(clipnorm=1.0), loss='mse')\n"
            + "rnn = tf.keras.Sequential([tf.keras.layers.GRU(8)])\n")
    src = head + 'rnn.compile("adam", "mse")\n'
    assert fixed(src) == head + 'rnn.compile(tf.keras.optimizers.Adam(clipnorm=1.0), "mse")\n'


def test_in_a_notebook_that_writes_tf_keras_everywhere_the_fix_does_not_write_tf_keras(tmp_path: Path):
    import json

    from click.testing import CliRunner

    from gradlint.cli import main

    sources = ["!pip install -q tensorflow-hub tf_keras",
               "import tensorflow as tf\nimport tensorflow_hub as hub\nimport tf_keras",
               sequential("tf.keras.").rstrip("\n"),
               'model.compile(optimizer="nadam", loss="binary_crossentropy", metrics=["accuracy"])']
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": s.splitlines(keepends=True)} for s in sources]
    notebook = tmp_path / "sentiment.ipynb"
    notebook.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1))
    result = CliRunner().invoke(main, ["check", "--no-cache", "--select", "GL201", "--output-format", "json",
                                       str(notebook)])
    [finding] = json.loads(result.stdout)
    assert (finding["cell"], finding["fix"]["message"]) == (4, "Use tf.keras.optimizers.Nadam(clipnorm=1.0)")
    contents = [e["content"] for e in finding["fix"]["edits"]]
    # (the compile() call is laid out one argument per line: the new name pushes it past 88)
    assert len(contents) == 1 and "optimizer=tf.keras.optimizers.Nadam(clipnorm=1.0)," in contents[0]


# == GL202: optimizer.minimize(...) and Keras 3's optimizer.apply(...) ===============================
# minimize() computes and applies the gradients itself: only the optimizer can clip them, so
# the fix is the constructor's clipnorm, and an optimizer that cannot be known is not judged.

MINIMIZE = """\
import tensorflow as tf

model = tf.keras.Sequential([
    tf.keras.layers.Embedding(20000, 64),
    tf.keras.layers.LSTM(64),
    tf.keras.layers.Dense(1),
])
optimizer = tf.keras.optimizers.Adam(learning_rate=1e-3{clip})
loss_fn = tf.keras.losses.BinaryCrossentropy(from_logits=True)


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    optimizer.minimize(loss, model.trainable_variables, tape=tape)
    return loss
"""


def test_minimize_of_a_recurrent_model_gives_its_optimizer_clipnorm():
    src = MINIMIZE.format(clip="")
    assert findings(src, GL202) == [
        (16, "LSTM model trained by optimizer.minimize(...) with tf.keras.optimizers.Adam(learning_rate=1e-3) "
             "(line 8), which does not clip gradients; add clipnorm=1.0"),
    ]
    assert fix_messages(src, GL202) == ["Add clipnorm=1.0 to Adam(...)"]
    assert fixed(src, GL202) == MINIMIZE.format(clip=", clipnorm=1.0")


def test_minimize_with_a_callable_loss_and_var_list():
    src = """\
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.GRU(16), tf.keras.layers.Dense(1)])
    opt = tf.keras.optimizers.SGD(0.01, momentum=0.9)
    def fit_batch(x, y):
        opt.minimize(lambda: tf.reduce_mean((model(x) - y) ** 2), var_list=lambda: model.trainable_variables)
    """
    assert rows(src, GL202) == [5]
    assert "opt = tf.keras.optimizers.SGD(0.01, momentum=0.9, clipnorm=1.0)\n" in fixed(src, GL202)


def test_minimize_by_an_optimizer_from_a_factory_is_fixed_in_the_factory():
    src = """\
    import tensorflow as tf

    def make_optimizer(name):
        if name == "sgd":
            return tf.keras.optimizers.SGD(0.1)
        return tf.keras.optimizers.Adam(1e-3, clipnorm=None)

    model = tf.keras.Sequential([tf.keras.layers.SimpleRNN(8), tf.keras.layers.Dense(1)])
    opt = make_optimizer("adam")

    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(x))
        opt.minimize(loss, model.trainable_variables, tape=tape)
    """
    [(row, message)] = findings(src, GL202)
    assert row == 14
    assert message == ("SimpleRNN model trained by opt.minimize(...) with tf.keras.optimizers.SGD(0.1) (returned by "
                       "make_optimizer(), line 5) or tf.keras.optimizers.Adam(1e-3, clipnorm=None) (returned by "
                       "make_optimizer(), line 6), which does not clip gradients; add clipnorm=1.0")
    assert fix_messages(src, GL202) == ["Add clipnorm=1.0 to SGD(...) and Adam(...)"]
    assert fixed(src, GL202) == textwrap.dedent(src).replace(
        "SGD(0.1)", "SGD(0.1, clipnorm=1.0)").replace("clipnorm=None", "clipnorm=1.0")


@pytest.mark.parametrize("src", [
    # The optimizer clips.
    MINIMIZE.format(clip=", global_clipnorm=1.0"),
    # Not recurrent.
    MINIMIZE.format(clip="").replace("tf.keras.layers.LSTM(64)", "tf.keras.layers.GlobalAveragePooling1D()"),
    # An optimizer handed in by callers the module does not show: nothing to know.
    """\
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.LSTM(8)])
def step(optimizer, x):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x))
    optimizer.minimize(loss, model.trainable_variables, tape=tape)
""",
    # scipy's minimize is a function, not an optimizer's method.
    """\
import tensorflow as tf
from scipy import optimize
model = tf.keras.Sequential([tf.keras.layers.LSTM(8)])
result = optimize.minimize(lambda w: 0.0, model.trainable_variables)
""",
])
def test_minimize_steps_that_are_not_findings(src):
    assert findings(src, BOTH) == []


def test_minimize_by_the_compiled_optimizer_is_the_compiles_finding():
    src = SUBCLASS.format(extra="").replace(
        "        trainable_vars = self.trainable_variables\n        gradients = tape.gradient(loss, trainable_vars)\n",
        "").replace("self.optimizer.apply_gradients(zip(gradients, trainable_vars))",
                    "self.optimizer.minimize(loss, self.trainable_variables, tape=tape)")
    assert "minimize" in src
    assert findings(src, GL202) == []  # the compile() that gives the optimizer is not in the file
    compiled = src + "\nm = TextModel(100)\nm.compile(optimizer='adam', loss='mse')\n"
    assert [(d.code, d.location.row) for d in check_source(compiled, "m.py", BOTH)] == [("GL201", 24)]


KERAS3_APPLY = """\
import keras
import tensorflow as tf

model = keras.Sequential([keras.layers.Embedding(1000, 32), keras.layers.GRU(32), keras.layers.Dense(1)])
optimizer = keras.optimizers.Adam(1e-3)


def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = keras.ops.mean(keras.losses.mean_squared_error(y, model(x)))
    grads = tape.gradient(loss, model.trainable_variables)
{clip}    {apply}
"""


@pytest.mark.parametrize("apply", [
    "optimizer.apply(grads, model.trainable_variables)",
    "optimizer.apply(grads)",  # the variables are the tape's sources
    "optimizer.apply(grads=grads, trainable_variables=model.trainable_variables)",
])
def test_keras3_apply_of_unclipped_gradients_is_clipped_before_it(apply):
    src = KERAS3_APPLY.format(clip="", apply=apply)
    [(row, message)] = findings(src, GL202)
    assert row == 12 and message.startswith("GRU model trained by a custom step that applies unclipped gradients")
    assert fixed(src, GL202) == KERAS3_APPLY.format(clip="    grads, _ = tf.clip_by_global_norm(grads, 1.0)\n",
                                                    apply=apply)


def test_keras3_apply_of_gradients_clipped_by_global_norm_is_fine():
    src = KERAS3_APPLY.format(clip="    grads, _ = tf.clip_by_global_norm(grads, 5.0)\n",
                              apply="optimizer.apply(grads, model.trainable_variables)")
    assert findings(src, BOTH) == []


# == GL201/GL202: a recurrent layer class chosen at run time =========================================
# Every candidate recurrent: the model is. Some: the model is whenever the recurrent one is
# chosen, and the message says so; clipping costs the other choice nothing.

@pytest.mark.parametrize("choice, call", [
    ("rnn = layers.LSTM if cfg.lstm else layers.GRU\n", "rnn(64)"),
    ("", "(layers.LSTM if cfg.lstm else layers.GRU)(64)"),
    ("if cfg.lstm:\n    rnn = layers.LSTM\nelse:\n    rnn = layers.GRU\n", "rnn(64)"),
    ("rnn = layers.LSTM\nif not cfg.lstm:\n    rnn = layers.GRU\n", "rnn(64)"),
    ('CELLS = {"lstm": layers.LSTM, "gru": layers.GRU}\nrnn = CELLS[cfg.cell]\n', "rnn(64)"),
    ("", '{"lstm": layers.LSTM, "gru": layers.GRU}[cfg.cell](64)'),
])
@pytest.mark.parametrize("style", ["sequential", "functional"])
def test_a_choice_of_recurrent_classes_makes_the_model_recurrent(choice, call, style):
    if style == "sequential":
        body = f"model = keras.Sequential([layers.Embedding(1000, 16), {call}, layers.Dense(1)])\n"
    else:
        body = (f"inputs = keras.Input(shape=(None,))\nx = layers.Embedding(1000, 16)(inputs)\nx = {call}(x)\n"
                "model = keras.Model(inputs, layers.Dense(1)(x))\n")
    src = "import keras\nfrom keras import layers\nfrom config import cfg\n" + choice + body + "model.compile('adam', 'mse')\n"
    [(row, message)] = findings(src)
    assert row == src.count("\n")
    assert message == 'LSTM or GRU model compiled with optimizer "adam", which does not clip gradients; add clipnorm=1.0'
    assert fixed(src).endswith("model.compile(keras.optimizers.Adam(clipnorm=1.0), 'mse')\n")


def test_a_choice_in_a_builder_function_and_under_a_wrapper():
    src = """\
    import tensorflow as tf
    from tensorflow.keras import layers

    def build(cell_type, units=64):
        if cell_type == "lstm":
            cell = layers.LSTM
        elif cell_type == "gru":
            cell = layers.GRU
        else:
            raise ValueError(cell_type)
        return tf.keras.Sequential([layers.Embedding(5000, 32), layers.Bidirectional(cell(units)), layers.Dense(1)])

    model = build("gru")
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    """
    assert findings(src) == [
        (14, 'Bidirectional(LSTM or GRU) model compiled with optimizer "rmsprop", which does not clip gradients; '
             "add clipnorm=1.0"),
    ]


def test_a_choice_of_a_recurrent_and_a_dense_layer_says_which_is_recurrent():
    src = """\
    import keras
    from keras import layers

    def build(recurrent):
        block = layers.GRU if recurrent else layers.Dense
        return keras.Sequential([block(32), layers.Dense(1)])

    model = build(True)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    """
    assert findings(src) == [
        (9, "GRU (when chosen over Dense) model compiled with optimizer keras.optimizers.SGD(0.01), which does not "
            "clip gradients; add clipnorm=1.0"),
    ]
    assert "keras.optimizers.SGD(0.01, clipnorm=1.0)" in fixed(src)


CHOICE = """\
import keras
from keras import layers
from config import cfg
{choice}
model = keras.Sequential([layers.Embedding(100, 8), block(32), layers.Flatten(), layers.Dense(1)])
model.compile("adam", "mse")
"""


@pytest.mark.parametrize("choice", [
    "block = layers.Conv1D if cfg.conv else layers.Dense",  # no candidate is recurrent
    "block = getattr(layers, cfg.block)",  # the class cannot be known
    "block = cfg.layer_class",
])
def test_choices_without_a_known_recurrent_class_are_not_judged(choice):
    assert findings(CHOICE.format(choice=choice)) == []


def test_a_choice_between_a_recurrent_class_and_none_names_only_the_class():
    [(row, message)] = findings(CHOICE.format(choice="block = layers.LSTM if cfg.lstm else None"))
    assert row == 6 and message.startswith('LSTM model compiled with optimizer "adam"')


def test_a_chosen_class_in_a_subclass_makes_its_train_step_recurrent():
    src = SUBCLASS.format(extra="").replace(
        "        self.lstm = keras.layers.LSTM(32)\n",
        "        rnn_class = keras.layers.LSTM if vocab > 1000 else keras.layers.SimpleRNN\n"
        "        self.lstm = rnn_class(32)\n")
    [(row, message)] = findings(src, GL202)
    assert row == 23 and message.startswith("LSTM or SimpleRNN model trained by a custom step")


def test_a_layer_list_element_chosen_inline_is_either_layer():
    src = """\
    import keras
    from config import bidirectional
    model = keras.Sequential([
        keras.layers.Embedding(1000, 16),
        keras.layers.Bidirectional(keras.layers.GRU(16)) if bidirectional else keras.layers.GRU(16),
        keras.layers.Dense(1),
    ])
    model.compile("adam", "mse")
    """
    [(row, message)] = findings(src)
    assert row == 8 and message.startswith("Bidirectional(GRU) model compiled")


# == GL201/GL202: optimizers from the module's own factories =========================================

def test_an_optimizer_factory_is_followed_and_fixed_in_the_factory():
    src = """\
    import keras
    from keras import layers


    def make_optimizer():
        opt = keras.optimizers.Adam(learning_rate=3e-4)
        return opt


    model = keras.Sequential([layers.Embedding(10000, 64), layers.LSTM(64), layers.Dense(1)])
    model.compile(optimizer=make_optimizer(), loss="binary_crossentropy")
    """
    assert findings(src) == [
        (6, "LSTM model compiled with optimizer keras.optimizers.Adam(learning_rate=3e-4) (returned by "
            "make_optimizer(), compile() on line 11), which does not clip gradients; add clipnorm=1.0"),
    ]
    assert fixed(src) == textwrap.dedent(src).replace("learning_rate=3e-4)", "learning_rate=3e-4, clipnorm=1.0)")


def test_every_constructor_a_factory_can_return_gets_the_fix():
    src = """\
    import tensorflow as tf


    def get_optimizer(cfg):
        if cfg.optimizer == "adam":
            optimizer = tf.keras.optimizers.Adam(cfg.lr)
        elif cfg.optimizer == "adamw":
            optimizer = tf.keras.optimizers.AdamW(cfg.lr, weight_decay=cfg.wd)
        else:
            return tf.keras.optimizers.SGD(cfg.lr, momentum=0.9, clipnorm=1.0)
        return optimizer


    def train(cfg, x, y):
        model = tf.keras.Sequential([tf.keras.layers.GRU(32), tf.keras.layers.Dense(1)])
        optimizer = get_optimizer(cfg)
        model.compile(optimizer=optimizer, loss="mse")
        model.fit(x, y)
    """
    assert rows(src) == [6, 8]
    assert fixed(src) == textwrap.dedent(src).replace("Adam(cfg.lr)", "Adam(cfg.lr, clipnorm=1.0)").replace(
        "weight_decay=cfg.wd)", "weight_decay=cfg.wd, clipnorm=1.0)")


def test_a_conditional_optimizer_expression_is_either_constructor():
    src = """\
    import keras
    from config import fast
    model = keras.Sequential([keras.layers.LSTM(8), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3) if fast else keras.optimizers.SGD(1e-2, clipnorm=1.0))
    """
    assert fixed(src) == textwrap.dedent(src).replace("Adam(1e-3)", "Adam(1e-3, clipnorm=1.0)")


def test_a_factory_calling_a_factory_is_named_by_the_one_compile_calls():
    src = """\
    import keras
    def base(lr):
        return keras.optimizers.RMSprop(lr)
    def make_opt():
        return base(1e-3)
    model = keras.Sequential([keras.layers.SimpleRNN(8)])
    model.compile(make_opt(), "mse")
    """
    [(row, message)] = findings(src)
    assert row == 3 and "(returned by make_opt(), compile() on line 7)" in message


def test_a_factory_shared_with_a_cnn_is_fixed_and_the_fix_says_so():
    src = """\
    import keras
    def make_opt():
        return keras.optimizers.Adam(1e-3)
    cnn = keras.Sequential([keras.layers.Conv2D(8, 3), keras.layers.Flatten(), keras.layers.Dense(10)])
    cnn.compile(make_opt(), "categorical_crossentropy")
    rnn = keras.Sequential([keras.layers.GRU(8), keras.layers.Dense(1)])
    rnn.compile(make_opt(), "mse")
    """
    assert rows(src) == [3]
    assert fix_messages(src) == ["Add clipnorm=1.0 to Adam(...) (a model that is not recurrent shares this optimizer; "
                                 "clipping does it no harm)"]


@pytest.mark.parametrize("src", [
    # A CNN compiled with a factory optimizer.
    "import keras\ndef make_opt():\n    return keras.optimizers.Adam(1e-3)\n"
    "cnn = keras.Sequential([keras.layers.Conv2D(8, 3), keras.layers.Flatten(), keras.layers.Dense(10)])\n"
    "cnn.compile(make_opt(), 'categorical_crossentropy')\n",
    # The factory's optimizer already clips, also through a parameter the caller chooses.
    "import keras\ndef make_opt():\n    return keras.optimizers.Adam(1e-3, clipnorm=1.0)\n"
    "m = keras.Sequential([keras.layers.LSTM(8)])\nm.compile(make_opt(), 'mse')\n",
    "import keras\ndef make_opt(clip=1.0):\n    return keras.optimizers.Adam(1e-3, clipnorm=clip)\n"
    "m = keras.Sequential([keras.layers.LSTM(8)])\nm.compile(make_opt(), 'mse')\n",
    # What the factory returns cannot be known: its parameter, **kwargs, a registry.
    "import keras\ndef make_opt(opt):\n    return opt\n"
    "m = keras.Sequential([keras.layers.LSTM(8)])\nm.compile(make_opt(keras.optimizers.Adam()), 'mse')\n",
    "import keras\ndef make_opt(**kw):\n    return keras.optimizers.Adam(**kw)\n"
    "m = keras.Sequential([keras.layers.LSTM(8)])\nm.compile(make_opt(), 'mse')\n",
    "import keras\ndef make_opt(name):\n    return keras.optimizers.get(name)\n"
    "m = keras.Sequential([keras.layers.LSTM(8)])\nm.compile(make_opt('adam'), 'mse')\n",
    # A generator is not a factory of one optimizer.
    "import keras\ndef make_opt():\n    yield keras.optimizers.Adam()\n    return keras.optimizers.Adam()\n"
    "m = keras.Sequential([keras.layers.LSTM(8)])\nm.compile(make_opt(), 'mse')\n",
])
def test_factories_that_are_not_findings(src):
    assert findings(src) == []


def test_a_string_a_factory_returns_is_reported_where_it_is_written_without_a_fix():
    src = """\
    import keras
    def optimizer_name(cfg):
        return "adam"
    model = keras.Sequential([keras.layers.LSTM(8)])
    model.compile(optimizer=optimizer_name(None), loss="mse")
    """
    [diagnostic] = check_source(textwrap.dedent(src), "m.py", GL201)
    assert (diagnostic.location.row, diagnostic.fix) == (3, None)
    assert diagnostic.message == ('LSTM model compiled with optimizer "adam" (returned by optimizer_name(), compile() '
                                  "on line 5), which does not clip gradients; use keras.optimizers.Adam(clipnorm=1.0)")


def test_a_custom_step_names_the_unclipped_optimizer_its_factory_builds():
    src = LOOP.format(clip="", extra="").replace(
        "optimizer = tf.keras.optimizers.Adam(1e-3)\n",
        "def build_optimizer():\n    return tf.keras.optimizers.Adam(1e-3)\noptimizer = build_optimizer()\n")
    [(row, message)] = findings(src, GL202)
    assert row == 18 and "(and its optimizer tf.keras.optimizers.Adam(1e-3), line 9, does not clip)" in message


def test_a_string_default_beside_a_parameter_is_fixed_in_place():
    src = """\
    import keras
    def train(x, y, optimizer=None):
        model = keras.Sequential([keras.layers.LSTM(8), keras.layers.Dense(1)])
        model.compile(optimizer=optimizer or "adam", loss="mse")
        model.compile(optimizer=optimizer if optimizer is not None else "adam", loss="mse")
    """
    assert rows(src) == [4, 5]
    assert fixed(src, GL201_WIDE) == textwrap.dedent(src).replace(
        'or "adam"', "or keras.optimizers.Adam(clipnorm=1.0)").replace(
        'else "adam"', "else keras.optimizers.Adam(clipnorm=1.0)")
