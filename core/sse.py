"""Incremental Server-Sent-Events reader for upstream streams (never buffers a whole stream)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

_CR = 0x0D
_LF = 0x0A


class SseParser:
    """Turns bytes, fed in pieces of any size, into the `data` of complete SSE events.

    Lines may end in CRLF, LF or a lone CR (the SSE spec allows all three). Only the bytes after the last
    complete line are kept between feeds, so memory is bounded by one line, not by the stream.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scanned = 0  # bytes of _buffer already searched for a line end (large lines arrive in pieces)
        self._data: list[str] = []
        self._first_line = True

    def feed(self, chunk: bytes) -> list[str]:
        """The data of every event completed by this chunk."""
        self._buffer += chunk
        return self._drain(final=False)

    def close(self) -> list[str]:
        """At end of stream: the last event even when the stream did not end it with a blank line."""
        events = self._drain(final=True)
        if self._buffer:
            self._line(bytes(self._buffer), events)
            self._buffer.clear()
        if self._data:
            events.append("\n".join(self._data))
            self._data = []
        return events

    def _drain(self, *, final: bool) -> list[str]:
        events: list[str] = []
        buffer = self._buffer
        start = 0
        position = self._scanned
        size = len(buffer)
        while position < size:
            byte = buffer[position]
            if byte != _LF and byte != _CR:
                # bytes.find is C speed; search for whichever line end comes first from here.
                lf = buffer.find(b"\n", position)
                cr = buffer.find(b"\r", position, lf if lf >= 0 else size)
                if cr >= 0:
                    position = cr
                elif lf >= 0:
                    position = lf
                else:
                    position = size
                    break
                continue
            end = position
            if byte == _CR:
                if position + 1 < size:
                    if buffer[position + 1] == _LF:
                        position += 1
                elif not final:
                    break  # a CR as the last byte may be the first half of a CRLF: wait for the next byte
            self._line(bytes(buffer[start:end]), events)
            position += 1
            start = position
        if start:
            del buffer[:start]
        self._scanned = max(0, position - start)
        return events

    def _line(self, line: bytes, events: list[str]) -> None:
        if self._first_line:
            self._first_line = False
            if line.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark may open the stream
                line = line[3:]
        if not line:
            if self._data:
                events.append("\n".join(self._data))
                self._data = []
            return
        if line.startswith(b"data"):
            if line.startswith(b"data: "):
                self._data.append(line[6:].decode("utf-8", errors="replace"))
                return
            if line == b"data":
                self._data.append("")
                return
            if line.startswith(b"data:"):
                self._data.append(line[5:].decode("utf-8", errors="replace"))
        # Comments (":..."), event:, id:, retry: and unknown fields carry nothing the gateway needs.


async def iter_sse_data(chunks: AsyncIterable[bytes]) -> AsyncIterator[str]:
    """Yield the `data:` payload of each SSE event as it arrives (multi-line data joined with '\\n')."""
    parser = SseParser()
    async for chunk in chunks:
        for data in parser.feed(chunk):
            yield data
    for data in parser.close():
        yield data
