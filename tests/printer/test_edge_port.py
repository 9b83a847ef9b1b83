"""The kiosk's printer port: the simulated printer and the real one built from config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from anxin.settings import PortsSettings
from edge.ports.factory import build_ports
from edge.ports.printer import EscposPrinter, PrinterFault, SimPrinter
from printer import preview
from printer.api import PrinterState
from tests.printer.conftest import checklist, settings, ticket


def test_sim_printer_keeps_jobs_and_runs_out_of_paper() -> None:
    sim = SimPrinter()
    assert sim.state == "ok"
    outcome = sim.tickets.print_ticket(ticket())
    assert outcome.ok
    assert len(sim.jobs) == 1
    assert "A012" in [line.strip() for line in preview.render(sim.jobs[0]).lines]

    sim.paper_out = True
    assert sim.state == "paper_out"
    outcome = sim.tickets.print_ticket(ticket(number="A013"))
    assert (outcome.ok, outcome.state) == (False, PrinterState.PAPER_OUT)
    assert outcome.detail == "号票未打印：打印机缺纸，请更换打印纸"
    with pytest.raises(PrinterFault, match="缺纸"):
        sim.write(b"raw job")
    assert len(sim.jobs) == 1  # nothing more was printed

    sim.paper_out = False
    sim.write(b"raw job\n")
    assert sim.jobs[-1] == b"raw job\n"


def test_sim_printer_paper_runs_out_mid_checklist() -> None:
    sim = SimPrinter()
    sim.device.paper_out_after = 150
    outcome = sim.tickets.print_checklist(checklist())
    assert (outcome.ok, outcome.state) == (False, PrinterState.PAPER_OUT)
    assert len(sim.jobs[0]) == 150  # the checklist was cut short
    assert sim.paper_out


def test_sim_cover_and_offline_show_in_state() -> None:
    sim = SimPrinter()
    sim.cover_open = True
    assert sim.state == "cover_open"
    sim.cover_open = False
    sim.offline = True
    assert sim.state == "offline"


def _ports_with_printer(printer: Any) -> PortsSettings:
    # PortsSettings.printer only takes the sim port until the lead adds PrinterSettings
    # to its union; model_construct skips that check.
    return PortsSettings.model_construct(printer=printer)


def test_factory_builds_the_real_printer_from_config(tmp_path: Path) -> None:
    cfg = _ports_with_printer(settings(transport="file", path=tmp_path / "lp0"))
    ports = build_ports(("printer",), cfg, sim=False)
    assert isinstance(ports.printer, EscposPrinter)
    assert ports.states() == {"printer": "unknown"}  # a file cannot tell
    assert ports.printer.tickets.print_ticket(ticket()).ok
    assert (tmp_path / "lp0").read_bytes().endswith(b"\x1dV\x00")
    ports.close()


def test_factory_sim_flag_wins(tmp_path: Path) -> None:
    cfg = _ports_with_printer(settings(transport="file", path=tmp_path / "lp0"))
    ports = build_ports(("printer",), cfg, sim=True)
    assert isinstance(ports.printer, SimPrinter)
    assert isinstance(build_ports(("printer",), PortsSettings(), sim=False).printer, SimPrinter)
