"""Resident identity card numbers (居民身份证号码, GB 11643): checking, masking, age.

The number is never shown in full: screens show `mask_id` (6101**********123X),
and a name read from the card `mask_name` (张*三, the hub's own rule).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from central.queueing.privacy import mask_name

__all__ = ["LENGTH", "age_on", "birth_date", "check_digit", "mask_id", "mask_name", "normalize_id"]

_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK: Final = "10X98765432"
LENGTH: Final = 18


def check_digit(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def birth_date(number: str) -> dt.date | None:
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def normalize_id(number: str) -> str | None:
    """The 18-character number in upper case, or None when it is not a valid one
    (length, digits, birth date, check digit)."""
    value = number.strip().upper()
    if len(value) != LENGTH or not value[:17].isdigit() or value[17] not in "0123456789X":
        return None
    if birth_date(value) is None:
        return None
    if check_digit(value[:17]) != value[17]:
        return None
    return value


def mask_id(number: str) -> str:
    """First four and last four characters, the rest as ``*``; a partial entry
    shows at most its first four characters."""
    if len(number) <= 8:
        return number[:4] + "*" * max(0, len(number) - 4)
    if len(number) < LENGTH:
        return number[:4] + "*" * (len(number) - 4)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def age_on(number: str, day: dt.date) -> int | None:
    born = birth_date(number)
    if born is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
