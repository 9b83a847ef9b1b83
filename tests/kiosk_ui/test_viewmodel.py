"""The kiosk view-model without Kivy: flows, timeouts on an injected clock,
hours, refusals, the paper-out fallback, ID masking, the 绿色通道."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

import pytest

from edge.kinds.kiosk_api import IssuedTicket
from kiosk_ui.viewmodels.idcard import age_on, check_digit, mask_id, normalize_id
from kiosk_ui.viewmodels.kiosk import Screen
from kiosk_ui.viewmodels.offer import LibrarySource, ServiceStatus
from kiosk_ui.viewmodels.views import HomeView, KeypadView, SearchView, TicketView
from printer.api import PrinterState, PrintOutcome
from tests.kiosk_ui.conftest import TZ, Kiosk, demo_library, screen_of

OLD = "61010219500101002X"  # born 1950-01-01, valid check digit
YOUNG = "610102199001010036"


def test_ids_used_here_are_valid() -> None:
    assert check_digit(OLD[:17]) == OLD[17]
    assert normalize_id(YOUNG) == YOUNG


def test_home_offers_entries_frequent_matters_and_areas(kiosk: Kiosk) -> None:
    view = kiosk.vm.view()
    assert isinstance(view, HomeView)
    keys = kiosk.buttons()
    assert {"search", "guide", "green", "elderly"} <= set(keys)
    assert [k for k in keys if k.startswith("matter:")][:2] == [
        "matter:individual_business_setup",
        "matter:company_setup",
    ]
    assert "area:market" in keys
    assert "area:green" not in keys  # an area without services is not offered


def test_pinyin_initials_find_individual_business(kiosk: Kiosk) -> None:
    kiosk.press("search", *(f"key:{c}" for c in "gtgsh"))
    view = kiosk.vm.view()
    assert isinstance(view, SearchView)
    assert view.query == "gtgsh"
    assert view.results[0].label.startswith("个体工商户")
    kiosk.press("key:delete", "key:delete")
    assert kiosk.vm.view().query == "gtg"  # type: ignore[attr-defined]
    kiosk.press("hot:公积金")
    view = kiosk.vm.view()
    assert isinstance(view, SearchView)
    assert any("公积金" in a.label for a in view.results)


def test_search_waits_for_the_index(make: Callable[..., Kiosk]) -> None:
    k = make()
    k.vm._search_index = lambda: None
    k.press("search", "key:g")
    assert "正在准备" in k.vm.view().status  # type: ignore[attr-defined]


def walk_to_checklist(k: Kiosk) -> None:
    while screen_of(k) == Screen.QUESTION:
        k.press(next(key for key in k.buttons() if key.startswith("option:")))
    assert screen_of(k) == Screen.CHECKLIST


def test_guidance_walk_checklist_and_ticket(kiosk: Kiosk) -> None:
    kiosk.press("guide", "garea:market", "gmatter:individual_business_setup")
    assert screen_of(kiosk) == Screen.QUESTION
    kiosk.press("back")  # back to the matter list
    assert screen_of(kiosk) == Screen.GUIDE_MATTERS
    kiosk.press("gmatter:individual_business_setup")
    walk_to_checklist(kiosk)
    view = kiosk.vm.view()
    assert view.materials  # type: ignore[attr-defined]
    kiosk.press("print_list")
    assert kiosk.printer.checklists[0].title == "个体工商户设立登记"
    assert "/guide/individual_business_setup/checklist?a=" in kiosk.printer.checklists[0].qr_url
    assert "已打印" in kiosk.vm.view().message  # type: ignore[attr-defined]
    kiosk.press("back")
    assert screen_of(kiosk) == Screen.QUESTION
    walk_to_checklist(kiosk)
    kiosk.press("take")
    assert screen_of(kiosk) == Screen.TICKET
    assert kiosk.source.calls[-1]["matter"] == "individual_business_setup"
    assert kiosk.source.calls[-1]["service"] == "individual_business"
    view = kiosk.vm.view()
    assert isinstance(view, TicketView)
    assert view.number == "C001"
    assert not view.eticket
    assert kiosk.printer.tickets[0].number == "C001"
    assert kiosk.printer.tickets[0].hall_name == "演示区政务服务中心"


def test_area_tile_takes_a_ticket_and_shows_figures(kiosk: Kiosk) -> None:
    kiosk.source.waiting = {"company_setup": 4}
    kiosk.press("area:market", "service:company_setup")
    view = kiosk.vm.view()
    assert isinstance(view, TicketView)
    assert (view.number, view.ahead, view.wait) == ("A001", "前面还有 4 人", "预计等候约 16 分钟")
    assert "请取走号票" in view.status
    assert view.offline == ""


def test_ticket_returns_home_after_timeout(kiosk: Kiosk) -> None:
    kiosk.press("area:market", "service:company_setup")
    kiosk.idle(10)
    assert screen_of(kiosk) == Screen.TICKET
    assert "秒后返回首页" in kiosk.vm.view().countdown  # type: ignore[attr-defined]
    kiosk.idle(6)
    assert screen_of(kiosk) == Screen.HOME


@pytest.mark.parametrize(
    "state", [PrinterState.PAPER_OUT, PrinterState.COVER_OPEN, PrinterState.OFFLINE]
)
def test_printer_that_cannot_print_gives_an_eticket(kiosk: Kiosk, state: PrinterState) -> None:
    kiosk.printer.printer_state = state
    kiosk.press("area:market", "service:company_setup")
    view = kiosk.vm.view()
    assert isinstance(view, TicketView)
    assert view.eticket
    assert view.number == "A001"
    assert view.qr_url.startswith("http://localhost:8000/t/")
    assert "扫码领取电子号票" in view.status
    assert kiosk.problems
    assert kiosk.problems[0].state == state
    kiosk.idle(60)
    assert screen_of(kiosk) == Screen.TICKET  # the e-ticket stays long enough to scan
    kiosk.idle(31)
    assert screen_of(kiosk) == Screen.HOME


def test_print_failure_mid_job_and_printer_exception_keep_the_ticket(kiosk: Kiosk) -> None:
    kiosk.printer.fail_while_printing = True
    kiosk.press("area:market", "service:company_setup")
    assert kiosk.vm.view().eticket  # type: ignore[attr-defined]
    kiosk.press("done")

    def boom(content: Any) -> PrintOutcome:
        raise OSError("usb gone")

    kiosk.printer.fail_while_printing = False
    kiosk.printer.print_ticket = boom  # type: ignore[method-assign]
    kiosk.press("area:market", "service:company_setup")
    view = kiosk.vm.view()
    assert isinstance(view, TicketView)
    assert view.eticket
    assert view.number == "A002"
    assert [t.number for t in kiosk.vm.issued] == ["A001", "A002"]


def test_offline_ticket_says_so(kiosk: Kiosk) -> None:
    kiosk.source.online_flag = False
    home = kiosk.vm.view()
    assert isinstance(home, HomeView)
    assert "离线" in home.notice
    assert not home.header.online
    kiosk.press("area:fund", "service:housing_fund")
    view = kiosk.vm.view()
    assert isinstance(view, TicketView)
    assert view.offline == "离线取号，号码有效"
    assert kiosk.printer.tickets[-1].offline


def test_refusal_shows_the_reason_and_goes_home(kiosk: Kiosk) -> None:
    kiosk.source.refuse["company_setup"] = "今日号源已发完"
    kiosk.press("area:market", "service:company_setup")
    assert screen_of(kiosk) == Screen.MESSAGE
    assert "今日号源已发完" in kiosk.vm.view().body  # type: ignore[attr-defined]
    kiosk.idle(13)
    assert screen_of(kiosk) == Screen.HOME


def test_source_failure_and_timeout_show_a_message(make: Callable[..., Kiosk]) -> None:
    k = make(take_timeout_s=0.05)

    async def broken(*args: Any, **kwargs: Any) -> IssuedTicket:
        raise ConnectionError("hub gone")

    k.source.take = broken  # type: ignore[method-assign]
    k.press("area:market", "service:company_setup")
    assert screen_of(k) == Screen.MESSAGE
    assert k.vm.view().title == "暂时无法取号"  # type: ignore[attr-defined]

    async def hangs(*args: Any, **kwargs: Any) -> IssuedTicket:
        await asyncio.sleep(10)
        raise AssertionError

    k.press("ok")
    k.source.take = hangs  # type: ignore[method-assign]
    k.press("area:market", "service:company_setup")
    assert screen_of(k) == Screen.MESSAGE


def test_touches_are_ignored_while_taking(make: Callable[..., Kiosk]) -> None:
    pending: list[Coroutine[Any, Any, None]] = []
    k = make(spawn=pending.append)
    k.press("area:market")
    view = k.vm.view()
    k.press("service:company_setup")
    assert screen_of(k) == Screen.TAKING
    assert list(k.vm.view().actions()) == []
    # a stale button of the previous screen does nothing, a second tap neither
    for action in view.actions():
        action.run()
    k.vm.tick()
    assert screen_of(k) == Screen.TAKING
    assert len(pending) == 1
    asyncio.run(pending[0])
    assert screen_of(k) == Screen.TICKET
    assert len(k.source.calls) == 1


def test_stale_buttons_do_nothing(kiosk: Kiosk) -> None:
    home = kiosk.vm.view()
    kiosk.press("area:market")
    for action in home.actions():
        action.run()
    assert screen_of(kiosk) == Screen.AREA


def test_idle_home_goes_to_attract_and_other_screens_go_home(kiosk: Kiosk) -> None:
    kiosk.press("search", "key:a")
    kiosk.idle(44)
    assert screen_of(kiosk) == Screen.SEARCH
    kiosk.idle(2)
    assert screen_of(kiosk) == Screen.HOME
    assert kiosk.vm.s.query == ""
    kiosk.idle(61)
    assert screen_of(kiosk) == Screen.ATTRACT
    kiosk.press("start")
    assert screen_of(kiosk) == Screen.HOME


def test_closed_hours_and_next_opening(make: Callable[..., Kiosk]) -> None:
    k = make(now=dt.datetime(2026, 11, 26, 19, 0, tzinfo=TZ))
    assert screen_of(k) == Screen.CLOSED
    view = k.vm.view()
    assert view.title == "当前不在取号时间"  # type: ignore[attr-defined]
    assert view.body == "下次取号时间：明天 09:00"  # type: ignore[attr-defined]
    assert "周一至周五" in view.hours[0]  # type: ignore[attr-defined]
    k.press("guide", "garea:tax")  # the guide still works when closed
    assert screen_of(k) == Screen.GUIDE_MATTERS
    weekend = make(now=dt.datetime(2026, 11, 28, 11, 0, tzinfo=TZ))  # Saturday
    assert screen_of(weekend) == Screen.CLOSED
    assert weekend.vm.view().body.endswith("周一 09:00")  # type: ignore[attr-defined]
    # the hall opens while the closed screen shows
    early = make(now=dt.datetime(2026, 11, 26, 8, 59, 30, tzinfo=TZ))
    assert screen_of(early) == Screen.CLOSED
    assert early.vm.view().body.endswith("今天 09:00")  # type: ignore[attr-defined]
    early.idle(31)
    assert screen_of(early) == Screen.ATTRACT


def test_closing_time_moves_home_to_closed(kiosk: Kiosk) -> None:
    kiosk.clock.wall = dt.datetime(2026, 11, 26, 17, 29, 50, tzinfo=TZ)
    kiosk.vm.tick()
    assert screen_of(kiosk) == Screen.HOME
    assert kiosk.vm.queue_text("company_setup") == "今日取号已结束"
    kiosk.press("area:market", "service:company_setup")
    assert screen_of(kiosk) == Screen.MESSAGE
    assert "今日取号已结束" in kiosk.vm.view().body  # type: ignore[attr-defined]
    kiosk.idle(13)
    assert screen_of(kiosk) == Screen.CLOSED


def test_service_not_available_today(make: Callable[..., Kiosk]) -> None:
    k = make()
    services = dict(k.offer.services)
    services["household"] = replace(services["household"], suspended=True)
    offer = replace(k.offer, services=services)
    k = make(offer=offer)
    assert offer.status("household", k.clock.now()) == ServiceStatus.SUSPENDED
    k.press("area:police")
    tile = next(a for a in k.vm.view().actions() if a.key == "service:household")
    assert tile.sub == "今日暂停办理"
    k.press("service:household")
    assert screen_of(k) == Screen.MESSAGE
    assert "今日暂停办理" in k.vm.view().body  # type: ignore[attr-defined]
    closed_day = make(offer=replace(offer, closed_dates=frozenset({dt.date(2026, 11, 26)})))
    assert screen_of(closed_day) == Screen.CLOSED
    assert closed_day.vm.view().title == "今日不对外办公"  # type: ignore[attr-defined]


def test_mask_and_validate_ids() -> None:
    assert mask_id("61010219900101001X") == "6101**********001X"
    assert mask_id("6101021990") == "6101******"
    assert mask_id("610") == "610"
    assert normalize_id("61010219500101002x") == OLD
    assert normalize_id("610102195001010021") is None  # check digit
    assert normalize_id("610102195013010020") is None  # month 13
    assert normalize_id("12345") is None
    assert age_on(OLD, dt.date(2026, 11, 26)) == 76
    assert age_on(OLD, dt.date(2020, 1, 1)) == 70
    assert age_on(OLD, dt.date(2019, 12, 31)) == 69


def texts(k: Kiosk) -> str:
    return "\n".join(k.vm.view().texts())


def test_id_required_for_tickets_never_shown_in_full(make: Callable[..., Kiosk]) -> None:
    k = make(require_id=True)
    k.source.per_person_limit = 1
    k.press("area:market", "service:company_setup")
    assert screen_of(k) == Screen.ID_ENTRY
    for c in YOUNG:
        k.press(f"pad:{c}")
        assert YOUNG not in texts(k)
    view = k.vm.view()
    assert isinstance(view, KeypadView)
    assert view.display.startswith("6101**********0036")
    k.press("confirm")
    assert screen_of(k) == Screen.TICKET
    assert k.source.calls[-1]["citizen_id"] == YOUNG
    assert YOUNG not in texts(k)
    k.press("done", "area:market", "service:company_setup")
    assert screen_of(k) == Screen.ID_ENTRY  # the ID is asked again for each ticket
    k.vm.id_card_read(YOUNG)  # a card reader
    assert screen_of(k) == Screen.MESSAGE
    assert "上限" in k.vm.view().body  # type: ignore[attr-defined]
    # a wrong number is refused with a reason
    k.press("ok", "area:market", "service:company_setup", "pad:1", "pad:2", "confirm")
    assert "有误" in k.vm.view().error  # type: ignore[attr-defined]
    k.press("back")
    assert screen_of(k) == Screen.HOME


def test_green_channel_elderly_by_id(kiosk: Kiosk) -> None:
    kiosk.press("green", "reason:elderly", "by_id")
    for c in YOUNG:
        kiosk.press(f"pad:{c}")
    kiosk.press("confirm")
    assert screen_of(kiosk) == Screen.GREEN_CONFIRM
    assert "未满70周岁" in kiosk.vm.view().error  # type: ignore[attr-defined]
    kiosk.press("by_id")
    kiosk.vm.id_card_read(OLD)
    assert screen_of(kiosk) == Screen.GREEN_SERVICE
    kiosk.press("gservice:pension")
    view = kiosk.vm.view()
    assert isinstance(view, TicketView)
    assert view.priority == "绿色通道"
    call = kiosk.source.calls[-1]
    assert (call["priority"], call["reason"], call["citizen_id"]) == ("green", "elderly", OLD)
    assert kiosk.printer.tickets[-1].priority_label == "绿色通道"


def test_green_channel_by_staff_code(kiosk: Kiosk) -> None:
    kiosk.press("green", "reason:pregnant", "pad:1", "pad:1", "confirm")
    assert "不正确" in kiosk.vm.view().error  # type: ignore[attr-defined]
    assert screen_of(kiosk) == Screen.GREEN_CONFIRM
    kiosk.press("pad:2", "pad:4", "pad:6")
    assert kiosk.vm.view().display == "●●●"  # type: ignore[attr-defined]
    kiosk.press("pad:8", "confirm", "gservice:medical_insurance")
    assert kiosk.source.calls[-1]["reason"] == "pregnant"
    assert kiosk.source.calls[-1]["priority"] == "green"


def test_green_channel_without_staff_code_sends_to_the_desk(make: Callable[..., Kiosk]) -> None:
    k = make(staff_code=None)
    k.press("green", "reason:military")
    assert screen_of(k) == Screen.MESSAGE
    assert "工作人员" in k.vm.view().body  # type: ignore[attr-defined]
    k.press("ok", "green", "reason:elderly")
    assert screen_of(k) == Screen.GREEN_CONFIRM
    assert "confirm" in k.buttons()
    assert not next(a for a in k.vm.view().actions() if a.key == "confirm").enabled


def test_elderly_mode_fewer_choices_and_direct_tickets(make: Callable[..., Kiosk]) -> None:
    k = make(elderly_default=True)
    view = k.vm.view()
    assert isinstance(view, HomeView)
    assert view.header.elderly
    assert view.search is None
    assert view.guide is None
    assert view.areas == ()
    assert 0 < len(view.frequent) <= 4
    assert view.helper is not None
    k.press(view.frequent[0].key)
    assert screen_of(k) == Screen.TICKET
    k.press("done", "elderly")
    assert not k.vm.view().header.elderly
    assert "search" in k.buttons()
    # the attract screen restores the default for the next citizen
    k.idle(61)
    k.press("start")
    assert k.vm.view().header.elderly


def test_queue_figures_update_home_without_invalidating_buttons(kiosk: Kiosk) -> None:
    from broker.contract import HallQueue

    seen: list[bool] = []
    kiosk.vm.subscribe(seen.append)
    view = kiosk.vm.view()
    kiosk.vm.update_queue(
        HallQueue(
            service="company_setup",
            name="企业开办",
            prefix="A",
            waiting=7,
            open_windows=2,
            estimated_wait_min=30,
        )
    )
    assert seen == [True]
    tile = next(a for a in kiosk.vm.view().actions() if a.key == "matter:company_setup")
    assert tile.sub == "等候 7 人 · 约 30 分钟"
    next(a for a in view.actions() if a.key == "area:market").run()
    assert screen_of(kiosk) == Screen.AREA


def test_library_source_keeps_the_old_library_on_bad_json() -> None:
    source = LibrarySource(demo_library())
    seen: list[int] = []
    source.subscribe(lambda lib: seen.append(len(lib.matters)))
    assert not source.update_json(b"{not json")
    assert not source.update_json('{"matters": [{"key": "BAD"}]}')
    assert len(source.library.matters) == 42
    smaller = demo_library().model_copy(update={"matters": demo_library().matters[:3]})
    assert source.update_json(smaller.model_dump_json())
    assert not source.update_json(smaller.model_dump_json())  # same content
    assert seen == [3]
    assert source.revision == 1


def test_new_library_drops_a_walk_on_a_removed_matter(kiosk: Kiosk) -> None:
    kiosk.press("guide", "garea:market", "gmatter:individual_business_setup")
    keep = tuple(m for m in demo_library().matters if m.key != "individual_business_setup")
    kiosk.vm.set_library(demo_library().model_copy(update={"matters": keep}))
    assert screen_of(kiosk) == Screen.HOME


def test_offer_from_the_hubs_blocks_and_empty_until_they_arrive(
    make: Callable[..., Kiosk],
) -> None:
    from broker.contract import KioskService
    from kiosk_ui.viewmodels.offer import HallOffer

    empty = HallOffer("演示区政务服务中心", (), {})
    k = make(offer=empty)
    assert screen_of(k) == Screen.CLOSED
    assert "暂无可办理业务" in list(k.vm.view().texts())

    services = (
        KioskService(code="company_setup", name="企业开办", prefix="A", width=3,
                     opens_at="09:00", closes_at="17:00", area="market", area_name="市场准入"),
        KioskService(code="id_card", name="居民身份证", prefix="D", width=3,
                     opens_at="09:00", closes_at="16:30"),
    )  # fmt: skip
    offer = HallOffer.from_kiosk_services(services, hall_name="演示区政务服务中心")
    assert [(a.code, a.name, a.services) for a in offer.areas] == [
        ("market", "市场准入", ("company_setup",)),
        ("all", "全部业务", ("id_card",)),
    ]
    assert offer.services["id_card"].hours_text == "09:00-16:30"
    saturday = dt.datetime(2026, 11, 28, 10, 0, tzinfo=TZ)
    assert offer.status("id_card", saturday) == ServiceStatus.OPEN  # the hub decides days
    k.vm.set_offer(offer)
    assert screen_of(k) == Screen.HOME
    assert {"area:market", "area:all"} <= set(k.buttons())
    k.press("area:market")
    k.vm.set_offer(replace(offer, areas=offer.areas[1:]))  # the area went away meanwhile
    assert screen_of(k) == Screen.HOME
    k.vm.set_offer(empty)
    assert screen_of(k) == Screen.CLOSED
