"""Random touch sequences on the view-model (hypothesis): nothing crashes, no
screen shows a full ID, and every ticket issued is either printed or shown as
an e-ticket (never lost), whatever the printer, the hub and the clock do."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.contract import HallQueue
from kiosk_ui.viewmodels.kiosk import Screen
from kiosk_ui.viewmodels.views import TicketView
from printer.api import PrinterState
from tests.kiosk_ui.conftest import TZ, Kiosk, screen_of

OLD = "61010219500101002X"
YOUNG = "610102199001010036"
EVENTS = st.one_of(
    st.tuples(st.just("tap"), st.integers(0, 1000)),
    st.tuples(st.just("tap"), st.integers(0, 1000)),
    st.tuples(st.just("tap"), st.integers(0, 1000)),
    st.tuples(st.just("stale"), st.integers(0, 1000)),
    st.tuples(st.just("tick"), st.sampled_from([1, 5, 16, 46, 61, 91, 600])),
    st.tuples(st.just("printer"), st.sampled_from(list(PrinterState))),
    st.tuples(st.just("online"), st.booleans()),
    st.tuples(st.just("refuse"), st.booleans()),
    st.tuples(st.just("card"), st.sampled_from([OLD, YOUNG, "123", "61010219500101002Y"])),
    st.tuples(st.just("wall"), st.sampled_from([10, 17, 19, 8])),
    st.tuples(st.just("queue"), st.integers(0, 40)),
)


def secret_free(k: Kiosk) -> None:
    text = "\n".join(k.vm.view().texts())
    assert OLD not in text
    assert YOUNG not in text


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    events=st.lists(EVENTS, max_size=80),
    require_id=st.booleans(),
    elderly=st.booleans(),
)
def test_random_touch_sequences_never_crash(
    events: list[tuple[str, object]], require_id: bool, elderly: bool
) -> None:
    k = Kiosk(require_id=require_id, elderly_default=elderly)
    stale = list(k.vm.view().actions())
    for kind, value in events:
        issued_before = len(k.vm.issued)
        if kind == "tap":
            actions = [a for a in k.vm.view().actions() if a.enabled]
            if actions:
                stale = actions
                actions[int(str(value)) % len(actions)].run()
        elif kind == "stale" and stale:
            stale[int(str(value)) % len(stale)].run()
        elif kind == "tick":
            k.idle(float(str(value)), step=max(1.0, float(str(value)) / 10))
        elif kind == "printer":
            k.printer.printer_state = PrinterState(str(value))
        elif kind == "online":
            k.source.online_flag = bool(value)
        elif kind == "refuse":
            if value:
                k.source.refuse = {c: "今日号源已发完" for c in k.offer.services}
            else:
                k.source.refuse = {}
        elif kind == "card":
            k.vm.id_card_read(str(value))
        elif kind == "wall":
            hour = int(str(value))
            k.clock.wall = dt.datetime(2026, 11, 26, hour, 0, tzinfo=TZ)
            k.vm.tick()
        elif kind == "queue":
            k.vm.update_queue(
                HallQueue(
                    service="company_setup",
                    name="企业开办",
                    prefix="A",
                    waiting=int(str(value)),
                    open_windows=1,
                    estimated_wait_min=int(str(value)) * 3,
                )
            )
        secret_free(k)
        assert screen_of(k) != Screen.TAKING  # the spawn runs each take to its end
        if len(k.vm.issued) > issued_before:
            view = k.vm.view()
            assert isinstance(view, TicketView)
            assert view.number == k.vm.issued[-1].number
            assert view.eticket or k.printer.tickets[-1].number == view.number
    # never lost: every ticket was printed or shown as an e-ticket
    printed = [t.number for t in k.printer.tickets]
    shown = [t.number for t in k.vm.etickets]
    assert sorted(printed + shown) == sorted(t.number for t in k.vm.issued)
