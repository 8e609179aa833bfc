"""Constant-power source: a seed hardware tier's power profile (T0..T6), illustrative.

Energy is ``power x elapsed time`` on the injected clock, whatever the device really does.  It
lets a service without sensors run the meter against one of the seed's tiers; every figure is
labelled ``illustrative`` and carries the tier's power range.

>>> now = [0]
>>> src = ConstantSource.from_tier("T1", clock=lambda: now[0])
>>> now[0] = 2_000_000_000
>>> src.read_energy_j(), src.power_w.range
(22.0, (7.0, 15.0))
"""

from __future__ import annotations

from typing import Any, Literal

from infercarbon.errors import InputError, SensorError
from infercarbon.provenance import Figure
from infercarbon.reference.seed import get_tier
from infercarbon.telemetry.base import ACCURACY_CLASSES, default_clock
from infercarbon.timeutil import MonotonicClockNs
from infercarbon.units import NS_PER_S

__all__ = ["ConstantSource"]


class ConstantSource:
    """Energy at a constant power.

    Parameters
    ----------
    power_w : Figure
        Power [W] with provenance (unit ``w``).
    clock : callable returning int [ns]
    device : str
        What the power describes.
    """

    name = "constant"
    method = "constant"
    accuracy_class = ACCURACY_CLASSES["constant"]
    label = "illustrative"
    needs_polling = False

    def __init__(
        self, power_w: Figure, *, clock: MonotonicClockNs = default_clock, device: str = ""
    ) -> None:
        if power_w.unit != "w":
            raise InputError(f"unit must be 'w', got {power_w.unit!r}", field="power_w")
        if power_w.value < 0:
            raise InputError(f"must be >= 0 W, got {power_w.value}", field="power_w")
        self.power_w = power_w
        self.clock = clock
        self.device = device
        self.tier_id: str | None = None
        self.origin_ns = int(clock())
        self._closed = False

    @classmethod
    def from_tier(
        cls,
        tier_id: str,
        *,
        state: Literal["active", "idle"] = "active",
        clock: MonotonicClockNs = default_clock,
    ) -> ConstantSource:
        """The seed tier's active (default) or idle power; unknown ids raise."""
        tier = get_tier(tier_id)
        if state not in ("active", "idle"):
            raise InputError(f"must be 'active' or 'idle', got {state!r}", field="state")
        fig = tier.active_power_w if state == "active" else tier.idle_power_w
        src = cls(fig, clock=clock, device=f"{tier.tier_id} {tier.device} ({state})")
        src.tier_id = tier.tier_id
        return src

    def read_energy_j(self) -> float:
        if self._closed:
            raise SensorError("constant source is closed")
        return self.power_w.value * (int(self.clock()) - self.origin_ns) / NS_PER_S

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "accuracy_class": self.accuracy_class,
            "label": self.label,
            "devices": [self.device] if self.device else [],
            "model": "energy = constant power x elapsed time",
            "power_w": self.power_w.to_dict(),
            "caveats": [
                "not a measurement: the device's real power varies with load",
                "power range: " + f"{self.power_w.range[0]:g}..{self.power_w.range[1]:g} W",
            ],
        }

    def close(self) -> None:
        self._closed = True
