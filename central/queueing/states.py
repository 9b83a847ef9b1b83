"""The ticket state machine: the only legal transitions, as one table.

Modelled on ZMS (Berlin's Zeitmanagementsystem) and Qmatic Orchestra:

==============  ==========================  ===========  ===============================
verb            from                        to           notes
==============  ==========================  ===========  ===============================
issue           (none)                      waiting
call            waiting                     called       the call-next rule picked it
call_specific   waiting                     called       out of order needs a reason
recall          called                      called       at most ``max_recalls``, not
                                                         sooner than ``recall_delay_s``
start           called                      serving
finish          serving                     done         with an outcome code
no_show         called                      no_show      after max recalls or with a reason
park            waiting, called             parked       remembers ``parked_from``
unpark          parked                      waiting      back in place (``queued_at`` kept)
transfer        serving                     transferred  + a new waiting ticket elsewhere
cancel          waiting, parked, called     cancelled
expire          waiting, called, serving,   expired      the nightly close
                parked
==============  ==========================  ===========  ===============================

`advance` is the single gate: an illegal pair raises `IllegalTransition`
with a Chinese message before anything is touched.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from central.queueing.errors import IllegalTransition
from central.queueing.models import FINAL_STATES, TicketState


class Verb(StrEnum):
    ISSUE = "issue"
    CALL = "call"
    CALL_SPECIFIC = "call_specific"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no_show"
    PARK = "park"
    UNPARK = "unpark"
    TRANSFER = "transfer"
    CANCEL = "cancel"
    EXPIRE = "expire"


W, C, S, P = TicketState.WAITING, TicketState.CALLED, TicketState.SERVING, TicketState.PARKED

TRANSITIONS: Final[dict[tuple[Verb, TicketState | None], TicketState]] = {
    (Verb.ISSUE, None): W,
    (Verb.CALL, W): C,
    (Verb.CALL_SPECIFIC, W): C,
    (Verb.RECALL, C): C,
    (Verb.START, C): S,
    (Verb.FINISH, S): TicketState.DONE,
    (Verb.NO_SHOW, C): TicketState.NO_SHOW,
    (Verb.PARK, W): P,
    (Verb.PARK, C): P,
    (Verb.UNPARK, P): W,
    (Verb.TRANSFER, S): TicketState.TRANSFERRED,
    (Verb.CANCEL, W): TicketState.CANCELLED,
    (Verb.CANCEL, P): TicketState.CANCELLED,
    (Verb.CANCEL, C): TicketState.CANCELLED,
    (Verb.EXPIRE, W): TicketState.EXPIRED,
    (Verb.EXPIRE, C): TicketState.EXPIRED,
    (Verb.EXPIRE, S): TicketState.EXPIRED,
    (Verb.EXPIRE, P): TicketState.EXPIRED,
}

STATE_LABELS: Final[dict[TicketState, str]] = {
    TicketState.WAITING: "等候中",
    TicketState.CALLED: "已叫号",
    TicketState.SERVING: "办理中",
    TicketState.PARKED: "暂挂",
    TicketState.DONE: "已办结",
    TicketState.NO_SHOW: "过号",
    TicketState.TRANSFERRED: "已转办",
    TicketState.CANCELLED: "已取消",
    TicketState.EXPIRED: "已过期",
}

VERB_LABELS: Final[dict[Verb, str]] = {
    Verb.ISSUE: "取号",
    Verb.CALL: "叫号",
    Verb.CALL_SPECIFIC: "指定叫号",
    Verb.RECALL: "重呼",
    Verb.START: "开始办理",
    Verb.FINISH: "办结",
    Verb.NO_SHOW: "过号",
    Verb.PARK: "暂挂",
    Verb.UNPARK: "恢复等候",
    Verb.TRANSFER: "转办",
    Verb.CANCEL: "取消",
    Verb.EXPIRE: "日终结束",
}


def allowed_from(verb: Verb) -> frozenset[TicketState | None]:
    return frozenset(frm for (v, frm) in TRANSITIONS if v == verb)


def advance(verb: Verb, state: TicketState | str | None, *, number: str = "") -> TicketState:
    """The state after `verb`, or `IllegalTransition` explaining why not."""
    current = TicketState(state) if state is not None else None
    target = TRANSITIONS.get((verb, current))
    if target is not None:
        return target
    label = VERB_LABELS[verb]
    who = f"号码 {number} " if number else "该号码"
    if current is None:
        message = f"无法{label}：号码不存在"
    elif current in FINAL_STATES:
        message = f"无法{label}：{who}已结束（{STATE_LABELS[current]}）"
    else:
        legal = sorted((s for s in allowed_from(verb) if s is not None), key=str)
        need = "、".join(STATE_LABELS[s] for s in legal)
        message = (
            f"无法{label}：{who}当前为“{STATE_LABELS[current]}”，只有“{need}”的号码可以{label}"
        )
    raise IllegalTransition(verb.value, current.value if current else "", message)
