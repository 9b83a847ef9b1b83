"""SMS to citizens who left a phone number: queued with the transition,
sent exactly once, retried when the gateway fails, phone never in clear."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from central.queueing.models import Notification, Priority, Ticket, TicketContact
from central.queueing.notify import (
    ContactCipher,
    NotificationQueuer,
    NotificationWorker,
    store_contact,
)
from central.queueing.sms import IDEMPOTENCY_HEADER, FileGateway, GatewayError, HttpGateway
from tests.queueing.hall import Hall

PHONE = "13812341234"


@pytest.fixture
def cipher() -> ContactCipher:
    return ContactCipher(Fernet.generate_key())


@pytest.fixture
def sms_hall(hall: Hall) -> Hall:
    hall.bus.on_transition(NotificationQueuer())
    hall.service("general", "A", "综合受理", notify_ahead=2)
    hall.window(5, {"general": 1.0})
    hall.login(5, hall.clerk("wangfang", ["general"]))
    return hall


def _with_phone(hall: Hall, cipher: ContactCipher, phone: str = PHONE) -> Ticket:
    ticket = hall.issue("general")

    def keep(s: Any) -> None:
        store_contact(s, ticket=s.get(Ticket, ticket.id), phone=phone, cipher=cipher)

    hall.db(keep)
    return ticket


def _notifications(hall: Hall) -> list[Notification]:
    return hall.db(lambda s: list(s.scalars(select(Notification).order_by(Notification.id))))


def _worker(hall: Hall, gateway: Any, cipher: ContactCipher, **kw: Any) -> NotificationWorker:
    return NotificationWorker(sessions=hall.sessions, gateway=gateway, cipher=cipher, **kw)


def test_phone_is_stored_encrypted_and_shown_only_masked(
    sms_hall: Hall, cipher: ContactCipher
) -> None:
    ticket = _with_phone(sms_hall, cipher, "+86 138-1234-1234")
    contact = sms_hall.db(lambda s: s.get(TicketContact, ticket.id))
    assert contact is not None
    assert contact.phone_masked == "138****1234"
    assert PHONE not in contact.phone_encrypted
    assert cipher.decrypt(contact.phone_encrypted) == PHONE


def test_called_citizen_gets_the_window_by_sms_exactly_once(
    sms_hall: Hall, cipher: ContactCipher, tmp_path: Path
) -> None:
    ticket = _with_phone(sms_hall, cipher)  # first in line: "near" at once
    gateway = FileGateway(tmp_path / "sms-outbox.jsonl")
    worker = _worker(sms_hall, gateway, cipher)
    worker.run_once(sms_hall.now)
    sms_hall.next(5)

    worker.run_once(sms_hall.now)
    worker.run_once(sms_hall.now)  # a second run finds nothing due
    threads = [threading.Thread(target=worker.run_once, args=(sms_hall.now,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    sent = gateway.sent()
    assert [m["body"] for m in sent] == [
        f"【安心政务大厅】您的{ticket.number}号即将叫号，请到大厅等候。",
        f"【安心政务大厅】请{ticket.number}号到5号窗口办理。",
    ]
    assert len({m["key"] for m in sent}) == 2
    assert {m["to"] for m in sent} == {PHONE}
    assert {n.state for n in _notifications(sms_hall)} == {"sent"}


def test_ticket_coming_near_the_front_gets_one_near_message(
    sms_hall: Hall, cipher: ContactCipher
) -> None:
    for _ in range(3):
        sms_hall.issue("general")
    mine = _with_phone(sms_hall, cipher)  # 3 ahead, notify_ahead is 2
    assert _notifications(sms_hall) == []

    sms_hall.next(5)  # 2 ahead now
    sms_hall.start(5)
    sms_hall.finish(5)
    sms_hall.next(5)  # 1 ahead: no second near message

    near = [n for n in _notifications(sms_hall) if n.key == f"{mine.id}:near"]
    assert len(near) == 1
    assert near[0].body == f"【安心政务大厅】您的{mine.number}号前面还有2位，请到大厅等候。"


def test_the_front_follows_the_calling_order_green_channel_first(
    sms_hall: Hall, cipher: ContactCipher
) -> None:
    """Tickets of a higher class are called first, so they are at the front
    whenever they were issued, and count as ahead of earlier normal tickets."""
    first = sms_hall.issue("general")  # normal, first in its class
    for _ in range(3):
        sms_hall.issue("general")
    sms_hall.issue("general", priority=Priority.GREEN, priority_reason="elderly")
    elderly = sms_hall.issue("general", priority=Priority.GREEN, priority_reason="elderly")

    def keep_phones(s: Any) -> None:
        for ticket, phone in ((first, PHONE), (elderly, "13900001111")):
            store_contact(s, ticket=s.get(Ticket, ticket.id), phone=phone, cipher=cipher)

    sms_hall.db(keep_phones)

    # The front (notify_ahead 2): the other green ticket, `elderly`, `first`.
    bodies = {n.ticket_id: n.body for n in _notifications(sms_hall)}
    assert bodies == {
        elderly.id: f"【安心政务大厅】您的{elderly.number}号前面还有1位，请到大厅等候。",
        first.id: f"【安心政务大厅】您的{first.number}号前面还有2位，请到大厅等候。",
    }


def test_a_transferred_ticket_near_the_front_of_its_new_queue_gets_a_near_message(
    sms_hall: Hall, cipher: ContactCipher
) -> None:
    """The continuation ticket has no phone of its own: the number comes with
    the ticket it was transferred from, and the new queue's "near" is queued."""
    sms_hall.service("tax", "T", "税务", notify_ahead=2)
    sms_hall.window(7, {"tax": 1.0})
    sms_hall.login(7, sms_hall.clerk("lina", ["tax"]))
    mine = _with_phone(sms_hall, cipher)
    sms_hall.next(5)
    sms_hall.start(5)
    for _ in range(4):  # issued later than `mine`, so behind it in the tax queue
        sms_hall.issue("tax")
    out = sms_hall.verb("transfer", 5, to_service="tax", reason="additional_service",
                        return_after=False)  # fmt: skip
    moved = out.follow_up
    assert moved is not None
    assert moved.transferred_from_id == mine.id

    near = [n for n in _notifications(sms_hall) if n.key == f"{moved.id}:near"]
    body = f"【安心政务大厅】您的{moved.number}号即将叫号，请到大厅等候。"
    assert [n.body for n in near] == [body]


def test_a_service_that_sends_no_near_messages_still_texts_the_call(
    hall: Hall, cipher: ContactCipher
) -> None:
    hall.bus.on_transition(NotificationQueuer())
    hall.service("general", "A", "综合受理", notify_ahead=0)
    hall.window(5, {"general": 1.0})
    hall.login(5, hall.clerk("wangfang", ["general"]))
    mine = _with_phone(hall, cipher)  # first in line, but "near" is off
    hall.issue("general")
    assert _notifications(hall) == []

    hall.next(5)
    assert [n.key for n in _notifications(hall)] == [f"{mine.id}:called:0"]


def test_issuing_without_a_phone_queues_no_message(sms_hall: Hall, cipher: ContactCipher) -> None:
    for _ in range(3):
        sms_hall.issue("general")
    assert _notifications(sms_hall) == []


def test_recall_is_a_new_message_and_the_same_call_is_not(
    sms_hall: Hall, cipher: ContactCipher
) -> None:
    ticket = _with_phone(sms_hall, cipher)
    sms_hall.next(5)
    sms_hall.tick(60)
    sms_hall.verb("recall", 5)
    keys = [n.key for n in _notifications(sms_hall)]
    assert f"{ticket.id}:called:0" in keys
    assert f"{ticket.id}:called:1" in keys


class FlakyGateway:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[str] = []

    def send(self, to: str, body: str, key: str) -> None:
        self.calls.append(key)
        if len(self.calls) <= self.failures:
            raise GatewayError("短信平台繁忙")


def test_failing_gateway_is_retried_with_backoff_then_marked_failed(
    sms_hall: Hall, cipher: ContactCipher
) -> None:
    _with_phone(sms_hall, cipher)
    gateway = FlakyGateway(failures=100)
    worker = _worker(sms_hall, gateway, cipher, max_attempts=3, retry_base_s=10)
    now = sms_hall.now
    worker.run_once(now)
    [row] = _notifications(sms_hall)
    assert (row.state, row.attempts, row.last_error) == ("pending", 1, "短信平台繁忙")
    assert row.next_attempt_at == now + dt.timedelta(seconds=10)

    worker.run_once(now + dt.timedelta(seconds=5))  # not due yet
    assert len(gateway.calls) == 1
    worker.run_once(now + dt.timedelta(seconds=11))
    [row] = _notifications(sms_hall)
    assert row.next_attempt_at == now + dt.timedelta(seconds=11 + 20)
    worker.run_once(now + dt.timedelta(seconds=40))
    [row] = _notifications(sms_hall)
    assert (row.state, row.attempts) == ("failed", 3)
    worker.run_once(now + dt.timedelta(hours=1))
    assert len(gateway.calls) == 3


def test_gateway_that_recovers_sends_once(sms_hall: Hall, cipher: ContactCipher) -> None:
    _with_phone(sms_hall, cipher)
    gateway = FlakyGateway(failures=1)
    worker = _worker(sms_hall, gateway, cipher, retry_base_s=1)
    worker.run_once(sms_hall.now)
    worker.run_once(sms_hall.now + dt.timedelta(seconds=2))
    worker.run_once(sms_hall.now + dt.timedelta(seconds=600))
    assert len(gateway.calls) == 2
    assert [n.state for n in _notifications(sms_hall)] == ["sent"]


def test_crash_between_send_and_mark_does_not_send_twice(
    sms_hall: Hall, cipher: ContactCipher, tmp_path: Path
) -> None:
    _with_phone(sms_hall, cipher)
    gateway = FileGateway(tmp_path / "sms-outbox.jsonl")

    class DiesAfterSending:
        def send(self, to: str, body: str, key: str) -> None:
            gateway.send(to, body, key)
            raise SystemExit("power cut")

    with pytest.raises(SystemExit):
        _worker(sms_hall, DiesAfterSending(), cipher).run_once(sms_hall.now)
    # After the lease, another hub process (its own gateway object) sends again with the key.
    again = FileGateway(tmp_path / "sms-outbox.jsonl")
    _worker(sms_hall, again, cipher).run_once(sms_hall.now + dt.timedelta(minutes=2))
    assert len(again.sent()) == 1
    assert [n.state for n in _notifications(sms_hall)] == ["sent"]


def test_near_message_for_a_ticket_already_called_is_not_sent_late(
    sms_hall: Hall, cipher: ContactCipher, tmp_path: Path
) -> None:
    ticket = _with_phone(sms_hall, cipher)
    sms_hall.next(5)
    gateway = FileGateway(tmp_path / "out.jsonl")
    _worker(sms_hall, gateway, cipher).run_once(sms_hall.now)
    assert [m["key"] for m in gateway.sent()] == [f"{ticket.id}:called:0"]
    states = {n.key: (n.state, n.last_error) for n in _notifications(sms_hall)}
    assert states[f"{ticket.id}:near"][0] == "failed"


# --- the HTTP gateway ---------------------------------------------------------------------


@pytest.fixture
def sms_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    keys: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers[IDEMPOTENCY_HEADER]
            if body.get("to") == "13900000000":
                self.send_response(503)
            elif key in keys:
                self.send_response(409)
            else:
                keys.add(key)
                received.append({"key": key, **body})
                self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sms", received
    finally:
        server.shutdown()
        server.server_close()


def test_http_gateway_posts_json_with_the_idempotency_key(
    sms_server: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = sms_server
    gateway = HttpGateway(url, timeout_s=5)
    gateway.send(PHONE, "【安心政务大厅】请A001号到5号窗口办理。", "7:called:0")
    gateway.send(PHONE, "【安心政务大厅】请A001号到5号窗口办理。", "7:called:0")  # 409: done
    assert received == [
        {"key": "7:called:0", "to": PHONE, "body": "【安心政务大厅】请A001号到5号窗口办理。"}
    ]
    with pytest.raises(GatewayError):
        gateway.send("13900000000", "x", "8:near")


def test_http_gateway_that_is_down_raises() -> None:
    with pytest.raises(GatewayError):
        HttpGateway("http://127.0.0.1:9/sms", timeout_s=1).send(PHONE, "x", "1:near")


def test_a_phone_given_at_the_kiosk_gets_the_call_by_sms(sms_hall: Hall) -> None:
    cipher = ContactCipher.from_settings(sms_hall.settings)
    ticket = sms_hall.issue("general", phone="138 1234 1234")
    sms_hall.next(5)
    bodies = [n.body for n in _notifications(sms_hall) if n.ticket_id == ticket.id]
    assert f"请{ticket.number}号到5号窗口办理。" in bodies[-1]
    contact = sms_hall.db(lambda s: s.get(TicketContact, ticket.id))
    assert contact is not None
    assert cipher.decrypt(contact.phone_encrypted) == PHONE


def test_a_number_sms_cannot_reach_is_refused_and_no_ticket_issued(sms_hall: Hall) -> None:
    from central.queueing.errors import QueueError

    with pytest.raises(QueueError, match="手机号码格式不正确"):
        sms_hall.issue("general", phone="029-8888-1234")
    assert sms_hall.db(lambda s: list(s.scalars(select(Ticket)))) == []
