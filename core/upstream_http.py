"""A lean HTTP/1.1 client for the calls to Google's generation services (Cloud Code and the Gemini API).

Every answer the gateway relays costs one upstream request, on the path the client waits for. aiohttp's
ClientSession spends about twice this client's CPU on one (bench/README.md, "A lean upstream client"),
most of it on generality the gateway never uses. This client does what those calls need and no more:
HTTP/1.1 over TCP or TLS, connections kept alive per origin, an http:// or https:// proxy reached by
CONNECT, bodies framed by Content-Length, chunked or closed, no compression (it never asks for any).
OAuth, the version check and the update check keep aiohttp: they are rare and talk to other hosts.

Failures raise UpstreamHTTPError subclasses (ConnectFailed, Disconnected, MalformedReply) or TimeoutError;
core.upstream_errors turns them into the gateway's network errors.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
import urllib.parse
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import cast

_MAX_HEAD = 64 * 1024  # a reply head larger than this is not an HTTP reply from Google
_MAX_CHUNK_LINE = 4096
_PAUSE_AT = 1024 * 1024  # stop reading the socket while this much is waiting for the reader
_MAX_IDLE_PER_ORIGIN = 64
_NO_BODY_STATUSES = frozenset({204, 304})


class UpstreamHTTPError(Exception):
    """A request that got no usable reply."""


class ConnectFailed(UpstreamHTTPError):
    """No connection to the upstream (or to the proxy on the way): refused, unresolvable, TLS refused."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"cannot connect to {host}:{port}: {reason}")
        self.host, self.port = host, port


class Disconnected(UpstreamHTTPError):
    """The connection closed before the reply was complete."""


class MalformedReply(UpstreamHTTPError):
    """The bytes that came back are not an HTTP/1.1 reply this client can read."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds, None for no limit. `read` bounds each silence while waiting for the reply (the head, then
    every piece of the body); `total` bounds the whole exchange from the call, head and body (the
    connection itself is bounded by `connect`)."""

    connect: float | None = None
    read: float | None = None
    total: float | None = None


@dataclass(frozen=True)
class _Target:
    origin: tuple[bool, str, int]  # (TLS, host, port): the pool's key
    host_header: str
    path: str  # path and query, as sent on the request line


class _Connection(asyncio.Protocol):
    """One socket's bytes as they arrive, and a way to wait for more."""

    def __init__(self, loop: asyncio.AbstractEventLoop, forget: Callable[[_Connection], None]) -> None:
        self.loop = loop
        self._forget = forget  # the pool's record of open connections drops this one when it closes
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        # Bytes since the last request was sent: a reused connection that got none may retry.
        self.received = 0
        self.lost = False
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.received += len(data)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if len(self.buffer) > _PAUSE_AT and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()  # a slow reader (a slow client downstream) must not fill memory

    def eof_received(self) -> bool:
        self._lose()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002 - the reader sees Disconnected
        self._lose()
        self._forget(self)

    def _lose(self) -> None:
        self.lost = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def more(self, deadline: float | None, read_timeout: float | None) -> None:
        """Wait until bytes beyond those in `buffer` arrive; Disconnected if the connection ends instead."""
        if self.lost:
            raise Disconnected("the upstream closed the connection before the reply was complete")
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        received = self.received
        waiter = self.loop.create_future()
        self._waiter = waiter
        delay = read_timeout
        if deadline is not None:
            left = deadline - self.loop.time()
            delay = left if delay is None else min(delay, left)
        timer = None if delay is None else self.loop.call_later(max(delay, 0.0), _expire, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()
        if self.lost and self.received == received:
            raise Disconnected("the upstream closed the connection before the reply was complete")

    def usable(self) -> bool:
        return (
            not self.lost
            and not self.buffer
            and self.transport is not None
            and not self.transport.is_closing()
        )

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class UpstreamResponse:
    """A reply whose head has arrived; its body is read with `read()` or `iter_chunks()`.

    Use it as an async context manager, or end it with `release()` (after reading it all: the connection
    goes back to the pool) or `close()` (anything else: the connection is dropped)."""

    def __init__(
        self,
        pool: UpstreamHTTP,
        origin: tuple[bool, str, int],
        connection: _Connection,
        status: int,
        headers: dict[str, str],
        *,
        framing: str,
        length: int,
        keep_alive: bool,
        deadline: float | None,
        read_timeout: float | None,
    ) -> None:
        self.status = status
        self.headers = headers  # names in lower case; repeated headers joined with ", "
        self._pool, self._origin, self._connection = pool, origin, connection
        self._framing = framing  # "length", "chunked" or "close"
        self._left = length  # bytes left in the body ("length") or in the current chunk ("chunked")
        self._chunk_end_pending = False  # a chunk's data was read; its CRLF is still to come
        self._keep_alive = keep_alive
        self._deadline, self._read_timeout = deadline, read_timeout
        self.complete = framing == "length" and length == 0
        self._ended = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    async def read(self) -> bytes:
        parts = [chunk async for chunk in self.iter_chunks()]
        return b"".join(parts)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive (chunked framing removed), in pieces of any size."""
        while True:
            data = await self._next()
            if data is None:
                return
            yield data

    async def _next(self) -> bytes | None:
        if self.complete:
            return None
        if self._framing == "chunked":
            return await self._next_chunked()
        connection = self._connection
        buffer = connection.buffer
        if self._framing == "close":
            while not buffer:
                try:
                    await connection.more(self._deadline, self._read_timeout)
                except Disconnected:
                    self.complete = True
                    return None
            data = bytes(buffer)
            buffer.clear()
            return data
        while not buffer:
            await connection.more(self._deadline, self._read_timeout)
        if len(buffer) <= self._left:
            data = bytes(buffer)
            buffer.clear()
        else:
            data = bytes(buffer[: self._left])
            del buffer[: self._left]
        self._left -= len(data)
        self.complete = self._left == 0
        return data

    async def _next_chunked(self) -> bytes | None:
        """Every chunk's data already received (at least one byte, waiting if none), None after the last."""
        connection = self._connection
        buffer = connection.buffer
        out = bytearray()
        while True:
            if self._left:
                if buffer:
                    taken = buffer[: self._left]
                    del buffer[: len(taken)]
                    out += taken
                    self._left -= len(taken)
                    self._chunk_end_pending = self._left == 0
                    continue
            elif self._chunk_end_pending:
                if len(buffer) >= 2:
                    if buffer[:2] != b"\r\n":
                        raise MalformedReply("a chunk of the upstream's reply does not end with CRLF")
                    del buffer[:2]
                    self._chunk_end_pending = False
                    continue
            else:
                line_end = buffer.find(b"\r\n")
                if line_end >= 0:
                    size = _chunk_size(bytes(buffer[:line_end]))
                    del buffer[: line_end + 2]
                    if size == 0:
                        await self._skip_trailers()
                        self.complete = True
                        return bytes(out) if out else None
                    self._left = size
                    continue
                if len(buffer) > _MAX_CHUNK_LINE:
                    raise MalformedReply("the upstream's reply has a chunk-size line too long to be one")
            if out:
                return bytes(out)
            await connection.more(self._deadline, self._read_timeout)

    async def _skip_trailers(self) -> None:
        buffer = self._connection.buffer
        while True:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                if len(buffer) > _MAX_HEAD:
                    raise MalformedReply("the upstream's reply has trailers too large to be real")
                await self._connection.more(self._deadline, self._read_timeout)
                continue
            del buffer[: line_end + 2]
            if line_end == 0:
                return

    def release(self) -> None:
        """End the exchange; a reply read to its end leaves its connection to the next request."""
        if self._ended:
            return
        self._ended = True
        if self.complete and self._keep_alive and self._connection.usable():
            self._pool._put_back(self._origin, self._connection)
        else:
            self._connection.close()

    def close(self) -> None:
        """End the exchange and drop the connection (a reply abandoned or broken half way)."""
        if not self._ended:
            self._ended = True
            self._connection.close()

    async def __aenter__(self) -> UpstreamResponse:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()  # closes instead when the body was not read to its end


def _chunk_size(line: bytes) -> int:
    digits = line.split(b";", 1)[0].strip()
    if not digits or not all(character in b"0123456789abcdefABCDEF" for character in digits):
        raise MalformedReply(f"the upstream's reply has a bad chunk size: {line[:40]!r}")
    return int(digits, 16)


class UpstreamHTTP:
    """Connections to the upstream services, kept alive per origin, and requests over them.

    `proxy` is an http:// or https:// URL (user:password@ for basic authentication), reached by CONNECT.
    """

    def __init__(
        self,
        *,
        proxy: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        keepalive_s: float = 60.0,
    ) -> None:
        self._proxy = _parse_proxy(proxy) if proxy else None
        self._ssl_context = ssl_context
        self._keepalive_s = keepalive_s
        self._idle: dict[tuple[bool, str, int], deque[tuple[_Connection, float]]] = {}
        self._open: set[_Connection] = set()
        self._targets: dict[str, _Target] = {}
        self._closed = False

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes = b"",
        timeouts: Timeouts,
    ) -> UpstreamResponse:
        """Send one request and wait for its reply's head. A pooled connection the server had closed
        meanwhile (nothing came back on it) is replaced by a new one, once."""
        if self._closed:
            raise UpstreamHTTPError("the upstream client is closed")
        target = self._target(url)
        head = _request_head(method, target, headers, body)
        loop = asyncio.get_running_loop()
        deadline = None if timeouts.total is None else loop.time() + timeouts.total
        for attempt in (0, 1):
            connection, reused = await self._connection(target, timeouts, attempt == 0)
            connection.received = 0
            assert connection.transport is not None
            if body and len(body) > 65536:
                connection.transport.writelines((head, body))  # no copy of a large body (an image)
            else:
                connection.transport.write(head + body if body else head)
            try:
                return await self._read_reply(method, target, connection, deadline, timeouts.read)
            except Disconnected:
                connection.close()
                if reused and connection.received == 0:
                    continue  # the server had closed the idle connection: it never saw this request
                raise
            except BaseException:  # a timeout, a cancelled request, a malformed reply: never reused
                connection.close()
                raise
        raise AssertionError("unreachable")  # the second attempt uses a new connection: it returns or raises

    async def _read_reply(
        self,
        method: str,
        target: _Target,
        connection: _Connection,
        deadline: float | None,
        read_timeout: float | None,
    ) -> UpstreamResponse:
        buffer = connection.buffer
        while True:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                if len(buffer) > _MAX_HEAD:
                    raise MalformedReply("the upstream's reply head is too large")
                await connection.more(deadline, read_timeout)
                continue
            head = bytes(buffer[:head_end])
            del buffer[: head_end + 4]
            version, status, headers = _parse_head(head)
            if 100 <= status < 200:
                continue  # 100 Continue, 103 Early Hints: the real reply follows
            break
        keep_alive = version == b"HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        if method == "HEAD" or status in _NO_BODY_STATUSES:
            framing, length = "length", 0
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            framing, length = "chunked", 0
        elif "content-length" in headers:
            framing, length = "length", _content_length(headers["content-length"])
        else:
            framing, length, keep_alive = "close", 0, False
        return UpstreamResponse(
            self,
            target.origin,
            connection,
            status,
            headers,
            framing=framing,
            length=length,
            keep_alive=keep_alive,
            deadline=deadline,
            read_timeout=read_timeout,
        )

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            target = _parse_target(url)
            if len(self._targets) > 1024:  # URLs come from settings: a handful, unless something is wrong
                self._targets.clear()
            self._targets[url] = target
        return target

    async def _connection(
        self, target: _Target, timeouts: Timeouts, may_reuse: bool
    ) -> tuple[_Connection, bool]:
        idle = self._idle.get(target.origin)
        if may_reuse and idle:
            now = time.monotonic()
            while idle:
                connection, since = idle.pop()  # the most recently used first: the likeliest still open
                if connection.usable() and now - since < self._keepalive_s:
                    return connection, True
                connection.close()
        return await self._connect(target.origin, timeouts.connect), False

    async def _connect(self, origin: tuple[bool, str, int], timeout: float | None) -> _Connection:  # noqa: ASYNC109
        tls, host, port = origin
        loop = asyncio.get_running_loop()
        proxy = self._proxy
        via_host, via_port = (proxy.host, proxy.port) if proxy else (host, port)
        try:
            async with asyncio.timeout(timeout):
                via_tls = proxy.tls if proxy else tls
                transport, connection = await loop.create_connection(
                    lambda: _Connection(loop, self._open.discard),
                    via_host,
                    via_port,
                    ssl=self._context() if via_tls else None,
                    server_hostname=via_host if via_tls else None,
                )
                self._open.add(connection)
                try:
                    if proxy is not None:
                        await _tunnel(connection, proxy, host, port)
                        if tls:
                            connection.transport = await loop.start_tls(
                                transport, connection, self._context(), server_hostname=host
                            )
                except BaseException:
                    connection.close()
                    raise
        except UpstreamHTTPError:
            raise
        except OSError as exc:  # refused, unresolvable, unreachable, a certificate refused (ssl.SSLError)
            raise ConnectFailed(via_host, via_port, _os_reason(exc)) from None
        return connection

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()  # the system's trust store, as aiohttp uses it
        return self._ssl_context

    def _put_back(self, origin: tuple[bool, str, int], connection: _Connection) -> None:
        if self._closed:
            connection.close()
            return
        idle = self._idle.setdefault(origin, deque())
        if len(idle) >= _MAX_IDLE_PER_ORIGIN:
            idle.popleft()[0].close()
        idle.append((connection, time.monotonic()))

    async def close(self) -> None:
        """Close every connection, idle or in use; later requests fail."""
        self._closed = True
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing inside the loop


@dataclass(frozen=True)
class _Proxy:
    tls: bool
    host: str
    port: int
    authorization: str | None  # "Basic ..." from the URL's user:password


def _parse_proxy(url: str) -> _Proxy:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"unsupported proxy URL scheme {scheme!r}: use http:// or https://")
    authorization = None
    if parts.username is not None:
        credentials = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
    return _Proxy(
        scheme == "https", parts.hostname, parts.port or (443 if scheme == "https" else 80), authorization
    )


async def _tunnel(connection: _Connection, proxy: _Proxy, host: str, port: int) -> None:
    assert connection.transport is not None
    lines = [f"CONNECT {host}:{port} HTTP/1.1", f"Host: {host}:{port}"]
    if proxy.authorization:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    connection.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    buffer = connection.buffer
    while (head_end := buffer.find(b"\r\n\r\n")) < 0:
        if len(buffer) > _MAX_HEAD:
            raise ConnectFailed(proxy.host, proxy.port, "the proxy's answer to CONNECT is not HTTP")
        try:
            await connection.more(None, None)  # bounded by the connect timeout around the whole tunnel
        except Disconnected:
            raise ConnectFailed(proxy.host, proxy.port, "the proxy closed the connection") from None
    try:
        _version, status, _headers = _parse_head(bytes(buffer[:head_end]))
    except MalformedReply:
        raise ConnectFailed(proxy.host, proxy.port, "the proxy's answer to CONNECT is not HTTP") from None
    del buffer[: head_end + 4]
    if status != 200:
        hint = " (check the proxy's user name and password)" if status == 407 else ""
        raise ConnectFailed(proxy.host, proxy.port, f"the proxy refused the tunnel with HTTP {status}{hint}")
    if buffer:
        raise ConnectFailed(proxy.host, proxy.port, "the proxy sent bytes before the tunnel was open")


def _parse_target(url: str) -> _Target:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise UpstreamHTTPError(f"not an http(s) URL: {scheme}://{parts.hostname or ''}")
    tls = scheme == "https"
    host = parts.hostname
    port = parts.port or (443 if tls else 80)
    bracketed = f"[{host}]" if ":" in host else host
    host_header = bracketed if port == (443 if tls else 80) else f"{bracketed}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target((tls, host, port), host_header, path)


def _request_head(method: str, target: _Target, headers: Mapping[str, str], body: bytes) -> bytes:
    lines = [f"{method} {target.path} HTTP/1.1\r\nHost: {target.host_header}\r\n"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            # From settings (upstream.extra_headers, user_agent): say which one, never send it.
            raise UpstreamHTTPError(f"the request header {name[:60]!r} holds a line break or a colon")
        lines.append(f"{name}: {value}\r\n")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}\r\n")
    lines.append("\r\n")
    try:
        return "".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        raise UpstreamHTTPError("a request header holds characters HTTP cannot carry") from None


def _parse_head(head: bytes) -> tuple[bytes, int, dict[str, str]]:
    status_line, _, rest = head.partition(b"\r\n")
    version, _, after = status_line.partition(b" ")
    code = after[:3]
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise MalformedReply(
            f"the upstream's reply does not start with an HTTP/1.x status line: {status_line[:40]!r}"
        )
    headers: dict[str, str] = {}
    if rest:
        for line in rest.split(b"\r\n"):
            name, colon, value = line.partition(b":")
            if not colon:
                raise MalformedReply("the upstream's reply has a header line without a colon")
            key = name.strip().decode("latin-1").lower()
            text = value.strip().decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return version, int(code), headers


def _content_length(value: str) -> int:
    if not value.isdigit():
        raise MalformedReply(f"the upstream's reply has a bad Content-Length: {value[:40]!r}")
    return int(value)


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its TLS certificate was refused ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    return exc.strerror or type(exc).__name__
