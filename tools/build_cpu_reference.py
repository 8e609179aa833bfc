#!/usr/bin/env python
"""Regenerate the bundled CPU power tables used by the CPU utilisation model.

Reads, under ``../shared/data/hardware`` (see that folder's README for sources and licences):

- ``specpower_results.csv``  SPECpower_ssj2008 results (via Cloud Carbon Footprint,
  Apache-2.0): whole-server wall watts at 100 % load and at active idle;
- ``cpu_tdp.csv``            CPU model -> TDP [W] (via CodeCarbon, MIT);

and writes, under ``src/infercarbon/reference/data/``:

- ``specpower.csv``  cpu, submitted (ISO date), nodes, chips, cores, threads, memory_gb,
                     watts_100, watts_idle  (rows without both watt figures are dropped and
                     counted on stderr);
- ``cpu_tdp.csv``    name, tdp_w  (duplicates and non-positive TDPs dropped).

Usage::

    python tools/build_cpu_reference.py [--data-dir ../shared/data] [--out-dir DIR] [--check]

``--check`` rebuilds in memory and exits 1 if the bundled files differ.  Output is
deterministic (sorted rows, fixed formatting).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "src" / "infercarbon" / "reference" / "data"
SPEC_COLUMNS = (
    "cpu",
    "submitted",
    "nodes",
    "chips",
    "cores",
    "threads",
    "memory_gb",
    "watts_100",
    "watts_idle",
)


def _num(text: str) -> float | None:
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def build_specpower(path: Path) -> tuple[str, int]:
    out: list[tuple[str, ...]] = []
    dropped = 0
    with path.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            w100 = _num(rec["avg. watts @ 100%"])
            widle = _num(rec["avg. watts @ active idle"])
            threads = _num(rec["Total Threads"])
            mem = _num(rec["Total Memory (GB)"])
            if not (w100 and widle and threads and mem) or widle > w100:
                dropped += 1
                continue
            raw_date = (rec["Date Submitted"] or "").strip()
            try:
                submitted = datetime.strptime(raw_date, "%b %d, %Y").date().isoformat()
            except ValueError:
                submitted = ""
            nodes = _num(rec["Nodes"]) or 1.0
            out.append(
                (
                    " ".join(rec["CPU Description"].split()),
                    submitted,
                    str(int(nodes)),
                    str(int(_num(rec["Chips"]) or 0)),
                    str(int(_num(rec["Cores"]) or 0)),
                    str(int(threads)),
                    _fmt(mem),
                    _fmt(w100),
                    _fmt(widle),
                )
            )
    out.sort()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SPEC_COLUMNS)
    w.writerows(out)
    return buf.getvalue(), dropped


def build_tdp(path: Path) -> tuple[str, int]:
    seen: dict[str, float] = {}
    dropped = 0
    with path.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            name = " ".join((rec["Name"] or "").split())
            tdp = _num(rec["TDP"])
            if not name or tdp is None or tdp <= 0 or name in seen:
                dropped += 1
                continue
            seen[name] = tdp
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("name", "tdp_w"))
    w.writerows((n, _fmt(t)) for n, t in sorted(seen.items()))
    return buf.getvalue(), dropped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out-dir", type=Path, default=OUT_DIR)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    hw = args.data_dir / "hardware"
    spec, spec_dropped = build_specpower(hw / "specpower_results.csv")
    tdp, tdp_dropped = build_tdp(hw / "cpu_tdp.csv")
    print(f"specpower.csv: dropped {spec_dropped} rows without both watt figures", file=sys.stderr)
    print(f"cpu_tdp.csv: dropped {tdp_dropped} duplicate/invalid rows", file=sys.stderr)
    outputs = {"specpower.csv": spec, "cpu_tdp.csv": tdp}
    if args.check:
        stale = [
            n
            for n, text in outputs.items()
            if not (args.out_dir / n).exists()
            or (args.out_dir / n).read_text(encoding="utf-8") != text
        ]
        if stale:
            print("stale: " + ", ".join(stale), file=sys.stderr)
            return 1
        return 0
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in outputs.items():
        (args.out_dir / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
