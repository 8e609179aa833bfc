"""Turn published result files into benchmark submission rows.

Two formats:

- **ML.ENERGY** leaderboard exports (columns ``category, task, config, Model, GPU,
  Energy/req (J), Energy/image (J), Energy/video (J), TP, PP, Token tput (tok/s),
  Avg Output Tokens, Batch size, Batch latency (s)`` ...): GPU energy per request, image or
  video, measured by ML.ENERGY with Zeus (NVML energy counters, GPU only).
- **MLPerf Inference Power** results: either the submission checker's ``summary.csv`` (a
  performance row with ``Units`` Samples/s, Queries/s or Latency (ms) and, for power
  submissions, a second row with ``Units`` Watts, Joules or millijoules), or a wide file with
  one row per result (system, scenario, samples/s or queries/s, average power W and/or energy
  per sample J).  Offline/Server: J per sample = average system power W / samples (queries)
  per second.  SingleStream: the energy per query is per sample.  MultiStream: a query is
  8 samples (MLPerf Inference rules since v2.0).

Neither format carries the benchmark's disclosures (region, window, hourly intensity, PUE,
embodied method, training, licence, and for ML.ENERGY the accepted measurement method): they
come from :class:`ImportOptions`, and a row still missing any is reported incomplete, never
filled with a guess.  Every produced row goes through the same validation as ``submit``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infercarbon.benchmark.submissions import (
    COLUMN_NAMES,
    RowError,
    RowOutcome,
    hour_weights_s,
    validate_rows,
)
from infercarbon.errors import InputError, ParseError
from infercarbon.timeutil import format_utc, parse_utc

__all__ = [
    "HourlyIntensity",
    "ImportOptions",
    "ImportResult",
    "import_mlenergy",
    "import_mlperf_power",
    "parse_hourly_intensity",
]

MLENERGY_SOURCE = (
    "ML.ENERGY Leaderboard v2 (Chung et al.), GPU energy measured with Zeus "
    "(NVML counters), steady state, GPU only"
)
#: MLPerf Inference rules (v2.0+): one MultiStream query carries 8 samples.
MULTISTREAM_SAMPLES_PER_QUERY = 8


@dataclass(frozen=True)
class HourlyIntensity:
    """An hourly intensity series [g/kWh], keyed by the UTC start of each hour."""

    values: dict[datetime, float]
    source: str | None


def parse_hourly_intensity(text: str, *, path: str = "<text>") -> HourlyIntensity:
    """Read ``hour_start_utc,intensity_g_per_kwh[,source]`` rows (header required)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    cols = [c.strip() for c in (reader.fieldnames or [])]
    reader.fieldnames = cols
    for need in ("hour_start_utc", "intensity_g_per_kwh"):
        if need not in cols:
            raise ParseError(
                f"missing column (have: {', '.join(cols) or 'none'}); the file "
                "needs hour_start_utc,intensity_g_per_kwh[,source]",
                path=path,
                column=need,
            )
    values: dict[datetime, float] = {}
    sources: set[str] = set()
    for i, r in enumerate(reader, start=2):
        raw_t = (r["hour_start_utc"] or "").strip()
        try:
            t = parse_utc(raw_t, field="hour_start_utc", utc_only=True)
        except InputError as exc:
            why = str(exc).removeprefix("hour_start_utc: ")
            raise ParseError(why, path=path, row=i, column="hour_start_utc") from None
        if t.minute or t.second or t.microsecond:
            raise ParseError(
                f"{raw_t!r} is not the start of an hour", path=path, row=i, column="hour_start_utc"
            )
        try:
            v = float((r["intensity_g_per_kwh"] or "").strip())
        except ValueError:
            raise ParseError(
                f"{r['intensity_g_per_kwh']!r} is not a number",
                path=path,
                row=i,
                column="intensity_g_per_kwh",
            ) from None
        if not math.isfinite(v):
            raise ParseError("not a finite number", path=path, row=i, column="intensity_g_per_kwh")
        if t in values:
            raise ParseError(
                f"hour {raw_t} appears twice", path=path, row=i, column="hour_start_utc"
            )
        values[t] = v
        if (r.get("source") or "").strip():
            sources.add((r.get("source") or "").strip())
    if not values:
        raise ParseError("no hourly values", path=path)
    return HourlyIntensity(values, "; ".join(sorted(sources)) if sources else None)


@dataclass(frozen=True)
class ImportOptions:
    """Disclosures the result file lacks, supplied by the importer's caller.

    Leave a field None to have the rows reported incomplete for it.
    """

    region: str | None = None
    window_start_utc: datetime | None = None
    window_end_utc: datetime | None = None
    hourly_intensity: HourlyIntensity | None = None
    intensity_source: str | None = None
    pue: float | None = None
    pue_source: str | None = None
    embodied_method: str | None = None
    embodied_g: float | None = None
    training_included: bool | None = None
    training_g: float | None = None
    submitter: str | None = None
    licence: str | None = None
    n_inferences: int | None = None
    workload_id: str | None = None
    tier: str | None = None
    #: ML.ENERGY only: the accepted method, when the rows were re-measured with one
    energy_method: str | None = None
    energy_method_version: str | None = None


@dataclass
class ImportResult:
    """Submission rows (schema column -> text) and the validation outcome of each."""

    source_format: str
    rows: list[dict[str, str]] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)
    #: problems with the source file itself (rows skipped), each naming its source row
    skipped: list[RowError] = field(default_factory=list)

    @property
    def incomplete(self) -> list[RowOutcome]:
        return [o for o in self.outcomes if o.status == "rejected"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.source_format,
            "rows": len(self.rows),
            "complete": len(self.outcomes) - len(self.incomplete),
            "incomplete": [o.to_dict() for o in self.incomplete],
            "skipped": [e.to_dict() for e in self.skipped],
        }

    def lines(self) -> list[str]:
        """Skipped source rows, then the incomplete rows grouped by column and problem
        (row numbers are rows of the written submission CSV)."""
        out = [f"skipped source {e}" for e in self.skipped]
        groups: dict[tuple[str | None, str, str], list[int]] = {}
        for o in self.incomplete:
            for e in o.errors:
                groups.setdefault((e.column, e.problem, e.fix), []).append(o.row)
        for (col, problem, fix), rows in groups.items():
            opt = _OPTION_FOR.get(col or "")
            out.append(
                f"incomplete: column '{col}' (rows {_ranges(rows)}): {problem}. Fix: "
                + (f"pass {opt}" if opt and "missing" in problem else fix)
            )
        out.append(
            f"{len(self.rows)} rows imported ({self.source_format}): "
            f"{len(self.rows) - len(self.incomplete)} complete, "
            f"{len(self.incomplete)} incomplete"
        )
        return out


#: the importer option that supplies each column the source files lack
_OPTION_FOR: dict[str, str] = {
    "region": "--region",
    "window_start_utc": "--window-start",
    "window_end_utc": "--window-end",
    "hourly_intensity_g_per_kwh": "--hourly-intensity FILE",
    "intensity_source": "--intensity-source (or a source column in the hourly file)",
    "pue": "--pue",
    "pue_source": "--pue-source measured|vendor-published",
    "embodied_method": "--embodied-method (or none)",
    "embodied_g": "--embodied-g",
    "training_included": "--training-included or --training-excluded",
    "training_g": "--training-g",
    "submitter": "--submitter",
    "licence": "--licence",
    "n_inferences": "--n-inferences (or a window with a throughput in the file)",
    "energy_method": "--method (only if re-measured with an accepted method)",
    "energy_method_version": "--method-version",
}


def _ranges(rows: Sequence[int]) -> str:
    """2,3,4,7 -> '2-4, 7'."""
    out: list[str] = []
    rs = sorted(set(rows))
    i = 0
    while i < len(rs):
        j = i
        while j + 1 < len(rs) and rs[j + 1] == rs[j] + 1:
            j += 1
        out.append(str(rs[i]) if i == j else f"{rs[i]}-{rs[j]}")
        i = j + 1
    return ", ".join(out)


# ------------------------------------------------------------------ shared pieces
def _num(text: str | None) -> float | None:
    t = (text or "").strip().replace(",", "")
    if t == "":
        return None
    try:
        v = float(t)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _fmt(v: float) -> str:
    return repr(float(v))


def _disclosures(o: ImportOptions) -> tuple[dict[str, str], str]:
    """The columns the options fill, and a note on the hourly intensity."""
    out: dict[str, str] = {
        "region": o.region or "",
        "window_start_utc": format_utc(o.window_start_utc) if o.window_start_utc else "",
        "window_end_utc": format_utc(o.window_end_utc) if o.window_end_utc else "",
        "pue": _fmt(o.pue) if o.pue is not None else "",
        "pue_source": o.pue_source or "",
        "embodied_method": o.embodied_method or "",
        "embodied_g": _fmt(o.embodied_g) if o.embodied_g is not None else "",
        "training_included": (
            "" if o.training_included is None else "yes" if o.training_included else "no"
        ),
        "training_g": _fmt(o.training_g) if o.training_g is not None else "",
        "licence": o.licence or "",
        "workload_id": o.workload_id or "",
        "tier": o.tier or "",
    }
    src = o.intensity_source or (o.hourly_intensity.source if o.hourly_intensity else None)
    out["intensity_source"] = src or ""
    note = ""
    hi = o.hourly_intensity
    if hi is not None and o.window_start_utc and o.window_end_utc:
        start, end = o.window_start_utc.astimezone(UTC), o.window_end_utc.astimezone(UTC)
        if end > start:
            n = len(hour_weights_s(start, end))
            h0 = math.floor(start.timestamp() / 3600) * 3600
            hours = [datetime.fromtimestamp(h0 + 3600 * i, UTC) for i in range(n)]
            missing = [h for h in hours if h not in hi.values]
            if missing:
                note = (
                    f"hourly intensity file lacks {len(missing)} of the window's {n} hours "
                    f"(first missing {format_utc(missing[0])})"
                )
            else:
                out["hourly_intensity_g_per_kwh"] = ";".join(repr(hi.values[h]) for h in hours)
    return out, note


def _n_inferences(o: ImportOptions, per_s: float | None, what: str) -> tuple[str, str]:
    """n_inferences given, or derived from a measured throughput x the window; with a note."""
    if o.n_inferences is not None:
        return str(o.n_inferences), ""
    if per_s is None or not (o.window_start_utc and o.window_end_utc):
        return "", ""
    secs = (o.window_end_utc - o.window_start_utc).total_seconds()
    if secs <= 0 or per_s <= 0:
        return "", ""
    n = round(per_s * secs)
    if n < 1:
        return "", ""
    return str(n), (f"n_inferences derived: {what} {per_s:.6g}/s x window {secs:g} s")


def _finish(result: ImportResult, *, now_utc: datetime) -> ImportResult:
    result.rows = [{c: r.get(c, "") for c in COLUMN_NAMES} for r in result.rows]
    result.outcomes, _ = validate_rows(
        [(i, r) for i, r in enumerate(result.rows, start=2)], now_utc=now_utc
    )
    return result


def _reader(text: str, path: str) -> tuple[list[str], list[dict[str, str]]]:
    try:
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        cols = [c.strip() for c in (reader.fieldnames or [])]
        reader.fieldnames = cols
        rows = [{k: (v or "") for k, v in r.items() if k is not None} for r in reader]
    except csv.Error as exc:
        raise ParseError(str(exc), path=path) from exc
    if not cols:
        raise ParseError("the file is empty (no header row)", path=path)
    return cols, rows


# ------------------------------------------------------------------------- ML.ENERGY
_MLE_REQUIRED = ("category", "task", "config", "Model", "GPU")


def _mle_tier(gpu: str) -> str:
    """The benchmark tier of a GPU name (H100 -> T5, B200 -> T6, L4 -> T4), else ''."""
    toks = set(re.split(r"[\s\-_/]+", gpu.upper()))
    for tok, tier in (("H100", "T5"), ("B200", "T6"), ("L4", "T4")):
        if tok in toks:
            return tier
    return ""


def import_mlenergy(
    text: str, opts: ImportOptions, *, now_utc: datetime, path: str = "<text>"
) -> ImportResult:
    """ML.ENERGY result rows -> submission rows (one per configuration)."""
    cols, rows = _reader(text, path)
    missing = [c for c in _MLE_REQUIRED if c not in cols]
    if missing:
        raise ParseError(
            f"not an ML.ENERGY result file: missing {', '.join(missing)}",
            path=path,
            column=missing[0],
        )
    res = ImportResult("mlenergy")
    disc, hourly_note = _disclosures(opts)
    for i, r in enumerate(rows, start=2):
        cat = r["category"].strip()
        if cat.startswith("diffusion"):
            e = _num(r.get("Energy/video (J)")) or _num(r.get("Energy/image (J)"))
            unit = "video" if _num(r.get("Energy/video (J)")) else "image"
            bs, lat = _num(r.get("Batch size")), _num(r.get("Batch latency (s)"))
            rate = bs / lat if bs and lat else None
            ngpu = 1
            rate_what = f"batch size / batch latency ({unit}s)"
        else:
            e = _num(r.get("Energy/req (J)"))
            unit = "request"
            tput, out_tok = _num(r.get("Token tput (tok/s)")), _num(r.get("Avg Output Tokens"))
            rate = tput / out_tok if tput and out_tok else None
            tp, pp = _num(r.get("TP")), _num(r.get("PP"))
            ngpu = int((tp or 1) * (pp or 1))
            rate_what = "token throughput / average output tokens (requests)"
        if e is None or e <= 0:
            res.skipped.append(
                RowError(
                    i,
                    "Energy/req (J)" if unit == "request" else f"Energy/{unit} (J)",
                    "no energy figure",
                    "the source row has no measured energy",
                )
            )
            continue
        n, n_note = _n_inferences(opts, rate, rate_what)
        gpu = r["GPU"].strip()
        notes = [f"source: {MLENERGY_SOURCE}; energy per {unit}; source row {i}"]
        if n_note:
            notes.append(n_note)
        if hourly_note:
            notes.append(hourly_note)
        method = opts.energy_method or ""
        if not method:
            notes.append(
                "ML.ENERGY measured with Zeus, not an accepted method: give "
                "--method only if the row was re-measured with one"
            )
        row = {
            **disc,
            "workload_description": f"{cat}/{r['task'].strip()}: {r['Model'].strip()} "
            f"({r['config'].strip()})",
            "hardware": f"{ngpu} x {gpu}",
            "tier": disc["tier"] or _mle_tier(gpu),
            "energy_j": _fmt(e),
            "energy_boundary": "accelerator",
            "n_inferences": n,
            "energy_method": method,
            "energy_method_version": opts.energy_method_version or "",
            "submitter": opts.submitter or "",
            "notes": "; ".join(notes),
        }
        res.rows.append(row)
    return _finish(res, now_utc=now_utc)


# ------------------------------------------------------------------- MLPerf Power
_ALIASES: dict[str, tuple[str, ...]] = {
    "system": (
        "system",
        "system_description",
        "system description",
        "systemname",
        "system_name",
        "system name",
        "platform",
        "systemdesc",
    ),
    "scenario": ("scenario",),
    "model": ("model", "mlperfmodel", "benchmark", "model mlc"),
    "samples_per_s": ("samples_per_s", "samples/s", "samples per second", "throughput"),
    "queries_per_s": ("queries_per_s", "queries/s", "queries per second", "qps"),
    "avg_power_w": (
        "avg_power_w",
        "average power (w)",
        "avg power (w)",
        "power (w)",
        "average_power_w",
        "power_w",
        "avg. power (w)",
    ),
    "energy_per_sample_j": (
        "energy_per_sample_j",
        "energy per sample (j)",
        "energy/sample (j)",
        "energy_per_query_j",
        "energy per query (j)",
    ),
    "accelerator": ("accelerator", "accelerator_model_name", "acceleratormodelname"),
    "accelerators": (
        "accelerators",
        "accelerators_per_node",
        "a# of accelerators",
        "num_accelerators",
    ),
    "organization": ("organization", "submitter", "organisation"),
    "version": ("version", "round"),
    "division": ("division",),
}


def _canon(cols: Sequence[str]) -> dict[str, str]:
    low = {c.strip().lower(): c for c in cols}
    out: dict[str, str] = {}
    for key, names in _ALIASES.items():
        for n in names:
            if n in low:
                out[key] = low[n]
                break
    return out


def _summary_results(
    cols: list[str], rows: list[dict[str, str]], path: str, res: ImportResult
) -> list[dict[str, Any]]:
    """summary.csv (long): pair each power row with its performance row."""
    keys = ("Organization", "Division", "SystemName", "Platform", "Model", "Scenario")
    perf: dict[tuple[str, ...], tuple[int, dict[str, str]]] = {}
    power: list[tuple[int, dict[str, str]]] = []
    for i, r in enumerate(rows, start=2):
        unit = r.get("Units", "").strip().lower()
        if unit in ("watts", "joules", "millijoules"):
            power.append((i, r))
        else:
            perf[tuple(r.get(k, "").strip() for k in keys)] = (i, r)
    out: list[dict[str, Any]] = []
    for i, r in power:
        k = tuple(r.get(k2, "").strip() for k2 in keys)
        if k not in perf:
            res.skipped.append(
                RowError(
                    i,
                    "Units",
                    "power row without its performance row",
                    "the summary must hold both rows of the result",
                )
            )
            continue
        _, pr = perf[k]
        value, unit = _num(r.get("Result")), r.get("Units", "").strip().lower()
        pval, punit = _num(pr.get("Result")), pr.get("Units", "").strip().lower()
        acc = r.get("accelerator_model_name", "").strip()
        nacc = r.get("accelerators_per_node", "").strip()
        d: dict[str, Any] = {
            "row": i,
            "system": r.get("SystemName", "").strip() or r.get("Platform", ""),
            "scenario": r.get("Scenario", "").strip(),
            "model": r.get("Model", "").strip(),
            "accelerator": acc,
            "accelerators": nacc,
            "organization": r.get("Organization", "").strip(),
            "version": r.get("version", "").strip(),
            "division": r.get("Division", "").strip(),
            "avg_power_w": None,
            "energy_per_query_j": None,
            "per_s": None,
        }
        if unit == "watts":
            d["avg_power_w"] = value
        elif value is not None:
            d["energy_per_query_j"] = value / 1000 if unit == "millijoules" else value
        if punit in ("samples/s", "queries/s"):
            d["per_s"] = pval
        elif punit.startswith("latency") and pval:
            d["latency_s"] = pval / 1000
        out.append(d)
    return out


def _wide_results(cols: list[str], rows: list[dict[str, str]], path: str) -> list[dict[str, Any]]:
    m = _canon(cols)
    for need in ("system", "scenario"):
        if need not in m:
            raise ParseError(
                "not an MLPerf Power result file: no column for "
                f"{need} (accepted names: {', '.join(_ALIASES[need])})",
                path=path,
                column=need,
            )
    if not ({"avg_power_w", "energy_per_sample_j"} & set(m)):
        raise ParseError(
            "not an MLPerf Power result file: needs avg_power_w or energy_per_sample_j",
            path=path,
            column="avg_power_w",
        )
    out: list[dict[str, Any]] = []
    for i, r in enumerate(rows, start=2):

        def g(key: str, row: dict[str, str] = r) -> str:
            return row.get(m[key], "").strip() if key in m else ""

        per_s = _num(g("samples_per_s")) or _num(g("queries_per_s"))
        out.append(
            {
                "row": i,
                "system": g("system"),
                "scenario": g("scenario"),
                "model": g("model"),
                "accelerator": g("accelerator"),
                "accelerators": g("accelerators"),
                "organization": g("organization"),
                "version": g("version"),
                "division": g("division"),
                "avg_power_w": _num(g("avg_power_w")),
                "energy_per_query_j": _num(g("energy_per_sample_j")),
                "per_s": per_s,
            }
        )
    return out


def import_mlperf_power(
    text: str, opts: ImportOptions, *, now_utc: datetime, path: str = "<text>"
) -> ImportResult:
    """MLPerf Inference Power results -> submission rows (one per power result)."""
    cols, rows = _reader(text, path)
    res = ImportResult("mlperf-power")
    if {"Units", "Result", "Scenario"} <= set(cols):
        results = _summary_results(cols, rows, path, res)
    else:
        results = _wide_results(cols, rows, path)
    disc, hourly_note = _disclosures(opts)
    for d in results:
        energy = _mlperf_energy_per_sample(d)
        if isinstance(energy, RowError):
            res.skipped.append(energy)
            continue
        e, how = energy
        if not e or e <= 0:
            res.skipped.append(
                RowError(
                    d["row"], "avg_power_w", "energy per sample is not > 0", "check the source row"
                )
            )
            continue
        res.rows.append(_mlperf_row(d, e, how, opts, disc, hourly_note))
    if not results:
        raise InputError(
            f"{path}: no power results found (a summary.csv needs rows with "
            "Units Watts, Joules or millijoules)",
            field="file",
        )
    return _finish(res, now_utc=now_utc)


def _mlperf_energy_per_sample(d: dict[str, Any]) -> tuple[float, str] | RowError:
    """(energy per sample [J], how it was derived) of one MLPerf power result, by scenario:
    Offline/Server from average power / throughput (checked against a published energy per
    sample) or as published; SingleStream energy per query; MultiStream energy per query /
    samples per query.  A RowError says why a result cannot give one."""
    i, sc = d["row"], str(d["scenario"])
    scen = sc.lower().replace(" ", "").replace("-", "")
    per_s, p_w, e_q = d["per_s"], d["avg_power_w"], d["energy_per_query_j"]
    if scen in ("offline", "server"):
        if p_w is not None and per_s:
            e = p_w / per_s
            unit = "samples" if scen == "offline" else "queries"
            if e_q is not None and abs(e_q / e - 1) > 0.05:
                return RowError(
                    i,
                    "energy_per_sample_j",
                    f"{e_q:g} J disagrees with power / throughput = {e:g} J",
                    "check the file's units",
                )
            return e, f"average power {p_w:g} W / {per_s:g} {unit}/s"
        if e_q is not None:
            return e_q, "energy per sample as published"
        return RowError(
            i,
            "avg_power_w",
            f"{sc}: needs average power and samples (queries) per second, or energy per sample",
            "complete the source row",
        )
    if scen in ("singlestream", "multistream"):
        name = "SingleStream" if scen == "singlestream" else "MultiStream"
        if e_q is None:
            return RowError(
                i,
                "energy_per_sample_j",
                f"{name} power results are energy per query; none given",
                "complete the source row",
            )
        if scen == "singlestream":
            return e_q, "SingleStream energy per query (1 sample per query)"
        return (
            e_q / MULTISTREAM_SAMPLES_PER_QUERY,
            f"MultiStream energy per query / {MULTISTREAM_SAMPLES_PER_QUERY} samples per query",
        )
    return RowError(
        i,
        "scenario",
        f"unknown scenario {sc!r}",
        "use Offline, Server, SingleStream or MultiStream",
    )


def _mlperf_row(
    d: dict[str, Any],
    e: float,
    how: str,
    opts: ImportOptions,
    disc: dict[str, str],
    hourly_note: str,
) -> dict[str, Any]:
    """One submission row from an MLPerf power result and its energy per sample [J]."""
    i, sc = d["row"], str(d["scenario"])
    rate = d["per_s"]
    if rate is None and d.get("latency_s"):
        rate = 1.0 / float(d["latency_s"])
    n, n_note = _n_inferences(opts, rate, "measured samples (queries)")
    hw_parts = [str(d["system"])]
    if d["accelerator"]:
        hw_parts.append(f"{d['accelerators'] or '?'} x {d['accelerator']}")
    notes = [
        f"source: MLPerf Inference {d['version'] or ''} {d['division'] or ''} "
        f"result of {d['organization'] or 'unknown organisation'}, {sc}; {how}; "
        f"system power at the wall; source row {i}"
    ]
    if n_note:
        notes.append(n_note)
    if hourly_note:
        notes.append(hourly_note)
    return {
        **disc,
        "workload_description": f"MLPerf Inference {d['model'] or 'model ?'} {sc}",
        "hardware": ": ".join(p for p in hw_parts if p),
        "energy_j": _fmt(e),
        "energy_boundary": "system",
        "n_inferences": n,
        "energy_method": "mlperf-power",
        "energy_method_version": opts.energy_method_version or str(d["version"] or ""),
        "submitter": opts.submitter or str(d["organization"] or ""),
        "notes": re.sub(r"\s+", " ", "; ".join(notes)).strip(),
    }
