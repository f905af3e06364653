"""GL101: which layers are judged, what activation they meet, and how they are fixed."""

from __future__ import annotations

import textwrap

import pytest

from gradlint.config import Settings
from gradlint.engine import check_source, fix_source

# Unsafe fixes too: these tests state each fix's text, safe or unsafe (test_fix_safety.py judges which).
GL101 = Settings(select=("GL101",), unsafe_fixes=True)


def findings(src: str, settings: Settings = GL101) -> list[tuple[int, str]]:
    return [(d.location.row, d.message) for d in check_source(textwrap.dedent(src), "m.py", settings)]


def rows(src: str) -> list[int]:
    return [row for row, _ in findings(src)]


def fixed(src: str, settings: Settings = GL101) -> str:
    return fix_source(textwrap.dedent(src), "m.py", settings).source


# -- what is Keras ------------------------------------------------------------------------

@pytest.mark.parametrize("imports, dense", [
    ("import tensorflow as tf", "tf.keras.layers.Dense"),
    ("import tensorflow", "tensorflow.keras.layers.Dense"),
    ("import keras", "keras.layers.Dense"),
    ("import keras", "keras.src.layers.Dense"),
    ("import tf_keras", "tf_keras.layers.Dense"),
    ("from keras import layers as L", "L.Dense"),
    ("import tensorflow.keras as K", "K.layers.Dense"),
    ("from tensorflow.keras.layers import Dense as D", "D"),
    ("from tensorflow.python.keras.layers.core import Dense", "Dense"),
    ("from tensorflow import keras\nlayers = keras.layers", "layers.Dense"),
    ("try:\n    from tensorflow import keras\nexcept ImportError:\n    import keras", "keras.layers.Dense"),
])
def test_every_spelling_of_keras_dense_is_recognised(imports, dense):
    src = f"{imports}\nlayer = {dense}(64, activation='relu')\n"
    assert len(findings(src)) == 1


@pytest.mark.parametrize("src", [
    "from mymodels import Dense\nlayer = Dense(64, activation='relu')\n",
    "import torch.nn as nn\nfrom tensorflow import keras\nlayer = nn.Linear(64, 64)\n",
    "from tensorflow import keras\nclass Dense:\n    pass\nlayer = Dense(64, activation='relu')\n",
    "from tensorflow import keras\nlayers = get_layers()\nlayer = layers.Dense(64, activation='relu')\n",
    "from tensorflow import keras\ndef build(layers):\n    return layers.Dense(64, activation='relu')\n",
    "from .layers import Dense\nimport tensorflow as tf\nlayer = Dense(64, activation='relu')\n",
])
def test_lookalikes_are_never_taken_for_keras(src):
    assert findings(src) == []


# -- the activation a layer meets -----------------------------------------------------------

@pytest.mark.parametrize("activation", [
    "'relu'", '"gelu"', "tf.nn.relu", "tf.keras.activations.gelu", "tf.keras.activations.swish",
    "tf.keras.layers.LeakyReLU(0.1)", "tf.keras.layers.PReLU()", "ACT", "'leaky_relu'", "'mish'",
])
def test_relu_family_activations_want_he(activation):
    src = f"import tensorflow as tf\nACT = 'elu'\nlayer = tf.keras.layers.Dense(8, activation={activation})\n"
    assert len(findings(src)) == 1


def test_positional_activation_is_read():
    assert rows("import keras\nlayer = keras.layers.Dense(64, 'relu')\n") == [2]


def test_the_message_names_layer_activation_initializer_and_the_fit():
    [(_, message)] = findings("import keras\nlayer = keras.layers.Dense(64, activation='relu')\n")
    assert message == ("Dense with activation 'relu' uses glorot_uniform (Keras default): the gradient shrinks "
                       "×0.71 per layer; relu wants He initialization: kernel_initializer='he_normal' "
                       "(after the fix: ×1.0 per layer)")


def test_activation_after_dropout_in_sequential():
    src = """\
    from tensorflow import keras
    model = keras.Sequential([
        keras.layers.Dense(64),
        keras.layers.Dropout(0.1),
        keras.layers.Activation("relu"),
        keras.layers.Dense(10),
    ])
    """
    [(row, message)] = findings(src)
    assert row == 3 and "followed by activation 'relu' (line 5)" in message


def test_a_kernel_whose_scale_batch_normalization_cancels_is_not_flagged():
    # BN(c·Wx) = BN(Wx): through linear, dropout and ReLU the kernel's scale never reaches the
    # gradient, so the probe measures the same model with Glorot and with He.
    src = """\
    from tensorflow import keras
    model = keras.Sequential([
        keras.layers.Dense(64),
        keras.layers.BatchNormalization(),
        keras.layers.Dropout(0.1),
        keras.layers.Activation("relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dropout(0.1),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(10),
    ])
    """
    assert rows(src) == []


def test_a_saturating_activation_before_the_normalization_still_counts():
    # tanh is not homogeneous: the kernel's scale sets its operating point before the BN.
    src = """\
    from tensorflow import keras
    model = keras.Sequential([
        keras.layers.Dense(64, activation="tanh", kernel_initializer="he_normal"),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(10),
    ])
    """
    assert rows(src) == [3]


def test_resnet_block_and_pre_ln_transformer_mlp_are_not_flagged():
    src = """\
    import keras
    from keras import layers
    def residual_block(x, filters):
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        y = layers.BatchNormalization()(y)
        y = layers.ReLU()(y)
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
        y = layers.BatchNormalization()(y)
        return layers.ReLU()(layers.add([x, y]))
    def transformer_mlp(x, dim):
        h = layers.LayerNormalization()(x)
        h = layers.Dense(4 * dim, activation="gelu", kernel_initializer="he_normal")(h)
        h = layers.Dense(dim)(h)
        return x + h
    """
    assert rows(src) == []


def test_a_layer_that_only_feeds_a_zero_kernel_is_not_flagged():
    # LoRA: A's output passes through B, whose kernel starts at zero.
    src = """\
    import keras
    from keras import layers
    inputs = keras.Input(shape=(128,))
    down = layers.Dense(8, activation="relu", use_bias=False)(inputs)
    up = layers.Dense(128, use_bias=False, kernel_initializer="zeros")(down)
    model = keras.Model(inputs, up)
    """
    assert rows(src) == []


def test_add_chain_with_activation_layers():
    src = """\
    from keras.models import Sequential
    from keras.layers import Dense, Activation, ELU
    model = Sequential()
    model.add(Dense(64, input_dim=20))
    model.add(Activation('tanh'))
    model.add(Dense(64))
    model.add(ELU())
    model.add(Dense(1))
    """
    assert rows(src) == [6]


def test_output_layer_is_linear_and_wants_glorot():
    src = """\
    import keras
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
        keras.layers.Dense(64, kernel_initializer="he_normal"),
    ])
    """
    [(row, message)] = findings(src)
    assert row == 5 and "linear output (the model's output" in message and "glorot_normal" in message


def test_another_familys_name_with_the_wanted_variance_at_these_fans_is_silent():
    # A 64→1 head: He's Var 2/64 against Glorot's 2/65, the same kernel to the signal. SELU
    # with Glorot between equal widths is LeCun's 1/fan. With fans unknown, the name decides.
    head = """\
    import keras
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
        keras.layers.Dense(1, kernel_initializer="he_normal"),
    ])
    """
    assert findings(head) == []
    selu = """\
    import keras
    model = keras.Sequential([
        keras.Input((128,)),
        keras.layers.Dense(128, activation="selu", kernel_initializer="glorot_normal"),
        keras.layers.Dense(128, activation="selu", kernel_initializer="lecun_normal"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    """
    assert findings(selu) == []
    unknown_fans = selu.replace("    keras.Input((128,)),\n", "")
    assert rows(unknown_fans) == [3]


def test_functional_chain_with_residual_merge_and_activation_function():
    src = """\
    import tensorflow as tf
    from tensorflow.keras import layers
    inputs = tf.keras.Input(shape=(32,))
    x = layers.Dense(32, kernel_initializer="he_normal")(inputs)
    y = layers.Dense(32)(x)
    y = layers.Dropout(0.1)(y)
    z = y + x
    z = tf.nn.relu(z)
    out = layers.Dense(1)(z)
    model = tf.keras.Model(inputs=inputs, outputs=out)
    """
    assert rows(src) == [5]


def test_helper_block_is_followed_to_its_callers():
    src = """\
    from tensorflow.keras import layers
    def block(x, filters):
        x = layers.Conv2D(filters, 3, padding="same")(x)
        return layers.Dropout(0.1)(x)
    def net(x):
        x = block(x, 16)
        x = layers.Activation("relu")(x)
        x = block(x, 32)
        return layers.ReLU()(x)
    """
    assert rows(src) == [3]


def test_callers_that_disagree_leave_the_layer_unjudged():
    src = """\
    from tensorflow.keras import layers
    def block(x):
        return layers.Dense(16)(x)
    a = layers.Activation("relu")(block(inp))
    b = layers.Activation("tanh")(block(inp))
    """
    assert findings(src) == []


@pytest.mark.parametrize("src", [
    # Goes into a function of the user's own that the module does not define.
    "from tensorflow.keras import layers\nx = layers.Dense(8)(inp)\nx = custom_act(x)\n",
    # Stored on self and used elsewhere.
    "import keras\nclass M(keras.Model):\n    def __init__(self):\n        super().__init__()\n        self.d = keras.layers.Dense(8)\n",
    # A standalone layer.
    "import keras\nlayer = keras.layers.Conv2D(8, 3, kernel_initializer='he_normal')\n",
    # Activation given through **kwargs whose keys cannot be known.
    "import keras\nkw = load_layer_config()\nlayer = keras.layers.Dense(8, **kw)\n",
    # An activation string Keras does not know (a custom registered one).
    "import keras\nlayer = keras.layers.Dense(8, activation='my_act')\n",
])
def test_what_cannot_be_seen_is_not_judged(src):
    assert findings(src) == []


def test_explicit_activation_on_self_layers_is_judged():
    src = """\
    import keras
    class Block(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.fc = keras.layers.Dense(64, activation="relu")
    """
    assert rows(src) == [5]


def test_comprehension_and_loop_layers_are_one_finding_each():
    src = """\
    import keras
    model = keras.Sequential([
        *[keras.layers.Dense(64, activation="relu") for _ in range(4)],
        keras.layers.Dense(10, activation="softmax"),
    ])
    x = inp = keras.Input((8,))
    for _ in range(3):
        x = keras.layers.Dense(8, activation="relu")(x)
    """
    assert rows(src) == [3, 8]


def test_loop_carried_dense_without_activation_meets_itself_and_the_relu():
    src = """\
    import keras
    x = keras.Input((8,))
    for _ in range(3):
        x = keras.layers.Dense(8)(x)
    x = keras.layers.ReLU()(x)
    """
    assert findings(src) == []  # linear into the next turn, relu after the last: they disagree


# -- initializers ----------------------------------------------------------------------------

@pytest.mark.parametrize("init, flagged", [
    ("'he_uniform'", False), ("'HeNormal'", False), ("initializers.HeNormal(seed=1)", False),
    ("initializers.he_normal()", False), ("initializers.VarianceScaling(2.0)", False),
    ("initializers.VarianceScaling(scale=2.0, mode='fan_in', distribution='uniform')", False),
    ("{'class_name': 'HeNormal', 'config': {}}", False),
    ("initializers.Orthogonal()", False), ("'identity'", False), ("my_init", False),
    ("'random_normal'", False), ("initializers.Zeros()", False),  # fixed scale: GL103's
    ("initializers.VarianceScaling(3.0)", False),  # no family: not judged
    ("'glorot_uniform'", True), ("'xavier_normal'", True), ("initializers.GlorotNormal()", True),
    ("initializers.VarianceScaling()", True),  # defaults are LeCun
    ("initializers.VarianceScaling(1.0, 'fan_avg')", True),
    ("{'class_name': 'VarianceScaling', 'config': {'scale': 1.0, 'mode': 'fan_avg'}}", True),
    ("tf.compat.v1.glorot_uniform_initializer()", True),
])
def test_initializer_forms_for_a_relu_layer(init, flagged):
    src = f"import tensorflow as tf\nfrom keras import initializers\nlayer = tf.keras.layers.Dense(8, activation='relu', kernel_initializer={init})\n"
    assert len(findings(src)) == (1 if flagged else 0)


def test_separable_and_depthwise_convolutions_judge_their_own_initializer():
    src = """\
    from keras import layers
    a = layers.SeparableConv2D(32, 3, activation="relu", depthwise_initializer="he_normal")
    b = layers.DepthwiseConv2D(3, activation="relu", pointwise_initializer="he_normal")
    """
    messages = [m for _, m in findings(src)]
    assert len(messages) == 2
    assert "pointwise_initializer=" in messages[0] and "depthwise_initializer=" in messages[1]


# -- suppression -----------------------------------------------------------------------------

@pytest.mark.parametrize("comment, suppressed", [
    ("# noqa: GL101", True), ("# noqa", True), ("# NOQA:GL101,GL201", True),
    ("# noqa: E501", False), ("# noqa: GL201", False), ("# no qa", False),
])
def test_noqa_on_the_first_line_of_the_call(comment, suppressed):
    src = f"import keras\nlayer = keras.layers.Dense(  {comment}\n    64, activation='relu')\n"
    assert (findings(src) == []) is suppressed


def test_select_and_ignore():
    src = "import keras\nlayer = keras.layers.Dense(64, activation='relu')\n"
    assert findings(src, Settings(ignore=("GL1",))) == []
    assert len(findings(src, Settings(select=("GL",), ignore=("GL2",)))) == 1
    assert findings(src, Settings(select=("GL1",), ignore=("GL101",))) == []


# -- fixes -----------------------------------------------------------------------------------

def test_fix_adds_the_keyword_after_activation_in_one_line_calls():
    assert fixed("import keras\nx = keras.layers.Dense(64, activation='relu', name='fc')\n") == \
        "import keras\nx = keras.layers.Dense(64, activation='relu', kernel_initializer='he_normal', name='fc')\n"


def test_fix_in_a_multiline_call_with_trailing_comma_and_comments():
    src = """\
    import keras
    layer = keras.layers.Dense(
        64,
        activation="relu",  # hidden layer
        use_bias=False,
    )
    """
    assert fixed(src) == textwrap.dedent("""\
    import keras
    layer = keras.layers.Dense(
        64,
        activation="relu",  # hidden layer
        kernel_initializer="he_normal",
        use_bias=False,
    )
    """)


def test_fix_in_a_multiline_call_without_trailing_comma_keeps_that_style():
    src = "import keras\nlayer = keras.layers.Dense(64,\n                           activation='relu'  # note\n)\n"
    assert fixed(src) == ("import keras\nlayer = keras.layers.Dense(64,\n                           activation='relu',  # note\n"
                          "                           kernel_initializer='he_normal'\n)\n")


def test_fix_keeps_crlf_line_endings_and_every_other_byte():
    src = "import keras\r\n# a comment\r\nlayer = keras.layers.Dense(\r\n    64,\r\n    activation='relu',\r\n)\r\nother = 1\r\n"
    out = fix_source(src, "m.py", GL101).source
    assert out == "import keras\r\n# a comment\r\nlayer = keras.layers.Dense(\r\n    64,\r\n    activation='relu',\r\n    kernel_initializer='he_normal',\r\n)\r\nother = 1\r\n"


def test_fix_distribution_setting_for_added_initializers():
    src = "import keras\nlayer = keras.layers.Dense(64, activation='selu')\n"
    assert "kernel_initializer='lecun_uniform'" in fixed(src, Settings(select=("GL101",), fix_distribution="uniform"))


def test_fix_renames_a_from_imported_class_and_imports_the_new_one():
    src = """\
    from keras.initializers import GlorotUniform
    from keras.layers import Dense
    a = Dense(8, activation="relu", kernel_initializer=GlorotUniform(seed=3))
    b = Dense(8, activation="relu", kernel_initializer=GlorotUniform())
    c = Dense(8, activation="tanh", kernel_initializer=GlorotUniform())
    """
    assert fixed(src) == textwrap.dedent("""\
    from keras.initializers import GlorotUniform, HeUniform
    from keras.layers import Dense
    a = Dense(8, activation="relu", kernel_initializer=HeUniform(seed=3))
    b = Dense(8, activation="relu", kernel_initializer=HeUniform())
    c = Dense(8, activation="tanh", kernel_initializer=GlorotUniform())
    """)


def test_fix_leaves_a_shared_initializer_variable_alone():
    src = """\
    import tensorflow as tf
    init = tf.keras.initializers.GlorotNormal(seed=0)
    a = tf.keras.layers.Dense(8, activation="relu", kernel_initializer=init)
    b = tf.keras.layers.Dense(8, activation="tanh", kernel_initializer=init)
    """
    wide = Settings(select=("GL101",), unsafe_fixes=True, line_length=120)  # names, not the layout of long lines
    assert fixed(src, wide) == textwrap.dedent("""\
    import tensorflow as tf
    init = tf.keras.initializers.GlorotNormal(seed=0)
    a = tf.keras.layers.Dense(8, activation="relu", kernel_initializer=tf.keras.initializers.HeNormal(seed=0))
    b = tf.keras.layers.Dense(8, activation="tanh", kernel_initializer=init)
    """)


def test_fix_sets_variance_scaling_scale_and_mode():
    src = "from keras import initializers, layers\nx = layers.Dense(8, activation='relu', kernel_initializer=initializers.VarianceScaling(mode='fan_avg'))\n"
    assert fixed(src) == ("from keras import initializers, layers\n"
                          "x = layers.Dense(8, activation='relu', kernel_initializer=initializers.VarianceScaling(mode='fan_in', scale=2.0))\n")


def test_fix_is_idempotent_and_check_after_fix_is_clean():
    src = """\
    import keras
    from keras import layers
    def build():
        inp = keras.Input((16,))
        x = layers.Dense(32)(inp)
        x = layers.Activation("relu")(x)
        x = layers.Dense(32, activation="selu", kernel_initializer="glorot_uniform")(x)
        return keras.Model(inp, layers.Dense(1, kernel_initializer="he_uniform")(x))
    """
    once = fixed(src)
    assert once != textwrap.dedent(src)
    assert fixed(once) == once
    assert findings(once) == []


def test_layers_on_self_are_followed_through_the_call_method():
    src = """\
    import tensorflow as tf
    from tensorflow.keras import layers
    class MLP(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.dense1 = layers.Dense(64)
            self.norm = layers.Dropout(0.1)
            self.dense2 = layers.Dense(10, kernel_initializer="he_normal")
        def call(self, x, training=False):
            x = self.dense1(x)
            x = self.norm(x, training=training)
            x = tf.nn.relu(x)
            return self.dense2(x)
    """
    [(row, message)] = findings(src)
    assert row == 6 and "followed by activation 'relu' (line 12)" in message


def test_a_sequential_block_stored_on_self_does_not_end_the_model():
    src = """\
    import keras
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.block = keras.Sequential([keras.layers.Conv2D(8, 3, kernel_initializer="he_normal")])
        def call(self, x):
            return keras.ops.relu(self.block(x))
    """
    assert findings(src) == []


def test_the_message_gives_the_run_and_the_severity_follows_the_probe_thresholds():
    deep = """\
    import keras
    from keras import layers
    inputs = keras.Input(shape=(256,))
    x = inputs
    for _ in range(30):
        x = layers.Dense(256, activation="relu")(x)
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
    """
    [deep_finding] = check_source(textwrap.dedent(deep), "m.py", Settings(select=("GL101",)))
    # 30 × ReLU with Glorot: ×0.71 per layer, 4.3e-5 over the run (the probe measures 3.8e-5).
    assert "×0.71 per layer, ×4.3e-05 over this run of 30 layers" in deep_finding.message
    assert "(after the fix: ×1.0 per layer, ×1.0 over the run)" in deep_finding.message
    assert deep_finding.severity == "error"
    shallow = deep.replace("range(30)", "range(2)")
    [shallow_finding] = check_source(textwrap.dedent(shallow), "m.py", Settings(select=("GL101",)))
    # Two layers: the run's ratio (×0.71) says no more than the layer's factor, and is not quoted.
    assert "shrinks ×0.71 per layer;" in shallow_finding.message and "over this run" not in shallow_finding.message
    assert shallow_finding.severity == "warning"
    only_errors = Settings(select=("GL101",), min_severity="error")
    assert check_source(textwrap.dedent(shallow), "m.py", only_errors) == []
    assert len(check_source(textwrap.dedent(deep), "m.py", only_errors)) == 1


def test_a_run_whose_ratio_contradicts_the_layer_is_not_quoted():
    # 784→512→256 with Glorot under ReLU: each layer shrinks the gradient, but between these
    # widths the ratio of norms over the run ends above 1; quoted, it would read as growth.
    src = """\
    import keras
    from keras import layers
    model = keras.Sequential([
        keras.Input((784,)),
        layers.Dense(512, activation="relu"),
        layers.Dense(256, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    """
    for finding in check_source(textwrap.dedent(src), "m.py", Settings(select=("GL101",))):
        assert "shrinks" in finding.message and "over this run" not in finding.message
        assert "over the run" not in finding.message


def test_tanh_with_he_says_the_gradient_grows():
    src = """\
    import keras
    from keras import layers
    inputs = keras.Input(shape=(64,))
    x = inputs
    for _ in range(20):
        x = layers.Dense(64, activation="tanh", kernel_initializer="he_normal")(x)
    model = keras.Model(inputs, layers.Dense(1)(x))
    """
    [(_, message)] = findings(src)
    # The chaotic phase: the probe measures 2.3 over 20 layers.
    assert "the gradient grows" in message and "×2.1 over this run of 20 layers" in message


@pytest.mark.parametrize("src, expected", [
    (  # one argument per line, trailing comma: a line of its own, indented like the others
        'x = keras.layers.Dense(\n\f    64,\n\f    activation="relu",\n)\n',
        'x = keras.layers.Dense(\n\f    64,\n\f    activation="relu",\n    kernel_initializer="he_normal",\n)\n',
    ),
    (  # no trailing comma: the comma goes after the last argument, the new one below it
        'x = keras.layers.Dense(\n\f    64,\n\f    activation="relu"\n)\n',
        'x = keras.layers.Dense(\n\f    64,\n\f    activation="relu",\n    kernel_initializer="he_normal"\n)\n',
    ),
    (  # a form feed inside the indentation: the column counts from it, as Python's tokenizer does
        'x = keras.layers.Dense(\n  \f\t64,\n  \f\tactivation="relu",\n)\n',
        'x = keras.layers.Dense(\n  \f\t64,\n  \f\tactivation="relu",\n\tkernel_initializer="he_normal",\n)\n',
    ),
], ids=["trailing-comma", "no-trailing-comma", "form-feed-inside"])
def test_arguments_inserted_into_form_feed_indented_calls_keep_their_indentation(src: str, expected: str):
    """A form feed (a page break) may start an indented line: the new argument takes the
    indentation after it, and no page break of its own."""
    assert fix_source("import keras\n" + src, "m.py", GL101).source == "import keras\n" + expected


# -- a layer whose output feeds both a main path and a residual shortcut -----------------------

SHORTCUT = """
    from tensorflow import keras
    from tensorflow.keras import layers

    inputs = keras.Input((128,))
    x = layers.Dense(128, kernel_initializer=STEM)(inputs)
    for _ in range(4):
        h = layers.ReLU()(x)
        h = layers.Dense(128, kernel_initializer="he_normal")(h)
        h = layers.ReLU()(h)
        h = layers.Dense(128, kernel_initializer="zeros")(h)
        x = layers.Add()([x, h])
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
"""


def test_a_layer_split_between_a_relu_main_path_and_a_shortcut_is_judged_by_the_main_path():
    # The stem's output goes into ReLU (the block's main path) and straight into Add (the
    # shortcut). The shortcut carries it on whatever its scale; on the main path the scale
    # meets ReLU as in any stack: He. The zero-init branch ends are added back only (an idiom).
    [(row, message)] = findings(SHORTCUT.replace("STEM", '"glorot_uniform"'))
    assert row == 6
    assert message.startswith("Dense followed by activation 'relu' (line 8) on its main path (its output is also "
                              "added back on a shortcut) uses glorot_uniform")
    assert findings(SHORTCUT.replace("STEM", '"he_normal"')) == []
    assert 'Dense(128, kernel_initializer="he_uniform")(inputs)' in fixed(SHORTCUT.replace("STEM", '"glorot_uniform"'))


def test_a_layer_added_back_only_is_not_taken_for_a_split():
    # Both consumers of the layer's output are adds, one then meeting ReLU, the other a linear
    # layer: there is no main path to judge by, and the layer stays unjudged.
    src = """
        from tensorflow import keras
        from tensorflow.keras import layers

        inputs = keras.Input((64,))
        x = layers.Dense(64)(inputs)
        a = layers.Add()([x, inputs])
        b = layers.Add()([x, inputs])
        merged = layers.Concatenate()([layers.ReLU()(a), b])
        model = keras.Model(inputs, layers.Dense(1)(merged))
    """
    assert findings(src) == []
