"""``infercarbon idle measure``: measured idle from device energy readings.

::

    infercarbon idle measure --ledger ledger.duckdb --device gpu0 --from 2026-07-01 \
        --to 2026-07-02 [--window 1h]

For each window of the period that the device's readings (``readings`` table: cumulative
energy, or power integrated) cover, the idle energy is the readings' energy minus the energy
of the window's events; the events' deployment profile's idle policy splits it, and their
footprints are recomputed with the measured idle line (new footprints supersede the old,
which stay auditable).  See :func:`infercarbon.service.reprice.measure_idle`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from infercarbon.errors import InputError
from infercarbon.timeutil import parse_utc

idle_app = typer.Typer(help="Idle energy measured from device readings.", no_args_is_help=True)


def _time(text: str, name: str) -> datetime:
    return parse_utc(text, field=name, naive_is_utc=True)


@idle_app.command("measure")
def measure(
    ledger: Annotated[str, typer.Option("--ledger", help="DuckDB file or postgresql:// URL")],
    device: Annotated[str, typer.Option("--device", help="device id, as on the events")],
    start: Annotated[str, typer.Option("--from", help="start (UTC unless an offset is given)")],
    end: Annotated[str, typer.Option("--to", help="end, exclusive")],
    window: Annotated[str, typer.Option("--window", help="window: 15m, 1h ...")] = "1h",
) -> None:
    """Measure a device's idle energy from its readings and recompute the footprints."""
    from infercarbon.accounting.signals import SignalBook, signals_from_intensity
    from infercarbon.ledger import open_store
    from infercarbon.service.refresh import parse_interval_s
    from infercarbon.service.reprice import measure_idle

    a, b = _time(start, "--from"), _time(end, "--to")
    if b <= a:
        raise InputError("--to must be after --from", field="--to")
    window_s = int(parse_interval_s(window, field="--window"))
    store = open_store(ledger)
    try:
        book = SignalBook(signals_from_intensity(store.intensity()))
        res = measure_idle(store, book, device=device, start_utc=a, end_utc=b, window_s=window_s)
    finally:
        store.close()
    typer.echo(
        f"idle measured for {res.repriced} of {res.checked} footprint(s) of {device} "
        "(each new footprint supersedes the one it recomputes)"
    )
    if res.checked == 0:
        typer.echo(
            f"nothing measured: no footprint of {device} in the period, or no readings "
            f"of it covering a whole {window} window",
            err=True,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(idle_app, name="idle")
