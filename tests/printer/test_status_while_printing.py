"""The kiosk's heartbeat reads the printer while a long ticket is printing.

A slow network printer (a local TCP server that takes its job bytes slowly)
keeps a print job on the link for seconds; the heartbeat's status read must
answer at once with the state the job last read, and must not put a status
query in the middle of the job's bytes (nor open a second connection).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

from anxin.settings import PortsSettings
from broker.contract import DeviceKind
from broker.session import Backoff
from edge.ports.printer import EscposPrinter
from edge.runner import make_agent
from printer import render
from printer.api import PrinterState
from printer.service import TicketPrinter
from printer.settings import PrinterSettings
from tests.conftest import RunningBroker
from tests.edge.support import device_settings
from tests.printer.conftest import settings, ticket
from tests.printer.fake_printer import FakePrinter


class SlowPrinter(FakePrinter):
    """Takes job bytes `chunk` at a time with a pause after each (a slow
    printer mechanism behind a small buffer); keeps every connection's raw
    byte stream, status queries included, in arrival order."""

    def __init__(self, *, chunk: int = 512, pause_s: float = 0.02) -> None:
        super().__init__()
        self.chunk = chunk
        self.pause_s = pause_s
        self.streams: list[bytearray] = []
        self.open_now = 0
        self.most_open = 0
        self.job_started = threading.Event()

    def __enter__(self) -> SlowPrinter:
        super().__enter__()
        return self

    def _handle(self, conn: socket.socket) -> None:
        stream = bytearray()
        with self._lock:
            self.streams.append(stream)
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        pending = b""
        try:
            with conn:
                conn.settimeout(0.1)
                while not self._stop.is_set():
                    try:
                        data = conn.recv(self.chunk)
                    except TimeoutError:
                        continue
                    except OSError:
                        return
                    if not data:
                        return
                    stream.extend(data)
                    pending = self._feed(conn, pending + data)
                    if len(self.received) > 0:
                        self.job_started.set()
                        time.sleep(self.pause_s)
        finally:
            with self._lock:
                self.open_now -= 1


def slow_settings(fake: FakePrinter, **changes: object) -> PrinterSettings:
    # Raster: a ~55 KB job, as on printers without a Chinese font.
    base: dict[str, object] = {
        "transport": "network",
        "host": "127.0.0.1",
        "port": fake.port,
        "profile": "raster",
        "confirm_s": 0.5,
        # A query waits behind the job bytes the printer has not taken yet.
        "status_timeout_s": 5.0,
    }
    return settings(**(base | changes))


def test_the_heartbeat_answers_at_once_while_a_long_ticket_prints() -> None:
    with SlowPrinter() as fake:
        port = EscposPrinter(slow_settings(fake))
        assert port.state == "ok"  # idle: a real read
        fake.streams.clear()
        data = render.ticket_bytes(ticket(), port.settings)
        assert len(data) > 20_000

        outcome: list[object] = []
        job = threading.Thread(target=lambda: outcome.append(port.tickets.print_job(data)))
        started = time.monotonic()
        job.start()
        assert fake.job_started.wait(5)

        reads: list[tuple[float, str]] = []
        while job.is_alive():
            t0 = time.monotonic()
            state = port.state
            reads.append((time.monotonic() - t0, state))
            time.sleep(0.05)
        job.join()
        took = time.monotonic() - started

        assert outcome[0].ok, outcome[0]  # type: ignore[attr-defined]
        assert took > 1.0, f"the job was too quick to prove anything ({took:.2f} s)"
        assert len(reads) >= 10
        slowest = max(t for t, _ in reads)
        assert slowest < 0.05, f"a heartbeat read waited {slowest * 1000:.0f} ms for the job"
        assert {s for _, s in reads} == {"ok"}  # what the job read before sending

        # One connection at a time, and the job's bytes arrived in one piece.
        assert fake.most_open == 1
        (stream,) = fake.streams
        at = bytes(stream).find(data)
        assert at >= 0, "status queries were mixed into the job's bytes"
        assert bytes(stream[:at]).replace(b"\x10\x04", b"").strip(b"\x01\x02\x04") == b""


def test_a_busy_printer_never_read_yet_is_unknown_not_ok() -> None:
    """A job still waiting for the printer's first answer: the heartbeat does
    not wait with it and does not guess "ok"."""
    with SlowPrinter() as fake:
        fake.silent = True  # answers no status: the job's first read times out
        printer = TicketPrinter(slow_settings(fake, status_timeout_s=0.5))
        data = render.ticket_bytes(ticket(), printer.settings)
        outcome: list[object] = []
        job = threading.Thread(target=lambda: outcome.append(printer.print_job(data)))
        job.start()
        time.sleep(0.2)
        assert job.is_alive()
        t0 = time.monotonic()
        assert printer.state_now() is PrinterState.UNKNOWN
        assert time.monotonic() - t0 < 0.05
        job.join()
        assert not outcome[0].ok  # type: ignore[attr-defined]
        assert fake.received == b""  # nothing sent to a printer that did not answer
        assert printer.last_status is not None
        assert printer.last_status.state is PrinterState.OFFLINE
        assert printer.state_now() is PrinterState.OFFLINE  # free again: read afresh


async def test_the_kiosk_agent_heartbeat_is_not_held_by_a_print_job(
    mosquitto: RunningBroker, tmp_path: Path
) -> None:
    """The agent's heartbeat (its loop) while the kiosk prints on a slow printer."""
    with SlowPrinter() as fake:
        printer = slow_settings(fake)
        device = device_settings(mosquitto, tmp_path, "kiosk-01", DeviceKind.KIOSK)
        device = device.model_copy(
            update={
                "device": device.device.model_copy(
                    update={"sim": False, "ports": PortsSettings(printer=printer)}
                )
            }
        )
        agent = make_agent(device, backoff=Backoff(0.1, 0.5))
        await agent.start()
        try:
            await asyncio.wait_for(agent.wait_online(), 10)
            port = agent.ports.printer
            assert isinstance(port, EscposPrinter)
            data = render.ticket_bytes(ticket(), printer)
            job = asyncio.create_task(asyncio.to_thread(port.tickets.print_job, data))
            await asyncio.to_thread(fake.job_started.wait, 5)
            t0 = time.monotonic()
            health = agent.health()
            took = time.monotonic() - t0
            assert not job.done(), "the job ended before the heartbeat was read"
            assert took < 0.05, f"the heartbeat waited {took * 1000:.0f} ms"
            assert health.ports["printer"] == "ok"
            assert (await job).ok
        finally:
            await agent.stop()
