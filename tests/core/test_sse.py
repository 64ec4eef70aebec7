"""The SSE reader, fed in odd splits, byte by byte, and over a socket through the upstream HTTP client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from core.sse import SseParser, iter_sse_data
from core.upstream_http import Disconnected, Timeouts, UpstreamHTTP

SPLITS = [1, 2, 3, 7, 64, 10_000]


class Feed:
    """Chunks handed to the reader by the test as a socket would deliver them, then the end or a failure."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()

    def feed_data(self, data: bytes) -> None:
        self._queue.put_nowait(data)

    def feed_eof(self) -> None:
        self._queue.put_nowait(None)

    def set_exception(self, error: BaseException) -> None:
        self._queue.put_nowait(error)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        while (item := await self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item


def make_reader() -> Feed:
    return Feed()


async def read_all(raw: bytes, split: int) -> list[str]:
    reader = make_reader()
    for start in range(0, len(raw), split):
        reader.feed_data(raw[start : start + split])
    reader.feed_eof()
    return [data async for data in iter_sse_data(reader)]


@pytest.mark.parametrize("split", SPLITS)
async def test_lf_crlf_and_cr_line_endings_give_the_same_events(split: int) -> None:
    lf = b'data: {"a":1}\n\ndata: {"b":2}\n\n'
    crlf = b'data: {"a":1}\r\n\r\ndata: {"b":2}\r\n\r\n'
    cr = b'data: {"a":1}\r\rdata: {"b":2}\r\r'
    mixed = b'data: {"a":1}\r\n\ndata: {"b":2}\r\r\n'
    for raw in (lf, crlf, cr, mixed):
        assert await read_all(raw, split) == ['{"a":1}', '{"b":2}'], raw


@pytest.mark.parametrize("split", SPLITS)
async def test_multi_line_data_is_joined_with_newlines(split: int) -> None:
    raw = b"data: first\r\ndata: second\r\ndata:third\r\n\r\n"
    assert await read_all(raw, split) == ["first\nsecond\nthird"]


@pytest.mark.parametrize("split", SPLITS)
async def test_comments_and_other_fields_are_skipped(split: int) -> None:
    raw = (
        b": keep-alive\n\n"
        b"event: message\nid: 7\nretry: 1000\ndata: one\n\n"
        b":comment between\ndata: two\n: trailing comment\n\n"
        b"dataX: not a data field\n\n"
    )
    assert await read_all(raw, split) == ["one", "two"]


@pytest.mark.parametrize("split", SPLITS)
async def test_last_event_without_blank_line_at_eof_is_delivered(split: int) -> None:
    assert await read_all(b"data: a\n\ndata: last", split) == ["a", "last"]
    assert await read_all(b"data: a\n\ndata: last\r", split) == ["a", "last"]
    assert await read_all(b"data: a\n\ndata: last\r\n", split) == ["a", "last"]


async def test_blank_lines_alone_make_no_events() -> None:
    assert await read_all(b"\n\n\r\n\r\r\n", 1) == []


async def test_data_field_without_value_and_without_space() -> None:
    assert await read_all(b"data\ndata:x\ndata:  two spaces\n\n", 1) == ["\nx\n two spaces"]


@pytest.mark.parametrize("split", [1, 5])
async def test_multibyte_utf8_split_across_feeds(split: int) -> None:
    text = "héllo — 世界 🌍"
    raw = b"data: " + text.encode() + b"\n\n"
    assert await read_all(raw, split) == [text]


async def test_byte_order_mark_at_start_is_ignored() -> None:
    assert await read_all(b"\xef\xbb\xbfdata: x\n\n", 1) == ["x"]


async def test_a_line_larger_than_the_reader_limit_is_read_whole() -> None:
    # Generated images arrive as one multi-megabyte data line; readline() would refuse it.
    payload = b"A" * 3_000_000
    assert await read_all(b"data: " + payload + b"\n\ndata: next\n\n", 65_536) == [payload.decode(), "next"]


async def test_events_are_yielded_before_the_stream_ends() -> None:
    reader = make_reader()
    events = iter_sse_data(reader)
    reader.feed_data(b"data: one\n")
    reader.feed_data(b"\n")
    first = await asyncio.wait_for(anext(events), 1.0)
    assert first == "one"
    reader.feed_data(b"data: tw")
    pending = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.01)
    assert not pending.done()  # half an event is not an event
    reader.feed_data(b"o\r\n\r\n")
    assert await asyncio.wait_for(pending, 1.0) == "two"
    reader.feed_eof()
    with pytest.raises(StopAsyncIteration):
        await anext(events)


async def test_a_broken_stream_raises_after_the_events_before_it() -> None:
    reader = make_reader()
    reader.feed_data(b"data: ok\n\ndata: part")
    reader.set_exception(Disconnected("cut"))
    events = iter_sse_data(reader)
    with pytest.raises(Disconnected):
        async for data in events:
            assert data == "ok"


def test_parser_keeps_only_the_unfinished_line() -> None:
    parser = SseParser()
    assert parser.feed(b"data: a\n\ndata: b" + b"x" * 1000) == ["a"]
    assert len(parser._buffer) == len(b"data: b") + 1000
    assert parser.feed(b"\n\n") == ["b" + "x" * 1000]
    assert len(parser._buffer) == 0


@pytest.fixture
async def sse_server() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A real server that sends one event, then waits for the test's go-ahead before the second."""
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: first\r\n\r\n")
        await release.wait()
        await response.write(b"data: second\r\n\r\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/", release
    release.set()
    await runner.cleanup()


async def test_reads_a_real_http_stream_incrementally(sse_server: tuple[str, asyncio.Event]) -> None:
    url, release = sse_server
    http = UpstreamHTTP()
    async with await http.request("GET", url, headers={}, timeouts=Timeouts(read=5)) as response:
        events = iter_sse_data(response.iter_chunks())
        assert await asyncio.wait_for(anext(events), 2.0) == "first"
        release.set()
        assert [data async for data in events] == ["second"]
    await http.close()
