"""The Meter: wrap an inference call in one line, get joules and gCO2e per request (measured
where the device has a sensor, modelled or illustrative otherwise, and labelled so).

::

    meter = Meter(region="GB", sensor="auto")
    with meter.inference(model="wl01", tenant="acme"):
        predict(x)
    table = meter.footprints()          # pyarrow.Table, one row per inference

The hot path (entering and leaving ``meter.inference(...)``) only records two clock readings
and a few small integers into preallocated ring buffers (:mod:`infercarbon.instrument.buffers`):
no I/O, no lock, no allocation that outlives the call.  Span objects are preallocated, one per
ring slot, so a call allocates only the transient label tuple.  Energy is read by one sampler
thread (or at boundaries), and :meth:`Meter.footprints` does the work afterwards: it attributes
the measured device energy over the recorded intervals with the vectorised engine
(:func:`infercarbon.attribution.attribute`: overlaps, batches, tenants, idle policy) and turns
energy into line items with the core accounting (:mod:`infercarbon.accounting.compose`).

Threads and asyncio: a slot is reserved with an atomic ticket, so concurrent inferences never
share a record; default labels set with :meth:`Meter.context` live in a
:class:`contextvars.ContextVar`, so concurrent asyncio tasks and threads each see their own.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import json
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

import numpy as np
import pyarrow as pa

from infercarbon.accounting import compose as C
from infercarbon.accounting.events import quadrature_band, relative_deviations_frac
from infercarbon.arrays import FloatArray
from infercarbon.attribution import IDLE_POLICIES, attribute, drop_stale_readings
from infercarbon.attribution.idle import IdlePolicy
from infercarbon.errors import ConfigurationError, DataQualityWarning, FallbackWarning, InputError
from infercarbon.instrument.buffers import EXTRAS_BIT, EventBuffer
from infercarbon.provenance import Figure
from infercarbon.reference.regions import Region, resolve_region
from infercarbon.telemetry import (
    ConstantSource,
    CpuModelSource,
    EnergySource,
    Sampler,
    default_clock,
    detect,
)
from infercarbon.telemetry.base import energy_band
from infercarbon.timeutil import MonotonicClockNs, WallClockUtc
from infercarbon.units import J_PER_KWH, NS_PER_S, S_PER_YEAR

__all__ = ["InferenceSpan", "Meter", "RunSpan"]


P = ParamSpec("P")
R = TypeVar("R")

_ERROR_OUTCOME = "error"


def _fig(value: float | Figure | None, unit: str, source: str) -> Figure | None:
    if value is None or isinstance(value, Figure):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"must be a number or a Figure, got {value!r}", field=source)
    return Figure(float(value), unit, source="user input", label="user", note=source)


def _coef_ratios(fig: Figure) -> tuple[float, float]:
    """(low / value, high / value) of a coefficient; (1, 1) for a zero coefficient."""
    if fig.value <= 0:
        return 1.0, 1.0
    lo, hi = fig.range
    return lo / fig.value, hi / fig.value


def _own_band_steps(
    source: EnergySource, dt_s: FloatArray, de_j: FloatArray
) -> tuple[FloatArray, FloatArray, str] | None:
    """Low and high energy [J] of each reading interval from a source that knows its own
    range, with the band's provenance; None for a source that does not.

    CPU model (:class:`~infercarbon.telemetry.cpu_model.CpuModelSource`): the model is
    ``E = P_idle x elapsed + k_dynamic x busy CPU-s`` (system scope; the process scope has the
    dynamic term only).  Each interval's energy is split into its idle term
    (``min(dE, P_idle x dt)``) and its dynamic term (the rest), and each term is scaled by its
    coefficient's p5/p95-to-value ratio (``idle_power_w.range``, ``dynamic_w_per_cpu.range``):
    the same envelope as :meth:`CpuModelSource.energy_range_j` for that interval's busy and
    elapsed time.  Constant power: the power Figure's range over its value.
    """
    if isinstance(source, CpuModelSource):
        idle, dyn = source.idle_power_w, source.dynamic_w_per_cpu
        if source.scope == "system":
            idle_e = np.minimum(de_j, idle.value * dt_s)
        else:
            idle_e = np.zeros_like(de_j)
        dyn_e = de_j - idle_e
        (il, ih), (dl, dh) = _coef_ratios(idle), _coef_ratios(dyn)
        text = (
            f"cpu-model coefficients, p5..p95 over SPECpower results "
            f"({source.curve.matched}): idle {idle.value:.4g} W "
            f"({idle.range[0]:.4g}..{idle.range[1]:.4g} W, system scope only) and dynamic "
            f"{dyn.value:.4g} W per busy CPU ({dyn.range[0]:.4g}..{dyn.range[1]:.4g} W); "
            "each interval's idle and dynamic terms scaled by their coefficient's "
            "low/high ratio"
        )
        return idle_e * il + dyn_e * dl, idle_e * ih + dyn_e * dh, text
    if isinstance(source, ConstantSource):
        p = source.power_w
        lo_r, hi_r = _coef_ratios(p)
        return (
            de_j * lo_r,
            de_j * hi_r,
            (
                f"constant power range {p.range[0]:.4g}.."
                f"{p.range[1]:.4g} W around {p.value:.4g} W "
                f"({p.source})"
            ),
        )
    return None


def _energy_ratios(
    source: EnergySource,
    t_s: FloatArray,
    e_j: FloatArray,
    start_s: FloatArray,
    end_s: FloatArray,
) -> tuple[FloatArray, FloatArray, float, float, str]:
    """Per-inference low/high ratios of the active energy, the window's ratios (used for
    attributed idle energy and the window total), and the band's provenance.

    A source with its own range (:func:`_own_band_steps`): the ratio of an inference's active
    energy is that of the energy the source reported over the inference's span (cumulative
    low/high over cumulative energy between its start and end); an inference over which no
    energy was reported takes its reading interval's ratio.  Idle energy comes from the whole
    window's idle pool and takes the window's ratio.  Any other source: the documented band of
    its method's accuracy class (:func:`infercarbon.telemetry.base.energy_band`), the same for
    every figure.
    """
    n = start_s.size
    dt = np.diff(t_s)
    de = np.diff(e_j)
    own = _own_band_steps(source, dt, de)
    if own is None:
        band = energy_band(f"{source.name}:{source.method}")
        text = f"accuracy class {band.accuracy_class} ({band.method}): {band.source}"
        return (
            np.full(n, band.low_frac),
            np.full(n, band.high_frac),
            band.low_frac,
            band.high_frac,
            text,
        )
    lo_step, hi_step, text = own
    total = float(de.sum())
    w_lo = float(lo_step.sum()) / total if total > 0 else 1.0
    w_hi = float(hi_step.sum()) / total if total > 0 else 1.0
    w_lo, w_hi = min(w_lo, 1.0), max(w_hi, 1.0)
    c = np.concatenate(([0.0], np.cumsum(de)))
    lc = np.concatenate(([0.0], np.cumsum(lo_step)))
    hc = np.concatenate(([0.0], np.cumsum(hi_step)))
    s = np.clip(start_s, t_s[0], t_s[-1])
    e = np.clip(end_s, t_s[0], t_s[-1])
    d_c = np.interp(e, t_s, c) - np.interp(s, t_s, c)
    d_l = np.interp(e, t_s, lc) - np.interp(s, t_s, lc)
    d_h = np.interp(e, t_s, hc) - np.interp(s, t_s, hc)
    pos_step = de > 0
    safe_de = np.where(pos_step, de, 1.0)
    step_lo = np.where(pos_step, lo_step / safe_de, w_lo)
    step_hi = np.where(pos_step, hi_step / safe_de, w_hi)
    idx = np.clip(np.searchsorted(t_s, s, side="right") - 1, 0, dt.size - 1)
    pos = d_c > 0
    safe_c = np.where(pos, d_c, 1.0)
    r_lo = np.where(pos, d_l / safe_c, step_lo[idx])
    r_hi = np.where(pos, d_h / safe_c, step_hi[idx])
    # float noise must not push a ratio across 1 (the band must bracket the figure)
    return np.minimum(r_lo, 1.0), np.maximum(r_hi, 1.0), w_lo, w_hi, text


class InferenceSpan:
    """One preallocated record handle (per ring slot); returned by ``meter.inference()``.

    Use it as a context manager.  Inside the block, :meth:`set` records results known only at
    the end (``tokens_out``, ``outcome``).  An exception leaving the block records the outcome
    ``"error"``.
    """

    __slots__ = ("_buf", "_clock", "_seq", "_t_end", "_t_start", "slot", "ticket")

    def __init__(self, buf: EventBuffer, clock: MonotonicClockNs, slot: int) -> None:
        self._buf = buf
        self._clock = clock
        self._t_start = buf.t_start
        self._t_end = buf.t_end
        self._seq = buf.seq
        self.slot = slot
        self.ticket = -1

    def __enter__(self) -> InferenceSpan:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._t_end[self.slot] = self._clock()
        if exc_type is not None:
            self.set(outcome=_ERROR_OUTCOME)
        self._seq[self.slot] = self.ticket

    async def __aenter__(self) -> InferenceSpan:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def set(
        self,
        *,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
        payload_bytes: int | None = None,
        outcome: str | None = None,
    ) -> None:
        """Record per-request figures known only inside the block."""
        buf, slot = self._buf, self.slot
        k = buf.key[slot]
        if not k & EXTRAS_BIT:
            buf.tokens_in[slot] = 0
            buf.tokens_out[slot] = 0
            buf.payload[slot] = 0
            buf.outcome[slot] = 0
            buf.items[slot] = 1
            buf.key[slot] = k | EXTRAS_BIT
        if tokens_in is not None:
            buf.tokens_in[slot] = _count(tokens_in, "tokens_in")
        if tokens_out is not None:
            buf.tokens_out[slot] = _count(tokens_out, "tokens_out")
        if payload_bytes is not None:
            buf.payload[slot] = _count(payload_bytes, "payload_bytes")
        if outcome is not None:
            buf.outcome[slot] = buf.intern_outcome(outcome)


def _utc_now() -> datetime:
    """The wall clock in UTC (:meth:`Meter.run`'s default)."""
    return datetime.now(UTC)


class RunSpan:
    """A training, fine-tuning, evaluation, retraining or data-pipeline run metered by a
    :class:`Meter` (``with meter.run(kind="train", model="m", store=ledger) as run: ...``).

    The device energy is read when the block is entered and left; the status comes from how
    the block ended: normally (or ``SystemExit(0)``) ``succeeded``; ``KeyboardInterrupt``
    ``killed`` (SIGINT); any other exception ``failed`` (the exception propagates).  After
    the block, :attr:`record` is the ``runs`` row; with a ``store`` it is appended there.
    """

    def __init__(
        self,
        meter: Meter,
        *,
        kind: str,
        model: str,
        tenant: str,
        system: str | None,
        lineage: str | None,
        store: Any,
        now: WallClockUtc,
    ) -> None:
        # the ledger package (DuckDB and all) is imported only when a run is metered: the
        # Meter's import stays light
        from infercarbon.ledger.schema import RUN_KINDS

        if kind not in RUN_KINDS:
            raise InputError(f"must be one of {', '.join(RUN_KINDS)}, got {kind!r}", field="kind")
        for name, v in (("model", model), ("tenant", tenant)):
            if not isinstance(v, str) or not v:
                raise InputError("must be a non-empty string", field=name)
        self._meter, self._store, self._now = meter, store, now
        self.kind, self.model, self.tenant = kind, model, tenant
        self.system, self.lineage = system, lineage
        self.record: dict[str, Any] | None = None
        self._e0 = 0.0
        self._t0: datetime | None = None

    def __enter__(self) -> RunSpan:
        self._t0 = self._now()
        self._e0 = self._meter.sampler.sample()[1]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        e1 = self._meter.sampler.sample()[1]
        t1 = self._now()
        assert self._t0 is not None
        if exc_type is None or (isinstance(exc, SystemExit) and exc.code in (0, None)):
            status, sig = "succeeded", None
        elif isinstance(exc, KeyboardInterrupt):
            status, sig = "killed", "SIGINT"
        else:
            status, sig = "failed", None
        src = self._meter.source
        band = energy_band(src.method)
        energy = max(e1 - self._e0, 0.0)
        intensity = self._meter.region.intensity_g_per_kwh.value
        row: dict[str, Any] = {
            "tenant": self.tenant,
            "kind": self.kind,
            "model": self.model,
            "lineage": self.lineage,
            "system": self.system,
            "status": status,
            "exit_code": None,
            "signal": sig,
            "start_utc": self._t0.astimezone(UTC),
            "end_utc": max(t1, self._t0).astimezone(UTC),
            "energy_j": energy,
            "energy_low_j": energy * band.low_frac,
            "energy_high_j": energy * band.high_frac,
            "method": f"{src.name}/{src.method} (Meter.run)",
            "label": band.label if band.label in ("measured", "modelled") else src.label,
            "source": "meter.run",
            "region": self._meter.region.region_id,
            "gpu_hours": None,
            "emissions_g": energy / J_PER_KWH * intensity,
            "intensity_g_per_kwh": intensity,
            "command": None if exc_type is None else exc_type.__name__,
            "supersedes": None,
        }
        from infercarbon.ledger.canonical import run_id_for
        from infercarbon.ledger.schema import RUNS

        row["run_id"] = run_id_for(row)
        self.record = {c: row[c] for c in RUNS.names}
        if self._store is not None:
            self._store.append_runs([self.record])


def _count(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
        raise InputError(f"must be an integer >= 0, got {v!r}", field=name)
    return int(v)


class Meter:
    """Per-inference energy and emissions from a measured (or modelled) device energy source.

    Parameters
    ----------
    region : str
        Grid region of the device (resolved with :func:`infercarbon.resolve_region`); its
        annual location-based intensity is the location line.
    sensor : "auto", "auto-cpu", a source name, or an EnergySource
        ``"auto"`` picks the best available source (:func:`infercarbon.telemetry.detect`);
        ``"auto-cpu"`` the best CPU-side one (for models that run on the CPU); a
        name (``"rapl"``, ``"cpu-model"``...) insists on that one; an instance is used as is.
    idle_policy : {"30-70", "tenancy", "none"}
        How idle device energy is attributed (:mod:`infercarbon.attribution.idle`).
    tenancy_shares : mapping tenant -> fraction, optional
        Required by ``tenancy``: each tenant's share of idle energy (sum <= 1).
    clock : callable returning int [ns]
        Timestamps for inferences and sensor readings (one clock for both).
    capacity : int
        Ring size in inferences (a power of two).  Older records are overwritten and counted.
    pue : float or Figure, optional
        Facility PUE.  When not given, energy is IT energy only (recorded as such).
    market_intensity_g_per_kwh, marginal_intensity_g_per_kwh : float or Figure, optional
        Market-based (contractual) and marginal intensities.  Without a market figure, the
        market line falls back to the location figure (warned and labelled).
    td_loss_frac : float, optional
        Transmission and distribution loss fraction.
    embodied_kg, lifetime_years : optional
        Device embodied carbon and service life; embodied per inference is its wall-clock
        share at the measured utilisation.
    training_t, lifetime_inferences : optional
        A training footprint [t CO2e] amortised over the model's lifetime inferences.
    network_kwh_per_gb : float, optional
        Network energy per GB of payload (network line; excluded when not given).
    baseline_idle_w : float, optional
        Device idle power; the share under active slices counts as idle (see attribution).
    period_s, sampler_mode :
        Sampler settings: one thread reading every ``period_s`` ("thread", the default), or
        readings only at start and at :meth:`footprints` ("boundary", counters only).
    sensor_options : mapping, optional
        Passed to :func:`infercarbon.telemetry.detect` (e.g. ``cpu_scope="process"``).
    trace_context : {"none", "otel"}
        ``"otel"``: record the W3C trace context of each inference from the current
        OpenTelemetry span (``opentelemetry-api``; the span's trace id and, as the event's
        ``parent_span_id``, its span id), so that :meth:`footprints` has ``trace_id`` and
        ``parent_span_id`` columns and the ledger rolls up per trace.  Off by default: it
        costs a span lookup per call.
    start : bool
        Start sampling now (default); otherwise call :meth:`start`.
    """

    #: ``meter.inference(model=, tenant=, service=, tokens_in=, tokens_out=, payload_bytes=,
    #: outcome=, items=)``: the hot path, built per meter with its buffers bound as locals
    inference: Callable[..., InferenceSpan]

    def __init__(
        self,
        region: str,
        *,
        sensor: str | EnergySource = "auto",
        idle_policy: IdlePolicy = "30-70",
        tenancy_shares: Mapping[str, float] | None = None,
        clock: MonotonicClockNs = default_clock,
        capacity: int = 1 << 16,
        pue: float | Figure | None = None,
        market_intensity_g_per_kwh: float | Figure | None = None,
        marginal_intensity_g_per_kwh: float | Figure | None = None,
        td_loss_frac: float | None = None,
        embodied_kg: float | Figure | None = None,
        lifetime_years: float | None = None,
        training_t: float | Figure | None = None,
        lifetime_inferences: float | None = None,
        network_kwh_per_gb: float | Figure | None = None,
        baseline_idle_w: float | None = None,
        period_s: float = 0.1,
        sampler_mode: str = "thread",
        sensor_options: Mapping[str, Any] | None = None,
        trace_context: str = "none",
        start: bool = True,
    ) -> None:
        if idle_policy not in IDLE_POLICIES:
            raise InputError(
                f"must be one of {', '.join(IDLE_POLICIES)}, got {idle_policy!r}",
                field="idle_policy",
            )
        if idle_policy == "tenancy" and not tenancy_shares:
            raise InputError(
                "the tenancy idle policy needs a share per tenant", field="tenancy_shares"
            )
        self.region: Region = resolve_region(region)
        self.idle_policy = idle_policy
        self.tenancy_shares = dict(tenancy_shares or {})
        self.clock = clock
        self.pue = _fig(pue, "ratio", "pue")
        if self.pue is not None and self.pue.value < 1.0:
            raise InputError("PUE is facility/IT energy and cannot be below 1", field="pue")
        self.market = _fig(market_intensity_g_per_kwh, "g_per_kwh", "market_intensity_g_per_kwh")
        self.marginal = _fig(
            marginal_intensity_g_per_kwh, "g_per_kwh", "marginal_intensity_g_per_kwh"
        )
        if td_loss_frac is not None and not 0.0 <= td_loss_frac <= 0.5:
            raise InputError("must be a fraction in [0, 0.5]", field="td_loss_frac")
        self.td_loss_frac = td_loss_frac
        self.embodied_kg = _fig(embodied_kg, "kg", "embodied_kg")
        if (self.embodied_kg is None) != (lifetime_years is None):
            raise InputError(
                "give both embodied_kg and lifetime_years, or neither", field="lifetime_years"
            )
        self.lifetime_years = lifetime_years
        self.training_t = _fig(training_t, "t", "training_t")
        if (self.training_t is None) != (lifetime_inferences is None):
            raise InputError(
                "give both training_t and lifetime_inferences, or neither",
                field="lifetime_inferences",
            )
        self.lifetime_inferences = lifetime_inferences
        self.network_kwh_per_gb = _fig(network_kwh_per_gb, "kwh_per_gb", "network_kwh_per_gb")
        self.baseline_idle_w = baseline_idle_w
        if isinstance(sensor, str):
            self.source, self.availability = detect(
                sensor, clock=clock, **dict(sensor_options or {})
            )
        else:
            if not isinstance(sensor, EnergySource):
                raise InputError("must be 'auto', a source name or an EnergySource", field="sensor")
            self.source, self.availability = sensor, []
        if sampler_mode not in ("thread", "boundary"):
            raise InputError(
                f"must be 'thread' or 'boundary', got {sampler_mode!r}", field="sampler_mode"
            )
        self.sampler = Sampler(
            self.source,
            clock=clock,
            period_s=period_s,
            mode="thread" if sampler_mode == "thread" else "boundary",
        )
        if trace_context not in ("none", "otel"):
            raise InputError(
                f"must be 'none' or 'otel', got {trace_context!r}", field="trace_context"
            )
        self.trace_context = trace_context
        self._buf = EventBuffer(capacity, traced=trace_context == "otel")
        # the default clock wraps time.monotonic_ns; call the builtin directly on the hot path
        hot_clock: MonotonicClockNs = time.monotonic_ns if clock is default_clock else clock
        self._spans = [InferenceSpan(self._buf, hot_clock, s) for s in range(capacity)]
        # a one-element list the hot path reads: True once meter.context() was used
        self._context_used: list[bool] = []
        self._defaults: contextvars.ContextVar[tuple[str | None, str | None]] = (
            contextvars.ContextVar(f"infercarbon_meter_{id(self)}", default=(None, None))
        )
        self._build_hot_path()
        if trace_context == "otel":
            self._trace_hot_path()
        if start:
            self.start()

    # -------------------------------------------------------------------- hot path
    def _build_hot_path(self) -> None:
        buf = self._buf
        spans = self._spans
        label_ids = buf.label_ids
        intern = buf.intern_labels
        next_ticket = buf.next_ticket
        mask = buf.mask
        key = buf.key
        defaults = self._defaults.get
        t_start = buf.t_start
        clock = spans[0]._clock
        context_used = self._context_used

        tokens_in_a, tokens_out_a, payload_a = buf.tokens_in, buf.tokens_out, buf.payload
        outcome_a, items_a = buf.outcome, buf.items
        outcome_ids = buf.outcome_ids.get
        intern_outcome = buf.intern_outcome

        def with_extras(
            k: int,
            tokens_in: Any,
            tokens_out: Any,
            payload_bytes: Any,
            outcome: str | None,
            items: Any,
        ) -> InferenceSpan:
            """The branch for calls that carry tokens, payload, outcome or a batch size."""
            if not (
                type(tokens_in) is int
                and type(tokens_out) is int
                and type(payload_bytes) is int
                and type(items) is int
                and tokens_in >= 0
                and tokens_out >= 0
                and payload_bytes >= 0
                and items >= 1
            ):
                tokens_in, tokens_out, payload_bytes, items = _checked_counts(
                    tokens_in, tokens_out, payload_bytes, items
                )
            oc = outcome_ids(outcome) if type(outcome) is str or outcome is None else None
            if oc is None:  # a new outcome, or not a string (intern_outcome names the field)
                oc = intern_outcome(outcome)
            ticket = next_ticket()
            slot = ticket & mask
            tokens_in_a[slot] = tokens_in
            tokens_out_a[slot] = tokens_out
            payload_a[slot] = payload_bytes
            outcome_a[slot] = oc
            items_a[slot] = items
            key[slot] = k | EXTRAS_BIT
            span = spans[slot]
            span.ticket = ticket
            t_start[slot] = clock()
            return span

        def inference(
            model: str | None = None,
            tenant: str | None = None,
            service: str | None = None,
            tokens_in: int = 0,
            tokens_out: int = 0,
            payload_bytes: int = 0,
            outcome: str | None = None,
            items: int = 1,
        ) -> InferenceSpan:
            """Meter one inference (or a batch of ``items``): ``with meter.inference(...):``."""
            if context_used and (tenant is None or service is None):
                d_tenant, d_service = defaults()
                if tenant is None:
                    tenant = d_tenant
                if service is None:
                    service = d_service
            k = label_ids.get((model, tenant, service))
            if k is None:
                k = intern(model, tenant, service)
            if tokens_in or tokens_out or payload_bytes or outcome is not None or items != 1:
                return with_extras(k, tokens_in, tokens_out, payload_bytes, outcome, items)
            ticket = next_ticket()
            slot = ticket & mask
            span = spans[slot]
            span.ticket = ticket
            key[slot] = k
            t_start[slot] = clock()
            return span

        self.inference = inference

    def _trace_hot_path(self) -> None:
        """Wrap the hot path: each call also stores the current OpenTelemetry span's trace
        id and span id in its record (zeros when no span is recording)."""
        try:
            from opentelemetry import trace as otel_trace
        except ImportError as exc:
            raise ConfigurationError(
                "trace_context='otel' needs opentelemetry-api (pip install "
                "'infercarbon[service]' or opentelemetry-api)"
            ) from exc
        current = otel_trace.get_current_span
        untraced = self.inference
        hi, lo, span_id = self._buf.trace_hi, self._buf.trace_lo, self._buf.span_id
        low64 = (1 << 64) - 1

        def inference(*args: Any, **labels: Any) -> InferenceSpan:
            span = untraced(*args, **labels)
            ctx = current().get_span_context()
            slot = span.slot
            if ctx.is_valid:
                hi[slot] = ctx.trace_id >> 64
                lo[slot] = ctx.trace_id & low64
                span_id[slot] = ctx.span_id
            else:
                hi[slot] = lo[slot] = span_id[slot] = 0
            return span

        self.inference = inference

    def batch(self, n: int, **labels: Any) -> InferenceSpan:
        """Meter one batched call of ``n`` items: its energy is split over the items."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise InputError(f"must be an integer >= 1, got {n!r}", field="n")
        return self.inference(items=int(n), **labels)

    def track(self, func: Callable[P, R] | None = None, /, **labels: Any) -> Any:
        """Decorator metering every call of a sync or async function.

        ``@meter.track`` or ``@meter.track(model="wl01", tenant="acme")``.
        """

        def wrap(f: Callable[P, R]) -> Callable[P, R]:
            inference = self.inference
            if inspect.iscoroutinefunction(f):
                af = cast(Callable[P, Awaitable[Any]], f)

                @functools.wraps(f)
                async def awrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                    with inference(**labels):
                        return await af(*args, **kwargs)

                return cast(Callable[P, R], awrapper)

            @functools.wraps(f)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                with inference(**labels):
                    return f(*args, **kwargs)

            return wrapper

        if func is not None:
            labels.setdefault("model", getattr(func, "__qualname__", None))
            return wrap(func)
        return wrap

    @contextlib.contextmanager
    def context(self, *, tenant: str | None = None, service: str | None = None) -> Iterator[None]:
        """Default tenant/service for inferences in this thread or asyncio task."""
        if not self._context_used:
            self._context_used.append(True)
        token = self._defaults.set((tenant, service))
        try:
            yield
        finally:
            self._defaults.reset(token)

    def run(
        self,
        *,
        kind: str,
        model: str,
        tenant: str = "default",
        system: str | None = None,
        lineage: str | None = None,
        store: Any = None,
        now: WallClockUtc = _utc_now,
    ) -> RunSpan:
        """Meter a training, fine-tuning, evaluation, retraining or data-pipeline run
        (:class:`RunSpan`); ``store`` (a ledger Store) records it, ``now`` gives UTC times."""
        return RunSpan(
            self,
            kind=kind,
            model=model,
            tenant=tenant,
            system=system,
            lineage=lineage,
            store=store,
            now=now,
        )

    # ------------------------------------------------------------------- lifecycle
    def start(self) -> Meter:
        if not self.sampler.running and not self.sampler.count:
            self.sampler.start()
        return self

    def stop(self) -> None:
        """Stop the sampler (a last reading is taken); footprints stay available."""
        self.sampler.stop()

    def close(self) -> None:
        self.stop()
        self.source.close()

    def __enter__(self) -> Meter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def nbytes(self) -> int:
        """Memory of the preallocated event buffers [bytes] (spans not included)."""
        return self._buf.nbytes

    # ------------------------------------------------------------------ results
    def footprints(self) -> pa.Table:
        """One row per metered inference (batches expanded to their items), with energy,
        every line item, method label and provenance.  Schema metadata ``infercarbon`` holds
        the window's conservation summary (JSON), with the window's energy band
        (``total_low_j``/``total_high_j``) and ``energy_label``.

        Ranges: ``energy_low_j``/``energy_high_j`` [J] are the inference's p5..p95 energy band.
        A source that knows its own range gives it (the CPU model scales each reading
        interval's idle and dynamic terms by its coefficients' low/high ratios, a constant
        source its power range; an inference's active energy takes the ratio of the energy
        reported over its own span, attributed idle the window's ratio); any other source
        gives its accuracy class's band (:func:`infercarbon.telemetry.base.energy_band` of
        ``"<sensor>:<method>"``).  ``energy_band_source`` says which.  The operational lines
        (``operational_{location,market,marginal}_{low,high}_g``) combine the active energy's
        band, the intensity Figure's range and the PUE Figure's range by first-order
        quadrature of relative deviations per side
        (:func:`infercarbon.accounting.events.quadrature_band`).

        The table is a :class:`pyarrow.Table`; ``.to_pandas()`` on it needs pandas, which the
        core does not install: ``pip install 'infercarbon[pandas]'``.
        """
        if self.sampler.running or self.sampler.mode == "boundary":
            self.sampler.sample()
        snap = self._buf.snapshot()
        t_ns, e_j = self.sampler.readings()
        if getattr(self.source, "coarse_updates", False):
            t_ns, e_j = drop_stale_readings(t_ns, e_j)
        if t_ns.size < 2:
            raise ConfigurationError(
                "the meter has fewer than two energy readings; "
                "start it before metering and read after"
            )
        items = snap.items
        n_rec = snap.seq.size
        rec = np.repeat(np.arange(n_rec), items)
        n = rec.size
        item_index = np.arange(n) - np.repeat(np.cumsum(items) - items, items)
        origin = int(t_ns[0])
        start_s = (snap.t_start_ns[rec] - origin) / NS_PER_S
        end_s = (snap.t_end_ns[rec] - origin) / NS_PER_S
        batch_id = np.where(items[rec] > 1, rec, -1)
        labels = snap.labels
        lab = (
            np.array(labels, dtype=object).reshape(-1, 3)
            if labels
            else np.empty((0, 3), dtype=object)
        )
        tenants = sorted({t for _, t, _ in labels if t is not None} | set(self.tenancy_shares))
        tenant_code = {t: i for i, t in enumerate(tenants)}
        label_tenant = np.array(
            [
                tenant_code.get(t, len(tenants)) if t is not None else len(tenants)
                for _, t, _ in labels
            ]
            or [0],
            np.int64,
        )
        shares = np.array([self.tenancy_shares.get(t, 0.0) for t in tenants] + [0.0])
        weights = None
        tok = (snap.tokens_in + snap.tokens_out)[rec]
        if n and (tok > 0).all():
            weights = tok
        res = attribute(
            (t_ns - origin) / NS_PER_S,
            cumulative_j=e_j,
            start_s=start_s,
            end_s=end_s,
            weight=weights,
            batch_id=batch_id,
            tenant=label_tenant[snap.label_id[rec]] if n else np.zeros(0, np.int64),
            tenancy_shares=shares if self.idle_policy == "tenancy" else None,
            idle_policy=self.idle_policy,
            baseline_idle_w=self.baseline_idle_w,
        )
        band = _energy_ratios(
            self.source,
            np.asarray((t_ns - origin) / NS_PER_S, np.float64),
            np.asarray(e_j, np.float64),
            np.asarray(start_s, np.float64),
            np.asarray(end_s, np.float64),
        )
        return self._table(snap, rec, item_index, lab, res, band)

    def _table(
        self,
        snap: Any,
        rec: Any,
        item_index: Any,
        lab: Any,
        res: Any,
        band: tuple[FloatArray, FloatArray, float, float, str],
    ) -> pa.Table:
        n = rec.size
        region = self.region
        loc = region.intensity_g_per_kwh
        pue = 1.0 if self.pue is None else self.pue.value
        td = 0.0 if self.td_loss_frac is None else self.td_loss_frac
        notes = list(res.notes)
        if self.market is None:
            warnings.warn(
                "no market-based intensity given: the market line uses the location-based "
                f"figure ({loc.value:g} g/kWh) and is labelled so",
                FallbackWarning,
                stacklevel=2,
            )
            market_v, market_label = loc.value, "fallback: location-based figure"
        else:
            market_v, market_label = self.market.value, self.market.label
        active = res.active_j
        idle = res.idle_j
        dev_t = res.device_time_s
        cols: dict[str, Any] = {}
        cols["seq"] = snap.seq[rec]
        cols["item"] = item_index
        cols["batch_items"] = snap.items[rec]
        cols["start_ns"] = snap.t_start_ns[rec]
        cols["end_ns"] = snap.t_end_ns[rec]
        for j, name in enumerate(("model", "tenant", "service")):
            values = lab[snap.label_id[rec], j] if n else np.empty(0, dtype=object)
            cols[name] = pa.array(values.tolist(), type=pa.string()).dictionary_encode()
        outcomes = np.array(snap.outcomes, dtype=object)
        cols["outcome"] = pa.array(
            outcomes[snap.outcome_id[rec]].tolist(), type=pa.string()
        ).dictionary_encode()
        cols["tokens_in"] = snap.tokens_in[rec]
        cols["tokens_out"] = snap.tokens_out[rec]
        cols["payload_bytes"] = snap.payload_bytes[rec]
        cols["wall_s"] = res.wall_s
        cols["device_time_s"] = dev_t
        cols["active_energy_j"] = active
        cols["idle_energy_j"] = idle
        cols["energy_j"] = active + idle
        # the energy's own p5..p95 band (see _energy_ratios): ratios <= 1 <= ratios, so
        # low <= energy_j <= high holds row by row, in floating point too
        a_lo, a_hi, w_lo, w_hi, band_source = band
        cols["energy_low_j"] = active * a_lo + idle * w_lo
        cols["energy_high_j"] = active * a_hi + idle * w_hi
        cols["clipped"] = res.clipped
        # ranges of the operational lines: active energy band, intensity range and PUE range
        # combined by first-order quadrature of relative deviations per side
        e_dev = (1.0 - a_lo, a_hi - 1.0)
        pue_dev = (
            (0.0, 0.0)
            if self.pue is None
            else relative_deviations_frac(self.pue.value, *self.pue.range)
        )

        def ranged(name: str, intensity: Figure) -> None:
            g = C.operational_g(active, intensity.value, pue=pue, td_loss_frac=td)
            i_dev = relative_deviations_frac(intensity.value, *intensity.range)
            lo, hi = quadrature_band(
                g, (e_dev[0], i_dev[0], pue_dev[0]), (e_dev[1], i_dev[1], pue_dev[1])
            )
            cols[name + "_g"] = g
            cols[name + "_low_g"] = lo
            cols[name + "_high_g"] = hi

        ranged("operational_location", loc)
        op_loc = cols["operational_location_g"]
        ranged("operational_market", loc if self.market is None else self.market)
        if self.marginal is not None:
            ranged("operational_marginal", self.marginal)
        idle_loc = C.operational_g(idle, loc.value, pue=pue, td_loss_frac=td)
        cols["idle_location_g"] = idle_loc
        idle_mkt = C.operational_g(idle, market_v, pue=pue, td_loss_frac=td)
        cols["idle_market_g"] = idle_mkt
        window_s = res.window_s[1] - res.window_s[0]
        util = res.busy_s / window_s if window_s > 0 else 1.0
        zeros = np.zeros(n)
        if self.embodied_kg is not None and self.lifetime_years is not None and util > 0:
            emb = C.embodied_g(
                self.embodied_kg.value, self.lifetime_years * S_PER_YEAR, dev_t, util
            )
        else:
            emb = zeros
            notes.append("embodied: excluded (no embodied_kg/lifetime_years given)")
        cols["embodied_g"] = emb
        if self.training_t is not None and self.lifetime_inferences is not None:
            trn = C.training_g(self.training_t.value, self.lifetime_inferences) * np.ones(n)
        else:
            trn = zeros
            notes.append("training: excluded (no training_t/lifetime_inferences given)")
        cols["training_g"] = trn
        if self.network_kwh_per_gb is not None:
            net = C.network_g(snap.payload_bytes[rec], self.network_kwh_per_gb.value, loc.value)
        else:
            net = zeros
            notes.append("network: excluded (no network_kwh_per_gb given)")
        cols["network_g"] = net
        label, method = self.source.label, self.source.method
        if label == "measured" and res.total_j <= 0 and res.busy_s > 0:
            # a counter that did not move while inferences ran: 0 J is not a measurement
            label, method = "degraded", "degraded-frozen-counter"
            warnings.warn(
                f"{self.source.name}: the energy counter did not advance over "
                f"{res.busy_s:.3g} s of inference; the figures are labelled degraded "
                "(check the sensor, or meter with another source)",
                DataQualityWarning,
                stacklevel=2,
            )
            notes.append("degraded: the energy counter did not advance while inferences ran")
        cols["total_location_g"] = op_loc + idle_loc + emb + trn + net
        cols["total_market_g"] = cols["operational_market_g"] + idle_mkt + emb + trn + net
        const = {
            "region": region.region_id,
            "intensity_location_g_per_kwh": loc.value,
            "intensity_source": f"{loc.source} ({loc.label}"
            + (f", {loc.vintage})" if loc.vintage else ")"),
            "intensity_market_g_per_kwh": market_v,
            "market_label": market_label,
            "pue": pue,
            "pue_source": "not given: IT energy only" if self.pue is None else self.pue.source,
            "sensor": self.source.name,
            "method": method,
            "accuracy_class": self.source.accuracy_class,
            "energy_label": label,
            "energy_band_source": band_source,
            "idle_policy": self.idle_policy,
            "utilisation_frac": util,
        }
        for name, value in const.items():
            cols[name] = (
                pa.array([value] * n)
                if not isinstance(value, str)
                else (pa.array([value] * n, type=pa.string()).dictionary_encode())
            )
        summary = res.summary()
        if self.source.label != "measured":
            # the attribution engine speaks of measured energy; say what this energy is
            notes = [
                nt.replace("measured window", "metered window").replace(
                    "measured", self.source.label
                )
                for nt in notes
            ]
        summary.update(
            energy_label=label,
            total_low_j=res.total_j * w_lo,
            total_high_j=res.total_j * w_hi,
            energy_band_source=band_source,
        )
        summary.update(
            dropped_records=snap.dropped,
            in_flight=snap.in_flight,
            notes=notes,
            sampler_dropped_readings=self.sampler.dropped,
            source=self.source.describe(),
        )
        if snap.dropped:
            warnings.warn(
                f"{snap.dropped} inference record(s) were overwritten by the ring "
                f"buffer (capacity {self._buf.capacity}) before this read; enlarge "
                "capacity or read more often",
                FallbackWarning,
                stacklevel=2,
            )
        if snap.trace is not None:
            cols.update(_trace_columns(snap.trace, rec))
        table = pa.table(cols)
        return table.replace_schema_metadata({"infercarbon": json.dumps(summary, default=str)})

    def summary(self, table: pa.Table) -> dict[str, Any]:
        """The conservation summary stored in a footprints table's metadata."""
        meta = table.schema.metadata or {}
        raw = meta.get(b"infercarbon")
        if raw is None:
            raise InputError("not a Meter footprints table", field="table")
        out: dict[str, Any] = json.loads(raw)
        return out


def _trace_columns(trace: tuple[Any, Any, Any], rec: Any) -> dict[str, pa.Array]:
    """``trace_id`` (32 hex digits) and ``parent_span_id`` (16) of each row; null where the
    call had no recording span."""
    hi, lo, span = (np.asarray(a, dtype=np.uint64)[rec] for a in trace)
    valid = (hi | lo) != 0
    trace_hex = [
        f"{h:016x}{low:016x}" if v else None
        for h, low, v in zip(hi.tolist(), lo.tolist(), valid.tolist(), strict=True)
    ]
    span_hex = [
        f"{s:016x}" if v and s else None for s, v in zip(span.tolist(), valid.tolist(), strict=True)
    ]
    return {
        "trace_id": pa.array(trace_hex, pa.string()),
        "parent_span_id": pa.array(span_hex, pa.string()),
    }


def _checked_counts(
    tokens_in: Any, tokens_out: Any, payload_bytes: Any, items: Any
) -> tuple[int, int, int, int]:
    """The extras of one call, validated (the slow path of the hot path's fast type check)."""
    if isinstance(items, bool) or not isinstance(items, int | np.integer) or items < 1:
        raise InputError(f"must be an integer >= 1, got {items!r}", field="items")
    return (
        _count(tokens_in, "tokens_in"),
        _count(tokens_out, "tokens_out"),
        _count(payload_bytes, "payload_bytes"),
        int(items),
    )
