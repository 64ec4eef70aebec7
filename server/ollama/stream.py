"""Gemini stream chunks -> Ollama NDJSON lines for `/api/chat` and `/api/generate`, one encoder per request."""

from __future__ import annotations

import time

from core.errors import ApiError
from core.types import JSON
from server.ollama.encode import (
    Content,
    client_model,
    counts,
    done_reason,
    error_line,
    final_fields,
    now_rfc3339,
    started_at,
)
from server.openai.encode import raise_if_blocked
from server.protocol import Decoded, compact_json


class _OllamaStreamEncoder:
    """One JSON object per line for every chunk with something to say, then the `done: true` object.

    The line head (model) is serialised once; each line costs a timestamp and one small json.dumps.
    `feed` raises ApiError when the upstream blocked the prompt (a first chunk with no candidates).
    """

    content_type = "application/x-ndjson"

    def __init__(self, decoded: Decoded) -> None:
        self._head = '{"model":' + compact_json(client_model(decoded)) + ',"created_at":"'
        self._started = started_at(decoded)
        self._first: float | None = None
        self._calls = 0
        self._gemini_finish: str | None = None
        self._usage_metadata: JSON | None = None
        self._closed = False

    def start(self) -> bytes:
        return b""

    def feed(self, chunk: JSON) -> bytes:
        if self._closed:
            return b""
        raise_if_blocked(chunk)
        if self._first is None:
            self._first = time.perf_counter()
        usage = chunk.get("usageMetadata")
        if usage:
            self._usage_metadata = usage  # cumulative: the latest one is the total
        candidates = chunk.get("candidates")
        if not candidates:
            return b""
        candidate = candidates[0]  # Ollama has no way to ask for more than one
        reason = candidate.get("finishReason")
        if reason:
            self._gemini_finish = reason
        content = Content(self._calls)
        for part in (candidate.get("content") or {}).get("parts") or ():
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
            done_reason(self._gemini_finish), self._usage_metadata, total_s=now - self._started, first_s=first
        )
        return f'{self._head}{now_rfc3339()}",{self._fields(Content())},{compact_json(final)[1:]}\n'.encode()

    def error(self, error: ApiError) -> bytes:
        self._closed = True
        return error_line(error)

    @property
    def usage(self) -> tuple[int, int]:
        return counts(self._usage_metadata)

    def _fields(self, content: Content) -> str:
        raise NotImplementedError


class ChatStreamEncoder(_OllamaStreamEncoder):
    """`/api/chat`: each line carries a `message` fragment (content, thinking, tool_calls, images)."""

    def __init__(self, decoded: Decoded) -> None:
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


def stream_encoder(decoded: Decoded) -> _OllamaStreamEncoder:
    """The encoder for the request's endpoint (decoded.options["kind"])."""
    if decoded.options.get("kind") == "generate":
        return GenerateStreamEncoder(decoded)
    return ChatStreamEncoder(decoded)
