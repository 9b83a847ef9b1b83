"""Masking of personal data for anything a person other than its owner may see.

Pages, boards, SMS logs and exports show only these forms (个人信息保护法:
collect the minimum, show less). The rules follow common Chinese practice:

- a name keeps its first and last character: 张三 → 张*, 张小三 → 张*三,
  欧阳娜娜 → 欧**娜;
- a mobile number keeps its first three and last four digits: 138****1234;
- an ID number (居民身份证, 18 characters) keeps its first and last four:
  6101**********123X.
"""

from __future__ import annotations

import re
from typing import Final

MASK: Final = "*"
_DIGITS_ONLY: Final = re.compile(r"\D")


def mask_name(name: str) -> str:
    """张三 → 张*, 张小三 → 张*三; an empty name stays empty."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + MASK
    return name[0] + MASK * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """13812341234 (also +86 138-1234-1234) → 138****1234.

    Short numbers (landline extensions) keep only their last two digits.
    """
    digits = normalize_phone(phone)
    if len(digits) >= 11:
        digits = digits[-11:]
        return digits[:3] + MASK * 4 + digits[-4:]
    if len(digits) <= 2:
        return MASK * len(digits)
    return MASK * (len(digits) - 2) + digits[-2:]


def mask_id_number(id_number: str) -> str:
    """610102199001011234 → 6101**********1234 (15-digit old numbers alike)."""
    value = id_number.strip().upper()
    if len(value) <= 8:
        return MASK * len(value)
    return value[:4] + MASK * (len(value) - 8) + value[-4:]


def normalize_phone(phone: str) -> str:
    """Digits only, without a leading 86 country code on a mainland mobile."""
    digits = _DIGITS_ONLY.sub("", phone)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def is_mobile(phone: str) -> bool:
    """A mainland mobile number (11 digits starting with 1[3-9]): SMS can reach it."""
    return re.fullmatch(r"1[3-9]\d{9}", normalize_phone(phone)) is not None
