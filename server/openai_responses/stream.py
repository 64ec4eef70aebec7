"""Gemini stream chunks -> OpenAI Responses server-sent events (`event:` + `data:`), one encoder per request."""

from __future__ import annotations

from core.errors import ApiError
from core.types import JSON
from server.openai_responses.decode import ResponsesOptions
from server.openai_responses.encode import ResponseBuilder
from server.protocol import Decoded, compact_json


def _sse(events: list[JSON]) -> bytes:
    return "".join(f"event: {event['type']}\ndata: {compact_json(event)}\n\n" for event in events).encode()


class ResponsesStreamEncoder:
    """`response.created` and `response.in_progress` first, item events as parts arrive, then exactly one of
    `response.completed`, `response.incomplete` (cut short: max tokens, content filter) or `response.failed`.

    `feed` raises ApiError when the upstream blocked the prompt (the first chunk, before anything was sent).
    """

    content_type = "text/event-stream"

    def __init__(self, decoded: Decoded[ResponsesOptions]) -> None:
        self._builder = ResponseBuilder(decoded)
        self._closed = False

    def start(self) -> bytes:
        return _sse(self._builder.start())

    def feed(self, chunk: JSON) -> bytes:
        if self._closed:
            return b""
        return _sse(self._builder.feed(chunk))

    def finish(self) -> bytes:
        if self._closed:
            return b""
        self._closed = True
        return _sse(self._builder.finish())

    def error(self, error: ApiError) -> bytes:
        if self._closed:
            return b""
        self._closed = True
        return _sse(self._builder.fail(error))

    @property
    def usage(self) -> tuple[int, int]:
        return self._builder.usage
