"""预约签到 on the kiosk screen, without Kivy: the tile, the scan, the ticket."""

from __future__ import annotations

from kiosk_ui.viewmodels.kiosk import Screen
from kiosk_ui.viewmodels.views import HomeView, MessageView, ScanView, TicketView
from tests.kiosk_ui.conftest import Kiosk, screen_of

URL = "http://hub.test/book/K7F3Q9XA2B"


def test_the_tile_opens_the_scan_screen_and_a_scan_prints_an_appointment_ticket(
    kiosk: Kiosk,
) -> None:
    home = kiosk.vm.view()
    assert isinstance(home, HomeView)
    assert home.checkin is not None
    assert home.checkin.label == "预约签到"
    kiosk.source.appointments["K7F3Q9XA2B"] = "company_setup"
    kiosk.press("checkin")
    scan = kiosk.vm.view()
    assert isinstance(scan, ScanView)
    assert scan.hint == "请将预约二维码对准扫码口"

    kiosk.vm.code_scanned("hello")  # not a booking code
    assert screen_of(kiosk) == Screen.CHECKIN
    assert "未能识别预约码" in kiosk.vm.view().error  # type: ignore[attr-defined]

    kiosk.vm.code_scanned(URL)
    ticket = kiosk.vm.view()
    assert isinstance(ticket, TicketView)
    assert ticket.priority == "预约"
    assert kiosk.source.calls[-2] == {"checkin": "K7F3Q9XA2B"}
    assert kiosk.printer.tickets[-1].priority_label == "预约"
    assert kiosk.printer.tickets[-1].number == ticket.number

    kiosk.idle(20)  # back home after the ticket timeout
    assert screen_of(kiosk) == Screen.HOME
    kiosk.vm.code_scanned(URL)  # a scan on the home screen checks in too
    refused = kiosk.vm.view()
    assert isinstance(refused, MessageView)
    assert refused.title == "未能签到"
    assert "已签到" in refused.body


def test_offline_check_in_is_refused_in_chinese_and_the_scan_screen_times_out(
    kiosk: Kiosk,
) -> None:
    kiosk.source.online_flag = False
    kiosk.press("checkin")
    kiosk.vm.code_scanned("K7F3Q9XA2B")
    message = kiosk.vm.view()
    assert isinstance(message, MessageView)
    assert "预约签到需要联网" in message.body
    assert not kiosk.printer.tickets
    kiosk.press("ok")
    kiosk.press("checkin")
    kiosk.idle(50)
    assert screen_of(kiosk) == Screen.HOME


def test_a_scan_while_the_citizen_does_something_else_is_ignored(kiosk: Kiosk) -> None:
    kiosk.press("search")
    kiosk.vm.code_scanned("K7F3Q9XA2B")
    assert screen_of(kiosk) == Screen.SEARCH
    assert not kiosk.source.calls
