"""Shapes in the model graph: each weighted layer's fan-in and fan-out where the source shows
them, and None wherever it does not."""

from __future__ import annotations

import ast
import textwrap

import pytest

from gradlint.graph.model import build_graph
from gradlint.graph.shapes import Shape, join
from gradlint.graph.source import SourceText


def graph_of(src: str):
    text = textwrap.dedent(src)
    return build_graph(ast.parse(text), SourceText(text), "m.py")


def fans(src: str) -> list[tuple[str, int | None, int | None]]:
    """(class, fan_in, fan_out) of every layer with a judged initializer, in source order."""
    graph = graph_of(src)
    layers = sorted((l for l in graph.layers if l.spec.initializer_param and not l.is_template),
                    key=lambda l: (l.call.lineno, l.call.col_offset))
    return [(l.class_name, l.fan_in, l.fan_out) for l in layers]


def input_shapes(src: str, class_name: str) -> list[Shape | None]:
    graph = graph_of(src)
    return [graph.shapes.input_of(l) for l in graph.layers if l.class_name == class_name]


# -- where a shape starts ---------------------------------------------------------------------

@pytest.mark.parametrize("start", [
    "keras.Input(shape=(784,))",
    "keras.Input((784,))",
    "keras.Input(shape=[784])",
    "keras.layers.Input(batch_shape=(32, 784))",
])
def test_functional_input_shapes(start):
    src = f"""
        import keras
        inputs = {start}
        x = keras.layers.Dense(128, activation="relu")(inputs)
        outputs = keras.layers.Dense(10)(x)
        model = keras.Model(inputs, outputs)
    """
    assert fans(src) == [("Dense", 784, 128), ("Dense", 128, 10)]


@pytest.mark.parametrize("first", [
    'layers.Dense(64, activation="relu", input_shape=(20,))',
    'layers.Dense(64, activation="relu", input_dim=20)',
    'layers.Dense(64, activation="relu", batch_input_shape=(None, 20))',
])
def test_sequential_first_layer_declares_the_input(first):
    src = f"""
        from tensorflow.keras import Sequential, layers
        model = Sequential([
            {first},
            layers.Dense(1),
        ])
    """
    assert fans(src) == [("Dense", 20, 64), ("Dense", 64, 1)]


def test_sequential_input_element_and_add_chain():
    listed = """
        import keras
        model = keras.Sequential([keras.Input(shape=(16,)), keras.layers.Dense(8), keras.layers.Dense(1)])
    """
    added = """
        import keras
        model = keras.Sequential()
        model.add(keras.Input(shape=(16,)))
        model.add(keras.layers.Dense(8))
        model.add(keras.layers.Dense(1))
    """
    layer = """
        import keras
        model = keras.Sequential([keras.layers.InputLayer(shape=(16,)), keras.layers.Dense(8), keras.layers.Dense(1)])
    """
    for src in (listed, added, layer):
        assert fans(src) == [("Dense", 16, 8), ("Dense", 8, 1)]


def test_without_an_input_shape_the_first_fan_in_is_unknown_but_later_ones_are_not():
    src = """
        from keras import layers, Sequential
        model = Sequential([layers.Dense(64), layers.Dropout(0.5), layers.Dense(32), layers.Dense(1)])
    """
    assert fans(src) == [("Dense", None, 64), ("Dense", 64, 32), ("Dense", 32, 1)]


# -- what layers do to a shape ------------------------------------------------------------------

def test_convolutions_pooling_and_flatten():
    src = """
        import keras
        from keras import layers
        inputs = keras.Input(shape=(28, 28, 1))
        x = layers.Conv2D(32, 3, activation="relu")(inputs)
        x = layers.MaxPooling2D()(x)
        x = layers.Conv2D(64, kernel_size=(3, 5), strides=2, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.Flatten()(x)
        x = layers.Dense(128, activation="relu")(x)
        model = keras.Model(inputs, layers.Dense(10)(x))
    """
    # 28 → 26 (valid 3×3) → 13 (pool) → 7 (stride 2, same): 7 × 7 × 64 = 3136 after Flatten.
    assert fans(src) == [("Conv2D", 9, 288), ("Conv2D", 32 * 15, 64 * 15), ("Dense", 3136, 128), ("Dense", 128, 10)]
    assert input_shapes(src, "Flatten") == [Shape((7, 7, 64))]


def test_flatten_after_an_unknown_spatial_size_leaves_the_dense_fan_in_unknown():
    src = """
        import keras
        from keras import layers
        inputs = keras.Input(shape=(None, None, 3))
        x = layers.Conv2D(16, 3)(inputs)
        x = layers.Flatten()(x)
        model = keras.Model(inputs, layers.Dense(10)(x))
    """
    assert fans(src) == [("Conv2D", 27, 144), ("Dense", None, 10)]


def test_global_pooling_keeps_the_channels():
    src = """
        import keras
        from keras import layers
        inputs = keras.Input(shape=(None, None, 3))
        x = layers.Conv2D(64, 3, padding="same")(inputs)
        x = layers.GlobalAveragePooling2D()(x)
        model = keras.Model(inputs, layers.Dense(10)(x))
    """
    assert fans(src) == [("Conv2D", 27, 576), ("Dense", 64, 10)]


def test_one_dimensional_convolution_on_an_embedding():
    src = """
        from tensorflow import keras
        model = keras.Sequential([
            keras.layers.Embedding(10000, 128, input_length=200),
            keras.layers.Conv1D(64, 5, activation="relu"),
            keras.layers.GlobalMaxPooling1D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
    """
    assert fans(src) == [("Conv1D", 640, 320), ("Dense", 64, 1)]


def test_embedding_output_dim_is_known_even_without_the_sequence_length():
    src = """
        import keras
        inputs = keras.Input(shape=(None,), dtype="int32")
        x = keras.layers.Embedding(input_dim=5000, output_dim=32)(inputs)
        x = keras.layers.Bidirectional(keras.layers.LSTM(16))(x)
        model = keras.Model(inputs, keras.layers.Dense(1)(x))
    """
    assert fans(src) == [("Dense", 32, 1)]


def test_separable_depthwise_transposed_and_grouped_convolutions_count_like_keras():
    src = """
        import keras
        from keras import layers
        inputs = keras.Input(shape=(32, 32, 16))
        a = layers.SeparableConv2D(32, 3, padding="same", depth_multiplier=2)(inputs)
        b = layers.DepthwiseConv2D(3, padding="same")(inputs)
        c = layers.Conv2DTranspose(8, 2, strides=2)(inputs)
        d = layers.Conv2D(32, 3, groups=4)(inputs)
    """
    assert fans(src) == [("SeparableConv2D", 32, 32), ("DepthwiseConv2D", 144, 9),
                         ("Conv2DTranspose", 32, 64), ("Conv2D", 36, 288)]


def test_merges():
    src = """
        import keras
        from keras import layers
        a = keras.Input(shape=(16,))
        b = keras.Input(shape=(8,))
        joined = layers.Concatenate()([a, b])
        x = layers.Dense(32)(joined)
        y = layers.Dense(32)(a)
        summed = layers.Add()([x, y])
        both = layers.concatenate([summed, b])
        model = keras.Model([a, b], [layers.Dense(1)(summed), layers.Dense(1)(both)])
    """
    assert fans(src) == [("Dense", 24, 32), ("Dense", 16, 32), ("Dense", 32, 1), ("Dense", 40, 1)]


def test_time_distributed_and_reshape():
    src = """
        import keras
        from keras import layers
        inputs = keras.Input(shape=(10, 64))
        x = layers.TimeDistributed(layers.Dense(32))(inputs)
        x = layers.Reshape((-1,))(x)
        model = keras.Model(inputs, layers.Dense(1)(x))
    """
    assert fans(src) == [("Dense", 64, 32), ("Dense", 320, 1)]


# -- unknown stays unknown ------------------------------------------------------------------------

@pytest.mark.parametrize("between", [
    "x = keras.layers.Lambda(lambda t: t * 2)(x)",
    "x = custom_block(x)",
    "x = keras.layers.Conv2D(8, 3, data_format='channels_first')(x)",
    "x = keras.layers.Dense(width)(x)",
])
def test_what_cannot_be_seen_is_unknown(between):
    src = f"""
        import keras
        inputs = keras.Input(shape=(32, 32, 3))
        x = keras.layers.Conv2D(8, 3)(inputs)
        {between}
        model = keras.Model(inputs, keras.layers.Dense(1)(x))
    """
    assert fans(src)[-1] == ("Dense", None, 1)


def test_a_helper_called_with_different_shapes_gives_no_fan_in():
    src = """
        import keras
        def head(x):
            return keras.layers.Dense(1)(x)
        a = keras.Input(shape=(16,))
        b = keras.Input(shape=(8,))
        outs = [head(a), head(b)]
    """
    assert fans(src) == [("Dense", None, 1)]


def test_a_helper_called_with_one_shape_knows_it():
    src = """
        import keras
        def head(x):
            return keras.layers.Dense(1)(x)
        a = keras.Input(shape=(16,))
        model = keras.Model(a, head(a))
    """
    assert fans(src) == [("Dense", 16, 1)]


# -- loops ------------------------------------------------------------------------------------------

def test_a_layer_repeated_in_a_loop_sees_each_fan_in():
    src = """
        import keras
        inputs = keras.Input(shape=(32,))
        x = inputs
        for _ in range(12):
            x = keras.layers.Dense(64, activation="tanh")(x)
        outputs = keras.layers.Dense(1)(x)
        model = keras.Model(inputs, outputs)
    """
    graph = graph_of(src)
    repeated, out = sorted((l for l in graph.layers), key=lambda l: l.call.lineno)
    assert (repeated.fan_in, repeated.fan_in_choices, repeated.fan_out) == (None, (32, 64), 64)
    assert (out.fan_in, out.fan_out) == (64, 1)


def test_after_a_loop_that_may_not_run_the_fan_in_is_unknown():
    src = """
        import keras
        def build(depth):
            inputs = keras.Input(shape=(32,))
            x = inputs
            for _ in range(depth):
                x = keras.layers.Dense(64)(x)
            return keras.Model(inputs, keras.layers.Dense(1)(x))
    """
    assert fans(src)[-1] == ("Dense", None, 1)


def test_sequential_loops_and_comprehensions():
    added = """
        import keras
        model = keras.Sequential([keras.Input(shape=(256,))])
        for _ in range(20):
            model.add(keras.layers.Dense(256, activation="relu"))
        model.add(keras.layers.Dense(1))
    """
    assert fans(added) == [("Dense", 256, 256), ("Dense", 256, 1)]
    listed = """
        import tensorflow as tf
        hidden = [tf.keras.layers.Dense(128, activation="sigmoid") for _ in range(30)]
        model = tf.keras.Sequential([tf.keras.Input(shape=(64,)), *hidden, tf.keras.layers.Dense(1)])
    """
    graph = graph_of(listed)
    hidden, out = sorted(graph.layers, key=lambda l: l.call.lineno)
    assert hidden.fan_in_choices == (64, 128) and (out.fan_in, out.fan_out) == (128, 1)


# -- join ---------------------------------------------------------------------------------------------

def test_join_keeps_only_what_both_sides_agree_on():
    assert join(Shape((28, 28, 3)), Shape((28, 28, 3))) == Shape((28, 28, 3))
    assert join(Shape((28, 28, 3)), Shape((14, 14, 3))) == Shape((None, None, 3))
    assert join(Shape((10, 64)), Shape((64,), exact=False)) == Shape((64,), exact=False)
    assert join(Shape((10, 64)), Shape((32,))) is None
    assert join(Shape((64,)), None) is None
