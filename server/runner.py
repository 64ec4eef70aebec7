"""Starts and stops the HTTP server inside an event loop someone else owns (headless CLI or the Qt loop)."""

from __future__ import annotations

import errno
import logging
import sys
from dataclasses import dataclass

from aiohttp import web

from core.services import Services
from server import parser_log
from server.app import make_app

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
    """An AppRunner + TCPSite pair. Client disconnects cancel their handler (and so the upstream call)."""

    def __init__(self, services: Services, *, shutdown_timeout: float = 10.0) -> None:
        self._services = services
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
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
        runner = web.AppRunner(
            make_app(self._services),
            handler_cancellation=True,
            shutdown_timeout=self._shutdown_timeout,
            access_log=None,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, wanted_port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            return StartResult(False, error=_describe_bind_error(exc, self.host, wanted_port))
        self._runner = runner
        self.port = _bound_port(runner) or wanted_port
        if self.host == IPV4_LOOPBACK:
            await _also_listen_on_ipv6_loopback(runner, self.port)
        log.info("listening on %s", self.url)
        return StartResult(True, url=self.url, port=self.port)

    async def stop(self) -> None:
        """Stop accepting (on every site), let in-flight requests finish (up to shutdown_timeout), then close."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


async def _also_listen_on_ipv6_loopback(runner: web.AppRunner, port: int) -> None:
    """Serve ::1 beside 127.0.0.1, best effort.

    Windows and macOS resolve `localhost` to ::1 first, and clients that try addresses in order (Python's
    socket.create_connection, Node without autoSelectFamily) would hit a refused ::1 first; on Windows a
    refused loopback connect costs about 2 s of SYN retries. No IPv6, or ::1's port taken by another
    program, only loses that shortcut: the IPv4 site already works, so this never fails the start.
    """
    site = web.TCPSite(runner, IPV6_LOOPBACK, port)
    try:
        await site.start()
    except OSError as exc:
        await site.stop()  # a failed site stays registered with the runner until stopped
        log.info("not listening on [%s]:%d too: %s", IPV6_LOOPBACK, port, exc.strerror or exc)


def _bound_port(runner: web.AppRunner) -> int | None:
    """The port the one site listens on (asked for port 0, the system chose it): runner.addresses lists
    each listening socket's address, (host, port) for IPv4 and (host, port, flow, scope) for IPv6."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int):
            return address[1]
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
