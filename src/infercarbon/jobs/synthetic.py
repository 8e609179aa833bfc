"""A synthetic fleet for tests, benchmarks and demonstrations (illustrative, not measured).

Each device draws ``idle_w`` plus ``active_w`` per running event; readings are an energy
counter every ``reading_s`` seconds; events come in batches of up to four.  The intensity
table has one hourly location and market figure per region (illustrative values with a
+-10 % range, labelled ``illustrative``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from infercarbon.units import US_PER_S

__all__ = ["synthetic_fleet"]

_TS = pa.timestamp("us", tz="UTC")


def synthetic_fleet(
    *,
    devices: int = 4,
    events_per_device: int = 200,
    hours: float = 1.0,
    reading_s: float = 10.0,
    regions: tuple[str, ...] = ("DE", "FR"),
    seed: int = 0,
    start: datetime = datetime(2026, 7, 1, tzinfo=UTC),
    idle_w: float = 60.0,
    active_w: float = 40.0,
    ids_from: int = 0,
) -> dict[str, pa.Table]:
    """``{"events", "readings", "intensity"}`` Arrow tables of a synthetic fleet."""
    rng = np.random.default_rng(seed)
    t0 = int(start.timestamp() * US_PER_S)
    span = int(hours * 3600 * US_PER_S)
    n = devices * events_per_device
    dev = np.repeat(np.arange(devices), events_per_device)
    s = t0 + rng.integers(0, span - 30 * US_PER_S, n)
    dur = rng.integers(50_000, 20 * US_PER_S, n)
    e = s + dur
    batch = np.where(rng.random(n) < 0.5, rng.integers(0, max(1, n // 3), n), -1)
    names = np.array([f"gpu-{i:05d}" for i in range(devices)])
    region = np.array(regions)[np.arange(devices) % len(regions)]
    events = pa.table(
        {
            "event_id": pa.array([f"ev-{i:09d}" for i in range(ids_from, ids_from + n)]),
            "start_utc": pa.array(s).cast(_TS),
            "end_utc": pa.array(e).cast(_TS),
            "device": pa.array(names[dev]),
            "batch_id": pa.array(batch),
            "tokens_in": pa.array(rng.integers(10, 2000, n)),
            "tokens_out": pa.array(rng.integers(1, 500, n)),
            "region": pa.array(region[dev]),
            "tenant": pa.array(np.array(["acme", "globex"])[rng.integers(0, 2, n)]),
        }
    )
    step = int(reading_s * US_PER_S)
    tr = np.arange(t0, t0 + span + 1, step, dtype=np.int64)
    reads = []
    for d in range(devices):
        mine = dev == d
        # power = idle + active x (events running), integrated exactly per reading interval
        edges = np.concatenate((s[mine], e[mine]))
        w = np.concatenate((np.ones(mine.sum()), -np.ones(mine.sum())))
        order = np.argsort(edges, kind="stable")
        edges, w = edges[order], np.cumsum(w[order])
        grid = np.unique(np.concatenate((tr, edges)))
        running = np.concatenate(([0.0], w))[np.searchsorted(edges, grid[:-1], side="right")]
        seg_j = (idle_w + active_w * running) * np.diff(grid) / US_PER_S
        cum = np.concatenate(([0.0], np.cumsum(seg_j)))
        reads.append(
            pa.table(
                {
                    "device": pa.array([names[d]] * tr.size),
                    "t_utc": pa.array(tr).cast(_TS),
                    "cumulative_j": pa.array(1e6 + cum[np.searchsorted(grid, tr)]),
                }
            )
        )
    hours_n = int(np.ceil(hours)) + 1
    hs = t0 + np.arange(hours_n, dtype=np.int64) * 3600 * US_PER_S
    rows = []
    for k, r in enumerate(regions):
        base = 350.0 + 100.0 * k
        for basis, f in (("location", 1.0), ("market", 0.6)):
            v = base * f * (1 + 0.1 * np.sin(np.arange(hours_n)))
            rows.append(
                pa.table(
                    {
                        "region": pa.array([r] * hours_n),
                        "basis": pa.array([basis] * hours_n),
                        "start_utc": pa.array(hs).cast(_TS),
                        "end_utc": pa.array(hs + 3600 * US_PER_S).cast(_TS),
                        "g_per_kwh": pa.array(v),
                        "low_g_per_kwh": pa.array(v * 0.9),
                        "high_g_per_kwh": pa.array(v * 1.1),
                        "source": pa.array(
                            ["synthetic fleet (infercarbon.jobs.synthetic)"] * hours_n
                        ),
                        "label": pa.array(["illustrative"] * hours_n),
                    }
                )
            )
    return {
        "events": events,
        "readings": pa.concat_tables(reads),
        "intensity": pa.concat_tables(rows),
    }
