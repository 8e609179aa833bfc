"""A spool replica for the crash test: writes batches of new events and prints an ack line
(batch id and event ids) only after SpoolWriter.write returned (the batch is fsynced)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import pyarrow as pa

from infercarbon.ledger.spool import SpoolWriter

TS = pa.timestamp("us", tz="UTC")


def run(spool: str, prefix: str, batches: int, size: int) -> None:
    w = SpoolWriter(spool)
    t = datetime(2026, 7, 1, 12, tzinfo=UTC)
    for b in range(batches):
        ids = [f"{prefix}-{b}-{i}" for i in range(size)]
        batch = pa.table(
            {
                "event_id": ids,
                "start_utc": pa.array([t] * size, TS),
                "end_utc": pa.array([t] * size, TS),
                "device": ["g0"] * size,
            }
        )
        bid = w.write(batch)
        if b % 3 == 1:  # a client retry of the same batch: the same batch id
            assert w.write(batch) == bid
        sys.stdout.write(f"ack {bid} {' '.join(ids)}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
