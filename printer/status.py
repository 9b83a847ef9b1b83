"""Real-time status (``DLE EOT n``) → `PrinterState`.

Three questions, each answered with one byte whose fixed bits are
``0b0xx1xx10`` (bit 1 and bit 4 set, bits 0 and 7 clear):

* ``DLE EOT 1`` printer status: bit 3 offline.
* ``DLE EOT 2`` offline cause: bit 2 cover open, bit 5 stopped for paper end,
  bit 6 error.
* ``DLE EOT 4`` roll paper sensor: bits 2-3 near end, bits 5-6 paper end.

No answer at all means the printer is off or not there (OFFLINE); an answer
with wrong fixed bits (a line that echoes what we send, noise) is UNKNOWN,
never OK. Real-time commands are answered even while the printer is busy or
stopped, so they also work in the middle of a job.
"""

from __future__ import annotations

from dataclasses import dataclass

from printer.api import PrinterState
from printer.transports import Transport

PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER = 1, 2, 3, 4
_FIXED_MASK, _FIXED = 0x93, 0x12


def query(n: int) -> bytes:
    return bytes((0x10, 0x04, n))


def valid(byte: int) -> bool:
    return byte & _FIXED_MASK == _FIXED


def encode_status(
    n: int, *, paper: str = "ok", cover_open: bool = False, offline: bool = False
) -> int:
    """The byte a printer answers to ``DLE EOT n`` (for simulators and tests).

    `paper` is "ok", "near_end" or "out"; a printer with its cover open or out of
    paper is offline too, as real ones report.
    """
    out = paper == "out"
    if n == PRINTER:
        return _FIXED | (0x08 if (offline or out or cover_open) else 0)
    if n == OFFLINE_CAUSE:
        return _FIXED | (0x04 if cover_open else 0) | (0x20 if out else 0)
    if n == PAPER:
        return _FIXED | (0x0C if paper in ("near_end", "out") else 0) | (0x60 if out else 0)
    return _FIXED


@dataclass(frozen=True)
class Status:
    """What the printer said, and what it means."""

    state: PrinterState
    detail: str  # Chinese, for staff
    raw: dict[int, int]  # n -> byte answered


DETAIL = {
    PrinterState.OK: "打印机正常",
    PrinterState.PAPER_NEAR_END: "打印纸即将用完，请及时更换",
    PrinterState.PAPER_OUT: "打印机缺纸，请更换打印纸",
    PrinterState.COVER_OPEN: "打印机纸仓盖未关好",
    PrinterState.OFFLINE: "打印机离线或未开机",
    PrinterState.UNKNOWN: "无法读取打印机状态",
}


def decode(raw: dict[int, int]) -> Status:
    """Map answered bytes to a state; paper out wins over cover open over offline."""
    if not raw:
        return Status(PrinterState.OFFLINE, "打印机无应答（未开机、未连接或线路故障）", raw)
    if not all(valid(b) for b in raw.values()):
        return Status(PrinterState.UNKNOWN, "打印机状态应答无效（线路回环或干扰）", raw)
    printer = raw.get(PRINTER, _FIXED)
    cause = raw.get(OFFLINE_CAUSE, _FIXED)
    paper = raw.get(PAPER, _FIXED)
    if paper & 0x60 or cause & 0x20:
        state = PrinterState.PAPER_OUT
    elif cause & 0x04:
        state = PrinterState.COVER_OPEN
    elif printer & 0x08 or cause & 0x40:
        state = PrinterState.OFFLINE
    elif paper & 0x0C:
        state = PrinterState.PAPER_NEAR_END
    else:
        state = PrinterState.OK
    return Status(state, DETAIL[state], raw)


def read_status(link: Transport, timeout_s: float = 0.5) -> Status:
    """Ask the open `link` (which must be able to read) how the printer is."""
    raw: dict[int, int] = {}
    for n in (PRINTER, PAPER, OFFLINE_CAUSE):
        if n == OFFLINE_CAUSE and PRINTER in raw and not raw[PRINTER] & 0x08:
            break  # online: no offline cause to ask for
        link.discard_input()
        link.write(query(n))
        answer = link.read(1, timeout_s)
        if not answer:
            return decode({})  # a printer that stops answering is not there
        raw[n] = answer[0]
        if not valid(answer[0]):
            break  # not a printer talking; no point asking more
    return decode(raw)
