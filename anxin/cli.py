"""`anxin`: the one command for everything a user runs.

Settings are loaded here, once per command, and passed down. Heavy imports
happen inside each command so that a Pi with only the device extras installed
can still run `anxin device`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from anxin.deploy.cli import deploy_app
from anxin.settings import Settings, load_settings
from anxin.simcli import simulate_app
from broker.contract import DeviceKind
from central.interpreting.cli import interpreting_app

app = typer.Typer(
    help="安心政务大厅 Anxin Hall",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
broker_app = typer.Typer(help="MQTT broker: embedded broker, Mosquitto config, certificates")
db_app = typer.Typer(help="Hub database", no_args_is_help=True)
config_app = typer.Typer(help="Settings files", no_args_is_help=True)
users_app = typer.Typer(help="Admin web users", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks", no_args_is_help=True)
docs_app = typer.Typer(help="Generated documentation", no_args_is_help=True)
hall_app = typer.Typer(help="Hall configuration as YAML", no_args_is_help=True)
audit_app = typer.Typer(help="Fairness log audit", no_args_is_help=True)
matters_app = typer.Typer(help="Matter library (事项库): import, export, check, publish",
                          no_args_is_help=True)  # fmt: skip
app.add_typer(broker_app, name="broker")
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(users_app, name="users")
app.add_typer(bench_app, name="bench")
app.add_typer(docs_app, name="docs")
app.add_typer(hall_app, name="hall")
app.add_typer(audit_app, name="audit")
guide_app = typer.Typer(help="智能导办: search the matter library", no_args_is_help=True)
app.add_typer(guide_app, name="guide")
app.add_typer(matters_app, name="matters")
app.add_typer(simulate_app, name="simulate")
app.add_typer(interpreting_app, name="interpreting")
devices_app = typer.Typer(
    help="Device registry: bind callers to windows, set display boards", no_args_is_help=True
)
app.add_typer(devices_app, name="devices")
app.add_typer(deploy_app, name="deploy")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML settings file", envvar="ANXIN_CONFIG"),
]


class _State:
    config: Path | None = None


_state = _State()


@app.callback()
def main(config: ConfigOpt = None) -> None:
    _state.config = config


def settings(**overrides: Any) -> Settings:
    """Load settings once for this command, with a readable error."""
    try:
        s = load_settings(_state.config, **overrides)
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"invalid settings: {exc}", err=True)
        raise typer.Exit(2) from None
    from anxin.logs import configure_logging

    configure_logging(s)
    return s


def _run(coro: Coroutine[Any, Any, None], *, uvloop_if_installed: bool = False) -> None:
    """Run until done or Ctrl-C / SIGTERM, then let the coroutine clean up."""
    from anxin.supervise import run_until_signalled

    run_until_signalled(coro, uvloop_if_installed=uvloop_if_installed)


# --- roles --------------------------------------------------------------------


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option(help="where the demo keeps its state")] = Path("var"),
    keepalive: Annotated[int, typer.Option(help="device MQTT keepalive (s)")] = 4,
) -> None:
    """Run the whole hall on embedded defaults: broker, hub and one simulated device
    of each kind, supervised; prints the URLs to open."""
    from anxin.demo import run_demo

    _run(run_demo(settings(data_dir=data_dir), keepalive_s=keepalive))


@app.command()
def hub(
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, max=32, help="HTTP worker processes")
    ] = 1,
) -> None:
    """Run the central hub (web, API and MQTT bridge)."""
    from central.server import run_hub, run_hub_workers

    s = settings()

    def ready(url: str) -> None:
        typer.echo(f"hub ready: {url}", err=True)

    if workers > 1:
        run_hub_workers(s, workers=workers, config_file=_state.config, ready=ready)
        return
    _run(run_hub(s, ready=ready), uvloop_if_installed=True)


@broker_app.callback(invoke_without_command=True)
def broker(ctx: typer.Context) -> None:
    """Run the embedded broker (amqtt) for a one-box hall."""
    if ctx.invoked_subcommand is not None:
        return
    from broker.embedded import run_broker

    s = settings()

    def ready(port: int) -> None:
        typer.echo(f"broker ready: {s.broker.host}:{port}", err=True)

    port = s.broker.port
    if port == 0:
        from anxin.ports import free_port

        port = free_port(s.broker.host)
    _run(
        run_broker(
            host=s.broker.host,
            port=port,
            hall=s.hall,
            secret=s.hub.secret_key.get_secret_value(),
            ready=ready,
        )
    )


@broker_app.command("credentials")
def broker_credentials(user: str) -> None:
    """Print the MQTT password of a device (its id) or of the hub (`hub`)."""
    from broker.credentials import mqtt_password

    typer.echo(mqtt_password(settings().hub.secret_key.get_secret_value(), user))


@broker_app.command("certs")
def broker_certs(
    out: Annotated[Path, typer.Option(help="folder for the CA and certificates")],
    name: Annotated[list[str], typer.Option(help="broker host name or IP (repeat)")] = [],  # noqa: B006
    device: Annotated[list[str], typer.Option(help="device id to issue a cert for")] = [],  # noqa: B006
    force: Annotated[bool, typer.Option(help="replace an existing hall CA")] = False,
) -> None:
    """Generate the hall CA, the broker's server certificate and device certificates."""
    from broker.mosquitto.certs import write_certs

    certs = write_certs(out, hall=settings().hall, names=name, device_ids=device, force=force)
    typer.echo(f"hall CA: {certs.ca_cert}\nserver certificate: {certs.server.cert}")
    for dev_id, paths in certs.clients.items():
        typer.echo(f"device {dev_id}: {paths.cert}")


@broker_app.command("mosquitto-config")
def broker_mosquitto_config(
    out: Annotated[Path, typer.Option(help="folder to write mosquitto.conf, passwd, acl, certs")],
    device: Annotated[list[str], typer.Option(help="device id (repeat)")] = [],  # noqa: B006
    from_registry: Annotated[bool, typer.Option(help="add every device the hub knows")] = False,
    name: Annotated[list[str], typer.Option(help="broker host name or IP (repeat)")] = [],  # noqa: B006
    tls_port: int = 8883,
    plain_port: Annotated[int | None, typer.Option(help="localhost plain port")] = None,
    require_certificate: bool = False,
) -> None:
    """Write the production Mosquitto configuration: TLS with the hall CA,
    per-device credentials and the ACL generated from the device registry."""
    from broker.mosquitto.certs import generate_ca
    from broker.mosquitto.conf import write_config

    s = settings()
    ids = list(device)
    if from_registry:
        from central.devices.service import registered_device_ids

        ids += [d for d in registered_device_ids(s) if d not in ids]
    ca = generate_ca(out / "ca", s.hall)
    conf = write_config(
        out,
        hall=s.hall,
        secret=s.hub.secret_key.get_secret_value(),
        device_ids=ids,
        ca=ca,
        server_names=name,
        tls_port=tls_port,
        plain_port=plain_port,
        require_certificate=require_certificate,
        client_certs=require_certificate,
    )
    typer.echo(f"wrote {conf} for {len(ids)} devices; start with: mosquitto -c {conf}")


@app.command()
def device(
    kind: DeviceKind,
    id: Annotated[str, typer.Option("--id", help="device id, e.g. kiosk-01")],
    sim: Annotated[bool, typer.Option("--sim", help="simulated hardware")] = False,
    ui: Annotated[
        bool, typer.Option("--ui", help="kiosk, display, signlang: run the Kivy screens too")
    ] = False,
    fullscreen: Annotated[bool, typer.Option(help="--ui: full screen")] = False,
    landscape: Annotated[bool, typer.Option(help="kiosk --ui: 1920×1080, not 1080×1920")] = False,
    portrait: Annotated[bool, typer.Option(help="display --ui: 1080×1920, not 1920×1080")] = False,
) -> None:
    """Run the edge agent of one device (a kiosk with --ui: and its touch screen)."""
    if (fullscreen or landscape or portrait) and not ui:
        raise typer.BadParameter("--fullscreen, --landscape and --portrait go with --ui")
    if ui and kind not in (DeviceKind.KIOSK, DeviceKind.DISPLAY, DeviceKind.SIGNLANG):
        raise typer.BadParameter("--ui is for kinds kiosk, display and signlang")
    from edge.runner import run_device

    base = settings()
    mqtt = base.mqtt
    if mqtt.username is None:
        from pydantic import SecretStr

        from broker.credentials import mqtt_password

        secret = base.hub.secret_key.get_secret_value()
        mqtt = mqtt.model_copy(
            update={"username": id, "password": SecretStr(mqtt_password(secret, id))}
        )
    dev = base.device.model_copy(update={"id": id, "kind": kind, "sim": sim or base.device.sim})
    update: dict[str, Any] = {"device": dev, "mqtt": mqtt}
    if kind is DeviceKind.KIOSK and dev.sim:
        # A simulated kiosk has no card reader or (without --ui) touch screen:
        # `anxin kiosk take` drives it; with --ui the control also drives the UI.
        update["kiosk"] = base.kiosk.model_copy(update={"control_socket": True})
    if ui and kind is DeviceKind.DISPLAY:
        from display.ui.device import run_device_ui as run_board_ui

        board = "portrait" if portrait else "landscape"
        settings_ = base.model_copy(update=update)
        raise typer.Exit(run_board_ui(settings_, fullscreen=fullscreen, orientation=board))
    if ui and kind is DeviceKind.SIGNLANG:
        from signlang_terminal.ui.device import run_device_ui as run_signlang_ui

        raise typer.Exit(run_signlang_ui(base.model_copy(update=update), fullscreen=fullscreen))
    if ui:
        from kiosk_ui.device import run_device_ui

        orientation = "landscape" if landscape else "portrait"
        code = run_device_ui(
            base.model_copy(update=update), fullscreen=fullscreen, orientation=orientation
        )
        raise typer.Exit(code)
    _run(run_device(base.model_copy(update=update)))


kiosk_app = typer.Typer(
    help="Drive a running kiosk through its local control", no_args_is_help=True
)
app.add_typer(kiosk_app, name="kiosk")


def _kiosk_call(device_id: str, request: dict[str, Any]) -> Any:
    import asyncio

    from edge.kinds.kiosk_control import call_control

    data_dir = settings().data_dir / "devices" / device_id
    try:
        return asyncio.run(call_control(data_dir, request))
    except OSError as exc:
        typer.echo(f"kiosk {device_id} is not running with its local control: {exc}", err=True)
        raise typer.Exit(2) from None


@kiosk_app.command("take")
def kiosk_take(
    service: Annotated[str, typer.Argument(help="service code")],
    id: Annotated[str, typer.Option("--id", help="kiosk id")] = "kiosk-01",
    green: Annotated[str | None, typer.Option(help="绿色通道 with this reason code")] = None,
    citizen_id: Annotated[str | None, typer.Option(help="ID card or mobile number")] = None,
    matter: Annotated[str | None, typer.Option(help="matter key")] = None,
) -> None:
    """Take a ticket at a running kiosk (as a tap would) and print it as JSON."""
    answer = _kiosk_call(id, {
        "op": "take", "service": service, "priority": "green" if green else "normal",
        "priority_reason": green, "citizen_id": citizen_id, "matter": matter, "print": True,
    })  # fmt: skip
    typer.echo(json.dumps(answer, ensure_ascii=False))
    if not answer.get("ok"):
        raise typer.Exit(1)


@kiosk_app.command("status")
def kiosk_status(id: Annotated[str, typer.Option("--id", help="kiosk id")] = "kiosk-01") -> None:
    """Online or offline, and the unused reserved numbers per service today."""
    typer.echo(json.dumps(_kiosk_call(id, {"op": "status"}), ensure_ascii=False))


# --- administration -------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (Alembic) up to the newest version."""
    from central.db import upgrade_database

    s = settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(s)
    typer.echo("database is up to date")


@config_app.command("validate")
def config_validate(file: Path) -> None:
    """Check a TOML settings file; exits non-zero with the reasons when invalid."""
    try:
        load_settings(file)
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"{file}: invalid\n{exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{file}: valid")


@users_app.command("create-admin")
def users_create_admin(
    username: Annotated[str, typer.Argument(help="login name")] = "admin",
) -> None:
    """Create the first admin with a one-time password (printed once)."""
    from central.auth.service import AccountError, create_admin

    try:
        password = create_admin(settings(), username=username)
    except AccountError as exc:
        typer.echo(f"{exc}; use `anxin users reset-password {username}`", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"admin user: {username}\none-time password: {password}")


@users_app.command("reset-password")
def users_reset_password(username: Annotated[str, typer.Argument(help="login name")]) -> None:
    """Give a user a new one-time password and sign out their sessions."""
    from central.auth.service import AccountError, reset_password

    try:
        password = reset_password(settings(), username=username)
    except AccountError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"user: {username}\none-time password: {password}")


@hall_app.command("import")
def hall_import(
    file: Annotated[Path, typer.Argument(help="hall YAML file", exists=True, dir_okay=False)],
    replace: Annotated[
        bool, typer.Option("--replace", help="the file is the whole hall: retire what it omits")
    ] = False,
) -> None:
    """Import a hall configuration; imports nothing and lists every problem if any."""
    from central.queueing.admin import import_file

    report = import_file(settings(), file, replace=replace)
    for problem in report.problems:
        typer.echo(f"{file}: {problem}", err=True)
    typer.echo(report.summary(), err=not report.ok)
    if not report.ok:
        raise typer.Exit(1)
    for username, password in report.passwords.items():
        typer.echo(f"新建窗口人员 {username}  一次性密码：{password}")


@devices_app.command("bind")
def devices_bind(
    device_id: Annotated[str, typer.Argument(help="caller id, e.g. caller-07")],
    window: Annotated[int | None, typer.Option(min=1, help="window number")] = None,
    unbind: Annotated[bool, typer.Option("--unbind", help="remove the binding")] = False,
    transfer_to: Annotated[
        str | None,
        typer.Option("--transfer-to", help="service code the transfer button sends tickets to"),
    ] = None,
    no_transfer: Annotated[
        bool, typer.Option("--no-transfer", help="remove the transfer target")
    ] = False,
) -> None:
    """Bind a caller to a window: its buttons then act there (published in its config).

    ``--transfer-to`` sets the service its transfer button sends the ticket
    being served to (a button box cannot choose one); without a target the
    button is refused and the clerk transfers on the workstation page.
    """
    from central.devices.admin import ServiceMissing, WindowMissing, bind_caller
    from central.devices.service import DeviceNotFound, SettingsInvalid

    if (window is not None and unbind) or (transfer_to is not None and no_transfer):
        typer.echo("--window 与 --unbind、--transfer-to 与 --no-transfer 不能同时使用", err=True)
        raise typer.Exit(2)
    values: dict[str, Any] = {}
    if window is not None or unbind:
        values["window"] = window
    if transfer_to is not None or no_transfer:
        values["transfer_to"] = transfer_to.strip() if transfer_to else None
    if not values:
        typer.echo(
            "请用 --window N 指定窗口、--unbind 解除绑定，或用 --transfer-to 业务代码 设置转办键",
            err=True,
        )
        raise typer.Exit(2)
    try:
        bound = bind_caller(settings(), device_id, values)
    except DeviceNotFound:
        typer.echo(f"设备 {device_id} 尚未上线过", err=True)
        raise typer.Exit(1) from None
    except (SettingsInvalid, WindowMissing, ServiceMissing) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    done = []
    if "window" in values:
        done.append(f"已绑定到 {window} 号窗口" if window is not None else "已解除窗口绑定")
    if "transfer_to" in values:
        target = values["transfer_to"]
        done.append(f"转办键转到业务 {target}" if target else "已取消转办键的业务")
    typer.echo(f"呼叫器 {device_id} {'，'.join(done)}（配置版本 {bound.snapshot.config_version}）")
    if not bound.published:
        typer.echo("消息服务器暂不可达：中心重新连接后会下发该配置", err=True)


@devices_app.command("display")
def devices_display(
    device_id: Annotated[str, typer.Argument(help="display id, e.g. display-01")],
    board: Annotated[str | None, typer.Option(help="hall, area or window")] = None,
    area: Annotated[str | None, typer.Option(help="area code (area board)")] = None,
    services: Annotated[
        str | None, typer.Option(help="service codes whose waits are listed, comma-separated")
    ] = None,
    window: Annotated[int | None, typer.Option(help="window number (window display)")] = None,
    title: Annotated[str | None, typer.Option(help="heading")] = None,
    notice: Annotated[
        list[str] | None, typer.Option(help="a scrolling notice (repeat for more)")
    ] = None,
    highlight_s: Annotated[
        float | None, typer.Option(help="seconds each new call is featured")
    ] = None,
    calls_shown: Annotated[int | None, typer.Option(help="rows of latest calls")] = None,
    announce: Annotated[
        bool | None, typer.Option("--announce/--silent", help="announce new calls")
    ] = None,
    serial_lines: Annotated[int | None, typer.Option(help="lines for a serial LED board")] = None,
    voice_repeat: Annotated[
        int | None, typer.Option(help="times each call is said (over the device's own)")
    ] = None,
    voice_busy_repeat: Annotated[
        int | None, typer.Option(help="times a call is said while others wait behind it")
    ] = None,
    voice_max_wait_s: Annotated[
        float | None, typer.Option(help="skip a call that waited longer (0: never)")
    ] = None,
    voice_chime: Annotated[
        bool | None, typer.Option("--chime/--no-chime", help="a chime before each call")
    ] = None,
    reset: Annotated[
        list[str] | None, typer.Option(help="a setting back to its default (repeatable)")
    ] = None,
) -> None:
    """Set a display's board settings (published in its retained config)."""
    from central.devices.admin import configure_display
    from central.devices.service import DeviceNotFound, SettingsInvalid

    given = {
        "board": board,
        "area": area,
        "services": [c.strip() for c in services.split(",") if c.strip()] if services else None,
        "window": window,
        "title": title,
        "notices": notice or None,
        "highlight_s": highlight_s,
        "calls_shown": calls_shown,
        "announce": announce,
        "serial_lines": serial_lines,
        "voice_repeat": voice_repeat,
        "voice_busy_repeat": voice_busy_repeat,
        "voice_max_wait_s": voice_max_wait_s,
        "voice_chime": voice_chime,
    }
    values: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    values |= dict.fromkeys(reset or [])
    if not values:
        typer.echo("请至少指定一项设置，例如 --board area --area market", err=True)
        raise typer.Exit(2)
    try:
        done = configure_display(settings(), device_id, values)
    except DeviceNotFound:
        typer.echo(f"设备 {device_id} 尚未上线过", err=True)
        raise typer.Exit(1) from None
    except SettingsInvalid as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    from central.devices.boards import summary

    snap = done.snapshot
    typer.echo(
        f"显示屏 {device_id} 已更新：{summary(snap.settings)}（配置版本 {snap.config_version}）"
    )
    if not done.published:
        typer.echo("消息服务器暂不可达：中心重新连接后会下发该配置", err=True)


@hall_app.command("export")
def hall_export(
    file: Annotated[Path | None, typer.Argument(help="write here instead of stdout")] = None,
) -> None:
    """Export the hall configuration as YAML."""
    from central.queueing.admin import export_text

    text = export_text(settings())
    if file is None:
        typer.echo(text, nl=False)
        return
    file.write_text(text, encoding="utf-8")
    typer.echo(f"已写入 {file}", err=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain of the fairness log; exit 1 at the first bad entry."""
    from central.queueing.admin import verify

    report = verify(settings())
    if report.ok:
        typer.echo(f"公平性日志校验通过：共检查 {report.entries} 条记录")
        return
    typer.echo(
        f"公平性日志校验失败：第一条异常记录 id={report.first_bad_id}"
        f"（已检查 {report.entries} 条）：{report.problem}",
        err=True,
    )
    raise typer.Exit(1)


@matters_app.command("import")
def matters_import(
    file: Annotated[
        Path, typer.Argument(help="library file: .xlsx or .json", exists=True, dir_okay=False)
    ],
    publish: Annotated[bool, typer.Option("--publish", help="publish what is imported")] = False,
    reason: Annotated[str, typer.Option("--reason", help="why (kept in each new version)")] = "",
) -> None:
    """Import a matter library; imports nothing and lists every bad row if any."""
    from central.matters import admin
    from central.matters.excel import LibraryFileInvalid

    s = settings()
    try:
        typer.echo(f"正在读取并校验 {file} …", err=True)
        library = admin.read_library(file)
    except LibraryFileInvalid as exc:
        for problem in exc.problems:
            typer.echo(f"{file}: {problem}", err=True)
        typer.echo(f"未导入：发现 {len(exc.problems)} 个问题", err=True)
        raise typer.Exit(1) from None
    with typer.progressbar(length=len(library.matters), label="导入事项", file=sys.stderr) as bar:
        result = admin.import_library(
            s, library, reason=reason or f"导入 {file.name}", publish=publish, progress=bar.update
        )
    for text in result.problems:
        typer.echo(f"{file}: {text}", err=True)
    typer.echo(result.summary(), err=not result.ok)
    if not result.ok:
        raise typer.Exit(1)


@matters_app.command("export")
def matters_export(
    file: Annotated[Path, typer.Argument(help="write here: .xlsx or .json")],
) -> None:
    """Export the matter library (every matter's newest version)."""
    from central.matters import admin
    from central.matters.excel import ExportError

    try:
        count = admin.export_library(settings(), file)
    except ExportError as exc:
        typer.echo(f"未导出：{exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"已导出 {count} 个事项到 {file}", err=True)


@matters_app.command("check")
def matters_check() -> None:
    """要素完备检查: list every missing or inconsistent element; exit 1 on errors."""
    from central.matters import admin

    report = admin.check(settings())
    for p in report.problems:
        where = f"{p.matter_name or p.matter}（{p.matter}）" if p.matter else "事项库"
        typer.echo(f"{p.severity_label}\t{where}\t{p.path}\t{p.message}")
    typer.echo(report.summary(), err=bool(report.errors))
    if report.errors:
        raise typer.Exit(1)


@matters_app.command("publish")
def matters_publish(
    keys: Annotated[list[str] | None, typer.Argument(help="matter keys")] = None,
    everything: Annotated[bool, typer.Option("--all", help="publish every draft")] = False,
) -> None:
    """Publish matters: kiosks and mobile pages use them at once."""
    from central.matters import admin
    from central.matters.service import MatterNotFound

    if not keys and not everything:
        typer.echo("请指定事项标识，或用 --all 发布全部", err=True)
        raise typer.Exit(2)
    try:
        done = admin.publish(settings(), keys or [], everything=everything)
    except MatterNotFound as exc:
        typer.echo(f"未发布：{exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"已发布 {len(done)} 个事项" + (f"：{'、'.join(done)}" if done else ""))


# --- benchmarks and docs ----------------------------------------------------------


LibraryOpt = Annotated[
    Path | None,
    typer.Option("--library", help="a library JSON file instead of the published library"),
]


@guide_app.command("ask")
def guide_ask(
    text: Annotated[str, typer.Argument(help="a question in Chinese, or pinyin")],
    library: LibraryOpt = None,
) -> None:
    """Answer one question as the guidance page would (matters and FAQs)."""
    from central.guidance.commands import ask_text, load_library
    from central.guidance.search import GuideIndex

    typer.echo(ask_text(GuideIndex(load_library(settings(), library)), text))


@guide_app.command("recall")
def guide_recall(
    questions: Annotated[
        Path, typer.Argument(help="labelled questions YAML", exists=True, dir_okay=False)
    ] = Path("tests/guidance/questions.yaml"),
    library: LibraryOpt = None,
    k: Annotated[int, typer.Option(help="a hit is an expected matter in the top k")] = 3,
    target: Annotated[float, typer.Option(help="exit 1 below this recall")] = 0.9,
) -> None:
    """Recall@k of the search on a labelled question set; exit 1 below target."""
    from central.guidance.commands import load_library, recall_report
    from central.guidance.search import GuideIndex

    index = GuideIndex(load_library(settings(), library))
    report = recall_report(index, questions, k=k)
    typer.echo(report.text())
    if report.recall < target:
        raise typer.Exit(1)


@bench_app.command("list")
def bench_list() -> None:
    """Name the benchmarks."""
    from bench import BENCHMARKS

    for name, fn in BENCHMARKS.items():
        typer.echo(f"{name}\t{(fn.__doc__ or '').strip().splitlines()[0]}")


@bench_app.command("run")
def bench_run(
    name: str,
    quick: Annotated[bool, typer.Option("--quick", help="finish in under a minute")] = False,
) -> None:
    """Run one benchmark; the last line printed is its JSON result."""
    from bench import BENCHMARKS

    if name not in BENCHMARKS:
        typer.echo(f"unknown benchmark {name!r}; see `anxin bench list`", err=True)
        raise typer.Exit(2)
    result = BENCHMARKS[name](settings(), quick=quick)
    typer.echo(json.dumps(result, ensure_ascii=False))
    if not result.get("pass"):
        raise typer.Exit(1)


@docs_app.command("mqtt")
def docs_mqtt(
    out: Annotated[Path, typer.Option(help="where to write")] = Path("docs/mqtt.md"),
    check: Annotated[bool, typer.Option("--check", help="fail if the file is stale")] = False,
) -> None:
    """Generate docs/mqtt.md from the contract."""
    from broker.docs import render_mqtt_doc

    text = render_mqtt_doc()
    if check:
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            typer.echo(f"{out} is stale: run `anxin docs mqtt`", err=True)
            raise typer.Exit(1)
        return
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}")


def run() -> None:
    """Entry point; `anxin bench NAME` is shorthand for `anxin bench run NAME`."""
    args = sys.argv[1:]
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in ("-c", "--config") else 1
    nxt = args[i + 1] if len(args) > i + 1 else "list"
    if args[i : i + 1] == ["bench"] and nxt not in ("list", "run") and not nxt.startswith("-"):
        sys.argv.insert(i + 2, "run")
    app()
