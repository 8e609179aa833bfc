"""Intel/AMD RAPL through the Linux powercap interface (``/sys/class/powercap/intel-rapl:*``).

Each zone directory has ``name`` (``package-0``, ``dram``, ``core``, ``uncore``, ``psys``),
``energy_uj`` (a counter in microjoules) and ``max_energy_range_uj`` (the counter's range; it
wraps to 0 after it).  The source covers the **package** and **DRAM** domains; ``core`` and
``uncore`` are parts of the package and ``psys`` is the whole platform, so they are left out to
avoid double counting.  The cumulative energy accumulates wrap-corrected deltas between reads,
so reads must come more often than the fastest-wrapping counter (see
:func:`infercarbon.telemetry.base.wrap_delta`); :meth:`RaplSource.wrap_period_s` estimates it.

Since Linux 5.10 ``energy_uj`` is readable by root only (CVE-2020-8694, "Platypus"); a
permission error is explained, never turned into zero.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> z = root / "class/powercap/intel-rapl:0"; z.mkdir(parents=True)
>>> _ = (z / "name").write_text("package-0\\n"); _ = (z / "energy_uj").write_text("1000\\n")
>>> _ = (z / "max_energy_range_uj").write_text("262143328850\\n")
>>> src = RaplSource(sysfs_root=root)
>>> _ = (z / "energy_uj").write_text("3001000\\n")
>>> src.read_energy_j()
3.0
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infercarbon.errors import SensorError, SensorUnavailableError
from infercarbon.telemetry.base import ACCURACY_CLASSES, read_sysfs_int, wrap_delta
from infercarbon.units import UJ_PER_J

__all__ = ["PERMISSION_HINT", "RaplSource", "RaplZone", "find_rapl_zones"]

PERMISSION_HINT = (
    "energy_uj is readable by root only since Linux 5.10 (CVE-2020-8694, 'Platypus'); run as "
    "root, or grant read access, e.g. `sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj "
    "/sys/class/powercap/intel-rapl:*:*/energy_uj` or a udev rule "
    '(SUBSYSTEM=="powercap", ACTION=="add", RUN+="/bin/chmod o+r /sys%p/energy_uj")'
)

_ZONE_RE = re.compile(r"^intel-rapl:\d+(:\d+)?$")
#: RAPL domains covered; the others overlap them.
COVERED_PREFIXES = ("package", "dram")


@dataclass
class RaplZone:
    """One powercap zone: its path, domain name and counter range [uJ]."""

    path: Path
    name: str
    max_range_uj: int
    last_uj: int = 0
    total_uj: int = 0


def _read_int(path: Path) -> int:
    return read_sysfs_int(path, permission_hint=PERMISSION_HINT)


def find_rapl_zones(sysfs_root: Path = Path("/sys")) -> list[RaplZone]:
    """Package and DRAM zones under ``<sysfs_root>/class/powercap``, sorted by path.

    Raises
    ------
    SensorUnavailableError
        No powercap directory, no RAPL zone, no package/DRAM domain, or no permission.
    """
    base = Path(sysfs_root) / "class" / "powercap"
    if not base.is_dir():
        raise SensorUnavailableError(
            f"{base} does not exist (no powercap driver: not Linux, or a VM/container that "
            "does not expose RAPL)"
        )
    dirs = sorted(p for p in base.iterdir() if _ZONE_RE.match(p.name))
    if not dirs:
        raise SensorUnavailableError(f"no intel-rapl:* zone under {base} (RAPL not exposed)")
    zones: list[RaplZone] = []
    seen: list[str] = []
    for d in dirs:
        try:
            name = (d / "name").read_text().strip()
        except OSError as exc:
            raise SensorError(f"cannot read {d / 'name'}: {exc.strerror}") from exc
        seen.append(name)
        if not name.startswith(COVERED_PREFIXES):
            continue
        if not (d / "energy_uj").exists():
            raise SensorUnavailableError(f"{d} has no energy_uj file")
        max_range = _read_int(d / "max_energy_range_uj")
        if max_range <= 0:
            raise SensorError(f"{d / 'max_energy_range_uj'} is {max_range}, expected > 0")
        zones.append(RaplZone(d, name, max_range))
    if not zones:
        raise SensorUnavailableError(
            f"RAPL zones under {base} have no package or DRAM domain (found: {', '.join(seen)})"
        )
    return zones


class RaplSource:
    """Cumulative package + DRAM energy from RAPL counters.

    Parameters
    ----------
    sysfs_root : Path
        Root of sysfs (tests pass a fake tree).
    """

    name = "rapl"
    method = "measured-counter"
    accuracy_class = ACCURACY_CLASSES["measured-counter"]
    label = "measured"
    needs_polling = False

    def __init__(self, *, sysfs_root: Path = Path("/sys")) -> None:
        self.sysfs_root = Path(sysfs_root)
        self.zones = find_rapl_zones(self.sysfs_root)
        for z in self.zones:
            z.last_uj = _read_int(z.path / "energy_uj")
        self._lock = threading.Lock()
        self._closed = False

    def read_energy_j(self) -> float:
        if self._closed:
            raise SensorError("RAPL source is closed")
        with self._lock:
            raw = [_read_int(z.path / "energy_uj") for z in self.zones]
            for z, uj in zip(self.zones, raw, strict=True):
                if not 0 <= uj <= z.max_range_uj:
                    raise SensorError(
                        f"{z.path / 'energy_uj'} = {uj} outside its range 0..{z.max_range_uj}"
                    )
                # the counter counts 0 .. max_range_uj, then wraps to 0
                z.total_uj += wrap_delta(z.last_uj, uj, z.max_range_uj + 1)
                z.last_uj = uj
            return sum(z.total_uj for z in self.zones) / UJ_PER_J

    def wrap_period_s(self, power_w: float) -> float:
        """Seconds until the fastest-wrapping covered counter wraps at ``power_w`` [W]."""
        return min(z.max_range_uj for z in self.zones) / UJ_PER_J / power_w

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "accuracy_class": self.accuracy_class,
            "label": self.label,
            "devices": [
                {"zone": z.path.name, "domain": z.name, "max_energy_range_uj": z.max_range_uj}
                for z in self.zones
            ],
            "model": "none (hardware energy counters)",
            "source": f"Linux powercap RAPL ({self.sysfs_root / 'class/powercap'})",
            "caveats": [
                "package + DRAM of the whole machine: every process on it",
                "RAPL package energy is the CPU's own estimate/measurement; PSU losses, fans, "
                "disks and NICs are not included",
                "reads must come more often than the counter wraps (at most one wrap between "
                "reads is assumed)",
            ],
        }

    def close(self) -> None:
        self._closed = True
