"""The kiosk's 居民身份证 reader: the SAM_V serial protocol against a fake of the
reader's hardware on the far end of pyserial's ``socket://``.

The fake builds its answers from the published byte layout (frame, status
codes, UCS-2 text block), not from `edge.ports.idcard`; its builder is checked
against answer frames quoted in public protocol write-ups first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from anxin.settings import PortsSettings
from edge.ports.factory import build_ports
from edge.ports.idcard import (
    CardRead,
    FrameError,
    SamIdCardReader,
    SimIdCardReader,
    command,
    parse_answer,
    parse_card,
)
from kiosk_ui.viewmodels.kiosk import Screen
from kiosk_ui.viewmodels.views import HomeView
from tests.kiosk_ui.conftest import Kiosk, screen_of

PRE = bytes.fromhex("AAAAAA9669")
NUMBER = "11010519491231002X"  # GB 11643's own example, valid check digit
NAME = "张小三"
OTHER = ("610102199001010036", "欧阳娜娜")


# --- the reader's side, from the documented layout -------------------------------------


def xor(data: bytes) -> int:
    out = 0
    for b in data:
        out ^= b
    return out


def answer(sw3: int, data: bytes = b"", *, sw1: int = 0, sw2: int = 0) -> bytes:
    """Preamble, Len1 Len2 (SW1..CHK), SW1 SW2 SW3, data, XOR of Len..data."""
    body = bytes((sw1, sw2, sw3)) + data
    length = (len(body) + 1).to_bytes(2, "big")
    return PRE + length + body + bytes((xor(length + body),))


def field(text: str, size: int) -> bytes:
    raw = text.encode("utf-16-le")
    assert len(raw) <= size
    return raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)


def text_block(name: str, number: str) -> bytes:
    block = (
        field(name, 30)
        + field("1", 2)  # sex
        + field("01", 4)  # nation: 汉
        + field("19491231", 16)
        + field("北京市朝阳区某某路1号院2号楼3单元401室", 70)
        + field(number, 36)
        + field("北京市公安局朝阳分局", 30)
        + field("20150101", 16)
        + field("20350101", 16)
    )
    return block + b" \x00" * ((256 - len(block)) // 2)


PHOTO = bytes(range(256)) * 4  # 1024 bytes standing in for the WLT photo


def read_data(name: str, number: str) -> bytes:
    text = text_block(name, number)
    return len(text).to_bytes(2, "big") + len(PHOTO).to_bytes(2, "big") + text + PHOTO


def test_fake_answers_match_published_frames() -> None:
    # find → card found, select → done: answers quoted in the protocol write-ups
    assert answer(0x9F, bytes(4)) == bytes.fromhex("AAAAAA9669000800009F0000000097")
    assert answer(0x90, bytes(8)) == bytes.fromhex("AAAAAA9669000C00009000000000000000009C")
    assert len(answer(0x90, read_data(NAME, NUMBER))) == 1295
    assert len(answer(0x80)) == 11  # a bare status


def test_commands_are_the_published_bytes() -> None:
    assert command(0x20, 0x01) == bytes.fromhex("AAAAAA96690003200122")  # find card
    assert command(0x20, 0x02) == bytes.fromhex("AAAAAA96690003200221")  # select card
    assert command(0x30, 0x01) == bytes.fromhex("AAAAAA96690003300132")  # read text+photo
    assert command(0x11, 0xFF) == bytes.fromhex("AAAAAA9669000311FFED")  # SAM status


class FakeReader:
    """A SAM_V reader on a TCP socket: a card lies on it or not; answers find,
    select and read; a command with a bad checksum gets status 10. ``script``
    holds raw answers to send instead of the proper ones (noise, bad frames)."""

    def __init__(self, *, halt_after_read: bool = False) -> None:
        self.halt_after_read = halt_after_read  # many modules: "no card" once read
        self.card: tuple[str, str] | None = None
        self.halted = False
        self.script: deque[bytes] = deque()
        self.commands: list[tuple[int, int]] = []
        self.reads = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def place(self, number: str = NUMBER, name: str = NAME) -> None:
        with self._lock:
            self.card, self.halted = (name, number), False

    def lift(self) -> None:
        with self._lock:
            self.card, self.halted = None, False

    def _serve(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(0.2)
                buffer = b""
                while not self._stop.is_set():
                    try:
                        chunk = conn.recv(4096)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not chunk:
                        break
                    buffer += chunk
                    while (start := buffer.find(PRE)) >= 0 and len(buffer) >= start + 7:
                        length = int.from_bytes(buffer[start + 5 : start + 7], "big")
                        end = start + 7 + length
                        if len(buffer) < end:
                            break
                        frame, buffer = buffer[start:end], buffer[end:]
                        conn.sendall(self._answer(frame))

    def _answer(self, frame: bytes) -> bytes:
        if xor(frame[5:-1]) != frame[-1]:
            return answer(0x10)
        cmd = (frame[7], frame[8])
        with self._lock:
            self.commands.append(cmd)
            if self.script:
                return self.script.popleft()
            card = None if self.halted else self.card
            if cmd == (0x20, 0x01):
                return answer(0x9F, bytes(4)) if card else answer(0x80)
            if cmd == (0x20, 0x02):
                return answer(0x90, bytes(8)) if card else answer(0x81)
            if cmd == (0x30, 0x01):
                if card is None:
                    return answer(0x41)
                self.reads += 1
                self.halted = self.halt_after_read
                return answer(0x90, read_data(*card))
            return answer(0x21)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._server.close()


@pytest.fixture
def fake() -> Iterator[FakeReader]:
    reader = FakeReader()
    yield reader
    reader.close()


class Reads:
    def __init__(self) -> None:
        self.got: queue.Queue[CardRead] = queue.Queue()

    def __call__(self, card: CardRead) -> None:
        self.got.put(card)

    def next(self, within: float = 3.0) -> CardRead:
        return self.got.get(timeout=within)

    def none_within(self, seconds: float) -> bool:
        try:
            self.got.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


@pytest.fixture
def port_of(fake: FakeReader) -> Iterator[Callable[..., SamIdCardReader]]:
    made: list[SamIdCardReader] = []

    def make(**kw: Any) -> SamIdCardReader:
        reader = SamIdCardReader(fake.url, **({"poll_s": 0.05, "answer_timeout_s": 0.5} | kw))
        made.append(reader)
        return reader

    yield make
    for reader in made:
        reader.close()


def wait_until(check: Callable[[], bool], within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- the port ------------------------------------------------------------------------------


@pytest.mark.parametrize("halt_after_read", [False, True], ids=["keeps-finding", "halts"])
def test_a_card_held_is_reported_once_and_again_when_placed_again(
    halt_after_read: bool, port_of: Callable[..., SamIdCardReader], fake: FakeReader
) -> None:
    fake.halt_after_read = halt_after_read
    reads = Reads()
    reader = port_of()
    reader.start(reads)
    assert reads.none_within(0.3)  # nothing on the reader: nothing reported
    assert reader.state == "reading"

    fake.place()
    card = reads.next()
    assert (card.id_number, card.name) == (NUMBER, NAME)
    assert [f.name for f in dataclasses.fields(card)] == ["id_number", "name"]  # no photo
    assert NUMBER not in repr(card)
    assert NAME not in repr(card)
    polls = len(fake.commands)
    assert reads.none_within(0.5)  # still lying there: not again
    assert len(fake.commands) > polls + 3  # the reader kept polling meanwhile
    assert fake.reads == 1

    fake.lift()
    wait_until(lambda: fake.commands[-1] == (0x20, 0x01) and fake.card is None)
    time.sleep(0.2)
    fake.place(*OTHER)
    assert reads.next() == CardRead(*OTHER)
    fake.lift()
    time.sleep(0.2)
    fake.place()
    assert reads.next().id_number == NUMBER  # the first card, placed again


def test_no_card_answers_are_quiet(
    port_of: Callable[..., SamIdCardReader], fake: FakeReader, caplog: pytest.LogCaptureFixture
) -> None:
    reads = Reads()
    reader = port_of()
    with caplog.at_level(logging.INFO, logger="edge.ports.idcard"):
        reader.start(reads)
        assert reads.none_within(0.5)
    assert fake.commands.count((0x20, 0x01)) >= 5
    assert (0x30, 0x01) not in fake.commands  # no card: never selected nor read
    assert reader.state == "reading"
    assert not caplog.records  # an empty reader fills no log


def test_a_wrong_checksum_is_rejected_with_a_logged_reason(
    port_of: Callable[..., SamIdCardReader], fake: FakeReader, caplog: pytest.LogCaptureFixture
) -> None:
    good = answer(0x90, read_data(NAME, NUMBER))
    bad = good[:-1] + bytes((good[-1] ^ 0x01,))
    fake.place()
    fake.script.extend([answer(0x9F, bytes(4)), answer(0x90, bytes(8)), bad])
    reads = Reads()
    reader = port_of()
    with caplog.at_level(logging.WARNING, logger="edge.ports.idcard"):
        reader.start(reads)
        card = reads.next()  # the next round reads the card properly
    assert card.id_number == NUMBER
    assert fake.reads == 1  # the corrupted read came from the script
    reasons = [r.getMessage() for r in caplog.records]
    assert any("checksum" in r and "expected" in r for r in reasons), reasons
    assert all(NUMBER not in r and NAME not in r for r in reasons)
    assert reader.rejected == 1


def test_status_errors_are_logged_and_nothing_is_reported(
    port_of: Callable[..., SamIdCardReader], fake: FakeReader, caplog: pytest.LogCaptureFixture
) -> None:
    fake.place()
    fake.script.extend([answer(0x9F, bytes(4)), answer(0x90, bytes(8)), answer(0x41)])
    reads = Reads()
    with caplog.at_level(logging.WARNING, logger="edge.ports.idcard"):
        port_of().start(reads)
        assert reads.next().id_number == NUMBER  # the retry after the failed read
    assert any("读证/卡操作失败" in r.getMessage() for r in caplog.records)


GARBAGE = [
    b"",  # silence: the answer never comes
    b"\x00\x01\x02 noise",
    PRE,  # a preamble and nothing else
    PRE + b"\xff\xff" + bytes(20),  # an absurd length
    PRE + b"\x00\x02\x90\x92",  # a length below the status bytes
    answer(0x90, b"\x01\x00\x04\x00" + bytes(10)),  # block lengths past the frame
    answer(0x90, read_data(NAME, "NOT-AN-ID-NUMBER")),  # not a resident ID card
    answer(0x90, b"\x01\x00\x00\x00" + b"\x00\xd8" * 128),  # lone surrogates: not UCS-2
    b"junk" + answer(0x9F, bytes(4)),  # noise before a good frame
]


def test_garbled_answers_never_stop_the_port(
    port_of: Callable[..., SamIdCardReader], fake: FakeReader, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(5)
    fake.place()
    for garbage in GARBAGE:
        # each garbled answer where the read's answer belongs, after a good find/select
        fake.script.extend([answer(0x9F, bytes(4)), answer(0x90, bytes(8)), garbage])
    fake.script.extend(
        bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))) for _ in range(20)
    )
    reads = Reads()
    reader = port_of(answer_timeout_s=0.2)
    with caplog.at_level(logging.WARNING, logger="edge.ports.idcard"):
        reader.start(reads)
        card = reads.next(within=15)
    assert card.id_number == NUMBER  # reported once the reader answers properly again
    assert reader._thread is not None
    assert reader._thread.is_alive()
    assert reader.rejected >= len(GARBAGE) - 2
    assert reader.state == "reading"  # the last round went well: no stale error
    assert any("resident ID number" in r.getMessage() for r in caplog.records)
    assert any("out of range" in r.getMessage() for r in caplog.records)


def test_frame_parsers_raise_only_frame_errors_on_random_bytes() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        size = rng.randrange(0, 40)
        blob = bytes(rng.randrange(256) for _ in range(size))
        for candidate in (blob, PRE + blob, answer(0x90, blob)):
            with contextlib.suppress(FrameError):
                parse_card(parse_answer(candidate).data)


def test_the_photo_and_other_fields_are_not_kept() -> None:
    card = parse_card(parse_answer(answer(0x90, read_data(NAME, NUMBER))).data)
    assert vars(card) == {"id_number": NUMBER, "name": NAME}


# --- settings, simulation, the kiosk screen ----------------------------------------------------


def test_settings_choose_the_sam_reader_and_sim_overrides(fake: FakeReader) -> None:
    config = PortsSettings.model_validate({"idcard": {"kind": "sam", "url": fake.url}})
    real = build_ports(["idcard"], config, sim=False)
    assert isinstance(real.idcard, SamIdCardReader)
    assert real.idcard.url == fake.url
    assert real.idcard.baudrate == 115200
    assert isinstance(build_ports(["idcard"], config, sim=True).idcard, SimIdCardReader)
    assert isinstance(build_ports(["idcard"], PortsSettings(), sim=False).idcard, SimIdCardReader)
    with pytest.raises(ValidationError, match="url"):
        PortsSettings.model_validate({"idcard": {"kind": "sam"}})  # a real reader needs its URL
    real.close()


def test_the_simulated_reader_delivers_a_placed_card() -> None:
    reads = Reads()
    sim = SimIdCardReader()
    sim.place(NUMBER, NAME)  # not started: nobody to tell
    sim.start(reads)
    sim.place(NUMBER.lower(), f" {NAME} ")
    assert reads.next(0.1) == CardRead(NUMBER, NAME)
    assert sim.placed == 2
    assert sim.state == "reading"


def test_the_kiosk_screen_takes_the_read_masked_and_the_ticket_carries_it(
    port_of: Callable[..., SamIdCardReader], fake: FakeReader
) -> None:
    kiosk = Kiosk(require_id=True)
    kiosk.source.per_person_limit = 1
    reads = Reads()
    port_of().start(reads)
    fake.place()
    card = reads.next()
    kiosk.vm.id_card_read(card.id_number, card.name)  # as KioskHandle does on Kivy's thread

    view = kiosk.vm.view()
    assert isinstance(view, HomeView)
    assert view.notice == "已读取身份证：张*三 1101**********002X"
    shown = "\n".join(view.texts())
    assert NUMBER not in shown
    assert NAME not in shown
    kiosk.press("area:market", "service:company_setup")  # no keypad: the card was read
    assert screen_of(kiosk) == Screen.TICKET
    assert kiosk.source.calls[-1]["citizen_id"] == NUMBER
    assert NAME not in "\n".join(kiosk.vm.view().texts())

    kiosk.press("done")
    assert "已读取身份证" not in kiosk.vm.view().notice  # type: ignore[attr-defined]
    kiosk.press("area:market", "service:company_setup")
    assert screen_of(kiosk) == Screen.ID_ENTRY  # asked again for the next ticket
    fake.lift()
    time.sleep(0.2)
    fake.place()
    card = reads.next()
    kiosk.vm.id_card_read(card.id_number, card.name)
    assert screen_of(kiosk) == Screen.MESSAGE  # one per person: the limit speaks
    assert "上限" in kiosk.vm.view().body  # type: ignore[attr-defined]


def test_a_card_that_is_not_an_id_card_is_refused_on_screen() -> None:
    kiosk = Kiosk()
    kiosk.vm.id_card_read("123456789012345678", NAME)  # wrong check digit
    view = kiosk.vm.view()
    assert isinstance(view, HomeView)
    assert view.notice == "未能识别身份证，请重新放置"
    assert NAME not in "\n".join(view.texts())
