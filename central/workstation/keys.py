"""The workstation's function keys, in one place: the page's buttons, its
keyboard handler and the legend are all drawn from `KEYS` (docs/workstation.md
repeats the table).

The order follows a clerk's day at a window, as software callers (软件呼叫器)
in Chinese halls lay it out: the keys pressed for every citizen first (F1
叫号 … F4 办结), the exceptions next, the window itself last. The browser's
own use of these keys (F1 help, F3 find, F5 reload, F6 address bar, F7 caret
browsing, F10 menu, F11 full screen, F12 developer tools) is suppressed on
the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Key:
    key: str  # "F1"
    verb: str  # the path segment of POST /workstation/{n}/act/{verb}
    label: str  # what the button says
    fields: str = ""  # CSS selector of the form fields sent along (hx-include)


KEYS: Final = (
    Key("F1", "next", "叫号"),
    Key("F2", "recall", "重呼"),
    Key("F3", "start", "开始办理"),
    Key("F4", "finish", "办结", "#f-outcome"),
    Key("F5", "transfer", "转办", "#f-transfer-service, #f-transfer-reason, #f-transfer-return"),
    Key("F6", "park", "暂挂", "#f-park-reason"),
    Key("F7", "no_show", "过号", "#f-noshow-reason"),
    Key("F8", "call", "指定叫号", "#f-call-number, #f-call-reason"),
    Key("F9", "pause", "暂停", "#f-pause-reason"),
    Key("F10", "resume", "恢复"),
    Key("F11", "login", "签到"),
    Key("F12", "logout", "签退"),
)
BY_VERB: Final = {k.verb: k for k in KEYS}
