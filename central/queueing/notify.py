"""The notification outbox: SMS to citizens who left a phone number.

Queued in the verb's transaction (an in-transaction listener on the queue
bus), so a message exists exactly when its transition committed:

- ``{ticket}:near``: the ticket came within ``Service.notify_ahead`` of the
  front (【安心政务大厅】您的A012号前面还有3位，请到大厅等候。);
- ``{ticket}:called:{recalls}``: it was called or recalled
  (【安心政务大厅】请A012号到5号窗口办理。).

The key is unique, so a second insert of the same message is a no-op
(``ON CONFLICT DO NOTHING``: two windows moving one queue at the same moment
never fail each other's transaction over it).

Sending (`NotificationWorker`): a row is claimed by a compare-and-set update
that bumps ``attempts`` and pushes ``next_attempt_at`` one lease ahead; only
the worker whose update matched sends. It then marks the row sent, or
schedules a retry with exponential backoff, and after ``max_attempts`` marks
it failed. If the process dies between the gateway accepting and the mark,
the lease runs out and the row is sent again *with the same key*, which the
gateway drops (see `central.queueing.sms`): never twice in effect. A message
older than ``max_age_s``, or a "near" message whose ticket is no longer
waiting, is failed instead of sent late.

The phone number lives encrypted in ``ticket_contacts`` (Fernet, key from
``notify.contact_key`` or derived from the hub secret); notification rows
copy the ciphertext, and only the worker decrypts, right before sending.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
from typing import Final

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import and_, bindparam, case, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from anxin.settings import Settings
from broker.contract import utcnow
from central.direct import Direct
from central.queueing.estimator import PRIORITY_RANK
from central.queueing.events import NOTIFIED
from central.queueing.models import (
    Notification,
    NotificationState,
    Service,
    Ticket,
    TicketContact,
    TicketEvent,
    TicketState,
    Window,
)
from central.queueing.privacy import is_mobile, mask_phone, normalize_phone
from central.queueing.sms import FileGateway, HttpGateway, SmsGateway

log = logging.getLogger(__name__)

LEASE_S: Final = 60.0
"""A claimed row is not claimed again for this long; longer than any gateway timeout."""
MAX_TRANSFER_HOPS: Final = 10
DEFAULT_SIGNATURE: Final = "安心政务大厅"


class ContactCipher:
    """Encrypts phone numbers at rest (Fernet: AES-128-CBC + HMAC-SHA256)."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> ContactCipher:
        key = settings.notify.contact_key
        if key is not None:
            return cls(key.get_secret_value().encode())
        # Derived, so a hall without its own contact key still never stores clear text.
        secret = settings.hub.secret_key.get_secret_value().encode()
        digest = hmac.new(secret, b"anxin-contact-key", hashlib.sha256).digest()
        return cls(base64.urlsafe_b64encode(digest))

    def encrypt(self, phone: str) -> str:
        return self._fernet.encrypt(phone.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("contact cannot be decrypted with this key") from None


# --- contacts ------------------------------------------------------------------------


def store_contact(
    session: Session,
    *,
    ticket: Ticket,
    phone: str,
    cipher: ContactCipher,
    signature: str = DEFAULT_SIGNATURE,
) -> None:
    """Keep a mobile number for SMS about `ticket` (call inside the issue transaction).

    Raises ValueError for a number SMS cannot reach. If the ticket is already
    near the front, its "near" message is queued at once.
    """
    if not is_mobile(phone):
        raise ValueError("手机号码格式不正确（11位手机号）")
    number = normalize_phone(phone)
    session.merge(
        TicketContact(
            ticket_id=ticket.id,
            phone_encrypted=cipher.encrypt(number),
            phone_masked=mask_phone(number),
            created_at=utcnow(),
        )
    )
    session.flush()
    # The issue transition ran before the contact existed: catch up on "near".
    if ticket.state == TicketState.WAITING.value:
        NotificationQueuer(signature=signature).queue_near(
            session, service_id=ticket.service_id, day=ticket.day, now=ticket.issued_at
        )


def phone_of(session: Session, ticket_id: int | None) -> str | None:
    """The stored (encrypted) phone of a ticket or of the ticket it was transferred from.

    Plain reads on the verb's connection (the listeners run after the verb's
    flush): this runs for every ticket called."""
    db = session.connection()
    for _ in range(MAX_TRANSFER_HOPS):
        if ticket_id is None:
            return None
        rows = _PHONE_OF.rows(db, {"ticket": ticket_id})
        if not rows:
            return None
        phone, ticket_id = rows[0]
        if phone is not None:
            return str(phone)
    return None


# A ticket's phone and the ticket it was transferred from (to look there next).
_PHONE_OF = Direct(
    select(TicketContact.phone_encrypted, Ticket.transferred_from_id)
    .select_from(Ticket)
    .outerjoin(TicketContact, TicketContact.ticket_id == Ticket.id)
    .where(Ticket.id == bindparam("ticket"))
)


# --- queueing (in the verb's transaction) ---------------------------------------------


class NotificationQueuer:
    """In-transaction listener of the queue bus: ``bus.on_transition(queuer)``."""

    def __init__(self, *, signature: str = DEFAULT_SIGNATURE) -> None:
        self.signature = signature

    def __call__(self, session: Session, ticket: Ticket, event: TicketEvent) -> None:
        if event.to_state == TicketState.CALLED.value:
            self._called(session, ticket, event)
        if TicketState.WAITING.value not in (event.from_state, event.to_state):
            return
        if event.from_state is None and (
            ticket.transferred_from_id is None or phone_of(session, ticket.id) is None
        ):
            # A new ticket joins at or behind the others' places (a priority
            # or a transfer's kept time goes ahead of some, pushing them
            # back): only the new ticket itself can have come near the front.
            # A phone given at issue is stored by `store_contact`, which
            # queues the ticket's "near" itself; a transfer's new ticket
            # carries the phone of the one it left. Otherwise there is no one
            # to text, and every plain issue skips these queries.
            return
        self.queue_near(session, service_id=ticket.service_id, day=ticket.day, now=event.at)

    def _called(self, session: Session, ticket: Ticket, event: TicketEvent) -> None:
        phone = phone_of(session, ticket.id)
        if phone is None:  # most tickets: no phone, and no window to look up
            return
        window_id = event.window_id or ticket.window_id
        window = session.get(Window, window_id) if window_id is not None else None
        if window is None:
            return
        body = f"【{self.signature}】请{ticket.number}号到{window.number}号窗口办理。"
        key = f"{ticket.id}:called:{ticket.recalls}"
        _insert(session, key=key, ticket_id=ticket.id, phone=phone, body=body, now=event.at)

    def queue_near(
        self, session: Session, *, service_id: int, day: dt.date, now: dt.datetime
    ) -> None:
        """Queue "near" for tickets within the service's notify_ahead of the front."""
        # The front (as long as the service's notify_ahead says, none when it
        # is 0) with its contacts in one query: this runs inside every
        # call-next transaction.
        front = _FRONT.rows(session.connection(), {"service": service_id, "day": day})
        for ahead, (tid, number, transferred_from, phone) in enumerate(front):
            if phone is None and transferred_from is not None:
                phone = phone_of(session, transferred_from)  # the ticket it left
            if phone is None:
                continue
            where = f"前面还有{ahead}位" if ahead else "即将叫号"
            body = f"【{self.signature}】您的{number}号{where}，请到大厅等候。"
            _insert(session, key=f"{tid}:near", ticket_id=tid, phone=phone, body=body, now=now)


# Statements built once: `queue_near` runs inside every call-next transaction.
# The front's length: the ticket about to be called and notify_ahead behind it.
_FRONT_LENGTH = (
    select(case((Service.notify_ahead > 0, Service.notify_ahead + 1), else_=0))
    .where(Service.id == bindparam("service"))
    .scalar_subquery()
)
# The front of each priority class, read in the order of the queue index
# (service, day, state, priority, queued_at, id): a few index entries each,
# where sorting every waiting ticket of the service cost more than the rest
# of the listener once a queue was a few hundred long.
_FRONT_OF_CLASS = [
    select(Ticket.id)
    .where(
        Ticket.service_id == bindparam("service"),
        Ticket.day == bindparam("day"),
        Ticket.state == TicketState.WAITING.value,
        Ticket.priority == priority,
    )
    .order_by(Ticket.queued_at, Ticket.id)
    .limit(_FRONT_LENGTH)
    for priority in PRIORITY_RANK
]
_FRONT_SUBQUERIES = [front.subquery() for front in _FRONT_OF_CLASS]
_FRONT = Direct(
    select(Ticket.id, Ticket.number, Ticket.transferred_from_id, TicketContact.phone_encrypted)
    .outerjoin(TicketContact, TicketContact.ticket_id == Ticket.id)
    # One IN over the fronts' union: an OR of one IN per class made
    # PostgreSQL read the whole table (a filter with hashed sub-plans).
    .where(Ticket.id.in_(union_all(*(select(f.c.id) for f in _FRONT_SUBQUERIES))))
    .order_by(
        case(PRIORITY_RANK, value=Ticket.priority, else_=len(PRIORITY_RANK)),
        Ticket.queued_at,
        Ticket.id,
    )
    .limit(_FRONT_LENGTH)
)


def _insert(
    session: Session,
    *,
    key: str,
    ticket_id: int,
    phone: str,
    body: str,
    now: dt.datetime,
) -> None:
    values = {
        "key": key, "ticket_id": ticket_id, "channel": "sms",
        "recipient": phone, "body": body,
        "state": NotificationState.PENDING.value, "attempts": 0,
        "next_attempt_at": now, "created_at": now,
    }  # fmt: skip
    session.info[NOTIFIED] = True  # the verb's QueueChange says so: the worker is woken
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg = postgresql.insert(Notification).values(values)
        session.execute(pg.on_conflict_do_nothing(index_elements=["key"]))
    elif dialect == "sqlite":
        lite = sqlite.insert(Notification).values(values)
        session.execute(lite.on_conflict_do_nothing(index_elements=["key"]))
    else:  # pragma: no cover - the hub runs on SQLite or PostgreSQL
        if session.scalar(select(Notification.id).where(Notification.key == key)) is None:
            session.add(Notification(**values))


# --- sending ----------------------------------------------------------------------------


def gateway_from_settings(settings: Settings) -> SmsGateway | None:
    n = settings.notify
    if n.gateway == "file":
        return FileGateway(settings.data_dir / "sms-outbox.jsonl")
    if n.gateway == "http":
        if not n.http_url:
            raise ValueError("notify.http_url is required for the http gateway")
        token = n.http_token.get_secret_value() if n.http_token else None
        return HttpGateway(n.http_url, token=token)
    return None


class NotificationWorker:
    """Sends due notifications through a gateway; safe to run in several copies."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        gateway: SmsGateway,
        cipher: ContactCipher,
        max_attempts: int = 5,
        retry_base_s: float = 5.0,
        max_age_s: float = 1800.0,
        poll_s: float = 1.0,
        batch: int = 50,
    ) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._cipher = cipher
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.max_age_s = max_age_s
        self.poll_s = poll_s
        self.batch = batch
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @classmethod
    def from_settings(
        cls, settings: Settings, sessions: sessionmaker[Session]
    ) -> NotificationWorker | None:
        gateway = gateway_from_settings(settings)
        if gateway is None:
            return None
        n = settings.notify
        return cls(
            sessions=sessions, gateway=gateway, cipher=ContactCipher.from_settings(settings),
            max_attempts=n.max_attempts, retry_base_s=n.retry_base_s, max_age_s=n.max_age_s,
        )  # fmt: skip

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="sms-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def poke(self) -> None:
        """Send soon (from the loop's thread), without waiting for the next poll."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:
                log.exception("notification worker round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()

    def run_once(self, now: dt.datetime | None = None) -> int:
        """Send what is due; returns how many were sent. Blocking (a worker thread)."""
        now = now or utcnow()
        with self._sessions() as session:
            due = session.execute(
                select(Notification.id, Notification.attempts)
                .where(
                    Notification.state == NotificationState.PENDING.value,
                    Notification.next_attempt_at <= now,
                )
                .order_by(Notification.next_attempt_at, Notification.id)
                .limit(self.batch)
            ).all()
        sent = 0
        for notification_id, attempts in due:
            sent += self._deliver(notification_id, attempts, now)
        return sent

    def _deliver(self, notification_id: int, attempts: int, now: dt.datetime) -> int:
        with self._sessions() as session:
            claimed = session.execute(
                update(Notification)
                .where(
                    and_(
                        Notification.id == notification_id,
                        Notification.attempts == attempts,
                        Notification.state == NotificationState.PENDING.value,
                        Notification.next_attempt_at <= now,
                    )
                )
                .values(attempts=attempts + 1, next_attempt_at=now + dt.timedelta(seconds=LEASE_S))
            )
            session.commit()
            if getattr(claimed, "rowcount", 0) != 1:
                return 0  # another worker has it
            row = session.get(Notification, notification_id)
            assert row is not None
            obsolete = self._obsolete(session, row, now)
            if obsolete:
                self._finish(session, row, attempts + 1, failed=obsolete, now=now)
                return 0
            try:
                to = self._cipher.decrypt(row.recipient)
                self._gateway.send(to, row.body, row.key)
            except Exception as exc:
                log.warning("SMS %s attempt %d failed: %s", row.key, attempts + 1, exc)
                if attempts + 1 >= self.max_attempts:
                    self._finish(session, row, attempts + 1, failed=str(exc)[:500], now=now)
                else:
                    delay = self.retry_base_s * 2**attempts
                    self._retry(
                        session,
                        row,
                        attempts + 1,
                        str(exc)[:500],
                        now + dt.timedelta(seconds=delay),
                    )
                return 0
            self._finish(session, row, attempts + 1, failed=None, now=now)
            return 1

    def _obsolete(self, session: Session, row: Notification, now: dt.datetime) -> str | None:
        if (now - row.created_at).total_seconds() > self.max_age_s:
            return "expired: too old to be useful"
        if row.key.endswith(":near"):
            ticket = session.get(Ticket, row.ticket_id)
            if ticket is None or ticket.state != TicketState.WAITING.value:
                return "obsolete: the ticket is no longer waiting"
        return None

    def _finish(
        self,
        session: Session,
        row: Notification,
        attempts: int,
        *,
        failed: str | None,
        now: dt.datetime,
    ) -> None:
        values: dict[str, object] = (
            {"state": NotificationState.SENT.value, "sent_at": now, "last_error": None}
            if failed is None
            else {"state": NotificationState.FAILED.value, "last_error": failed}
        )
        session.execute(
            update(Notification)
            .where(Notification.id == row.id, Notification.attempts == attempts)
            .values(**values)
        )
        session.commit()

    def _retry(
        self, session: Session, row: Notification, attempts: int, error: str, at: dt.datetime
    ) -> None:
        session.execute(
            update(Notification)
            .where(Notification.id == row.id, Notification.attempts == attempts)
            .values(next_attempt_at=at, last_error=error)
        )
        session.commit()
