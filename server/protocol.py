"""The contract every client-protocol adapter (OpenAI, Claude, Gemini, Ollama) implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core import fast_json
from core.errors import ApiError
from core.types import JSON

# JSON as adapters write it on the wire: no spaces, non-ASCII text as is. The function itself, not a wrapper:
# it runs once or more per streamed event.
compact_json = fast_json.dumps_text


@dataclass(frozen=True, slots=True)
class Decoded[Options]:
    """A client request translated to Gemini, plus what the response side needs to know.

    `options` is the protocol's own frozen dataclass of what its encoders read (None where they read none).
    """

    model: str  # the model name exactly as the client sent it
    body: JSON  # a Gemini GenerateContentRequest (contents, systemInstruction, tools, toolConfig, generationConfig)
    stream: bool
    options: Options
    conversation_key: str | None = None  # keeps a conversation on one account (upstream caching)


class StreamEncoder(Protocol):
    """One per streaming request: fed Gemini response chunks in order, returns bytes to write."""

    content_type: str  # e.g. "text/event-stream" or "application/x-ndjson"

    def start(self) -> bytes:
        """Bytes to send as soon as the upstream stream is open (may be empty)."""
        ...

    def feed(self, chunk: JSON) -> bytes:
        """Bytes for one Gemini GenerateContentResponse chunk (may be empty)."""
        ...

    def finish(self) -> bytes:
        """Bytes that close a stream that ended normally."""
        ...

    def error(self, error: ApiError) -> bytes:
        """Bytes that report a failure after the stream started (the protocol's stream error event)."""
        ...

    @property
    def usage(self) -> tuple[int, int]:
        """(prompt tokens, output tokens) seen so far, for the request log."""
        ...
