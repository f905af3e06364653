"""How findings about Flax layers name the remedies: the same advice as for Keras, in Flax's
words."""

from __future__ import annotations

# Advice for a saturating stack that vanishes (GL301).
SATURATING_FIX = ("use nn.relu with kernel_init=nn.initializers.he_normal(), "
                  "or put nn.BatchNorm/nn.LayerNorm between the layers")
# … and one whose gain is past the critical value (GL301).
CHAOTIC_FIX = ("use Glorot initialization (kernel_init=nn.initializers.glorot_normal()) for {listed}, "
               "or put nn.LayerNorm between the layers")
# Advice for exponential hidden layers (GL303).
EXPONENTIAL_FIX = "use nn.relu, nn.elu or nn.softplus with kernel_init=nn.initializers.he_normal()"
