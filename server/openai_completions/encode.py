"""Gemini answers -> OpenAI `text_completion` objects and stream chunks (one stream encoder per request)."""

from __future__ import annotations

import time

from core.errors import ApiError
from core.ids import random_hex
from core.reply import StreamReply, Usage, answer_candidates, image_markdown, parts_of, usage_of
from core.types import JSON
from server.openai.encode import finish_reason, openai_usage
from server.openai.stream import closing_events, error_event, event_envelope
from server.openai_completions.decode import CompletionOptions
from server.protocol import Decoded, compact_json

# The request field that holds the prompt, named when the upstream blocks it.
PROMPT_PARAM = "prompt"


def new_completion_id() -> str:
    return f"cmpl-{random_hex()}"


def encode(response: JSON, decoded: Decoded[CompletionOptions]) -> JSON:
    """A whole Gemini response as a `text_completion` with one choice."""
    return encode_many([response], [decoded])


def encode_many(responses: list[JSON], decoded: list[Decoded[CompletionOptions]]) -> JSON:
    """One `text_completion` for several prompts: a choice per prompt (in prompt order), usage summed."""
    choices = [_choice(response, request) for response, request in zip(responses, decoded, strict=True)]
    usage = Usage.summed([usage_of(response) for response in responses])
    return {
        "id": new_completion_id(),
        "object": "text_completion",
        "created": int(time.time()),
        "model": decoded[0].model,
        "choices": choices,
        "usage": openai_usage(usage),
    }


def _choice(response: JSON, decoded: Decoded[CompletionOptions]) -> JSON:
    candidate = answer_candidates(response, PROMPT_PARAM)[0]
    text = decoded.options.echo
    for part in parts_of(candidate):
        text += _text_of(part, text)
    return {
        "text": text,
        "index": decoded.options.index,
        "logprobs": None,
        "finish_reason": finish_reason(candidate.get("finishReason"), False),
    }


def _text_of(part: JSON, text_so_far: str) -> str:
    """The visible text of one part: reasoning stays hidden (the legacy API has no place for it)."""
    if part.get("thought"):
        return ""
    text = part.get("text")
    if isinstance(text, str):
        return text
    inline_data = part.get("inlineData")
    if inline_data:
        return image_markdown(inline_data, text_so_far)
    return ""


class CompletionStreamEncoder:
    """Turns the Gemini chunks of one streaming completion into `text_completion` chunk events.

    `feed` raises ApiError when the upstream blocked the prompt (before anything was sent).
    """

    content_type = "text/event-stream"

    def __init__(self, decoded: Decoded[CompletionOptions]) -> None:
        self._include_usage = decoded.options.include_usage
        self._index = decoded.options.index
        self._echo = decoded.options.echo
        self._envelope = event_envelope("text_completion", new_completion_id(), decoded.model)
        self._text_tail = ""  # the last character sent, to put image markdown on its own paragraph
        self._reply = StreamReply(PROMPT_PARAM)
        self._closed = False

    def start(self) -> bytes:
        return b""  # the echoed prompt goes out with the first chunk, once the upstream has answered

    def feed(self, chunk: JSON) -> bytes:
        if self._closed:
            return b""
        parts = self._reply.read(chunk)
        events = []
        if self._echo:
            events.append(self._text_event(self._echo))
            self._echo = ""
        for part in parts:
            text = _text_of(part, self._text_tail)
            if text:
                events.append(self._text_event(text))
        return b"".join(events)

    def finish(self) -> bytes:
        if self._closed:
            return b""
        self._closed = True
        reason = finish_reason(self._reply.finish_reason, False)
        choice = {"text": "", "index": self._index, "logprobs": None, "finish_reason": reason}
        finish = f"{self._envelope},{compact_json({'choices': [choice]})[1:]}\n\n".encode()
        return closing_events(self._envelope, finish, self._reply.usage, self._include_usage)

    def error(self, error: ApiError) -> bytes:
        self._closed = True
        return error_event(error)

    @property
    def usage(self) -> tuple[int, int]:
        return self._reply.usage.prompt, self._reply.usage.output

    def _text_event(self, text: str) -> bytes:
        self._text_tail = text[-1]
        choice = {"text": text, "index": self._index, "logprobs": None, "finish_reason": None}
        return f"{self._envelope},{compact_json({'choices': [choice]})[1:]}\n\n".encode()
