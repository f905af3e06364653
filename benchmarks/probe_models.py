"""The probe speed benchmark's four models, as targets `gradlint probe` takes.

    gradlint probe benchmarks/probe_models.py:bilstm_classifier

A 200-step Bidirectional-LSTM text classifier (Sequential), a ResNet-20 on 32×32×3
(functional), a 30-layer MLP (Sequential) and a 12-layer transformer encoder (subclassed, its
blocks user-defined layers): one of each model kind, each the size its family usually is.
"""

from __future__ import annotations

import keras
from keras import layers


def bilstm_classifier() -> keras.Model:
    """Token ids of length 200 → two stacked Bidirectional LSTMs → a sigmoid."""
    model = keras.Sequential(
        [
            keras.Input(shape=(200,), dtype="int32"),
            layers.Embedding(20000, 128),
            layers.Bidirectional(layers.LSTM(64, return_sequences=True)),
            layers.Bidirectional(layers.LSTM(32)),
            layers.Dense(64, activation="relu"),
            layers.Dense(1, activation="sigmoid"),
        ],
        name="bilstm_classifier",
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def resnet20() -> keras.Model:
    """He et al.'s CIFAR ResNet-20: 3 stages × 3 basic blocks, 16/32/64 filters."""
    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, kernel_initializer="he_normal")(inputs)
    x = layers.Activation("relu")(layers.BatchNormalization()(x))
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(3):
            strides = 2 if stage > 0 and block == 0 else 1
            shortcut = x
            y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                              kernel_initializer="he_normal")(x)
            y = layers.Activation("relu")(layers.BatchNormalization()(y))
            y = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal")(y)
            y = layers.BatchNormalization()(y)
            if strides != 1:
                shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False,
                                         kernel_initializer="he_normal")(x)
                shortcut = layers.BatchNormalization()(shortcut)
            x = layers.Activation("relu")(layers.Add()([shortcut, y]))
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x), name="resnet20")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def mlp30() -> keras.Model:
    """30 × Dense(256, relu) on 784 inputs, a softmax over 10 classes."""
    model = keras.Sequential(
        [keras.Input(shape=(784,)), *[layers.Dense(256, activation="relu") for _ in range(30)],
         layers.Dense(10, activation="softmax")],
        name="mlp30",
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


class EncoderBlock(keras.layers.Layer):
    """Post-norm transformer block: self-attention and a feed-forward net, each added back."""

    def __init__(self, dim: int, heads: int, hidden: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.attention = layers.MultiHeadAttention(heads, dim // heads)
        self.norm1 = layers.LayerNormalization()
        self.ffn1 = layers.Dense(hidden, activation="gelu")
        self.ffn2 = layers.Dense(dim)
        self.norm2 = layers.LayerNormalization()

    def call(self, x):
        x = self.norm1(x + self.attention(x, x))
        return self.norm2(x + self.ffn2(self.ffn1(x)))


class TransformerEncoder(keras.Model):
    """Token and position embeddings, 12 encoder blocks, mean pooling, a softmax."""

    def __init__(self, vocabulary: int = 8000, length: int = 64, dim: int = 128, depth: int = 12,
                 classes: int = 4, **kwargs) -> None:
        super().__init__(**kwargs)
        self.length = length
        self.tokens = layers.Embedding(vocabulary, dim)
        self.positions = layers.Embedding(length, dim)
        self.blocks = [EncoderBlock(dim, 4, 4 * dim) for _ in range(depth)]
        self.pool = layers.GlobalAveragePooling1D()
        self.head = layers.Dense(classes, activation="softmax")

    def call(self, ids):
        x = self.tokens(ids) + self.positions(keras.ops.arange(self.length))
        for block in self.blocks:
            x = block(x)
        return self.head(self.pool(x))


def transformer_encoder() -> keras.Model:
    model = TransformerEncoder(name="transformer_encoder")
    model(keras.ops.zeros((1, 64), dtype="int32"))  # build: a subclassed model has no Input
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model
