"""Bundled accelerator specifications and loose GPU-name matching.

The table (``data/gpus.csv``) holds, per accelerator: TDP [W], idle power [W] where a
source gives one (none does yet: the column is empty rather than guessed), memory [GB],
memory bandwidth [GB/s], and dense (no structured sparsity) FLOPS by precision.  Every
row names its spec-sheet source, vintage and licence; ``SOURCES.md`` says how the table
was built.

Names are matched loosely: ``H100``, ``H100 80GB HBM3``, ``NVIDIA H100-SXM5-80GB``,
``B200``, ``A100-SXM4-40GB``, ``L4`` all resolve.  An unknown name raises
:class:`~infercarbon.errors.UnknownHardwareError` listing the known ones.

>>> lookup_gpu("NVIDIA H100-SXM5-80GB").name
'H100 SXM5 80GB'
>>> lookup_gpu("A100-SXM4-40GB").memory_gb
40.0
>>> lookup_gpu("L4").tdp_w
72.0
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from infercarbon.errors import DataError, UnknownHardwareError
from infercarbon.units import BYTES_PER_GB

__all__ = ["GPUSpec", "known_gpus", "load_gpus", "lookup_gpu"]

_DATA_FILE = "gpus.csv"
_STOPWORDS = frozenset(
    {
        "NVIDIA",
        "TESLA",
        "GEFORCE",
        "AMD",
        "INSTINCT",
        "GPU",
        "HBM",
        "HBM2",
        "HBM2E",
        "HBM3",
        "HBM3E",
        "GDDR6",
        "TENSOR",
        "CORE",
        "MODULE",
        "DEVELOPER",
        "KIT",
    }
)
_MEM_RE = re.compile(r"(\d+)\s*GB")
_FORM_RE = {
    "SXM": re.compile(r"^SXM\d?$"),
    "PCIE": re.compile(r"^PCIE\d?$"),
    "NVL": re.compile(r"^NVL$"),
}


@dataclass(frozen=True, slots=True)
class GPUSpec:
    """One accelerator's specifications (dense, no sparsity).

    Attributes
    ----------
    name : str
        Canonical name.
    tdp_w : float
        Thermal design power (board/module power limit) [W].
    idle_w : float
        Idle power [W]; NaN where no source gives it.
    memory_gb : float
        Device memory [GB].
    memory_bandwidth_bytes_per_s : float
        Peak memory bandwidth [bytes/s].
    bf16_flops, fp8_flops, fp32_flops, int8_ops : float
        Dense peak throughput [FLOP/s or OP/s]; NaN where the device lacks the format or
        no source gives it.
    source, vintage, licence, note : str
        Provenance of the row.
    """

    name: str
    family: str
    form: str
    vendor: str
    tdp_w: float
    idle_w: float
    memory_gb: float
    memory_bandwidth_bytes_per_s: float
    fp32_flops: float
    bf16_flops: float
    fp8_flops: float
    int8_ops: float
    source: str
    vintage: str
    licence: str
    note: str
    default_for_family: bool
    aliases: tuple[str, ...]

    def flops_for(self, precision: str) -> float:
        """Dense peak FLOP/s used for matrix maths with weights in ``precision``.

        FP8 weights run at the FP8 rate where the device has one; weight-only integer
        formats (int8, int4) and fp32 fall back to the 16-bit tensor rate (fp32 uses the
        fp32 rate where known).  NaN when the table has no figure.
        """
        if precision in ("fp8",) and math.isfinite(self.fp8_flops):
            return self.fp8_flops
        if precision == "fp32" and math.isfinite(self.fp32_flops):
            return self.fp32_flops
        if math.isfinite(self.bf16_flops):
            return self.bf16_flops
        return self.int8_ops if precision == "int8" else math.nan


def _tokens(text: str) -> list[str]:
    up = _MEM_RE.sub(lambda m: f" {m.group(1)}GB ", text.upper())
    return [t for t in re.split(r"[^A-Z0-9]+", up) if t and t not in _STOPWORDS]


def _num(row: dict[str, str], key: str, *, tera: bool = False) -> float:
    raw = (row.get(key) or "").strip()
    if not raw:
        return math.nan
    try:
        value = float(raw)
    except ValueError as exc:
        raise DataError(f"gpus.csv: {row.get('name')!r} column {key!r}: {raw!r}") from exc
    return value * 1e12 if tera else value


@lru_cache(maxsize=1)
def load_gpus() -> tuple[GPUSpec, ...]:
    """All bundled GPU rows (cached)."""
    try:
        text = (
            resources.files("infercarbon.reference")
            .joinpath("data", _DATA_FILE)
            .read_text(encoding="utf-8")
        )
    except OSError as exc:
        raise DataError(f"bundled {_DATA_FILE} missing: {exc}") from exc
    return tuple(_row_to_spec(row) for row in csv.DictReader(text.splitlines()))


def _row_to_spec(row: dict[str, str]) -> GPUSpec:
    return GPUSpec(
        name=row["name"],
        family=row["family"],
        form=row["form"],
        vendor=row["vendor"],
        tdp_w=_num(row, "tdp_w"),
        idle_w=_num(row, "idle_w"),
        memory_gb=_num(row, "memory_gb"),
        memory_bandwidth_bytes_per_s=_num(row, "memory_bandwidth_gb_per_s") * BYTES_PER_GB,
        fp32_flops=_num(row, "fp32_tflops", tera=True),
        bf16_flops=_num(row, "bf16_dense_tflops", tera=True),
        fp8_flops=_num(row, "fp8_dense_tflops", tera=True),
        int8_ops=_num(row, "int8_dense_tops", tera=True),
        source=row["source"],
        vintage=row["vintage"],
        licence=row["licence"],
        note=row["note"],
        default_for_family=row["default_for_family"] == "1",
        aliases=tuple(a for a in row["aliases"].split("|") if a),
    )


def known_gpus() -> list[str]:
    """Canonical names of every bundled GPU."""
    return [g.name for g in load_gpus()]


def _score(spec: GPUSpec, toks: set[str], mem: set[str], forms: set[str]) -> float:
    score = 0.0
    spec_mem = f"{int(spec.memory_gb)}GB"
    if mem:
        score += 4.0 if spec_mem in mem else -10.0
    if forms:
        score += 4.0 if spec.form in forms else -10.0
    if spec.default_for_family:
        score += 1.0
    return score


@lru_cache(maxsize=512)
def lookup_gpu(name: str) -> GPUSpec:
    """Resolve a loosely written GPU name to its bundled spec.

    Raises
    ------
    UnknownHardwareError
        No bundled GPU matches; the message lists the known names.
    """
    query = name.strip()
    specs = load_gpus()
    norm = " ".join(_tokens(query))
    for spec in specs:  # exact name or alias first
        if norm in (" ".join(_tokens(spec.name)), *(" ".join(_tokens(a)) for a in spec.aliases)):
            return spec
    toks = set(_tokens(query))
    mem = {t for t in toks if t.endswith("GB") and t[:-2].isdigit()}
    forms = {f for t in toks for f, rx in _FORM_RE.items() if rx.match(t)}
    candidates = [s for s in specs if set(s.family.split()) <= toks]
    if candidates:
        # the longest family match wins (GB200 vs B200 are distinct tokens anyway)
        longest = max(len(s.family.split()) for s in candidates)
        candidates = [s for s in candidates if len(s.family.split()) == longest]
        best = max(candidates, key=lambda s: _score(s, toks, mem, forms))
        if _score(best, toks, mem, forms) >= 0:
            return best
    suggestions = [s.name for s in specs if set(s.family.split()) & toks]
    raise UnknownHardwareError(query or repr(name), suggestions=suggestions, known=known_gpus())
