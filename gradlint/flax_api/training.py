"""optax as data: the optimizers a training script builds, and the transformations that clip
gradients when chained with them."""

from __future__ import annotations

OPTAX = "optax."
OPTIMIZERS = frozenset(
    ["adam", "adamw", "adamax", "adamaxw", "adabelief", "adadelta", "adafactor", "adagrad", "adan", "amsgrad", "fromage", "lamb", "lars", "lion", "nadam", "nadamw", "noisy_sgd", "novograd", "optimistic_gradient_descent", "polyak_sgd", "radam", "rmsprop", "rprop", "sgd", "sm3", "yogi", "lbfgs", "sign_sgd", "signum"])
CHAIN = "optax.chain"
# Transformations that bound the gradient's size, by their name under optax.
CLIPS = frozenset({"clip_by_global_norm", "clip", "clip_by_block_rms", "adaptive_grad_clip",
                   "per_example_global_norm_clip", "per_example_layer_norm_clip"})
# Wrappers whose first argument is the optimizer they run: `optax.MultiSteps(optax.adam(…), k)`.
WRAPPERS = frozenset({"optax.MultiSteps", "optax.apply_if_finite", "optax.lookahead"})
INJECT = "optax.inject_hyperparams"
# What the fix writes, by GL201's `clip` setting: global norm, or value.
CLIP_BY_NORM = "clip_by_global_norm"
CLIP_BY_VALUE = "clip"
