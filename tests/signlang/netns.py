"""A network namespace joined to this one by a veth pair, for WebRTC tests.

aioice never offers loopback candidates, so two peers on 127.0.0.1 cannot
connect; a veth pair gives each side a real 10.x address. The root end
(`host_ip`) stays in the test's own namespace; the other end (`ns_ip`) lives
in the namespace, whose default route points back at the root end, so a
peer inside reaches every address of the host.

Use it three ways:

- ``with veth_namespace() as net:`` then ``net.exec_args("chromium", ...)``
  to start a process inside (``ip netns exec``);
- ``NamespaceLoop(net)``: an asyncio loop on a thread that has entered the
  namespace (``setns``); sockets opened on it (an aiortc peer's) belong to
  the namespace, while the rest of the test stays outside;
- `skip_reason()` for a clear ``pytest.skip`` where ``ip netns add`` is not
  permitted (not root, no CAP_NET_ADMIN, no ``ip``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000


@dataclass(frozen=True)
class VethNamespace:
    name: str  # the namespace (``ip netns`` name)
    host_if: str  # veth end in the test's namespace
    ns_if: str  # veth end inside
    host_ip: str
    ns_ip: str

    def exec_args(self, *argv: str) -> list[str]:
        """Arguments that run `argv` inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """The calling thread in the namespace until the block ends."""
        libc = ctypes.CDLL(None, use_errno=True)
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/var/run/netns/{self.name}", os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into the test namespace failed")
            try:
                yield
            finally:
                libc.setns(home, CLONE_NEWNET)
        finally:
            os.close(target)
            os.close(home)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10)


def skip_reason() -> str | None:
    """Why namespaces cannot be used here, or None when they can."""
    if shutil.which("ip") is None:
        return "iproute2 `ip` is not installed"
    name = f"anxin-probe-{secrets.token_hex(3)}"
    try:
        _ip("netns", "add", name)
    except subprocess.CalledProcessError as exc:
        return f"`ip netns add` is not permitted here ({exc.stderr.strip() or exc})"
    _ip("netns", "del", name)
    return None


@contextlib.contextmanager
def veth_namespace() -> Iterator[VethNamespace]:
    """A fresh namespace and veth pair with a random 10.x.y.0/24, removed afterwards."""
    tag = secrets.token_hex(3)
    a, b = secrets.randbelow(180) + 60, secrets.randbelow(254)
    net = VethNamespace(
        name=f"anxin-{tag}",
        host_if=f"axh{tag}",
        ns_if=f"axn{tag}",
        host_ip=f"10.{a}.{b}.1",
        ns_ip=f"10.{a}.{b}.2",
    )
    _ip("netns", "add", net.name)
    try:
        _ip("link", "add", net.host_if, "type", "veth", "peer", "name", net.ns_if)
        _ip("link", "set", net.ns_if, "netns", net.name)
        _ip("addr", "add", f"{net.host_ip}/24", "dev", net.host_if)
        _ip("link", "set", net.host_if, "up")
        inside = ["netns", "exec", net.name, "ip"]
        _ip(*inside, "addr", "add", f"{net.ns_ip}/24", "dev", net.ns_if)
        _ip(*inside, "link", "set", net.ns_if, "up")
        _ip(*inside, "link", "set", "lo", "up")
        _ip(*inside, "route", "add", "default", "via", net.host_ip)
        yield net
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", net.host_if)  # takes its peer with it
        _ip("netns", "del", net.name)


class NamespaceLoop:
    """An asyncio loop running on a thread inside `net`, until `close`."""

    def __init__(self, net: VethNamespace) -> None:
        self.net = net
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"netns-{net.name}", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            with self.net.entered():
                asyncio.set_event_loop(self.loop)
                self._ready.set()
                self.loop.run_forever()
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` running inside the namespace, from a loop outside it."""
        return await asyncio.wrap_future(self.submit(coro))

    def close(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
