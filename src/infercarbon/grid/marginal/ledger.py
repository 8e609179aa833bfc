"""Region-interval marginal ledger: one entry per region and interval.

Each entry holds region, interval start (UTC), resolution, MEF and its low/high bounds
[g/kWh], the marginal fuel or unit, the method and its version — the "rolling ledger of
marginal emission factors by region-hour" of seed 003.  Stored column-wise (numpy arrays);
:meth:`MarginalLedger.records` gives row dicts and :meth:`MarginalLedger.to_series` the
shared :class:`~infercarbon.grid.signal.IntensitySeries` (``kind="marginal"``).

>>> import numpy as np
>>> t = np.array(["2024-01-01T00", "2024-01-01T01"], dtype="datetime64[s]")
>>> led = MarginalLedger.from_arrays(region="ERCOT", start_utc=t, resolution_s=3600,
...     mef_g_per_kwh=[500.0, 650.0], ci_low_g_per_kwh=[450.0, 600.0],
...     ci_high_g_per_kwh=[560.0, 700.0], marginal=["gas_cc", "gas_ct"],
...     method="merit-order", version="merit-order-1")
>>> led.records()[1]["marginal"], float(led.to_series().at(t[1])[0][0])
('gas_ct', 650.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray
from infercarbon.errors import InputError
from infercarbon.grid.marginal.merit_order import METHOD_VERSION as MO_VERSION
from infercarbon.grid.marginal.merit_order import MeritOrderResult
from infercarbon.grid.marginal.regression import METHOD_VERSION as REG_VERSION
from infercarbon.grid.marginal.regression import RegressionResult
from infercarbon.grid.signal import Basis, IntensitySeries, SignalProvenance

__all__ = ["MarginalLedger"]


@dataclass(frozen=True, eq=False)
class MarginalLedger:
    """Marginal emission factors of one region, one entry per interval."""

    region: str
    start_utc: npt.NDArray[np.datetime64]
    resolution_s: int
    mef_g_per_kwh: FloatArray
    ci_low_g_per_kwh: FloatArray
    ci_high_g_per_kwh: FloatArray
    marginal: npt.NDArray[np.object_]
    method: str
    version: str

    @classmethod
    def from_arrays(
        cls,
        *,
        region: str,
        start_utc: npt.ArrayLike,
        resolution_s: int,
        mef_g_per_kwh: npt.ArrayLike,
        ci_low_g_per_kwh: npt.ArrayLike,
        ci_high_g_per_kwh: npt.ArrayLike,
        marginal: Sequence[str],
        method: str,
        version: str,
    ) -> MarginalLedger:
        """Validate (equal lengths, sorted unique times, finite, low <= mef <= high)."""
        t = np.asarray(start_utc, dtype="datetime64[s]")
        v = np.asarray(mef_g_per_kwh, dtype=np.float64)
        lo = np.asarray(ci_low_g_per_kwh, dtype=np.float64)
        hi = np.asarray(ci_high_g_per_kwh, dtype=np.float64)
        m = np.asarray(list(marginal), dtype=object)
        if not (t.ndim == v.ndim == 1 and len(t) == len(v) == len(lo) == len(hi) == len(m)):
            raise InputError("ledger columns must be 1-D and of equal length", field="ledger")
        if resolution_s not in (300, 900, 3600):
            raise InputError("resolution must be 300, 900 or 3600 s", field="resolution_s")
        if len(t) > 1 and not (np.diff(t.astype(np.int64)) > 0).all():
            raise InputError("interval starts must be strictly increasing", field="start_utc")
        if not (np.isfinite(v).all() and np.isfinite(lo).all() and np.isfinite(hi).all()):
            raise InputError("values must be finite", field="mef_g_per_kwh")
        if (lo > v + 1e-9).any() or (hi < v - 1e-9).any():
            raise InputError("each entry must satisfy low <= mef <= high", field="ci")
        return cls(region, t, resolution_s, v, lo, hi, m, method, version)

    @classmethod
    def from_regression(cls, res: RegressionResult, *, region: str) -> MarginalLedger:
        """Entries from a regression; ``marginal`` is the bin's marginal fuel, else the bin."""
        fuel = res.marginal_fuel
        labels = np.asarray(res.bins.label, dtype=object)[res.bin_id]
        return cls.from_arrays(
            region=region,
            start_utc=res.time,
            resolution_s=res.interval_s,
            mef_g_per_kwh=res.mef_g_per_kwh,
            ci_low_g_per_kwh=res.low_g_per_kwh,
            ci_high_g_per_kwh=res.high_g_per_kwh,
            marginal=list(labels) if fuel is None else fuel,
            method=res.method,
            version=REG_VERSION,
        )

    @classmethod
    def from_merit_order(
        cls, res: MeritOrderResult, *, region: str, start_utc: npt.ArrayLike, resolution_s: int
    ) -> MarginalLedger:
        """Entries from a dispatch; ``marginal`` is ``unit_id (fuel)``."""
        marg = [f"{u} ({f})" for u, f in zip(res.unit_id, res.fuel, strict=True)]
        return cls.from_arrays(
            region=region,
            start_utc=start_utc,
            resolution_s=resolution_s,
            mef_g_per_kwh=res.mef_g_per_kwh,
            ci_low_g_per_kwh=res.low_g_per_kwh,
            ci_high_g_per_kwh=res.high_g_per_kwh,
            marginal=marg,
            method=res.method,
            version=MO_VERSION,
        )

    def __len__(self) -> int:
        return len(self.start_utc)

    def records(self) -> list[dict[str, Any]]:
        """Row dicts (for JSON, CSV or a store)."""
        t = np.datetime_as_string(self.start_utc, unit="s")
        return [
            {
                "region": self.region,
                "interval_start_utc": f"{t[i]}Z",
                "resolution_s": self.resolution_s,
                "mef_g_per_kwh": float(self.mef_g_per_kwh[i]),
                "ci_low_g_per_kwh": float(self.ci_low_g_per_kwh[i]),
                "ci_high_g_per_kwh": float(self.ci_high_g_per_kwh[i]),
                "marginal": str(self.marginal[i]),
                "method": self.method,
                "version": self.version,
            }
            for i in range(len(self))
        ]

    def to_series(self, *, basis: Basis = "direct") -> IntensitySeries:
        """The ledger as a marginal :class:`IntensitySeries` (negative MEFs clipped to 0).

        A regression MEF can be negative within noise; a signal cannot, so the clip is
        recorded in the provenance notes.
        """
        clipped = int((self.ci_low_g_per_kwh < 0).sum())
        notes = (f"{clipped} negative bounds or values clipped to 0",) if clipped else ()
        return IntensitySeries.from_arrays(
            region=self.region,
            kind="marginal",
            basis=basis,
            resolution_s=self.resolution_s,
            start_utc=self.start_utc,
            intensity_g_per_kwh=np.maximum(self.mef_g_per_kwh, 0.0),
            low_g_per_kwh=np.maximum(self.ci_low_g_per_kwh, 0.0),
            high_g_per_kwh=np.maximum(self.ci_high_g_per_kwh, 0.0),
            provenance=SignalProvenance(
                source=f"infercarbon {self.method}",
                version=self.version,
                method=self.method,
                label="modelled",
                notes=notes,
            ),
        )
