"""What Flax (linen and NNX), JAX and optax *are*, as tables: layers, activations,
initializers, optimizers and gradient clipping.

The static path reads these names from the syntax tree; it never imports jax, flax or optax.
"""
