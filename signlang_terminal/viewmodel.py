"""What the terminal's two screens show, in plain Python (no Kivy).

The citizen screen: the big 呼叫手语翻译 button; optionally the recording
consent question; waiting with the queue position and expected wait; the
call (interpreter large, citizen small, a small 录像中 mark while it is
recorded), the text lines and 结束通话; a short
"call ended" page before it is ready again. The clerk screen: call status,
interpreter, duration, and the text the interpreter typed.

`TerminalViewModel` is driven by the call controller (`signlang_terminal.
terminal`) and by the buttons; the Kivy layer only reads `citizen()` and
`clerk()` and calls the button methods. Nothing here is thread-safe: the
controller and the screens run on one event loop.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

MAX_LINES: Final = 50
ENDED_SHOW_S: Final = 6.0
RECORDING_MARK: Final = "● 录像中"


class Phase(StrEnum):
    OFFLINE = "offline"  # no signalling connection to the hub
    IDLE = "idle"
    CONSENT = "consent"  # asking whether the call may be recorded
    REQUESTING = "requesting"  # request sent, no answer yet
    QUEUED = "queued"
    CONNECTING = "connecting"  # an interpreter accepted; media being set up
    IN_CALL = "in_call"
    ENDED = "ended"


@dataclass(frozen=True)
class TextLine:
    who: str  # "翻译员" or "我"
    text: str


@dataclass(frozen=True)
class CitizenView:
    phase: Phase
    headline: str
    detail: str
    call_button: str | None = None  # label of the big button, None when hidden
    cancel_button: str | None = None
    end_button: str | None = None
    consent_buttons: tuple[str, str] | None = None
    show_video: bool = False
    lines: tuple[TextLine, ...] = ()
    can_type: bool = False
    recording: str | None = None  # the small 录像中 mark while the call is recorded


@dataclass(frozen=True)
class ClerkView:
    phase: Phase
    status: str
    interpreter: str | None
    duration: str | None
    lines: tuple[TextLine, ...]


def wait_text(seconds: float | None) -> str:
    if seconds is None:
        return "正在估算等待时间"
    if seconds < 60:
        return "预计等待不到 1 分钟"
    return f"预计等待约 {math.ceil(seconds / 60)} 分钟"


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60:02d}:{s % 60:02d}"


class TerminalViewModel:
    def __init__(
        self,
        *,
        ask_consent: bool = False,
        location: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ask_consent = ask_consent
        self.location = location
        self._clock = clock
        self.phase = Phase.OFFLINE
        self.position: int | None = None
        self.expected_wait_s: float | None = None
        self.interpreter: str | None = None
        self.reason: str | None = None
        self.lines: deque[TextLine] = deque(maxlen=MAX_LINES)
        self._call_started: float | None = None
        self._recording = False  # the call is being recorded right now
        self._ended_at: float | None = None
        self._offline_after = False  # the ended page gives way to "offline", not "idle"
        self._listeners: list[Callable[[], None]] = []
        self.views = (self.citizen(), self.clerk())
        # Set by the controller: what the buttons do.
        self.request_call: Callable[[bool], None] = lambda consent: None
        self.cancel_call: Callable[[], None] = lambda: None
        self.end_call: Callable[[], None] = lambda: None
        self.send_text: Callable[[str], bool] = lambda text: False

    # --- listeners --------------------------------------------------------------------

    def on_change(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def _changed(self) -> None:
        # An immutable copy for screens on another thread (Kivy's): they read
        # `views`, never the live deque.
        self.views = (self.citizen(), self.clerk())
        for callback in self._listeners:
            callback()

    def _set(self, phase: Phase) -> None:
        self.phase = phase
        self._changed()

    # --- buttons (citizen screen) -----------------------------------------------------

    def press_call(self) -> None:
        if self.phase is not Phase.IDLE:
            return
        if self.ask_consent:
            self._set(Phase.CONSENT)
            return
        self._request(consent=False)

    def answer_consent(self, agreed: bool) -> None:
        if self.phase is Phase.CONSENT:
            self._request(consent=agreed)

    def _request(self, *, consent: bool) -> None:
        self.lines.clear()
        self.position = self.expected_wait_s = None
        self.interpreter = self.reason = None
        self._recording = False
        self._set(Phase.REQUESTING)
        self.request_call(consent)

    def press_cancel(self) -> None:
        if self.phase in (Phase.CONSENT,):
            self._set(Phase.IDLE)
        elif self.phase in (Phase.REQUESTING, Phase.QUEUED):
            self.cancel_call()
            self.ended("您已取消呼叫")

    def press_end(self) -> None:
        if self.phase in (Phase.CONNECTING, Phase.IN_CALL):
            self.end_call()
            self.ended("您已结束通话")

    def type_text(self, text: str) -> bool:
        text = text.strip()
        if not text or self.phase is not Phase.IN_CALL:
            return False
        if not self.send_text(text):
            return False
        self.lines.append(TextLine("我", text))
        self._changed()
        return True

    # --- events (the controller) ------------------------------------------------------

    def online(self, up: bool) -> None:
        if up and self.phase is Phase.OFFLINE:
            self._set(Phase.IDLE)
        elif not up and self.phase is not Phase.OFFLINE:
            if self.phase in (Phase.IDLE, Phase.CONSENT, Phase.ENDED):
                self._set(Phase.OFFLINE)
            else:
                self.ended("与服务中心的连接中断，请稍后重新呼叫", offline=True)

    def queued(self, position: int, expected_wait_s: float | None) -> None:
        if self.phase in (Phase.REQUESTING, Phase.QUEUED):
            self.position, self.expected_wait_s = position, expected_wait_s
            self._set(Phase.QUEUED)

    def connecting(self, interpreter: str) -> None:
        if self.phase in (Phase.REQUESTING, Phase.QUEUED):
            self.interpreter = interpreter
            self._set(Phase.CONNECTING)

    def media_up(self) -> None:
        if self.phase is Phase.CONNECTING:
            self._call_started = self._clock()
            self._set(Phase.IN_CALL)

    def recording_shown(self, on: bool) -> None:
        """The controller: the call's recording runs (or stopped, or failed)."""
        if on != self._recording:
            self._recording = on
            self._changed()

    def text_received(self, text: str) -> None:
        if self.phase in (Phase.CONNECTING, Phase.IN_CALL):
            self.lines.append(TextLine("翻译员", text))
            self._changed()

    def ended(self, reason: str | None = None, *, offline: bool = False) -> None:
        if self.phase in (Phase.IDLE, Phase.OFFLINE, Phase.ENDED) and not offline:
            return
        self.reason = reason or "通话已结束"
        self._recording = False
        self._ended_at = self._clock()
        self._offline_after = offline
        self._set(Phase.ENDED)

    def tick(self) -> None:
        """Called about once a second: the ended page times out; the duration moves."""
        if self.phase is Phase.ENDED and self._ended_at is not None:
            if self._clock() - self._ended_at >= ENDED_SHOW_S:
                self._set(Phase.OFFLINE if self._offline_after else Phase.IDLE)
        elif self.phase is Phase.IN_CALL:
            self._changed()

    # --- the screens ------------------------------------------------------------------

    def citizen(self) -> CitizenView:
        p = self.phase
        view = CitizenView  # keyword arguments only: each page names what it shows
        if p is Phase.OFFLINE:
            return view(p, "手语翻译服务暂不可用", "正在连接服务中心，请稍候或咨询工作人员")
        if p is Phase.IDLE:
            return view(
                p,
                "远程手语翻译",
                "按下按钮，专业手语翻译员将通过视频为您服务",
                call_button="呼叫手语翻译",
            )
        if p is Phase.CONSENT:
            return view(
                p,
                "是否同意本次通话录像？",
                "录像仅用于服务质量核查，不同意也可以正常通话",
                cancel_button="返回",
                consent_buttons=("同意录像", "不同意"),
            )
        if p is Phase.REQUESTING:
            return view(p, "正在呼叫手语翻译…", "请稍候", cancel_button="取消呼叫")
        if p is Phase.QUEUED:
            ahead = (self.position or 1) - 1
            queue = "您是下一位" if ahead == 0 else f"前面还有 {ahead} 位"
            return view(
                p,
                "正在为您接通手语翻译",
                f"{queue}，{wait_text(self.expected_wait_s)}",
                cancel_button="取消呼叫",
            )
        lines = tuple(self.lines)
        if p is Phase.CONNECTING:
            return view(
                p,
                f"翻译员 {self.interpreter} 已接听",
                "正在建立视频连接…",
                end_button="结束通话",
                lines=lines,
            )
        if p is Phase.IN_CALL:
            return view(
                p,
                f"翻译员 {self.interpreter}",
                self._elapsed() or "",
                end_button="结束通话",
                show_video=True,
                lines=lines,
                can_type=True,
                recording=RECORDING_MARK if self._recording else None,
            )
        return view(p, self.reason or "通话已结束", "感谢使用远程手语翻译服务", lines=lines)

    def clerk(self) -> ClerkView:
        p = self.phase
        status = {
            Phase.OFFLINE: "未连接服务中心",
            Phase.IDLE: "空闲",
            Phase.CONSENT: "市民正在选择是否录像",
            Phase.REQUESTING: "正在呼叫翻译员",
            Phase.QUEUED: f"排队中（第 {self.position} 位，{wait_text(self.expected_wait_s)}）",
            Phase.CONNECTING: "翻译员已接听，正在连接视频",
            Phase.IN_CALL: "通话中",
            Phase.ENDED: self.reason or "通话已结束",
        }[p]
        return ClerkView(p, status, self.interpreter, self._elapsed(), tuple(self.lines))

    def _elapsed(self) -> str | None:
        if self.phase is not Phase.IN_CALL or self._call_started is None:
            return None
        return _duration(self._clock() - self._call_started)
