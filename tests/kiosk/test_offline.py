"""Offline issuing: the kiosk loses the broker, keeps issuing from its blocks,
is killed with SIGKILL in the middle, and every ticket reaches the hub's queue
once, at its original time; the hub's own tickets meanwhile never reuse a
block number."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from anxin.ports import wait_for_port
from broker import local
from central.queueing import service
from central.queueing.models import (
    Channel,
    KioskBlock,
    Service,
    Ticket,
    TicketEvent,
    TicketState,
)
from edge.kinds.kiosk_control import call_control
from tests.conftest import RunningBroker, start_mosquitto
from tests.kiosk.support import (
    build_hall,
    desk,
    kiosk_env,
    kiosk_hub,
    kiosk_settings,
    service_codes,
    spawn_kiosk,
    tickets,
    wait_for,
)

pytestmark = pytest.mark.timeout(240)

OFFLINE_PER_RUN = 100


async def _status(data_dir: Path) -> dict[str, Any] | None:
    try:
        answer = await call_control(data_dir, {"op": "status"}, timeout_s=2)
    except (OSError, ValueError, TimeoutError):
        return None
    return answer if isinstance(answer, dict) else None


async def _take(data_dir: Path, service_code: str) -> dict[str, Any]:
    answer = await call_control(data_dir, {"op": "take", "service": service_code, "print": True})
    assert isinstance(answer, dict)
    return answer


async def test_offline_tickets_survive_a_kill_and_join_their_queues_once(
    database_url: str, tmp_path: Path
) -> None:
    workdir = tmp_path / "mosquitto"
    broker_proc, port = start_mosquitto(workdir)
    broker = RunningBroker("mosquitto", "127.0.0.1", port)
    kiosk_dir = tmp_path / "kiosk"
    data_dir = kiosk_dir / "devices" / "kiosk-01"
    env = kiosk_env(broker, kiosk_dir)
    procs: list[asyncio.subprocess.Process] = []
    settings = kiosk_settings(offline_block=120, replenish_s=0.3)
    try:
        async with kiosk_hub(
            database_url=database_url, tmp_path=tmp_path, broker=broker, kiosk=settings
        ) as hub:
            build_hall(hub)
            # Quick services: the offline closing-time rule (test_offline_closing.py)
            # would rightly stop 50 tickets of 10 minutes each at one window.
            with hub.state.sessions() as s:
                s.execute(update(Service).values(avg_handling_s=120))
                s.commit()
            procs.append(await spawn_kiosk(env, "kiosk-01"))

            async def supplied() -> bool:
                s = await _status(data_dir)
                return bool(
                    s and s["online"] and s["today"]
                    and min(s["unused"].get("general", 0), s["unused"].get("social", 0)) >= 120
                )  # fmt: skip

            await wait_for(supplied, within=30, what="kiosk online with its blocks")
            online_before = [await _take(data_dir, "general") for _ in range(3)]
            assert all(a["ok"] and not a["ticket"]["offline"] for a in online_before)

            # Cut: the broker goes away; the hub runs on and issues at its windows.
            broker_proc.terminate()
            broker_proc.wait(10)
            await wait_for(
                lambda: _offline(data_dir), within=10, what="the kiosk notices it is cut off"
            )
            taken: list[dict[str, Any]] = []
            hub_issued: list[Ticket] = []

            async def hub_issue(code: str) -> None:
                def issue() -> Ticket:
                    with hub.state.sessions() as s:
                        return service.issue(
                            s, service=code, channel=Channel.WINDOW, bus=hub.state.queue_bus,
                            settings=hub.settings, now=hub.state.clock.now(),
                        )  # fmt: skip

                hub_issued.append(await asyncio.to_thread(issue))

            async def issue_offline(count: int) -> None:
                for i in range(count):
                    code = "general" if i % 2 == 0 else "social"
                    answer = await _take(data_dir, code)
                    assert answer["ok"], answer
                    assert answer["ticket"]["offline"]
                    taken.append(answer["ticket"])
                    if i % 10 == 5:
                        await hub_issue(code)

            await issue_offline(OFFLINE_PER_RUN)
            # SIGKILL in the middle of a tap: no clean stop, no flush.
            in_flight = asyncio.create_task(_take(data_dir, "general"))
            await asyncio.sleep(0.003)
            procs[-1].send_signal(signal.SIGKILL)
            await procs[-1].wait()
            late: dict[str, Any] | None = None
            with contextlib.suppress(Exception):
                late = await in_flight
            if late is not None and late.get("ok"):
                taken.append(late["ticket"])

            procs.append(await spawn_kiosk(env, "kiosk-01"))
            await wait_for(lambda: _status(data_dir), within=20, what="the kiosk restarted")
            await issue_offline(OFFLINE_PER_RUN)
            assert len({(t["service"], t["number"]) for t in taken}) == len(taken)

            # Back: the broker returns; the outbox drains into the hub's queues.
            broker_proc = local.run_mosquitto_config(workdir / "mosquitto.conf")
            assert wait_for_port("127.0.0.1", port, 10)
            wanted = {(t["service"], t["number"]) for t in taken}
            codes = service_codes(hub)

            def arrived() -> bool:
                have = {
                    (codes[t.service_id], t.number)
                    for t in tickets(hub)
                    if t.channel == Channel.OFFLINE_BLOCK.value
                }
                return wanted <= have

            await wait_for(arrived, within=90, what="every offline ticket at the hub")
            await wait_for(lambda: _outbox_empty(data_dir), within=20, what="the outbox drained")
            await desk(hub).idle()

            rows = tickets(hub)
            offline = [t for t in rows if t.channel == Channel.OFFLINE_BLOCK.value]
            by_key = {(codes[t.service_id], t.number): t for t in offline}
            # Once each (no duplicate number in a day), and nothing invented.
            keys = [(t.service_id, t.day, t.seq) for t in rows]
            assert len(keys) == len(set(keys))
            journal_keys = _journal_keys(data_dir)
            assert set(by_key) <= journal_keys, "the hub has only tickets the kiosk issued"
            assert wanted <= set(by_key)
            for t in taken:
                row = by_key[(t["service"], t["number"])]
                issued = dt.datetime.fromisoformat(t["issued_at"])
                assert row.issued_at == issued, "its original issue time"
                assert row.queued_at == issued, "it joins its queue where it was taken"
                assert row.state == TicketState.WAITING.value
                assert t["citizen_url"].endswith(f"/t/{row.token}")
            with hub.state.sessions() as s:
                first_events = {
                    e.ticket_id: e
                    for e in s.scalars(select(TicketEvent).order_by(TicketEvent.id.desc()))
                }
                blocks = s.scalars(select(KioskBlock)).all()
            assert all(first_events[r.id].at == r.issued_at for r in offline)
            reserved = {
                (b.service_id, b.day, n) for b in blocks for n in range(b.first_seq, b.last_seq + 1)
            }
            assert hub_issued
            for h in hub_issued:
                assert (h.service_id, h.day, h.seq) not in reserved, f"{h.number} is a block number"
            assert not {h.number for h in hub_issued} & {t.number for t in offline}

            # The queue order of a service follows the issue times.
            general = [t for t in rows if codes[t.service_id] == "general"]
            assert [t.id for t in sorted(general, key=lambda t: (t.queued_at, t.id))] == [
                t.id for t in sorted(general, key=lambda t: t.queued_at)
            ]
            # The kiosk is online again: the hub answers, here with its closing-time
            # rule, since 100 people now wait for 社保 at one window.
            await wait_for(lambda: _online(data_dir), within=30, what="the kiosk back online")
            again = await _take(data_dir, "social")
            assert again == {"ok": False, "reason": "今日该业务已停止取号：预计等候将超过下班时间"}
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 10)
                if proc.returncode is None:
                    proc.kill()
        broker_proc.terminate()
        broker_proc.wait(10)


async def _offline(data_dir: Path) -> bool:
    s = await _status(data_dir)
    return bool(s) and not s["online"]  # type: ignore[index]


async def _online(data_dir: Path) -> bool:
    s = await _status(data_dir)
    return bool(s) and bool(s["online"])  # type: ignore[index]


def _journal_keys(data_dir: Path) -> set[tuple[str, str]]:
    from edge.kinds.kiosk_journal import KioskJournal

    journal = KioskJournal(data_dir / "kiosk.sqlite3", hold_open=False)
    try:
        return {(t.service, t.number) for t in journal.tickets()}
    finally:
        journal.close()


def _outbox_empty(data_dir: Path) -> bool:
    from edge.durable import DurableDb
    from edge.outbox import Outbox

    return Outbox(DurableDb(data_dir / "device.sqlite3", hold_open=False), boot_id="x").depth() == 0
