"""Command dispatch: ``received`` first, then exactly one final result.

Final results are journaled by command id before they are published, so a
command the hub sends again (a QoS 1 redelivery, a retry after a lost result)
gets the stored answer and does not run twice. A command that arrives after
its deadline is answered ``expired`` and not run: "open the window" ten
minutes late is worse than not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from broker.contract import Command, CommandResult, ResultStatus, utcnow
from edge.journal import Journal

log = logging.getLogger(__name__)

A = TypeVar("A", bound=BaseModel)
HandlerResult = dict[str, Any] | None


class NoArgs(BaseModel):
    """Arguments of a command that takes none (unknown arguments are rejected)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class _Spec:
    handler: Callable[[Any], Awaitable[HandlerResult]]
    args: type[BaseModel]


class CommandDispatcher:
    def __init__(
        self,
        *,
        journal: Journal,
        publish: Callable[[CommandResult], None],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._journal = journal
        self._publish = publish
        self._clock = clock
        self._specs: dict[str, _Spec] = {}
        self._running: set[str] = set()

    def register(
        self,
        name: str,
        handler: Callable[[A], Awaitable[HandlerResult]],
        args: type[A],
    ) -> None:
        """Route command `name` to `handler`; its args are validated with `args` first."""
        self._specs[name] = _Spec(handler, args)

    @property
    def names(self) -> list[str]:
        return sorted(self._specs)

    async def handle(self, name: str, command: Command) -> None:
        cid = command.command_id
        stored = self._journal.result(cid)
        if stored is not None:
            log.info("command %s (%s) seen before; resending its result", cid, name)
            self._publish(stored)
            return
        if cid in self._running:
            return  # a duplicate delivery while it runs: its final result is on the way
        self._running.add(cid)
        try:
            self._publish(self._result(command, name, ResultStatus.RECEIVED))
            final = await self._run(name, command)
            self._journal.store_result(final)
            self._publish(final)
        finally:
            self._running.discard(cid)

    async def _run(self, name: str, command: Command) -> CommandResult:
        now = self._clock()
        if now > command.deadline:
            late = (now - command.deadline).total_seconds()
            return self._result(
                command, name, ResultStatus.EXPIRED, f"received {late:.1f}s after its deadline"
            )
        spec = self._specs.get(name)
        if spec is None:
            return self._result(command, name, ResultStatus.REJECTED, f"unknown command {name!r}")
        try:
            args = spec.args.model_validate(command.args)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "args"
            return self._result(
                command, name, ResultStatus.REJECTED, f"bad args: {where}: {first['msg']}"
            )
        try:
            data = await spec.handler(args)
        except Exception as exc:
            log.warning("command %s (%s) failed", command.command_id, name, exc_info=True)
            return self._result(
                command, name, ResultStatus.FAILED, f"{type(exc).__name__}: {exc}"[:500]
            )
        return self._result(command, name, ResultStatus.SUCCEEDED, data=data or {})

    @staticmethod
    def _result(
        command: Command,
        name: str,
        status: ResultStatus,
        detail: str = "",
        data: dict[str, Any] | None = None,
    ) -> CommandResult:
        return CommandResult(
            command_id=command.command_id,
            name=name,
            status=status,
            detail=detail,
            data=data or {},
        )
