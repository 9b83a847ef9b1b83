"""`anxin demo`: the whole hall on one box, supervised.

Starts the embedded broker, the hub on SQLite under the data folder, one
simulated device of each kind and a live simulation of the demo hall's
visitors and clerks (`anxin simulate live`), each as its own `anxin` process (so stopping one
device shows it going offline), prefixes their logs, and stops them in order on
Ctrl-C: devices first, so their offline status reaches the hub, then the hub,
then the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from anxin.ports import free_port
from anxin.settings import Settings
from broker.contract import DeviceKind

DEMO_DEVICES: tuple[tuple[DeviceKind, str], ...] = (
    (DeviceKind.KIOSK, "kiosk-01"),
    (DeviceKind.CALLER, "caller-01"),
    (DeviceKind.DISPLAY, "display-01"),
    (DeviceKind.SIGNLANG, "signlang-01"),
)
MAX_RESTARTS = 5


@dataclass
class Child:
    name: str
    args: list[str]
    env: Mapping[str, str]
    proc: asyncio.subprocess.Process | None = None
    ready_marker: str = ""
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    restarts: int = 0
    stopping: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def demo_secret(data_dir: Path) -> str:
    """A per-installation secret, made once: device passwords derive from it."""
    path = data_dir / "demo-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def anxin_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "anxin", *args]


async def _pump(child: Child, stream: asyncio.StreamReader | None) -> None:
    if stream is None:
        return
    while line := await stream.readline():
        text = line.decode(errors="replace")
        if child.ready_marker and text.startswith(child.ready_marker):
            child.ready.set()
        sys.stderr.write(f"[{child.name}] {text}")


async def _start(child: Child) -> None:
    child.proc = await asyncio.create_subprocess_exec(
        *child.args,
        env=dict(child.env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    child.tasks = [asyncio.create_task(_pump(child, child.proc.stdout))]


async def _supervise(child: Child) -> None:
    """Restart a child that crashes; leave one that was stopped by a signal down
    (that is how a person shows a device going offline)."""
    while True:
        assert child.proc is not None
        code = await child.proc.wait()
        if child.stopping:
            return
        if code < 0 or code == 0:
            sys.stderr.write(f"[demo] {child.name} stopped (exit {code}); not restarting\n")
            return
        if child.restarts >= MAX_RESTARTS:
            sys.stderr.write(f"[demo] {child.name} keeps failing (exit {code}); giving up\n")
            return
        child.restarts += 1
        delay = min(30.0, 0.5 * 2**child.restarts)
        sys.stderr.write(f"[demo] {child.name} exited {code}; restart in {delay:.1f}s\n")
        await asyncio.sleep(delay)
        await _start(child)


async def _stop(child: Child, timeout_s: float = 8.0) -> None:
    child.stopping = True
    proc = child.proc
    if proc is None or proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
    for t in child.tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await t


async def run_demo(settings: Settings, *, keepalive_s: int) -> None:
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = demo_secret(data_dir)
    broker_port = free_port()
    hub_port = free_port()
    env = {
        **os.environ,
        "ANXIN_HALL": settings.hall,
        "ANXIN_DATA_DIR": str(data_dir),
        "ANXIN_HUB__SECRET_KEY": secret,
        "ANXIN_MQTT__HOST": "127.0.0.1",
        "ANXIN_MQTT__PORT": str(broker_port),
        "ANXIN_MQTT__KEEPALIVE_S": str(keepalive_s),
        "ANXIN_BROKER__PORT": str(broker_port),
        "ANXIN_HUB__PORT": str(hub_port),
        # Every hub of the demo (the live simulation runs one too) puts this
        # address in kiosk blocks and QR codes.
        "ANXIN_HUB__PUBLIC_URL": f"http://127.0.0.1:{hub_port}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("ANXIN_CONFIG", None)
    # What another `anxin` process needs to join this demo (the kiosk touch
    # screen: `anxin device kiosk --id kiosk-02 --sim --ui`, see the README).
    env_file = data_dir / "demo.env"
    env_file.touch(mode=0o600)
    joining = {k: v for k, v in env.items() if k.startswith("ANXIN_")}
    # The library comes from this hub (the live simulation's hub announces another URL).
    joining["ANXIN_KIOSK__HUB_URL"] = f"http://127.0.0.1:{hub_port}"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in joining.items()), encoding="utf-8")

    # Database and the one-time admin password come first, in this process.
    from central.auth.service import AccountError, create_admin, reset_password
    from central.db import upgrade_database

    hub_settings = settings.model_copy(
        update={
            "data_dir": data_dir,
            "hub": settings.hub.model_copy(update={"secret_key": SecretStr(secret)}),
        }
    )
    upgrade_database(hub_settings)
    try:
        password = create_admin(hub_settings, username="admin")
    except AccountError:  # a demo run before this one made it
        password = reset_password(hub_settings, username="admin")
    # The demo hall (demo_hall.yaml) goes in before the hub starts: importing it
    # hashes 76 clerk passwords in one transaction, longer than the hub's
    # writers would wait for SQLite's lock.
    from central.queueing.simrun import prepare

    engine, sessions = await asyncio.to_thread(prepare, hub_settings, "demo")
    # The hall is open whenever the demo runs: outside opening hours the live
    # simulation plays from 09:00, and the hub's clock starts there too, so
    # kiosks, boards and pages all see the same (simulated) time of day.
    from broker.contract import utcnow
    from central.queueing.simlive import live_start

    with sessions() as session:
        _day, start_at = live_start(hub_settings, session, utcnow())
    engine.dispose()
    hub_env = dict(env)
    if abs((start_at - utcnow()).total_seconds()) > 60:
        hub_env["ANXIN_HUB__CLOCK_START"] = start_at.isoformat()
    # The demo matter library (事项库, demo_library.json), published, so the
    # guide pages and the admin 事项库 have content.
    from central.matters.admin import seed_demo

    await asyncio.to_thread(seed_demo, hub_settings)

    # Each prints a line when it is listening; the next one starts after it.
    broker = Child("broker", anxin_command("broker"), env, ready_marker="broker ready")
    hub = Child("hub", anxin_command("hub"), hub_env, ready_marker="hub ready")
    devices = [
        Child(dev_id, anxin_command("device", kind.value, "--id", dev_id, "--sim"), env)
        for kind, dev_id in DEMO_DEVICES
    ]
    # Seeds the demo hall (demo_hall.yaml) into an empty database, then keeps
    # visitors coming and windows calling in real time, so the demo looks alive.
    visitors = Child("simulate", anxin_command("simulate", "live", "--hall", "demo"), env)
    devices.append(visitors)
    children = [broker, hub, *devices]
    supervisors: list[asyncio.Task[None]] = []
    try:
        for child, within_s in ((broker, 20), (hub, 30)):
            await _start(child)
            try:
                await asyncio.wait_for(child.ready.wait(), within_s)
            except TimeoutError:
                raise RuntimeError(f"the {child.name} did not start; see its log above") from None
        for d in devices:
            await _start(d)
        supervisors = [asyncio.create_task(_supervise(c)) for c in children]
        url = f"http://127.0.0.1:{hub_port}"
        pids = ", ".join(f"{d.name}={d.proc.pid}" for d in devices if d.proc)
        print(
            "\n安心政务大厅 Anxin Hall demo is running\n"
            f"  admin web (管理后台):  {url}/devices\n"
            f"  smart guide (智能导办): {url}/guide\n"
            f"  login:                admin / {password}   (one-time password)\n"
            f"  MQTT broker:          127.0.0.1:{broker_port} (embedded)\n"
            f"  device processes:     {pids}\n"
            f"  stop a device:        kill <pid>  -> 离线 within {keepalive_s * 1.5:.0f} s\n"
            f"  kiosk touch screen:   env $(cat {env_file}) anxin device kiosk --id kiosk-02 "
            "--sim --ui\n"
            "  Ctrl-C stops everything.\n",
            flush=True,
        )
        await asyncio.gather(*supervisors)
        await asyncio.Event().wait()  # stay up even if every child has stopped
    finally:
        for s in supervisors:
            s.cancel()
        await asyncio.gather(*(_stop(d) for d in devices))
        await _stop(hub)
        await _stop(broker)
        print("[demo] stopped", flush=True)
