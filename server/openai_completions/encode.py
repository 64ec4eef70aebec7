"""Gemini answers -> OpenAI `text_completion` objects and stream chunks (one stream encoder per request)."""

from __future__ import annotations

import json
import time
import uuid

from core.errors import ApiError, ApiErrorType
from core.types import JSON
from server.openai.encode import error_body, finish_reason, image_markdown, raise_if_blocked, usage_from
from server.protocol import Decoded

DONE = b"data: [DONE]\n\n"


def new_completion_id() -> str:
    return f"cmpl-{uuid.uuid4().hex}"


def encode(response: JSON, decoded: Decoded) -> JSON:
    """A whole Gemini response as a `text_completion` with one choice."""
    return encode_many([response], [decoded])


def encode_many(responses: list[JSON], decoded: list[Decoded]) -> JSON:
    """One `text_completion` for several prompts: a choice per prompt (in prompt order), usage summed."""
    choices = []
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    reasoning_tokens = cached_tokens = 0
    for response, request in zip(responses, decoded, strict=True):
        choices.append(_choice(response, request))
        counted = usage_from(response.get("usageMetadata"))
        for key in usage:
            usage[key] += counted[key]
        reasoning_tokens += counted["completion_tokens_details"]["reasoning_tokens"]
        cached_tokens += counted["prompt_tokens_details"]["cached_tokens"]
    return {
        "id": new_completion_id(),
        "object": "text_completion",
        "created": int(time.time()),
        "model": decoded[0].model,
        "choices": choices,
        "usage": {
            **usage,
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
        },
    }


def _choice(response: JSON, decoded: Decoded) -> JSON:
    _raise_if_blocked(response)
    candidates = response.get("candidates") or []
    if not candidates:
        raise ApiError(502, ApiErrorType.API_ERROR, "The upstream answered with no candidates and no reason.")
    candidate = candidates[0]
    text = decoded.options.get("echo", "")
    for part in (candidate.get("content") or {}).get("parts") or ():
        text += _text_of(part, text)
    return {
        "text": text,
        "index": decoded.options.get("index", 0),
        "logprobs": None,
        "finish_reason": finish_reason(candidate.get("finishReason"), False),
    }


def _raise_if_blocked(response: JSON) -> None:
    try:
        raise_if_blocked(response)
    except ApiError as error:
        error.param = "prompt"  # the chat adapter names its own field
        raise


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


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class CompletionStreamEncoder:
    """Turns the Gemini chunks of one streaming completion into `text_completion` chunk events.

    `feed` raises ApiError when the upstream blocked the prompt (before anything was sent).
    """

    content_type = "text/event-stream"

    def __init__(self, decoded: Decoded) -> None:
        self._include_usage = bool(decoded.options.get("include_usage"))
        self._index = int(decoded.options.get("index", 0))
        self._echo: str = decoded.options.get("echo", "")
        envelope = _dumps(
            {
                "id": new_completion_id(),
                "object": "text_completion",
                "created": int(time.time()),
                "model": decoded.model,
            }
        )
        self._envelope = "data: " + envelope[:-1]  # without the closing brace, so fields can follow
        self._text_tail = ""  # the last character sent, to put image markdown on its own paragraph
        self._gemini_finish: str | None = None
        self._usage_metadata: JSON | None = None
        self._closed = False

    def start(self) -> bytes:
        return b""  # the echoed prompt goes out with the first chunk, once the upstream has answered

    def feed(self, chunk: JSON) -> bytes:
        if self._closed:
            return b""
        _raise_if_blocked(chunk)
        events = []
        if self._echo:
            events.append(self._text_event(self._echo))
            self._echo = ""
        usage = chunk.get("usageMetadata")
        if usage:
            self._usage_metadata = usage  # cumulative: the latest one is the total
        candidates = chunk.get("candidates")
        if candidates:
            candidate = candidates[0]
            for part in (candidate.get("content") or {}).get("parts") or ():
                text = _text_of(part, self._text_tail)
                if text:
                    events.append(self._text_event(text))
            reason = candidate.get("finishReason")
            if reason:
                self._gemini_finish = reason
        return b"".join(events)

    def finish(self) -> bytes:
        if self._closed:
            return b""
        self._closed = True
        reason = finish_reason(self._gemini_finish, False)
        choice = {"text": "", "index": self._index, "logprobs": None, "finish_reason": reason}
        events = [f"{self._envelope},{_dumps({'choices': [choice]})[1:]}\n\n".encode()]
        if self._include_usage:
            usage = _dumps(usage_from(self._usage_metadata))
            events.append(f'{self._envelope},"choices":[],"usage":{usage}}}\n\n'.encode())
        events.append(DONE)
        return b"".join(events)

    def error(self, error: ApiError) -> bytes:
        self._closed = True
        return b"data: " + _dumps(error_body(error)).encode() + b"\n\n"

    @property
    def usage(self) -> tuple[int, int]:
        metadata = self._usage_metadata or {}
        output = int(metadata.get("candidatesTokenCount") or 0) + int(metadata.get("thoughtsTokenCount") or 0)
        return int(metadata.get("promptTokenCount") or 0), output

    def _text_event(self, text: str) -> bytes:
        self._text_tail = text[-1]
        choice = {"text": text, "index": self._index, "logprobs": None, "finish_reason": None}
        return f"{self._envelope},{_dumps({'choices': [choice]})[1:]}\n\n".encode()
