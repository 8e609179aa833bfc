"""infercarbon: an auditable gCO2e figure for every AI inference.

The public API is curated here and loaded lazily, so ``import infercarbon`` stays fast
(it imports no numpy until a name that needs it is touched).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Figure": "infercarbon.provenance",
    "InfercarbonError": "infercarbon.errors",
    "InputError": "infercarbon.errors",
    "Meter": "infercarbon.instrument.meter",
    "Region": "infercarbon.reference.regions",
    "UnknownRegionError": "infercarbon.errors",
    "resolve_region": "infercarbon.reference.regions",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'infercarbon' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
