"""ESC/POS bytes → what the paper would look like (a PNG), plus a transcript.

For tests, for the admin page's reprint / preview, and for people to look at.
It reads the subset `printer.render` emits, as an 80 mm (576 dot) or 58 mm
printer would print it:

* text: font A 12x24 for ASCII, 24x24 for Chinese, multiplied by ``GS !`` /
  ``ESC !``; alignment ``ESC a``, bold ``ESC E``, white on black ``GS B``;
  Chinese inside ``FS &`` … ``FS .`` decoded as GB18030 (outside Chinese mode
  a byte ≥ 0x80 is read as code page 437, which is what a printer does with
  text python-escpos sent without Chinese mode);
* QR codes (``GS ( k``, model 2, module size, error level), drawn with the
  ``qrcode`` library; raster images (``GS v 0``); feeds (``LF``, ``ESC d``,
  ``ESC J``); cuts (``GS V``) as a dashed line.

Status queries (``DLE EOT``) are skipped. Anything else is listed in
`Preview.unknown` so a test can insist there is nothing the renderer (and so
perhaps the printer) does not understand.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

from printer import fonts
from printer.render import qr_image
from printer.settings import DEFAULT_FONT

MARGIN = 16  # grey border around the paper in the picture
PAPER = 255
INK = 0
BACKGROUND = 200


@dataclass
class Preview:
    image: Image.Image
    lines: list[str] = field(default_factory=list)  # printed text, one entry per line
    qr: list[str] = field(default_factory=list)  # QR payloads in order
    images: int = 0  # raster images printed
    cuts: int = 0
    unknown: list[str] = field(default_factory=list)

    def png(self) -> bytes:
        buf = io.BytesIO()
        self.image.save(buf, format="PNG", optimize=True)
        return buf.getvalue()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class _Cell:
    ch: str
    wide: bool  # a Chinese (24-dot) character
    w: int
    h: int
    bold: bool
    invert: bool

    @property
    def dots(self) -> int:
        return (24 if self.wide else 12) * self.w


@functools.lru_cache(maxsize=4096)
def _glyph(ch: str, wide: bool, bold: bool, font_path: Path) -> Image.Image:
    """One character cell at normal size, ink = 255."""
    font = fonts.load(24, font_path)
    cell_w = 24 if wide else 12
    natural = int(font.getlength(ch)) + 1
    img = Image.new("L", (max(natural, cell_w), 24), 0)
    # a narrow glyph in a full-width cell (·) sits in the middle, as in printer fonts
    x = (cell_w - natural) // 2 if natural < cell_w else 0
    natural = max(natural, cell_w)
    ImageDraw.Draw(img).text((x, 20 if wide else 18), ch, font=font, fill=255, anchor="ls")
    if natural != cell_w:
        img = img.resize((cell_w, 24), Image.Resampling.LANCZOS)
    img = img.point(lambda v: 255 if v >= 110 else 0)
    if bold:  # the printer's emphasis: the same dots again one dot to the right
        shifted = Image.new("L", img.size, 0)
        shifted.paste(img, (1, 0))
        img = Image.composite(shifted, img, shifted)
    return img


class _Paper:
    def __init__(self, width: int, font_path: Path) -> None:
        self.width = width
        self.font_path = font_path
        self.strips: list[Image.Image] = []
        self.line: list[_Cell] = []
        self.line_align = 0
        self.lines: list[str] = []
        self.cuts = 0
        self.reset()

    def reset(self) -> None:
        self.size = (1, 1)
        self.align = 0  # 0 left, 1 centre, 2 right
        self.bold = False
        self.invert = False
        self.chinese = False
        self.spacing = 30

    def feed(self, dots: int) -> None:
        if dots > 0:
            self.strips.append(Image.new("L", (self.width, dots), PAPER))

    def put(self, ch: str, wide: bool) -> None:
        cell = _Cell(ch, wide, self.size[0], self.size[1], self.bold, self.invert)
        if sum(c.dots for c in self.line) + cell.dots > self.width:
            self.print_line()  # the printer wraps
        if not self.line:
            self.line_align = self.align
        self.line.append(cell)

    def print_line(self) -> None:
        """LF: print the buffer (an empty one just feeds)."""
        cells, self.line = self.line, []
        self.lines.append("".join(c.ch for c in cells))
        tallest = max((24 * c.h for c in cells), default=0)
        height = max(self.spacing, tallest)
        strip = Image.new("L", (self.width, height), PAPER)
        used = sum(c.dots for c in cells)
        x = [0, (self.width - used) // 2, self.width - used][self.line_align]
        for c in cells:
            glyph = _glyph(c.ch, c.wide, c.bold, self.font_path)
            if (c.w, c.h) != (1, 1):
                glyph = glyph.resize((glyph.width * c.w, 24 * c.h), Image.Resampling.NEAREST)
            top = height - glyph.height
            if c.invert:
                strip.paste(INK, (x, top, x + glyph.width, height))
                strip.paste(PAPER, (x, top), glyph)
            else:
                strip.paste(INK, (x, top), glyph)
            x += glyph.width
        self.strips.append(strip)

    def flush(self) -> None:
        if self.line:
            self.print_line()

    def picture(self, img: Image.Image) -> None:
        """A raster image or QR code, placed by the current alignment."""
        self.flush()
        strip = Image.new("L", (self.width, img.height), PAPER)
        free = max(0, self.width - img.width)
        strip.paste(img.convert("L"), ([0, free // 2, free][self.align], 0))
        self.strips.append(strip)

    def cut(self) -> None:
        self.flush()
        self.cuts += 1
        strip = Image.new("L", (self.width, 24), BACKGROUND)
        draw = ImageDraw.Draw(strip)
        for x in range(0, self.width, 16):
            draw.line((x, 12, x + 8, 12), fill=INK, width=2)
        self.strips.append(strip)

    def image(self) -> Image.Image:
        height = sum(s.height for s in self.strips) or 1
        out = Image.new("L", (self.width + 2 * MARGIN, height + 2 * MARGIN), BACKGROUND)
        y = MARGIN
        for s in self.strips:
            out.paste(s, (MARGIN, y))
            y += s.height
        return out


def _align(n: int) -> int:
    return {0: 0, 48: 0, 1: 1, 49: 1, 2: 2, 50: 2}.get(n, 0)


def render(data: bytes, width_dots: int = 576, font_path: Path = DEFAULT_FONT) -> Preview:
    """Draw `data` as the printer would; see the module docstring for the subset."""
    paper = _Paper(width_dots, font_path)
    qr_module, qr_data = 3, b""
    out = Preview(image=Image.new("L", (1, 1)))
    i, n = 0, len(data)

    def arg(k: int) -> int:
        return data[i + k] if i + k < n else 0

    while i < n:
        b = data[i]
        if b == 0x0A:
            paper.print_line()
            i += 1
        elif b == 0x0D:
            i += 1
        elif b == 0x1B:  # ESC
            cmd = arg(1)
            if cmd == 0x40:  # @
                paper.flush()
                paper.reset()
                i += 2
            elif cmd == 0x61:  # a
                paper.align = _align(arg(2))
                i += 3
            elif cmd in (0x45, 0x47):  # E, G: emphasis / double strike
                paper.bold = bool(arg(2) & 1)
                i += 3
            elif cmd == 0x21:  # ! print mode
                m = arg(2)
                paper.size = (2 if m & 0x20 else 1, 2 if m & 0x10 else 1)
                paper.bold = bool(m & 0x08)
                i += 3
            elif cmd == 0x64:  # d n: print and feed n lines
                paper.print_line()
                paper.feed(paper.spacing * max(0, arg(2) - 1))
                i += 3
            elif cmd == 0x4A:  # J n: print and feed n dots
                paper.flush()
                paper.feed(arg(2))
                i += 3
            elif cmd == 0x32:  # 2: default line spacing
                paper.spacing = 30
                i += 2
            elif cmd == 0x33:  # 3 n
                paper.spacing = arg(2)
                i += 3
            elif cmd in (0x2D, 0x4D, 0x74, 0x7B):  # underline, font, code page, upside down
                i += 3
            else:
                out.unknown.append(f"ESC {cmd:#04x}")
                i += 2
        elif b == 0x1D:  # GS
            cmd = arg(1)
            if cmd == 0x21:  # ! size
                m = arg(2)
                paper.size = ((m >> 4) + 1, (m & 0x0F) + 1)
                i += 3
            elif cmd == 0x42:  # B invert
                paper.invert = bool(arg(2) & 1)
                i += 3
            elif cmd == 0x62:  # b smoothing
                i += 3
            elif cmd == 0x56:  # V cut
                m = arg(2)
                if m in (65, 66):
                    paper.flush()
                    paper.feed(arg(3))
                    i += 4
                else:
                    i += 3
                paper.cut()
            elif cmd == 0x76 and arg(2) == 0x30:  # v 0 raster image
                wb = arg(4) | arg(5) << 8
                h = arg(6) | arg(7) << 8
                start = i + 8
                raw = data[start : start + wb * h].ljust(wb * h, b"\x00")
                # 1 bits are dots; Pillow's mode 1 reads 1 as white, so invert
                img = Image.frombytes("1", (wb * 8, h), raw).convert("L").point(lambda v: 255 - v)
                paper.picture(img)
                out.images += 1
                i = start + wb * h
            elif cmd == 0x28 and arg(2) == 0x6B:  # ( k: 2D code
                length = arg(3) | arg(4) << 8
                body = data[i + 5 : i + 5 + length]
                if len(body) >= 2 and body[0] == 0x31:  # cn 49: QR
                    fn = body[1]
                    if fn == 0x43:  # module size
                        qr_module = body[2]
                    elif fn == 0x50:  # store data (m = 48)
                        qr_data = bytes(body[3:])
                    elif fn == 0x51:  # print
                        text = qr_data.decode("utf-8", "replace")
                        out.qr.append(text)
                        paper.picture(qr_image(text, qr_module))
                else:
                    out.unknown.append("GS ( k (not QR)")
                i += 5 + length
            else:
                out.unknown.append(f"GS {cmd:#04x}")
                i += 2
        elif b == 0x1C:  # FS
            cmd = arg(1)
            if cmd == 0x26:
                paper.chinese = True
                i += 2
            elif cmd == 0x2E:
                paper.chinese = False
                i += 2
            elif cmd in (0x21, 0x43):  # FS ! (Chinese print mode), FS C (code system)
                i += 3
            else:
                out.unknown.append(f"FS {cmd:#04x}")
                i += 2
        elif b == 0x10 and arg(1) == 0x04:  # DLE EOT n: real-time status
            i += 3
        elif b == 0x09:  # HT
            paper.put(" ", False)
            i += 1
        elif b < 0x20 or b == 0x7F:
            out.unknown.append(f"control {b:#04x}")
            i += 1
        elif b < 0x80:
            paper.put(chr(b), False)
            i += 1
        elif paper.chinese and 0x81 <= b <= 0xFE:
            size = 4 if 0x30 <= arg(1) <= 0x39 else 2
            try:
                ch = data[i : i + size].decode("gb18030")
            except UnicodeDecodeError:
                ch = "\ufffd"
                out.unknown.append(f"bad GB18030 {data[i : i + size].hex()}")
            paper.put(ch, True)
            i += size
        else:
            paper.put(bytes((b,)).decode("cp437"), False)
            i += 1
    paper.flush()
    out.image = paper.image()
    out.lines = paper.lines
    out.cuts = paper.cuts
    return out


def render_png(data: bytes, width_dots: int = 576, font_path: Path = DEFAULT_FONT) -> bytes:
    """`render` straight to PNG bytes (the admin preview)."""
    return render(data, width_dots, font_path).png()
