"""`anxin simulate day|live`: simulated visitors and clerks against the real queue engine.

Kept apart from `anxin.cli` (which registers it) so that the simulation's
options do not crowd the main command file; heavy imports stay inside.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer

simulate_app = typer.Typer(help="Simulated hall days (排队叫号模拟)", no_args_is_help=True)

HallOpt = Annotated[
    str,
    typer.Option(help="demo (the bundled 60-window hall) or a hall YAML file; "
                 "imported only when the database has no hall yet"),
]  # fmt: skip
SeedOpt = Annotated[int, typer.Option(help="random seed: the same seed plays the same day")]


@simulate_app.command("day")
def simulate_day_command(
    hall: HallOpt = "demo",
    visitors: Annotated[int, typer.Option(min=1, help="visitors over the day")] = 3000,
    speed: Annotated[
        float, typer.Option(min=0, help="simulated seconds per real second; 0: as fast as possible")
    ] = 600.0,
    date: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="operating day (default today)")
    ] = None,
    seed: SeedOpt = 1,
    handling_scale: Annotated[
        float | None,
        typer.Option(min=0.05, max=5.0, help="handling time / configured average (default: auto)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Play a whole day (09:00–17:00, peaks at 10:00 and 15:00) and print the summary
    with the wait estimator's mean absolute error."""
    from anxin.cli import settings
    from central.queueing.simhall import HallMissing
    from central.queueing.simrun import DayTaken, simulate_day

    s = settings()
    try:
        report = simulate_day(
            s, hall=hall, visitors=visitors, speed=speed, day=date.date() if date else None,
            seed=seed, handling_scale=handling_scale,
            progress=None if as_json else lambda line: typer.echo(line, err=True),
        )  # fmt: skip
    except (DayTaken, HallMissing, FileNotFoundError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        typer.echo("\n".join(report.lines()))


@simulate_app.command("live")
def simulate_live_command(
    hall: HallOpt = "demo",
    speed: Annotated[float, typer.Option(min=0.1, help="simulated seconds per real second")] = 1.0,
    visitors: Annotated[int, typer.Option(min=1, help="visitors per simulated day")] = 3000,
    seed: SeedOpt = 1,
) -> None:
    """A day that keeps going (for the demo): a few visitors a minute, windows
    calling and finishing, hall boards updated."""
    from anxin.cli import _run, settings
    from central.queueing.simlive import run_live

    _run(run_live(settings(), hall=hall, speed=speed, visitors=visitors, seed=seed))
