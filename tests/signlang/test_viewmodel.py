"""What the citizen and the clerk see through a call, without Kivy."""

from __future__ import annotations

from signlang_terminal.viewmodel import (
    ENDED_SHOW_S,
    RECORDING_MARK,
    Phase,
    TerminalViewModel,
    wait_text,
)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def ready(ask_consent: bool = False) -> tuple[TerminalViewModel, Clock, list[object]]:
    clock = Clock()
    vm = TerminalViewModel(ask_consent=ask_consent, clock=clock)
    requests: list[object] = []
    vm.request_call = requests.append
    vm.cancel_call = lambda: requests.append("cancel")
    vm.end_call = lambda: requests.append("end")
    vm.send_text = lambda text: True
    vm.online(True)
    return vm, clock, requests


def test_offline_terminal_offers_no_call_button() -> None:
    vm = TerminalViewModel()
    view = vm.citizen()
    assert view.call_button is None
    assert view.headline == "手语翻译服务暂不可用"
    assert vm.clerk().status == "未连接服务中心"


def test_a_call_from_button_to_interpreter_to_end() -> None:
    vm, clock, requests = ready()
    assert vm.citizen().call_button == "呼叫手语翻译"
    vm.press_call()
    assert requests == [False]  # no consent asked: not recorded
    assert vm.citizen().cancel_button == "取消呼叫"
    vm.queued(3, 200)
    assert vm.citizen().detail == "前面还有 2 位，预计等待约 4 分钟"
    assert vm.clerk().status == "排队中（第 3 位，预计等待约 4 分钟）"
    vm.queued(1, 30)
    assert vm.citizen().detail == "您是下一位，预计等待不到 1 分钟"
    vm.connecting("李娜")
    assert vm.citizen().headline == "翻译员 李娜 已接听"
    assert not vm.citizen().show_video
    vm.media_up()
    view = vm.citizen()
    assert view.show_video
    assert view.end_button == "结束通话"
    assert view.can_type
    clock.t += 65
    vm.text_received("您好，请问要办理什么业务？")
    assert vm.clerk().duration == "01:05"
    assert vm.clerk().lines[-1].text == "您好，请问要办理什么业务？"
    assert vm.type_text("我想办居住证")
    assert [line.who for line in vm.citizen().lines] == ["翻译员", "我"]
    vm.press_end()
    assert requests[-1] == "end"
    assert vm.citizen().headline == "您已结束通话"
    clock.t += ENDED_SHOW_S
    vm.tick()
    assert vm.phase is Phase.IDLE
    assert vm.citizen().call_button == "呼叫手语翻译"


def test_recording_is_asked_first_when_enabled() -> None:
    vm, _, requests = ready(ask_consent=True)
    vm.press_call()
    view = vm.citizen()
    assert view.consent_buttons == ("同意录像", "不同意")
    assert requests == []
    vm.answer_consent(agreed=True)
    assert requests == [True]
    assert vm.phase is Phase.REQUESTING


def test_the_recording_mark_shows_only_while_the_call_is_recorded() -> None:
    vm, _, _ = ready(ask_consent=True)
    vm.press_call()
    vm.answer_consent(agreed=True)
    vm.connecting("李娜")
    vm.media_up()
    assert vm.citizen().recording is None  # agreed, but not recording yet
    vm.recording_shown(True)
    assert vm.citizen().recording == RECORDING_MARK
    vm.recording_shown(False)  # the recorder failed: the mark goes
    assert vm.citizen().recording is None
    vm.recording_shown(True)
    vm.press_end()
    assert vm.citizen().recording is None
    assert vm.clerk().status == "您已结束通话"


def test_interpreter_hanging_up_is_said_and_the_screen_returns() -> None:
    vm, clock, _ = ready()
    vm.press_call()
    vm.connecting("王芳")
    vm.media_up()
    vm.ended("翻译员已结束通话")
    assert vm.citizen().headline == "翻译员已结束通话"
    assert vm.citizen().end_button is None
    clock.t += ENDED_SHOW_S
    vm.tick()
    assert vm.phase is Phase.IDLE


def test_losing_the_hub_while_waiting_tells_the_citizen() -> None:
    vm, clock, _ = ready()
    vm.press_call()
    vm.queued(2, 90)
    vm.online(False)
    assert vm.citizen().headline == "与服务中心的连接中断，请稍后重新呼叫"
    clock.t += ENDED_SHOW_S
    vm.tick()
    assert vm.phase is Phase.OFFLINE
    assert vm.citizen().call_button is None


def test_cancel_while_queued() -> None:
    vm, _, requests = ready()
    vm.press_call()
    vm.queued(4, None)
    assert vm.citizen().detail == "前面还有 3 位，正在估算等待时间"
    vm.press_cancel()
    assert requests[-1] == "cancel"
    assert vm.citizen().headline == "您已取消呼叫"


def test_text_cannot_be_sent_before_the_call_is_up() -> None:
    vm, _, _ = ready()
    vm.press_call()
    assert not vm.type_text("你好")
    assert vm.citizen().lines == ()


def test_wait_texts() -> None:
    assert wait_text(None) == "正在估算等待时间"
    assert wait_text(59) == "预计等待不到 1 分钟"
    assert wait_text(61) == "预计等待约 2 分钟"
