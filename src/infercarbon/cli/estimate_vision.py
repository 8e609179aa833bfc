"""``infercarbon estimate vision``: energy and carbon of a vision/CNN inference on a device.

Single inference::

    infercarbon estimate vision --device T4 --flops 8.7e9 --weight-bytes 6e6 \\
        --activation-bytes 12e6 [--batch 1] [--region DE --time-utc ... --pue 1.2] --json

Batch::

    infercarbon estimate vision --csv IN.csv [--format csv|json]

The roofline model of :mod:`infercarbon.estimators.vision` (INT8 peak, bandwidth and the
device's power budget, with illustrative efficiency assumptions and their ranges).  CSV
columns are the flag names: ``device, flops, weight-bytes, activation-bytes`` (required
unless given as flags), ``batch`` and the carbon flags (``region, time-utc, pue, ...``).
"""

from __future__ import annotations

import csv
import io
import json
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from infercarbon.cli import _carbon as cb
from infercarbon.cli._common import TextTable, console, print_json, print_table
from infercarbon.errors import InfercarbonError, InputError, ParseError
from infercarbon.estimators.vision import (
    DEFAULT_BATCH_HALF,
    DEFAULT_BW_EFFICIENCY,
    DEFAULT_UTILISATION_MAX,
    EFFICIENCY_RANGES,
    VisionDevice,
    vision_device,
    vision_energy_range_j,
)

__all__ = ["register", "run_vision_csv", "vision_command", "vision_energy"]

_FIELDS = ("device", "flops", "weight-bytes", "activation-bytes", "batch")
_REQUIRED = ("device", "flops", "weight-bytes", "activation-bytes")


def vision_energy(
    device: str, flops: float, weight_bytes: float, activation_bytes: float, batch: float
) -> tuple[dict[str, Any], cb.ModelledEnergy]:
    """The energy document and the modelled energy handed to the accounting engine."""
    for name, v in (("flops", flops), ("weight_bytes", weight_bytes),
                    ("activation_bytes", activation_bytes)):  # fmt: skip
        if not (v >= 0 and v < float("inf")):
            raise InputError(f"must be a finite number >= 0, got {v!r}", field=name)
    if not (batch >= 1 and batch < float("inf")):
        raise InputError(f"must be >= 1, got {batch!r}", field="batch")
    dev: VisionDevice = vision_device(device)
    c, lo, hi = (
        float(x) for x in vision_energy_range_j(flops, weight_bytes, activation_bytes, dev, batch)
    )
    source = (
        f"infercarbon vision roofline (INT8 peak, bandwidth, power budget of {dev.name}: "
        f"{dev.source})"
    )
    assumptions = (
        f"utilisation_max {DEFAULT_UTILISATION_MAX:g} "
        f"({EFFICIENCY_RANGES['utilisation_max'][0]:g}.."
        f"{EFFICIENCY_RANGES['utilisation_max'][1]:g}), bw_efficiency "
        f"{DEFAULT_BW_EFFICIENCY:g} ({EFFICIENCY_RANGES['bw_efficiency'][0]:g}.."
        f"{EFFICIENCY_RANGES['bw_efficiency'][1]:g}), batch_half "
        f"{DEFAULT_BATCH_HALF:g}: illustrative"
    )
    doc = {
        "device": dev.name,
        "tier": dev.tier,
        "device_label": dev.label,
        "energy_j": c,
        "energy_low_j": lo,
        "energy_high_j": hi,
        "device_time_s": c / dev.active_power_w,
        "active_power_w": dev.active_power_w,
        "label": "modelled",
        "source": source,
        "note": f"roofline: max(compute, memory) at the power budget; {assumptions}",
        "inputs": {
            "flops": flops,
            "weight_bytes": weight_bytes,
            "activation_bytes": activation_bytes,
            "batch": batch,
        },
    }
    energy = cb.ModelledEnergy(
        energy_j=c, energy_low_j=lo, energy_high_j=hi, source=source, vintage=None,
        note=f"device energy per inference (upper bound at the power budget); {assumptions}",
        device_time_s=c / dev.active_power_w, idle_power_w=None,
        idle_power_source="", idle_power_label="",
    )  # fmt: skip
    return doc, energy


def _flag(name: str) -> str:
    return name.strip().lstrip("-").lower().replace("_", "-")


def run_vision_csv(
    text: str,
    *,
    path: str = "<csv>",
    out_format: str = "csv",
    defaults: dict[str, Any] | None = None,
    carbon: cb.CarbonOptions | None = None,
) -> str:
    """Estimate every row; returns CSV (input columns + energy + footprint) or JSON."""
    defaults = {k: v for k, v in (defaults or {}).items() if v is not None}
    carbon = carbon or cb.CarbonOptions({})
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ParseError("empty file (no header)", path=path, row=1) from None
    flags = [_flag(h) for h in header]
    missing = [f for f in _REQUIRED if f not in flags and f not in defaults]
    if missing:
        raise ParseError(f"missing required column(s): {', '.join(missing)}", path=path, row=1)
    rows = [r for r in reader if r]
    if not rows:
        raise ParseError("no data rows", path=path, row=2)
    out_rows: list[tuple[list[str], dict[str, Any], Any]] = []
    for i, r in enumerate(rows, start=2):
        if len(r) != len(header):
            raise ParseError(f"{len(r)} cells, header has {len(header)}", path=path, row=i)
        rd = dict(zip(flags, r, strict=True))
        vals: dict[str, Any] = {}
        for f in _FIELDS:
            raw = rd.get(f, "").strip() or str(defaults.get(f, "1" if f == "batch" else ""))
            col = header[flags.index(f)] if f in flags else f"--{f}"
            if f == "device":
                if not raw:
                    raise ParseError("empty cell", path=path, row=i, column=col)
                vals[f] = raw
                continue
            try:
                vals[f] = float(raw)
            except ValueError:
                raise ParseError(f"not a number: {raw!r}", path=path, row=i, column=col) from None
        try:
            doc, energy = vision_energy(
                vals["device"],
                vals["flops"],
                vals["weight-bytes"],
                vals["activation-bytes"],
                vals["batch"],
            )
            opts = carbon.with_row(rd)
            fp = cb.modelled_footprint(energy, opts) if opts.region else None
        except InfercarbonError as exc:
            field = getattr(exc, "field", None)
            where: str | None = next(
                (h for h, f in zip(header, flags, strict=True) if field and f == _flag(str(field))),
                field,
            )
            raise ParseError(str(exc), path=path, row=i, column=where) from exc
        out_rows.append((r, doc, fp))
    if out_format == "json":
        recs = [
            {
                **dict(zip(header, r, strict=True)),
                "energy": doc,
                "footprint": None if fp is None else fp.to_dict(),
            }
            for r, doc, fp in out_rows
        ]
        return json.dumps(recs, indent=2) + "\n"
    carbon_keys = next((list(cb.footprint_columns(fp)) for _, _, fp in out_rows if fp), [])
    energy_keys = ["device_name", "energy_j", "energy_low_j", "energy_high_j", "device_time_s"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*header, *energy_keys, *carbon_keys])
    for r, doc, fp in out_rows:
        e = [doc["device"], *(f"{doc[k]:.6g}" for k in energy_keys[1:])]
        fc = cb.footprint_columns(fp) if fp is not None else {}
        cells = [
            "" if k not in fc else (v if isinstance(v := fc[k], str) else f"{v:.6g}")
            for k in carbon_keys
        ]
        w.writerow([*r, *e, *cells])
    return buf.getvalue()


_DEVICE_HELP = (
    "Edge tier T0..T4 (ESP32-S3, Jetson Orin Nano/NX/AGX, L4; the NVIDIA T4 GPU is "
    '"Tesla T4") or any accelerator '
    "of the spec table with an INT8 figure."
)


def vision_command(
    device: Annotated[str | None, typer.Option("--device", help=_DEVICE_HELP)] = None,
    flops: Annotated[
        float | None, typer.Option("--flops", help="Operations per inference (2 x MACs) [FLOP].")
    ] = None,
    weight_bytes: Annotated[
        float | None,
        typer.Option("--weight-bytes", help="Model weights read once per batch [bytes]."),
    ] = None,
    activation_bytes: Annotated[
        float | None,
        typer.Option("--activation-bytes", help="Activations and I/O moved per inference [bytes]."),
    ] = None,
    batch: Annotated[float | None, typer.Option("--batch", help="Batch size (>= 1).")] = None,
    region: cb.Region = None,
    time_utc: cb.TimeUtc = None,
    pue: Annotated[
        str | None, typer.Option("--pue", help="Facility PUE (default: none, IT energy only).")
    ] = None,
    td_loss_frac: cb.TdLoss = None,
    idle_policy: cb.IdlePolicy = "30-70",
    tenancy_share: cb.TenancyShare = None,
    idle_power_w: cb.IdlePowerW = None,
    utilisation: cb.Utilisation = None,
    rate_per_s: cb.RatePerS = None,
    payload_bytes: cb.PayloadBytes = None,
    network: cb.Network = "fixed",
    outcome_rate: cb.OutcomeRate = None,
    outcome_name: cb.OutcomeName = None,
    training_t: cb.TrainingT = None,
    lifetime_inferences: cb.LifetimeInferences = None,
    embodied_kg: cb.EmbodiedKg = None,
    lifetime_years: cb.LifetimeYears = None,
    intensity: cb.Intensity = None,
    market_intensity: cb.MarketIntensity = None,
    instruments: cb.Instruments = None,
    marginal_intensity: cb.MarginalIntensity = None,
    basis: cb.BasisOpt = "lifecycle",
    operating_model: cb.OperatingModel = None,
    samples: cb.Samples = 10_000,
    seed: cb.Seed = 0,
    csv_path: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="Batch mode: input CSV ('-' = stdin); columns are the flag names "
            "(device, flops, weight-bytes, activation-bytes, batch, region, "
            "time-utc, pue, ...).",
        ),
    ] = None,
    out_format: Annotated[str, typer.Option("--format", help="Batch output: csv | json.")] = "csv",
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON contract.")] = False,
) -> None:
    """Energy and carbon of one vision/CNN inference (or a CSV of them) on an edge device."""
    carbon = cb.carbon_options(
        region=region, time_utc=time_utc, pue=pue, td_loss_frac=td_loss_frac,
        idle_policy=idle_policy, tenancy_share_frac=tenancy_share, idle_power_w=idle_power_w,
        utilisation_frac=utilisation, rate_per_s=rate_per_s, payload_bytes=payload_bytes,
        network=network, outcome_rate=outcome_rate, outcome_name=outcome_name,
        training_t=training_t, lifetime_inferences=lifetime_inferences,
        embodied_kg=embodied_kg, lifetime_years=lifetime_years, intensity_g_per_kwh=intensity,
        market_intensity_g_per_kwh=market_intensity, instruments=instruments,
        marginal_intensity_g_per_kwh=marginal_intensity, basis=basis,
        operating_model=operating_model, samples=samples, seed=seed,
    )  # fmt: skip
    defaults = {
        "device": device,
        "flops": flops,
        "weight-bytes": weight_bytes,
        "activation-bytes": activation_bytes,
        "batch": batch,
    }
    if csv_path is not None:
        if out_format not in ("csv", "json"):
            raise InputError("use csv or json", field="--format")
        try:
            text = sys.stdin.read() if str(csv_path) == "-" else csv_path.read_text("utf-8")
        except OSError as exc:
            raise InputError(f"cannot read {csv_path}: {exc.strerror}", field="--csv") from exc
        sys.stdout.write(
            run_vision_csv(
                text, path=str(csv_path), out_format=out_format, defaults=defaults, carbon=carbon
            )
        )
        return
    for name, value in (("--device", device), ("--flops", flops),
                        ("--weight-bytes", weight_bytes),
                        ("--activation-bytes", activation_bytes)):  # fmt: skip
        if value is None:
            raise InputError("required (or use --csv for batch mode)", field=name)
    assert device is not None and flops is not None
    assert weight_bytes is not None and activation_bytes is not None
    doc, energy = vision_energy(
        device, flops, weight_bytes, activation_bytes, 1.0 if batch is None else batch
    )
    if region is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fallbacks are recorded in the result
            fp = cb.modelled_footprint(energy, carbon)
        if as_json:
            out = fp.to_dict()
            out["vision_energy"] = doc
            print_json(out)
            return
        from infercarbon.cli.estimate import render

        render(fp)
        return
    if as_json:
        print_json(doc)
        return
    t = TextTable(
        f"Vision inference on {doc['device']} ({doc['tier']})",
        ["energy J", "low..high J", "device time s", "label"],
        numeric=frozenset({"energy J", "low..high J", "device time s"}),
    )
    t.add_row(
        f"{doc['energy_j']:.4g}",
        f"{doc['energy_low_j']:.4g}..{doc['energy_high_j']:.4g}",
        f"{doc['device_time_s']:.4g}",
        doc["label"],
    )
    print_table(t)
    console.print("note: give --region for the carbon figures (g CO2e, scopes)")


def register(app: typer.Typer) -> None:
    """Add ``vision`` under the ``estimate`` group (owned by cli/estimate.py)."""
    from infercarbon.cli.estimate import estimate_app

    estimate_app.command("vision")(vision_command)
