"""Connections that hold the server open, on real sockets: slow headers are cut at server.header_timeout_s,
slow bodies get a 408 at server.body_timeout_s, one address keeps at most server.max_connections_per_client
open, and normal requests (long streams and idle kept-alive connections included) are left alone."""

from __future__ import annotations

import asyncio
import json
import time

from tests.server.conftest import Gateway

CHAT = b'{"model": "gemini-3-flash", "messages": [{"role": "user", "content": "hi"}]}'


def _request(gateway: Gateway, body: bytes = CHAT, length: int | None = None) -> bytes:
    host = gateway.url.removeprefix("http://")
    return (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {gateway.key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body) if length is None else length}\r\n\r\n"
    ).encode() + body


async def _connect(gateway: Gateway) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = gateway.url.removeprefix("http://").rsplit(":", 1)
    return await asyncio.open_connection(host, int(port))


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closed the connection within `seconds`, and what it sent before."""
    received = b""
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            chunk = await asyncio.wait_for(reader.read(65536), left)
            if not chunk:
                return True, received
            received += chunk
    except TimeoutError:
        return False, received
    except ConnectionResetError:
        return True, received
    return False, received


async def _answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body: status, headers (lower-case names), body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status_line, *lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 10)
    return int(status_line.split()[1]), headers, body


async def _served(gateway: Gateway) -> bool:
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions",
        data=CHAT,
        headers=gateway.headers(**{"Content-Type": "application/json"}),
    ) as response:
        return response.status == 200


async def test_headers_that_trickle_are_cut_at_the_header_timeout(gateway: Gateway) -> None:
    gateway.services.settings.server.header_timeout_s = 0.4
    reader, writer = await _connect(gateway)
    started = time.monotonic()
    request = _request(gateway)
    for index in range(3):  # one byte every 0.1 s: never done in time
        writer.write(request[index : index + 1])
        await writer.drain()
        await asyncio.sleep(0.1)
    closed, received = await _closed_within(reader, 2.0)
    assert closed and received == b""
    assert 0.4 <= time.monotonic() - started < 2.0
    writer.close()
    assert await _served(gateway)  # others are served meanwhile and after


async def test_a_kept_alive_connection_gets_a_new_header_deadline_only_when_the_next_request_begins(
    gateway: Gateway,
) -> None:
    gateway.services.settings.server.header_timeout_s = 0.4
    reader, writer = await _connect(gateway)
    writer.write(_request(gateway))
    status, _, _ = await _answer(reader)
    assert status == 200
    await asyncio.sleep(1.0)  # idle between requests: aiohttp's keep-alive timeout's business, not ours
    writer.write(_request(gateway))
    status, _, body = await _answer(reader)
    assert status == 200 and json.loads(body)["choices"][0]["message"]["content"] == "Echo: hi"
    writer.write(_request(gateway)[:10])  # the next request starts, and then trickles
    closed, _ = await _closed_within(reader, 2.0)
    assert closed
    writer.close()


async def test_a_long_answer_is_not_cut_by_the_header_timeout(gateway: Gateway) -> None:
    gateway.services.settings.server.header_timeout_s = 0.3
    gateway.fake.chunk_delay = 0.15  # a streamed answer of several chunks takes well over 0.3 s
    body = {
        "model": "gemini-3-flash",
        "stream": True,
        "messages": [{"role": "user", "content": "a b c d e"}],
    }
    started = time.monotonic()
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions", json=body, headers=gateway.headers()
    ) as response:
        assert response.status == 200
        text = await response.text()
    assert time.monotonic() - started > 0.3
    assert text.rstrip().endswith("data: [DONE]")


async def test_a_body_that_trickles_gets_a_408_in_the_protocols_shape_and_the_connection_closes(
    gateway: Gateway,
) -> None:
    gateway.services.settings.server.body_timeout_s = 0.4
    reader, writer = await _connect(gateway)
    request = _request(gateway)
    head_end = request.index(b"\r\n\r\n") + 4
    writer.write(request[: head_end + 5])  # complete headers, then five bytes of the body
    await writer.drain()
    started = time.monotonic()
    status, headers, body = await _answer(reader)
    assert status == 408
    assert 0.4 <= time.monotonic() - started < 5.0
    error = json.loads(body)["error"]
    assert error["type"] == "invalid_request_error" and "server.body_timeout_s" in error["message"]
    assert headers.get("connection", "").lower() == "close"
    writer.close()
    rows = await gateway.log_rows()
    assert [(row.status, row.path) for row in rows] == [(408, "/v1/chat/completions")]
    assert gateway.sent() == []


async def test_at_the_cap_a_waiting_connection_makes_room_and_busy_ones_are_kept(gateway: Gateway) -> None:
    settings = gateway.services.settings.server
    settings.max_connections_per_client = 3
    assert await _served(gateway)  # the test's own HTTP session now holds one idle kept-alive connection
    trickling = [await _connect(gateway) for _ in range(2)]  # opened, no request yet: waiting for headers
    await asyncio.sleep(0.2)  # accepted by the server's loop
    reader, writer = await _connect(gateway)  # a fourth: the oldest waiting one is closed to make room
    writer.write(_request(gateway))
    status, _, _ = await _answer(reader)
    assert status == 200
    closed, _ = await _closed_within(trickling[0][0], 2.0)
    assert closed
    still_open, _ = await _closed_within(trickling[1][0], 0.3)
    assert not still_open
    assert await _served(gateway)  # the kept-alive one was not the one to go
    for _, other in (*trickling, (reader, writer)):
        other.close()


async def test_at_the_cap_with_every_connection_inside_a_request_a_new_one_is_refused(
    gateway: Gateway,
) -> None:
    settings = gateway.services.settings.server
    settings.max_connections_per_client = 2
    settings.body_timeout_s = 5.0
    await gateway.http.close()  # no kept-alive connection of the test's own
    busy = []
    for _ in range(2):  # complete headers, a body that has not arrived: inside a request
        reader, writer = await _connect(gateway)
        writer.write(_request(gateway, length=len(CHAT) + 50))
        busy.append((reader, writer))
    await asyncio.sleep(0.3)
    reader, writer = await _connect(gateway)
    closed, received = await _closed_within(reader, 2.0)  # dropped at once, nothing read or answered
    assert closed and received == b""
    writer.close()
    _, first = busy.pop(0)
    first.close()  # a slot frees up...
    await asyncio.sleep(0.2)
    reader, writer = await _connect(gateway)  # ...and a new connection gets it
    writer.write(_request(gateway))
    status, _, _ = await _answer(reader)
    assert status == 200
    for _, other in (*busy, (reader, writer)):
        other.close()


async def test_no_cap_when_the_setting_is_zero(gateway: Gateway) -> None:
    gateway.services.settings.server.max_connections_per_client = 0
    many = [await _connect(gateway) for _ in range(8)]
    reader, writer = many[-1]
    writer.write(_request(gateway))
    status, _, _ = await _answer(reader)
    assert status == 200
    for _, other in many:
        other.close()
