"""What a board shows, as plain data: the Kivy layer only lays these out.

Every text a citizen reads is made here, in Simplified Chinese. Boards carry
no personal data: a call is a ticket number, a window and a service.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from broker.contract import BoardCall, HallQueue, HallWindow, WindowPhase
from display.board.settings import BoardKind

WEEKDAYS: Final = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
DEFAULT_TITLE: Final = "叫号信息"
NO_CALLS: Final = "暂无叫号，请留意语音提示"
WAITING_FOR_HUB: Final = "正在连接叫号系统…"


def call_sentence(ticket: str, window_name: str) -> str:
    """The banner's sentence, the same words the voice says."""
    return f"请 {ticket} 号 到 {window_name} 办理"


def serial_line(ticket: str, window_name: str) -> str:
    """One line of a legacy LED board (short: such boards show 8–16 characters)."""
    return f"{ticket} 请到 {window_name}"


def wait_text(queue: HallQueue) -> str:
    if queue.estimated_wait_min is None or queue.open_windows == 0:
        return "暂无窗口"
    if queue.waiting == 0:
        return "无需等候"
    return f"约 {queue.estimated_wait_min} 分钟"


@dataclass(frozen=True)
class CallRow:
    ticket: str
    window: int
    window_name: str
    service: str
    recall: bool
    highlighted: bool

    @property
    def sentence(self) -> str:
        return call_sentence(self.ticket, self.window_name)

    @classmethod
    def of(cls, call: BoardCall, *, highlighted: bool) -> CallRow:
        return cls(call.ticket, call.window, call.window_name, call.service, call.recall,
                   highlighted)  # fmt: skip


@dataclass(frozen=True)
class WaitRow:
    service: str
    prefix: str
    waiting: int
    wait: str

    @classmethod
    def of(cls, queue: HallQueue) -> WaitRow:
        return cls(queue.name, queue.prefix, queue.waiting, wait_text(queue))


@dataclass(frozen=True)
class WindowPanel:
    """A window display: the window's name and who it serves now."""

    number: int
    name: str
    ticket: str | None
    state: str
    highlighted: bool

    @classmethod
    def of(
        cls, number: int, window: HallWindow | None, call: BoardCall | None, *, highlighted: bool
    ) -> WindowPanel:
        if window is None:  # no window topic yet: the latest call there, if any
            name = call.window_name if call else f"{number}号窗口"
            ticket = call.ticket if call else None
            return cls(number, name, ticket, "请到本窗口办理" if ticket else "", highlighted)
        if window.status is WindowPhase.CLOSED:
            return cls(number, window.name, None, "暂停服务", False)
        if window.status is WindowPhase.PAUSED:
            return cls(number, window.name, window.ticket, "暂停叫号", highlighted)
        if window.ticket is None:
            return cls(number, window.name, None, "等候叫号", False)
        state = "正在办理" if window.ticket_state == "serving" else "请到本窗口办理"
        return cls(number, window.name, window.ticket, state, highlighted)

    def serial_lines(self) -> list[str]:
        second = f"{self.ticket} {self.state}" if self.ticket else self.state
        return [self.name, second] if second else [self.name]


@dataclass(frozen=True)
class BoardView:
    """Everything on one board at one moment."""

    kind: BoardKind
    title: str
    featured: CallRow | None
    calls: tuple[CallRow, ...]
    waits: tuple[WaitRow, ...]
    window: WindowPanel | None
    notices: str
    clock: str
    date: str
    connected: bool
    """False until the first hall state arrived (a board just switched on)."""

    @property
    def empty_text(self) -> str:
        return NO_CALLS if self.connected else WAITING_FOR_HUB

    def texts(self) -> list[str]:
        """Every text on the board, for tests and the local snapshot."""
        out = [self.title, self.clock, self.date]
        if self.featured is not None:
            out.append(self.featured.sentence)
        for row in self.calls:
            out += [row.ticket, row.window_name, row.service]
        for wait in self.waits:
            out += [wait.service, f"{wait.waiting} 人", wait.wait]
        if self.window is not None:
            out += [self.window.name, self.window.ticket or "", self.window.state]
        if not self.calls and self.window is None:
            out.append(self.empty_text)
        if self.notices:
            out.append(self.notices)
        return [t for t in out if t]


def clock_texts(now: dt.datetime) -> tuple[str, str]:
    """("10:05", "12月1日 星期二") for the board's corner."""
    return now.strftime("%H:%M"), f"{now.month}月{now.day}日 {WEEKDAYS[now.weekday()]}"
