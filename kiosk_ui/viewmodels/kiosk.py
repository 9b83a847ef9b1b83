"""The kiosk's state machine: every screen, every touch, every timeout.

`KioskViewModel.view()` builds the current screen as plain data
(`kiosk_ui.viewmodels.views`); each button is an `Action` whose ``run`` does
the touch. Actions of a screen that is no longer shown do nothing (a double
tap on a button being replaced cannot act twice), and while a ticket is being
taken every touch is ignored, so no touch sequence issues two tickets or
crashes the kiosk.

Appointment check-in (预约签到): the home tile opens the scan screen; a code
the scanner reads there (or on the home or attract screen) is checked in
through the hub (`TicketSource.check_in`, online only), and the ticket is
shown and printed like any other, marked 预约.

Taking a ticket: the `TicketSource` issues it (online through the hub or
offline from the kiosk's number block), the screen shows the number at once,
then the printer prints it. When the printer cannot print (paper out, cover
open, offline, an error), the screen switches to “扫码领取电子号票” with the
QR code of the citizen page, and stays longer: a ticket, once issued, is
never lost. Async work (the ticket source, the printer in a worker thread)
runs through the injected ``spawn``; the clock is injected too, so tests
drive timeouts without waiting.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Any, Final, Protocol
from urllib.parse import urlencode

from broker.contract import HallQueue
from central.guidance import flow
from central.matters.schema import Library, Matter
from edge.kinds.kiosk_api import IssuedTicket, TicketRefused, TicketSource, appointment_code
from kiosk_ui.viewmodels.idcard import LENGTH as ID_LENGTH
from kiosk_ui.viewmodels.idcard import age_on, mask_id, mask_name, normalize_id
from kiosk_ui.viewmodels.offer import STATUS_TEXT, HallOffer, ServiceStatus
from kiosk_ui.viewmodels.views import (
    Action,
    AttractView,
    BusyView,
    ChecklistScreen,
    ClosedView,
    Header,
    HomeView,
    KeypadView,
    ListView,
    MaterialRow,
    MessageView,
    QuestionView,
    ScanView,
    SearchView,
    Style,
    TicketView,
    View,
)
from printer.api import (
    ChecklistContent,
    PrinterState,
    PrintOutcome,
    TicketContent,
    TicketOutput,
)

log = logging.getLogger(__name__)

# 绿色通道 reasons: the hall's reason codes (central.queueing.reasons.PRIORITY).
GREEN_REASONS: Final = {
    "elderly": "70岁以上老人",
    "disabled": "残疾人",
    "pregnant": "孕妇",
    "military": "军人",
}
GREEN_AGE: Final = 70
_WEEKDAYS: Final = "一二三四五六日"
KEYBOARD_ROWS: Final = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
HOTWORDS: Final = ("营业执照", "身份证", "社保", "公积金", "不动产", "发票")
MAX_QUERY: Final = 24
PRINTER_TEXT: Final = {
    PrinterState.PAPER_OUT: "打印机缺纸",
    PrinterState.COVER_OPEN: "打印机仓盖未关",
    PrinterState.OFFLINE: "打印机未连接",
}
PRIORITY_LABELS: Final = {"green": "绿色通道", "appointment": "预约"}


class KioskClock(Protocol):
    def now(self) -> dt.datetime:
        """Wall time, aware."""
        ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class Screen(StrEnum):
    ATTRACT = "attract"
    CLOSED = "closed"
    HOME = "home"
    AREA = "area"
    SEARCH = "search"
    GUIDE_AREAS = "guide_areas"
    GUIDE_MATTERS = "guide_matters"
    QUESTION = "question"
    CHECKLIST = "checklist"
    GREEN_REASON = "green_reason"
    GREEN_CONFIRM = "green_confirm"
    GREEN_SERVICE = "green_service"
    ID_ENTRY = "id_entry"
    TAKING = "taking"
    CHECKIN = "checkin"
    TICKET = "ticket"
    MESSAGE = "message"


@dataclass(frozen=True)
class KioskSettings:
    hall_name: str = "政务服务中心"
    idle_to_attract_s: float = 60.0  # home untouched → attract screen
    idle_to_home_s: float = 45.0  # any other screen untouched → home
    ticket_return_s: float = 15.0  # ticket screen → home
    eticket_return_s: float = 90.0  # e-ticket (QR) screen → home: time to scan
    message_return_s: float = 12.0
    take_timeout_s: float = 20.0
    elderly_default: bool = False
    require_id: bool = False  # ask for the 身份证 before a ticket (per-person limits)
    staff_code: str | None = None  # 绿色通道 confirmation by staff; None: by ID only
    frequent: tuple[str, ...] = ()  # matter keys for the home tiles (most frequent first)
    frequent_count: int = 6
    elderly_count: int = 4
    helper_service: str = "helper"  # 帮办代办
    public_base_url: str = "http://localhost:8000"  # the hub, for checklist QR codes
    ticket_notice: str = "请留意叫号屏和语音提示，过号请重新取号"
    orientation: str = "auto"  # portrait / landscape / auto (the Kivy layer reads it)


@dataclass(frozen=True)
class TicketRequest:
    service: str
    matter: str | None = None
    priority: str = "normal"
    reason: str | None = None


Spawn = Callable[[Coroutine[Any, Any, None]], None]


@dataclass
class _State:
    screen: Screen = Screen.HOME
    elderly: bool = False
    area: str = ""
    guide_area: str = ""
    query: str = ""
    matter: str = ""
    answers: dict[str, str] = field(default_factory=dict)
    walk_return: Screen = Screen.HOME
    checklist_note: str = ""
    green_reason: str = ""
    green_confirmed: bool = False
    keypad: str = ""
    keypad_error: str = ""
    keypad_return: Screen = Screen.HOME
    citizen_id: str | None = None
    citizen_name: str = ""  # from a card reader; shown masked only
    card_error: str = ""
    pending: TicketRequest | None = None
    ticket: IssuedTicket | None = None
    printing: bool = False
    eticket: bool = False
    print_outcome: PrintOutcome | None = None
    message: tuple[str, str, str] = ("", "", "info")
    scan_error: str = ""
    busy_text: str = "正在为您取号，请稍候…"


class KioskViewModel:
    def __init__(
        self,
        *,
        source: TicketSource,
        output: TicketOutput,
        offer: HallOffer,
        library: Library,
        settings: KioskSettings | None = None,
        queues: Mapping[str, HallQueue] | None = None,
        clock: KioskClock | None = None,
        spawn: Spawn | None = None,
        search_index: Callable[[], Any] | None = None,
        on_print_problem: Callable[[PrintOutcome], None] | None = None,
        strict: bool = True,
    ) -> None:
        self.settings = settings or KioskSettings(hall_name=offer.hall_name)
        self.source = source
        self.output = output
        self.offer = offer
        self.library = library
        self.queues: dict[str, HallQueue] = dict(queues or {})
        self.clock: KioskClock = clock or SystemClock()
        self._spawn = spawn or _spawn_on_running_loop
        self._search_index = search_index
        self._on_print_problem = on_print_problem
        self.strict = strict  # False in the app: a bug in a touch goes home, never crashes
        self._listeners: list[Callable[[bool], None]] = []
        self._print_lock: asyncio.Lock | None = None
        self.version = 0
        self.issued: list[IssuedTicket] = []  # every ticket this kiosk issued (tests, reports)
        self.print_problems: list[PrintOutcome] = []
        self.etickets: list[IssuedTicket] = []  # issued, not printed: shown as e-tickets
        self.s = _State(elderly=self.settings.elderly_default)
        now = self.clock.monotonic()
        self.last_touch = now
        self.screen_since = now
        self.s.screen = self._home_screen()

    # --- plumbing ------------------------------------------------------------------------------

    @property
    def screen(self) -> Screen:
        return self.s.screen

    @property
    def busy(self) -> bool:
        """A ticket is being taken or printed: touches wait."""
        return self.s.screen == Screen.TAKING or (
            self.s.screen == Screen.TICKET and self.s.printing
        )

    def subscribe(self, listener: Callable[[bool], None]) -> None:
        """``listener(full)``: full is False when only the clock or a countdown moved."""
        self._listeners.append(listener)

    def _notify(self, full: bool) -> None:
        for listener in list(self._listeners):
            listener(full)

    def refresh(self) -> None:
        """Redraw (the search index became ready, …); the buttons shown stay valid."""
        self._notify(True)

    def _changed(self) -> None:
        """The state changed: buttons of the screen shown before no longer act."""
        self.version += 1
        self._notify(True)

    def _go(self, screen: Screen) -> None:
        if screen != self.s.screen:
            self.screen_since = self.clock.monotonic()
        self.s.screen = screen

    def touch(self) -> None:
        self.last_touch = self.clock.monotonic()

    def _act(
        self,
        key: str,
        label: str,
        fn: Callable[[], None],
        *,
        sub: str = "",
        enabled: bool = True,
        style: Style = Style.TILE,
    ) -> Action:
        version = self.version

        def run() -> None:
            if self.version != version or self.busy or not enabled:
                return  # a button of a screen already gone, or a ticket being taken
            self.touch()
            try:
                fn()
            except Exception:
                if self.strict:
                    raise
                log.exception("kiosk action %s failed", key)
                self._reset()
            self._changed()

        return Action(key, label, run, sub, enabled, style)

    def press(self, key: str) -> bool:
        """Press the button with this key on the current screen (tests, hardware keys)."""
        for action in self.view().actions():
            if action.key == key:
                action.run()
                return True
        return False

    # --- inputs from the device ---------------------------------------------------------------

    def update_queue(self, queue: HallQueue) -> None:
        self.queues[queue.service] = queue
        self._notify(True)  # new figures; the buttons shown stay valid

    def set_offer(self, offer: HallOffer) -> None:
        """The hall's services changed (the hub's blocks message). A citizen in the
        middle of something keeps going; a resting screen follows the new offer."""
        if offer == self.offer:
            return
        self.offer = offer
        resting = self.s.screen in (Screen.HOME, Screen.ATTRACT, Screen.CLOSED)
        if resting and not self.busy:
            screen = self._home_screen()
            if self.s.screen == Screen.ATTRACT and screen == Screen.HOME:
                screen = Screen.ATTRACT
            self._go(screen)
        elif self.s.screen == Screen.AREA and all(a.code != self.s.area for a in offer.areas):
            self._reset()
        self._changed()

    def set_library(self, library: Library) -> None:
        self.library = library
        if self.busy or self.s.screen == Screen.TICKET:
            pass
        elif self.s.matter and self._matter(self.s.matter) is None:
            self._reset()
        self._changed()

    def id_card_read(self, number: str, name: str = "") -> None:
        """A card reader read a 身份证 (the reader's own event, not a touch).
        The name is only shown masked (张*三), and forgotten with the number
        after the next ticket or when the kiosk returns home."""
        if self.busy:
            return
        self.touch()
        self.s.citizen_name = name.strip()[:32] if normalize_id(number) else ""
        if self.s.screen in (Screen.ID_ENTRY, Screen.GREEN_CONFIRM):
            self.s.keypad = number.strip().upper()[:ID_LENGTH]
            self._keypad_confirm_id()
        else:
            self.s.citizen_id = normalize_id(number)
            self.s.card_error = "" if self.s.citizen_id else "未能识别身份证，请重新放置"
        self._changed()

    def code_scanned(self, text: str) -> None:
        """The scanner read a code (the scanner's event, not a touch). On the scan
        screen, home or the attract screen it is an appointment check-in."""
        if self.busy or self.s.screen not in (Screen.CHECKIN, Screen.HOME, Screen.ATTRACT):
            log.info("scan ignored on %s", self.s.screen.value)
            return
        self.touch()
        code = appointment_code(text)
        if code is None:
            self.s.scan_error = "未能识别预约码，请出示预约短信或预约页面中的二维码"
            self._go(Screen.CHECKIN)
        elif not self.source.online:
            self._message(
                "暂时无法签到",
                "网络中断，预约签到需要联网。请到服务台办理，或直接取普通号。",
                "warn",
            )
        else:
            self.s.busy_text = "正在签到，请稍候…"
            self._go(Screen.TAKING)
            self._spawn(self._check_in(code))
        self._changed()

    def tick(self) -> None:
        """Called about once a second: idle timeouts and opening hours."""
        now = self.clock.monotonic()
        screen = self.s.screen
        idle = now - max(self.last_touch, self.screen_since)
        shown = now - self.screen_since
        before = (screen, self.version)
        self.s.screen = screen
        if self.busy:
            self._notify(False)
            return
        if screen == Screen.TICKET:
            limit = (
                self.settings.eticket_return_s if self.s.eticket else self.settings.ticket_return_s
            )
            if not self.s.printing and shown >= limit and idle >= min(limit, 10.0):
                self._reset()
        elif screen == Screen.MESSAGE:
            if shown >= self.settings.message_return_s and idle >= self.settings.message_return_s:
                self._reset()
        elif screen == Screen.HOME:
            if idle >= self.settings.idle_to_attract_s:
                self._reset()
                self._go(Screen.ATTRACT)
        elif screen in (Screen.ATTRACT, Screen.CLOSED):
            pass
        elif idle >= self.settings.idle_to_home_s:
            self._reset()
        # opening hours: the resting screens follow the clock
        is_open = self.offer.is_open(self.clock.now())
        if self.s.screen in (Screen.HOME, Screen.ATTRACT) and not is_open:
            self._reset()
        elif self.s.screen == Screen.CLOSED and is_open:
            self._go(Screen.ATTRACT)
        if (self.s.screen, self.version) != before:
            self._changed()
        else:
            self._notify(False)  # the clock and the countdown move

    # --- navigation -----------------------------------------------------------------------------

    def _home_screen(self) -> Screen:
        return Screen.HOME if self.offer.is_open(self.clock.now()) else Screen.CLOSED

    def _reset(self) -> None:
        """Back to the start: forget the citizen (ID, answers, query, ticket)."""
        self.s = _State(screen=self.s.screen, elderly=self.s.elderly)
        self._go(self._home_screen())

    def go_home(self) -> None:
        self._reset()

    def _leave_attract(self) -> None:
        self.s.elderly = self.settings.elderly_default
        self._go(Screen.HOME)

    def _toggle_elderly(self) -> None:
        self.s.elderly = not self.s.elderly
        if self.s.screen in (Screen.SEARCH, Screen.AREA, Screen.GUIDE_AREAS, Screen.GUIDE_MATTERS):
            self._go(Screen.HOME)

    def _open_area(self, code: str) -> None:
        self.s.area = code
        self._go(Screen.AREA)

    def _open_search(self) -> None:
        self.s.query = ""
        self._go(Screen.SEARCH)

    def _key(self, char: str) -> None:
        if not self.s.query.isascii():
            self.s.query = ""
        self.s.query = (self.s.query + char)[:MAX_QUERY]

    def _backspace(self) -> None:
        self.s.query = "" if not self.s.query.isascii() else self.s.query[:-1]

    def _hotword(self, word: str) -> None:
        self.s.query = word

    def _open_guide(self) -> None:
        self._go(Screen.GUIDE_AREAS)

    def _guide_area(self, code: str) -> None:
        self.s.guide_area = code
        self._go(Screen.GUIDE_MATTERS)

    def _matter(self, key: str) -> Matter | None:
        for m in self.library.matters:
            if m.key == key:
                return m
        return None

    def _open_matter(self, key: str, back: Screen) -> None:
        if self._matter(key) is None:
            return
        self.s.matter = key
        self.s.answers = {}
        self.s.walk_return = back
        self.s.checklist_note = ""
        self._show_step()

    def _step(self) -> flow.Step | None:
        matter = self._matter(self.s.matter)
        if matter is None:
            return None
        try:
            return flow.step(matter, self.s.answers)
        except flow.AnswerError:
            self.s.answers = {}
            return flow.step(matter, {})

    def _show_step(self) -> None:
        current = self._step()
        if current is None:
            self._go(self.s.walk_return)
            return
        self._go(Screen.QUESTION if not current.done else Screen.CHECKLIST)

    def _answer(self, question: str, option: str) -> None:
        matter = self._matter(self.s.matter)
        if matter is None:
            return
        self.s.answers = flow.answer(matter, self.s.answers, question, option).answers
        self._show_step()

    def _walk_back(self) -> None:
        current = self._step()
        if current is None or not current.answered:
            self._go(self.s.walk_return)
            return
        self.s.answers = dict(current.answered[-1].back)
        self.s.checklist_note = ""
        self._show_step()

    def _back_from_area_list(self) -> None:
        self._go(Screen.GUIDE_AREAS if self.s.screen == Screen.GUIDE_MATTERS else Screen.HOME)

    # --- green channel ------------------------------------------------------------------------

    def _green(self) -> None:
        self.s.green_reason = ""
        self.s.green_confirmed = False
        self._go(Screen.GREEN_REASON)

    def _green_reason(self, code: str) -> None:
        self.s.green_reason = code
        self.s.keypad = ""
        self.s.keypad_error = ""
        if self.settings.staff_code is None and code != "elderly":
            self._message(
                "请工作人员协助",
                f"“{GREEN_REASONS[code]}”绿色通道需工作人员确认，请到导服台，工作人员将为您优先取号。",
                "info",
            )
            return
        self._go(Screen.GREEN_CONFIRM)

    def _green_by_id(self) -> None:
        self.s.keypad = ""
        self.s.keypad_error = ""
        self.s.keypad_return = Screen.GREEN_CONFIRM
        self._go(Screen.ID_ENTRY)

    def _green_confirmed(self) -> None:
        self.s.green_confirmed = True
        self.s.keypad = ""
        self.s.keypad_error = ""
        self._go(Screen.GREEN_SERVICE)

    def _keypad_key(self, char: str) -> None:
        limit = ID_LENGTH if self.s.screen == Screen.ID_ENTRY else 8
        if len(self.s.keypad) < limit:
            self.s.keypad += char
        self.s.keypad_error = ""

    def _keypad_delete(self) -> None:
        self.s.keypad = self.s.keypad[:-1]
        self.s.keypad_error = ""

    def _staff_confirm(self) -> None:
        code = self.settings.staff_code
        if code is not None and self.s.keypad and hmac.compare_digest(self.s.keypad, code):
            self._green_confirmed()
            return
        self.s.keypad = ""
        self.s.keypad_error = "确认码不正确，请工作人员重新输入"

    def _keypad_confirm_id(self) -> None:
        number = normalize_id(self.s.keypad)
        if number is None:
            self.s.keypad_error = "身份证号码有误，请核对后重新输入"
            return
        if self.s.keypad_return == Screen.GREEN_CONFIRM or self.s.screen == Screen.GREEN_CONFIRM:
            age = age_on(number, self.offer.local(self.clock.now()).date())
            if self.s.green_reason != "elderly" or age is None or age < GREEN_AGE:
                self.s.keypad = ""
                self.s.keypad_error = "身份证核验未通过（未满70周岁），请工作人员确认"
                self._go(Screen.GREEN_CONFIRM)
                return
            self.s.citizen_id = number
            self._green_confirmed()
            return
        self.s.citizen_id = number
        self.s.keypad = ""
        pending = self.s.pending
        self.s.pending = None
        if pending is None:
            self._go(Screen.HOME)
        else:
            self._request(pending)

    def _keypad_back(self) -> None:
        self.s.keypad = ""
        self.s.keypad_error = ""
        if self.s.screen == Screen.ID_ENTRY and self.s.keypad_return == Screen.GREEN_CONFIRM:
            self._go(Screen.GREEN_CONFIRM)
            return
        self.s.pending = None
        self._go(Screen.GREEN_REASON if self.s.screen == Screen.GREEN_CONFIRM else Screen.HOME)

    # --- tickets --------------------------------------------------------------------------------

    def _message(self, title: str, body: str, tone: str) -> None:
        self.s.message = (title, body, tone)
        self._go(Screen.MESSAGE)

    def _request(self, request: TicketRequest) -> None:
        service = self.offer.services.get(request.service)
        status = self.offer.status(request.service, self.clock.now())
        if service is None:
            self._message("暂不能取号", "本大厅暂不受理该业务，请到导服台咨询。", "warn")
            return
        if status != ServiceStatus.OPEN:
            when = f"取号时间 {service.hours_text}"
            if status == ServiceStatus.NOT_YET:
                when = f"今日 {service.opens:%H:%M} 开始取号"
            self._message("暂不能取号", f"“{service.name}”{STATUS_TEXT[status]}。{when}。", "warn")
            return
        if self.settings.require_id and self.s.citizen_id is None:
            self.s.pending = request
            self.s.keypad = ""
            self.s.keypad_error = ""
            self.s.keypad_return = Screen.HOME
            self._go(Screen.ID_ENTRY)
            return
        self._go(Screen.TAKING)
        self._spawn(self._take(request, self.version + 1))

    async def _take(self, request: TicketRequest, version: int) -> None:
        try:
            ticket = await asyncio.wait_for(
                self.source.take(
                    request.service,
                    priority=request.priority,
                    priority_reason=request.reason,
                    citizen_id=self.s.citizen_id,
                    matter=request.matter,
                ),
                self.settings.take_timeout_s,
            )
        except TicketRefused as exc:
            self._message("未能取号", exc.reason or "暂不能取号，请咨询工作人员。", "warn")
            self._changed()
            return
        except Exception:
            log.exception("ticket source failed")
            self._message("暂时无法取号", "请稍后再试，或到导服台由工作人员为您取号。", "error")
            self._changed()
            return
        await self._show_and_print(ticket)

    async def _check_in(self, code: str) -> None:
        try:
            ticket = await asyncio.wait_for(
                self.source.check_in(code), self.settings.take_timeout_s
            )
        except TicketRefused as exc:
            self._message("未能签到", exc.reason or "请到服务台咨询。", "warn")
            self._changed()
            return
        except Exception:
            log.exception("appointment check-in failed")
            self._message("暂时无法签到", "请稍后再试，或到服务台办理预约签到。", "error")
            self._changed()
            return
        await self._show_and_print(ticket)

    async def _show_and_print(self, ticket: IssuedTicket) -> None:
        """An issued ticket: on screen at once, then printed (or an e-ticket)."""
        self.issued.append(ticket)
        self.s.ticket = ticket
        self.s.printing = True
        self.s.eticket = False
        self.s.citizen_id = None  # used for this ticket only
        self.s.citizen_name = ""
        self._go(Screen.TICKET)
        self.touch()
        self._changed()
        outcome = await self._print(self._ticket_content(ticket))
        if not outcome.ok:
            self.etickets.append(ticket)
            if self.s.ticket is not ticket:  # the citizen left meanwhile: show it again
                self.s = _State(screen=self.s.screen, elderly=self.s.elderly, ticket=ticket)
                self._go(Screen.TICKET)
            self.s.eticket = True
            self.screen_since = self.clock.monotonic()
        if self.s.ticket is ticket:
            self.s.printing = False
            self.s.print_outcome = outcome
        self._changed()

    def _ticket_content(self, ticket: IssuedTicket) -> TicketContent:
        return TicketContent(
            hall_name=self.settings.hall_name,
            number=ticket.number,
            service=ticket.service_name,
            issued_at=ticket.issued_at,
            qr_url=ticket.citizen_url,
            ahead=ticket.ahead,
            minutes=ticket.minutes,
            notice=self.settings.ticket_notice,
            offline=ticket.offline,
            priority_label=PRIORITY_LABELS.get(ticket.priority, ""),
            timezone=self.offer.timezone,
        )

    async def _print(self, content: TicketContent | ChecklistContent) -> PrintOutcome:
        if self._print_lock is None:
            self._print_lock = asyncio.Lock()
        async with self._print_lock:
            try:
                state = self.output.state()
            except Exception:
                log.exception("printer state failed")
                state = PrinterState.UNKNOWN
            if not state.can_print:
                outcome = PrintOutcome(False, state, PRINTER_TEXT.get(state, "打印机不可用"))
            else:
                try:
                    if isinstance(content, TicketContent):
                        outcome = await asyncio.to_thread(self.output.print_ticket, content)
                    else:
                        outcome = await asyncio.to_thread(self.output.print_checklist, content)
                except Exception as exc:
                    log.exception("printing failed")
                    outcome = PrintOutcome(False, PrinterState.UNKNOWN, f"打印失败：{exc}")
        if not outcome.ok:
            self.print_problems.append(outcome)
            if self._on_print_problem is not None:
                try:
                    self._on_print_problem(outcome)
                except Exception:
                    log.exception("print problem report failed")
        return outcome

    def _take_for_matter(self) -> None:
        matter = self._matter(self.s.matter)
        if matter is not None:
            self._request(TicketRequest(matter.service, matter=matter.key))

    def _take_service(self, code: str) -> None:
        if self.s.green_confirmed and self.s.screen == Screen.GREEN_SERVICE:
            self._request(TicketRequest(code, priority="green", reason=self.s.green_reason))
        else:
            self._request(TicketRequest(code))

    def _checklist_url(self, matter: Matter, answers: Mapping[str, str]) -> str:
        base = self.settings.public_base_url.rstrip("/")
        query = urlencode({"a": flow.encode_answers(answers)}, doseq=True)
        return f"{base}/guide/{matter.key}/checklist" + (f"?{query}" if query else "")

    def _print_checklist(self) -> None:
        current = self._step()
        if current is None or current.view is None:
            return
        view = current.view
        lines = [f"□ {m.name}（{m.kind}，{m.copies}，{m.necessity}）" for m in view.materials]
        lines += [f"办理时限：{view.time_limit}", f"收费：{view.fee}", view.visits]
        content = ChecklistContent(
            hall_name=self.settings.hall_name,
            title=current.matter.name,
            lines=tuple(lines),
            qr_url=self._checklist_url(current.matter, current.answers),
            printed_at=self.clock.now(),
            timezone=self.offer.timezone,
        )
        self.s.checklist_note = "正在打印材料清单…"
        self._spawn(self._print_checklist_async(content, self.s.matter))

    async def _print_checklist_async(self, content: ChecklistContent, matter: str) -> None:
        outcome = await self._print(content)
        if self.s.matter == matter and self.s.screen == Screen.CHECKLIST:
            self.s.checklist_note = (
                "材料清单已打印，请取走"
                if outcome.ok
                else f"{PRINTER_TEXT.get(outcome.state, '打印机暂时无法打印')}，"
                "请拍照留存本页清单，或到导服台领取"
            )
            self._changed()

    # --- views ------------------------------------------------------------------------------

    def _header(self) -> Header:
        local = self.offer.local(self.clock.now())
        clock = f"{local:%H:%M}  {local.month}月{local.day}日 周{_WEEKDAYS[local.weekday()]}"
        home = None
        if self.s.screen not in (Screen.HOME, Screen.ATTRACT, Screen.CLOSED, Screen.TAKING):
            home = self._act("home", "返回首页", self.go_home, style=Style.SECONDARY)
        toggle = None
        if self.s.screen in (Screen.HOME, Screen.ATTRACT):
            label = "退出长者模式" if self.s.elderly else "长者模式"
            toggle = self._act("elderly", label, self._toggle_elderly, style=Style.SECONDARY)
        return Header(
            self.settings.hall_name, clock, self.source.online, self.s.elderly, toggle, home
        )

    def queue_text(self, code: str) -> str:
        """等候 5 人 · 约 20 分钟, or why no ticket can be taken now."""
        status = self.offer.status(code, self.clock.now())
        if status != ServiceStatus.OPEN:
            return STATUS_TEXT[status]
        q = self.queues.get(code)
        if q is None:
            return ""
        if q.estimated_wait_min is None:
            return f"等候 {q.waiting} 人"
        return f"等候 {q.waiting} 人 · 约 {q.estimated_wait_min} 分钟"

    def _frequent_matters(self) -> list[Matter]:
        keys = self.settings.frequent or tuple(m.key for m in self.library.matters)
        found = [m for k in keys if (m := self._matter(k)) is not None]
        return [m for m in found if m.service in self.offer.services][
            : self.settings.frequent_count
        ]

    def _service_tile(self, code: str, key_prefix: str = "service") -> Action:
        service = self.offer.services[code]
        return self._act(
            f"{key_prefix}:{code}",
            service.name,
            partial(self._take_service, code),
            sub=self.queue_text(code),
            enabled=True,
        )

    def view(self) -> View:
        builder = getattr(self, f"_view_{self.s.screen.value}")
        result: View = builder(self._header())
        return result

    def _view_attract(self, header: Header) -> View:
        return AttractView(
            header,
            title=f"欢迎来到{self.settings.hall_name}",
            lines=(
                "轻触屏幕开始取号",
                "可按业务取号、搜索事项、查询办事材料",
                "70岁以上老人等可走绿色通道",
            ),
            start=self._act("start", "轻触开始", self._leave_attract, style=Style.PRIMARY),
        )

    def _view_closed(self, header: Header) -> View:
        now = self.clock.now()
        today = self.offer.local(now).date()
        title = "今日不对外办公" if today in self.offer.closed_dates else "当前不在取号时间"
        body = f"下次取号时间：{self.offer.next_opening(now)}"
        if not self.offer.services:  # nothing from the hub yet (a new kiosk)
            title, body = "暂无可办理业务", "本机正在获取大厅业务信息，请稍候或到服务台咨询"
        return ClosedView(
            header,
            title=title,
            body=body,
            hours=tuple(f"办理时间：{line}" for line in self.offer.hours_lines()),
            guide=self._act("guide", "查看办事指南", self._open_guide, style=Style.SECONDARY),
        )

    def card_text(self) -> str:
        """已读取身份证：张*三 6101**********0036 (masked), or why a card was refused."""
        if self.s.citizen_id is None:
            return self.s.card_error
        who = " ".join(p for p in (mask_name(self.s.citizen_name), mask_id(self.s.citizen_id)) if p)
        return f"已读取身份证：{who}"

    def _view_home(self, header: Header) -> View:
        notice = "" if self.source.online else "网络中断：离线取号，号码有效"
        notice = "；".join(p for p in (self.card_text(), notice) if p)
        green = self._act(
            "green", "绿色通道", self._green, sub="老人 残疾人 孕妇 军人", style=Style.GREEN
        )
        checkin = self._act(
            "checkin", "预约签到", self._open_checkin, sub="扫预约二维码", style=Style.PRIMARY
        )
        if self.s.elderly:
            codes: list[str] = []
            for m in self._frequent_matters():
                if m.service not in codes and m.service != self.settings.helper_service:
                    codes.append(m.service)
            tiles = tuple(self._service_tile(c) for c in codes[: self.settings.elderly_count])
            helper = None
            if self.settings.helper_service in self.offer.services:
                helper = self._act(
                    f"service:{self.settings.helper_service}",
                    "请工作人员帮我办",
                    partial(self._take_service, self.settings.helper_service),
                    sub="帮办代办",
                    style=Style.PRIMARY,
                )
            return HomeView(
                header,
                "您好！请点选要办的业务",
                notice,
                tiles,
                (),
                None,
                None,
                green,
                helper,
                checkin,
            )
        frequent = tuple(
            self._act(
                f"matter:{m.key}",
                m.name,
                partial(self._open_matter, m.key, Screen.HOME),
                sub=self.queue_text(m.service),
            )
            for m in self._frequent_matters()
        )
        areas = tuple(
            self._act(
                f"area:{a.code}",
                a.name,
                partial(self._open_area, a.code),
                sub=f"{len(a.services)} 项业务",
            )
            for a in self.offer.areas
        )
        search = self._act(
            "search", "搜索事项", self._open_search, sub="拼音首字母，如 gtgsh", style=Style.PRIMARY
        )
        guide = self._act(
            "guide", "不知道办什么？", self._open_guide, sub="一步步帮您找", style=Style.PRIMARY
        )
        return HomeView(
            header, "您好！请选择要办理的业务", notice, frequent, areas, search, guide, green, None,
            checkin,
        )  # fmt: skip

    def _view_area(self, header: Header) -> View:
        area = next((a for a in self.offer.areas if a.code == self.s.area), None)
        items = tuple(self._service_tile(c) for c in (area.services if area else ()))
        back = self._act("back", "返回", self.go_home, style=Style.SECONDARY)
        return ListView(header, area.name if area else "业务", "点选业务即可取号", items, back)

    def _view_search(self, header: Header) -> View:
        query = self.s.query
        index = self._search_index() if self._search_index is not None else None
        results: tuple[Action, ...] = ()
        if not query:
            status = "请输入事项名称的拼音首字母，例如 gtgsh（个体工商户）"
        elif index is None:
            status = "正在准备搜索，请稍候…"
        else:
            answer = index.ask(query, limit=8)
            hits = [h.matter for h in answer.matters if self._matter(h.matter.key) is not None]
            results = tuple(
                self._act(
                    f"result:{m.key}",
                    m.name,
                    partial(self._open_matter, m.key, Screen.SEARCH),
                    sub=self._service_name(m.service),
                )
                for m in hits
            )
            status = (
                f"找到 {len(results)} 项" if results else "没有找到，请换个说法或点“不知道办什么？”"
            )
        letters = tuple(
            tuple(self._act(f"key:{c}", c, partial(self._key, c), style=Style.KEY) for c in row)
            for row in KEYBOARD_ROWS
        )
        edit = (
            self._act("key:space", "空格", partial(self._key, " "), style=Style.KEY),
            self._act("key:delete", "删除", self._backspace, style=Style.KEY),
            self._act("key:clear", "清空", partial(self._hotword, ""), style=Style.KEY),
        )
        keys = (*letters, edit)
        hotwords = tuple(
            self._act(f"hot:{w}", w, partial(self._hotword, w), style=Style.SECONDARY)
            for w in HOTWORDS
        )
        back = self._act("back", "返回", self.go_home, style=Style.SECONDARY)
        return SearchView(header, query, status, results, hotwords, keys, back)

    def _service_name(self, code: str) -> str:
        service = self.offer.services.get(code)
        return service.name if service else ""

    def _view_guide_areas(self, header: Header) -> View:
        items = tuple(
            self._act(
                f"garea:{a.code}",
                a.name,
                partial(self._guide_area, a.code),
                sub=f"{len(self._area_matters(a.code))} 个事项",
            )
            for a in self.offer.areas
            if self._area_matters(a.code)
        )
        back = self._act("back", "返回", self.go_home, style=Style.SECONDARY)
        return ListView(
            header, "您要办哪一类事？", "先选大类，再选具体事项，我们一步步帮您", items, back
        )

    def _area_matters(self, area: str) -> list[Matter]:
        return [
            m
            for m in self.library.matters
            if (s := self.offer.services.get(m.service)) is not None and s.area == area
        ]

    def _view_guide_matters(self, header: Header) -> View:
        area = next((a for a in self.offer.areas if a.code == self.s.guide_area), None)
        items = tuple(
            self._act(
                f"gmatter:{m.key}",
                m.name,
                partial(self._open_matter, m.key, Screen.GUIDE_MATTERS),
                sub=f"{len(m.root)} 个问题" if m.root else "直接查看材料",
            )
            for m in self._area_matters(self.s.guide_area)
        )
        back = self._act("back", "返回", self._open_guide, style=Style.SECONDARY)
        name = area.name if area else ""
        return ListView(
            header,
            f"{name}：您要办哪件事？",
            "点选事项，回答几个问题即可知道要带什么材料",
            items,
            back,
        )

    def _view_question(self, header: Header) -> View:
        current = self._step()
        if current is None or current.question is None:
            return self._view_message(header)
        q = current.question
        options = tuple(
            self._act(
                f"option:{o.key}",
                o.label,
                partial(self._answer, q.key, o.key),
                style=Style.TILE,
            )
            for o in q.options
        )
        answered = tuple(f"{a.question.text}  {a.option.label}" for a in current.answered)
        back = self._act("back", "上一步", self._walk_back, style=Style.SECONDARY)
        return QuestionView(
            header,
            current.matter.name,
            f"第 {current.number} 个问题",
            q.text,
            q.help,
            options,
            answered,
            back,
        )

    def _view_checklist(self, header: Header) -> View:
        current = self._step()
        if current is None or current.view is None:
            return self._view_message(header)
        view = current.view
        matter = current.matter
        rows = tuple(
            MaterialRow(
                m.name,
                f"{m.kind} · {m.copies} · {m.necessity}" + (f" · {m.spec}" if m.spec else ""),
            )
            for m in view.materials
        )
        summary = (f"办理时限：{view.time_limit}", f"收费：{view.fee}", f"跑动次数：{view.visits}")
        take = None
        if matter.service in self.offer.services:
            service = self.offer.services[matter.service]
            figures = self.queue_text(matter.service)
            note = f"取号业务：{service.name}" + (f"（{figures}）" if figures else "")
            take = self._act("take", "立即取号", self._take_for_matter, style=Style.PRIMARY)
        else:
            note = "本大厅暂不受理该事项，请到导服台咨询"
        printer = self._act(
            "print_list", "打印材料清单", self._print_checklist, style=Style.SECONDARY
        )
        back = self._act("back", "上一步", self._walk_back, style=Style.SECONDARY)
        return ChecklistScreen(
            header,
            matter.name,
            summary,
            rows,
            view.conditions,
            note,
            take,
            printer,
            back,
            self.s.checklist_note,
        )

    def _view_green_reason(self, header: Header) -> View:
        items = tuple(
            self._act(f"reason:{code}", label, partial(self._green_reason, code), style=Style.GREEN)
            for code, label in GREEN_REASONS.items()
        )
        back = self._act("back", "返回", self.go_home, style=Style.SECONDARY)
        return ListView(
            header, "绿色通道：请选择优先原因", "经工作人员确认或身份证核验后优先取号", items, back
        )

    def _digit_keys(self, with_x: bool) -> tuple[tuple[Action, ...], ...]:
        rows = ("123", "456", "789", ("X0" if with_x else "0"))
        out = []
        for row in rows:
            out.append(
                tuple(
                    self._act(f"pad:{c}", c, partial(self._keypad_key, c), style=Style.KEY)
                    for c in row
                )
                + (
                    (self._act("pad:delete", "删除", self._keypad_delete, style=Style.KEY),)
                    if row in ("X0", "0")
                    else ()
                )
            )
        return tuple(out)

    def _view_green_confirm(self, header: Header) -> View:
        reason = GREEN_REASONS.get(self.s.green_reason, "")
        alternatives: tuple[Action, ...] = ()
        if self.s.green_reason == "elderly":
            alternatives = (
                self._act("by_id", "刷身份证核验年龄", self._green_by_id, style=Style.GREEN),
            )
        staff = self.settings.staff_code is not None
        hint = "请工作人员输入确认码" if staff else "请刷身份证核验"
        if staff and alternatives:
            hint = "请工作人员输入确认码，或刷身份证核验年龄"
        return KeypadView(
            header,
            title=f"绿色通道确认：{reason}",
            hint=hint,
            display="●" * len(self.s.keypad),
            error=self.s.keypad_error,
            keys=self._digit_keys(with_x=False) if staff else (),
            confirm=self._act(
                "confirm", "确认", self._staff_confirm, enabled=staff, style=Style.PRIMARY
            ),
            back=self._act("back", "返回", self._keypad_back, style=Style.SECONDARY),
            alternatives=alternatives,
        )

    def _view_green_service(self, header: Header) -> View:
        items = tuple(
            self._act(
                f"gservice:{code}",
                s.name,
                partial(self._take_service, code),
                sub=self.queue_text(code),
                style=Style.GREEN,
            )
            for code, s in self.offer.services.items()
        )
        back = self._act("back", "返回", self._green, style=Style.SECONDARY)
        return ListView(header, "绿色通道：请选择业务", "已确认，将为您优先取号", items, back)

    def _view_id_entry(self, header: Header) -> View:
        typed = len(self.s.keypad)
        green = self.s.keypad_return == Screen.GREEN_CONFIRM
        hint = "请将身份证放在读卡区，或输入18位身份证号码"
        if not green:
            hint += "（每人每日取号有限额）"
        return KeypadView(
            header,
            title="身份证核验" if green else "请刷身份证",
            hint=hint,
            display=(mask_id(self.s.keypad) if typed else "") + f"    {typed}/{ID_LENGTH}",
            error=self.s.keypad_error,
            keys=self._digit_keys(with_x=True),
            confirm=self._act(
                "confirm", "确定", self._keypad_confirm_id, enabled=True, style=Style.PRIMARY
            ),
            back=self._act("back", "返回", self._keypad_back, style=Style.SECONDARY),
            alternatives=(),
        )

    def _view_taking(self, header: Header) -> View:
        return BusyView(header, self.s.busy_text)

    def _open_checkin(self) -> None:
        self.s.scan_error = ""
        self._go(Screen.CHECKIN)

    def _view_checkin(self, header: Header) -> View:
        return ScanView(
            header,
            title="预约签到",
            hint="请将预约二维码对准扫码口",
            steps=(
                "1. 打开预约短信或预约页面中的二维码",
                "2. 将手机屏幕对准下方扫码口，保持 1 秒",
                "3. 签到成功后打印号票，预约号优先叫号",
            ),
            error=self.s.scan_error,
            back=self._act("back", "返回", self.go_home, style=Style.SECONDARY),
        )

    def _view_ticket(self, header: Header) -> View:
        t = self.s.ticket
        if t is None:
            return self._view_message(header)
        q = self.queues.get(t.service)
        ahead = t.ahead if t.ahead is not None else (q.waiting if q and not t.offline else None)
        minutes = t.minutes
        if minutes is None and q is not None and not t.offline:
            minutes = q.estimated_wait_min
        if self.s.printing:
            status = "正在打印号票…"
        elif self.s.eticket:
            outcome = self.s.print_outcome
            why = PRINTER_TEXT.get(outcome.state, "") if outcome else ""
            status = f"{why or '打印机暂时无法打印'}，请用手机扫码领取电子号票"
        else:
            status = "请取走号票，留意叫号屏和语音叫号"
        limit = self.settings.eticket_return_s if self.s.eticket else self.settings.ticket_return_s
        left = max(0, round(limit - (self.clock.monotonic() - self.screen_since)))
        return TicketView(
            header,
            number=t.number,
            service=t.service_name,
            ahead=_ahead_text(ahead),
            wait=f"预计等候约 {minutes} 分钟" if minutes else "",
            priority=PRIORITY_LABELS.get(t.priority, ""),
            offline="离线取号，号码有效" if t.offline else "",
            status=status,
            eticket=self.s.eticket,
            qr_url=t.citizen_url,
            countdown="" if self.s.printing else f"{left} 秒后返回首页",
            done=self._act("done", "完成，返回首页", self.go_home, style=Style.PRIMARY),
        )

    def _view_message(self, header: Header) -> View:
        title, body, tone = self.s.message
        return MessageView(
            header,
            title or "提示",
            body,
            tone,
            (self._act("ok", "返回首页", self.go_home, style=Style.PRIMARY),),
        )


def _ahead_text(ahead: int | None) -> str:
    if ahead is None:
        return ""
    return "前面没有人，请留意叫号" if ahead == 0 else f"前面还有 {ahead} 人"


def _spawn_on_running_loop(coro: Coroutine[Any, Any, None]) -> None:
    """Run on the running asyncio loop (Kivy's async_run); keep a reference."""
    task = asyncio.get_running_loop().create_task(coro)
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


_TASKS: set[asyncio.Task[None]] = set()
