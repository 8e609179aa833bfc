"""The public API is typed for users: mypy sees real types through the lazy ``__init__``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import infercarbon

CONSUMER = Path(__file__).parent / "data" / "typing" / "consumer.py"


@pytest.mark.slow
def test_a_consumer_module_type_checks_with_assert_type(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    src = Path(infercarbon.__file__).resolve().parent.parent
    env = {**os.environ, "MYPYPATH": str(src)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",
            "--no-incremental",
            "--config-file",
            os.devnull,
            "--cache-dir",
            str(tmp_path),
            str(CONSUMER),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Success" in out.stdout
