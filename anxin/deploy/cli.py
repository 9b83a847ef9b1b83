"""`anxin deploy …`: the commands the Ansible playbooks (and a hall's IT person) run.

Settings come from the main CLI (`anxin.cli.settings`), imported inside each
command so that this module stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

deploy_app = typer.Typer(
    help="Deployment: hall inventory <-> device registry, hall secrets, broker files",
    no_args_is_help=True,
)

_Ids = Annotated[list[str], typer.Option("--device", help="device id (repeat)")]


@deploy_app.command("inventory-export")
def inventory_export(
    file: Annotated[Path | None, typer.Argument(help="write here instead of stdout")] = None,
    base: Annotated[
        Path | None,
        typer.Option(help="inventory whose addresses, hardware and hosts are kept", exists=True),
    ] = None,
) -> None:
    """Export the device registry as an Ansible inventory."""
    from anxin.cli import settings
    from anxin.deploy.inventory import (
        InventoryInvalid,
        export_inventory,
        load_inventory,
        render_inventory,
    )

    s = settings()
    try:
        base_inv = load_inventory(base) if base else None
    except InventoryInvalid as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        raise typer.Exit(1) from None
    if base_inv is not None and base_inv.hall != s.hall:
        typer.echo(f"{base} is for hall {base_inv.hall!r}, the hub runs {s.hall!r}", err=True)
        raise typer.Exit(1)
    result = export_inventory(s, base_inv)
    for note in result.notes:
        typer.echo(note, err=True)
    text = render_inventory(result.inventory)
    if file is None:
        typer.echo(text, nl=False)
        return
    file.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {file}: {len(result.inventory.devices)} devices", err=True)


@deploy_app.command("inventory-import")
def inventory_import(
    file: Annotated[
        Path, typer.Argument(help="hall inventory (YAML)", exists=True, dir_okay=False)
    ],
) -> None:
    """Register every device of an inventory (kind, a caller's window); all or nothing."""
    from anxin.cli import settings
    from anxin.deploy.inventory import InventoryInvalid, import_inventory, load_inventory

    s = settings()
    try:
        inv = load_inventory(file)
    except InventoryInvalid as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        typer.echo("nothing imported", err=True)
        raise typer.Exit(1) from None
    report = import_inventory(s, inv)
    for problem in report.problems:
        typer.echo(f"{file}: {problem}", err=True)
    for device_id in report.retired:
        typer.echo(f"{device_id} is retired in the registry: left alone", err=True)
    typer.echo(report.summary(), err=not report.ok)
    if not report.ok:
        raise typer.Exit(1)


@deploy_app.command("secrets")
def deploy_secrets(
    out: Annotated[Path, typer.Option(help="the hall's secrets folder (keep it out of git)")],
    hall: Annotated[str, typer.Option(help="hall id")],
    device: _Ids = [],  # noqa: B006
    broker_name: Annotated[
        list[str], typer.Option(help="broker host name or IP in its certificate (repeat)")
    ] = [],  # noqa: B006
    web_name: Annotated[
        list[str], typer.Option(help="hub host name or IP in its HTTPS certificate (repeat)")
    ] = [],  # noqa: B006
    rotate_cert: Annotated[
        list[str], typer.Option(help="reissue: a device id, hub, broker, web or all (repeat)")
    ] = [],  # noqa: B006
    rotate_due: Annotated[bool, typer.Option(help="reissue certificates expiring soon")] = False,
    rotate_secret: Annotated[
        bool, typer.Option(help="new hall secret: every MQTT password changes")
    ] = False,
) -> None:
    """Create the hall secrets, the hall CA and every certificate that is missing."""
    from anxin.deploy.secrets import ensure_secrets

    try:
        report = ensure_secrets(
            out, hall=hall, device_ids=device, broker_names=broker_name, web_names=web_name,
            rotate_certs=rotate_cert, rotate_due=rotate_due, rotate_secret=rotate_secret,
        )  # fmt: skip
    except (ValueError, FileExistsError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(report.summary())


@deploy_app.command("broker-files")
def deploy_broker_files(
    secrets: Annotated[Path, typer.Option(help="the hall's secrets folder", exists=True)],
    out: Annotated[Path, typer.Option(help="where to write mosquitto.conf, acl and passwd")],
    hall: Annotated[str, typer.Option(help="hall id")],
    target_dir: Annotated[Path, typer.Option(help="their folder on the broker host")],
    persistence_dir: Annotated[Path, typer.Option(help="persistence folder on the broker host")],
    device: _Ids = [],  # noqa: B006
    tls_port: int = 8883,
    plain_port: Annotated[
        int | None, typer.Option(help="loopback plain port (hub on the box)")
    ] = None,
    bind: str = "0.0.0.0",  # noqa: S104 - the hall LAN
    require_certificate: Annotated[bool, typer.Option(help="devices also need their cert")] = True,
) -> None:
    """Render the broker's Mosquitto files (broker.mosquitto) for the devices given."""
    from anxin.deploy.secrets import render_broker_files

    try:
        paths = render_broker_files(
            secrets, out, hall=hall, device_ids=device, target_dir=target_dir,
            persistence_dir=persistence_dir, tls_port=tls_port, plain_port=plain_port,
            bind=bind, require_certificate=require_certificate,
        )  # fmt: skip
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {', '.join(str(p) for p in paths)} for {len(device)} devices")
