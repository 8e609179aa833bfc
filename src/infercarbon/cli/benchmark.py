"""``infercarbon estimate`` (being written)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Placeholder registration while the module is written."""
