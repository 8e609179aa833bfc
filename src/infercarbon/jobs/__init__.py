"""Engine-agnostic jobs on Arrow tables: attribute, account, rollup, verify.

Each job is a set-based transformation: a driver step (vectorised, on the whole input: batch
spans, the cut into parts) and a pure function per part (Arrow tables in, an Arrow table
out) that an engine runs: ``local`` (the reference) or ``ray`` (Ray Data), chosen by name
with :func:`~infercarbon.jobs.engines.get_engine`.  A job never imports an engine.  The
figures come from the same cores as the rest of infercarbon: the attribution engine
(:mod:`infercarbon.attribution.engine`) and the ingest path's accounting
(:func:`infercarbon.accounting.events.account_events`).  Inputs and outputs are Iceberg
tables of the lake (:mod:`infercarbon.ledger.lake`) or Parquet (:mod:`.io`).
"""

from __future__ import annotations

from infercarbon.jobs.account import run_account
from infercarbon.jobs.attribute import run_attribute
from infercarbon.jobs.engines import ENGINES, Engine, get_engine
from infercarbon.jobs.rollup import run_rollup

__all__ = ["ENGINES", "Engine", "get_engine", "run_account", "run_attribute", "run_rollup"]
