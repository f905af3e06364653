"""gradlint: find what makes Keras gradients vanish or explode, before training."""

__version__ = "0.1.0"
