"""The lean upstream HTTP client against a scripted server on loopback: framing, keep-alive, failures."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import pytest
import trustme

from core.upstream_http import (
    ConnectFailed,
    Disconnected,
    MalformedReply,
    Timeouts,
    UpstreamHTTP,
    UpstreamHTTPError,
)


class ScriptedServer:
    """Answers each request with bytes the test chose, written in pieces of `split` bytes."""

    def __init__(self) -> None:
        self.replies: list[bytes] = []
        self.split = 0
        self.connections = 0
        self.requests: list[bytes] = []
        self.close_after_each = False
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.replies:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                reply = self.replies.pop(0)
                step = self.split or len(reply) or 1
                for start in range(0, len(reply), step):
                    writer.write(reply[start : start + step])
                    await writer.drain()
                    if self.split:
                        await asyncio.sleep(0)
                if self.close_after_each:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[ScriptedServer, str]]:
    scripted = ScriptedServer()
    base = await scripted.start()
    yield scripted, base
    assert scripted.server is not None
    scripted.server.close()


@pytest.fixture
async def client() -> AsyncIterator[UpstreamHTTP]:
    http = UpstreamHTTP()
    yield http
    await http.close()


TIMEOUTS = Timeouts(connect=5, read=5)
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n"


@pytest.mark.parametrize("split", [0, 1, 2, 7])
async def test_chunked_bodies_read_whole_at_any_split(
    server: tuple[ScriptedServer, str], client: UpstreamHTTP, split: int
) -> None:
    scripted, base = server
    scripted.split = split
    scripted.replies = [CHUNKED, CHUNKED]
    for _ in range(2):
        async with await client.request(
            "POST", f"{base}/x?alt=sse", headers={"A": "b"}, body=b"{}", timeouts=TIMEOUTS
        ) as reply:
            assert reply.status == 200
            assert await reply.read() == b"hello world"
    assert scripted.connections == 1  # kept alive between the two
    assert scripted.requests[0].startswith(b"POST /x?alt=sse HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nA: b\r\nContent-Length: 2\r\n\r\n{}" in scripted.requests[0]


async def test_content_length_and_close_delimited_bodies(
    server: tuple[ScriptedServer, str], client: UpstreamHTTP
) -> None:
    scripted, base = server
    scripted.replies = [
        b"HTTP/1.1 429 Too Many\r\nContent-Length: 3\r\nRetry-After: 7\r\n\r\nabc",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil the end",
    ]
    async with await client.request("GET", f"{base}/a", headers={}, timeouts=TIMEOUTS) as reply:
        assert (reply.status, reply.header("retry-after"), await reply.read()) == (429, "7", b"abc")
    async with await client.request("GET", f"{base}/b", headers={}, timeouts=TIMEOUTS) as reply:
        assert reply.status == 200 and await reply.read() == b"until the end"


async def test_a_pooled_connection_the_server_closed_is_not_reused(
    server: tuple[ScriptedServer, str], client: UpstreamHTTP
) -> None:
    scripted, base = server
    scripted.close_after_each = True
    scripted.replies = [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"] * 2
    for _ in range(2):
        async with await client.request("GET", f"{base}/", headers={}, timeouts=TIMEOUTS) as reply:
            assert await reply.read() == b"ok"
        await asyncio.sleep(0.05)  # the server's close reaches the idle connection (or races the next send)
    assert scripted.connections == 2


async def test_a_request_the_server_drops_on_a_reused_connection_is_sent_again_once(
    client: UpstreamHTTP,
) -> None:
    # The race the idle check cannot see: the connection looks open, the server reads the request and
    # closes without a byte of answer (its keep-alive timer ran out). The request goes out again, once.
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        first = connections == 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        if first:
            await reader.readuntil(b"\r\n\r\n")  # the second request, dropped unanswered
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    for _ in range(2):
        async with await client.request("GET", url, headers={}, timeouts=TIMEOUTS) as reply:
            assert await reply.read() == b"ok"
    assert connections == 2
    server.close()


async def test_a_reply_cut_mid_body_raises_disconnected(
    server: tuple[ScriptedServer, str], client: UpstreamHTTP
) -> None:
    scripted, base = server
    scripted.close_after_each = True
    scripted.replies = [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"]
    reply = await client.request("GET", f"{base}/", headers={}, timeouts=TIMEOUTS)
    with pytest.raises(Disconnected):
        await reply.read()
    reply.close()


async def test_a_stream_abandoned_mid_body_drops_its_connection(client: UpstreamHTTP) -> None:
    # A client that goes away mid-stream cancels the reader while it waits for the next chunk. The
    # connection still holds the rest of that body: given to the next request, it would answer with it.
    rest_may_go = asyncio.Event()
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
                await writer.drain()
                await rest_may_go.wait()
                writer.write(b"4\r\nrest\r\n0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    got_first = asyncio.Event()

    async def read_stream() -> None:
        async with await client.request("GET", url, headers={}, timeouts=TIMEOUTS) as reply:
            async for chunk in reply.iter_chunks():
                assert chunk == b"first"
                got_first.set()

    reader = asyncio.create_task(read_stream())
    await got_first.wait()
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    rest_may_go.set()  # the abandoned body's end arrives on the old connection, if anyone still reads it
    async with await client.request("GET", url, headers={}, timeouts=TIMEOUTS) as reply:
        assert await reply.read() == b"firstrest"
    assert connections == 2
    server.close()


async def test_silence_past_the_read_timeout_raises_timeout(client: UpstreamHTTP) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")
        await asyncio.sleep(5)

    quiet = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = quiet.sockets[0].getsockname()[1]
    reply = await client.request("GET", f"http://127.0.0.1:{port}/", headers={}, timeouts=Timeouts(read=0.2))
    started = asyncio.get_running_loop().time()
    with pytest.raises(TimeoutError):
        await reply.read()
    assert asyncio.get_running_loop().time() - started < 2
    reply.close()
    quiet.close()


@pytest.mark.parametrize(
    "reply",
    [b"SPDY/3 200 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
)
async def test_malformed_replies_are_refused(
    server: tuple[ScriptedServer, str], client: UpstreamHTTP, reply: bytes
) -> None:
    scripted, base = server
    scripted.replies = [reply]
    with pytest.raises(MalformedReply):
        async with await client.request("GET", f"{base}/", headers={}, timeouts=TIMEOUTS) as answer:
            await answer.read()


async def test_a_refused_connection_and_a_header_with_a_line_break_say_what(client: UpstreamHTTP) -> None:
    with pytest.raises(ConnectFailed, match=r"cannot connect to 127\.0\.0\.1:9"):
        await client.request("GET", "http://127.0.0.1:9/", headers={}, timeouts=TIMEOUTS)
    with pytest.raises(UpstreamHTTPError, match="X-Bad"):
        await client.request(
            "GET", "http://127.0.0.1:9/", headers={"X-Bad": "a\r\nInjected: 1"}, timeouts=TIMEOUTS
        )


class ConnectProxy:
    """A CONNECT-only proxy on loopback that records each tunnel's target and, if set, asks for a password."""

    def __init__(self, authorization: str | None = None) -> None:
        self.authorization = authorization
        self.tunnels: list[str] = []
        self.server: asyncio.Server | None = None

    async def start(self, tls: ssl.SSLContext | None = None) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        target = head.split(" ")[1]
        self.tunnels.append(target)
        if self.authorization and f"Proxy-Authorization: {self.authorization}" not in head:
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        host, port = target.rsplit(":", 1)
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except ConnectionError:
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


@pytest.fixture
def tls_server_context() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    return server_context, client_context


async def _answering_over_tls(context: ssl.SSLContext, body: bytes) -> tuple[asyncio.Server, str]:
    """A TLS server for `localhost` that answers one request with `body`; its URL."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    return server, f"https://localhost:{server.sockets[0].getsockname()[1]}/v1internal:x"


async def test_tls_directly_and_through_a_connect_proxy_with_a_password(
    tls_server_context: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_context, client_context = tls_server_context
    tls, url = await _answering_over_tls(server_context, b"secure")
    direct = UpstreamHTTP(ssl_context=client_context)
    async with await direct.request("GET", url, headers={}, timeouts=TIMEOUTS) as reply:
        assert await reply.read() == b"secure"
    await direct.close()

    untrusting = UpstreamHTTP()  # the system's trust store does not know the test's authority
    with pytest.raises(ConnectFailed, match="certificate"):
        await untrusting.request("GET", url, headers={}, timeouts=TIMEOUTS)
    await untrusting.close()

    proxy = ConnectProxy(authorization="Basic YWxpY2U6czNjcmV0")  # alice:s3cret
    address = await proxy.start()
    tunnelled = UpstreamHTTP(proxy=f"http://alice:s3cret@{address}", ssl_context=client_context)
    async with await tunnelled.request("GET", url, headers={}, timeouts=TIMEOUTS) as reply:
        assert await reply.read() == b"secure"
    await tunnelled.close()
    assert proxy.tunnels == [url.split("/")[2]]

    refused = UpstreamHTTP(proxy=f"http://alice:wrong@{address}", ssl_context=client_context)
    with pytest.raises(ConnectFailed, match=r"407.*user name and password") as failure:
        await refused.request("GET", url, headers={}, timeouts=TIMEOUTS)
    assert "wrong" not in str(failure.value)
    await refused.close()
    tls.close()
    assert proxy.server is not None
    proxy.server.close()


async def test_tls_through_a_proxy_reached_over_tls(
    tls_server_context: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    # An https:// proxy: TLS to the proxy, CONNECT inside it, then the target's TLS inside that tunnel.
    server_context, client_context = tls_server_context
    tls, url = await _answering_over_tls(server_context, b"doubly safe.")
    proxy = ConnectProxy(authorization="Basic YWxpY2U6czNjcmV0")  # alice:s3cret
    address = await proxy.start(tls=server_context)
    port = address.rsplit(":", 1)[1]
    tunnelled = UpstreamHTTP(proxy=f"https://alice:s3cret@localhost:{port}", ssl_context=client_context)
    async with await tunnelled.request("GET", url, headers={}, timeouts=TIMEOUTS) as reply:
        assert await reply.read() == b"doubly safe."
    await tunnelled.close()
    assert proxy.tunnels == [url.split("/")[2]]
    tls.close()
    assert proxy.server is not None
    proxy.server.close()
