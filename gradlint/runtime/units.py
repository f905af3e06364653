"""Dead units: the units of a layer's output that are never positive on a batch.

A ReLU-family unit whose pre-activation is ≤ 0 for every sample outputs exactly zero and passes
no gradient back: it is dead for that batch. The probe intercepts a weighted layer's output,
which is the activation's output when the activation is the layer's own and its input when a
separate activation layer follows; "never positive" means "outputs zero" in both cases.
Numpy only, so it runs wherever the forward statistics are taken.
"""

from __future__ import annotations

import numpy as np


def dead_units(output: np.ndarray) -> tuple[int, int] | None:
    """(units never positive over every sample and position, units) along the last axis, the
    axis Keras puts units and channels on; None for an output without one."""
    if output.ndim < 2 or output.shape[-1] == 0 or output.size == 0:
        return None
    flat = output.reshape(-1, output.shape[-1])
    never_positive = ~np.any((flat > 0) | ~np.isfinite(flat), axis=0)  # NaN is GR103's, not dead
    return int(np.count_nonzero(never_positive)), int(flat.shape[1])
