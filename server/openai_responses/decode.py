"""OpenAI Responses request (`POST /v1/responses`) -> Gemini GenerateContentRequest, with clear 400s.

Decisions:
- `previous_response_id` continues a response the gateway remembers (server.openai_responses.history: recent
  responses made with `store: true`, kept in memory, or earlier turns of the same WebSocket); an unknown id is
  a 400 `previous_response_not_found`. `conversation`, `item_reference` and `background` need state the
  gateway does not keep and are refused with a 400 that says to send the whole conversation.
- Tools: see server.openai_responses.tools (function, custom and namespace tools, `additional_tools` items).
- Input items with no Gemini form (built-in tools' calls and outputs) are left out with one log line per type.
- `reasoning` input items are dropped: Gemini's reasoning round-trips as thought signatures, which the gateway
  re-attaches to function calls by call id (core.transform.SignatureCache), not as reasoning text.
- `web_search` / `web_search_preview` tools become Gemini's googleSearch (the gateway drops it when functions
  are declared too: the upstream refuses the mix); other built-in tools (file search, computer use, ...) are
  refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import invalid_request
from core.types import JSON
from server.openai_responses.tools import CUSTOM_INPUT, DeclaredTools, ToolOrigin
from server.protocol import Decoded
from server.request_parts import (
    Conversation,
    content_items,
    decode_tool_choice,
    file_part,
    first_string,
    function_arguments,
    function_response,
    image_part,
    integer,
    number,
    optional,
    reasoning_budget,
    request_model,
    required_name,
    required_str,
    short,
)

_log = logging.getLogger(__name__)
_logged_drops: set[str] = set()

SUMMARY_MODES = ("auto", "concise", "detailed")
ITEM_TYPES = (
    "message, function_call, function_call_output, custom_tool_call, custom_tool_call_output or reasoning"
)
History = Callable[[str], list[JSON] | None]
"""Looks up the Gemini conversation (contents) a remembered response ended with; None when unknown."""
Remember = Callable[[str, list[JSON]], None]
"""Keeps a finished response's whole Gemini conversation under its id (for `previous_response_id`)."""


@dataclass(frozen=True, slots=True)
class ResponsesOptions:
    """What the Responses encoders read of the request, and where a finished response is remembered."""

    echo: dict[str, Any] = field(default_factory=dict)  # the request's settings a response repeats
    tools: dict[str, ToolOrigin] = field(default_factory=dict)  # Gemini function name -> the client's tool
    store: bool = True  # `store`: remember the response for previous_response_id
    generate: bool = True  # `generate: false` (Codex warms a socket up with it): remember, answer nothing
    remember: Remember | None = None


def decode(
    payload: object, history: History | None = None, *, remember: Remember | None = None
) -> Decoded[ResponsesOptions]:
    """Translate a `POST /v1/responses` body; raises ApiError (400) naming the field at fault.

    `history` finds the conversations of earlier responses, `remember` keeps this one's when it is done.
    """
    payload, model = request_model(payload)
    _refuse_state(payload)

    tools = DeclaredTools.empty()
    tools.add_all(payload.get("tools"), "tools")
    earlier = _earlier_turns(payload, history)
    generate = optional(payload, "generate", bool) is not False
    conversation = _decode_input(payload.get("input"), tools, earlier, required=generate)
    instructions = optional(payload, "instructions", str)
    system_parts = ([{"text": instructions}] if instructions else []) + conversation.system_parts
    body: JSON = {"contents": conversation.contents}
    if system_parts:
        body["systemInstruction"] = {"parts": system_parts}
    gemini_tools: list[JSON] = [{"functionDeclarations": tools.declarations}] if tools.declarations else []
    if tools.search:
        gemini_tools.append({"googleSearch": {}})
    if gemini_tools:
        body["tools"] = gemini_tools
    tool_config = decode_tool_choice(_tool_choice(payload.get("tool_choice")), set(tools.origins), ("name",))
    if tool_config:
        body["toolConfig"] = tool_config
    generation_config = _decode_generation_config(payload)
    if generation_config:
        body["generationConfig"] = generation_config

    return Decoded(
        model=model,
        body=body,
        stream=optional(payload, "stream", bool) or False,
        conversation_key=_conversation_key(payload),
        options=ResponsesOptions(
            _echoed_settings(payload),
            tools.origins,
            store=payload.get("store", True) is not False,
            generate=generate,
            remember=remember,
        ),
    )


def _refuse_state(payload: JSON) -> None:
    if payload.get("conversation") is not None:
        raise invalid_request(
            "'conversation' is not supported: Gravity Desk keeps no conversations on the server. Send the whole "
            "conversation in 'input', or continue a recent response with 'previous_response_id'.",
            "conversation",
        )
    if payload.get("background"):
        raise invalid_request("'background' responses are not supported; leave it out.", "background")
    optional(payload, "store", bool)


def _earlier_turns(payload: JSON, history: History | None) -> list[JSON]:
    previous = optional(payload, "previous_response_id", str)
    if previous is None:
        return []
    contents = history(previous) if history is not None else None
    if contents is None:
        raise invalid_request(
            f"Previous response with id {short(previous)} not found. Gravity Desk remembers recent responses "
            "made with store: true in memory only (lost on restart); send the whole conversation in 'input'.",
            "previous_response_id",
            code="previous_response_not_found",
        )
    return contents


def _tool_choice(choice: object) -> object:
    """A `custom` tool choice names its tool like a function choice does."""
    if isinstance(choice, dict) and choice.get("type") == "custom":
        return {**choice, "type": "function"}
    return choice


# --- input ----------------------------------------------------------------------------------------------


def _decode_input(
    items: object, tools: DeclaredTools, earlier: list[JSON], *, required: bool
) -> Conversation:
    conversation = Conversation()
    for content in earlier:
        conversation.add(content["role"], list(content["parts"]))
        for part in content["parts"]:
            call = part.get("functionCall")
            if isinstance(call, dict) and call.get("id"):
                conversation.call_names[call["id"]] = call["name"]
    if isinstance(items, str):
        if not items:
            raise invalid_request("'input' must not be empty.", "input")
        conversation.add("user", [{"text": items}])
        return conversation
    if not required and not items:
        return conversation
    if not isinstance(items, list) or not items:
        raise invalid_request("'input' is required: a string or a non-empty array of items.", "input")
    for index, item in enumerate(items):
        _decode_item(item, f"input[{index}]", conversation, tools)
    if required and not conversation.contents:
        raise invalid_request(
            "'input' must contain at least one user or assistant message, function call or output.", "input"
        )
    return conversation


def _decode_item(item: object, where: str, conversation: Conversation, tools: DeclaredTools) -> None:
    if not isinstance(item, dict):
        raise invalid_request(f"{where} must be an object.", where)
    kind = item.get("type", "message" if "role" in item else None)
    if kind == "message":
        _decode_message(item, where, conversation)
    elif kind == "function_call":
        conversation.add("model", [_function_call(item, where, conversation.call_names, tools)])
    elif kind == "custom_tool_call":
        conversation.add("model", [_custom_tool_call(item, where, conversation.call_names, tools)])
    elif kind in ("function_call_output", "custom_tool_call_output"):
        conversation.add("user", [_function_output(item, where, conversation.call_names)])
    elif kind == "additional_tools":
        tools.add_all(item.get("tools"), f"{where}.tools")
    elif kind == "reasoning":
        return  # see the module docstring: signatures, not reasoning text, carry Gemini's reasoning
    elif kind == "item_reference":
        raise invalid_request(
            f"{where}: item references are not supported (no items are stored); send the item itself.",
            f"{where}.type",
        )
    elif isinstance(kind, str):
        _drop(kind, where)
    else:
        raise invalid_request(
            f"{where}.type {short(kind)} is not supported; use {ITEM_TYPES}.", f"{where}.type"
        )


def _drop(kind: str, where: str) -> None:
    if kind not in _logged_drops:
        _logged_drops.add(kind)
        _log.info(
            "Responses request: %r input items have no Gemini form and are left out (first at %s)",
            kind,
            where,
        )


def _decode_message(item: JSON, where: str, conversation: Conversation) -> None:
    role = item.get("role")
    content = item.get("content")
    if role in ("system", "developer"):
        conversation.system_parts.extend({"text": t} for t in _texts(content, where, "input_text") if t)
    elif role == "user":
        conversation.add("user", _user_parts(content, f"{where}.content"))
    elif role == "assistant":
        conversation.add("model", [{"text": t} for t in _texts(content, where, "output_text") if t])
    else:
        raise invalid_request(
            f"{where}.role {short(role)} is not supported; use user, assistant, system or developer.",
            f"{where}.role",
        )


def _texts(content: object, where: str, text_type: str) -> list[str]:
    """The text of a string content or of text parts (assistants may also carry refusals)."""
    if isinstance(content, str):
        return [content]
    texts = []
    for position, part in enumerate(content_items(content, f"{where}.content")):
        at = f"{where}.content[{position}]"
        kind = part.get("type")
        if kind in (text_type, "input_text", "output_text"):
            texts.append(required_str(part.get("text"), f"{at}.text"))
        elif kind == "refusal":
            texts.append(required_str(part.get("refusal"), f"{at}.refusal"))
        else:
            raise invalid_request(
                f"{at}.type {short(kind)} is not allowed here; use {text_type}.", f"{at}.type"
            )
    return texts


def _user_parts(content: object, where: str) -> list[JSON]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[JSON] = []
    for position, part in enumerate(content_items(content, where)):
        at = f"{where}[{position}]"
        kind = part.get("type")
        if kind == "input_text":
            text = required_str(part.get("text"), f"{at}.text")
            if text:
                parts.append({"text": text})
        elif kind == "input_image":
            if part.get("image_url") is None:
                raise invalid_request(
                    f"{at}.image_url is required (uploaded file ids are not supported).", f"{at}.image_url"
                )
            parts.append(image_part(part["image_url"], f"{at}.image_url"))
        elif kind == "input_file":
            parts.append(file_part(part, at))
        else:
            raise invalid_request(
                f"{at}.type {short(kind)} is not supported; use input_text, input_image or input_file.",
                f"{at}.type",
            )
    return parts


def _function_call(item: JSON, where: str, call_names: dict[str, str], tools: DeclaredTools) -> JSON:
    call_id = required_name(item.get("call_id"), f"{where}.call_id")
    name = tools.gemini_name(required_name(item.get("name"), f"{where}.name"), item.get("namespace"), where)
    call_names[call_id] = name
    # The call id is what the gateway keys the call's thought signature by, so it goes up as the Gemini id.
    arguments = function_arguments(item.get("arguments"), f"{where}.arguments")
    return {"functionCall": {"name": name, "args": arguments, "id": call_id}}


def _custom_tool_call(item: JSON, where: str, call_names: dict[str, str], tools: DeclaredTools) -> JSON:
    call_id = required_name(item.get("call_id"), f"{where}.call_id")
    name = tools.gemini_name(required_name(item.get("name"), f"{where}.name"), item.get("namespace"), where)
    call_names[call_id] = name
    tool_input = required_str(item.get("input"), f"{where}.input")
    return {"functionCall": {"name": name, "args": {CUSTOM_INPUT: tool_input}, "id": call_id}}


def _function_output(item: JSON, where: str, call_names: dict[str, str]) -> JSON:
    call_id = required_name(item.get("call_id"), f"{where}.call_id")
    name = call_names.get(call_id)
    if name is None:
        raise invalid_request(
            f"{where}.call_id {short(call_id)} does not match the call_id of an earlier function_call item "
            "(send the whole conversation, or the previous_response_id of the response that made the call).",
            f"{where}.call_id",
        )
    output = item.get("output")
    if isinstance(output, list):
        text = "\n".join(_texts(output, where, "input_text"))
    elif isinstance(output, str):
        text = output
    else:
        raise invalid_request(
            f"{where}.output must be a string or an array of text parts.", f"{where}.output"
        )
    return function_response(name, call_id, text)


# --- generation settings --------------------------------------------------------------------------------


def _decode_generation_config(payload: JSON) -> JSON:
    config: JSON = {}
    max_tokens = integer(payload, "max_output_tokens")
    if max_tokens is not None:
        if max_tokens < 1:
            raise invalid_request("'max_output_tokens' must be at least 1.", "max_output_tokens")
        config["maxOutputTokens"] = max_tokens
    temperature = number(payload, "temperature", 0.0, 2.0)
    if temperature is not None:
        config["temperature"] = temperature
    top_p = number(payload, "top_p", 0.0, 1.0)
    if top_p is not None:
        config["topP"] = top_p
    config.update(_text_format(payload.get("text")))
    thinking = _thinking_config(payload.get("reasoning"))
    if thinking:
        config["thinkingConfig"] = thinking
    return config


def _text_format(text: object) -> JSON:
    if text is None:
        return {}
    if not isinstance(text, dict):
        raise invalid_request("'text' must be an object.", "text")
    text_format = text.get("format")
    if text_format is None:
        return {}
    if not isinstance(text_format, dict):
        raise invalid_request("'text.format' must be an object.", "text.format")
    kind = text_format.get("type")
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        schema = text_format.get("schema")
        if not isinstance(schema, dict):
            raise invalid_request("'text.format.schema' must be a JSON Schema object.", "text.format.schema")
        return {"responseMimeType": "application/json", "responseJsonSchema": schema}
    raise invalid_request(
        f"'text.format.type' {short(kind)} is not supported; use text, json_object or json_schema.",
        "text.format.type",
    )


def _thinking_config(reasoning: object) -> JSON | None:
    """`reasoning.effort` -> a thinking budget; thoughts come back (as summaries) whenever any are made."""
    if reasoning is None:
        return None
    if not isinstance(reasoning, dict):
        raise invalid_request("'reasoning' must be an object.", "reasoning")
    effort = reasoning.get("effort")
    summary = reasoning.get("summary", reasoning.get("generate_summary"))
    if summary is not None and summary not in SUMMARY_MODES and summary != "none":
        raise invalid_request(
            f"'reasoning.summary' {short(summary)} is not supported; use {', '.join(SUMMARY_MODES)}.",
            "reasoning.summary",
        )
    config: JSON = {}
    if effort is not None:
        budget = reasoning_budget(effort, "reasoning.effort")
        config["thinkingBudget"] = budget
        config["includeThoughts"] = budget > 0
    if summary in SUMMARY_MODES and config.get("thinkingBudget") != 0:
        config["includeThoughts"] = True
    return config or None


def _conversation_key(payload: JSON) -> str | None:
    # Codex sends its conversation id as prompt_cache_key; `user`/`safety_identifier` name an end user.
    return first_string(payload, ("prompt_cache_key", "user", "safety_identifier"))


def _echoed_settings(payload: JSON) -> dict[str, Any]:
    """The request settings a `response` object repeats back (OpenAI's defaults where none was given)."""
    reasoning = payload.get("reasoning")
    reasoning = reasoning if isinstance(reasoning, dict) else {}
    text = payload.get("text")
    text = text if isinstance(text, dict) else {}
    return {
        "instructions": payload.get("instructions"),
        "max_output_tokens": payload.get("max_output_tokens"),
        "metadata": payload.get("metadata") or {},
        "parallel_tool_calls": payload.get("parallel_tool_calls", True),
        "previous_response_id": payload.get("previous_response_id"),
        "prompt_cache_key": payload.get("prompt_cache_key"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": payload.get("store", True),
        "temperature": payload.get("temperature", 1.0),
        "text": {"format": text.get("format") or {"type": "text"}},
        "tool_choice": payload.get("tool_choice", "auto"),
        "tools": payload.get("tools") or [],
        "top_p": payload.get("top_p", 1.0),
        "truncation": payload.get("truncation") or "disabled",
        "user": payload.get("user"),
    }
