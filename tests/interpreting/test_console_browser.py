"""The interpreter's console in headless Chromium (fake camera and microphone)
against a simulated terminal: an aiortc peer speaking the terminal side of
`broker.signalling` through the real hub. Video both ways, text both ways,
and the end of the call releases the camera and the peer connection."""

from __future__ import annotations

import asyncio
import fractions
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.async_api import Page, async_playwright, expect

from broker.signalling import TEXT_CHANNEL, Connected, Ended, Hangup, Request, Sdp
from central.auth.models import Role
from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, needs_chromium
from tests.central.conftest import PASSWORD
from tests.conftest import RunningBroker
from tests.interpreting.conftest import Side, served_hub

aiortc = pytest.importorskip("aiortc")
av = pytest.importorskip("av")
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack  # noqa: E402

pytestmark = [pytest.mark.browser, needs_chromium]

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


class MovingBars(MediaStreamTrack):
    """The citizen's camera: bars that move, 640×480 at 25 fps."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def recv(self) -> Any:
        await asyncio.sleep(1 / 25)
        self.count += 1
        image = np.zeros((480, 640, 3), np.uint8)
        x = (self.count * 8) % 640
        image[:, x : x + 80] = (255, 160, 0)
        image[200:280, :] = (0, 120, 255)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = self.count, fractions.Fraction(1, 25)
        return frame


async def count_frames(track: MediaStreamTrack, into: list[int]) -> None:
    """Always consume a received track (aiortc buffers otherwise)."""
    try:
        while True:
            frame = await track.recv()
            into.append(getattr(frame, "width", 0))
    except Exception:
        return


async def remote_video_frames(page: Page) -> int:
    return int(
        await page.evaluate(
            "() => { const v = document.getElementById('remote-video');"
            " return v.videoWidth ? v.getVideoPlaybackQuality().totalVideoFrames : 0; }"
        )
    )


async def test_the_console_signs_and_texts_with_a_terminal(
    mosquitto: RunningBroker, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    async with (
        served_hub(url, tmp_path, mosquitto, offer_timeout_s=20) as hub,
        async_playwright() as pw,
    ):
        hub.add_user("li", Role.INTERPRETER, "李娜")
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *FAKE_MEDIA], headless=True
        )
        page = await browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")
        try:
            await page.goto(f"{hub.url}/login")
            await page.get_by_label("用户名").fill("li")
            await page.get_by_label("密码").fill(PASSWORD)
            await page.get_by_role("button", name="登录").click()
            await page.goto(f"{hub.url}/interpreting")
            await expect(page.locator("#link-state")).to_have_text("已连接")
            await page.get_by_role("button", name="空闲").click()
            await expect(page.locator("#my-status")).to_have_text("空闲")

            async with hub.terminal("sign-01") as term:
                await term.send(Request(consent_recording=True))
                await expect(page.get_by_role("heading", name="新的手语翻译请求")).to_be_visible()
                await expect(page.locator("#offer-terminal")).to_have_text("sign-01")
                await page.screenshot(path=str(ARTIFACTS / "interpreting-console-ringing.png"))
                await page.get_by_role("button", name="接听").click()
                connected = await term.expect(Connected)
                assert connected.interpreter == "李娜"
                call = connected.request_id

                pc, received, texts = await terminal_peer(term, call)
                # Video arrives both ways.
                await wait_for(lambda: len(received) >= 25, "frames from the console's camera")
                assert received[-1] > 0
                await wait_for_page(page, lambda n: n >= 25, "frames on the console")
                await expect(page.locator("#call-state")).to_be_hidden()
                await expect(page.locator("#call-recording")).to_be_visible()

                # Text both ways on the data channel.
                channel = pc.channel
                await wait_for(lambda: channel.readyState == "open", "the text channel")
                channel.send("你好，我想办理营业执照")
                await expect(page.locator("#text-log")).to_contain_text(
                    "市民：你好，我想办理营业执照"
                )
                await page.get_by_label("输入文字").fill("请出示身份证")
                await page.get_by_label("输入文字").press("Enter")
                await wait_for(lambda: "请出示身份证" in texts, "the console's text")
                await page.screenshot(path=str(ARTIFACTS / "interpreting-console-call.png"))

                # The interpreter ends the call: the terminal hears it, resources go.
                await page.get_by_role("button", name="结束通话").click()
                assert (await term.expect(Hangup)).request_id == call
                assert (await term.expect(Ended)).request_id == call
                await pc.pc.close()
            await expect(page.get_by_role("heading", name="登记本次服务结果")).to_be_visible()
            released = await page.evaluate(
                "() => ({pc: window.anxinConsole.pc, stream: window.anxinConsole.localStream,"
                " video: document.getElementById('remote-video').srcObject})"
            )
            assert released == {"pc": None, "stream": None, "video": None}
            await page.get_by_label("结果").select_option("served")
            await page.get_by_label("备注").fill("营业执照咨询")
            await page.get_by_role("button", name="登记").click()
            await expect(page.get_by_role("heading", name="登记本次服务结果")).to_be_hidden()
            await page.screenshot(path=str(ARTIFACTS / "interpreting-console-after.png"))
            await asyncio.sleep(0.3)
            await hub.service.recorder.flush()
        finally:
            await browser.close()


class TerminalPeer:
    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.channel = self.pc.createDataChannel(TEXT_CHANNEL)
        self.readers: set[asyncio.Future[None]] = set()


async def terminal_peer(term: Side, call: str) -> tuple[TerminalPeer, list[int], list[str]]:
    """The terminal's half of a call: offer with video, audio and the text channel."""
    peer = TerminalPeer()
    received: list[int] = []
    texts: list[str] = []
    peer.pc.addTrack(MovingBars())
    peer.pc.addTrack(AudioStreamTrack())

    @peer.pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        sink: list[int] = received if track.kind == "video" else []
        peer.readers.add(asyncio.ensure_future(count_frames(track, sink)))

    @peer.channel.on("message")
    def on_message(message: str | bytes) -> None:
        texts.append(message if isinstance(message, str) else message.decode())

    await peer.pc.setLocalDescription(await peer.pc.createOffer())  # gathers every candidate
    await term.send(Sdp(request_id=call, sdp_type="offer", sdp=peer.pc.localDescription.sdp))
    answer = await term.expect(Sdp, within_s=15)
    await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
    return peer, received, texts


async def wait_for(check: object, what: str, within_s: float = 15.0) -> None:
    assert callable(check)
    for _ in range(int(within_s / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def wait_for_page(page: Page, check: object, what: str, within_s: float = 15.0) -> None:
    assert callable(check)
    for _ in range(int(within_s / 0.2)):
        if check(await remote_video_frames(page)):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
