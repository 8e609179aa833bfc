"""The interface every energy source implements, and shared helpers.

An :class:`EnergySource` reports a **cumulative** energy in joules since an arbitrary origin,
monotonic non-decreasing (hardware counter wraparound is handled inside the source), for the
device(s) it covers.  Energy over an interval is the difference of two readings.  Counter
sources can be read at event boundaries, so they need no thread; a power-polling source
(``needs_polling``) integrates power between successive reads and must be read periodically,
which :class:`infercarbon.telemetry.sampler.Sampler` does.

Methods and accuracy classes (:data:`ACCURACY_CLASSES`)::

    measured-counter        A  hardware energy counter (NVML total energy, RAPL, amd_energy)
    measured-power-polling  B  hardware power readings integrated over time (older GPUs)
    modelled                C  CPU time x a load-to-power curve fitted to SPECpower results
    constant                D  a constant power profile (seed tier), illustrative
    (replay)                   whatever the recorded trace was; the caller states it

Clocks are injected: a callable returning integer nanoseconds (``time.monotonic_ns`` by
default at the edges).

>>> wrap_delta(990, 10, 1000)  # wrapped once: 990 -> 999 -> 0 -> 10
20
>>> wrap_delta(10, 990, 1000)
980
"""

from __future__ import annotations

import errno
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Protocol, runtime_checkable

from infercarbon.errors import InputError, SensorError, SensorUnavailableError

__all__ = [
    "ACCURACY_CLASSES",
    "ENERGY_BANDS",
    "METHODS",
    "Availability",
    "EnergyBand",
    "EnergySource",
    "Method",
    "SourceLabel",
    "default_clock",
    "energy_band",
    "read_sysfs_int",
    "wrap_delta",
]

Method = Literal["measured-counter", "measured-power-polling", "modelled", "constant"]
METHODS: Final[tuple[str, ...]] = (
    "measured-counter",
    "measured-power-polling",
    "modelled",
    "constant",
)
SourceLabel = Literal["measured", "modelled", "illustrative"]

#: Short documented accuracy class per method.
ACCURACY_CLASSES: Final[dict[str, str]] = {
    "measured-counter": "A: hardware energy counter",
    "measured-power-polling": "B: hardware power polled and integrated (misses sub-period peaks)",
    "modelled": "C: CPU time x SPECpower load-to-power model (p5..p95 range per figure)",
    "constant": "D: constant power profile, illustrative (not a measurement)",
}


@dataclass(frozen=True, slots=True)
class EnergyBand:
    """The p5..p95 band of an energy figure from one accuracy class, as fractions of the
    figure (``low_frac`` <= 1 <= ``high_frac``), with the label such a figure carries and the
    source of the band."""

    method: str
    accuracy_class: str
    low_frac: float
    high_frac: float
    label: str
    source: str


#: The documented energy band of each method's figures, used where an event carries no
#: ``energy_low_j``/``energy_high_j`` of its own (a source that knows its own range, such as
#: the CPU model, reports it per figure and that is used instead).
ENERGY_BANDS: Final[dict[str, EnergyBand]] = {
    "measured-counter": EnergyBand(
        "measured-counter",
        "A",
        0.95,
        1.05,
        "measured",
        "NVIDIA nvidia-smi/NVML documentation: board power accurate to +-5 %; RAPL package "
        "energy within a few % of wall-plug measurements (Khan et al. 2018, ACM TOMPECS 3(2))",
    ),
    "measured-power-polling": EnergyBand(
        "measured-power-polling",
        "B",
        0.85,
        1.15,
        "measured",
        "power polled and integrated misses sub-period peaks: Yang, Adamek & Armour 2024, "
        "'Part-time power measurements: nvidia-smi's lack of attention' (arXiv:2312.02741) "
        "found errors of this order on short kernels; +-15 %",
    ),
    "modelled": EnergyBand(
        "modelled",
        "C",
        0.7,
        1.4,
        "modelled",
        "CPU time x SPECpower load-to-power curve: the spread of SPECpower_ssj2008 results of "
        "one CPU family (idle and full-load power, p5..p95) is about -30 %/+40 % around the "
        "curve; infercarbon.telemetry.cpu_model",
    ),
    "constant": EnergyBand(
        "constant",
        "D",
        0.5,
        2.0,
        "illustrative",
        "constant power profile (a seed tier's illustrative figure): the stated x/2..x2 "
        "log-normal band used for every illustrative figure without a published range",
    ),
    "unrated": EnergyBand(
        "unrated",
        "E",
        0.5,
        2.0,
        "reported",
        "the event's attribution_method names no known method (measured-counter, "
        "measured-power-polling, modelled, constant): energy as reported by the sender, "
        "given the illustrative x/2..x2 band",
    ),
}

_METHOD_TOKEN = re.compile(r"[:+/ ,;]")


def energy_band(attribution_method: str) -> EnergyBand:
    """The band of an event's energy from its ``attribution_method`` text (e.g.
    ``"nvml:measured-counter"``, ``"cpu-model:modelled"``): the first known method named in
    it, else ``ENERGY_BANDS["unrated"]``.

    >>> energy_band("cpu-model:modelled").label
    'modelled'
    >>> energy_band("nvml:measured-counter").low_frac
    0.95
    >>> energy_band("equal-share-concurrent").accuracy_class
    'E'
    """
    for token in _METHOD_TOKEN.split(attribution_method):
        band = ENERGY_BANDS.get(token.strip())
        if band is not None and token != "unrated":
            return band
    return ENERGY_BANDS["unrated"]


def default_clock() -> int:
    """The default clock: :func:`time.monotonic_ns` (integer ns, never goes backwards)."""
    return time.monotonic_ns()


@runtime_checkable
class EnergySource(Protocol):
    """A source of cumulative energy for one or more devices.

    Attributes
    ----------
    name : str
        ``"nvml"``, ``"rapl"``, ``"amd-hwmon"``, ``"cpu-model"``, ``"constant"`` or ``"replay"``.
    method : str
        One of :data:`METHODS`.
    accuracy_class : str
        Short class, see :data:`ACCURACY_CLASSES`.
    label : str
        Provenance label of the energy it reports: ``measured``, ``modelled`` or
        ``illustrative``.
    needs_polling : bool
        True when :meth:`read_energy_j` integrates power between reads and must be read
        periodically (at the sampler's period); False for counters that can be read at
        event boundaries only.

    A source may also set ``coarse_updates = True`` (optional, read with a False default so
    that sources written before it still satisfy the protocol): its counter is refreshed
    more coarsely than it may be read (NVML, ~100 ms), so a repeated value means "not updated
    yet" and the Meter drops it before attribution
    (:func:`infercarbon.attribution.drop_stale_readings`).
    """

    name: str
    method: str
    accuracy_class: str
    label: str
    needs_polling: bool

    def read_energy_j(self) -> float:
        """Cumulative energy [J] since an arbitrary origin; monotonic non-decreasing.

        Raises
        ------
        SensorError
            The source could not be read (never a silent zero).
        """
        ...

    def describe(self) -> dict[str, Any]:
        """Devices/domains covered, model and data source, caveats (JSON-safe)."""
        ...

    def close(self) -> None:
        """Release handles; further reads raise :class:`SensorError`."""
        ...


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether a source can be used here, and why (not)."""

    name: str
    available: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "available": self.available, "reason": self.reason}


def wrap_delta(previous: int, current: int, max_range: int) -> int:
    """Increase of a counter that wraps to 0 after ``max_range - 1``.

    Parameters
    ----------
    previous, current : int
        Two raw readings, in counter units, each in ``[0, max_range)``.
    max_range : int
        The counter's range (``max_energy_range_uj`` for RAPL): it counts
        ``0 .. max_range - 1`` and then wraps.  Must be positive.

    Returns
    -------
    int
        ``current - previous`` modulo ``max_range``: the increase assuming at most one
        wraparound between the readings.  Sources must therefore be read more often than
        the counter wraps (a RAPL package counter of range 2^32 uJ wraps after ~4.3 kJ,
        about 20 s at 200 W; the sampler's period guards this).
    """
    if max_range <= 0:
        raise InputError(f"must be positive, got {max_range}", field="max_range")
    return (current - previous) % max_range


def read_sysfs_int(path: Path, *, permission_hint: str) -> int:
    """An integer sysfs attribute (energy counters in uJ); errors say what to do.

    A permission error (EACCES) is :class:`SensorUnavailableError` carrying ``permission_hint``;
    any other read error, or text that is not an integer, is :class:`SensorError`.
    """
    try:
        text = path.read_text().strip()
    except PermissionError as exc:
        raise SensorUnavailableError(
            f"permission denied reading {path}: {permission_hint}"
        ) from exc
    except OSError as exc:
        if exc.errno == errno.EACCES:
            raise SensorUnavailableError(
                f"permission denied reading {path}: {permission_hint}"
            ) from exc
        raise SensorError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return int(text)
    except ValueError as exc:
        raise SensorError(f"{path} holds {text!r}, not an integer") from exc
