"""Connections that hold the server open: a deadline for a request's headers, and a cap on the connections
one client address may keep open. Each connection's protocol is aiohttp's own, wrapped to see it open, get
bytes and close; the guard middleware says when a request's headers were complete and when it ended."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from core.config import ServerSettings

log = logging.getLogger(__name__)

LOG_INTERVAL_S = 10.0  # at most one line per this many seconds for each kind of refusal


class _RateLimitedLine:
    """One log line per LOG_INTERVAL_S, counting the ones left out (an attack must not flood the log)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._next_at = 0.0
        self._skipped = 0

    def emit(self, message: str, *args: object) -> None:
        now = self._clock()
        if now < self._next_at:
            self._skipped += 1
            return
        self._next_at = now + LOG_INTERVAL_S
        skipped, self._skipped = self._skipped, 0
        more = f" ({skipped} more since the last line)" if skipped else ""
        log.warning(message + more, *args)


class ConnectionGuard:
    """Creates the wrapped protocol of every connection and keeps the count per client address.

    Settings are read when they apply (server.header_timeout_s, server.max_connections_per_client), so an
    edited setting counts for the next connection without a restart.
    """

    def __init__(self, settings: Callable[[], ServerSettings]) -> None:
        self._settings = settings
        # address -> its open connections, oldest first (a dict as an ordered set)
        self._by_address: dict[str, dict[GuardedConnection, None]] = {}
        self._by_transport: dict[asyncio.BaseTransport, GuardedConnection] = {}
        self._slow_line = _RateLimitedLine()
        self._cap_line = _RateLimitedLine()

    def protocol_factory(self, inner: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """A factory for loop.create_server: aiohttp's protocol from `inner`, inside a GuardedConnection."""
        return lambda: GuardedConnection(inner(), self)

    def request_started(self, transport: asyncio.BaseTransport | None) -> None:
        """The headers of a request on this connection are complete: its header deadline is met."""
        connection = self._by_transport.get(transport) if transport is not None else None
        if connection is not None:
            connection.request_started()

    def request_finished(self, transport: asyncio.BaseTransport | None) -> None:
        """That request was handled; the next one's headers get a deadline once their first byte comes."""
        connection = self._by_transport.get(transport) if transport is not None else None
        if connection is not None:
            connection.request_finished()

    # -- called by each GuardedConnection ---------------------------------------------------------------

    def admit(self, address: str, connection: GuardedConnection, transport: asyncio.BaseTransport) -> bool:
        """Count a new connection in; at the cap, make room by closing one of that address's connections that
        is not inside a request (one still trickling its headers first, then an idle kept-alive one), so a
        slow-headers flood cannot lock the address's other programs out; refuse when none can go."""
        cap = self._settings().max_connections_per_client
        open_ones = self._by_address.setdefault(address, {})
        if cap > 0 and len(open_ones) >= cap:
            victim = _evictable(open_ones)
            if victim is None:
                self._cap_line.emit(
                    "Refused a connection from %s: its %d open connections are all inside requests "
                    "(server.max_connections_per_client)",
                    address,
                    len(open_ones),
                )
                return False
            self._cap_line.emit(
                "Closed a waiting connection from %s to make room: it has %d open "
                "(server.max_connections_per_client)",
                address,
                len(open_ones),
            )
            del open_ones[victim]
            victim.close()
        open_ones[connection] = None
        self._by_transport[transport] = connection
        return True

    def release(self, address: str, connection: GuardedConnection, transport: asyncio.BaseTransport) -> None:
        self._by_transport.pop(transport, None)
        open_ones = self._by_address.get(address)
        if open_ones is not None:
            open_ones.pop(connection, None)  # already gone when it was closed to make room
            if not open_ones:
                del self._by_address[address]

    def header_timeout(self) -> float:
        return self._settings().header_timeout_s

    def closed_slow(self, address: str, timeout: float) -> None:
        self._slow_line.emit(
            "Closed a connection from %s that did not send a request's headers within %g s "
            "(server.header_timeout_s)",
            address,
            timeout,
        )


class GuardedConnection(asyncio.Protocol):
    """aiohttp's protocol for one connection, with a header deadline and the per-address count around it.

    The deadline runs from the moment the connection opens, and on a kept-alive connection from the first
    byte after a request ended, until the guard middleware sees the request (its headers are complete).
    """

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self._inner = inner
        self._guard = guard
        self._transport: asyncio.BaseTransport | None = None
        self._address = ""
        self._admitted = False
        self._deadline: asyncio.TimerHandle | None = None
        self._between_requests = False  # a request ended; the next one's first byte starts its deadline
        self._requests = 0  # requests being handled (a WebSocket stays one until it closes)
        self._served = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer: Any = transport.get_extra_info("peername")
        self._address = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "")
        self._transport = transport
        if not self._guard.admit(self._address, self, transport):
            # At once, unread: nothing is spent on a connection over the cap.
            getattr(transport, "abort", transport.close)()
            return
        self._admitted = True
        self._inner.connection_made(transport)
        self._start_deadline()

    def data_received(self, data: bytes) -> None:
        if self._between_requests:
            self._between_requests = False
            self._start_deadline()
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        if self._admitted:
            self._admitted = False
            if self._transport is not None:
                self._guard.release(self._address, self, self._transport)
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    @property
    def in_request(self) -> bool:
        return self._requests > 0

    @property
    def served(self) -> bool:
        """Whether a request has come through here (an idle kept-alive connection, not a trickling one)."""
        return self._served

    def request_started(self) -> None:
        self._between_requests = False
        self._requests += 1
        self._served = True
        self._stop_deadline()

    def request_finished(self) -> None:
        self._requests = max(0, self._requests - 1)
        self._between_requests = True

    def close(self) -> None:
        """Hang up (to make room under the cap); aiohttp's protocol sees the connection lost."""
        self._stop_deadline()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def _start_deadline(self) -> None:
        self._stop_deadline()
        timeout = self._guard.header_timeout()
        if timeout > 0:
            self._deadline = asyncio.get_running_loop().call_later(timeout, self._too_slow, timeout)

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self, timeout: float) -> None:
        self._deadline = None
        if self._transport is not None and not self._transport.is_closing():
            self._guard.closed_slow(self._address, timeout)
            self._transport.close()


def _evictable(connections: dict[GuardedConnection, None]) -> GuardedConnection | None:
    """The connection to close to make room: the oldest still waiting for its first request's headers, else
    the oldest idle kept-alive one; None when every one is inside a request."""
    idle: GuardedConnection | None = None
    for connection in connections:  # oldest first
        if connection.in_request:
            continue
        if not connection.served:
            return connection
        if idle is None:
            idle = connection
    return idle
