"""CPU power reference: SPECpower_ssj2008 results and CPU TDPs, and the load-to-power curve.

Data (regenerate with ``tools/build_cpu_reference.py``; see ``data/SOURCES.md``):

- ``data/specpower.csv``: SPECpower_ssj2008 results (SPEC, via Cloud Carbon Footprint,
  Apache-2.0), 2007-2021: whole-server **wall** watts at 100 % load and at active idle, with
  threads and installed memory.  Only those two load levels are in the data.
- ``data/cpu_tdp.csv``: CPU model -> TDP [W] (via CodeCarbon, MIT).

The model (:func:`cpu_power_curve`), stated in full:

1. **Memory** [W/GB] at idle and at 100 % load is estimated from SPECpower itself, within
   configurations: among results with the same CPU, chips, nodes and threads but different
   installed memory, the within-group least-squares slope of watts on GB
   (:func:`memory_power_w_per_gb`).  Range: p5..p95 of a bootstrap over configuration groups
   (seeded, deterministic).
2. **CPU+platform per hardware thread** [W/thread] for each result:
   ``(watts - memory_w_per_gb x memory_gb) / threads``, at idle and at 100 %.
3. The detected CPU is matched to the results, most specific first: ``model`` (same
   normalised model name) > ``family`` (same model-less name, e.g. "EPYC", "Xeon Platinum") >
   ``tdp`` (bare metal only: TDP per thread of the package times the median
   SPECpower-full-load-per-TDP ratio of results whose CPU has a TDP) > ``cohort`` (all results
   submitted 2017 or later; the caller must warn).  The figure is the median of the matched
   results; its range is their p5..p95 (min..max below 5 results).
4. Power at utilisation ``u`` (fraction of hardware threads busy) is **linear** between idle
   and 100 %: the data holds no intermediate load levels.  Measured SPECpower curves are
   close to linear, slightly concave (more power at low load than linear), so the linear model
   tends to under-read mid loads by up to ~10-20 % of the idle-to-full span.

>>> c = cpu_power_curve("AMD EPYC 7742 64-Core Processor")
>>> c.match, c.idle_w_per_thread.label, c.full_w_per_thread.value > c.idle_w_per_thread.value
('model', 'derived', True)
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from infercarbon.errors import DataError, InputError
from infercarbon.provenance import Figure

__all__ = [
    "SPECPOWER_SOURCE",
    "TDP_SOURCE",
    "CpuPowerCurve",
    "SpecPowerResult",
    "cpu_power_curve",
    "cpu_tdp_w",
    "memory_power_w_per_gb",
    "normalise_cpu_name",
    "specpower_results",
]

SPECPOWER_SOURCE = "SPECpower_ssj2008 results (SPEC), via Cloud Carbon Footprint"
SPECPOWER_LICENCE = "Apache-2.0 (CCF compilation)"
TDP_SOURCE = "CPU TDP table, via CodeCarbon (cpu_power.csv)"
TDP_LICENCE = "MIT"
#: Results submitted in or after this year form the generic cohort.
COHORT_FROM_YEAR = 2017
_BOOTSTRAP_DRAWS = 2000
_DROP_TOKENS = frozenset(
    {"intel", "amd", "cpu", "processor", "with", "radeon", "graphics", "vega", "mobile"}
)


@dataclass(frozen=True, slots=True)
class SpecPowerResult:
    """One SPECpower_ssj2008 result (whole server or multi-node system, wall power)."""

    cpu: str
    submitted: str
    nodes: int
    chips: int
    cores: int
    threads: int
    memory_gb: float
    watts_100: float
    watts_idle: float


@dataclass(frozen=True, slots=True)
class CpuPowerCurve:
    """A linear load-to-power curve per hardware thread, plus memory.

    Attributes
    ----------
    idle_w_per_thread, full_w_per_thread : Figure
        CPU + platform wall power per hardware thread at active idle and at 100 % [W].
    dynamic_w_per_thread : Figure
        Full minus idle per thread [W], summarised over the matched results' own differences
        (its range is narrower than the difference of the two ranges).
    mem_idle_w_per_gb, mem_full_w_per_gb, mem_dynamic_w_per_gb : Figure
        Memory wall power per installed GB at idle, at 100 % load, and their difference
        [W/GB].
    match : str
        ``model`` | ``family`` | ``tdp`` | ``cohort`` (see the module docstring).
    matched : str
        What the CPU was matched to, in words.
    n_results : int
        SPECpower results behind the figures.
    """

    idle_w_per_thread: Figure
    full_w_per_thread: Figure
    dynamic_w_per_thread: Figure
    mem_idle_w_per_gb: Figure
    mem_full_w_per_gb: Figure
    mem_dynamic_w_per_gb: Figure
    match: str
    matched: str
    n_results: int


def _read_data(name: str) -> str:
    try:
        return (
            resources.files("infercarbon.reference")
            .joinpath(f"data/{name}")
            .read_text(encoding="utf-8")
        )
    except OSError as exc:
        raise DataError(f"bundled reference file data/{name} is missing: {exc}") from exc


@cache
def specpower_results() -> tuple[SpecPowerResult, ...]:
    """All bundled SPECpower results."""
    out: list[SpecPowerResult] = []
    for i, rec in enumerate(csv.DictReader(io.StringIO(_read_data("specpower.csv"))), start=2):
        try:
            out.append(
                SpecPowerResult(
                    rec["cpu"],
                    rec["submitted"],
                    int(rec["nodes"]),
                    int(rec["chips"]),
                    int(rec["cores"]),
                    int(rec["threads"]),
                    float(rec["memory_gb"]),
                    float(rec["watts_100"]),
                    float(rec["watts_idle"]),
                )
            )
        except (KeyError, ValueError) as exc:
            raise DataError(f"data/specpower.csv row {i} is malformed: {exc}") from exc
    return tuple(out)


def _tokens(name: str) -> tuple[str, ...]:
    s = name.lower()
    s = re.sub(r"\((r|tm)\)", " ", s)
    s = re.sub(r"@.*$", " ", s)
    s = re.sub(r"\b\d+(\.\d+)?\s*ghz\b", " ", s)
    s = re.sub(r"\b\d+-core\b", " ", s)
    return tuple(t for t in re.split(r"[^a-z0-9\-]+", s) if t and t not in _DROP_TOKENS)


def normalise_cpu_name(name: str) -> str:
    """A matching key: lower case, vendor/marketing words and clock speed removed.

    >>> normalise_cpu_name("Intel(R) Xeon(R) Platinum 8280 CPU @ 2.70GHz")
    'xeon platinum 8280'
    >>> normalise_cpu_name("AMD EPYC 7763 64-Core Processor")
    'epyc 7763'
    """
    return " ".join(_tokens(name))


def _family(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Model-less name: words, series prefixes ("e5" of "e5-2699") and generations ("v4")."""
    out: list[str] = []
    for t in tokens:
        if not any(ch.isdigit() for ch in t) or re.fullmatch(r"v\d+", t):
            out.append(t)
        elif m := re.fullmatch(r"([a-z]+\d?)-\d+[a-z]*", t):
            out.append(m.group(1))
    return tuple(out)


@cache
def _tdp_index() -> dict[str, float]:
    out: dict[str, float] = {}
    for i, rec in enumerate(csv.DictReader(io.StringIO(_read_data("cpu_tdp.csv"))), start=2):
        try:
            out.setdefault(normalise_cpu_name(rec["name"]), float(rec["tdp_w"]))
        except (KeyError, ValueError) as exc:
            raise DataError(f"data/cpu_tdp.csv row {i} is malformed: {exc}") from exc
    return out


def cpu_tdp_w(cpu_name: str) -> Figure | None:
    """The TDP of a CPU model [W] (package, thermal design), or None when not in the table."""
    tdp = _tdp_index().get(normalise_cpu_name(cpu_name))
    if tdp is None:
        return None
    return Figure(
        tdp,
        "w",
        source=TDP_SOURCE,
        label="cited",
        licence=TDP_LICENCE,
        note="thermal design power of one package; not a measurement",
    )


def _arrays() -> dict[str, npt.NDArray[np.float64]]:
    rs = specpower_results()
    return {
        "threads": np.array([r.threads for r in rs], dtype=np.float64),
        "mem": np.array([r.memory_gb for r in rs], dtype=np.float64),
        "w100": np.array([r.watts_100 for r in rs], dtype=np.float64),
        "widle": np.array([r.watts_idle for r in rs], dtype=np.float64),
    }


def _within_slope(
    groups: npt.NDArray[np.int64], x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Within-group OLS slope of y on x; also per-group sums Sxy, Sxx for the bootstrap."""
    n_groups = int(groups.max()) + 1
    cnt = np.bincount(groups, minlength=n_groups).astype(np.float64)
    xd = x - (np.bincount(groups, x, n_groups) / cnt)[groups]
    yd = y - (np.bincount(groups, y, n_groups) / cnt)[groups]
    sxy = np.asarray(np.bincount(groups, xd * yd, n_groups), dtype=np.float64)
    sxx = np.asarray(np.bincount(groups, xd * xd, n_groups), dtype=np.float64)
    return float(sxy.sum() / sxx.sum()), sxy, sxx


@cache
def memory_power_w_per_gb() -> tuple[Figure, Figure, Figure]:
    """Memory wall power per GB at (idle, 100 % load, their difference), within configurations.

    Returns
    -------
    (Figure, Figure, Figure)
        [W/GB] at active idle, at full load, and full minus idle (the load-dependent part);
        label ``derived``, range p5..p95 of a bootstrap over configuration groups.
    """
    rs = specpower_results()
    keys = [(r.cpu, r.chips, r.nodes, r.threads) for r in rs]
    mem_by_key: dict[tuple[str, int, int, int], set[float]] = {}
    for k, r in zip(keys, rs, strict=True):
        mem_by_key.setdefault(k, set()).add(r.memory_gb)
    varied = sorted(k for k, mems in mem_by_key.items() if len(mems) > 1)
    if len(varied) < 5:
        raise DataError("too few SPECpower configurations with varied memory to fit W/GB")
    gid = {k: i for i, k in enumerate(varied)}
    sel = np.array([k in gid for k in keys])
    groups = np.array([gid[k] for k in keys if k in gid], dtype=np.int64)
    a = _arrays()
    rng = np.random.default_rng(20_080_101)
    draws = rng.integers(0, len(varied), size=(_BOOTSTRAP_DRAWS, len(varied)))
    out: list[Figure] = []
    a["wdyn"] = a["w100"] - a["widle"]
    for col, what in (
        ("widle", "active idle"),
        ("w100", "100 % load"),
        ("wdyn", "100 % load minus active idle"),
    ):
        slope, sxy, sxx = _within_slope(groups, a["mem"][sel], a[col][sel])
        boot = sxy[draws].sum(axis=1) / sxx[draws].sum(axis=1)
        lo, hi = (float(v) for v in np.percentile(boot, [5, 95]))
        out.append(
            Figure(
                slope,
                "w_per_gb",
                source=SPECPOWER_SOURCE,
                label="derived",
                licence=SPECPOWER_LICENCE,
                vintage="2007-2021",
                low=min(lo, slope),
                high=max(hi, slope),
                note=f"memory wall power per installed GB, {what}: within-configuration "
                f"least-squares slope over {len(varied)} SPECpower configurations "
                f"({int(sel.sum())} results) that differ only in memory; range p5..p95 of a "
                f"{_BOOTSTRAP_DRAWS}-draw bootstrap over configurations",
            )
        )
    return out[0], out[1], out[2]


def _summary(values: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    med = float(np.median(values))
    if len(values) >= 5:
        lo, hi = (float(v) for v in np.percentile(values, [5, 95]))
    else:
        lo, hi = float(values.min()), float(values.max())
    return med, max(0.0, min(lo, med)), max(hi, med)


def _fig(values: npt.NDArray[np.float64], what: str, matched: str) -> Figure:
    med, lo, hi = _summary(values)
    return Figure(
        med,
        "w",
        source=SPECPOWER_SOURCE,
        label="derived",
        licence=SPECPOWER_LICENCE,
        vintage="2007-2021",
        low=lo,
        high=hi,
        note=f"{what} wall power per hardware thread (memory share removed), median of "
        f"{len(values)} SPECpower results matched by {matched}; range "
        f"{'p5..p95' if len(values) >= 5 else 'min..max'} (negative lows clipped to 0)",
    )


def cpu_power_curve(
    cpu_name: str, *, virtualised: bool = False, threads_per_package: int | None = None
) -> CpuPowerCurve:
    """The load-to-power curve for a CPU (see the module docstring for the model).

    Parameters
    ----------
    cpu_name : str
        Model name as the OS reports it (``/proc/cpuinfo`` "model name").
    virtualised : bool
        Running under a hypervisor: the TDP match is skipped (the visible threads are a slice
        of the package, so TDP per visible thread would be meaningless).
    threads_per_package : int, optional
        Hardware threads per package (``/proc/cpuinfo`` "siblings"), for the TDP match.
    """
    if not isinstance(cpu_name, str):
        raise InputError(f"expected a string, got {type(cpu_name).__name__}", field="cpu_name")
    rs = specpower_results()
    a = _arrays()
    mem_idle, mem_full, mem_dyn = memory_power_w_per_gb()
    idle_t = (a["widle"] - mem_idle.value * a["mem"]) / a["threads"]
    full_t = (a["w100"] - mem_full.value * a["mem"]) / a["threads"]
    dyn_t = full_t - idle_t
    mems = (mem_idle, mem_full, mem_dyn)
    toks = _tokens(cpu_name)
    key = " ".join(toks)
    row_toks = [_tokens(r.cpu) for r in rs]
    sel: npt.NDArray[np.bool_] | None = None
    match, matched = "", ""
    if key and any(any(ch.isdigit() for ch in t) for t in toks):
        m = np.array([" ".join(t) == key for t in row_toks])
        if m.any():
            sel, match, matched = m, "model", f"model '{key}'"
    fam = _family(toks)
    if sel is None and fam:
        for cand in dict.fromkeys((fam, fam[:2], fam[:1])):
            m = np.array([_family(t)[: len(cand)] == cand for t in row_toks])
            if m.any():
                sel, match, matched = m, "family", f"family '{' '.join(cand)}'"
                break
    if sel is not None:
        return CpuPowerCurve(
            _fig(idle_t[sel], "active-idle", matched),
            _fig(full_t[sel], "100 %-load", matched),
            _fig(dyn_t[sel], "100 %-load minus active-idle", matched),
            *mems,
            match,
            matched,
            int(sel.sum()),
        )
    cohort = np.array([r.submitted[:4] >= str(COHORT_FROM_YEAR) for r in rs])
    tdp = cpu_tdp_w(cpu_name)
    if tdp is not None and not virtualised and threads_per_package:
        # calibrate TDP-per-thread to SPECpower wall power per thread on results with a TDP
        tdps = np.array([_tdp_index().get(" ".join(t), np.nan) for t in row_toks])
        chips = np.array([r.chips for r in rs], dtype=np.float64)
        ratio = full_t / (tdps * chips / a["threads"])
        ok = np.isfinite(ratio) & (ratio > 0)
        idle_ratio = idle_t[cohort] / full_t[cohort]
        per_thread = tdp.value / threads_per_package
        matched = (
            f"TDP {tdp.value:g} W / {threads_per_package} threads x SPECpower "
            f"full-load-per-TDP ratio ({int(ok.sum())} results)"
        )
        idle_share = float(np.median(idle_ratio))
        return CpuPowerCurve(
            _fig(per_thread * ratio[ok] * idle_share, "active-idle", matched),
            _fig(per_thread * ratio[ok], "100 %-load", matched),
            _fig(
                per_thread * ratio[ok] * (1.0 - idle_share), "100 %-load minus active-idle", matched
            ),
            *mems,
            "tdp",
            matched,
            int(ok.sum()),
        )
    matched = f"no match for {cpu_name!r}: all results submitted {COHORT_FROM_YEAR} or later"
    return CpuPowerCurve(
        _fig(idle_t[cohort], "active-idle", matched),
        _fig(full_t[cohort], "100 %-load", matched),
        _fig(dyn_t[cohort], "100 %-load minus active-idle", matched),
        *mems,
        "cohort",
        matched,
        int(cohort.sum()),
    )
