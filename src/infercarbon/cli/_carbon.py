"""Carbon for modelled energy: the options of ``estimate`` shared by ``estimate llm`` and
``estimate vision``, and the step that hands a modelled energy to the accounting engine.

The estimators give energy per inference with a band; everything after that (PUE, T&D
loss, grid signals by region and time, idle share, embodied, training, network, scopes and
Monte Carlo ranges) is the same engine as ``infercarbon estimate``
(:func:`infercarbon.accounting.build_request` and :func:`~infercarbon.accounting.footprint`):
the request is built from the same :class:`~infercarbon.accounting.EstimateOptions`, then the
energy, device time and idle power inputs are replaced by the estimator's labelled figures.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from infercarbon.accounting import EstimateOptions, Footprint, Input, build_request, footprint
from infercarbon.accounting.uncertainty import Fixed, Triangular
from infercarbon.errors import InputError

__all__ = [
    "CARBON_FLAGS",
    "CarbonOptions",
    "ModelledEnergy",
    "carbon_options",
    "footprint_columns",
    "modelled_footprint",
    "triangular_with_percentiles",
]

_Q = "A number, a range LOW..HIGH, or VALUE[LOW,HIGH]."

Region = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="Region for the carbon figures: ISO code or name, US state (US-TX), zone "
        "(em:DE), cloud region. Without it only energy is printed.",
    ),
]
TimeUtc = Annotated[
    str | None,
    typer.Option(
        "--time-utc",
        help="When the inference ran (UTC, ISO 8601). Regions with a bundled hourly "
        "series (ERCOT) then get that hour's average and marginal intensity.",
    ),
]
TdLoss = Annotated[
    str | None,
    typer.Option("--td-loss-frac", help=f"Transmission & distribution loss fraction. {_Q}"),
]
IdlePolicy = Annotated[str, typer.Option("--idle-policy", help="tenancy | 30-70 | none.")]
TenancyShare = Annotated[
    float | None,
    typer.Option(
        "--tenancy-share", help="This workload's share of the device's idle energy (0..1]."
    ),
]
IdlePowerW = Annotated[
    str | None,
    typer.Option(
        "--idle-power-w",
        help="Idle power of the devices serving one replica [W] (default: "
        "the GPUs' spec or the calibration's static power).",
    ),
]
Utilisation = Annotated[
    str | None,
    typer.Option("--utilisation", help="Deployment duty cycle (0..1]; includes the idle share."),
]
RatePerS = Annotated[
    float | None,
    typer.Option("--rate-per-s", help="Inferences per second (duty cycle) for per-period totals."),
]
PayloadBytes = Annotated[float | None, typer.Option("--payload-bytes")]
Network = Annotated[str, typer.Option("--network", help="fixed | mobile network coefficient.")]
OutcomeRate = Annotated[
    str | None, typer.Option("--outcome-rate", help="Outcomes per inference, e.g. 1/1500.")
]
OutcomeName = Annotated[str | None, typer.Option("--outcome-name")]
TrainingT = Annotated[
    str | None, typer.Option("--training-t", help="PUBLISHED training footprint [t CO2e].")
]
LifetimeInferences = Annotated[
    float | None,
    typer.Option("--lifetime-inferences", help="Inferences served over the model's life."),
]
EmbodiedKg = Annotated[
    str | None,
    typer.Option("--embodied-kg", help="Embodied carbon of the devices serving one replica [kg]."),
]
LifetimeYears = Annotated[float | None, typer.Option("--lifetime-years")]
Intensity = Annotated[
    str | None, typer.Option("--intensity-g-per-kwh", help="Override the location-based intensity.")
]
MarketIntensity = Annotated[
    str | None, typer.Option("--market-intensity-g-per-kwh", help="Market-based intensity.")
]
Instruments = Annotated[
    str | None,
    typer.Option(
        "--instruments", help="Instruments file (docs/instruments.md) for the market-based figure."
    ),
]
MarginalIntensity = Annotated[
    str | None,
    typer.Option("--marginal-intensity-g-per-kwh", help="Marginal intensity for the interval."),
]
BasisOpt = Annotated[str, typer.Option("--basis", help="direct | lifecycle, for hourly series.")]
OperatingModel = Annotated[
    str | None, typer.Option("--operating-model", help="owned | cloud | sold (sets the scopes).")
]
Samples = Annotated[int, typer.Option("--samples", help="Monte Carlo samples.")]
Seed = Annotated[int, typer.Option("--seed", help="Monte Carlo seed (reproducible).")]

#: The carbon options (flag name without ``--`` -> EstimateOptions field), also the CSV
#: columns of the batch modes.
CARBON_FLAGS: dict[str, str] = {
    "region": "region", "time-utc": "time_utc", "pue": "pue", "td-loss-frac": "td_loss_frac",
    "idle-policy": "idle_policy", "tenancy-share": "tenancy_share_frac",
    "idle-power-w": "idle_power_w", "utilisation": "utilisation_frac",
    "rate-per-s": "rate_per_s", "payload-bytes": "payload_bytes", "network": "network",
    "outcome-rate": "outcome_rate", "outcome-name": "outcome_name",
    "training-t": "training_t", "lifetime-inferences": "lifetime_inferences",
    "embodied-kg": "embodied_kg", "lifetime-years": "lifetime_years",
    "intensity-g-per-kwh": "intensity_g_per_kwh",
    "market-intensity-g-per-kwh": "market_intensity_g_per_kwh",
    "instruments": "instruments",
    "marginal-intensity-g-per-kwh": "marginal_intensity_g_per_kwh",
    "basis": "basis", "operating-model": "operating_model", "samples": "samples",
    "seed": "seed",
}  # fmt: skip
_FLOAT_FIELDS = {
    "tenancy_share_frac",
    "rate_per_s",
    "payload_bytes",
    "lifetime_inferences",
    "lifetime_years",
}
_INT_FIELDS = {"samples", "seed"}


@dataclass(frozen=True)
class CarbonOptions:
    """The carbon side of a request: keyword arguments of EstimateOptions (without energy)."""

    values: dict[str, Any]

    @property
    def region(self) -> str | None:
        r = self.values.get("region")
        return None if r is None or str(r).strip() == "" else str(r)

    def with_row(self, row: dict[str, str]) -> CarbonOptions:
        """These options overridden by the non-empty CSV cells named by flag."""
        out = dict(self.values)
        for flag, fld in CARBON_FLAGS.items():
            raw = row.get(flag)
            if raw is None or raw.strip() == "":
                continue
            if fld in _FLOAT_FIELDS or fld in _INT_FIELDS:
                try:
                    out[fld] = int(raw) if fld in _INT_FIELDS else float(raw)
                except ValueError:
                    raise InputError(f"not a number: {raw!r}", field=flag) from None
            else:
                out[fld] = raw.strip()
        return CarbonOptions(out)


@dataclass(frozen=True)
class ModelledEnergy:
    """What an estimator hands to the accounting engine for one inference.

    ``energy_j`` is IT energy (device + host, before PUE) with its band; ``device_time_s`` the
    wall-clock time the request occupies its devices' share; ``idle_power_w`` the idle power
    of those devices.
    """

    energy_j: float
    energy_low_j: float
    energy_high_j: float
    source: str
    vintage: str | None
    note: str
    device_time_s: float
    idle_power_w: float | None
    idle_power_source: str
    idle_power_label: str
    default_pue: float | None = None
    default_pue_source: str = ""


def triangular_with_percentiles(p5: float, mode: float, p95: float) -> Triangular:
    """A triangular distribution (floored at 0) whose 5th/95th percentiles are ``p5``/``p95``.

    The estimators' bands are p5..p95 of held-out residuals; a triangular with those as its
    ends would report a narrower Monte Carlo range, so the ends are solved for (fixed point).
    """
    if not p5 <= mode <= p95:
        raise InputError(f"band {p5:g}..{p95:g} does not contain {mode:g}", field="energy_j")
    if p95 == p5:
        return Triangular(mode, mode, mode)
    a, b = p5, p95
    for _ in range(200):
        a_new = max(0.0, p5 - math.sqrt(0.05 * (b - a) * max(mode - a, 0.0)))
        b_new = p95 + math.sqrt(0.05 * (b - a) * max(b - mode, 0.0))
        if abs(a_new - a) + abs(b_new - b) < 1e-12 * max(1.0, b):
            break
        a, b = a_new, b_new
    return Triangular(a, mode, b)


def modelled_footprint(energy: ModelledEnergy, carbon: CarbonOptions) -> Footprint:
    """The footprint of one inference whose energy comes from an estimator."""
    vals = dict(carbon.values)
    region = carbon.region
    if region is None:
        raise InputError("a region is needed for carbon figures", field="region")
    vals["region"] = region
    pue_default = vals.get("pue") is None and energy.default_pue is not None
    if pue_default:
        vals["pue"] = energy.default_pue
    opts = EstimateOptions(energy_j=energy.energy_j, latency_s=energy.device_time_s, **vals)
    with warnings.catch_warnings():
        # fallbacks are recorded in the result (warnings list, labels)
        warnings.simplefilter("ignore")
        req = build_request(opts)
        e_dist = (
            triangular_with_percentiles(energy.energy_low_j, energy.energy_j,
                                        energy.energy_high_j)
            if energy.energy_high_j > energy.energy_low_j else Fixed(energy.energy_j)
        )  # fmt: skip
        changes: dict[str, Any] = {
            "energy_j": Input("energy_j", e_dist, "j", energy.source, "modelled", energy.note,
                              energy.vintage),
            "device_time_s": Input("device_time_s", Fixed(energy.device_time_s), "s",
                                   energy.source, "modelled",
                                   "time the request occupies its share of the devices"),
        }  # fmt: skip
        if vals.get("idle_power_w") is None and energy.idle_power_w is not None:
            changes["idle_power_w"] = Input(
                "idle_power_w",
                Fixed(energy.idle_power_w),
                "w",
                energy.idle_power_source,
                energy.idle_power_label,
                "idle power of the devices serving one replica",
            )
        if pue_default:
            changes["pue"] = Input(
                "pue",
                Fixed(float(energy.default_pue or 1.0)),
                "ratio",
                energy.default_pue_source,
                "illustrative",
                "--pue not given: the estimator's default PUE",
            )
        return footprint(req.with_(**changes))


def carbon_options(**kwargs: Any) -> CarbonOptions:
    """CarbonOptions from the command's keyword arguments (EstimateOptions field names)."""
    return CarbonOptions({k: v for k, v in kwargs.items() if k != "self"})


def footprint_columns(fp: Footprint) -> dict[str, float | str]:
    """Flat batch-output columns of a footprint: region, every line item's g and p5..p95, and
    the totals per basis [g CO2e per inference]."""
    out: dict[str, float | str] = {"region_id": fp.region_id}
    for li in fp.line_items:
        out[f"{li.name}_g"] = li.emissions_g
        out[f"{li.name}_low_g"] = li.low_g
        out[f"{li.name}_high_g"] = li.high_g
    for basis, t in fp.totals_g.items():
        out[f"total_{basis}_g"] = t.point_g
        out[f"total_{basis}_low_g"] = t.p5_g
        out[f"total_{basis}_high_g"] = t.p95_g
    return out
