"""Gemini stream chunks -> OpenAI `chat.completion.chunk` server-sent events, one encoder per request."""

from __future__ import annotations

import time

from core.errors import ApiError
from core.reply import StreamReply, Usage, image_markdown
from core.types import JSON
from server.openai.decode import ChatOptions
from server.openai.encode import (
    PROMPT_PARAM,
    error_body,
    finish_reason,
    image_part,
    new_completion_id,
    openai_usage,
    tool_call,
    url_citations,
)
from server.protocol import Decoded, compact_json

DONE = b"data: [DONE]\n\n"


# --- what the chat and the legacy completion streams share ----------------------------------------------


def event_envelope(object_type: str, completion_id: str, model: str) -> str:
    """`data: {"id":…,"object":…,"created":…,"model":…` without the closing brace, so fields can follow.

    Serialised once per stream, so each event costs one small json.dumps of what changes.
    """
    envelope = compact_json(
        {"id": completion_id, "object": object_type, "created": int(time.time()), "model": model}
    )
    return "data: " + envelope[:-1]


def closing_events(envelope: str, finish_event: bytes, usage: Usage, include_usage: bool) -> bytes:
    """The end of a stream that ended normally: the finish_reason chunk, the usage chunk when
    stream_options.include_usage asked for it, then [DONE]."""
    events = [finish_event]
    if include_usage:
        usage_json = compact_json(openai_usage(usage))
        events.append(f'{envelope},"choices":[],"usage":{usage_json}}}\n\n'.encode())
    events.append(DONE)
    return b"".join(events)


def error_event(error: ApiError) -> bytes:
    """A failure after the stream started: OpenAI's error object as a data event, and no [DONE]."""
    return b"data: " + compact_json(error_body(error)).encode() + b"\n\n"


# --- Chat Completions -----------------------------------------------------------------------------------


class ChatStreamEncoder:
    """Turns the Gemini chunks of one streaming request into OpenAI chunk events.

    The envelope of every event (id, created, model) is serialised once up front, so each event costs one
    small json.dumps of its delta. `feed` raises ApiError when the upstream blocked the prompt (the first
    chunk then has no candidates and a promptFeedback.blockReason).
    """

    content_type = "text/event-stream"

    def __init__(self, decoded: Decoded[ChatOptions]) -> None:
        self._include_usage = decoded.options.include_usage
        self._envelope = event_envelope("chat.completion.chunk", new_completion_id(), decoded.model)
        self._delta_head = (self._envelope + ',"choices":[{"index":0,"delta":').encode()
        self._role_sent = False
        self._tool_calls = 0
        self._content_tail = ""  # the last content character sent, to place image markdown on its own line
        self._texts: list[str] = []  # the answer so far, to place search citations in it at the end
        self._image_parts = decoded.options.image_output == "part"
        self._reply = StreamReply(PROMPT_PARAM)
        self._closed = False

    def start(self) -> bytes:
        return b""  # the role comes with the first chunk, so an upstream that fails first shows no reply

    def feed(self, chunk: JSON) -> bytes:
        if self._closed:
            return b""
        parts = self._reply.read(chunk)  # only one candidate is ever requested (decode refuses n > 1)
        events = [] if self._role_sent else [self._role_event()]
        for part in parts:
            delta = self._delta_for(part)
            if delta is not None:
                events.append(self._delta_event(delta))
        return b"".join(events)

    def finish(self) -> bytes:
        if self._closed:
            return b""
        self._closed = True
        events = [] if self._role_sent else [self._role_event()]
        annotations = url_citations(self._reply.grounding, "".join(self._texts))  # sent once, at the end
        if annotations:
            events.append(self._delta_event({"annotations": annotations}))
        reason = finish_reason(self._reply.finish_reason, self._tool_calls > 0)
        finish = f'{self._envelope},"choices":[{{"index":0,"delta":{{}},"finish_reason":"{reason}"}}]}}\n\n'
        events.append(closing_events(self._envelope, finish.encode(), self._reply.usage, self._include_usage))
        return b"".join(events)

    def error(self, error: ApiError) -> bytes:
        self._closed = True
        return error_event(error)

    @property
    def usage(self) -> tuple[int, int]:
        return self._reply.usage.prompt, self._reply.usage.output

    def _delta_for(self, part: JSON) -> JSON | None:
        if "functionCall" in part:
            index = self._tool_calls
            self._tool_calls += 1
            return {"tool_calls": [{"index": index, **tool_call(part["functionCall"])}]}
        text = part.get("text")
        if part.get("thought"):
            return {"reasoning_content": text} if text else None
        if text:
            self._content_tail = text[-1]
            self._texts.append(text)
            return {"content": text}
        inline_data = part.get("inlineData")
        if inline_data and self._image_parts:
            return {"content": [image_part(inline_data)]}
        if inline_data:
            markdown = image_markdown(inline_data, self._content_tail)
            self._content_tail = markdown[-1]
            self._texts.append(markdown)
            return {"content": markdown}
        return None

    def _role_event(self) -> bytes:
        self._role_sent = True
        return self._delta_event({"role": "assistant", "content": ""})

    def _delta_event(self, delta: JSON) -> bytes:
        return self._delta_head + compact_json(delta).encode() + b',"finish_reason":null}]}\n\n'
