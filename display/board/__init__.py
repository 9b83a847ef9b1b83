"""The hall boards' logic without Kivy: retained hall state in, a `BoardView`,
the calls to announce and the serial LED lines out (see docs/display.md)."""

from display.board.model import BoardViewModel
from display.board.settings import BoardKind, BoardSettings
from display.board.views import BoardView, CallRow, WaitRow, WindowPanel

__all__ = [
    "BoardKind",
    "BoardSettings",
    "BoardView",
    "BoardViewModel",
    "CallRow",
    "WaitRow",
    "WindowPanel",
]
