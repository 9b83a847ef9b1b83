"""What a screen shows, as plain data: the Kivy layer draws these and calls
their actions; tests read them and press the actions without Kivy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from enum import StrEnum


class Style(StrEnum):
    TILE = "tile"  # a large tile (area, service, matter)
    PRIMARY = "primary"  # the main action of a screen (取号)
    SECONDARY = "secondary"  # back, home, less important
    KEY = "key"  # a keyboard or keypad key
    GREEN = "green"  # 绿色通道
    WARN = "warn"


@dataclass(frozen=True)
class Action:
    """A button: what it says, what it does. ``key`` is stable, for tests."""

    key: str
    label: str
    run: Callable[[], None] = field(compare=False, repr=False)
    sub: str = ""  # a second line (等候 5 人 · 约 20 分钟)
    enabled: bool = True
    style: Style = Style.TILE


@dataclass(frozen=True)
class Header:
    hall_name: str
    clock: str  # 10:32 · 11月27日 周四
    online: bool
    elderly: bool
    elderly_toggle: Action | None
    home: Action | None  # None on the home screen itself


@dataclass(frozen=True)
class View:
    header: Header

    def actions(self) -> Iterator[Action]:
        """Every button on the screen, in drawing order."""
        for f in fields(self):
            value = getattr(self, f.name)
            yield from _actions_in(value)

    def texts(self) -> Iterator[str]:
        """Every text on the screen (for tests: nothing shows a full ID)."""
        for f in fields(self):
            yield from _texts_in(getattr(self, f.name))


def _actions_in(value: object) -> Iterator[Action]:
    if isinstance(value, Action):
        yield value
    elif isinstance(value, Header):
        for a in (value.elderly_toggle, value.home):
            if a is not None:
                yield a
    elif isinstance(value, tuple):
        for item in value:
            yield from _actions_in(item)


def _texts_in(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Action):
        yield value.label
        yield value.sub
    elif isinstance(value, Header):
        yield value.hall_name
        yield value.clock
        for a in (value.elderly_toggle, value.home):
            if a is not None:
                yield from _texts_in(a)
    elif isinstance(value, tuple):
        for item in value:
            yield from _texts_in(item)


@dataclass(frozen=True)
class AttractView(View):
    title: str
    lines: tuple[str, ...]
    start: Action


@dataclass(frozen=True)
class ClosedView(View):
    title: str
    body: str
    hours: tuple[str, ...]
    guide: Action | None  # 查看办事指南 stays available when closed


@dataclass(frozen=True)
class HomeView(View):
    greeting: str
    notice: str  # 离线 / closed services …
    frequent: tuple[Action, ...]
    areas: tuple[Action, ...]
    search: Action | None  # None in elderly mode
    guide: Action | None  # None in elderly mode
    green: Action
    helper: Action | None  # 帮办代办 (elderly mode)
    checkin: Action | None = None  # 预约签到


@dataclass(frozen=True)
class ScanView(View):
    """预约签到: hold the booking's QR code to the scanner."""

    title: str
    hint: str
    steps: tuple[str, ...]
    error: str
    back: Action


@dataclass(frozen=True)
class ListView(View):
    """A titled list of large tiles (services of an area, matters, reasons)."""

    title: str
    hint: str
    items: tuple[Action, ...]
    back: Action


@dataclass(frozen=True)
class SearchView(View):
    query: str
    status: str  # 输入拼音首字母，如 gtgsh
    results: tuple[Action, ...]
    hotwords: tuple[Action, ...]
    keys: tuple[tuple[Action, ...], ...]  # keyboard rows
    back: Action


@dataclass(frozen=True)
class QuestionView(View):
    matter: str
    progress: str  # 第 2 个问题
    question: str
    help: str
    options: tuple[Action, ...]
    answered: tuple[str, ...]  # 您的情况: “问题：答案”
    back: Action


@dataclass(frozen=True)
class MaterialRow:
    name: str
    detail: str  # 原件 · 1 份 · 必要


@dataclass(frozen=True)
class ChecklistScreen(View):
    matter: str
    summary: tuple[str, ...]  # 办理时限, 收费, 跑动次数
    materials: tuple[MaterialRow, ...]
    conditions: tuple[str, ...]
    service_note: str  # 取号业务：个体工商户登记 · 等候 3 人
    take: Action | None
    print_list: Action
    back: Action
    message: str  # 清单已打印 / 打印机缺纸…


@dataclass(frozen=True)
class KeypadView(View):
    """Entering a number: the ID card (masked) or a staff code."""

    title: str
    hint: str
    display: str  # never the full ID: masked
    error: str
    keys: tuple[tuple[Action, ...], ...]
    confirm: Action
    back: Action
    alternatives: tuple[Action, ...]  # 工作人员确认 …


@dataclass(frozen=True)
class BusyView(View):
    text: str


@dataclass(frozen=True)
class TicketView(View):
    number: str
    service: str
    ahead: str  # 前面还有 3 人
    wait: str  # 预计等候约 12 分钟
    priority: str  # 绿色通道 / ""
    offline: str  # 离线取号，号码有效 / ""
    status: str  # 正在打印… / 请取走号票 / 扫码领取电子号票
    eticket: bool  # show the QR code of the citizen page
    qr_url: str
    countdown: str  # 15 秒后返回首页
    done: Action


@dataclass(frozen=True)
class MessageView(View):
    title: str
    body: str
    tone: str  # info / warn / error
    buttons: tuple[Action, ...]
