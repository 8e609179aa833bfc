"""AMD CPUs through hwmon energy counters (the ``amd_energy`` driver).

The driver registers ``/sys/class/hwmon/hwmonN`` with ``name`` = ``amd_energy`` and files
``energyK_input`` (cumulative microjoules) with labels ``energyK_label`` = ``EsocketS``
(one per socket) or ``EcoreCCC`` (one per core).  The driver itself accumulates the 32-bit
hardware counters into 64-bit values, so no wraparound handling is needed here; a counter
that goes backwards (driver reloaded) raises :class:`SensorError`.  The source covers the
socket counters (cores are parts of the sockets; they are used only when no socket counter
exists).  The out-of-tree ``amd_energy`` driver is not in mainline Linux since 5.13; recent
kernels expose AMD RAPL through powercap instead (see :mod:`infercarbon.telemetry.rapl`).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infercarbon.errors import SensorError, SensorUnavailableError
from infercarbon.telemetry.base import ACCURACY_CLASSES, read_sysfs_int
from infercarbon.units import UJ_PER_J

__all__ = ["AmdHwmonSource", "find_amd_energy_counters"]

_INPUT_RE = re.compile(r"^energy(\d+)_input$")
_PERMISSION_HINT = (
    "the amd_energy counters are root-only on most kernels (same side channel as "
    "CVE-2020-8694); run as root or grant read access with chmod/udev"
)


@dataclass
class _Counter:
    path: Path
    label: str
    origin_uj: int = 0
    last_uj: int = 0


def _read_uj(path: Path) -> int:
    return read_sysfs_int(path, permission_hint=_PERMISSION_HINT)


def find_amd_energy_counters(sysfs_root: Path = Path("/sys")) -> list[tuple[Path, str]]:
    """``(energyK_input path, label)`` of the amd_energy socket (else core) counters."""
    base = Path(sysfs_root) / "class" / "hwmon"
    if not base.is_dir():
        raise SensorUnavailableError(f"{base} does not exist (no hwmon drivers)")
    found: list[tuple[Path, str]] = []
    for d in sorted(base.iterdir()):
        try:
            name = (d / "name").read_text().strip()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise SensorError(f"cannot read {d / 'name'}: {exc.strerror}") from exc
        if name != "amd_energy":
            continue
        for f in sorted(d.iterdir()):
            m = _INPUT_RE.match(f.name)
            if not m:
                continue
            label_file = d / f"energy{m.group(1)}_label"
            label = label_file.read_text().strip() if label_file.exists() else f.name
            found.append((f, label))
    if not found:
        raise SensorUnavailableError(
            f"no hwmon device named amd_energy under {base} (driver not loaded or not an AMD "
            "Zen CPU)"
        )
    sockets = [c for c in found if c[1].lower().startswith("esocket")]
    return sockets or found


class AmdHwmonSource:
    """Cumulative socket energy from the ``amd_energy`` hwmon driver."""

    name = "amd-hwmon"
    method = "measured-counter"
    accuracy_class = ACCURACY_CLASSES["measured-counter"]
    label = "measured"
    needs_polling = False

    def __init__(self, *, sysfs_root: Path = Path("/sys")) -> None:
        self.sysfs_root = Path(sysfs_root)
        self._counters = []
        for path, label in find_amd_energy_counters(self.sysfs_root):
            uj = _read_uj(path)
            self._counters.append(_Counter(path, label, uj, uj))
        self._lock = threading.Lock()
        self._closed = False

    def read_energy_j(self) -> float:
        if self._closed:
            raise SensorError("amd-hwmon source is closed")
        with self._lock:
            total_uj = 0
            for c in self._counters:
                uj = _read_uj(c.path)
                if uj < c.last_uj:
                    raise SensorError(
                        f"{c.path} went backwards ({c.last_uj} -> {uj} uJ): driver reloaded?"
                    )
                c.last_uj = uj
                total_uj += uj - c.origin_uj
            return total_uj / UJ_PER_J

    def describe(self) -> dict[str, Any]:
        per_core = not any(c.label.lower().startswith("esocket") for c in self._counters)
        return {
            "name": self.name,
            "method": self.method,
            "accuracy_class": self.accuracy_class,
            "label": self.label,
            "devices": [{"counter": str(c.path), "label": c.label} for c in self._counters],
            "model": "none (hardware energy counters)",
            "source": "Linux hwmon amd_energy driver",
            "caveats": [
                "socket energy of the whole machine: every process on it; no DRAM domain",
                *(
                    ["no socket counters: summing per-core counters (uncore not covered)"]
                    if per_core
                    else []
                ),
            ],
        }

    def close(self) -> None:
        self._closed = True
