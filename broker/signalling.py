"""WebRTC signalling between a sign-language terminal and an interpreter,
relayed by the hub over two WebSockets. The only module that knows these
message shapes; the hub (`central.interpreting`), the terminal
(`signlang_terminal`) and the interpreter console's JavaScript follow it.

Endpoints on the hub::

    /api/v1/interpreting/terminal/ws?device={id}&token={t}   terminal (device)
    /api/v1/interpreting/console/ws                         interpreter (session cookie)

A terminal authenticates with ``token = terminal_token(secret, device_id)``:
the hub puts it in the retained config of every ``signlang`` device
(``DeviceConfig.settings["signalling_token"]``), a topic only that device
may read. An interpreter signs in to the admin web (role ``interpreter``).

A call:

1. terminal → ``Request`` (the citizen pressed the button); hub → terminal
   ``Queued`` (position, expected wait), again whenever they change;
2. hub → the longest-idle available interpreter ``Offer`` (ringing); not
   accepted within ``expires_in_s`` (20 s) → offered to the next one;
3. interpreter → ``Accept`` (or ``Decline``); hub → both ``Connected``;
4. the terminal makes the WebRTC offer (its video, its audio, and a data
   channel labelled ``text`` for real-time text): terminal → ``Sdp``
   (``offer``); hub relays it to the interpreter; interpreter → ``Sdp``
   (``answer``), relayed back. No trickle ICE: each side sends its SDP once
   ICE gathering has completed (aiortc does only that; a browser waits for
   ``iceGatheringState == "complete"``), so there are no candidate messages;
5. either side → ``Hangup``; hub → the other side ``Hangup`` and both
   ``Ended``; the interpreter then sends ``Outcome``.

Real-time text on the ``text`` data channel (`TEXT_CHANNEL`, opened by the
terminal; either side sends): plain UTF-8 text, one message per line sent —
what a person typed and sent, as a string message, with no JSON envelope and
no trailing newline. A receiver shows each message as it arrives; one that
holds several lines anyway is shown as several lines, and a binary message is
read as UTF-8.

An interpreter also sends ``Status`` (available / busy / break) at any time.
Any message that does not validate is answered with ``Error`` and ignored;
the socket stays open.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

TEXT_CHANNEL: Final = "text"
OFFER_TIMEOUT_S: Final = 20.0
MAX_SDP: Final = 64_000


def terminal_token(secret: str, device_id: str) -> str:
    """The signalling token of a terminal (HMAC of its id with the hub secret)."""
    mac = hmac.new(secret.encode(), f"signlang:{device_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- terminal -> hub ------------------------------------------------------------------


class Request(_Msg):
    type: Literal["request"] = "request"
    language: Literal["csl"] = Field("csl", description="中国手语")
    consent_recording: bool = Field(False, description="the citizen agreed on screen")


# --- interpreter -> hub ---------------------------------------------------------------


class Status(_Msg):
    type: Literal["status"] = "status"
    status: Literal["available", "busy", "break"]


class Accept(_Msg):
    type: Literal["accept"] = "accept"
    request_id: str = Field(max_length=64)


class Decline(_Msg):
    type: Literal["decline"] = "decline"
    request_id: str = Field(max_length=64)


class Outcome(_Msg):
    type: Literal["outcome"] = "outcome"
    request_id: str = Field(max_length=64)
    outcome: str = Field(max_length=32, description="outcome code, e.g. served, no_need, tech")
    note: str | None = Field(None, max_length=500)


# --- either side ----------------------------------------------------------------------


class Sdp(_Msg):
    type: Literal["sdp"] = "sdp"
    request_id: str = Field(max_length=64)
    sdp_type: Literal["offer", "answer"]
    sdp: str = Field(max_length=MAX_SDP)


class Hangup(_Msg):
    type: Literal["hangup"] = "hangup"
    request_id: str = Field(max_length=64)
    reason: str | None = Field(None, max_length=200)


# --- hub -> a side --------------------------------------------------------------------


class Queued(_Msg):
    type: Literal["queued"] = "queued"
    request_id: str
    position: int = Field(ge=1, description="1 = next to be answered")
    expected_wait_s: float | None = Field(None, ge=0)


class Offer(_Msg):
    type: Literal["offer"] = "offer"
    request_id: str
    hall: str
    terminal: str = Field(description="device id of the terminal")
    location: str | None = Field(None, description="where the terminal stands (Chinese)")
    expires_in_s: float = OFFER_TIMEOUT_S


class Connected(_Msg):
    type: Literal["connected"] = "connected"
    request_id: str
    interpreter: str = Field(description="the interpreter's display name")


class Ended(_Msg):
    type: Literal["ended"] = "ended"
    request_id: str
    reason: str | None = None


class Error(_Msg):
    type: Literal["error"] = "error"
    reason: str = Field(description="why the last message was refused (Chinese)")


FromTerminal = Annotated[Request | Sdp | Hangup, Field(discriminator="type")]
FromInterpreter = Annotated[
    Status | Accept | Decline | Sdp | Hangup | Outcome, Field(discriminator="type")
]
ToSide = Annotated[
    Queued | Offer | Connected | Sdp | Hangup | Ended | Error, Field(discriminator="type")
]

from_terminal: Final[TypeAdapter[FromTerminal]] = TypeAdapter(FromTerminal)
from_interpreter: Final[TypeAdapter[FromInterpreter]] = TypeAdapter(FromInterpreter)
to_side: Final[TypeAdapter[ToSide]] = TypeAdapter(ToSide)
