"""Gemini answers -> OpenAI `response` objects and Responses stream events, built by one state machine.

The non-streaming answer is what the stream's `response.completed` carries, so both paths agree: consecutive
thought parts make one `reasoning` item (their text as a summary), consecutive text parts one `message` item
with one `output_text` part, and each functionCall a `function_call` item whose `call_id` is the Gemini id
(the gateway keys the call's thought signature by it, so a `function_call_output` finds it again).
"""

from __future__ import annotations

import json
import time
from typing import Any

from core.errors import ApiError, ApiErrorType
from core.ids import random_hex
from core.reply import (
    FILTERED_REASONS,
    MAX_TOKENS,
    StreamReply,
    Usage,
    citations_of_every_source,
    image_markdown,
)
from core.types import JSON
from server.openai_responses.decode import ResponsesOptions
from server.openai_responses.tools import CUSTOM_INPUT, ToolOrigin
from server.protocol import Decoded

# Gemini finish reasons that end a response as "incomplete": running out of tokens, and every reason that
# means a filter stopped the answer (core.reply's list, so the protocols cannot drift apart).
INCOMPLETE_REASONS: dict[str, str] = {
    MAX_TOKENS: "max_output_tokens",
    **dict.fromkeys(FILTERED_REASONS, "content_filter"),
}
# The request field that holds the prompt, named when the upstream blocks it.
PROMPT_PARAM = "input"

# ApiErrorType -> the `code` of a failed response's error (the SDK knows a fixed set of codes).
FAILURE_CODES: dict[ApiErrorType, str] = {
    ApiErrorType.RATE_LIMIT: "rate_limit_exceeded",
    ApiErrorType.INVALID_REQUEST: "invalid_prompt",
}


# What a response repeats of its request when the request did not say (the SDK requires some of these).
DEFAULT_SETTINGS: dict[str, Any] = {
    "instructions": None,
    "max_output_tokens": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "reasoning": {"effort": None, "summary": None},
    "store": True,
    "temperature": 1.0,
    "text": {"format": {"type": "text"}},
    "tool_choice": "auto",
    "tools": [],
    "top_p": 1.0,
    "truncation": "disabled",
    "user": None,
}


def new_id(prefix: str) -> str:
    return f"{prefix}_{random_hex()}"


def encode(response: JSON, decoded: Decoded[ResponsesOptions]) -> JSON:
    """A whole Gemini response as a `response` object; raises ApiError when the prompt was blocked."""
    builder = ResponseBuilder(decoded)
    builder.feed(response)
    if not builder.has_output and not response.get("candidates"):
        raise ApiError(502, ApiErrorType.API_ERROR, "The upstream answered with no candidates and no reason.")
    builder.finish()
    return builder.snapshot()


def usage_from(usage: Usage) -> JSON:
    """Gemini's token counts as Responses usage; thinking tokens are output tokens, as OpenAI counts them."""
    return {
        "input_tokens": usage.prompt,
        "input_tokens_details": {
            "cached_tokens": usage.cached,
            "cache_write_tokens": 0,  # Gemini's implicit caching does not report writes
        },
        "output_tokens": usage.output,
        "output_tokens_details": {"reasoning_tokens": usage.thoughts},
        "total_tokens": usage.prompt + usage.output,
    }


class ResponseBuilder:
    """Builds one response from Gemini chunks, returning the Responses stream events each step causes.

    Every event carries the next `sequence_number`; item events carry `output_index` and `item_id`, content
    events `content_index` (always 0: a message holds one output_text part) or `summary_index`.
    """

    def __init__(self, decoded: Decoded[ResponsesOptions]) -> None:
        self.id = new_id("resp")
        self._created_at = int(time.time())
        self._model = decoded.model
        self._echo: dict[str, Any] = {**DEFAULT_SETTINGS, **decoded.options.echo}
        self._sequence = 0
        self._output: list[JSON] = []
        self._open: JSON | None = None  # the reasoning or message item receiving deltas
        self._open_texts: list[str] = []  # its text in pieces: joined when it closes (+= would copy it all)
        self._status = "in_progress"
        self._incomplete: str | None = None
        self._error: JSON | None = None
        self._reply = StreamReply(PROMPT_PARAM)  # its grounding is cited on the answer text when it closes
        self._tools = decoded.options.tools
        self._remember = decoded.options.remember if decoded.options.store else None
        self._conversation: list[JSON] = decoded.body.get("contents") or []
        self._model_parts: list[JSON] = []  # what the model said, as Gemini parts, for the next turn

    @property
    def has_output(self) -> bool:
        return bool(self._output)

    @property
    def usage(self) -> tuple[int, int]:
        return self._reply.usage.prompt, self._reply.usage.output

    def snapshot(self) -> JSON:
        """The response object as it stands (in progress, completed, incomplete or failed)."""
        done = self._status != "in_progress"
        return {
            "id": self.id,
            "object": "response",
            "created_at": self._created_at,
            "status": self._status,
            "completed_at": int(time.time()) if self._status == "completed" else None,
            "error": self._error,
            "incomplete_details": {"reason": self._incomplete} if self._incomplete else None,
            "model": self._model,
            "output": [dict(item) for item in self._output],
            "usage": usage_from(self._reply.usage) if done else None,
            **self._echo,
        }

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> list[JSON]:
        return [
            self._event("response.created", response=self.snapshot()),
            self._event("response.in_progress", response=self.snapshot()),
        ]

    def feed(self, chunk: JSON) -> list[JSON]:
        events: list[JSON] = []
        for part in self._reply.read(chunk):  # only one candidate is ever requested
            if self._remember is not None:
                self._model_parts.append(part)
            events += self._part(part)
        reason = self._reply.finish_reason
        if reason in INCOMPLETE_REASONS:
            self._incomplete = INCOMPLETE_REASONS[reason]
        return events

    def finish(self) -> list[JSON]:
        item_status = "incomplete" if self._incomplete else "completed"
        events = self._close(item_status)
        self._status = "incomplete" if self._incomplete else "completed"
        if self._remember is not None:
            turn = [{"role": "model", "parts": _merged_text(self._model_parts)}] if self._model_parts else []
            self._remember(self.id, [*self._conversation, *turn])
        events.append(self._event(f"response.{self._status}", response=self.snapshot()))
        return events

    def fail(self, error: ApiError) -> list[JSON]:
        """The failure of a stream that already started: no normal end, a `response.failed`."""
        if self._open is not None:
            _fill(
                self._open, "".join(self._open_texts), "incomplete"
            )  # what the client already has, marked unfinished
            self._open = None
        self._status = "failed"
        self._error = {"code": FAILURE_CODES.get(error.type, "server_error"), "message": error.message}
        return [self._event("response.failed", response=self.snapshot())]

    # -- parts -------------------------------------------------------------------------------------------

    def _part(self, part: JSON) -> list[JSON]:
        if "functionCall" in part:
            return self._close("completed") + self._function_call(part["functionCall"])
        text = part.get("text")
        if part.get("thought"):
            return self._delta("reasoning", text) if text else []
        if isinstance(text, str) and text:
            return self._delta("message", text)
        inline_data = part.get("inlineData")
        if inline_data:
            in_message = self._open is not None and self._open["type"] == "message"
            return self._delta(
                "message",
                image_markdown(inline_data, self._open_texts[-1] if in_message and self._open_texts else ""),
            )
        return []

    def _delta(self, kind: str, text: str) -> list[JSON]:
        events: list[JSON] = []
        if self._open is None or self._open["type"] != kind:
            events += self._close("completed")
            events += self._open_reasoning() if kind == "reasoning" else self._open_message()
        assert self._open is not None
        self._open_texts.append(text)
        where = self._where()
        if kind == "reasoning":
            events.append(
                self._event("response.reasoning_summary_text.delta", **where, summary_index=0, delta=text)
            )
        else:
            events.append(
                self._event("response.output_text.delta", **where, content_index=0, delta=text, logprobs=[])
            )
        return events

    def _open_reasoning(self) -> list[JSON]:
        item: JSON = {"id": new_id("rs"), "type": "reasoning", "summary": []}
        events = self._add(item)
        part = {"type": "summary_text", "text": ""}
        events.append(
            self._event("response.reasoning_summary_part.added", **self._where(), summary_index=0, part=part)
        )
        return events

    def _open_message(self) -> list[JSON]:
        item: JSON = {
            "id": new_id("msg"),
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        events = self._add(item)
        events.append(
            self._event(
                "response.content_part.added", **self._where(), content_index=0, part=_output_text("")
            )
        )
        return events

    def _add(self, item: JSON) -> list[JSON]:
        self._output.append(item)
        self._open, self._open_texts = item, []
        return [
            self._event("response.output_item.added", output_index=len(self._output) - 1, item=dict(item))
        ]

    def _close(self, status: str) -> list[JSON]:
        """Finish the open reasoning or message item: its .done events, then output_item.done."""
        item, text = self._open, "".join(self._open_texts)
        if item is None:
            return []
        where = self._where()
        self._open, self._open_texts = None, []
        _fill(item, text, status)
        if item["type"] == "reasoning":
            summary = item["summary"][0]
            events = [
                self._event("response.reasoning_summary_text.done", **where, summary_index=0, text=text),
                self._event("response.reasoning_summary_part.done", **where, summary_index=0, part=summary),
            ]
        else:
            part = item["content"][0]
            part["annotations"] = _annotations(self._reply.grounding, text)
            events = [
                self._event(
                    "response.output_text.annotation.added",
                    **where,
                    content_index=0,
                    annotation_index=index,
                    annotation=annotation,
                )
                for index, annotation in enumerate(part["annotations"])
            ]
            events += [
                self._event("response.output_text.done", **where, content_index=0, text=text, logprobs=[]),
                self._event("response.content_part.done", **where, content_index=0, part=part),
            ]
        events.append(
            self._event("response.output_item.done", output_index=where["output_index"], item=dict(item))
        )
        return events

    def _function_call(self, call: JSON) -> list[JSON]:
        # core.transform gives every call an id; a fresh one keeps the item valid if a chunk ever lacks it.
        call_id = call.get("id") or new_id("call")
        name = call.get("name", "")
        origin = self._tools.get(name)
        if origin is not None and origin.kind == "custom":
            return self._custom_tool_call(call_id, origin, call.get("args") or {})
        arguments = json.dumps(call.get("args") or {}, ensure_ascii=False)
        item: JSON = {
            "id": new_id("fc"),
            "type": "function_call",
            "status": "in_progress",
            "call_id": call_id,
            "name": origin.name if origin is not None else name,
            "arguments": "",
        }
        if origin is not None and origin.namespace is not None:
            item["namespace"] = origin.namespace
        name = item["name"]
        events = self._add(item)
        where = self._where()
        self._open = None  # a call arrives whole: it is finished at once
        item["arguments"], item["status"] = arguments, "completed"
        events += [
            self._event("response.function_call_arguments.delta", **where, delta=arguments),
            self._event("response.function_call_arguments.done", **where, name=name, arguments=arguments),
            self._event("response.output_item.done", output_index=where["output_index"], item=dict(item)),
        ]
        return events

    def _custom_tool_call(self, call_id: str, origin: ToolOrigin, args: JSON) -> list[JSON]:
        """A custom (freeform) tool's call: its one string argument is the call's `input`."""
        tool_input = args.get(CUSTOM_INPUT)
        text = tool_input if isinstance(tool_input, str) else json.dumps(args, ensure_ascii=False)
        item: JSON = {
            "id": new_id("ctc"),
            "type": "custom_tool_call",
            "call_id": call_id,
            "name": origin.name,
        }
        if origin.namespace is not None:
            item["namespace"] = origin.namespace
        item["input"] = ""
        events = self._add(item)
        where = self._where()
        self._open = None  # a call arrives whole
        item["input"] = text
        events += [
            self._event("response.custom_tool_call_input.delta", **where, delta=text),
            self._event("response.custom_tool_call_input.done", **where, input=text),
            self._event("response.output_item.done", output_index=where["output_index"], item=dict(item)),
        ]
        return events

    # -- events ------------------------------------------------------------------------------------------

    def _where(self) -> dict[str, Any]:
        return {"output_index": len(self._output) - 1, "item_id": self._output[-1]["id"]}

    def _event(self, kind: str, **fields: Any) -> JSON:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event


def _merged_text(parts: list[JSON]) -> list[JSON]:
    """Stream chunks as one turn's parts: neighbouring plain text (or thought) pieces joined, so a remembered
    turn looks like the answer Gemini would give in one piece; calls, signatures and images kept as they are."""
    merged: list[JSON] = []
    for part in parts:
        previous = merged[-1] if merged else None
        plain = set(part) <= {"text", "thought"} and isinstance(part.get("text"), str)
        same_kind = previous is not None and bool(previous.get("thought")) == bool(part.get("thought"))
        if plain and same_kind and previous is not None and set(previous) <= {"text", "thought"}:
            merged[-1] = {**previous, "text": previous["text"] + part["text"]}
            continue
        merged.append(dict(part))
    return merged


def _fill(item: JSON, text: str, status: str) -> None:
    """Put the text streamed into a reasoning or message item into the item itself."""
    if item["type"] == "reasoning":
        item["summary"] = [{"type": "summary_text", "text": text}]
    else:
        item["content"], item["status"] = [_output_text(text)], status


def _annotations(grounding: JSON | None, text: str) -> list[JSON]:
    """Search sources as Responses `url_citation` annotations (flat, where chat nests them)."""
    return [
        {
            "type": "url_citation",
            "start_index": citation.start,
            "end_index": citation.end,
            "url": citation.source.url,
            "title": citation.source.title,
        }
        for citation in citations_of_every_source(grounding, text)
    ]


def _output_text(text: str) -> JSON:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
