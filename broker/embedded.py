"""The embedded broker (amqtt) for one-box halls and development.

amqtt 0.12 speaks MQTT 3.1.1 only and is several times slower than Mosquitto,
which production and the benchmarks use. With anonymous access it silently
drops queued QoS 1 messages of offline sessions, so every client here logs in
with its own user (the device id, or ``hub``) and the HMAC-derived password of
`broker.credentials`; the same ACL as the Mosquitto configuration applies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from broker.contract import Topics, acl_allows
from broker.credentials import check_password

log = logging.getLogger(__name__)


class HallAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no types
    """Admits a client whose password is the one derived for its user."""

    @dataclass
    class Config:
        secret: str = ""

    async def authenticate(self, *, session: Session) -> bool | None:
        user, password = session.username, session.password
        ok = bool(user and password and check_password(self.config.secret, user, password))
        if not ok:
            log.warning("embedded broker: refused login of user %r", user)
        return ok


class HallAclPlugin(BaseTopicPlugin):  # type: ignore[misc]  # amqtt ships no types
    """Applies `broker.contract.acl_rules` to publish, subscribe and receive."""

    @dataclass
    class Config:
        hall: str = "demo"

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool | None:
        if session is None or topic is None or session.username is None:
            return False
        verb: Literal["read", "write"] = "write" if action == Action.PUBLISH else "read"
        allowed = acl_allows(Topics(self.config.hall), session.username, topic, verb)
        if not allowed and action != Action.RECEIVE:
            log.warning("embedded broker: refused %s of %r on %s", verb, session.username, topic)
        return allowed


class _Snapshots(dict[str, list[tuple[Session, int]]]):
    """A subscription table whose iteration works on a copy.

    amqtt 0.12.1 iterates its subscription table across `await`s (while
    broadcasting, and on every connect); a subscribe arriving meanwhile raised
    "dictionary changed size during iteration" and the message being
    broadcast was lost.
    """

    def __iter__(self) -> Iterator[str]:
        return iter(list(super().keys()))

    def items(self) -> list[tuple[str, list[tuple[Session, int]]]]:  # type: ignore[override]
        return [(k, list(v)) for k, v in super().items()]


class HallBroker(Broker):  # type: ignore[misc]  # amqtt ships no types
    """amqtt's Broker with two fixes for bugs of 0.12.1 found under load.

    - Iterating the subscription table while others subscribe lost messages
      (see `_Snapshots`).
    - On every connect it replayed retained messages for every subscription in
      the whole broker rather than the connecting client's own
      (`_handle_client_session`): a device received other devices' retained
      status and config, past the ACL. Retained messages are sent here only
      for subscriptions the session really holds.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._subscriptions = _Snapshots()

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Session
    ) -> None:
        holders = self._subscriptions.get(subscription[0], [])
        if not any(held is session for held, _qos in holders):
            return
        await super()._publish_retained_messages_for_subscription(subscription, session)


def broker_config(*, host: str, port: int, hall: str, secret: str) -> dict[str, Any]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "timeout_disconnect_delay": 0,
        "plugins": {
            f"{__name__}.HallAuthPlugin": {"secret": secret},
            f"{__name__}.HallAclPlugin": {"hall": hall},
        },
    }


async def run_broker(
    *,
    host: str,
    port: int,
    hall: str,
    secret: str,
    ready: Callable[[int], None] | None = None,
) -> None:
    """Run until cancelled. ``port=0`` is not supported by amqtt's config, so the
    caller picks a free port (see `anxin.ports.free_port`)."""
    broker = HallBroker(broker_config(host=host, port=port, hall=hall, secret=secret))
    await broker.start()
    log.info("embedded broker listening on %s:%d (hall %s)", host, port, hall)
    if ready is not None:
        ready(port)
    try:
        await asyncio.Event().wait()
    finally:
        await broker.shutdown()
