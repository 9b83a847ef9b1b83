"""`anxin device kiosk --id kiosk-01 [--sim] --ui`: the Kivy kiosk on the real
kiosk device agent.

Kivy owns the main thread; the device agent (`edge.agent.DeviceAgent` with
the kiosk kind) runs on a worker thread with its own asyncio loop. The UI
takes tickets from the agent's `edge.kinds.kiosk.Kiosk` (online through the
hub, offline from its number blocks) and prints on the printer port's
`TicketOutput`. What the UI shows comes from the hall's retained topics:

- **Services** (tiles, areas, hours): the services of the kiosk's retained
  ``dev/{id}/blocks`` message, kept in the kiosk's journal, so a kiosk that
  restarts without the hub still shows what it can issue offline. Until the
  first one arrives the UI says “暂无可办理业务”. Opening hours follow the
  hub's clock as the kiosk last learned it.
- **Matter library** (guidance, search): the retained ``hall/matters``
  manifest; when its sha256 differs from the library held, the JSON is
  fetched from ``kiosk.hub_url`` (default: the citizen base URL of the
  blocks, i.e. the hub) plus the manifest's path, checked against the hash,
  kept in ``{data_dir}/devices/{id}/library.json`` for the next start, and
  handed to the UI.
- **Waits**: the retained ``hall/queue/{service}`` figures.

The scanner port (`edge.ports.scanner`: camera, serial scanner or simulated)
hands every code it reads to the UI, which checks appointments in
(预约签到); with the control socket, ``{"op": "scan", "code": "…"}`` feeds the
simulated scanner.

The ID card reader port (`edge.ports.idcard`: the SAM_V serial protocol or
simulated) hands the ID number and the name of each card laid on it to the UI
(per-person limits; the screen shows both masked). With the control socket,
``{"op": "idcard", "id_number": "…", "name": "…"}`` lays a card on the
simulated reader.

A print the printer did not take becomes a ``printer_problem`` event (the
outbox carries it to the hub) and, for five minutes unless the printer reports
a fault itself, the ``printer`` state in the heartbeat.

Closing the window stops the agent (explicit offline status); an agent that
dies closes the window; SIGTERM/SIGINT close the window. With the local
control socket (``--sim``) three more ops drive the UI (`edge.kinds.kiosk_control`):
``{"op": "ui"}`` (what the screen shows), ``{"op": "tap", "key": "area:x"}``
(release an on-screen button, as a finger) and ``{"op": "screenshot",
"path": "/tmp/k.png"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from anxin.settings import Settings
from broker.contract import Channel, HallMatters, HallQueue, KioskBlocks, KioskService, Message
from edge.agent import DeviceAgent
from edge.agent_thread import AgentThread, signals_close
from edge.kinds.kiosk import Kiosk, ticket_source
from edge.ports.printer import Printer
from kiosk_ui.app import KioskHandle
from kiosk_ui.viewmodels.offer import HallOffer, LibrarySource
from printer.api import PrinterState, PrintOutcome

log = logging.getLogger(__name__)

START_TIMEOUT_S: Final = 30.0
FETCH_TIMEOUT_S: Final = 20.0
FETCH_RETRY_S: Final = 30.0
PROBLEM_HOLD_S: Final = 300.0
LIBRARY_FILE: Final = "library.json"


class HubClock:
    """The kiosk's copy of the hub's clock (`KioskClock` for the view-model)."""

    def __init__(self, kiosk: Kiosk) -> None:
        self._kiosk = kiosk

    def now(self) -> dt.datetime:
        return self._kiosk.now()

    def monotonic(self) -> float:
        return time.monotonic()


class PrinterWatch:
    """The printer's state for the heartbeat: the port's own, or the state of a
    print that failed in the last `PROBLEM_HOLD_S` while the port says ok or
    cannot tell (a transport without status)."""

    def __init__(self, printer: Printer | None) -> None:
        self._printer = printer
        self._problem: tuple[float, PrintOutcome] | None = None

    def failed(self, outcome: PrintOutcome) -> None:
        self._problem = (time.monotonic(), outcome)

    def state(self) -> str:
        live = self._printer.state if self._printer is not None else PrinterState.UNKNOWN.value
        if live not in (PrinterState.OK.value, PrinterState.UNKNOWN.value):
            return live
        if self._problem is not None and time.monotonic() - self._problem[0] < PROBLEM_HOLD_S:
            return self._problem[1].state.value
        return live


def offer_of(
    services: Iterable[KioskService], settings: Settings, timezone: str | None
) -> HallOffer:
    return HallOffer.from_kiosk_services(
        services, hall_name=settings.hall_name, timezone=timezone or settings.queue.timezone
    )


class DeviceSide:
    """Everything on the agent's loop: the hall topics → the UI, the library fetch,
    print problems → events. Built and used on the agent thread only."""

    def __init__(self, agent: DeviceAgent, kiosk: Kiosk, settings: Settings) -> None:
        self.agent = agent
        self.kiosk = kiosk
        self.settings = settings
        self.handle: KioskHandle | None = None
        catalogue = kiosk.journal.catalogue() or {}
        self.offer = offer_of(kiosk.services(), settings, catalogue.get("timezone"))
        self.base_url: str | None = settings.kiosk.hub_url or catalogue.get("citizen_base_url")
        self.library_file = agent.data_dir / LIBRARY_FILE
        self.library_data: bytes | None = None  # fetched since the start
        self.library_sha = ""
        with contextlib.suppress(OSError):
            self.library_sha = hashlib.sha256(self.library_file.read_bytes()).hexdigest()
        self.manifest: HallMatters | None = None
        self._fetch: asyncio.Task[None] | None = None
        self.watch = PrinterWatch(kiosk.printer)
        kiosk.attach_printer(self.watch.state)
        agent.on_channel(Channel.BLOCKS, self.on_blocks)
        agent.on_channel(Channel.HALL_QUEUE, self.on_queue)
        agent.on_channel(Channel.HALL_MATTERS, self.on_matters)
        kiosk.control_ops.update(
            ui=self._op_ui,
            tap=self._op_tap,
            screenshot=self._op_screenshot,
            scan=self._op_scan,
            idcard=self._op_idcard,
        )

    @property
    def name(self) -> str:
        return self.agent.device_id

    def queues(self) -> dict[str, HallQueue]:
        return {q.service: q for q in self.agent.board.values() if isinstance(q, HallQueue)}

    # --- the UI's side ------------------------------------------------------------------

    def attach(self, handle: KioskHandle) -> None:
        """The UI is up: bring it up to date with what arrived meanwhile."""
        self.handle = handle
        handle.update_offer(self.offer, public_base_url=self.base_url)
        for queue in self.queues().values():
            handle.update_queue(queue)
        if self.library_data is not None:
            handle.update_library_json(self.library_data)
        self._want_library()
        scanner = self.kiosk.scanner
        if scanner is not None:
            try:
                scanner.start(handle.code_scanned)  # codes arrive on the scanner's thread
            except Exception:
                log.exception("%s: the scanner did not start; check-in by scan is off", self.name)
        reader = self.kiosk.idcard
        if reader is not None:
            try:  # reads arrive on the reader's thread; the handle hops to Kivy's
                reader.start(lambda card: handle.id_card_read(card.id_number, card.name))
            except Exception:
                log.exception("%s: the ID card reader did not start; keypad entry only", self.name)

    def print_problem(self, outcome: PrintOutcome) -> None:
        self.watch.failed(outcome)
        log.warning("%s: printer problem: %s", self.agent.device_id, outcome.detail)
        self.agent.emit(
            "printer_problem",
            {"state": outcome.state.value, "detail": outcome.detail, "bytes": outcome.bytes_sent},
        )

    # --- hall topics ----------------------------------------------------------------------

    def on_blocks(self, msg: Message) -> None:
        blocks = msg.payload
        assert isinstance(blocks, KioskBlocks)
        self.base_url = self.settings.kiosk.hub_url or blocks.citizen_base_url
        offer = offer_of(blocks.services, self.settings, blocks.timezone)
        if offer != self.offer:
            log.info("%s: %d services offered", self.agent.device_id, len(offer.services))
        self.offer = offer
        if self.handle is not None:
            self.handle.update_offer(offer, public_base_url=self.base_url)
        self._want_library()

    def on_queue(self, msg: Message) -> None:
        if self.handle is not None and isinstance(msg.payload, HallQueue):
            self.handle.update_queue(msg.payload)

    def on_matters(self, msg: Message) -> None:
        assert isinstance(msg.payload, HallMatters)
        self.manifest = msg.payload
        self._want_library()

    # --- the matter library ----------------------------------------------------------------

    def _want_library(self) -> None:
        manifest = self.manifest
        if manifest is None or manifest.sha256 == self.library_sha or not self.base_url:
            return
        if self._fetch is None or self._fetch.done():
            self._fetch = asyncio.get_running_loop().create_task(self._fetch_library())

    async def _fetch_library(self) -> None:
        while (manifest := self.manifest) is not None and manifest.sha256 != self.library_sha:
            url = f"{(self.base_url or '').rstrip('/')}{manifest.url}"
            try:
                data = await asyncio.to_thread(_get, url)
            except OSError as exc:
                log.warning("%s: matter library from %s: %s", self.agent.device_id, url, exc)
                await asyncio.sleep(FETCH_RETRY_S)
                continue
            sha = hashlib.sha256(data).hexdigest()
            if sha != manifest.sha256:
                if self.manifest is manifest:  # not a newer publication in between
                    log.warning("%s: library hash %s is not the manifest's", self.name, sha[:12])
                    await asyncio.sleep(FETCH_RETRY_S)
                continue
            await asyncio.to_thread(_write_atomic, self.library_file, data)
            self.library_data, self.library_sha = data, sha
            log.info("%s: matter library revision %d", self.name, manifest.revision)
            if self.handle is not None:
                self.handle.update_library_json(data)

    # --- local control ops (on the agent's loop; the work on Kivy's thread) ----------------

    async def _on_ui(self, fn: Any) -> Any:
        if self.handle is None:
            raise RuntimeError("the kiosk UI is not up yet")
        return await asyncio.wait_for(asyncio.wrap_future(self.handle.on_main(fn)), 10)

    async def _op_ui(self, request: dict[str, Any]) -> dict[str, Any]:
        handle = self.handle
        if handle is None:
            return {"ok": False, "reason": "the kiosk UI is not up yet"}
        return {"ok": True, **await self._on_ui(handle.snapshot)}

    async def _op_tap(self, request: dict[str, Any]) -> dict[str, Any]:
        key = str(request.get("key") or "")
        handle = self.handle
        if handle is None:
            return {"ok": False, "reason": "the kiosk UI is not up yet"}
        tapped = await self._on_ui(lambda: handle.tap(key))
        return {"ok": bool(tapped), **({} if tapped else {"reason": f"no button {key} on screen"})}

    async def _op_scan(self, request: dict[str, Any]) -> dict[str, Any]:
        from edge.ports.scanner import SimScanner

        code = str(request.get("code") or "")
        scanner = self.kiosk.scanner
        if not isinstance(scanner, SimScanner) or self.handle is None:
            return {"ok": False, "reason": "no simulated scanner, or the UI is not up yet"}
        scanner.scan(code)
        return {"ok": True}

    async def _op_idcard(self, request: dict[str, Any]) -> dict[str, Any]:
        from edge.ports.idcard import SimIdCardReader

        reader = self.kiosk.idcard
        if not isinstance(reader, SimIdCardReader) or self.handle is None:
            return {"ok": False, "reason": "no simulated ID card reader, or the UI is not up yet"}
        reader.place(str(request.get("id_number") or ""), str(request.get("name") or ""))
        return {"ok": True}

    async def _op_screenshot(self, request: dict[str, Any]) -> dict[str, Any]:
        path = str(request.get("path") or self.agent.data_dir / "screenshot.png")
        handle = self.handle
        if handle is None:
            return {"ok": False, "reason": "the kiosk UI is not up yet"}
        return {"ok": True, "path": await self._on_ui(lambda: handle.screenshot(path))}


def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:  # noqa: S310
        body: bytes = response.read()
        return body


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def kiosk_thread(settings: Settings) -> AgentThread[DeviceSide]:
    """The kiosk agent on its worker thread; `attached` is its `DeviceSide`."""

    def attach(agent: DeviceAgent) -> DeviceSide:
        return DeviceSide(agent, ticket_source(agent.device_id), settings)

    async def detach(side: DeviceSide) -> None:
        side.kiosk.close()

    return AgentThread(settings, attach, name="kiosk-agent", detach=detach)


def run_device_ui(
    settings: Settings, *, fullscreen: bool = False, orientation: str = "portrait"
) -> int:
    """Run the kiosk agent with its Kivy UI until the window closes; the exit code."""
    from kiosk_ui.app import run_kiosk
    from kiosk_ui.viewmodels.kiosk import KioskSettings as UiSettings

    agent = kiosk_thread(settings)
    handles: list[KioskHandle] = []
    closing = threading.Event()

    def close_ui() -> None:
        closing.set()
        for handle in handles:
            handle.stop()

    agent.on_exit.append(close_ui)
    side = agent.start_and_wait(START_TIMEOUT_S)
    if side is None or agent.loop is None:
        return 1

    def on_ready(handle: KioskHandle) -> None:
        handles.append(handle)
        agent.call(side.attach, handle)
        if closing.is_set() or not agent.is_alive():
            handle.stop()

    try:
        with signals_close(close_ui):
            run_kiosk(
                source=side.kiosk,
                output=_tickets_of(side.kiosk),
                library=_cached_library(side.library_file),
                offer=side.offer,
                settings=UiSettings(
                    hall_name=settings.hall_name,
                    orientation=orientation,
                    public_base_url=side.base_url or UiSettings.public_base_url,
                ),
                queues=None,
                source_loop=agent.loop,
                fullscreen=fullscreen,
                on_ready=on_ready,
                on_print_problem=lambda outcome: agent.call(side.print_problem, outcome),
                clock=HubClock(side.kiosk),
            )
    finally:
        code = agent.finish()
    return code


def _cached_library(path: Path) -> LibrarySource:
    """The library fetched before (a kiosk starts with guidance without the hub)."""
    try:
        return LibrarySource.from_file(path)
    except OSError:
        return LibrarySource()


def _tickets_of(kiosk: Kiosk) -> Any:
    printer = kiosk.printer
    if printer is None:
        raise RuntimeError("the kiosk has no printer port")
    return printer.tickets
