"""The kiosk's local control: take tickets without a touch screen.

For simulated kiosks, tests and the benchmark (``anxin device kiosk --id
kiosk-01 --sim`` starts it; ``kiosk.control_socket`` turns it on for a real
one). JSON lines on a Unix socket, one request per line, one answer per line:

    {"op": "take", "service": "general", "priority": "normal",
     "priority_reason": null, "citizen_id": null, "matter": null, "print": true}
    -> {"ok": true, "ticket": {...}, "take_ms": 3.1, "print_ms": 1.2}
    -> {"ok": false, "reason": "…（Chinese）"}
    {"op": "status"}
    -> {"ok": true, "online": true, "offline_issued": 0, "unused": {"general": 20},
        "printer": {"state": "ok", "jobs": 1, "bytes": 812}}   # jobs/bytes: --sim only

Other ops come from whoever registered them in ``Kiosk.control_ops`` (the
Kivy UI of ``anxin device kiosk --ui``: ``ui``, ``tap``, ``screenshot``; see
`kiosk_ui.device`).

The socket is ``{data_dir}/devices/{id}/control.sock``; where that path is too
long for a Unix socket, a short one under the temporary directory, and the
path actually used is written to ``control.path`` next to it. With
``"print": true`` the ticket is rendered to ESC/POS and written to the
kiosk's printer port (tap → bytes at the printer, as a citizen's tap).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from edge.kinds.kiosk_api import IssuedTicket, TicketRefused

if TYPE_CHECKING:
    from edge.kinds.kiosk import Kiosk

log = logging.getLogger(__name__)

_MAX_UNIX_PATH: Final = 100
_MAX_LINE: Final = 16 * 1024


def socket_path(data_dir: Path) -> Path:
    """Where the control socket of the device with this data directory lives."""
    wanted = data_dir / "control.sock"
    if len(str(wanted)) <= _MAX_UNIX_PATH:
        return wanted
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"anxin-kiosk-{digest}.sock"


def ticket_content(ticket: IssuedTicket, hall_name: str) -> Any:
    """The printer package's `TicketContent` of an issued ticket."""
    from printer.api import TicketContent

    return TicketContent(
        hall_name=hall_name,
        number=ticket.number,
        service=ticket.service_name,
        issued_at=ticket.issued_at,
        qr_url=ticket.citizen_url or "-",
        ahead=ticket.ahead,
        minutes=ticket.minutes,
        offline=ticket.offline,
        priority_label="绿色通道" if ticket.priority == "green" else "",
    )


def render_ticket(ticket: IssuedTicket, hall_name: str) -> bytes:
    """ESC/POS bytes of a ticket, by the printer package's renderer."""
    from printer.render import ticket_bytes
    from printer.settings import PrinterSettings

    return ticket_bytes(ticket_content(ticket, hall_name), PrinterSettings(transport="sim"))


class _Control:
    def __init__(self, kiosk: Kiosk, hall_name: str) -> None:
        self.kiosk = kiosk
        self.hall_name = hall_name

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                if len(line) > _MAX_LINE:
                    answer: dict[str, Any] = {"ok": False, "reason": "request too long"}
                else:
                    answer = await self.answer(line)
                writer.write(json.dumps(answer, ensure_ascii=False).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            return {"ok": False, "reason": f"bad request: {exc}"}
        op = request.get("op")
        if op == "status":
            return self.status()
        extra = self.kiosk.control_ops.get(op) if isinstance(op, str) else None
        if extra is not None:
            try:
                return await extra(request)
            except Exception as exc:
                log.exception("%s: control op %s failed", self.kiosk.device_id, op)
                return {"ok": False, "reason": f"{type(exc).__name__}: {exc}"}
        if op != "take" or not isinstance(request.get("service"), str):
            return {"ok": False, "reason": "op must be take (with a service) or status"}
        started = time.perf_counter()
        try:
            ticket = await self.kiosk.take(
                request["service"],
                priority=str(request.get("priority") or "normal"),
                priority_reason=_opt(request.get("priority_reason")),
                citizen_id=_opt(request.get("citizen_id")),
                matter=_opt(request.get("matter")),
            )
        except TicketRefused as refused:
            return {"ok": False, "reason": refused.reason}
        took = time.perf_counter()
        answer = {
            "ok": True,
            "ticket": {**dataclasses.asdict(ticket), "issued_at": ticket.issued_at.isoformat()},
            "take_ms": (took - started) * 1000,
        }
        if request.get("print"):
            answer["print_ms"] = self.print_ticket(ticket) * 1000
        return answer

    def print_ticket(self, ticket: IssuedTicket) -> float:
        started = time.perf_counter()
        printer = self.kiosk.printer
        if printer is not None:
            printer.write(render_ticket(ticket, self.hall_name))
        return time.perf_counter() - started

    def status(self) -> dict[str, Any]:
        today = self.kiosk.today()
        unused = {s.code: self.kiosk.journal.unused(s.code, today) for s in self.kiosk.services()}
        printer = self.kiosk.printer
        jobs = getattr(printer, "jobs", None)  # a simulated printer keeps what it printed
        return {
            "ok": True,
            "online": self.kiosk.online,
            "offline_issued": self.kiosk.offline_issued,
            "online_issued": self.kiosk.online_issued,
            "today": today,
            "unused": unused,
            "printer": None if printer is None else {
                "state": printer.state,
                "jobs": None if jobs is None else len(jobs),
                "bytes": None if jobs is None else sum(len(j) for j in jobs),
            },
        }  # fmt: skip


def _opt(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def serve_control(kiosk: Kiosk, data_dir: Path, hall_name: str) -> asyncio.Task[None]:
    """Serve the control socket until the task is cancelled (on the running loop)."""
    path = socket_path(data_dir)
    control = _Control(kiosk, hall_name)

    async def serve() -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        server = await asyncio.start_unix_server(control.handle, path=str(path))
        (data_dir / "control.path").write_text(str(path))
        log.info("%s: local control on %s", kiosk.device_id, path)
        try:
            async with server:
                await server.serve_forever()
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    return asyncio.get_running_loop().create_task(serve(), name=f"kiosk-control-{kiosk.device_id}")


async def call_control(data_dir: Path, request: dict[str, Any], timeout_s: float = 10) -> Any:
    """One request to the control socket of the kiosk with this data directory
    (the CLI's and the tests' client)."""
    pointer = data_dir / "control.path"
    path = Path(pointer.read_text()) if pointer.exists() else socket_path(data_dir)
    reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), timeout_s)
    try:
        writer.write(json.dumps(request, ensure_ascii=False).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout_s)
        return json.loads(line)
    finally:
        writer.close()
