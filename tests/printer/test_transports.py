"""Printing through each transport, and what the kiosk hears back.

The network and serial-over-socket tests talk to `FakePrinter`, a local TCP
server that answers ``DLE EOT`` status queries like a real printer.
"""

from __future__ import annotations

import socket
from pathlib import Path

from printer import preview, render
from printer.api import PrinterState
from printer.service import TicketPrinter
from printer.transports import SerialTransport
from tests.printer.conftest import checklist, settings, ticket
from tests.printer.fake_printer import FakePrinter


def network(fake: FakePrinter, **changes: object) -> TicketPrinter:
    return TicketPrinter(settings(transport="network", host="127.0.0.1", port=fake.port, **changes))


def test_network_printer_prints_a_ticket(fake_printer: FakePrinter) -> None:
    printer = network(fake_printer)
    assert printer.state() is PrinterState.OK
    outcome = printer.print_ticket(ticket())
    assert outcome.ok, outcome.detail
    assert outcome.state is PrinterState.OK
    assert bytes(fake_printer.printed) == render.ticket_bytes(ticket(), printer.settings)
    assert outcome.bytes_sent == len(fake_printer.printed)
    assert "A012" in [line.strip() for line in preview.render(bytes(fake_printer.printed)).lines]


def test_paper_out_before_the_job_prints_nothing(fake_printer: FakePrinter) -> None:
    fake_printer.paper = "out"
    printer = network(fake_printer)
    assert printer.state() is PrinterState.PAPER_OUT
    outcome = printer.print_ticket(ticket())
    assert not outcome.ok
    assert outcome.state is PrinterState.PAPER_OUT
    assert "缺纸" in outcome.detail
    assert fake_printer.received == b""  # not a byte of the ticket was sent


def test_paper_running_out_mid_job_is_a_failure_never_printed(
    fake_printer: FakePrinter,
) -> None:
    fake_printer.paper_out_after = 200  # the ticket is about 500 bytes
    outcome = network(fake_printer).print_ticket(ticket())
    assert not outcome.ok
    assert outcome.state is PrinterState.PAPER_OUT
    assert "可能未完整打印" in outcome.detail
    assert "缺纸" in outcome.detail
    assert len(fake_printer.printed) == 200 < len(fake_printer.received)


def test_cover_open_and_near_end(fake_printer: FakePrinter) -> None:
    printer = network(fake_printer)
    fake_printer.cover_open = True
    outcome = printer.print_ticket(ticket())
    assert (outcome.ok, outcome.state) == (False, PrinterState.COVER_OPEN)
    assert "盖" in outcome.detail
    fake_printer.cover_open = False
    fake_printer.paper = "near_end"
    outcome = printer.print_ticket(ticket())
    assert (outcome.ok, outcome.state) == (True, PrinterState.PAPER_NEAR_END)
    assert "即将用完" in outcome.detail


def test_a_printer_that_does_not_answer_is_offline(fake_printer: FakePrinter) -> None:
    fake_printer.silent = True
    printer = network(fake_printer)
    assert printer.state() is PrinterState.OFFLINE
    outcome = printer.print_ticket(ticket())
    assert (outcome.ok, outcome.state) == (False, PrinterState.OFFLINE)
    assert "无应答" in outcome.detail


def test_nothing_listening_is_offline_with_a_chinese_reason() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    printer = TicketPrinter(settings(transport="network", host="127.0.0.1", port=port))
    outcome = printer.print_ticket(ticket())
    assert (outcome.ok, outcome.state) == (False, PrinterState.OFFLINE)
    assert outcome.detail.startswith("号票未打印：无法连接打印机")


def test_checklist_over_the_network(fake_printer: FakePrinter) -> None:
    outcome = network(fake_printer).print_checklist(checklist())
    assert outcome.ok, outcome.detail
    p = preview.render(bytes(fake_printer.printed))
    assert "2. 户口簿原件" in [line.rstrip() for line in p.lines]
    assert p.qr == ["https://hall.example.cn/g/m/yb-001"]


def test_serial_printer_reads_status_over_a_socket_url(fake_printer: FakePrinter) -> None:
    fake_printer.paper = "near_end"
    printer = TicketPrinter(settings(transport="serial", url=fake_printer.url))
    assert printer.state() is PrinterState.PAPER_NEAR_END
    outcome = printer.print_ticket(ticket())
    assert (outcome.ok, outcome.state) == (True, PrinterState.PAPER_NEAR_END)
    assert fake_printer.printed.endswith(b"\x1dV\x00")
    fake_printer.paper_out_after = len(fake_printer.printed) + 100
    outcome = printer.print_ticket(ticket())
    assert (outcome.ok, outcome.state) == (False, PrinterState.PAPER_OUT)


class LoopLine(SerialTransport):
    """``loop://`` kept open across jobs, so the test reads what was sent."""

    def open(self) -> None:
        if self.port is None:
            super().open()

    def close(self) -> None:
        pass


def test_serial_loop_bytes_arrive() -> None:
    line = LoopLine("loop://", timeout_s=0.5)
    s = settings(transport="serial", url="loop://", read_status=False)
    outcome = TicketPrinter(s, line).print_ticket(ticket())
    assert outcome.ok
    assert outcome.state is PrinterState.UNKNOWN  # status reading switched off
    arrived = line.read(100_000, 0.2)
    assert arrived == render.ticket_bytes(ticket(), s)


def test_serial_loop_echo_is_not_taken_for_a_printer_status() -> None:
    """A line that echoes what we send (loop://, a mis-wired cable) is not "ok"."""
    line = LoopLine("loop://", timeout_s=0.5)
    printer = TicketPrinter(settings(transport="serial", url="loop://"), line)
    status = printer.status()
    assert status.state is PrinterState.UNKNOWN
    assert "无效" in status.detail
    assert status.raw == {1: 0x10}  # our own DLE came back


def test_file_transport_appends_each_job(tmp_path: Path) -> None:
    out = tmp_path / "lp0"
    printer = TicketPrinter(settings(transport="file", path=out))
    assert printer.state() is PrinterState.UNKNOWN
    first = printer.print_ticket(ticket())
    second = printer.print_ticket(ticket(number="A013", ahead=4))
    assert first.ok
    assert second.ok
    assert first.state is PrinterState.UNKNOWN
    p = preview.render(out.read_bytes())
    assert p.cuts == 2
    numbers = [line.strip() for line in p.lines if line.strip() in ("A012", "A013")]
    assert numbers == ["A012", "A013"]


def test_file_transport_failure_is_reported(tmp_path: Path) -> None:
    printer = TicketPrinter(settings(transport="file", path=tmp_path / "no" / "such" / "lp0"))
    outcome = printer.print_ticket(ticket())
    assert (outcome.ok, outcome.state) == (False, PrinterState.OFFLINE)
    assert "无法打开打印机文件" in outcome.detail
