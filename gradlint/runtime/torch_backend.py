"""The one door to PyTorch: imported late, with a clear message when it is missing.

Only modules under `gradlint/runtime/torch_*.py` import torch, and only inside functions:
`import torch` costs seconds, and nothing on the static path may pay that. Whether an object
is a torch module is answered without importing torch (an object cannot be one unless its
code already imported it).
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from gradlint.runtime.errors import RuntimeMissing

TORCH_INSTALL_HINT = 'install the torch extra: pip install "gradlint[torch]"'


def load_torch() -> ModuleType:
    """`torch`, or RuntimeMissing with the install hint."""
    try:
        import torch
    except ImportError as exc:
        raise RuntimeMissing(
            f"probing a PyTorch model needs torch, which could not be imported ({exc}); {TORCH_INSTALL_HINT}"
        ) from exc
    return torch


def is_torch_module(value: Any) -> bool:
    """`value` is a `torch.nn.Module` (False, without importing torch, when torch is not loaded)."""
    torch = sys.modules.get("torch")
    nn = getattr(torch, "nn", None)
    module_class = getattr(nn, "Module", None)
    return isinstance(module_class, type) and isinstance(value, module_class)
