"""What the ticket and the checklist say and look like, byte for byte and dot for dot."""

from __future__ import annotations

from escpos.printer import Dummy

from printer import gb18030, preview, render
from tests.printer.conftest import (
    assert_looks_like,
    checklist,
    golden_bytes,
    save_artifact,
    settings,
    ticket,
)


def test_ticket_bytes_match_the_golden_file() -> None:
    data = render.ticket_bytes(ticket(), settings())
    assert data == golden_bytes("ticket-gb18030.bin", data)
    # the parts a printer acts on
    assert data.startswith(b"\x1b@")  # ESC @
    assert b"\x1c&" + "您的号码".encode("gb18030") + b"\x1c." in data
    assert b"\x1d(k" in data  # native QR
    assert data.endswith(b"\x1dV\x00")  # full cut


def test_ticket_reads_like_a_chinese_queue_ticket() -> None:
    p = preview.render(render.ticket_bytes(ticket(), settings()))
    text = [line.strip() for line in p.lines if line.strip()]
    assert text[0] == "安心市政务服务中心"
    assert text[text.index("您的号码") + 1] == "A012"
    assert "社保卡申领" in text
    assert "前面还有 3 人" in text
    assert "预计等候约 15 分钟" in text
    assert "取号时间：2026-05-04 09:31" in text  # Asia/Shanghai, not UTC 01:31
    assert "扫码查看排队进度" in text
    assert "请留意叫号，过号需重新取号" in text
    assert "离线取号 · 号码有效" not in text
    assert p.qr == ["https://hall.example.cn/q/t/8f3a2c71"]
    assert p.cuts == 1
    assert p.unknown == []


def test_ticket_looks_like_the_golden_png() -> None:
    p = preview.render(render.ticket_bytes(ticket(), settings()))
    assert_looks_like("ticket", p.image)


def test_offline_priority_ticket_says_so_and_looks_right() -> None:
    content = ticket(offline=True, priority_label="绿色通道", number="B107", notice="")
    p = preview.render(render.ticket_bytes(content, settings()))
    text = [line.strip() for line in p.lines]
    assert "离线取号 · 号码有效" in text
    assert "绿色通道" in text
    assert "B107" in text
    assert_looks_like("ticket-offline", p.image)


def test_raster_profile_prints_the_same_ticket_as_images() -> None:
    data = render.ticket_bytes(ticket(offline=True), settings(profile="raster"))
    assert b"\x1c&" not in data  # no Chinese mode needed
    assert not any(b >= 0x80 for b in _outside_images(data))  # no text bytes at all
    p = preview.render(data)
    assert p.images > 10
    assert p.unknown == []
    assert_looks_like("ticket-raster", p.image)


def _outside_images(data: bytes) -> bytes:
    """The job without the payload of GS v 0 images."""
    out, i = bytearray(), 0
    while i < len(data):
        if data[i : i + 3] == b"\x1dv0":
            wb, h = data[i + 4] | data[i + 5] << 8, data[i + 6] | data[i + 7] << 8
            i += 8 + wb * h
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


def test_gb18030_punctuation_round_trips_through_the_preview() -> None:
    line = "收费：￥20，当日办结。"
    data = render.render_blocks([render.Text(line)], settings())
    assert b"\x1c&" + "收费：￥".encode("gb18030") + b"\x1c.20" in data
    assert preview.render(data).lines[0] == line


def test_python_escpos_alone_would_print_question_marks() -> None:
    """Why gb18030.encode exists: python-escpos 3.1 has no GB18030 code page."""
    d = Dummy()
    d.text("：，。￥\n")
    assert "：，。￥" not in preview.render(bytes(d.output)).lines[0]
    assert preview.render(gb18030.encode("：，。￥") + b"\n").lines[0] == "：，。￥"


def test_control_characters_in_content_never_reach_the_printer() -> None:
    content = ticket(service="社保\x1b@\x1dV\x00卡申领", notice="请\n留意")
    data = render.ticket_bytes(content, settings())
    assert data.count(b"\x1b@") == 1  # only our own init
    assert data.count(b"\x1dV") == 1  # only our own cut
    # what is left of the injected commands prints as plain text
    assert "社保@V卡申领" in [line.strip() for line in preview.render(data).lines]


def test_a_long_service_name_wraps_without_breaking_before_punctuation() -> None:
    content = ticket(service="不动产登记（二手房转移登记、抵押登记）", number="C1")
    p = preview.render(render.ticket_bytes(content, settings()))
    assert p.unknown == []
    lines = [line.strip() for line in p.lines]
    start = next(i for i, line in enumerate(lines) if line.startswith("不动产"))
    wrapped = lines[start : start + 2]
    assert "".join(wrapped) == "不动产登记（二手房转移登记、抵押登记）"
    assert wrapped[1][0] not in "，。、）"
    # 2x size on 80 mm paper: at most 12 Chinese characters a line
    assert all(gb18030.columns(line) <= 24 for line in wrapped)


def test_58mm_paper_keeps_everything_inside_384_dots() -> None:
    s = settings(width_dots=384)
    p = preview.render(render.ticket_bytes(ticket(), s), width_dots=384)
    assert p.unknown == []
    assert "A012" in [line.strip() for line in p.lines]
    save_artifact("ticket-58mm", p.image)


def test_checklist_bytes_and_picture() -> None:
    data = render.checklist_bytes(checklist(), settings())
    assert data == golden_bytes("checklist-gb18030.bin", data)
    p = preview.render(data)
    lines = [line.rstrip() for line in p.lines]
    assert "办事材料清单" in [line.strip() for line in lines]
    assert "2. 户口簿原件" in lines
    # continuation lines are indented under the text, not under the number
    first = next(i for i, line in enumerate(lines) if line.startswith("1. "))
    assert lines[first + 1].startswith("   ")
    assert lines[first + 1].strip()
    assert p.qr == ["https://hall.example.cn/g/m/yb-001"]
    assert_looks_like("checklist", p.image)
