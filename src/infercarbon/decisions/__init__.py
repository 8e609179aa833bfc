"""Decision support: when to run (schedule), where (route), on what (recommend), the
embodied/operational crossover, and the rebound decomposition.

Pure functions over numbers and numpy arrays (and, for the rebound, the ledger's rollups);
the CLI (``schedule``, ``route``, ``recommend``, ``estimate --crossover``) and the service
(``POST /v1/schedule``, ``GET /v1/route``, the what-if) are thin shells over them.  See
``docs/decisions.md``.
"""

from __future__ import annotations

from infercarbon.decisions.schedule import ScheduleRequest, ScheduleResult, schedule

__all__ = ["ScheduleRequest", "ScheduleResult", "schedule"]
