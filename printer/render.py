"""Ticket and checklist content → ESC/POS bytes.

Layout first: `ticket_blocks` / `checklist_blocks` describe what goes on the
paper (text lines with size and alignment, rules, a QR code, feed, cut), in
Chinese. Then one of two profiles turns the blocks into bytes, built on a
python-escpos ``Dummy`` printer (alignment, size, bold, QR, images, cut):

* ``gb18030`` (default): text in the printer's own Chinese font, each
  non-ASCII run as GB18030 inside ``FS &`` … ``FS .`` (`printer.gb18030`);
  QR as the printer's native ``GS ( k``. Small jobs, sharp text; needs a
  printer with a GB18030 (or GBK/GB2312) font, which every thermal printer
  sold in China has.
* ``raster``: every line drawn with Pillow and the WenQuanYi font and sent as
  a ``GS v 0`` raster image, the QR as an image too. For printers without a
  Chinese font or with a broken Chinese mode; jobs about 100x bigger and
  slower on serial lines.

Sizes are multipliers of the printer's 12x24 dot font (a Chinese character is
24x24). All text is cleaned of control characters before it is encoded.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

import qrcode
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy
from PIL import Image, ImageChops, ImageDraw

from printer import fonts, gb18030
from printer.api import ChecklistContent, TicketContent
from printer.settings import PrinterSettings

Align = Literal["left", "center", "right"]

OFFLINE_LINE = "离线取号 · 号码有效"
QR_CAPTION = "扫码查看排队进度"
DEFAULT_NOTICE = "请留意叫号，过号需重新取号"


@dataclass(frozen=True)
class Text:
    text: str
    width: int = 1  # multiplier of the 12x24 / 24x24 font, 1..8
    height: int = 1
    align: Align = "left"
    bold: bool = False
    invert: bool = False  # white on black
    indent: int = 0  # continuation lines start this many columns in (lists)


@dataclass(frozen=True)
class Rule:
    pass


@dataclass(frozen=True)
class QR:
    data: str


@dataclass(frozen=True)
class Feed:
    dots: int = 24  # ESC J n: 8 dots = 1 mm


@dataclass(frozen=True)
class Cut:
    pass


Block = Text | Rule | QR | Feed | Cut


def _local(when: dt.datetime, tz: str) -> str:
    if when.tzinfo is None:
        raise ValueError("time must be timezone-aware")
    return when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _number_size(number: str, settings: PrinterSettings) -> int:
    cols = max(1, gb18030.columns(number))
    return max(2, min(6, settings.columns // cols))


def _fit(text: str, settings: PrinterSettings) -> int:
    """Double width when the line fits that way, else normal width (tall text)."""
    return 2 if 2 * gb18030.columns(text) <= settings.columns else 1


def ticket_blocks(c: TicketContent, settings: PrinterSettings) -> list[Block]:
    """What a queue ticket says, top to bottom."""
    size = _number_size(c.number, settings)
    blocks: list[Block] = [
        Text(c.hall_name, _fit(c.hall_name, settings), 2, "center", bold=True),
        Rule(),
        Text("您的号码", align="center"),
        Text(c.number, size, size, "center", bold=True),
    ]
    if c.priority_label:
        blocks.append(Text(c.priority_label, align="center", invert=True))
    blocks += [Feed(8), Text(c.service, 2, 2, "center", bold=True), Feed(12)]
    if c.ahead is not None:
        blocks.append(Text(f"前面还有 {c.ahead} 人", align="center", bold=True))
    if c.minutes is not None:
        blocks.append(Text(f"预计等候约 {c.minutes} 分钟", align="center"))
    blocks.append(Text(f"取号时间：{_local(c.issued_at, c.timezone)}", align="center"))
    if c.offline:
        blocks += [Feed(12), Text(OFFLINE_LINE, align="center", bold=True, invert=True)]
    blocks += [Feed(16), QR(c.qr_url), Text(QR_CAPTION, align="center"), Rule()]
    blocks.append(Text(c.notice or DEFAULT_NOTICE, align="center"))
    blocks.append(Cut())
    return blocks


def checklist_blocks(c: ChecklistContent, settings: PrinterSettings) -> list[Block]:
    """A material checklist (办事材料清单), numbered, with a QR to take it along."""
    blocks: list[Block] = [
        Text(c.hall_name, align="center"),
        Text("办事材料清单", 2, 2, "center", bold=True),
        Rule(),
        Text(c.title, 1, 2, "left", bold=True),
        Feed(8),
    ]
    for i, line in enumerate(c.lines, 1):
        prefix = f"{i}. " if i < 10 else f"{i}."
        blocks.append(Text(prefix + line, indent=gb18030.columns(prefix)))
    blocks += [
        Rule(),
        Feed(8),
        QR(c.qr_url),
        Text("扫码带走这份清单", align="center"),
        Text(f"打印时间：{_local(c.printed_at, c.timezone)}", align="center"),
        Cut(),
    ]
    return blocks


def qr_module(settings: PrinterSettings) -> int:
    """QR module size in dots: 7 on 80 mm paper, 5 on 58 mm."""
    return 7 if settings.width_dots >= 512 else 5


def _wrap_block(block: Text, width: float, measure: gb18030.Measure) -> list[str]:
    first, *rest = gb18030.wrap(block.text, width, measure)
    if not rest or block.indent == 0:
        return [first, *rest]
    pad = " " * block.indent
    tail = " ".join(rest)
    return [first, *(pad + line for line in gb18030.wrap(tail, width - block.indent, measure))]


class _Job:
    """A python-escpos Dummy set up for our paper width; style commands only on change."""

    def __init__(self, settings: PrinterSettings) -> None:
        self.p = Dummy()
        # image() checks the width against the profile; give it ours (a copy: profiles are shared)
        self.p.profile.profile_data = copy.deepcopy(self.p.profile.profile_data)
        self.p.profile.profile_data["media"]["width"]["pixels"] = settings.width_dots
        self.p.hw("INIT")  # ESC @: left, normal size, not bold
        self._size = (1, 1)
        self._align: Align = "left"
        self._bold = False
        self._invert = False

    def style(
        self,
        *,
        size: tuple[int, int] = (1, 1),
        align: Align = "left",
        bold: bool = False,
        invert: bool = False,
    ) -> None:
        if size != self._size:
            # GS ! n: width multiplier in the high nibble, height in the low one
            self.raw(b"\x1d!" + bytes(((size[0] - 1) << 4 | (size[1] - 1),)))
            self._size = size
        if align != self._align:
            self.p.set(align=align)
            self._align = align
        if bold != self._bold:
            self.p.set(bold=bold)
            self._bold = bold
        if invert != self._invert:
            self.p.set(invert=invert)
            self._invert = invert

    def raw(self, data: bytes) -> None:
        self.p._raw(data)

    def output(self) -> bytes:
        return bytes(self.p.output)


def _render_gb18030(blocks: Sequence[Block], s: PrinterSettings) -> bytes:
    job = _Job(s)
    p = job.p
    for block in blocks:
        if isinstance(block, Text):
            size = (block.width, block.height)
            job.style(size=size, align=block.align, bold=block.bold, invert=block.invert)
            for line in _wrap_block(
                block, s.columns / block.width - block.invert * 2, gb18030.columns
            ):
                padded = f" {line} " if block.invert else line
                job.raw(gb18030.encode(padded) + b"\n")
        elif isinstance(block, Rule):
            job.style()
            job.raw(b"-" * s.columns + b"\n")
        elif isinstance(block, QR):
            job.style(align="center")
            p.qr(block.data, ec=QR_ECLEVEL_M, size=qr_module(s), native=True)
            job.raw(b"\n")
        elif isinstance(block, Feed):
            job.raw(b"\x1bJ" + bytes((min(255, block.dots),)))
        elif isinstance(block, Cut):
            job.style()
            p.cut()
    return job.output()


# --- raster profile -------------------------------------------------------------


def _raster_text(line: str, block: Text, s: PrinterSettings) -> Image.Image:
    """One printed line as a 1-bit image the full paper width (black = ink)."""
    px = 24 * block.height
    font = fonts.load(px, s.font_path)
    stroke = max(1, px // 48) if block.bold else 0
    line_h = 30 * block.height
    glyphs = Image.new("L", (int(font.getlength(line)) + 2 * stroke + 2, line_h), 0)
    ImageDraw.Draw(glyphs).text(
        (stroke + 1, 3 * block.height),
        line,
        font=font,
        fill=255,
        stroke_width=stroke,
        stroke_fill=255,
    )
    if block.width != block.height:
        wide = max(1, glyphs.width * block.width // block.height)
        glyphs = glyphs.resize((wide, line_h), Image.Resampling.BICUBIC)
    ink = glyphs.point(lambda v: 255 if v >= 110 else 0)
    canvas = Image.new("L", (s.width_dots, line_h), 0)
    free = max(0, s.width_dots - ink.width)
    x = {"left": 0, "center": free // 2, "right": free}[block.align]
    canvas.paste(ink, (x, 0))
    if block.invert:
        bar = Image.new("L", canvas.size, 0)
        pad = 12
        ImageDraw.Draw(bar).rectangle(
            (max(0, x - pad), 0, min(s.width_dots, x + ink.width + pad) - 1, line_h - 1), fill=255
        )
        canvas = ImageChops.difference(bar, canvas)
    return canvas.point(lambda v: 0 if v >= 128 else 255).convert("1")


def _raster_rule(s: PrinterSettings) -> Image.Image:
    img = Image.new("1", (s.width_dots, 14), 1)
    ImageDraw.Draw(img).line((0, 7, s.width_dots - 1, 7), fill=0, width=2)
    return img


def qr_image(data: str, module: int) -> Image.Image:
    """The QR code as the printer draws it: `module` dots per module, no quiet zone."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=0)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    n = len(matrix)
    img = Image.new("1", (n, n), 1)
    img.putdata([0 if cell else 1 for row in matrix for cell in row])
    return img.resize((n * module, n * module), Image.Resampling.NEAREST)


def _render_raster(blocks: Sequence[Block], s: PrinterSettings) -> bytes:
    job = _Job(s)
    p = job.p

    def measure(text: str) -> float:
        return float(fonts.load(24, s.font_path).getlength(text))

    for block in blocks:
        if isinstance(block, Text):
            width = (s.width_dots - 8) / block.width
            for line in _wrap_block(block, width, measure):
                p.image(_raster_text(line, block, s), impl="bitImageRaster")
        elif isinstance(block, Rule):
            p.image(_raster_rule(s), impl="bitImageRaster")
        elif isinstance(block, QR):
            code = qr_image(block.data, qr_module(s))
            framed = Image.new("1", (s.width_dots, code.height + 16), 1)
            framed.paste(code, ((s.width_dots - code.width) // 2, 8))
            p.image(framed, impl="bitImageRaster")
        elif isinstance(block, Feed):
            job.raw(b"\x1bJ" + bytes((min(255, block.dots),)))
        elif isinstance(block, Cut):
            p.cut()
    return job.output()


def render_blocks(blocks: Sequence[Block], settings: PrinterSettings) -> bytes:
    if settings.profile == "raster":
        return _render_raster(blocks, settings)
    return _render_gb18030(blocks, settings)


def ticket_bytes(content: TicketContent, settings: PrinterSettings) -> bytes:
    """The whole ticket job, from ``ESC @`` to the cut."""
    return render_blocks(ticket_blocks(content, settings), settings)


def checklist_bytes(content: ChecklistContent, settings: PrinterSettings) -> bytes:
    return render_blocks(checklist_blocks(content, settings), settings)
