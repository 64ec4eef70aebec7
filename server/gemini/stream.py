"""Gemini stream encoder: SSE (`alt=sse`) or Google's streamed JSON array, chunk by chunk."""

from __future__ import annotations

from core.errors import ApiError
from core.reply import NO_USAGE
from core.types import JSON
from server.gemini.translate import error_body
from server.protocol import Decoded, compact_json


class GeminiStreamEncoder:
    """Passes Gemini chunks through. With `sse` each chunk is `data: {json}\\r\\n\\r\\n`; without it the
    stream is one JSON array written piece by piece: `[` chunk `,\\r\\n` chunk … `]`."""

    def __init__(self, decoded: Decoded[None], sse: bool) -> None:
        self._model = decoded.model
        self._sse = sse
        self.content_type = "text/event-stream" if sse else "application/json"
        self._opened = False  # array form: "[" written
        self._chunks = 0
        self._closed = False
        self._usage = NO_USAGE

    @property
    def usage(self) -> tuple[int, int]:
        return self._usage.prompt, self._usage.output

    def _open(self) -> bytes:
        if self._sse or self._opened:
            return b""
        self._opened = True
        return b"["

    def _element(self, payload: bytes) -> bytes:
        if self._sse:
            return b"data: " + payload + b"\r\n\r\n"
        separator = b",\r\n" if self._chunks else b""
        return self._open() + separator + payload

    def start(self) -> bytes:
        return self._open()

    def feed(self, chunk: JSON) -> bytes:
        if self._closed:
            return b""
        metadata = chunk.get("usageMetadata")
        if metadata:
            self._usage = self._usage.updated(metadata)  # running totals: the latest are the whole count
        if "modelVersion" not in chunk:
            chunk = {**chunk, "modelVersion": self._model}
        data = self._element(compact_json(chunk).encode())
        self._chunks += 1
        return data

    def finish(self) -> bytes:
        if self._closed:
            return b""
        self._closed = True
        return b"" if self._sse else self._open() + b"]"

    def error(self, error: ApiError) -> bytes:
        """An SSE `data: {"error": …}` event, or the array's final element; the stream is closed after it."""
        if self._closed:
            return b""
        data = self._element(compact_json(error_body(error)).encode())
        self._closed = True
        return data if self._sse else data + b"]"
