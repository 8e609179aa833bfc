"""The server-side footprint of each ingested event: every line item, its range, its signal.

For a batch of events (an Arrow table with the ledger's event columns) :func:`compute_footprints`
resolves, with numpy over the whole batch (never a Python loop per event for the arithmetic):

- the **energy band** of each event: its own ``energy_low_j``/``energy_high_j`` when sent,
  otherwise the band of its attribution method's accuracy class
  (:data:`infercarbon.telemetry.base.ENERGY_BANDS`, each with its source);
- the **deployment profile** of its device (:mod:`infercarbon.accounting.profiles`: PUE, T&D
  losses, idle power and utilisation, embodied carbon and lifetime, network kWh/GB, operating
  model, price), or the service's default;
- the **grid signal** of each basis, decided per event (:class:`SignalBook`): a series loaded
  for the region (from ``--signals`` or the ledger's ``intensity`` intervals) that covers the
  event's interval; else the bundled hourly series of the region where one is bundled
  (ERCOT) and covers it; else, for the location basis, the bundled annual figure with its
  range.  Market: a market series for the region, else the location figure labelled
  ``fallback: location-based``.  Marginal: absent where nothing covers the event (the line is
  ``excluded: no marginal signal``, never zero);

and then every line item and total with its p5..p95 range by
:func:`infercarbon.accounting.events.account_events` (operational, idle, embodied, network on
the location, market and marginal bases; training is excluded: not published for served
models).  Each event's footprint is stored as a ledger footprint whose ``inputs`` hold
everything :func:`figures_from_inputs` needs, so ``audit verify`` recomputes every number,
ranges included, from the stored inputs alone.  Ingest stores them in the ledger's compact
layout (:func:`footprint_batch`: one context per profile x region x signal source, and one
row of numbers per event; see :mod:`infercarbon.ledger.compact`); :func:`footprint_records`
builds the same records one :class:`~infercarbon.ledger.schema.FootprintRecord` at a time for
the general layout (a test pins that both give the same ids, inputs, hashes and figures).

The grid-signal side (:class:`SignalBook`, :func:`signals_from_intensity`,
:func:`market_signal_from_instruments`, :func:`resolve_regions`) lives in
:mod:`infercarbon.service.signals` and is re-exported here for the engine's callers.

Footprints computed by the first calculator (:data:`CALCULATOR_V1`, operational lines only)
stay verifiable: :func:`figures_from_inputs` recomputes them by that calculator's rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.accounting.compose import operational_g
from infercarbon.accounting.events import LINES, EventLines, account_events
from infercarbon.accounting.footprint import LINE_SCOPES, check_operating_model
from infercarbon.accounting.profiles import (
    NO_TD_LOSS,
    DeploymentProfile,
    ProfileSet,
    profiles_from_data,
)
from infercarbon.errors import InputError
from infercarbon.grid.signal import IntensitySeries
from infercarbon.ledger.compact import (
    ContextItem,
    EventFootprintBatch,
    FootprintContext,
    build_event_footprints,
    slot,
)
from infercarbon.ledger.schema import (
    FootprintFigures,
    FootprintRecord,
    LineItemRecord,
    TotalRecord,
)
from infercarbon.provenance import Figure
from infercarbon.service.signals import (
    SignalBook,
    codes,
    market_signal_from_instruments,
    resolve_regions,
    signals_from_intensity,
)
from infercarbon.telemetry.base import energy_band

__all__ = [
    "CALCULATOR",
    "CALCULATORS",
    "CALCULATOR_V1",
    "KINDS",
    "LINE_NAMES",
    "AccountingConfig",
    "EventFootprints",
    "SignalBook",
    "compute_footprints",
    "figures_from_inputs",
    "footprint_batch",
    "footprint_contexts",
    "footprint_records",
    "market_signal_from_instruments",
    "resolve_regions",
    "signals_from_intensity",
]

#: Name and version of this calculator, stored with every footprint it computes.
CALCULATOR = "infercarbon.service.footprints:full/v2"
#: The first calculator (operational lines only, the signal's range only).
CALCULATOR_V1 = "infercarbon.service.footprints:operational/v1"
#: Every calculator whose footprints this module recomputes (the service's footprints).
CALCULATORS: tuple[str, ...] = (CALCULATOR, CALCULATOR_V1)
KINDS: tuple[str, ...] = ("location", "market", "marginal")
#: The line items of every footprint of this calculator, in order (absent ones excluded).
LINE_NAMES: tuple[str, ...] = (*(name for name, _ in LINES), "training")
_SERIES_KIND = {"location": "location-average", "market": "market", "marginal": "marginal"}
_US_PER_S = 1_000_000


def _scope(operating_model: str, kind: str) -> str:
    """GHG Protocol scope of a line (``LINE_SCOPES``: owned devices are Scope 2,
    bought cloud compute Scope 3 cat. 1, sold products Scope 3 cat. 11; marginal is a memo)."""
    return LINE_SCOPES[operating_model][kind]


FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class AccountingConfig:
    """How the service turns event energy into emissions.

    ``pue``, ``td_loss_frac`` and ``operating_model`` make the default deployment profile
    (for devices no profile of ``profiles`` matches, unless ``profiles`` names a
    ``default``); the defaults (PUE 1.0, no T&D losses) count IT energy only, and every
    footprint and the dashboard's methodology say so.
    """

    pue: float = 1.0
    pue_source: str = "not configured: IT energy only (PUE 1.0); set --pue for facility overhead"
    td_loss_frac: float = 0.0
    signals: tuple[IntensitySeries, ...] = field(default=())
    #: who runs the devices behind the events: "owned" (Scope 2), "cloud" (Scope 3 cat. 1)
    #: or "sold" (Scope 3 cat. 11); it sets each line's scope tag and is a stored input
    operating_model: str = "owned"
    profiles: ProfileSet | None = None

    def __post_init__(self) -> None:
        check_operating_model(self.operating_model)
        if not (np.isfinite(self.pue) and self.pue >= 1.0):
            raise InputError(
                f"{self.pue!r}: PUE is facility/IT energy and cannot be below 1", field="pue"
            )
        if not (np.isfinite(self.td_loss_frac) and 0.0 <= self.td_loss_frac <= 0.5):
            raise InputError(
                f"{self.td_loss_frac!r} must be a fraction in [0, 0.5]", field="td_loss_frac"
            )

    @property
    def profile_set(self) -> ProfileSet:
        """The profiles, with the default profile this configuration implies."""
        default = DeploymentProfile(
            "default",
            ("*",),
            operating_model=self.operating_model,
            pue=Figure(self.pue, "ratio", source=self.pue_source, label="user"),
            td_loss_frac=NO_TD_LOSS
            if self.td_loss_frac == 0
            else Figure(self.td_loss_frac, "frac", source="--td-loss-frac (user)", label="user"),
        )
        if self.profiles is None:
            return ProfileSet((), default)
        return ProfileSet(self.profiles.profiles, self.profiles.default or default)

    def with_profiles(self, data: Any) -> AccountingConfig:
        """This configuration with the profiles of parsed TOML/JSON ``data``."""
        from dataclasses import replace

        return replace(self, profiles=profiles_from_data(data))


#: What a group of events shares besides region and signals: profile, energy band text,
#: payload known?, price known?, measured-idle window (None: idle modelled).
Setup = tuple[DeploymentProfile, str, bool, bool, "tuple[tuple[str, Any], ...] | None"]


@dataclass(frozen=True)
class EventFootprints:
    """Columnar result for a batch: arrays aligned with the input events.

    What many events share (profile, region, each basis's signal source, whether the event
    has a payload, where its energy band came from) is held per *group*
    (``group_key[g]``; ``region_index`` maps each event to its group), not per event: one
    compact-layout context each."""

    region_id: list[str]
    facility_j: FloatArray
    intensity: dict[str, tuple[FloatArray, FloatArray, FloatArray]]  # kind -> v, lo, hi
    grams: dict[str, tuple[FloatArray, FloatArray, FloatArray]]  # kind -> g, low, high
    region_index: npt.NDArray[np.intp]  # event -> group
    group_region_id: list[str]
    group_provenance: dict[str, list[dict[str, Any] | None]]  # kind -> per group
    lines: EventLines | None = None
    energy_low_j: FloatArray | None = None
    energy_high_j: FloatArray | None = None
    payload_bytes: FloatArray | None = None
    price_per_kwh: FloatArray | None = None
    #: per group: (profile, energy band text, has payload, has price)
    group_setup: list[Setup] = field(default_factory=list)

    @property
    def provenance(self) -> dict[str, list[dict[str, Any] | None]]:
        """Provenance per event (kind -> list aligned with the events; shared dicts)."""
        idx = self.region_index.tolist()
        return {k: [g[i] for i in idx] for k, g in self.group_provenance.items()}

    def co2e_g(self) -> dict[str, FloatArray]:
        """Total emissions per event by basis (NaN where the basis has no signal)."""
        if self.lines is not None:
            return {k: self.lines.totals[k][0] for k in KINDS}
        return {k: v[0] for k, v in self.grams.items()}


def _times(col: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.datetime64]:
    return np.asarray(col.to_numpy(zero_copy_only=False)).astype("datetime64[ns]")


def _float_col(events: pa.Table, name: str) -> FloatArray:
    if name not in events.column_names:
        return np.full(events.num_rows, np.nan)
    col = pc.cast(events.column(name), pa.float64())
    return np.asarray(pc.fill_null(col, np.nan).to_numpy(zero_copy_only=False), dtype=float)


def _energy_bands(
    events: pa.Table, energy: FloatArray
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.intp], list[str]]:
    """(low, high, band index, band texts): the event's own band where sent (both ends), else
    its attribution method's class band."""
    lo, hi = _float_col(events, "energy_low_j"), _float_col(events, "energy_high_j")
    own = np.isfinite(lo) & np.isfinite(hi)
    uniq, inv = codes(events.column("attribution_method"))
    texts: list[str] = []
    lo_frac = np.empty(len(uniq))
    hi_frac = np.empty(len(uniq))
    for j, m in enumerate(uniq):
        b = energy_band(m)
        lo_frac[j], hi_frac[j] = b.low_frac, b.high_frac
        texts.append(
            f"class {b.accuracy_class} ({b.method}) band x{b.low_frac:g}..x"
            f"{b.high_frac:g}: {b.source}"
        )
    texts.append("the event's own energy_low_j..energy_high_j")
    # the band text, and the method (its class names the energy's label), per event
    band_idx = (np.where(own, len(uniq), inv) * (len(uniq) + 1) + inv).astype(np.intp)
    low = np.where(own, lo, energy * lo_frac[inv] if len(uniq) else energy)
    high = np.where(own, hi, energy * hi_frac[inv] if len(uniq) else energy)
    return low, high, band_idx, texts


def _prices(
    profiles: Sequence[DeploymentProfile],
    pidx: npt.NDArray[np.intp],
    start: npt.NDArray[np.datetime64],
) -> FloatArray:
    out = np.full(len(pidx), np.nan)
    for j, p in enumerate(profiles):
        m = pidx == j
        if not m.any():
            continue
        if p.price_per_kwh is not None:
            out[m] = p.price_per_kwh.value
        elif p.tariff is not None:
            hours = (start[m].astype("datetime64[h]").astype(np.int64) % 24).astype(np.int64)
            out[m] = p.tariff.price(hours)
    return out


Window = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class IdleMeasured:
    """Measured idle of events (device readings minus the events' energy over a window,
    split by the profile's idle policy): per event the window it was measured in (-1: not
    measured, modelled from the profile) and its attributed and unattributed idle IT energy
    [J]; per window what its events share (readings source, window, device and events energy,
    pool, the pool's relative deviations down/up), as sorted (key, value) pairs."""

    window: npt.NDArray[np.intp]
    attributed_j: FloatArray
    unattributed_j: FloatArray
    windows: tuple[Window, ...]


def compute_footprints(
    events: pa.Table,
    config: AccountingConfig,
    book: SignalBook,
    *,
    profile_set: ProfileSet | None = None,
    idle: IdleMeasured | None = None,
) -> EventFootprints:
    """Every line item of every event in ``events`` (validated ledger event columns).

    ``profile_set`` replaces the configuration's profiles (a recomputation applies the
    profile a footprint was computed with); ``idle`` gives measured idle for some events."""
    n = events.num_rows
    regions, inv = resolve_regions(events.column("region"))
    energy = np.asarray(events.column("energy_j").to_numpy(zero_copy_only=False), dtype=float)
    start, end = _times(events.column("start_utc")), _times(events.column("end_utc"))
    e_lo, e_hi, band_idx, band_texts = _energy_bands(events, energy)
    profiles, pidx = (profile_set or config.profile_set).index(events.column("device"))
    payload = _float_col(events, "payload_bytes")
    device_time_s = (end.astype("datetime64[us]") - start.astype("datetime64[us]")).astype(
        np.int64
    ) / _US_PER_S
    inten = {k: (np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)) for k in KINDS}
    provs: list[dict[str, Any]] = []
    prov_idx = {k: np.full(n, -1, dtype=np.intp) for k in KINDS}
    for j, region in enumerate(regions):
        idx = np.flatnonzero(inv == j)
        for kind in KINDS:
            for seg in book.lookup(region, kind, start[idx], end[idx]):
                at = idx[seg.idx]
                for arr, val in zip(inten[kind], (seg.value, seg.low, seg.high), strict=True):
                    arr[at] = val
                provs.append(seg.provenance)
                prov_idx[kind][at] = len(provs) - 1
    # market: without a market signal, the location figure, labelled as the fallback
    missing = prov_idx["market"] < 0
    if missing.any():
        fallback: dict[int, int] = {}
        for loc in np.unique(prov_idx["location"][missing]).tolist():
            p = provs[loc]
            provs.append(
                {
                    **p,
                    "label": "fallback: location-based",
                    "method": "no market instrument configured: location-based figure used",
                }
            )
            fallback[loc] = len(provs) - 1
        for arr, src in zip(inten["market"], inten["location"], strict=True):
            arr[missing] = src[missing]
        prov_idx["market"][missing] = [fallback[i] for i in prov_idx["location"][missing].tolist()]
    price = _prices(profiles, pidx, start)
    widx = np.full(n, -1, dtype=np.intp) if idle is None else np.asarray(idle.window, dtype=np.intp)
    idle_arrays = None
    if idle is not None:
        has = widx >= 0
        dev = np.asarray(
            [[dict(w)["low_dev_frac"], dict(w)["high_dev_frac"]] for w in idle.windows]
            or np.zeros((0, 2)),
            dtype=float,
        )
        pick = np.clip(widx, 0, None)
        idle_arrays = (
            np.where(has, idle.attributed_j, np.nan),
            np.where(has, idle.unattributed_j, np.nan),
            np.where(has, dev[pick, 0] if len(dev) else 0.0, np.nan),
            np.where(has, dev[pick, 1] if len(dev) else 0.0, np.nan),
        )
    lines = account_events(
        energy_j=energy,
        energy_low_j=e_lo,
        energy_high_j=e_hi,
        device_time_s=device_time_s,
        payload_bytes=payload,
        intensity=inten,
        profiles=profiles,
        profile_index=pidx,
        price_per_kwh=price,
        idle_measured=idle_arrays,
    )
    # groups: one per distinct (region, profile, signal source per basis, payload?, band, price?)
    parts = [
        inv,
        pidx,
        prov_idx["location"] + 1,
        prov_idx["market"] + 1,
        prov_idx["marginal"] + 1,
        np.isfinite(payload).astype(np.intp),
        band_idx,
        np.isfinite(price).astype(np.intp),
        widx + 1,
    ]
    radix = [int(p.max()) + 1 if n else 1 for p in parts]
    flat = np.zeros(n, dtype=np.int64)
    for p, r in zip(parts, radix, strict=True):  # mixed radix: one integer per combination
        flat = flat * r + p
    uflat, ginv = np.unique(flat, return_inverse=True)
    ginv = np.asarray(ginv, dtype=np.intp).reshape(-1)
    gkeys = np.zeros((len(uflat), len(parts)), dtype=np.int64)
    rest = uflat.copy()
    for k in range(len(parts) - 1, -1, -1):
        gkeys[:, k] = rest % radix[k]
        rest //= radix[k]
    gkeys[:, 2:5] -= 1
    gprov: dict[str, list[dict[str, Any] | None]] = {k: [] for k in KINDS}
    setup: list[Setup] = []
    group_rid: list[str] = []
    for row in gkeys.tolist():
        r, pj, pl, pm, pg, has_pay, bj, has_price, w = row
        group_rid.append(regions[r].region_id)
        for kind, pi in zip(KINDS, (pl, pm, pg), strict=True):
            gprov[kind].append(None if pi < 0 else provs[pi])
        setup.append(
            (
                profiles[pj],
                band_texts[bj // (len(band_texts))],
                bool(has_pay),
                bool(has_price),
                None if w == 0 or idle is None else idle.windows[w - 1],
            )
        )
    ops = {k: lines.lines[f"operational_{k}"] for k in KINDS}
    rid = np.asarray(group_rid, dtype=object)[ginv].tolist() if n else []
    return EventFootprints(
        rid,
        lines.facility_j,
        inten,
        ops,
        ginv,
        group_rid,
        gprov,
        lines,
        e_lo,
        e_hi,
        payload,
        price,
        setup,
    )


# --------------------------------------------------------------------- stored records
def _signals_v1(inputs: Mapping[str, Any]) -> FootprintFigures:
    """The first calculator's figures (operational lines, the signal's range only)."""
    try:
        e = float(inputs["energy_j"])
        pue = float(inputs["pue"])
        td = float(inputs["td_loss_frac"])
        sig: Mapping[str, Mapping[str, Any]] = inputs["intensity_g_per_kwh"]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"footprint inputs incomplete: {exc}", field="inputs") from exc
    # ledgers written before the operating model was an input are "owned"
    model = check_operating_model(inputs.get("operating_model", "owned"), "inputs.operating_model")
    facility = e * pue * (1.0 + td)
    items: list[LineItemRecord] = []
    totals: dict[str, TotalRecord] = {}
    for kind in KINDS:
        s = sig.get(kind)
        if s is None:
            items.append(
                LineItemRecord(
                    f"operational_{kind}",
                    0.0,
                    0.0,
                    0.0,
                    f"excluded: no {kind} signal for the region",
                    "-",
                    _scope(model, kind),
                    False,
                    kind,
                    None,
                    None,
                )
            )
            continue
        g, lo, hi = (
            float(operational_g(e, float(s[w]), pue=pue, td_loss_frac=td))
            for w in ("value", "low", "high")
        )
        items.append(
            LineItemRecord(
                f"operational_{kind}",
                g,
                lo,
                hi,
                str(s.get("label") or "cited"),
                f"energy: {inputs.get('attribution_method', 'event')}; intensity: {s['source']}",
                _scope(model, kind),
                kind != "marginal",
                kind,
                None,
                facility,
            )
        )
        totals[kind] = TotalRecord(g, lo, hi)
    return FootprintFigures(energy_j=e, line_items=tuple(items), totals=totals)


def _figure_of(d: Mapping[str, Any], unit: str) -> Figure:
    return Figure(
        float(d["value"]),
        unit,
        source=str(d["source"]),
        label=d.get("label", "user"),
        low=float(d["low"]),
        high=float(d["high"]),
    )


def profile_from_inputs(d: Mapping[str, Any]) -> DeploymentProfile:
    """The profile as stored in a footprint's inputs (``assumptions.profile``): every figure
    with its range and source, the price or time-of-use tariff; it matches every device
    (a recomputation applies it to the events it priced)."""
    from infercarbon.accounting.profiles import FIGURE_FIELDS, Tariff

    kw: dict[str, Any] = {f: _figure_of(d[f], FIGURE_FIELDS[f][0]) for f in FIGURE_FIELDS if f in d}
    if d.get("tariff_price_per_kwh_by_hour") is not None:
        kw["tariff"] = Tariff(
            tuple(float(x) for x in d["tariff_price_per_kwh_by_hour"]),
            str(d.get("tariff_source", "")),
        )
    return DeploymentProfile(
        name=str(d["name"]),
        operating_model=str(d["operating_model"]),
        idle_policy=str(d["idle_policy"]),
        currency=d.get("currency"),
        **kw,
    )


def _time_us(x: Any) -> int:
    t = x if isinstance(x, datetime) else datetime.fromisoformat(str(x).replace("Z", "+00:00"))
    return int(np.datetime64(t.replace(tzinfo=None), "us").astype(np.int64))


def figures_from_inputs(inputs: Mapping[str, Any]) -> FootprintFigures:
    """Recompute an event footprint's figures from its stored inputs (audit path).

    The inputs of :data:`CALCULATOR` hold the event's energy and band, times, payload and
    price, the profile (every figure with its range and source) and
    ``intensity_g_per_kwh``: kind -> {value, low, high, source, label, method} (a kind
    without a signal is absent); they are run through the same vectorised engine as ingest.
    Inputs without a ``profile`` are the first calculator's (:data:`CALCULATOR_V1`)."""
    if "assumptions" not in inputs:
        return _signals_v1(inputs)
    try:
        shared: Mapping[str, Any] = inputs["assumptions"]
        model = check_operating_model(
            shared.get("operating_model"), "inputs.assumptions.operating_model"
        )
        e = np.asarray([float(inputs["energy_j"])])
        lo = np.asarray([float(inputs["energy_low_j"])])
        hi = np.asarray([float(inputs["energy_high_j"])])
        t_s = (_time_us(inputs["end_utc"]) - _time_us(inputs["start_utc"])) / _US_PER_S
        profile = profile_from_inputs(shared["profile"])
        if profile.operating_model != model:
            raise InputError(
                f"inputs.assumptions.operating_model {model!r} differs from the "
                f"profile's {profile.operating_model!r}",
                field="inputs.assumptions.operating_model",
            )
        values: Mapping[str, Mapping[str, Any]] = inputs["intensity_g_per_kwh"]
        sig: Mapping[str, Mapping[str, Any]] = shared["signals"]
        if set(values) != set(sig):
            raise InputError(
                "intensity_g_per_kwh and assumptions.signals name different kinds",
                field="inputs.intensity_g_per_kwh",
            )
        inten = {
            k: tuple(
                np.asarray([float(values[k][w]) if k in values else np.nan])
                for w in ("value", "low", "high")
            )
            for k in KINDS
        }
        payload = inputs.get("payload_bytes")
        price = inputs.get("price_per_kwh")
        measured: Mapping[str, Any] | None = inputs.get("idle_measured")
        idle_m = (
            None
            if measured is None
            else tuple(
                np.asarray([float(measured[k])])
                for k in ("attributed_j", "unattributed_j", "low_dev_frac", "high_dev_frac")
            )
        )
        lines = account_events(
            energy_j=e,
            energy_low_j=lo,
            energy_high_j=hi,
            device_time_s=np.asarray([t_s]),
            payload_bytes=np.asarray([np.nan if payload is None else float(payload)]),
            intensity=inten,  # type: ignore[arg-type]
            profiles=[profile],
            profile_index=np.zeros(1, dtype=np.intp),
            price_per_kwh=np.asarray([np.nan if price is None else float(price)]),
            idle_measured=idle_m,  # type: ignore[arg-type]
        )
        items = _energy_labelled(
            _items(
                profile,
                _sig_key(sig),
                payload is not None,
                str(shared["energy_band"]),
                None if measured is None else str(measured["source"]),
            ),
            energy_band(str(inputs.get("attribution_method", ""))).label,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"footprint inputs incomplete: {exc}", field="inputs") from exc
    method = str(inputs.get("attribution_method", "event"))
    out: list[LineItemRecord] = []
    energy_of = {
        **{f"operational_{b}": lines.facility_j for b in KINDS},
        **{
            f"idle_{b}": lines.idle_attributed_j
            * float(profile.pue.value * (1.0 + profile.td_loss_frac.value))
            for b in KINDS
        },
    }
    for it in items:
        if not it.present:
            out.append(
                LineItemRecord(
                    it.name,
                    0.0,
                    0.0,
                    0.0,
                    it.label,
                    it.source(method),
                    it.scope,
                    it.in_total,
                    it.basis,
                    None,
                    None,
                )
            )
            continue
        g, g_lo, g_hi = (float(a[0]) for a in lines.lines[it.name])
        energy: float | None = None
        if it.name in energy_of:
            energy = float(energy_of[it.name][0])
        elif it.name == "network":
            energy = _network_j(lines, profile, payload)
        out.append(
            LineItemRecord(
                it.name,
                g,
                g_lo,
                g_hi,
                it.label,
                it.source(method),
                it.scope,
                it.in_total,
                it.basis,
                None,
                energy,
            )
        )
    totals = {b: TotalRecord(*(float(a[0]) for a in lines.totals[b])) for b in KINDS if b in sig}
    return FootprintFigures(energy_j=float(e[0]), line_items=tuple(out), totals=totals)


def _network_j(lines: EventLines, profile: DeploymentProfile, payload: Any) -> float | None:
    if payload is None or profile.network_kwh_per_gb is None:
        return None
    return float(payload) / 1e9 * profile.network_kwh_per_gb.value * 3.6e6


Sig = tuple[tuple[str, tuple[tuple[str, Any], ...] | None], ...]


def _sig_key(provs: Mapping[str, Mapping[str, Any] | None]) -> Sig:
    """What a footprint stores of each basis's signal (source, label, method), hashable;
    None for a basis without a signal."""
    return tuple(
        (
            k,
            None
            if provs.get(k) is None
            else tuple(
                sorted(
                    (a, b)
                    for a, b in provs[k].items()  # type: ignore[union-attr]
                    if a in ("source", "label", "method")
                )
            ),
        )
        for k in KINDS
    )


def _line_ok(
    profile: DeploymentProfile, name: str, has_payload: bool, idle_measured: bool = False
) -> str | None:
    """Why a line cannot be computed for this profile (None: it can)."""
    if name.startswith("idle_") and not idle_measured:
        if profile.idle_power_w is None:
            return f"no idle power in profile {profile.name!r} (set idle_power_w)"
        if profile.utilisation_frac is None:
            return f"no utilisation in profile {profile.name!r} (set utilisation_frac)"
    if name == "embodied":
        if profile.embodied_kg is None or profile.lifetime_years is None:
            return (
                f"no embodied figure in profile {profile.name!r} (set embodied_kg and "
                "lifetime_years)"
            )
        if profile.utilisation_frac is None:
            return f"no utilisation in profile {profile.name!r} (set utilisation_frac)"
    if name == "network":
        if profile.network_kwh_per_gb is None:
            return f"no network coefficient in profile {profile.name!r} (set network_kwh_per_gb)"
        if not has_payload:
            return "no payload size given (send payload_bytes)"
    return None


@lru_cache(maxsize=1024)
def _items(
    profile: DeploymentProfile,
    sig: Sig,
    has_payload: bool,
    band: str,
    idle_source: str | None = None,
) -> tuple[ContextItem, ...]:
    """The line items of a footprint: label, source, scope and whether present, from what
    the events of one context share (profile, signals' provenance, payload known?, and the
    device readings behind a measured idle line)."""
    scopes = LINE_SCOPES[profile.operating_model]
    provs = {k: (None if p is None else dict(p)) for k, p in sig}
    out: list[ContextItem] = []
    band_label = band.split(":", 1)[0]
    for name, basis in LINES:
        scope = scopes[basis] if basis != "both" else scopes[name]
        col = None if name.startswith("operational_") else name
        p = provs.get(basis) if basis != "both" else provs.get("location")
        if name.startswith(("operational_", "idle_")) and p is None:
            out.append(
                ContextItem(
                    name,
                    basis,
                    f"excluded: no {basis} signal for the region",
                    scope,
                    False,
                    False,
                    "-",
                    None,
                    col,
                )
            )
            continue
        why = _line_ok(profile, name, has_payload, idle_source is not None)
        if why is not None:
            out.append(
                ContextItem(name, basis, f"excluded: {why}", scope, False, False, "-", None, col)
            )
            continue
        assert p is not None
        fallback = str(p.get("label", "")).startswith("fallback")
        in_total = basis != "marginal"
        if name.startswith("operational_"):
            # the label is what the figure is, set by its least certain input (the energy:
            # measured, modelled, illustrative, reported); the intensity's own label
            # (cited, provisional, fallback ...) is beside its source
            label = "{energy}" + ("; fallback: location-based intensity" if fallback else "")
            out.append(
                ContextItem(
                    name,
                    basis,
                    label,
                    scope,
                    in_total,
                    True,
                    "energy: ",
                    f" ({band_label}); intensity: {p['source']} ({p.get('label') or 'cited'})",
                    col,
                )
            )
        elif name.startswith("idle_") and idle_source is not None:
            extra = "; fallback: location-based intensity" if fallback else ""
            out.append(
                ContextItem(
                    name,
                    basis,
                    f"measured: device readings minus the events' energy, idle "
                    f"policy {profile.idle_policy}{extra}",
                    scope,
                    in_total,
                    True,
                    f"idle: device readings {idle_source}; profile {profile.name}; intensity: "
                    f"{p['source']}",
                    None,
                    col,
                )
            )
        elif name.startswith("idle_"):
            extra = "; fallback: location-based intensity" if fallback else ""
            u = profile.utilisation_frac
            ip = profile.idle_power_w
            assert u is not None and ip is not None
            out.append(
                ContextItem(
                    name,
                    basis,
                    f"modelled: idle policy {profile.idle_policy}{extra}",
                    scope,
                    in_total,
                    True,
                    f"idle power: {ip.source}; utilisation: {u.source}; "
                    f"profile {profile.name}; intensity: {p['source']}",
                    None,
                    col,
                )
            )
        elif name == "embodied":
            f = profile.embodied_kg
            assert f is not None and profile.lifetime_years is not None
            out.append(
                ContextItem(
                    name,
                    basis,
                    f"{f.label}: amortised over {profile.lifetime_years.value:g} years "
                    "by utilisation",
                    scope,
                    True,
                    True,
                    f"embodied: {f.source}; lifetime: {profile.lifetime_years.source}; profile "
                    f"{profile.name}",
                    None,
                    col,
                )
            )
        else:
            f = profile.network_kwh_per_gb
            assert f is not None
            out.append(
                ContextItem(
                    name,
                    basis,
                    f"{f.label}: payload x kWh/GB x location intensity",
                    scope,
                    True,
                    True,
                    f"network: {f.source}; intensity: {p['source']}",
                    None,
                    col,
                )
            )
    scope = scopes["training"]
    out.append(
        ContextItem(
            "training",
            "both",
            "excluded: not published for served models at "
            "ingest (give it in estimate --training-t)",
            scope,
            False,
            False,
            "-",
            None,
            "training",
        )
    )
    return tuple(out)


def _energy_labelled(items: Sequence[ContextItem], energy_label: str) -> tuple[ContextItem, ...]:
    """Operational labels name what the energy is: measured, modelled, illustrative,
    reported (the attribution method's class, :func:`energy_band`), never 'cited'."""
    from dataclasses import replace

    return tuple(replace(it, label=it.label.replace("{energy}", energy_label)) for it in items)


def event_inputs(
    *,
    profile: DeploymentProfile,
    region_id: str,
    band: str,
    sig: Sig,
    values: Mapping[str, Any],
    intensity: Mapping[str, tuple[Any, Any, Any]],
    has_payload: bool,
    has_price: bool,
    idle: Window | None = None,
) -> dict[str, Any]:
    """The inputs of one footprint (values, or :func:`slot` placeholders for a context).

    What the events of a context share is under ``assumptions`` (the deployment profile with
    every figure's range and source, region, operating model, the energy band's source, each
    signal's source, label and method); the event's own numbers are beside it (energy and
    its band, times, payload, price, the intensity of each basis).  ``assumptions`` sorts
    first in canonical JSON, so the shared text is a prefix the ingest path hashes once per
    context (:mod:`infercarbon.ledger.compact`)."""
    signals: dict[str, Any] = {}
    inten: dict[str, Any] = {}
    for kind, pairs in sig:
        if pairs is None:
            continue
        p = dict(pairs)
        signals[kind] = {"source": p["source"], "label": p["label"], "method": p["method"]}
        v, lo, hi = intensity[kind]
        inten[kind] = {"value": v, "low": lo, "high": hi}
    out: dict[str, Any] = {
        "assumptions": {
            "energy_band": band,
            "operating_model": profile.operating_model,
            "profile": _profile_input(profile),
            "region": region_id,
            "signals": signals,
        },
        **{
            k: values[k]
            for k in (
                "event_id",
                "energy_j",
                "energy_low_j",
                "energy_high_j",
                "attribution_method",
                "start_utc",
                "end_utc",
            )
        },
        "intensity_g_per_kwh": inten,
    }
    if has_payload:
        out["payload_bytes"] = values["payload_bytes"]
    if has_price:
        out["price_per_kwh"] = values["price_per_kwh"]
    if idle is not None:
        out["idle_measured"] = {
            **dict(idle),
            "attributed_j": values["idle_attributed_j"],
            "unattributed_j": values["idle_unattributed_j"],
        }
    return out


def _profile_input(profile: DeploymentProfile) -> dict[str, Any]:
    """The profile as footprint inputs: everything but the devices it matches (the price
    and tariff are kept: a recomputation re-applies them; each event's own price is the
    ``price_per_kwh`` input)."""
    d = profile.to_dict()
    d.pop("devices", None)
    return d


def _versions(
    profile: DeploymentProfile, sig_prov: Mapping[str, dict[str, Any] | None], band: str
) -> dict[str, str]:
    versions = {
        "calculator": CALCULATOR,
        "pue": profile.pue.source,
        "profile": profile.name,
        "energy_band": band,
    }
    for kind, p in sig_prov.items():
        if p is not None:
            versions[f"intensity_{kind}"] = f"{p['source']} {p['version']}".strip()
    if profile.price_per_kwh is not None:
        versions["price"] = f"{profile.price_per_kwh.source} ({profile.currency})"
    elif profile.tariff is not None:
        versions["price"] = f"{profile.tariff.source} ({profile.currency})"
    return versions


def _group_sig(fps: EventFootprints, g: int) -> Sig:
    return _sig_key({kind: fps.group_provenance[kind][g] for kind in KINDS})


def footprint_records(
    events: pa.Table, fps: EventFootprints, config: AccountingConfig, *, computed_utc: datetime
) -> list[FootprintRecord]:
    """One ledger footprint record per event (inputs, factor versions, figures)."""
    ids = events.column("event_id").to_pylist()
    tenants = events.column("tenant").to_pylist()
    starts = events.column("start_utc").to_pylist()
    ends = events.column("end_utc").to_pylist()
    methods = events.column("attribution_method").to_pylist()
    energy = events.column("energy_j").to_pylist()
    assert fps.energy_low_j is not None and fps.energy_high_j is not None
    assert fps.payload_bytes is not None and fps.price_per_kwh is not None
    out: list[FootprintRecord] = []
    for i, eid in enumerate(ids):
        g = int(fps.region_index[i])
        profile, band, has_pay, has_price, window = fps.group_setup[g]
        sig = _group_sig(fps, g)
        vals: dict[str, tuple[Any, Any, Any]] = {
            k: (
                float(fps.intensity[k][0][i]),
                float(fps.intensity[k][1][i]),
                float(fps.intensity[k][2][i]),
            )
            for k in KINDS
        }
        inputs = event_inputs(
            profile=profile,
            region_id=fps.region_id[i],
            band=band,
            sig=sig,
            values={
                "event_id": eid,
                "energy_j": energy[i],
                "energy_low_j": float(fps.energy_low_j[i]),
                "energy_high_j": float(fps.energy_high_j[i]),
                "attribution_method": methods[i],
                "start_utc": starts[i],
                "end_utc": ends[i],
                "payload_bytes": float(fps.payload_bytes[i]),
                "price_per_kwh": float(fps.price_per_kwh[i]),
                "idle_attributed_j": float(fps.lines.idle_attributed_j[i]) if fps.lines else 0.0,
                "idle_unattributed_j": float(fps.lines.idle_unattributed_j[i])
                if fps.lines
                else 0.0,
            },
            intensity=vals,
            has_payload=has_pay,
            has_price=has_price,
            idle=window,
        )
        versions = _versions(profile, {k: fps.group_provenance[k][g] for k in KINDS}, band)
        out.append(
            FootprintRecord.create(
                tenant=tenants[i],
                inputs=inputs,
                factor_versions=versions,
                figures=figures_from_inputs(inputs),
                period_start_utc=_dt(starts[i]),
                period_end_utc=_dt(ends[i]),
                computed_utc=computed_utc,
                calculator=CALCULATOR,
                event_id=eid,
            )
        )
    return out


def _dt(x: Any) -> datetime:
    if isinstance(x, datetime):
        return x
    raise InputError(f"{x!r} is not a time", field="start_utc")


def footprint_contexts(
    fps: EventFootprints, config: AccountingConfig, methods: Sequence[str] | None = None
) -> list[FootprintContext]:
    """What the footprints of each group share (one compact-layout context each): the
    inputs of :func:`footprint_records` with a slot where each event differs, the factor
    versions, and the line items' labels, sources and scopes.  ``methods``: the attribution
    method of one event of each group (it names the energy label)."""
    out = []
    for g in range(len(fps.group_region_id)):
        profile, band, has_pay, has_price, window = fps.group_setup[g]
        prov = tuple(
            (kind, None if p is None else tuple(sorted(p.items())))
            for kind in KINDS
            for p in (fps.group_provenance[kind][g],)
        )
        out.append(
            _context(
                profile,
                fps.group_region_id[g],
                prov,
                band,
                has_pay,
                has_price,
                energy_band((methods or [""] * (g + 1))[g]).label,
                window,
            )
        )
    return out


@lru_cache(maxsize=1024)
def _context(
    profile: DeploymentProfile,
    rid: str,
    prov: Sig,
    band: str,
    has_payload: bool,
    has_price: bool,
    energy_label: str,
    window: Window | None = None,
) -> FootprintContext:
    """One context (cached: a service builds the same few for every batch)."""
    provs = {k: (None if p is None else dict(p)) for k, p in prov}
    sig = _sig_key(provs)
    slots_ = {k: (slot(f"{k}.value"), slot(f"{k}.low"), slot(f"{k}.high")) for k in KINDS}
    names = (
        "event_id",
        "energy_j",
        "energy_low_j",
        "energy_high_j",
        "attribution_method",
        "start_utc",
        "end_utc",
        "payload_bytes",
        "price_per_kwh",
    )
    values = {k: slot(k) for k in names}
    values["idle_attributed_j"] = slot("idle_measured.attributed_j")
    values["idle_unattributed_j"] = slot("idle_measured.unattributed_j")
    inputs = event_inputs(
        profile=profile,
        region_id=rid,
        band=band,
        sig=sig,
        values=values,
        intensity=slots_,
        has_payload=has_payload,
        has_price=has_price,
        idle=window,
    )
    items = _energy_labelled(
        _items(
            profile, sig, has_payload, band, None if window is None else str(dict(window)["source"])
        ),
        energy_label,
    )
    return FootprintContext(CALCULATOR, _versions(profile, provs, band), inputs, items)


def footprint_batch(
    events: pa.Table,
    fps: EventFootprints,
    config: AccountingConfig,
    *,
    computed_utc: datetime,
    supersedes: pa.Array | None = None,
) -> EventFootprintBatch:
    """The ledger footprints of every event in the compact layout (the ingest hot path).

    The same footprints as :func:`footprint_records` (same inputs, ids, hashes and figures;
    a test pins it): one context per group (:func:`footprint_contexts`) and one row of
    numbers per event, without a Python object per event; the figures are ``fps``'s arrays
    (``figures_from_inputs`` runs the same engine per event, so ``audit verify`` reproduces
    them).  ``supersedes``: the footprint each event's new footprint corrects (re-pricing)."""
    lines = fps.lines
    assert lines is not None
    methods = events.column("attribution_method")
    first = np.full(len(fps.group_region_id), 0, dtype=np.intp)
    first[fps.region_index[::-1]] = np.arange(len(fps.region_index))[::-1]
    rep = pc.take(methods, pa.array(first)).to_pylist() if len(first) else []
    factor = np.asarray(
        [
            fps.group_setup[g][0].pue.value * (1.0 + fps.group_setup[g][0].td_loss_frac.value)
            for g in range(len(first))
        ]
    )
    numbers: dict[str, Any] = {
        "energy_low_j": fps.energy_low_j,
        "energy_high_j": fps.energy_high_j,
        "payload_bytes": fps.payload_bytes,
        "price_per_kwh": fps.price_per_kwh,
        "idle_attributed_j": lines.idle_attributed_j,
        "idle_unattributed_j": lines.idle_unattributed_j,
        "idle_facility_j": lines.idle_attributed_j
        * (factor[fps.region_index] if len(first) else 0.0),
        "network_j": _network_energy(fps),
        "energy_cost": lines.energy_cost,
        **{
            f"total_{b}_{s}": a
            for b in KINDS
            for s, a in zip(("g", "low_g", "high_g"), lines.totals[b], strict=True)
        },
    }
    return build_event_footprints(
        footprint_contexts(fps, config, rep),
        fps.region_index,
        tenant=events.column("tenant"),
        event_id=events.column("event_id"),
        period_start_utc=events.column("start_utc"),
        period_end_utc=events.column("end_utc"),
        computed_utc=computed_utc,
        energy_j=events.column("energy_j"),
        facility_j=fps.facility_j,
        attribution_method=methods,
        intensity=fps.intensity,
        grams=fps.grams,
        lines={
            name: lines.lines[name]
            for name in ("idle_location", "idle_market", "idle_marginal", "embodied", "network")
        },
        numbers=numbers,
        supersedes=supersedes,
        currency=[st[0].currency if st[3] else None for st in fps.group_setup],
    )


def _network_energy(fps: EventFootprints) -> FloatArray:
    coef = np.asarray(
        [
            np.nan if s[0].network_kwh_per_gb is None else s[0].network_kwh_per_gb.value
            for s in fps.group_setup
        ]
    )
    assert fps.payload_bytes is not None
    c = coef[fps.region_index] if len(coef) else np.zeros(0)
    return np.asarray(fps.payload_bytes / 1e9 * c * 3.6e6, dtype=np.float64)
