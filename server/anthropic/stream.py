"""Gemini stream chunks re-told as Claude's Messages SSE events, one encoder per streaming request."""

from __future__ import annotations

import json
from typing import Any

from core.errors import ApiError
from core.reply import StreamReply
from core.types import JSON
from server.anthropic.decode import MessagesOptions
from server.anthropic.encode import (
    PROMPT_PARAM,
    error_body,
    image_block,
    message_usage,
    new_message_id,
    search_blocks,
    search_citations,
    stop_reason,
    tool_use_blocks,
)
from server.protocol import Decoded

# ASCII escapes keep odd upstream text (lone surrogates) from failing the UTF-8 encode.
_dumps = json.JSONEncoder(separators=(",", ":")).encode
_PING = b'event: ping\ndata: {"type":"ping"}\n\n'
_MESSAGE_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
_TEXT_START = b'{"type":"text","text":""}'
_THINKING_START = b'{"type":"thinking","thinking":"","signature":""}'


def _event(name: str, data: JSON) -> bytes:
    return f"event: {name}\ndata: {_dumps(data)}\n\n".encode()


class MessagesStreamEncoder:
    """Claude's event sequence for one streamed answer.

    `message_start` and `ping` go out with the first chunk (so message_start can carry the prompt's
    token count), then one content block per run of one part kind (thinking, text, each tool call, each
    image), then `message_delta` and `message_stop` from finish(). A thinking block closes at its
    signature (signature_delta right before content_block_stop). A blocked prompt makes feed() raise
    ApiError; report it with error(), after which the encoder writes nothing more.
    """

    content_type = "text/event-stream"

    def __init__(self, decoded: Decoded[MessagesOptions], message_id: str | None = None) -> None:
        self._model = decoded.model
        self._stop_sequences = decoded.options.stop_sequences
        self._tail_length = max((len(sequence) for sequence in self._stop_sequences), default=0)
        self._id = message_id or new_message_id()
        # Its grounding (search sources) is told at the end: it arrives with the last chunk.
        self._reply = StreamReply(PROMPT_PARAM)
        self._started = False
        self._done = False
        self._index = -1  # index of the last block started
        self._open: str | None = None  # kind of the block still open: "text", "thinking" or "tool_use"
        self._text_tail = ""  # end of the last text block, to spot a stop sequence
        self._last_kind: str | None = None
        self._used_tools = False

    @property
    def usage(self) -> tuple[int, int]:
        return self._reply.usage.prompt, self._reply.usage.output

    def start(self) -> bytes:
        return b""  # message_start waits for the first chunk, which tells the prompt's token count

    def feed(self, chunk: JSON) -> bytes:
        parts = self._reply.read(chunk)
        out: list[bytes] = []
        if not self._started:
            self._message_start(out)  # after read(): it tells the prompt's token count
        for part in parts:
            self._part(part, out)
        return b"".join(out)

    def finish(self) -> bytes:
        if self._done:
            return b""
        out: list[bytes] = []
        if not self._started:
            self._message_start(out)
        if self._reply.grounding is not None:
            self._search(self._reply.grounding, out)
        self._close(out)
        last_text = self._text_tail if self._last_kind == "text" else ""
        reason, sequence = stop_reason(
            self._reply.finish_reason, self._used_tools, last_text, self._stop_sequences
        )
        tokens = self._reply.usage
        usage = {
            "input_tokens": tokens.uncached_prompt,
            "output_tokens": tokens.output,
            "cache_read_input_tokens": tokens.cached,
        }
        delta = {"stop_reason": reason, "stop_sequence": sequence}
        out.append(_event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        out.append(_MESSAGE_STOP)
        self._done = True
        return b"".join(out)

    def error(self, error: ApiError) -> bytes:
        if self._done:
            return b""
        self._done = True
        return _event("error", error_body(error))

    # --- events ---------------------------------------------------------------------------------------

    def _message_start(self, out: list[bytes]) -> None:
        self._started = True
        message: JSON = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": message_usage(self._reply.usage),
        }
        out.append(_event("message_start", {"type": "message_start", "message": message}))
        out.append(_PING)

    def _part(self, part: Any, out: list[bytes]) -> None:
        if not isinstance(part, dict):
            return
        if "functionCall" in part:
            self._tool_use(part, out)
        elif part.get("thought"):
            self._thinking(part.get("text") or "", part.get("thoughtSignature"), out)
        elif "text" in part:
            text = part["text"]
            if text:
                self._text(text, out)
        elif "inlineData" in part:
            self._close(out)
            self._index += 1
            start = {
                "type": "content_block_start",
                "index": self._index,
                "content_block": image_block(part["inlineData"]),
            }
            out.append(_event("content_block_start", start))
            out.append(self._stop_event())
            self._last_kind = "image"

    def _search(self, grounding: JSON, out: list[bytes]) -> None:
        """Citations onto the text block still open, then the search itself as blocks of their own."""
        if self._open == "text":
            for citation in search_citations(grounding):
                delta = {"type": "citations_delta", "citation": citation}
                event = {"type": "content_block_delta", "index": self._index, "delta": delta}
                out.append(_event("content_block_delta", event))
        self._close(out)
        last_kind = self._last_kind
        for block in search_blocks(grounding):
            self._begin(block["type"], _dumps(block).encode(), out)
            out.append(self._stop_event())
            self._open = None
        self._last_kind = last_kind  # stop_sequence detection still looks at the answer's text

    def _text(self, text: str, out: list[bytes]) -> None:
        if self._open != "text":
            self._close(out)
            self._begin("text", _TEXT_START, out)
            self._text_tail = ""
        out.append(
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,'
            b'"delta":{"type":"text_delta","text":%s}}\n\n' % (self._index, _dumps(text).encode())
        )
        if self._tail_length:
            self._text_tail = (self._text_tail + text)[-self._tail_length :]

    def _thinking(self, text: str, signature: str | None, out: list[bytes]) -> None:
        if self._open != "thinking":
            self._close(out)
            self._begin("thinking", _THINKING_START, out)
        if text:
            out.append(
                b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,'
                b'"delta":{"type":"thinking_delta","thinking":%s}}\n\n' % (self._index, _dumps(text).encode())
            )
        if signature:
            self._signature(signature, out)
            out.append(self._stop_event())
            self._open = None

    def _tool_use(self, part: JSON, out: list[bytes]) -> None:
        self._close(out)
        for block in tool_use_blocks(part):
            if block["type"] == "thinking":
                # The call's signature, as an empty thinking block of its own (see tool_use_blocks).
                self._begin("thinking", _THINKING_START, out)
                self._signature(block["signature"], out)
                out.append(self._stop_event())
                continue
            arguments = block["input"]
            block["input"] = {}  # Claude streams a tool's input as JSON text, starting from {}
            self._begin("tool_use", _dumps(block).encode(), out)
            delta = {"type": "input_json_delta", "partial_json": _dumps(arguments)}
            out.append(
                _event(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": self._index, "delta": delta},
                )
            )
        self._used_tools = True

    def _signature(self, signature: str, out: list[bytes]) -> None:
        delta = {"type": "signature_delta", "signature": signature}
        out.append(
            _event(
                "content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta}
            )
        )

    def _begin(self, kind: str, block_json: bytes, out: list[bytes]) -> None:
        self._index += 1
        self._open = kind
        self._last_kind = kind
        out.append(
            b'event: content_block_start\ndata: {"type":"content_block_start","index":%d,"content_block":%s}\n\n'
            % (self._index, block_json)
        )

    def _close(self, out: list[bytes]) -> None:
        if self._open is not None:
            out.append(self._stop_event())
            self._open = None

    def _stop_event(self) -> bytes:
        return b'event: content_block_stop\ndata: {"type":"content_block_stop","index":%d}\n\n' % self._index
