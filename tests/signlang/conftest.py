"""Fixtures of the sign-language terminal tests: a network namespace for the
interpreter's peer (aioice skips loopback), two peers talking directly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from signlang_terminal.media.adapt import AdaptationPolicy
from signlang_terminal.media.peer import AnswerPeer, TerminalPeer
from signlang_terminal.media.tracks import SyntheticVideoTrack, ToneAudioTrack
from tests.signlang.netns import NamespaceLoop, VethNamespace, skip_reason, veth_namespace


@pytest.fixture(scope="session")
def netns() -> Iterator[VethNamespace]:
    reason = skip_reason()
    if reason is not None:
        pytest.skip(f"WebRTC tests need a network namespace: {reason}")
    with veth_namespace() as net:
        yield net


@pytest.fixture
def inside(netns: VethNamespace) -> Iterator[NamespaceLoop]:
    """A loop inside the namespace: the interpreter's side of a call runs there."""
    loop = NamespaceLoop(netns)
    yield loop
    loop.close()


def interpreter_peer(**kwargs: Any) -> AnswerPeer:
    """The interpreter's side as a Python peer: its own test pattern and tone."""
    return AnswerPeer(
        SyntheticVideoTrack(), ToneAudioTrack(frequency=660), read_stamps=True, **kwargs
    )


def terminal_peer(policy: AdaptationPolicy | None = None, **kwargs: Any) -> TerminalPeer:
    return TerminalPeer(
        SyntheticVideoTrack(), ToneAudioTrack(), policy=policy, read_stamps=True, **kwargs
    )


@asynccontextmanager
async def direct_call(
    inside: NamespaceLoop, terminal: TerminalPeer
) -> AsyncIterator[tuple[TerminalPeer, AnswerPeer]]:
    """Offer and answer handed over in the test (no hub): the media alone."""
    interpreter = await inside.run(_make_interpreter())
    try:
        answer = await inside.run(interpreter.answer(await terminal.offer()))
        await terminal.accept_answer(answer)
        yield terminal, interpreter
    finally:
        await terminal.close()
        await inside.run(interpreter.close())


async def _make_interpreter() -> AnswerPeer:
    return interpreter_peer()  # built on the namespace's loop: its sockets live there
