"""What a call says, as clip texts: 请 | A 零 一 二 | 号 | 到 | 五 | 号窗口 | 办理.

Ticket numbers are read digit by digit (A012 → A 零 一 二), as Chinese halls
and banks do: the number is a code, and 零一二 cannot be misheard as 十二.
The digit 1 is 一 by default; 幺 (radio and telephone usage) is a setting
for halls that prefer it. Window numbers are read as the number they are
(12 → 十二号窗口), which is how every hall names its windows.
"""

from __future__ import annotations

import re
import string

DIGITS = "零一二三四五六七八九"
PHRASES = ("请", "号", "到", "号窗口", "办理")
LETTERS = tuple(string.ascii_uppercase)
TEN = "十"

_TICKET = re.compile(r"^([A-Za-z]*)(\d+)$")
_NUMBERED_WINDOW = re.compile(r"^(\d+)\s*号窗口$")

Phrase = tuple[str, ...]  # clips said close together (digits of one number)


def vocabulary(one_as: str = "一") -> tuple[str, ...]:
    """Every clip a standard call can need: rendered at first run."""
    digits = tuple(_digit(d, one_as) for d in "0123456789")
    return (*PHRASES, *digits, TEN, *LETTERS)


def _digit(d: str, one_as: str) -> str:
    return one_as if d == "1" else DIGITS[int(d)]


def ticket_phrase(ticket: str, one_as: str = "一") -> Phrase:
    """A012 → (A, 零, 一, 二). Anything not letters-then-digits is said as it is."""
    m = _TICKET.match(ticket.strip())
    if m is None:
        return (ticket.strip(),)
    letters, digits = m.groups()
    return (*letters.upper(), *(_digit(d, one_as) for d in digits))


def cardinal(n: int) -> Phrase:
    """1-99 as said (五, 十, 十二, 二十, 二十一); larger numbers digit by digit."""
    if n < 0:
        raise ValueError(f"window number {n} is negative")
    if n < 10:
        return (DIGITS[n],)
    if n < 100:
        tens, ones = divmod(n, 10)
        head: Phrase = (TEN,) if tens == 1 else (DIGITS[tens], TEN)
        return head if ones == 0 else (*head, DIGITS[ones])
    return tuple(DIGITS[int(d)] for d in str(n))


def window_phrases(window: int, window_name: str) -> list[Phrase]:
    """5号窗口 → [(五,), (号窗口,)]; a named window (综合受理窗口) is said by name."""
    name = window_name.strip()
    m = _NUMBERED_WINDOW.match(name)
    if m is not None:
        return [cardinal(int(m.group(1))), ("号窗口",)]
    if not name:
        return [cardinal(window), ("号窗口",)]
    return [(name,)]


def call_phrases(ticket: str, window: int, window_name: str, one_as: str = "一") -> list[Phrase]:
    """请 A012 号 到 5 号窗口 办理, one phrase per word group."""
    return [
        ("请",),
        ticket_phrase(ticket, one_as),
        ("号",),
        ("到",),
        *window_phrases(window, window_name),
        ("办理",),
    ]
