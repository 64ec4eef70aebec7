"""Starts and stops the HTTP server inside an event loop someone else owns (headless CLI or the Qt loop)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from core.services import Services
from server import parser_log
from server.app import make_app
from server.handling import CONNECTIONS

log = logging.getLogger(__name__)

IPV4_LOOPBACK = "127.0.0.1"
IPV6_LOOPBACK = "::1"


@dataclass(frozen=True)
class StartResult:
    """What happened when the server tried to listen: a busy port is data to show, not a crash."""

    ok: bool
    url: str = ""
    port: int = 0
    error: str = ""


class GatewayServer:
    """An AppRunner and its listening sockets (127.0.0.1 and ::1, or the host asked for). Client disconnects cancel their handler (and so the upstream call)."""

    def __init__(self, services: Services, *, shutdown_timeout: float = 10.0) -> None:
        self._services = services
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self._listeners: list[asyncio.Server] = []
        self._protocols: Callable[[], asyncio.Protocol] | None = None
        self.port = 0
        self.host = ""

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self, host: str | None = None, port: int | None = None) -> StartResult:
        parser_log.install()
        settings = self._services.settings.server
        self.host = host if host is not None else settings.host
        wanted_port = port if port is not None else settings.port
        app = make_app(self._services)
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=self._shutdown_timeout, access_log=None
        )
        await runner.setup()
        # Listening sockets of our own rather than TCPSite: every connection goes through the guard
        # (header deadline, per-address cap) around aiohttp's protocol, and the bound port is public here.
        assert runner.server is not None
        self._protocols = app[CONNECTIONS].protocol_factory(runner.server)
        try:
            listener = await self._listen(self.host, wanted_port)
        except OSError as exc:
            await runner.cleanup()
            return StartResult(False, error=_describe_bind_error(exc, self.host, wanted_port))
        self._runner = runner
        self.port = _bound_port(listener) or wanted_port
        if self.host == IPV4_LOOPBACK:
            await self._also_listen_on_ipv6_loopback(self.port)
        log.info("listening on %s", self.url)
        return StartResult(True, url=self.url, port=self.port)

    async def stop(self) -> None:
        """Stop accepting (on every socket), let in-flight requests finish (up to shutdown_timeout), then close."""
        runner, self._runner = self._runner, None
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener.close()
        if runner is not None:
            await runner.cleanup()  # ends the connections of every listener: they are the runner's server's
        for listener in listeners:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener.wait_closed(), self._shutdown_timeout)

    async def _listen(self, host: str, port: int) -> asyncio.Server:
        assert self._protocols is not None
        listener = await asyncio.get_running_loop().create_server(self._protocols, host, port)
        self._listeners.append(listener)
        return listener

    async def _also_listen_on_ipv6_loopback(self, port: int) -> None:
        """Serve ::1 beside 127.0.0.1, best effort.

        Windows and macOS resolve `localhost` to ::1 first, and clients that try addresses in order
        (Python's socket.create_connection, Node without autoSelectFamily) would hit a refused ::1 first; on
        Windows a refused loopback connect costs about 2 s of SYN retries. No IPv6, or ::1's port taken by
        another program, only loses that shortcut: the IPv4 socket already works, so this never fails the
        start.
        """
        try:
            await self._listen(IPV6_LOOPBACK, port)
        except OSError as exc:
            log.info("not listening on [%s]:%d too: %s", IPV6_LOOPBACK, port, exc.strerror or exc)


def _bound_port(listener: asyncio.Server) -> int | None:
    for sock in listener.sockets:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            return int(sock.getsockname()[1])
    return None


def _describe_bind_error(exc: OSError, host: str, port: int, platform: str = sys.platform) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"Port {port} on {host} is already in use (another Gravity Desk, or another program). "
            "Stop that program or choose another port in Settings / config.toml."
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        if platform == "win32":
            # Windows has no privileged ports: EACCES means the port is in a range that Hyper-V, WSL or
            # Docker reserved (these ranges move at each boot), or another program holds it exclusively.
            return (
                f"Port {port} on {host} is reserved or blocked by Windows (Hyper-V, WSL or Docker reserve "
                "port ranges). Choose another port in Settings / config.toml; "
                "`netsh int ipv4 show excludedportrange protocol=tcp` lists the reserved ranges."
            )
        return f"Not allowed to listen on {host}:{port}; choose a port above 1024."
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine; use 127.0.0.1."
    return f"Cannot listen on {host}:{port}: {exc.strerror or exc}"
