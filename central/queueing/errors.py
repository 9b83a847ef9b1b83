"""Refusals of the queue engine. The message is Simplified Chinese because it is
shown as is to the clerk (API ``detail``, the caller's log, the admin page).

`http_status` lets the REST API map a refusal without a table of its own;
MQTT callers log the message.
"""

from __future__ import annotations


class QueueError(Exception):
    """Base: something the engine refused; nothing was changed."""

    http_status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(QueueError):
    """An unknown ticket, window, service or clerk."""

    http_status = 404


class IllegalTransition(QueueError):
    """The ticket's state does not allow this verb (the state machine said no)."""

    def __init__(self, verb: str, state: str, message: str) -> None:
        super().__init__(message)
        self.verb = verb
        self.state = state


class Refused(QueueError):
    """A rule of the hall said no: window closed, cap reached, too soon to recall…"""


class ReasonRequired(QueueError):
    """A departure from queue order without a (known) reason code."""

    http_status = 422


class NotYourWindow(QueueError):
    """A clerk acting on a window they are not signed in at."""

    http_status = 403


class Invalid(QueueError):
    """Input the engine cannot use (a malformed ID number, an appointment without a time)."""

    http_status = 422
