"""The interpreter service of one hub app: its recorder, its ACD and the
terminals' recording reports, started and stopped with the app, found from a
route through `interpreting_of`."""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Final

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from anxin.settings import Settings
from broker.contract import DeviceKind
from broker.signalling import terminal_token
from central.devices.bridge import HubBridge
from central.interpreting.acd import Distributor
from central.interpreting.models import InterpRequest
from central.interpreting.recordings import RecordingReports
from central.interpreting.records import Recorder, close_orphans
from central.queueing.clock import HubClock

log = logging.getLogger(__name__)

_APP_KEY: Final = "anxin_interpreting"


class InterpretingService:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        clock: HubClock,
        bridge: HubBridge,
    ) -> None:
        self.settings = settings
        self._sessions = sessions
        self._bridge = bridge
        self.recorder = Recorder(sessions)
        self.acd = Distributor(
            settings=settings.interpreting,
            hall=settings.hall_name,
            recorder=self.recorder,
            now=clock.now,
            location_of=self._location_of,
        )
        self._clock = clock
        # The terminals' recording reports: every hub process stores those its
        # bridge stored (interpreting served here or not).
        self.recordings = RecordingReports(self.recorder, clock.now)
        bridge.on_new_event.append(self.recordings.on_event)

    @property
    def enabled(self) -> bool:
        return self.settings.interpreting.enabled

    async def start(self) -> None:
        await self.recorder.start()
        if not self.enabled:
            return
        closed, recent = await asyncio.to_thread(self._recover)
        if closed:
            log.warning("closed %d interpreting requests left open by a previous hub", closed)
        self.acd.seed_handling_times(recent)

    async def stop(self) -> None:
        self.acd.shutdown()
        await self.recorder.stop()

    def _recover(self) -> tuple[int, list[float]]:
        with self._sessions() as session:
            closed = close_orphans(session, self._clock.now())
            session.commit()
            rows = session.execute(
                select(InterpRequest.answered_at, InterpRequest.ended_at)
                .where(InterpRequest.ended_at.is_not(None), InterpRequest.answered_at.is_not(None))
                .order_by(InterpRequest.requested_at.desc())
                .limit(50)
            ).all()
        recent = [(e - a).total_seconds() for a, e in rows if a is not None and e is not None]
        return closed, recent

    def _location_of(self, device_id: str) -> str | None:
        snap = self._bridge.snapshot(device_id)
        location = snap.settings.get("location") if snap is not None else None
        return location if isinstance(location, str) else None

    def check_terminal(self, device_id: str, token: str) -> str | None:
        """Why a terminal may not connect (Chinese), or None when it may."""
        if not self.enabled:
            return "本中心进程未提供手语翻译服务"
        secret = self.settings.hub.secret_key.get_secret_value()
        if not device_id or not hmac.compare_digest(
            terminal_token(secret, device_id).encode(), token.encode()
        ):
            return "终端认证失败：设备编号或令牌不正确"
        snap = self._bridge.snapshot(device_id)
        if snap is not None and snap.kind != DeviceKind.SIGNLANG.value:
            return "该设备不是手语终端"
        if snap is not None and (snap.retired or not snap.enabled):
            return "该终端已被管理员停用"
        return None


def attach_interpreting(app: FastAPI, service: InterpretingService) -> None:
    setattr(app.state, _APP_KEY, service)


def interpreting_of(app: FastAPI) -> InterpretingService:
    service = getattr(app.state, _APP_KEY, None)
    if not isinstance(service, InterpretingService):
        raise RuntimeError("this app has no interpreting service")
    return service
