"""Pure, vectorised footprint arithmetic.

Every function here takes floats or numpy arrays (broadcast together) and returns arrays; no
I/O, no objects with state.  The scalar :func:`infercarbon.accounting.footprint.footprint`, the
Monte Carlo, the Meter and the benchmark all call these same functions.

Definitions (all per inference)::

    facility_j          = it_energy_j * pue * (1 + td_loss_frac)
    operational_<b>_g   = facility_j / 3.6e6 * intensity_<b>_g_per_kwh      b in location, market,
                                                                            marginal
    idle pool_j         = idle_power_w * device_time_s * (1 - u) / u         (usage-proportional
                          share of the device's idle time; u = utilisation_frac)
    idle attributed_j   = tenancy: share * pool; 30-70: 0.3 * share * pool; none: 0
    idle_<b>_g          = attributed_j * pue * (1 + td_loss_frac) / 3.6e6 * intensity_<b>
    embodied_g          = embodied_g_per_s * device_time_s / u              (wall-clock share)
    training_g          = training_g_total / lifetime_inferences
    network_g           = payload_bytes / 1e9 * network_kwh_per_gb * intensity_location

Utilisation below 1 spreads the device's idle wall-clock time over the inferences it serves,
so embodied (and idle) per inference rise as utilisation falls.

>>> round(float(operational_g(1.8, 170.0, pue=1.0)), 12)  # the seed's worked example [g]
8.5e-05
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray
from infercarbon.attribution.idle import FOLLOW_FRAC_30_70, IDLE_POLICIES, IdlePolicy
from infercarbon.errors import InputError
from infercarbon.units import BYTES_PER_GB, G_PER_KG, G_PER_T, J_PER_KWH

__all__ = [
    "FOLLOW_FRAC_30_70",
    "IDLE_POLICIES",
    "IdlePolicy",
    "embodied_g",
    "idle_split_j",
    "network_g",
    "operational_g",
    "training_g",
    "utilisation_from_rate",
]

#: The idle policies and the seed's 30/70 rule are defined once, in
#: :mod:`infercarbon.attribution.idle` (measured idle); this module models idle for estimates.

ArrayLike = npt.ArrayLike


def _a(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def operational_g(
    it_energy_j: ArrayLike,
    intensity_g_per_kwh: ArrayLike,
    *,
    pue: ArrayLike = 1.0,
    td_loss_frac: ArrayLike = 0.0,
) -> FloatArray:
    """Operational emissions [g] = IT energy x PUE x (1 + T&D loss) x intensity."""
    return (
        _a(it_energy_j) * _a(pue) * (1.0 + _a(td_loss_frac)) / J_PER_KWH * _a(intensity_g_per_kwh)
    )


def utilisation_from_rate(rate_per_s: ArrayLike, device_time_s: ArrayLike) -> FloatArray:
    """Per-device utilisation for a duty cycle served by the fewest devices that keep up.

    ``busy = rate x device_time`` device-seconds per second; ``n = ceil(busy)`` devices are
    needed, each ``busy / n`` utilised.  (A single device when ``busy <= 1``.)
    """
    busy = _a(rate_per_s) * _a(device_time_s)
    n = np.maximum(np.ceil(busy), 1.0)
    return busy / n


def idle_split_j(
    idle_power_w: ArrayLike,
    device_time_s: ArrayLike,
    utilisation_frac: ArrayLike,
    policy: IdlePolicy,
    *,
    share_frac: ArrayLike = 1.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Split the device's idle energy that falls to one inference: (attributed, unattributed, pool).

    ``pool = idle_power_w x device_time_s x (1-u)/u`` is the idle energy in proportion to the
    inference's busy time; ``share_frac`` is the workload's tenancy share of it (1 when the
    usage-proportional share is the tenancy share).  ``attributed + unattributed == pool``.
    """
    if policy not in IDLE_POLICIES:
        raise InputError(
            f"must be one of {', '.join(IDLE_POLICIES)}, got {policy!r}", field="idle_policy"
        )
    u = _a(utilisation_frac)
    pool = _a(idle_power_w) * _a(device_time_s) * (1.0 - u) / u
    if policy == "tenancy":
        attributed = _a(share_frac) * pool
    elif policy == "30-70":
        attributed = FOLLOW_FRAC_30_70 * _a(share_frac) * pool
    else:
        attributed = np.zeros_like(pool)
    return attributed, pool - attributed, pool


def embodied_g(
    embodied_kg: ArrayLike,
    lifetime_s: ArrayLike,
    device_time_s: ArrayLike,
    utilisation_frac: ArrayLike,
) -> FloatArray:
    """Embodied carbon [g] apportioned by the inference's wall-clock share of the device life."""
    rate_g_per_s = _a(embodied_kg) * G_PER_KG / _a(lifetime_s)
    return rate_g_per_s * _a(device_time_s) / _a(utilisation_frac)


def training_g(training_t: ArrayLike, lifetime_inferences: ArrayLike) -> FloatArray:
    """A published training footprint [t] amortised over the served lifetime inferences [g]."""
    return _a(training_t) * G_PER_T / _a(lifetime_inferences)


def network_g(
    payload_bytes: ArrayLike, network_kwh_per_gb: ArrayLike, intensity_g_per_kwh: ArrayLike
) -> FloatArray:
    """Network transfer emissions [g] = payload GB x kWh/GB x intensity."""
    return _a(payload_bytes) / BYTES_PER_GB * _a(network_kwh_per_gb) * _a(intensity_g_per_kwh)
