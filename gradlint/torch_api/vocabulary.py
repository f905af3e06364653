"""How findings about PyTorch layers name the remedies: the same advice as for Keras, in
torch.nn's words."""

from __future__ import annotations

# Advice for a saturating stack that vanishes (GL301).
SATURATING_FIX = ('use nn.ReLU with nn.init.kaiming_normal_(layer.weight, nonlinearity="relu"), '
                  "or put nn.BatchNorm1d/nn.BatchNorm2d between the layers")
# … and one whose gain is past the critical value (GL301).
CHAOTIC_FIX = "use Glorot initialization (nn.init.xavier_normal_(layer.weight)) for {listed}, or put nn.LayerNorm between the layers"
# Advice for exponential hidden layers (GL303).
EXPONENTIAL_FIX = 'use F.relu, F.elu or F.softplus with nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")'
