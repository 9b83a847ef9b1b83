"""The queue's service layer in one import: every verb the REST API and the
MQTT callers run (``from central.queueing import service``).

All verbs are keyword-only, take the bus (`events.QueueBus`, from
`central.state.HubState.queue_bus`) and the settings, run as one
transaction each (`txn.run`), and raise a `errors.QueueError` with a
Chinese message when refused, having changed nothing.
"""

from __future__ import annotations

from central.queueing.day import close_day
from central.queueing.issuing import issue
from central.queueing.tickets import cancel, no_show, park, raise_priority, unpark
from central.queueing.txn import (
    Actor,
    get_ticket,
    service_by_code,
    timeline,
    waiting,
    window_by_number,
)
from central.queueing.verbs import call_next, call_specific, finish, recall, start, transfer
from central.queueing.windows import Outcome, login, logout, pause, resume

__all__ = [
    "Actor",
    "Outcome",
    "call_next",
    "call_specific",
    "cancel",
    "close_day",
    "finish",
    "get_ticket",
    "issue",
    "login",
    "logout",
    "no_show",
    "park",
    "pause",
    "raise_priority",
    "recall",
    "resume",
    "service_by_code",
    "start",
    "timeline",
    "transfer",
    "unpark",
    "waiting",
    "window_by_number",
]
