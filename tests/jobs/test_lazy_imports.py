"""Ray and pyiceberg are imported only when an engine or a lake is made: the jobs, the lake
module and the CLI import without them."""

from __future__ import annotations

import subprocess
import sys


def test_jobs_lake_and_cli_import_without_ray_or_pyiceberg():
    code = (
        "import sys; import infercarbon.jobs, infercarbon.jobs.verify, "
        "infercarbon.ledger.lake, infercarbon.ledger.spool, infercarbon.cli.main; "
        "print(sorted(m for m in ('ray', 'pyiceberg') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
