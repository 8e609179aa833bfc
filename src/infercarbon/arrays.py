"""The numpy array types infercarbon's vectorised code passes around, named once.

Quantities keep their unit in the variable's name (``energy_j: FloatArray``); the alias
names only the dtype.  Typing aliases only: importing this module costs numpy, which every
module that handles arrays imports anyway.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = ["FloatArray", "IntArray", "TimeArray"]

#: float64 values, one per event, hour or sample.
FloatArray: TypeAlias = npt.NDArray[np.float64]
#: int64 values (counts, indices, epoch microseconds or nanoseconds).
IntArray: TypeAlias = npt.NDArray[np.int64]
#: datetime64 values, naive UTC.
TimeArray: TypeAlias = npt.NDArray[np.datetime64]
