"""Helpers shared by the CLI command modules: output and error conventions."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def _clean(obj: Any) -> Any:
    """Make a structure JSON-safe: NaN/inf become null (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def print_json(obj: Any) -> None:
    """Print a stable, indented JSON document on stdout (no rich markup)."""
    sys.stdout.write(json.dumps(_clean(obj), indent=2, sort_keys=False) + "\n")
