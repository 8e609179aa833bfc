"""Pick the best available energy source and say why each other one was not used.

Order for ``"auto"``: ``nvml`` > ``rapl`` > ``amd-hwmon`` > ``cpu-model``.  ``"auto-cpu"``
takes the same order without ``nvml``, for work that runs on the CPU (a GPU's board energy
says nothing about it, and an idle GPU would be billed to it).  ``constant`` (a
seed tier's power profile, illustrative) is used only when asked for, with a tier id.
``replay`` is built directly (:class:`infercarbon.telemetry.replay.ReplaySource`).
``prometheus`` (GPU energy that Prometheus scrapes from NVIDIA's DCGM exporter or Kepler,
:class:`infercarbon.telemetry.prometheus.PrometheusSource`) is used only when asked for, with
an injected ``prometheus_client`` (its ``base_url`` the Prometheus server), the metric, a
label selector and the scrape interval; it is probed once (a selector that matches no series
is refused, saying so).

Every probe's outcome is returned as an :class:`Availability`; a source that is present but
ranks lower is reported as available and not chosen.  Asking for a specific source that is
not available raises :class:`SensorUnavailableError` with the reason; nothing silently falls
back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from infercarbon.errors import InputError, SensorError, SensorUnavailableError
from infercarbon.telemetry.amd import AmdHwmonSource
from infercarbon.telemetry.base import Availability, EnergySource, default_clock
from infercarbon.telemetry.constant import ConstantSource
from infercarbon.telemetry.cpu_model import CpuInfo, CpuModelSource, Scope
from infercarbon.telemetry.nvml import NvmlSource
from infercarbon.telemetry.rapl import RaplSource
from infercarbon.timeutil import MonotonicClockNs

if TYPE_CHECKING:
    import httpx

__all__ = ["AUTO_ORDER", "CPU_AUTO_ORDER", "SOURCE_NAMES", "detect"]

#: Auto-detection order, best first.
AUTO_ORDER: tuple[str, ...] = ("nvml", "rapl", "amd-hwmon", "cpu-model")
#: ``"auto-cpu"``: the CPU-side sources, best first.
CPU_AUTO_ORDER: tuple[str, ...] = ("rapl", "amd-hwmon", "cpu-model")
SOURCE_NAMES: tuple[str, ...] = (*AUTO_ORDER, "constant", "prometheus")


def detect(
    preference: str = "auto",
    *,
    sysfs_root: Path = Path("/sys"),
    nvml_module: ModuleType | Any | None = None,
    clock: MonotonicClockNs = default_clock,
    tier: str | None = None,
    cpu: CpuInfo | None = None,
    cpu_scope: Scope = "system",
    pid: int | None = None,
    include_self: bool = True,
    prometheus_client: httpx.Client | None = None,
    prometheus_metric: str = "dcgm-energy",
    prometheus_selector: str = "",
    scrape_interval_s: float = 15.0,
) -> tuple[EnergySource, list[Availability]]:
    """The chosen source and the availability of every source.

    Parameters
    ----------
    preference : str
        ``"auto"``, ``"auto-cpu"`` (no GPU source) or one of :data:`SOURCE_NAMES`.
    sysfs_root : Path
        Root of sysfs for RAPL and hwmon (tests pass a fake tree).
    nvml_module : module, optional
        Injected NVML binding (default ``pynvml`` if installed).
    clock : callable returning int [ns]
    tier : str, optional
        Seed tier id (``T0``..``T6``) for the ``constant`` source.
    cpu : CpuInfo, optional
        Machine description for the CPU model (default: detected).
    cpu_scope, pid, include_self
        CPU model scope (``system`` or ``process``), the process for the latter, and whether
        that process's own CPU time counts (else only its descendants).
    prometheus_client, prometheus_metric, prometheus_selector, scrape_interval_s
        The ``prometheus`` source: an :class:`httpx.Client` whose ``base_url`` is the
        Prometheus server, ``dcgm-energy`` | ``dcgm-power`` | ``kepler``, label matchers,
        and the metric's scrape interval [s] (its resolution).

    Raises
    ------
    SensorUnavailableError
        The preferred source is not available here (the message says why), or none is.
    InputError
        Unknown preference, or ``constant`` without a tier.
    """
    if preference not in ("auto", "auto-cpu") and preference not in SOURCE_NAMES:
        hint = " (build ReplaySource directly)" if preference == "replay" else ""
        raise InputError(
            f"unknown sensor {preference!r}{hint}; choose auto, auto-cpu or one of "
            + ", ".join(SOURCE_NAMES),
            field="sensor",
        )
    factories: dict[str, Callable[[], EnergySource]] = {
        "nvml": lambda: NvmlSource(nvml_module=nvml_module, clock=clock),
        "rapl": lambda: RaplSource(sysfs_root=sysfs_root),
        "amd-hwmon": lambda: AmdHwmonSource(sysfs_root=sysfs_root),
        "cpu-model": lambda: CpuModelSource.for_this_machine(
            scope=cpu_scope, pid=pid, include_self=include_self, cpu=cpu, clock=clock
        ),
    }
    wanted = {"auto": AUTO_ORDER, "auto-cpu": CPU_AUTO_ORDER}.get(preference, (preference,))
    chosen: EnergySource | None = None
    report: list[Availability] = []
    for name in AUTO_ORDER:
        if name == "cpu-model" and (chosen is not None or name not in wanted):
            # always present (psutil CPU time); not built unless it is to be used
            why = "ranks lower" if chosen is not None else f"not requested (sensor {preference})"
            report.append(Availability(name, True, f"available (psutil CPU time); {why}"))
            continue
        try:
            src = factories[name]()
        except SensorUnavailableError as exc:
            report.append(Availability(name, False, str(exc)))
            continue
        except SensorError as exc:
            report.append(Availability(name, False, f"present but unreadable: {exc}"))
            continue
        if chosen is None and name in wanted:
            chosen = src
            report.append(Availability(name, True, f"chosen: {src.accuracy_class}"))
        else:
            why = "ranks lower" if chosen is not None else f"not requested (sensor {preference})"
            report.append(Availability(name, True, f"available; {why}"))
            src.close()
    if preference == "prometheus":
        if prometheus_client is None:
            raise InputError(
                "the prometheus source needs an httpx.Client whose base_url is the "
                "Prometheus server",
                field="prometheus_client",
            )
        from infercarbon.telemetry.prometheus import PrometheusSource  # httpx: only here

        prom = PrometheusSource(
            prometheus_client,
            metric=prometheus_metric,
            selector=prometheus_selector,
            scrape_interval_s=scrape_interval_s,
        )
        prom.read_energy_j()  # probe: SensorUnavailableError when nothing matches
        chosen = prom
        report.append(
            Availability(
                "prometheus",
                True,
                f"chosen: {prom.query} on "
                f"{prometheus_client.base_url}, one reading per "
                f"{scrape_interval_s:g} s scrape",
            )
        )
    else:
        report.append(
            Availability(
                "prometheus",
                False,
                "used only when asked for (sensor 'prometheus' with a "
                "Prometheus client, metric and selector)",
            )
        )
    if preference == "constant":
        if tier is None:
            raise InputError("the constant source needs a seed tier id (T0..T6)", field="tier")
        chosen = ConstantSource.from_tier(tier, clock=clock)
        report.append(Availability("constant", True, f"chosen: tier {chosen.device}"))
    else:
        report.append(
            Availability(
                "constant", False, "used only when asked for (sensor 'constant' with a tier id)"
            )
        )
    if chosen is None:
        reasons = "; ".join(f"{a.name}: {a.reason}" for a in report if a.name in wanted)
        raise SensorUnavailableError(f"sensor {preference!r} is not available: {reasons}")
    return chosen, report
