"""``infercarbon grid``: the command group for grid intensity signals.

Commands are added by sibling modules (``grid_intensity``, ``grid_marginal``,
``grid_providers``, ``grid_market``, ``grid_update``) that import :data:`grid_app`; they must
come after this module in ``COMMAND_MODULES``.
"""

from __future__ import annotations

import typer

grid_app = typer.Typer(
    help="Grid carbon-intensity signals: average, market-based and marginal.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(grid_app, name="grid")
