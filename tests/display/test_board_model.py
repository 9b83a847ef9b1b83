"""The board's logic as a citizen in the hall notices it, without Kivy: which
calls are new (highlighted and announced), how long each stays highlighted
when windows call together, what an area board and a window display show."""

from __future__ import annotations

import datetime as dt

import pytest

from broker.contract import BoardCall, HallCalls, HallQueue, HallWindow, WindowPhase
from display.board import BoardKind, BoardSettings, BoardViewModel

T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in the hall


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def call(
    ticket: str, window: int, second: float, *, area: str = "zonghe", **kw: object
) -> BoardCall:
    return BoardCall(
        ticket=ticket,
        window=window,
        window_name=f"{window}号窗口",
        service=str(kw.pop("service", "综合受理")),
        called_at=T0 + dt.timedelta(seconds=second),
        recall=bool(kw.pop("recall", False)),
        area=area,
        voice=bool(kw.pop("voice", True)),
    )


def hall(*calls: BoardCall) -> HallCalls:
    """The hub's list: newest first."""
    return HallCalls(calls=tuple(sorted(calls, key=lambda c: c.called_at, reverse=True)))


def board(clock: FakeClock, **settings: object) -> BoardViewModel:
    return BoardViewModel(BoardSettings.model_validate(settings), monotonic=clock, wall=lambda: T0)


def lit(vm: BoardViewModel) -> list[str]:
    return [r.ticket for r in vm.view().calls if r.highlighted]


def banner(vm: BoardViewModel) -> str | None:
    featured = vm.view().featured
    return featured.sentence if featured else None


def test_a_rebooted_board_shows_the_calls_at_once_and_announces_none_of_them() -> None:
    clock = FakeClock()
    vm = board(clock)
    before = vm.view()
    assert not before.connected
    assert before.empty_text == "正在连接叫号系统…"

    earlier = hall(call("A001", 1, 0), call("A002", 2, 5), call("B001", 3, 9))
    assert vm.apply_payload(earlier, retained=True) == []

    view = vm.view()
    assert [r.ticket for r in view.calls] == ["B001", "A002", "A001"]
    assert [r.window_name for r in view.calls] == ["3号窗口", "2号窗口", "1号窗口"]
    assert lit(vm) == []
    assert view.featured is None
    # The hub republishes the same list (e.g. after its own restart): still nothing new.
    assert vm.apply_payload(earlier) == []


def test_a_new_call_and_a_recall_are_news_and_the_same_list_again_is_not() -> None:
    clock = FakeClock()
    vm = board(clock)
    vm.apply_payload(hall(call("A001", 1, 0)), retained=True)

    new = vm.apply_payload(hall(call("A001", 1, 0), call("A002", 2, 30)))
    assert [c.ticket for c in new] == ["A002"]
    assert banner(vm) == "请 A002 号 到 2号窗口 办理"
    assert lit(vm) == ["A002"]

    clock.t += 10
    assert vm.apply_payload(hall(call("A001", 1, 0), call("A002", 2, 30))) == []
    recalled = vm.apply_payload(hall(call("A001", 1, 0), call("A002", 2, 60, recall=True)))
    assert [(c.ticket, c.recall) for c in recalled] == [("A002", True)]
    assert banner(vm) == "请 A002 号 到 2号窗口 办理"


def test_a_board_started_before_the_first_call_of_the_day_announces_it() -> None:
    vm = board(FakeClock())
    assert [c.ticket for c in vm.apply_payload(hall(call("A001", 1, 0)))] == ["A001"]


def watch(vm: BoardViewModel, clock: FakeClock, seconds: float, seen: dict[str, float]) -> None:
    """Look at the board every 0.1 s for `seconds`; adds up how long each call is featured."""
    for _ in range(round(seconds / 0.1)):
        shown = vm.view().featured
        if shown is not None:
            seen[shown.ticket] = seen.get(shown.ticket, 0) + 0.1
            assert shown.ticket in lit(vm)  # a featured call's row is lit too
        clock.t += 0.1


def test_five_windows_calling_within_one_second_are_each_featured_long_enough_to_read() -> None:
    clock = FakeClock()
    vm = board(clock, highlight_s=4)
    vm.apply_payload(hall(call("A001", 1, -60)), retained=True)
    burst = [call(f"A{n + 10:03d}", n, 0.2 * n) for n in range(1, 6)]
    # The hub's publisher may batch a burst into fewer messages; here: one per call.
    announced: list[str] = []
    featured: dict[str, float] = {}
    for i in range(1, 6):
        announced += [c.ticket for c in vm.apply_payload(hall(call("A001", 1, -60), *burst[:i]))]
        if i == 5:  # all five rows light up as soon as they are called
            assert sorted(lit(vm)) == ["A011", "A012", "A013", "A014", "A015"]
        watch(vm, clock, 0.2, featured)
    assert announced == ["A011", "A012", "A013", "A014", "A015"]

    watch(vm, clock, 25, featured)
    # The banner shows them in calling order, each for its whole turn.
    assert list(featured) == ["A011", "A012", "A013", "A014", "A015"]
    for ticket, seconds in featured.items():
        assert seconds >= 3.9, f"{ticket} featured only {seconds:.1f} s"
    assert lit(vm) == []
    assert vm.view().featured is None


def test_the_fifth_call_of_a_burst_stays_highlighted_until_its_turn_is_over() -> None:
    clock = FakeClock()
    vm = board(clock, highlight_s=4)
    vm.apply_payload(hall(*[call(f"A{n:03d}", n, 0.1 * n) for n in range(1, 6)]))
    clock.t += 16.5  # four turns done: the fifth is on the banner
    assert lit(vm) == ["A005"]
    assert banner(vm) == "请 A005 号 到 5号窗口 办理"
    clock.t += 3.6
    assert lit(vm) == []


def test_an_area_board_shows_and_announces_only_its_area() -> None:
    clock = FakeClock()
    vm = board(clock, board="area", area="budongchan", title="不动产登记区")
    new = vm.apply_payload(
        hall(call("A001", 1, 0), call("F001", 9, 1, area="budongchan", service="不动产登记"))
    )
    assert [c.ticket for c in new] == ["F001"]
    view = vm.view()
    assert view.title == "不动产登记区"
    assert [r.ticket for r in view.calls] == ["F001"]
    assert "A001" not in view.texts()


def test_calls_of_a_silent_area_are_shown_and_marked_not_to_be_spoken() -> None:
    vm = board(FakeClock())
    (new,) = vm.apply_payload(hall(call("C001", 4, 0, voice=False)))
    assert new.voice is False
    assert [r.ticket for r in vm.view().calls] == ["C001"]


def test_a_window_display_shows_its_window_and_its_ticket() -> None:
    clock = FakeClock()
    vm = board(clock, board="window", window=5)
    vm.apply_payload(HallWindow(window=5, name="5号窗口（不动产）", status=WindowPhase.OPEN))
    assert vm.view().window is not None
    assert vm.view().window.state == "等候叫号"  # type: ignore[union-attr]

    vm.apply_payload(hall(call("A001", 1, 0), call("A012", 5, 1)))
    vm.apply_payload(
        HallWindow(window=5, name="5号窗口（不动产）", status=WindowPhase.OPEN, ticket="A012",
                   ticket_state="called", called_at=T0)
    )  # fmt: skip
    panel = vm.view().window
    assert panel is not None
    assert (panel.name, panel.ticket, panel.state) == (
        "5号窗口（不动产）",
        "A012",
        "请到本窗口办理",
    )
    assert panel.highlighted
    assert vm.serial_lines() == ["5号窗口（不动产）", "A012 请到本窗口办理"]

    vm.apply_payload(HallWindow(window=5, name="5号窗口（不动产）", status=WindowPhase.CLOSED))
    assert vm.view().window.state == "暂停服务"  # type: ignore[union-attr]


def test_waits_are_listed_per_service_with_the_estimate_in_minutes() -> None:
    vm = board(FakeClock(), services=["realestate", "general"])
    for code, name, prefix, waiting, windows, minutes in (
        ("general", "综合受理", "A", 12, 3, 18),
        ("realestate", "不动产登记", "F", 0, 1, 0),
        ("tax", "税务", "T", 4, 1, 9),
    ):
        vm.apply_payload(HallQueue(service=code, name=name, prefix=prefix, waiting=waiting,
                                   open_windows=windows, estimated_wait_min=minutes))  # fmt: skip
    waits = vm.view().waits
    assert [(w.service, w.waiting, w.wait) for w in waits] == [
        ("不动产登记", 0, "无需等候"),
        ("综合受理", 12, "约 18 分钟"),
    ]


def test_the_serial_led_board_gets_the_newest_calls() -> None:
    vm = board(FakeClock(), serial_lines=2)
    vm.apply_payload(hall(call("A001", 1, 0), call("A002", 2, 1), call("A003", 3, 2)))
    assert vm.serial_lines() == ["A003 请到 3号窗口", "A002 请到 2号窗口"]


def test_notices_scroll_as_one_line_and_the_clock_shows_hall_time() -> None:
    vm = board(FakeClock(), notices=["请保管好随身物品", " 办事请带齐材料 "])
    view = vm.view()
    assert view.notices == "请保管好随身物品　　办事请带齐材料"
    assert (view.clock, view.date) == ("10:00", "12月1日 星期二")


@pytest.mark.parametrize(
    "bad", [{"board": "area"}, {"board": "window"}, {"highlight_s": 0}, {"board": "wall"}]
)
def test_a_bad_board_setting_keeps_the_last_good_ones(bad: dict[str, object]) -> None:
    good = BoardSettings(board=BoardKind.AREA, area="zonghe")
    assert BoardSettings.from_config(bad, fallback=good) == good
