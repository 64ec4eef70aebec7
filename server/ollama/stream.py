"""Gemini stream chunks -> Ollama NDJSON lines for `/api/chat` and `/api/generate`, one encoder per request."""

from __future__ import annotations

import time

from core.errors import ApiError
from core.reply import StreamReply
from core.types import JSON
from server.ollama.decode import OllamaOptions
from server.ollama.encode import (
    PROMPT_PARAM,
    Content,
    done_reason,
    error_line,
    final_fields,
    now_rfc3339,
)
from server.protocol import Decoded, compact_json


class _OllamaStreamEncoder:
    """One JSON object per line for every chunk with something to say, then the `done: true` object.

    The line head (model) is serialised once; each line costs a timestamp and one small json.dumps.
    `feed` raises ApiError when the upstream blocked the prompt (a first chunk with no candidates).
    """

    content_type = "application/x-ndjson"

    def __init__(self, decoded: Decoded[OllamaOptions]) -> None:
        self._head = '{"model":' + compact_json(decoded.options.client_model) + ',"created_at":"'
        self._started = decoded.options.started
        self._first: float | None = None
        self._calls = 0
        self._reply = StreamReply(PROMPT_PARAM)
        self._closed = False

    def start(self) -> bytes:
        return b""

    def feed(self, chunk: JSON) -> bytes:
        if self._closed:
            return b""
        parts = self._reply.read(chunk)  # Ollama has no way to ask for more than one candidate
        if self._first is None:
            self._first = time.perf_counter()
        if not parts:
            return b""
        content = Content(self._calls)
        for part in parts:
            content.add(part)
        if not content:
            return b""
        self._calls += len(content.tool_calls)
        return f'{self._head}{now_rfc3339()}",{self._fields(content)},"done":false}}\n'.encode()

    def finish(self) -> bytes:
        if self._closed:
            return b""
        self._closed = True
        now = time.perf_counter()
        first = self._first - self._started if self._first is not None else None
        final = final_fields(
            done_reason(self._reply.finish_reason),
            self._reply.usage,
            total_s=now - self._started,
            first_s=first,
        )
        return f'{self._head}{now_rfc3339()}",{self._fields(Content())},{compact_json(final)[1:]}\n'.encode()

    def error(self, error: ApiError) -> bytes:
        self._closed = True
        return error_line(error)

    @property
    def usage(self) -> tuple[int, int]:
        return self._reply.usage.prompt, self._reply.usage.output

    def _fields(self, content: Content) -> str:
        raise NotImplementedError


class ChatStreamEncoder(_OllamaStreamEncoder):
    """`/api/chat`: each line carries a `message` fragment (content, thinking, tool_calls, images)."""

    def __init__(self, decoded: Decoded[OllamaOptions]) -> None:
        super().__init__(decoded)
        self._tail = ""  # the last content character sent, to put a picture on its own paragraph

    def _fields(self, content: Content) -> str:
        if content.thinking or content.tool_calls or content.images:
            message = content.message(self._tail)
            self._tail = message["content"][-1:] or self._tail
            return '"message":' + compact_json(message)
        self._tail = content.text[-1:] or self._tail
        return '"message":{"role":"assistant","content":' + compact_json(content.text) + "}"


class GenerateStreamEncoder(_OllamaStreamEncoder):
    """`/api/generate`: each line carries a `response` fragment (and `thinking` when asked for)."""

    def _fields(self, content: Content) -> str:
        if content.thinking or content.images:
            return compact_json(content.generate_fields())[1:-1]
        return '"response":' + compact_json(content.text)


def stream_encoder(decoded: Decoded[OllamaOptions]) -> _OllamaStreamEncoder:
    """The encoder for the request's endpoint (decoded.options.kind)."""
    if decoded.options.kind == "generate":
        return GenerateStreamEncoder(decoded)
    return ChatStreamEncoder(decoded)
