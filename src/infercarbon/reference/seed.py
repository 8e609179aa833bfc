"""The seed document's cohort: hardware tiers, workloads, PUE, embodied and network presets.

Source: seeds/000 "Carbon Footprint of Industrial AI Inference: 2026 Living Benchmark"
(last updated 2026-06-03).  Every figure here is that document's ILLUSTRATIVE figure and is
labelled ``illustrative``; none is a measurement.  The benchmark (``infercarbon benchmark``)
recomputes everything from these inputs and lists where the seed's own derived figures disagree
with first principles.

Ranges.  Where the seed gives a range (tier active power "7-15 W") it is used as the figure's
low/high.  Where it gives a single illustrative point with no range, we apply one documented
policy, :data:`ILLUSTRATIVE_BAND_FACTOR`: the uncertain quantity is taken as log-normal with the
point as median and p5/p95 at x/2 and 2x (for PUE the band applies to the overhead PUE-1).  This
is an assumption, stated in every result that uses it, not a published range.

>>> get_tier("T1").active_power_w.range
(7.0, 15.0)
>>> get_workload("WL-02").rate_per_s
5.0
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from functools import cache

from infercarbon.errors import UnknownHardwareError, UnknownWorkloadError
from infercarbon.provenance import Figure
from infercarbon.units import S_PER_YEAR

__all__ = [
    "CLOUD_UTILISATION_FRAC",
    "ILLUSTRATIVE_BAND_FACTOR",
    "LIFETIME_S",
    "NETWORK_KWH_PER_GB",
    "PUE_PRESETS",
    "SEED_ENERGY_J",
    "SEED_REGIONS",
    "SEED_SOURCE",
    "SeedRegion",
    "Tier",
    "Workload",
    "embodied_preset",
    "get_tier",
    "get_workload",
    "illustrative_band",
    "seed_energy_j",
    "tiers",
    "workloads",
]

SEED_SOURCE = "seed 000: Industrial AI Inference 2026 Living Benchmark (2026-06-03)"
_V = "2026"
#: p5 = x / factor, p95 = x * factor for illustrative points without a published range.
ILLUSTRATIVE_BAND_FACTOR = 2.0


def illustrative_band(value: float) -> tuple[float, float]:
    """The documented band for an illustrative point without a published range."""
    return value / ILLUSTRATIVE_BAND_FACTOR, value * ILLUSTRATIVE_BAND_FACTOR


def _ill(
    value: float,
    unit: str,
    what: str,
    *,
    rng: tuple[float, float] | None = None,
    source: str = SEED_SOURCE,
) -> Figure:
    if rng is None:
        lo, hi = illustrative_band(value)
        note = (
            f"{what}; range assumed: illustrative point, x/{ILLUSTRATIVE_BAND_FACTOR:g} .. "
            f"x{ILLUSTRATIVE_BAND_FACTOR:g} (no published range)"
        )
    else:
        lo, hi = rng
        note = f"{what}; range as given by the seed"
    return Figure(
        value,
        unit,
        source=source,
        label="illustrative",
        vintage=_V,
        low=lo,
        high=hi,
        note=note,
        dist="lognormal" if rng is None else "uniform",
    )


# ----------------------------------------------------------------------------- PUE
def _pue(value: float, what: str) -> Figure:
    over = value - 1.0
    return Figure(
        value,
        "ratio",
        source=SEED_SOURCE,
        label="illustrative",
        vintage=_V,
        low=1.0 + over / ILLUSTRATIVE_BAND_FACTOR,
        high=1.0 + over * ILLUSTRATIVE_BAND_FACTOR,
        note=f"PUE preset: {what}; range assumed: overhead (PUE-1) x/2..x2 (no published range)",
        dist="lognormal",
    )


#: The seed's four PUE presets.
PUE_PRESETS: dict[str, Figure] = {
    "hyperscaler": _pue(1.15, "best-in-class hyperscaler region"),
    "colocation": _pue(1.25, "typical Tier III commercial colocation"),
    "enterprise": _pue(1.4, "legacy enterprise data centre"),
    "edge": _pue(1.05, "on-prem edge gateway riding existing factory HVAC"),
}

# ------------------------------------------------------------------------- network
#: Network energy per GB transferred (seed, quoting the IEA 2024 Networks tracker, "roughly").
NETWORK_KWH_PER_GB: dict[str, Figure] = {
    "fixed": _ill(0.06, "kwh_per_gb", "fixed-network energy per GB"),
    "mobile": _ill(0.1, "kwh_per_gb", "mobile-network energy per GB"),
}


# ------------------------------------------------------------------------- embodied
def embodied_preset(kind: str) -> Figure:
    """Embodied kgCO2e per device: ``high-end-gpu`` (1,500 kg) or ``jetson`` (60 kg)."""
    presets = {
        "high-end-gpu": _ill(
            1500.0,
            "kg",
            "embodied per high-end GPU (seed: consistent with public Dell/Lenovo/HPE LCAs)",
        ),
        "jetson": _ill(60.0, "kg", "embodied per Jetson-class edge device"),
    }
    try:
        return presets[kind]
    except KeyError:
        raise UnknownHardwareError(kind, known=sorted(presets)) from None


#: Utilisation of a shared cloud accelerator.  A tenant's own duty cycle does not set the
#: utilisation of a multi-tenant cloud GPU; this stated assumption (uniform 0.3..0.7) is used for
#: the cloud tiers unless the user gives --utilisation.
CLOUD_UTILISATION_FRAC = Figure(
    0.5,
    "frac",
    source="infercarbon assumption for shared cloud accelerators",
    label="illustrative",
    vintage=_V,
    low=0.3,
    high=0.7,
    dist="uniform",
    note="assumed: shared cloud accelerator, utilisation not set by one tenant's duty cycle",
)

#: Device useful life (seed: five years), amortisation period for embodied carbon.
LIFETIME_S = Figure(
    5 * S_PER_YEAR,
    "s",
    source=SEED_SOURCE,
    label="illustrative",
    vintage=_V,
    note="five-year useful life (365-day years)",
)


# ----------------------------------------------------------------------------- tiers
@dataclass(frozen=True, slots=True)
class Tier:
    """A hardware tier of the seed's ladder."""

    tier_id: str
    device: str
    active_power_w: Figure
    idle_power_w: Figure
    where: str
    cost_basis: str
    pue_preset: str
    #: "owned" (edge/on-prem: Scope 2) or "cloud" (purchased compute: Scope 3 cat. 1)
    operating_model: str
    #: embodied preset name, or None when no embodied figure is published for this class
    embodied_preset: str | None
    #: accelerators per device unit that the embodied preset applies to
    embodied_units: int = 1
    #: (provider, instance type) whose Cloud Carbon Footprint embodied figure stands in for
    #: this tier's device, used instead of a preset
    embodied_instance: tuple[str, str] | None = None

    @property
    def pue(self) -> Figure:
        return PUE_PRESETS[self.pue_preset]

    @property
    def embodied_kg(self) -> Figure | None:
        """The device's embodied carbon, or None when none is published for its class."""
        if self.embodied_instance is not None:
            from infercarbon.reference.cloud import instance_embodied_kg

            fig = instance_embodied_kg(*self.embodied_instance)
            return replace(
                fig,
                note=f"{fig.note}; stands in for the {self.device} (the CCF "
                "snapshot has no instance of this GPU)",
            )
        if self.embodied_preset is None:
            return None
        return embodied_preset(self.embodied_preset).scaled(self.embodied_units)

    @property
    def lifetime_s(self) -> Figure:
        """Amortisation period that goes with :attr:`embodied_kg`."""
        if self.embodied_instance is not None:
            from infercarbon.reference.cloud import EMBODIED_LIFESPAN_S

            return EMBODIED_LIFESPAN_S
        return LIFETIME_S


def _tier(
    tid: str,
    device: str,
    active: tuple[float, float] | float,
    idle: float,
    where: str,
    cost: str,
    pue: str,
    model: str,
    emb: str | None,
) -> Tier:
    if isinstance(active, tuple):
        lo, hi = active
        act = _ill(
            (lo + hi) / 2, "w", f"{tid} active power (mid of the seed's range)", rng=(lo, hi)
        )
    else:
        act = _ill(active, "w", f"{tid} active power")
    return Tier(
        tid, device, act, _ill(idle, "w", f"{tid} idle power"), where, cost, pue, model, emb
    )


_TIERS: tuple[Tier, ...] = (
    _tier(
        "T0", "ESP32-S3 + TinyML", 0.4, 0.05, "On the machine", "$5 module", "edge", "owned", None
    ),
    _tier(
        "T1",
        "Jetson Orin Nano 8 GB",
        (7, 15),
        5,
        "Edge gateway, cell",
        "$500 unit",
        "edge",
        "owned",
        "jetson",
    ),
    _tier(
        "T2",
        "Jetson Orin NX 16 GB",
        (10, 25),
        7,
        "Edge gateway, line",
        "$900 unit",
        "edge",
        "owned",
        "jetson",
    ),
    _tier(
        "T3",
        "Jetson AGX Orin 64 GB",
        (15, 60),
        12,
        "On-prem edge server",
        "$2,000 unit",
        "edge",
        "owned",
        "jetson",
    ),
    replace(
        _tier(
            "T4",
            "NVIDIA L4",
            (40, 72),
            25,
            "Regional cloud, colo",
            "~$2.20/hr cloud",
            "colocation",
            "cloud",
            None,
        ),
        embodied_instance=("aws", "g4dn.xlarge"),
    ),
    _tier(
        "T5",
        "NVIDIA H100 SXM5",
        (350, 700),
        130,
        "Hyperscaler",
        "~$3.50-$7/hr cloud",
        "hyperscaler",
        "cloud",
        "high-end-gpu",
    ),
    _tier(
        "T6",
        "NVIDIA B200",
        (700, 1000),
        180,
        "Frontier hyperscaler",
        "not yet generally available pricing",
        "hyperscaler",
        "cloud",
        "high-end-gpu",
    ),
)


def tiers() -> tuple[Tier, ...]:
    return _TIERS


@cache
def _tier_index() -> dict[str, Tier]:
    return {t.tier_id: t for t in _TIERS}


def get_tier(tier_id: str) -> Tier:
    """A tier by id (``T0`` .. ``T6``, case-insensitive)."""
    key = tier_id.strip().upper()
    try:
        return _tier_index()[key]
    except KeyError:
        known = [t.tier_id for t in _TIERS]
        raise UnknownHardwareError(
            tier_id, suggestions=difflib.get_close_matches(key, known, n=3), known=known
        ) from None


# ------------------------------------------------------------------------- workloads
@dataclass(frozen=True, slots=True)
class Workload:
    """A workload of the seed's cohort, with its plant duty cycle."""

    workload_id: str
    name: str
    domain: str
    model_class: str
    params: float | None
    typical_input: str
    latency_budget_s: float
    rate_per_s: float
    duty_cycle: str
    #: what one outcome is, and outcomes per inference when the seed gives one
    outcome: str
    outcomes_per_inference: float | None


_WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "WL-01",
        "Vibration anomaly",
        "Predictive maintenance",
        "1D CNN (~300 k params)",
        3e5,
        "1 s accelerometer window",
        0.1,
        1.0,
        "1 inference/sec per asset",
        "flagged anomaly",
        None,
    ),
    Workload(
        "WL-02",
        "Surface defect QC",
        "Quality inspection",
        "YOLO-N / YOLOv11n (~3 M params)",
        3e6,
        "1280x720 image",
        0.08,
        5.0,
        "5 inferences/sec per line",
        "detected defect",
        1 / 1500,
    ),
    Workload(
        "WL-03",
        "OCR + lot tracing",
        "Traceability",
        "ViT-small + CTC head",
        None,
        "640x480 crop",
        0.2,
        2.0,
        "2 inferences/sec per station",
        "traced lot",
        None,
    ),
    Workload(
        "WL-04",
        "Energy forecast",
        "Demand response",
        "Temporal fusion transformer (~5 M params)",
        5e6,
        "168-step series",
        30.0,
        1 / 900,
        "1 inference/15 min per meter",
        "forecast",
        1.0,
    ),
    Workload(
        "WL-05",
        "Twin sim assist",
        "Digital twin",
        "Surrogate FNO (~20 M params)",
        2e7,
        "64x64x64 mesh",
        2.0,
        1 / 60,
        "1 inference/min per twin",
        "twin query",
        1.0,
    ),
    Workload(
        "WL-06",
        "LLM tool-calling",
        "Agentic ops",
        "7B-class instruct model",
        7e9,
        "4 k token prompt",
        3.0,
        1 / 60,
        "1 inference/min per technician",
        "drafted work order",
        1.0,
    ),
)


def workloads() -> tuple[Workload, ...]:
    return _WORKLOADS


def get_workload(workload_id: str) -> Workload:
    """A workload by id (``WL-01`` .. ``WL-06``; ``wl2``/``WL02`` accepted)."""
    raw = workload_id.strip().upper().replace("_", "-")
    digits = "".join(ch for ch in raw if ch.isdigit())
    key = f"WL-{int(digits):02d}" if raw.startswith("WL") and digits else raw
    for w in _WORKLOADS:
        if w.workload_id == key:
            return w
    known = [w.workload_id for w in _WORKLOADS]
    raise UnknownWorkloadError(
        workload_id, suggestions=difflib.get_close_matches(key, known, n=3), known=known
    )


#: The seed's illustrative energy per inference for each benchmarked workload x tier pair [J].
SEED_ENERGY_J: dict[tuple[str, str], float] = {
    ("WL-01", "T0"): 0.06,
    ("WL-01", "T1"): 0.5,
    ("WL-02", "T1"): 1.8,
    ("WL-02", "T2"): 1.4,
    ("WL-02", "T4"): 3.5,
    ("WL-03", "T2"): 4.0,
    ("WL-04", "T4"): 12.0,
    ("WL-05", "T5"): 90.0,
    ("WL-06", "T5"): 320.0,
    ("WL-06", "T6"): 280.0,
}


def seed_energy_j(workload_id: str, tier_id: str) -> Figure:
    """The seed's illustrative energy per inference for a benchmarked pair."""
    w, t = get_workload(workload_id).workload_id, get_tier(tier_id).tier_id
    try:
        value = SEED_ENERGY_J[(w, t)]
    except KeyError:
        pairs = ", ".join(f"{a}/{b}" for a, b in SEED_ENERGY_J)
        raise UnknownWorkloadError(
            f"{w} on {t}",
            known=[pairs + " (or give the energy explicitly with --energy-j)"],
        ) from None
    return _ill(value, "j", f"energy per inference, {w} on {t}")


# --------------------------------------------------------------------------- regions
@dataclass(frozen=True, slots=True)
class SeedRegion:
    """A row of the seed's regional grid table and the bundled region it maps to."""

    name: str
    illustrative_g_per_kwh: float
    notes: str
    region_query: str


SEED_REGIONS: tuple[SeedRegion, ...] = (
    SeedRegion("Norway", 25, "Hydro-dominant", "NOR"),
    SeedRegion("Sweden", 40, "Hydro + nuclear", "SWE"),
    SeedRegion("France", 55, "Nuclear backbone", "FRA"),
    SeedRegion("Brazil (south)", 110, "Hydro", "em:BR-S"),
    SeedRegion("UK average", 170, "Wind expansion, residual gas", "GBR"),
    SeedRegion("Spain", 180, "Solar + wind", "ESP"),
    SeedRegion("Germany", 340, "Gas + residual lignite", "DEU"),
    SeedRegion("US national average", 370, "Wide regional spread", "USA"),
    SeedRegion("Japan", 430, "LNG + restarting nuclear", "JPN"),
    SeedRegion("China average", 530, "Coal-leaning, accelerating renewables build", "CHN"),
    SeedRegion("India average", 640, "Coal-dominant, fast solar growth", "IND"),
    SeedRegion("Poland", 660, "Coal", "POL"),
    SeedRegion("South Africa", 870, "Coal-heavy Eskom mix", "ZAF"),
)
