"""CPU utilisation model: CPU time x a SPECpower load-to-power curve, plus memory.

For machines without energy counters.  The curve (:func:`infercarbon.reference.cpus.
cpu_power_curve`) gives, per hardware thread, the wall power at active idle and at 100 %
load, linear in between, and memory power per installed GB at idle and full load, all derived
from measured SPECpower_ssj2008 results (not CodeCarbon's guessed curve or per-DIMM watts).
For a machine with ``n`` logical CPUs and ``M`` GB of memory::

    P_idle          = n x idle_w_per_thread + M x mem_idle_w_per_gb          [W]
    k_dynamic       = dynamic_w_per_thread + M x mem_dynamic_w_per_gb / n    [W per busy CPU]
    P(u)            = P_idle + n x u x k_dynamic          (u: fraction of CPUs busy)

Integrated exactly over any interval (the model is linear in CPU time, so no sampling is
needed and readings can be taken at event boundaries)::

    scope "system":  E = P_idle x elapsed_s + k_dynamic x busy_cpu_s(all processes)
    scope "process": E = k_dynamic x cpu_s(the process, its threads and children)

The process scope is the energy the process's CPU time *adds*; the machine's idle power is
not caused by it and is reported separately (:attr:`CpuModelSource.idle_power_w`).  Uncertainty:
the figures carry p5..p95 ranges over the matched SPECpower results; add the linear-curve
error (mid loads under-read by up to ~10-20 % of the idle-to-full span) and the fact that a
VM's vCPUs are a slice of a host whose power depends on its other tenants.
"""

from __future__ import annotations

import os
import platform
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psutil

from infercarbon.errors import FallbackWarning, InputError, SensorError
from infercarbon.provenance import Figure
from infercarbon.reference.cpus import CpuPowerCurve, cpu_power_curve
from infercarbon.telemetry.base import ACCURACY_CLASSES, default_clock
from infercarbon.timeutil import MonotonicClockNs
from infercarbon.units import NS_PER_S

__all__ = [
    "CpuInfo",
    "CpuModelSource",
    "detect_cpu",
    "process_tree_cpu_seconds",
    "system_busy_cpu_seconds",
]

Scope = Literal["system", "process"]
#: psutil.cpu_times() fields that are not work done by the OS for processes.
_NOT_BUSY = frozenset({"idle", "iowait", "steal", "guest", "guest_nice"})
#: Memory sizes are in GiB (2^30 bytes), the unit DIMMs and SPECpower's "GB" use.
_BYTES_PER_MEMORY_GB = 1 << 30


@dataclass(frozen=True, slots=True)
class CpuInfo:
    """What the model needs to know about this machine."""

    model_name: str
    logical_cpus: int
    memory_gb: float
    threads_per_package: int | None = None
    virtualised: bool = False


def detect_cpu(*, proc_root: Path = Path("/proc")) -> CpuInfo:
    """CPU model, logical CPUs, memory, threads per package and hypervisor flag of this machine.

    Reads ``<proc_root>/cpuinfo`` on Linux ("model name", "siblings", the ``hypervisor``
    flag), else :func:`platform.processor`; CPU count and memory from psutil.
    """
    model, siblings, virtualised = "", None, False
    try:
        text = (Path(proc_root) / "cpuinfo").read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "model name" and not model:
            model = value
        elif key == "siblings" and siblings is None and value.isdigit():
            siblings = int(value)
        elif key == "flags" and "hypervisor" in value.split():
            virtualised = True
    if not model:
        model = platform.processor() or platform.machine()
    logical = psutil.cpu_count(logical=True) or os.cpu_count()
    if not logical:
        raise SensorError("cannot determine the number of logical CPUs")
    return CpuInfo(
        model,
        int(logical),
        psutil.virtual_memory().total / _BYTES_PER_MEMORY_GB,
        siblings,
        virtualised,
    )


def system_busy_cpu_seconds() -> float:
    """CPU seconds all processes used since boot, summed over logical CPUs (psutil)."""
    t = psutil.cpu_times()
    return float(sum(v for k, v in t._asdict().items() if k not in _NOT_BUSY))


def process_tree_cpu_seconds(pid: int, *, include_self: bool = True) -> Callable[[], float]:
    """A reader of the CPU seconds of ``pid``, its reaped children and its live descendants.

    ``include_self=False`` leaves out ``pid``'s own CPU time (a launcher metering its child).

    ``children_user``/``children_system`` count children once they are reaped; live
    descendants are added from their own counters.  A descendant that has exited but is not
    yet reaped is briefly counted in neither, so the caller keeps the maximum (the source does).
    """
    try:
        proc = psutil.Process(pid)
    except psutil.Error as exc:
        raise SensorError(f"cannot open process {pid}: {exc}") from exc

    def read() -> float:
        try:
            t = proc.cpu_times()
            total = t.children_user + t.children_system
            if include_self:
                total += t.user + t.system
            kids = proc.children(recursive=True)
        except psutil.Error as exc:
            raise SensorError(f"cannot read CPU times of process {pid}: {exc}") from exc
        for child in kids:
            try:
                ct = child.cpu_times()
            except psutil.NoSuchProcess:
                continue  # exited meanwhile: counted once reaped (the source keeps the max)
            except psutil.Error as exc:
                raise SensorError(f"cannot read CPU times of child {child.pid}: {exc}") from exc
            total += ct.user + ct.system
        return float(total)

    return read


def _sum(a: Figure, b: Figure, note: str) -> Figure:
    lo = a.range[0] + b.range[0]
    hi = a.range[1] + b.range[1]
    return Figure(
        a.value + b.value,
        "w",
        source=a.source,
        label="modelled",
        vintage=a.vintage,
        licence=a.licence,
        low=lo,
        high=hi,
        note=note,
    )


class CpuModelSource:
    """Modelled energy of this machine's CPUs and memory (or of one process tree).

    Parameters
    ----------
    curve : CpuPowerCurve
        From :func:`infercarbon.reference.cpus.cpu_power_curve`.
    cpu : CpuInfo
        The machine (:func:`detect_cpu`).
    cpu_seconds : callable returning float
        Cumulative busy CPU seconds of what is covered (system or process tree).
    scope : {"system", "process"}
        See the module docstring.
    clock : callable returning int [ns]
        For the idle term of the system scope.
    """

    name = "cpu-model"
    method = "modelled"
    accuracy_class = ACCURACY_CLASSES["modelled"]
    label = "modelled"
    needs_polling = False

    def __init__(
        self,
        curve: CpuPowerCurve,
        cpu: CpuInfo,
        *,
        cpu_seconds: Callable[[], float],
        scope: Scope = "system",
        clock: MonotonicClockNs = default_clock,
        covers: str = "",
    ) -> None:
        if scope not in ("system", "process"):
            raise InputError(f"must be 'system' or 'process', got {scope!r}", field="scope")
        if cpu.logical_cpus < 1:
            raise InputError(f"must be >= 1, got {cpu.logical_cpus}", field="logical_cpus")
        if cpu.memory_gb < 0:
            raise InputError(f"must be >= 0, got {cpu.memory_gb}", field="memory_gb")
        self.curve, self.cpu, self.scope, self.clock = curve, cpu, scope, clock
        self.covers = covers or ("all processes" if scope == "system" else "a process tree")
        n, m = cpu.logical_cpus, cpu.memory_gb
        self.idle_power_w = _sum(
            curve.idle_w_per_thread.scaled(n),
            curve.mem_idle_w_per_gb.scaled(m, "w"),
            f"machine active-idle power: {n} logical CPUs x idle W/thread + {m:.1f} GB x idle "
            f"W/GB ({curve.matched})",
        )
        self.dynamic_w_per_cpu = _sum(
            curve.dynamic_w_per_thread,
            curve.mem_dynamic_w_per_gb.scaled(m / n, "w"),
            "power added per fully busy logical CPU: (full - idle) W/thread + memory "
            f"(full - idle) W/GB x {m:.1f} GB / {n} CPUs ({curve.matched})",
        )
        self._cpu_seconds = cpu_seconds
        self._lock = threading.Lock()
        self._origin_ns = int(clock())
        self._origin_cpu_s = float(cpu_seconds())
        self._last_cpu_s = self._origin_cpu_s
        self._closed = False
        if curve.match == "cohort":
            warnings.warn(
                f"CPU {cpu.model_name!r} matches no SPECpower model or family; the CPU model "
                f"uses the generic {curve.matched} (wider range)",
                FallbackWarning,
                stacklevel=2,
            )

    @classmethod
    def for_this_machine(
        cls,
        *,
        scope: Scope = "system",
        pid: int | None = None,
        include_self: bool = True,
        cpu: CpuInfo | None = None,
        clock: MonotonicClockNs = default_clock,
    ) -> CpuModelSource:
        """The model for the running machine: psutil CPU time, curve matched to its CPU.

        ``scope="process"`` covers ``pid`` (default: this process) with its threads and
        children (``include_self=False``: only its children and their descendants).
        """
        info = detect_cpu() if cpu is None else cpu
        curve = cpu_power_curve(
            info.model_name,
            virtualised=info.virtualised,
            threads_per_package=info.threads_per_package,
        )
        if scope == "process":
            target = os.getpid() if pid is None else pid
            covers = (
                f"process {target} and its children"
                if include_self
                else (f"the children of process {target} and their descendants")
            )
            return cls(
                curve,
                info,
                cpu_seconds=process_tree_cpu_seconds(target, include_self=include_self),
                scope="process",
                clock=clock,
                covers=covers,
            )
        return cls(curve, info, cpu_seconds=system_busy_cpu_seconds, scope="system", clock=clock)

    def busy_cpu_s(self) -> float:
        """Busy CPU seconds covered since the source was created (monotonic)."""
        if self._closed:
            raise SensorError("cpu-model source is closed")
        with self._lock:
            now = float(self._cpu_seconds())
            self._last_cpu_s = max(self._last_cpu_s, now)
            return self._last_cpu_s - self._origin_cpu_s

    def read_energy_j(self) -> float:
        busy_s = self.busy_cpu_s()
        energy_j = self.dynamic_w_per_cpu.value * busy_s
        if self.scope == "system":
            energy_j += self.idle_power_w.value * (int(self.clock()) - self._origin_ns) / NS_PER_S
        return energy_j

    def energy_range_j(self, busy_cpu_s: float, elapsed_s: float) -> tuple[float, float, float]:
        """(value, low, high) energy [J] for a busy CPU time and elapsed time, in this scope.

        The low/high use the p5/p95 ends of the coefficient ranges together (a conservative
        envelope, not a joint p5..p95).
        """
        out = []
        for i in range(3):
            dyn = (self.dynamic_w_per_cpu.value, *self.dynamic_w_per_cpu.range)[i]
            idle = (self.idle_power_w.value, *self.idle_power_w.range)[i]
            e = dyn * busy_cpu_s + (idle * elapsed_s if self.scope == "system" else 0.0)
            out.append(e)
        return out[0], out[1], out[2]

    def describe(self) -> dict[str, Any]:
        c = self.curve
        return {
            "name": self.name,
            "method": self.method,
            "accuracy_class": self.accuracy_class,
            "label": self.label,
            "scope": self.scope,
            "devices": [
                {
                    "cpu": self.cpu.model_name,
                    "logical_cpus": self.cpu.logical_cpus,
                    "memory_gb": round(self.cpu.memory_gb, 3),
                    "virtualised": self.cpu.virtualised,
                    "covers": self.covers,
                }
            ],
            "match": c.match,
            "matched": c.matched,
            "n_results": c.n_results,
            "model": (
                "E = P_idle x elapsed + k_dynamic x busy CPU-s (system scope); "
                "E = k_dynamic x process CPU-s (process scope); linear load-to-power curve "
                "between SPECpower active-idle and 100 % results, plus memory W/GB"
            ),
            "source": c.idle_w_per_thread.source,
            "idle_power_w": self.idle_power_w.to_dict(),
            "dynamic_w_per_busy_cpu": self.dynamic_w_per_cpu.to_dict(),
            "coefficients": {
                "idle_w_per_thread": c.idle_w_per_thread.to_dict(),
                "full_w_per_thread": c.full_w_per_thread.to_dict(),
                "dynamic_w_per_thread": c.dynamic_w_per_thread.to_dict(),
                "mem_idle_w_per_gb": c.mem_idle_w_per_gb.to_dict(),
                "mem_dynamic_w_per_gb": c.mem_dynamic_w_per_gb.to_dict(),
            },
            "caveats": [
                "modelled, not measured: ranges are p5..p95 over the matched SPECpower results",
                "SPECpower gives only active idle and 100 %: linear in between (real curves are "
                "slightly concave, so mid loads may read low by up to ~10-20 % of the span)",
                "wall power of a whole SPECpower server per thread (PSU, fans, board included)",
                *(
                    ["virtual machine: vCPUs are a slice of a host shared with other tenants"]
                    if self.cpu.virtualised
                    else []
                ),
                *(
                    ["process scope: the machine's idle power is excluded (see idle_power_w)"]
                    if self.scope == "process"
                    else []
                ),
            ],
        }

    def close(self) -> None:
        self._closed = True
