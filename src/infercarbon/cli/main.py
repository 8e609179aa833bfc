"""Entry point of the ``infercarbon`` command.

Each command group lives in its own module under ``infercarbon.cli`` and exposes
``register(app)``; the list below is the one place that wires them in.
"""

from __future__ import annotations

import importlib
import sys

import typer

from infercarbon.errors import InfercarbonError

#: Modules under infercarbon.cli that register commands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "estimate",
    "estimate_llm",
    "estimate_vision",
    "benchmark",
    "benchmark_living",
    "regions",
    "grid",
    "grid_intensity",
    "grid_marginal",
    "grid_providers",
    "grid_market",
    "grid_update",
    "sensors",
    "measure",
    "demo",
    "serve",
    "keys",
    "report",
    "audit",
    "idle",
    "footprints",
    "proxy",
    "schedule",
    "route",
    "recommend",
    "programme",
    "jobs",
    "lake",
    "schema",
)

app = typer.Typer(
    name="infercarbon",
    help="An auditable gCO2e figure for every AI inference.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # help texts carry units in [brackets]; they are text, not rich markup
    rich_markup_mode=None,
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"infercarbon.cli.{name}").register(app)


_register_all()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; infercarbon errors become one clear line on stderr and exit code 2."""
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except InfercarbonError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
