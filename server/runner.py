"""Starts and stops the HTTP server inside an event loop someone else owns (headless CLI or the Qt loop)."""

from __future__ import annotations

import errno
import logging
import socket
from dataclasses import dataclass

from aiohttp import web

from core.services import Services
from server.app import make_app

log = logging.getLogger(__name__)


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
        self.port = _bound_port(site) or wanted_port
        log.info("listening on %s", self.url)
        return StartResult(True, url=self.url, port=self.port)

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (up to shutdown_timeout), then close."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def _bound_port(site: web.TCPSite) -> int | None:
    server = site._server  # aiohttp keeps the asyncio.Server here; the public API has no port for port=0
    sockets = getattr(server, "sockets", None) or []
    for sock in sockets:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            return int(sock.getsockname()[1])
    return None


def _describe_bind_error(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"Port {port} on {host} is already in use (another Gravity Desk, or another program). "
            "Stop that program or choose another port in Settings / config.toml."
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"Not allowed to listen on {host}:{port}; choose a port above 1024."
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine; use 127.0.0.1."
    return f"Cannot listen on {host}:{port}: {exc.strerror or exc}"
