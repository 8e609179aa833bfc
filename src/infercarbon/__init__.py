"""infercarbon: an auditable gCO2e figure for every AI inference.

The public API is curated here and loaded lazily, so ``import infercarbon`` stays fast
(it imports no numpy until a name that needs it is touched).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# the one version source (hatch reads it into the package metadata: [tool.hatch.version])
from infercarbon._version import __version__ as __version__

if TYPE_CHECKING:  # type checkers see the real types; at run time __getattr__ loads them lazily
    # `import X as X`: an explicit re-export, as strict checkers ask of a package's API
    from infercarbon.errors import InfercarbonError as InfercarbonError
    from infercarbon.errors import InputError as InputError
    from infercarbon.errors import UnknownRegionError as UnknownRegionError
    from infercarbon.instrument.meter import Meter as Meter
    from infercarbon.provenance import Figure as Figure
    from infercarbon.reference.regions import Region as Region
    from infercarbon.reference.regions import resolve_region as resolve_region

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
