"""A made-up hall for the board's demo and screenshots: services with waits,
windows, calls from earlier in the morning and a burst of five new calls."""

from __future__ import annotations

import datetime as dt
from typing import Final

from broker.contract import BoardCall, HallCalls, HallQueue, HallWindow, Payload, WindowPhase

HALL_NAME: Final = "安心政务服务大厅"
MORNING: Final = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Xi'an
NOTICES: Final = (
    "欢迎来到安心政务服务大厅，请按叫号顺序到对应窗口办理业务",
    "过号的群众请到原窗口告知工作人员重新排队",
    "本大厅实行“一窗受理”，办事材料请提前在自助终端查询",
)
# (code, name, prefix, area, waiting, open windows, minutes)
SERVICES: Final = (
    ("general", "综合受理", "A", "zonghe", 23, 6, 18),
    ("business", "企业开办", "B", "zonghe", 7, 2, 12),
    ("social", "社保医保", "C", "zonghe", 11, 3, 15),
    ("id_card", "居民身份证", "D", "zonghe", 0, 1, 0),
    ("realestate", "不动产登记", "F", "budongchan", 9, 2, 25),
    ("tax", "税务办理", "T", "budongchan", 4, 0, None),
)
AREA_OF: Final = {prefix: area for _c, _n, prefix, area, *_rest in SERVICES}
NAME_OF: Final = {prefix: name for _c, name, prefix, *_rest in SERVICES}


def board_call(ticket: str, window: int, at: dt.datetime, *, recall: bool = False) -> BoardCall:
    area = AREA_OF[ticket[0]]
    return BoardCall(
        ticket=ticket,
        window=window,
        window_name=f"{window}号窗口",
        service=NAME_OF[ticket[0]],
        called_at=at,
        recall=recall,
        area=area,
        voice=True,
    )


EARLIER: Final = tuple(
    board_call(t, w, MORNING - dt.timedelta(minutes=m))
    for t, w, m in (
        ("A031", 2, 2), ("F008", 11, 3), ("C012", 6, 4), ("B006", 4, 5), ("A030", 1, 6),
        ("F007", 12, 7), ("D003", 8, 9),
    )
)  # fmt: skip
BURST: Final = tuple(
    board_call(t, w, MORNING + dt.timedelta(seconds=0.2 * i))
    for i, (t, w) in enumerate((("A032", 1), ("B007", 4), ("C013", 6), ("F009", 11), ("A033", 3)))
)


def calls(*extra: BoardCall) -> HallCalls:
    both = sorted((*EARLIER, *extra), key=lambda c: c.called_at, reverse=True)
    return HallCalls(calls=tuple(both))


def queues() -> list[HallQueue]:
    return [
        HallQueue(
            service=code,
            name=name,
            prefix=prefix,
            waiting=waiting,
            open_windows=windows,
            estimated_wait_min=minutes,
        )
        for code, name, prefix, _area, waiting, windows, minutes in SERVICES
    ]


def windows() -> list[HallWindow]:
    out = [
        HallWindow(
            window=5,
            name="5号窗口 · 综合受理",
            status=WindowPhase.OPEN,
            ticket="A029",
            ticket_state="serving",
            service="综合受理",
            called_at=MORNING,
        )
    ]
    out.append(HallWindow(window=9, name="9号窗口", status=WindowPhase.PAUSED))
    return out


def window_called(window: int, ticket: str) -> HallWindow:
    return HallWindow(
        window=window,
        name=f"{window}号窗口",
        status=WindowPhase.OPEN,
        ticket=ticket,
        ticket_state="called",
        service=NAME_OF[ticket[0]],
        called_at=MORNING,
    )


def retained_state() -> list[Payload]:
    """What a board finds on the broker when it starts: the morning so far."""
    return [calls(), *queues(), *windows()]
