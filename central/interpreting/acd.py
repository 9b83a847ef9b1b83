"""Automatic call distribution (ACD) of sign-language interpreting requests.

One `Distributor` per hub process owns the live state and runs only on the
event loop: every method is synchronous and called from the loop, so no lock
is needed and decisions happen in the order messages arrive. Records go to
the database through the `Recorder` without waiting for it.

Rules (docs/interpreting.md):
- requests wait in arrival order; a priority class exists only through an
  explicit policy (`interpreting.priority_terminals`), none by default;
- the head request goes to the longest-idle free interpreter; an offer not
  accepted within `offer_timeout_s` goes to the next one and the silent
  interpreter is set busy (redirect on no answer), a declined offer goes to
  the next one at once; the decliner is skipped for that request for one
  offer timeout;
- a terminal that disconnects abandons its waiting request or ends its call;
  an interpreter whose console reloads keeps the call for `reconnect_grace_s`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections import deque
from collections.abc import Callable

from anxin.settings import InterpretingSettings
from broker.signalling import (
    Accept,
    Connected,
    Decline,
    Ended,
    Hangup,
    Offer,
    Outcome,
    Queued,
    Request,
    Sdp,
    Status,
)
from central.interpreting.live import OUTCOMES, Interpreter, Link, LiveRequest, Refused
from central.interpreting.models import InterpRequest
from central.interpreting.records import Recorder

log = logging.getLogger(__name__)

FromTerminalMsg = Request | Sdp | Hangup
FromInterpreterMsg = Status | Accept | Decline | Sdp | Hangup | Outcome


class Distributor:
    def __init__(
        self,
        *,
        settings: InterpretingSettings,
        hall: str,
        recorder: Recorder,
        now: Callable[[], dt.datetime],
        location_of: Callable[[str], str | None] = lambda _terminal: None,
    ) -> None:
        self.settings = settings
        self.hall = hall
        self._rec = recorder
        self._now = now
        self._location_of = location_of
        self.interpreters: dict[int, Interpreter] = {}
        self.requests: dict[str, LiveRequest] = {}
        self._terminals: dict[str, Link] = {}
        self._by_terminal: dict[str, str] = {}
        self._seq = 0
        self._handled: deque[float] = deque(maxlen=50)
        self._redispatch: asyncio.TimerHandle | None = None

    # --- figures -----------------------------------------------------------------------

    def seed_handling_times(self, seconds: list[float]) -> None:
        self._handled.extend(seconds)

    @property
    def aht_s(self) -> float:
        """Average handling time of the last calls, or the configured default."""
        if not self._handled:
            return self.settings.default_aht_s
        return sum(self._handled) / len(self._handled)

    def waiting(self) -> list[LiveRequest]:
        live = [r for r in self.requests.values() if r.state == "waiting"]
        return sorted(live, key=LiveRequest.sort_key)

    def expected_wait_s(self, position: int) -> float | None:
        """Memoryless estimate: each of the n staffed interpreters frees up at
        rate 1/AHT, so the k-th release from now comes after k·AHT/n on
        average; interpreters not in a call serve the first positions at once.
        None while nobody is staffed (the wait cannot be told)."""
        staffed = [i for i in self.interpreters.values() if i.is_staffed()]
        if not staffed:
            return None
        ready = sum(1 for i in staffed if i.call is None)
        return max(0, position - ready) * self.aht_s / len(staffed)

    def console_view(self, user_id: int) -> dict[str, object]:
        """What an interpreter's console shows besides the call itself."""
        interp = self.interpreters.get(user_id)
        waiting = self.waiting()
        offer = self.requests.get(interp.offer) if interp and interp.offer else None
        call = self.requests.get(interp.call) if interp and interp.call else None
        return {
            "status": interp.status if interp else "break",
            "connected": bool(interp and interp.link),
            "offer": offer.id if offer else None,
            "call": call.id if call else None,
            "call_terminal": call.terminal if call else None,
            "call_location": call.location if call else None,
            "call_consent_recording": call.consent_recording if call else False,
            "wrap_up": interp.wrap_up if interp else None,
            "waiting": len(waiting),
            "oldest_wait_s": round(_loop_time() - waiting[0].seq_mono) if waiting else None,
            "free": sum(1 for i in self.interpreters.values() if i.is_free()),
            "staffed": sum(1 for i in self.interpreters.values() if i.is_staffed()),
        }

    # --- terminals -----------------------------------------------------------------------

    def terminal_connected(self, device_id: str, link: Link) -> None:
        old = self._terminals.get(device_id)
        if old is not None:
            self.terminal_disconnected(device_id, old)
            old.close(4409, "同一终端建立了新的连接")
        self._terminals[device_id] = link

    def terminal_disconnected(self, device_id: str, link: Link) -> None:
        if self._terminals.get(device_id) is not link:
            return  # a replaced socket closing late
        del self._terminals[device_id]
        req = self._active(device_id)
        if req is None:
            return
        if req.state == "waiting":
            self._abandon(req, "终端断开")
        else:
            self._end(req, "终端断开", by=None)

    def terminal_message(self, device_id: str, link: Link, msg: FromTerminalMsg) -> None:
        if self._terminals.get(device_id) is not link:
            raise Refused("该连接已被同一终端的新连接取代")
        req = self._active(device_id)
        if isinstance(msg, Request):
            if req is not None:
                raise Refused("该终端已有进行中的手语翻译请求")
            self._new_request(device_id, link, msg)
            return
        if req is None or msg.request_id != req.id:
            raise Refused("请求编号与该终端进行中的请求不符")
        if isinstance(msg, Sdp):
            if msg.sdp_type != "offer":
                raise Refused("终端只能发送 offer 类型的 SDP")
            if req.state != "connected" or req.interpreter is None:
                raise Refused("翻译员尚未接听，不能发送 SDP")
            self._post_interpreter(req.interpreter, msg)
        elif req.state == "waiting":
            self._abandon(req, msg.reason or "市民取消")
        else:
            self._end(req, msg.reason or "市民挂断", by="terminal", hangup=msg)

    def _new_request(self, device_id: str, link: Link, msg: Request) -> None:
        self._seq += 1
        priority = 1 if device_id in self.settings.priority_terminals else 0
        req = LiveRequest(
            id=uuid.uuid4().hex,
            terminal=device_id,
            location=self._location_of(device_id),
            priority=priority,
            consent_recording=msg.consent_recording,
            seq=self._seq,
            requested_at=self._now(),
            link=link,
            seq_mono=_loop_time(),
        )
        self.requests[req.id] = req
        self._by_terminal[device_id] = req.id
        self._rec.requested(
            InterpRequest(
                id=req.id,
                terminal=device_id,
                location=req.location,
                language=msg.language,
                consent_recording=msg.consent_recording,
                priority=priority,
                state="waiting",
                requested_at=req.requested_at,
            )
        )
        log.info("interpreting request %s from %s", req.id, device_id)
        self._dispatch()

    # --- interpreters --------------------------------------------------------------------

    def interpreter_connected(self, user_id: int, name: str, link: Link) -> None:
        interp = self.interpreters.get(user_id)
        if interp is None:
            interp = self.interpreters[user_id] = Interpreter(user_id, name)
            interp.idle_since = _loop_time()
        old, interp.link, interp.name = interp.link, link, name
        if old is not None:
            old.close(4409, "已在其他页面打开翻译工作台")
        if interp.grace is not None:
            interp.grace.cancel()
            interp.grace = None
        if interp.offer is not None:
            req = self.requests[interp.offer]
            link.post(self._offer_msg(req, max(0.0, req.offer_deadline - _loop_time())))
        if interp.call is not None:
            # The console lost its media with the page: both sides start again
            # from Connected, and the terminal makes a fresh WebRTC offer.
            req = self.requests[interp.call]
            connected = Connected(request_id=req.id, interpreter=interp.name)
            link.post(connected)
            req.link.post(connected)
        self._dispatch()

    def interpreter_disconnected(self, user_id: int, link: Link) -> None:
        interp = self.interpreters.get(user_id)
        if interp is None or interp.link is not link:
            return
        interp.link = None
        if interp.offer is not None:
            self._offer_failed(self.requests[interp.offer], interp, "lost")
        if interp.call is not None:
            call = interp.call

            def give_up() -> None:
                interp.grace = None
                req = self.requests.get(call)
                if req is not None and interp.link is None:
                    self._end(req, "翻译员连接中断", by=None)

            interp.grace = asyncio.get_running_loop().call_later(
                self.settings.reconnect_grace_s, give_up
            )
        self._dispatch()

    def interpreter_message(self, user_id: int, link: Link, msg: FromInterpreterMsg) -> None:
        interp = self.interpreters.get(user_id)
        if interp is None or interp.link is not link:
            raise Refused("该工作台已在其他页面打开")
        if isinstance(msg, Status):
            self._set_status(interp, msg.status)
            return
        if isinstance(msg, Outcome):
            self._outcome(interp, msg)
            return
        req = self.requests.get(msg.request_id)
        if isinstance(msg, Accept | Decline):
            if req is None or interp.offer != req.id:
                raise Refused("该呼叫已不再分配给您（可能已超时或市民已取消）")
            if isinstance(msg, Decline):
                self._offer_failed(req, interp, "declined")
                self._dispatch()
            else:
                self._answer(req, interp)
            return
        if req is None or interp.call != req.id:
            raise Refused("您当前没有这个通话")
        if isinstance(msg, Sdp):
            if msg.sdp_type != "answer":
                raise Refused("翻译员只能发送 answer 类型的 SDP")
            req.link.post(msg)
        else:
            self._end(req, msg.reason or "翻译员挂断", by="interpreter", hangup=msg)

    def _set_status(self, interp: Interpreter, status: str, *, auto: bool = False) -> None:
        assert status in ("available", "busy", "break")
        if status == "available" and (interp.status != "available" or interp.wrap_up):
            interp.idle_since = _loop_time()
        interp.status = status  # type: ignore[assignment]
        interp.wrap_up = None
        self._rec.event("status", self._now(), interpreter_id=interp.user_id,
                        status=status, auto=auto)  # fmt: skip
        if status != "available" and interp.offer is not None:
            self._offer_failed(self.requests[interp.offer], interp, "declined")
        self._dispatch()

    def _outcome(self, interp: Interpreter, msg: Outcome) -> None:
        if msg.outcome not in OUTCOMES:
            raise Refused(f"未知的结果代码：{msg.outcome}")
        if interp.wrap_up != msg.request_id:
            raise Refused("只能为刚结束的通话登记结果")
        self._rec.update_request(msg.request_id, "outcome", self._now(), actor=interp.user_id,
                                 outcome=msg.outcome, note=msg.note)  # fmt: skip
        interp.wrap_up = None
        interp.idle_since = _loop_time()
        self._dispatch()

    # --- distribution ----------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Offer every waiting request without an offer, in queue order, to the
        longest-idle free interpreter it does not skip; then tell the waiting
        terminals their position."""
        now = _loop_time()
        free = sorted(
            (i for i in self.interpreters.values() if i.is_free()), key=lambda i: i.idle_since
        )
        wake: float | None = None
        for req in self.waiting():
            if req.offered_to is not None:
                continue
            pick = next((i for i in free if req.skip_until.get(i.user_id, 0.0) <= now), None)
            if pick is None:
                blocked = [t for uid, t in req.skip_until.items() if t > now]
                if blocked and any(i.user_id in req.skip_until for i in free):
                    wake = min([*blocked, wake] if wake is not None else blocked)
                continue
            free.remove(pick)
            self._offer(req, pick)
        if self._redispatch is not None:
            self._redispatch.cancel()
            self._redispatch = None
        if wake is not None:
            loop = asyncio.get_running_loop()
            self._redispatch = loop.call_later(wake - now + 0.01, self._dispatch)
        self._tell_positions()

    def _offer(self, req: LiveRequest, interp: Interpreter) -> None:
        assert interp.link is not None
        timeout = self.settings.offer_timeout_s
        req.offered_to, interp.offer = interp.user_id, req.id
        req.offer_deadline = _loop_time() + timeout
        req.offer_timer = asyncio.get_running_loop().call_later(
            timeout, self._offer_timed_out, req.id, interp.user_id
        )
        self._rec.offered(req.id, interp.user_id, self._now())
        interp.link.post(self._offer_msg(req, timeout))
        log.info("offered %s to interpreter %d", req.id, interp.user_id)

    def _offer_msg(self, req: LiveRequest, expires_in_s: float) -> Offer:
        return Offer(request_id=req.id, hall=self.hall, terminal=req.terminal,
                     location=req.location, expires_in_s=round(expires_in_s, 1))  # fmt: skip

    def _offer_timed_out(self, request_id: str, user_id: int) -> None:
        req = self.requests.get(request_id)
        interp = self.interpreters.get(user_id)
        if req is None or interp is None or req.offered_to != user_id:
            return
        req.offer_timer = None
        self._offer_failed(req, interp, "timeout")
        # Redirect on no answer: a console nobody answers must not keep
        # catching calls; the interpreter sets 空闲 again when back.
        self._set_status(interp, "busy", auto=True)
        if interp.link is not None:
            interp.link.post(
                Ended(request_id=req.id, reason="未在规定时间内接听，已转给其他翻译员")
            )

    def _offer_failed(self, req: LiveRequest, interp: Interpreter, result: str) -> None:
        """The offer to `interp` is over without an answer (declined, timeout,
        lost console, withdrawn). The caller re-dispatches."""
        if req.offer_timer is not None:
            req.offer_timer.cancel()
            req.offer_timer = None
        req.offered_to, interp.offer = None, None
        if result != "withdrawn":
            req.skip_until[interp.user_id] = _loop_time() + self.settings.offer_timeout_s
        self._rec.offer_result(req.id, interp.user_id, result, self._now())

    def _answer(self, req: LiveRequest, interp: Interpreter) -> None:
        if req.offer_timer is not None:
            req.offer_timer.cancel()
            req.offer_timer = None
        req.offered_to, interp.offer = None, None
        req.state, req.interpreter, interp.call = "connected", interp.user_id, req.id
        req.answered_mono = _loop_time()
        at = self._now()
        self._rec.offer_result(req.id, interp.user_id, "accepted", at)
        self._rec.update_request(req.id, "answered", at, state="connected",
                                 answered_at=at, interpreter_id=interp.user_id)  # fmt: skip
        connected = Connected(request_id=req.id, interpreter=interp.name)
        req.link.post(connected)
        self._post_interpreter(interp.user_id, connected)
        self._dispatch()

    def _abandon(self, req: LiveRequest, reason: str) -> None:
        if req.offered_to is not None:
            interp = self.interpreters[req.offered_to]
            self._offer_failed(req, interp, "withdrawn")
            self._post_interpreter(interp.user_id, Ended(request_id=req.id, reason=reason))
        self._forget(req)
        at = self._now()
        self._rec.update_request(req.id, "abandoned", at, state="abandoned",
                                 abandoned_at=at, end_reason=reason)  # fmt: skip
        req.link.post(Ended(request_id=req.id, reason=reason))
        self._dispatch()

    def _end(self, req: LiveRequest, reason: str, *, by: str | None,
             hangup: Hangup | None = None) -> None:  # fmt: skip
        """End a call. `by` is the side that hung up (None: the hub); the other
        side gets the `Hangup`, both get `Ended`."""
        hangup = hangup or Hangup(request_id=req.id, reason=reason)
        ended = Ended(request_id=req.id, reason=reason)
        self._forget(req)
        self._handled.append(_loop_time() - req.answered_mono)
        at = self._now()
        self._rec.update_request(req.id, "ended", at, actor=req.interpreter,
                                 state="ended", ended_at=at, end_reason=reason)  # fmt: skip
        if by != "terminal":
            req.link.post(hangup)
        req.link.post(ended)
        interp = self.interpreters.get(req.interpreter) if req.interpreter else None
        if interp is not None:
            interp.call, interp.wrap_up = None, req.id
            if interp.grace is not None:
                interp.grace.cancel()
                interp.grace = None
            if by != "interpreter":
                self._post_interpreter(interp.user_id, hangup)
            self._post_interpreter(interp.user_id, ended)
        self._dispatch()

    def _forget(self, req: LiveRequest) -> None:
        self.requests.pop(req.id, None)
        if self._by_terminal.get(req.terminal) == req.id:
            del self._by_terminal[req.terminal]

    def _tell_positions(self) -> None:
        for position, req in enumerate(self.waiting(), start=1):
            wait = self.expected_wait_s(position)
            key = (position, None if wait is None else int(wait // 5))
            if key != req.last_queued:
                req.last_queued = key
                expected = None if wait is None else float(round(wait))
                req.link.post(
                    Queued(request_id=req.id, position=position, expected_wait_s=expected)
                )

    # --- helpers ---------------------------------------------------------------------------

    def _active(self, device_id: str) -> LiveRequest | None:
        request_id = self._by_terminal.get(device_id)
        return self.requests.get(request_id) if request_id else None

    def _post_interpreter(self, user_id: int, message: Sdp | Connected | Hangup | Ended) -> None:
        interp = self.interpreters.get(user_id)
        if interp is not None and interp.link is not None:
            interp.link.post(message)

    def shutdown(self) -> None:
        """The hub stops: every request is over; sockets are told why."""
        for req in list(self.requests.values()):
            if req.state == "waiting":
                self._abandon(req, "中心停止服务")
            else:
                self._end(req, "中心停止服务", by=None)
        if self._redispatch is not None:
            self._redispatch.cancel()
        for interp in self.interpreters.values():
            if interp.grace is not None:
                interp.grace.cancel()
            if interp.link is not None:
                interp.link.close(1012, "中心停止服务")
        for link in self._terminals.values():
            link.close(1012, "中心停止服务")


def _loop_time() -> float:
    return asyncio.get_running_loop().time()
