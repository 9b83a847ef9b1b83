"""`anxin interpreting …`: the interpreter service on the command line.

Imports only typer at module level: `anxin/cli.py` imports this on every
run, also on a Pi with only the device extras installed.
"""

from __future__ import annotations

from typing import Annotated

import typer

interpreting_app = typer.Typer(help="手语翻译: staffing (Erlang C)", no_args_is_help=True)


@interpreting_app.command("staffing")
def staffing(
    calls_per_hour: Annotated[float, typer.Option(min=0.0, help="requests per hour")],
    aht_s: Annotated[float, typer.Option(min=1.0, help="average handling time (s)")],
    target: Annotated[float, typer.Option(help="share answered in time, e.g. 0.85")] = 0.85,
    within_s: Annotated[float, typer.Option(min=0.0, help="answer time of the target (s)")] = 30,
) -> None:
    """Interpreters needed for a service level, by Erlang C (also windows and hotlines)."""
    from central.interpreting import erlang

    try:
        need = erlang.agents_needed(
            calls_per_hour=calls_per_hour, aht_s=aht_s, target=target, within_s=within_s
        )
    except ValueError as exc:
        typer.echo(f"invalid input: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"traffic: {need.erlangs:.2f} Erlangs")
    typer.echo(
        f"{'agents':>6} {'P(wait)':>8} {f'SL {within_s:g}s':>9} {'ASA s':>7} {'occupancy':>9}"
    )
    for n in range(need.agents - 2, need.agents + 3):
        if n <= need.erlangs:
            continue
        s = erlang.staffing(n, calls_per_hour=calls_per_hour, aht_s=aht_s, within_s=within_s)
        mark = "  <- needed" if n == need.agents else ""
        typer.echo(
            f"{n:>6} {s.probability_waiting:>8.1%} {s.service_level:>9.1%} "
            f"{s.asa_s:>7.1f} {s.occupancy:>9.1%}{mark}"
        )
    typer.echo(
        f"needed: {need.agents} interpreters for {target:.0%} answered within {within_s:g} s"
    )
