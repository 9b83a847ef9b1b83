"""The codes of a rating, in one place: the five levels of the national 好差评
scale, the reasons a citizen gives for a bad one, and the channels a rating
comes in through. Stored as codes, shown with these labels; the upward report
to the city 好差评 system maps the same codes.

The levels and the wording follow the national 政务服务"好差评" scheme
(国办发〔2019〕51号): 非常满意, 满意, 基本满意, 不满意, 非常不满意; a 差评
(不满意 or 非常不满意) must say why.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

LEVELS: Final[dict[int, str]] = {
    5: "非常满意",
    4: "满意",
    3: "基本满意",
    2: "不满意",
    1: "非常不满意",
}
# 差评: these levels need at least one reason.
NEEDS_REASON: Final = frozenset({1, 2})

# Why a citizen was not satisfied (差评原因), as the citizen taps them.
REASONS: Final[dict[str, str]] = {
    "attitude": "服务态度差",
    "slow": "办事效率低",
    "many_trips": "多次跑动",
    "unclear_materials": "材料要求不清",
    "not_told_once": "未一次性告知",
    "long_wait": "等候时间长",
    "system_fault": "系统故障",
    "other": "其他",
}
# A 差评 from the caller box's buttons: a button pad has no way to say why.
# Recorded rather than refused, so a dissatisfied citizen is never lost; the
# upward report marks it as a rating without a chosen reason.
UNSPECIFIED_PAD: Final = "unspecified_pad"
REASON_LABELS: Final[dict[str, str]] = {**REASONS, UNSPECIFIED_PAD: "按键评价，未选原因"}


class RatingChannel(StrEnum):
    WINDOW_PAD = "window_pad"  # the window's touch screen, /rate/window/{n}
    CALLER = "caller"  # the five rating buttons of the caller box
    MOBILE = "mobile"  # the citizen's own phone (办事一码通)
    KIOSK = "kiosk"


CHANNEL_LABELS: Final[dict[str, str]] = {
    RatingChannel.WINDOW_PAD.value: "窗口评价屏",
    RatingChannel.CALLER.value: "评价按键",
    RatingChannel.MOBILE.value: "手机",
    RatingChannel.KIOSK.value: "自助终端",
}

# Caller-box buttons: rate_5 … rate_1.
RATING_BUTTONS: Final[dict[str, int]] = {f"rate_{level}": level for level in LEVELS}


def level_label(level: int) -> str:
    return LEVELS.get(level, str(level))


def is_good(level: int) -> bool:
    """好评 in the national statistics: 基本满意 and above."""
    return level >= 3
