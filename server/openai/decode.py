"""OpenAI Chat Completions request -> Gemini GenerateContentRequest, with clear 400s for bad input."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from core.errors import invalid_request
from core.types import JSON
from server.protocol import Decoded

# Thinking budgets for reasoning_effort. Every value sits inside the range of all Gemini 2.5/3 and
# Claude-thinking models the upstream serves (2.5 Flash tops out at 24576), so none is refused for
# being too large; "xhigh"/"max" (newer OpenAI values) get the largest budget that is safe everywhere.
REASONING_BUDGETS: dict[str, int] = {
    "none": 0,
    "minimal": 512,
    "low": 1024,
    "medium": 8192,
    "high": 24576,
    "xhigh": 24576,
    "max": 24576,
}

TOOL_CHOICE_MODES: dict[str, str] = {"none": "NONE", "auto": "AUTO", "required": "ANY"}

# By file extension, for http(s) image URLs; Gemini needs a MIME type and the URL is all we know.
IMAGE_TYPES: dict[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".bmp": "image/bmp",
}
DEFAULT_IMAGE_TYPE = "image/jpeg"

AUDIO_TYPES: dict[str, str] = {"wav": "audio/wav", "mp3": "audio/mp3"}

ROLES = "system, developer, user, assistant or tool"

# OpenAI's hosted search tools; served by Gemini's googleSearch (dropped when functions are declared too).
SEARCH_TOOL_TYPES = frozenset({"web_search", "web_search_preview"})


@dataclass
class _Conversation:
    """Gemini contents being built, merging consecutive turns of the same role."""

    system_parts: list[JSON] = field(default_factory=list)
    contents: list[JSON] = field(default_factory=list)
    call_names: dict[str, str] = field(default_factory=dict)  # tool_call id -> function name

    def add(self, role: str, parts: list[JSON]) -> None:
        if not parts:
            return  # the upstream refuses turns with no parts
        if self.contents and self.contents[-1]["role"] == role:
            self.contents[-1]["parts"].extend(parts)
        else:
            self.contents.append({"role": role, "parts": parts})


def decode(payload: object) -> Decoded:
    """Translate a `POST /v1/chat/completions` body; raises ApiError (400) naming the field at fault."""
    if not isinstance(payload, dict):
        raise invalid_request("Request body must be a JSON object.")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_request("'model' is required and must be a non-empty string.", "model")
    _check_n(payload.get("n"))

    conversation = _decode_messages(payload.get("messages"))
    body: JSON = {"contents": conversation.contents}
    if conversation.system_parts:
        body["systemInstruction"] = {"parts": conversation.system_parts}
    declarations = _decode_tools(payload.get("tools"))
    tools: list[JSON] = [{"functionDeclarations": declarations}] if declarations else []
    if _wants_search(payload):
        tools.append({"googleSearch": {}})
    if tools:
        body["tools"] = tools
    tool_config = _decode_tool_choice(payload.get("tool_choice"), {d["name"] for d in declarations})
    if tool_config:
        body["toolConfig"] = tool_config
    generation_config = _decode_generation_config(payload)
    if generation_config:
        body["generationConfig"] = generation_config

    stream = _optional(payload, "stream", bool) or False
    return Decoded(
        model=model,
        body=body,
        stream=stream,
        conversation_key=_conversation_key(payload),
        options={"include_usage": _include_usage(payload.get("stream_options"))},
    )


# --- messages -------------------------------------------------------------------------------------------


def _decode_messages(messages: object) -> _Conversation:
    if not isinstance(messages, list) or not messages:
        raise invalid_request("'messages' is required and must be a non-empty array.", "messages")
    conversation = _Conversation()
    for index, message in enumerate(messages):
        _decode_message(message, f"messages[{index}]", conversation)
    if not conversation.contents:
        raise invalid_request(
            "'messages' must contain at least one user, assistant or tool message with content.", "messages"
        )
    return conversation


def _decode_message(message: object, where: str, conversation: _Conversation) -> None:
    if not isinstance(message, dict):
        raise invalid_request(f"{where} must be an object.", where)
    role = message.get("role")
    content = message.get("content")
    if role in ("system", "developer"):
        conversation.system_parts.extend(_system_parts(content, f"{where}.content"))
    elif role == "user":
        if content is None:
            raise invalid_request(f"{where}.content is required for user messages.", f"{where}.content")
        conversation.add("user", _user_parts(content, f"{where}.content"))
    elif role == "assistant":
        conversation.add("model", _assistant_parts(message, where, conversation.call_names))
    elif role == "tool":
        conversation.add("user", [_tool_result(message, where, conversation.call_names)])
    elif role is None:
        raise invalid_request(f"{where}.role is required ({ROLES}).", f"{where}.role")
    else:
        raise invalid_request(
            f"{where}.role {_short(role)} is not supported; use {ROLES}.",
            f"{where}.role",
        )


def _system_parts(content: object, where: str) -> list[JSON]:
    return [{"text": text} for text in _texts(content, where) if text]


def _texts(content: object, where: str, extra_text_types: tuple[str, ...] = ()) -> list[str]:
    """Text of a string or text-parts content; other part types are a 400 here."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    items = _content_items(content, where)
    texts = []
    for position, item in enumerate(items):
        at = f"{where}[{position}]"
        kind = item.get("type")
        if kind == "text":
            texts.append(_required_str(item.get("text"), f"{at}.text"))
        elif kind in extra_text_types:
            texts.append(_required_str(item.get(kind), f"{at}.{kind}"))
        else:
            allowed = " or ".join(("text", *extra_text_types))
            raise invalid_request(
                f"{at}.type {_short(kind)} is not allowed here; use {allowed}.", f"{at}.type"
            )
    return texts


def _content_items(content: object, where: str) -> list[JSON]:
    if not isinstance(content, list):
        raise invalid_request(f"{where} must be a string or an array of content parts.", where)
    for position, item in enumerate(content):
        if not isinstance(item, dict):
            raise invalid_request(f"{where}[{position}] must be an object.", f"{where}[{position}]")
    return content


def _user_parts(content: object, where: str) -> list[JSON]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[JSON] = []
    for position, item in enumerate(_content_items(content, where)):
        at = f"{where}[{position}]"
        kind = item.get("type")
        if kind == "text":
            text = _required_str(item.get("text"), f"{at}.text")
            if text:
                parts.append({"text": text})
        elif kind == "image_url":
            parts.append(_image_part(item.get("image_url"), f"{at}.image_url"))
        elif kind == "input_audio":
            parts.append(_audio_part(item.get("input_audio"), f"{at}.input_audio"))
        elif kind == "file":
            parts.append(_file_part(item.get("file"), f"{at}.file"))
        else:
            raise invalid_request(
                f"{at}.type {_short(kind)} is not supported; use text, image_url, input_audio or file.",
                f"{at}.type",
            )
    return parts


def _image_part(image: object, where: str) -> JSON:
    # Some clients send the URL itself instead of {"url": ...}; both are unambiguous.
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise invalid_request(f"{where}.url must be a non-empty string.", f"{where}.url")
    if url[:5].lower() == "data:":
        mime_type, data = _parse_data_url(url, f"{where}.url")
        return {"inlineData": {"mimeType": mime_type, "data": data}}
    parsed = urlsplit(url)
    if parsed.scheme.lower() in ("http", "https") and parsed.netloc:
        return {"fileData": {"mimeType": _image_type_from_path(parsed.path), "fileUri": url}}
    # The URL itself is not echoed: it may carry a signed token in its query.
    raise invalid_request(
        f"{where}.url must be a base64 data URL (data:image/png;base64,...) or an http(s) URL.",
        f"{where}.url",
    )


def _parse_data_url(url: str, where: str) -> tuple[str, str]:
    header, comma, data = url[5:].partition(",")
    media = header.split(";")
    mime_type = media[0].strip().lower()
    if not comma or "base64" not in (piece.strip().lower() for piece in media[1:]):
        raise invalid_request(f"{where} must be a base64 data URL like data:image/png;base64,<data>.", where)
    if "/" not in mime_type:
        raise invalid_request(f"{where} must name a MIME type, like data:image/png;base64,<data>.", where)
    if not data:
        raise invalid_request(f"{where} has no data after the comma.", where)
    return mime_type, data


def _image_type_from_path(path: str) -> str:
    dot = path.rfind(".")
    return IMAGE_TYPES.get(path[dot:].lower(), DEFAULT_IMAGE_TYPE) if dot >= 0 else DEFAULT_IMAGE_TYPE


def _audio_part(audio: object, where: str) -> JSON:
    if not isinstance(audio, dict):
        raise invalid_request(f"{where} must be an object with data and format.", where)
    data = _required_str(audio.get("data"), f"{where}.data")
    audio_format = _required_str(audio.get("format"), f"{where}.format").lower()
    if not data:
        raise invalid_request(f"{where}.data must not be empty.", f"{where}.data")
    return {"inlineData": {"mimeType": AUDIO_TYPES.get(audio_format, f"audio/{audio_format}"), "data": data}}


def _file_part(file: object, where: str) -> JSON:
    if not isinstance(file, dict):
        raise invalid_request(f"{where} must be an object with file_data.", where)
    file_data = file.get("file_data")
    if not isinstance(file_data, str) or file_data[:5].lower() != "data:":
        raise invalid_request(
            f"{where}.file_data must be a base64 data URL (uploaded file ids are not supported).",
            f"{where}.file_data",
        )
    mime_type, data = _parse_data_url(file_data, f"{where}.file_data")
    return {"inlineData": {"mimeType": mime_type, "data": data}}


def _assistant_parts(message: JSON, where: str, call_names: dict[str, str]) -> list[JSON]:
    # reasoning_content is not sent back: Gemini carries reasoning as signatures, re-attached in core.
    parts: list[JSON] = [
        {"text": text} for text in _texts(message.get("content"), f"{where}.content", ("refusal",)) if text
    ]
    tool_calls = message.get("tool_calls")
    if tool_calls is None:
        return parts
    if not isinstance(tool_calls, list):
        raise invalid_request(f"{where}.tool_calls must be an array.", f"{where}.tool_calls")
    for position, call in enumerate(tool_calls):
        parts.append(_function_call(call, f"{where}.tool_calls[{position}]", call_names))
    return parts


def _function_call(call: object, where: str, call_names: dict[str, str]) -> JSON:
    if not isinstance(call, dict):
        raise invalid_request(f"{where} must be an object.", where)
    if call.get("type", "function") != "function":
        raise invalid_request(f"{where}.type must be 'function'.", f"{where}.type")
    function = call.get("function")
    if not isinstance(function, dict):
        raise invalid_request(
            f"{where}.function must be an object with name and arguments.", f"{where}.function"
        )
    name = _required_name(function.get("name"), f"{where}.function.name")
    function_call: JSON = {
        "name": name,
        "args": _arguments(function.get("arguments"), f"{where}.function.arguments"),
    }
    call_id = call.get("id")
    if call_id is not None:
        if not isinstance(call_id, str):
            raise invalid_request(f"{where}.id must be a string.", f"{where}.id")
        if call_id:
            function_call["id"] = call_id
            call_names[call_id] = name
    return {"functionCall": function_call}


def _arguments(arguments: object, where: str) -> JSON:
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, dict):
        return arguments  # not OpenAI's format, but unambiguous
    if not isinstance(arguments, str):
        raise invalid_request(f"{where} must be a JSON string.", where)
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as exc:
        raise invalid_request(
            f"{where} is not valid JSON ({exc.msg} at position {exc.pos}).", where
        ) from None
    if not isinstance(parsed, dict):
        raise invalid_request(f"{where} must be a JSON object.", where)
    return parsed


def _tool_result(message: JSON, where: str, call_names: dict[str, str]) -> JSON:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise invalid_request(f"{where}.tool_call_id is required for tool messages.", f"{where}.tool_call_id")
    name = call_names.get(call_id)
    if name is None:
        # Older clients name the function on the tool message itself; accept that when the id is unknown.
        fallback = message.get("name")
        if not isinstance(fallback, str) or not fallback:
            raise invalid_request(
                f"{where}.tool_call_id {_short(call_id)} does not match any tool_calls id of an earlier "
                "assistant message.",
                f"{where}.tool_call_id",
            )
        name = fallback
    text = "\n".join(_texts(message.get("content"), f"{where}.content"))
    return {
        "functionResponse": {"name": name, "id": call_id, "response": {"result": _json_object_or_text(text)}}
    }


def _json_object_or_text(text: str) -> Any:
    """Tool output that is a JSON object goes up as structure (the model reads it better); else as text."""
    if not text.lstrip().startswith("{"):
        return text
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return text
    return parsed if isinstance(parsed, dict) else text


# --- tools ----------------------------------------------------------------------------------------------


def _decode_tools(tools: object) -> list[JSON]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise invalid_request("'tools' must be an array.", "tools")
    declarations: list[JSON] = []
    seen: set[str] = set()
    for position, tool in enumerate(tools):
        where = f"tools[{position}]"
        if not isinstance(tool, dict):
            raise invalid_request(f"{where} must be an object.", where)
        if tool.get("type") in SEARCH_TOOL_TYPES:
            continue  # see _wants_search
        if tool.get("type") != "function":
            raise invalid_request(
                f"{where}.type {_short(tool.get('type'))} is not supported; use 'function' or 'web_search'.",
                f"{where}.type",
            )
        declaration = _function_declaration(tool.get("function"), f"{where}.function")
        if declaration["name"] in seen:
            raise invalid_request(
                f"{where}.function.name {_short(declaration['name'])} is declared twice.",
                f"{where}.function.name",
            )
        seen.add(declaration["name"])
        declarations.append(declaration)
    return declarations


def _function_declaration(function: object, where: str) -> JSON:
    if not isinstance(function, dict):
        raise invalid_request(f"{where} must be an object with a name.", where)
    declaration: JSON = {"name": _required_name(function.get("name"), f"{where}.name")}
    description = function.get("description")
    if description is not None:
        if not isinstance(description, str):
            raise invalid_request(f"{where}.description must be a string.", f"{where}.description")
        if description:
            declaration["description"] = description
    parameters = function.get("parameters")
    if parameters is not None:
        if not isinstance(parameters, dict):
            raise invalid_request(f"{where}.parameters must be a JSON Schema object.", f"{where}.parameters")
        # Passed through as given: core.transform cleans schemas for the upstream.
        declaration["parameters"] = parameters
    return declaration


def _wants_search(payload: JSON) -> bool:
    """A web_search tool, or `web_search_options` (OpenAI's search models), asks for grounded answers."""
    tools = payload.get("tools")
    if isinstance(tools, list) and any(
        isinstance(t, dict) and t.get("type") in SEARCH_TOOL_TYPES for t in tools
    ):
        return True
    return payload.get("web_search_options") is not None


def _decode_tool_choice(choice: object, declared: set[str]) -> JSON | None:
    if choice is None:
        return None
    if isinstance(choice, str):
        mode = TOOL_CHOICE_MODES.get(choice)
        if mode is None:
            raise invalid_request(
                f"'tool_choice' {_short(choice)} is not supported; use none, auto, required or a function.",
                "tool_choice",
            )
        if not declared:
            if mode == "ANY":
                raise invalid_request("'tool_choice' is 'required' but no tools were given.", "tool_choice")
            return None  # none/auto without tools mean nothing to the upstream
        return {"functionCallingConfig": {"mode": mode}}
    if isinstance(choice, dict) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not name:
            raise invalid_request(
                "'tool_choice.function.name' must be a non-empty string.", "tool_choice.function.name"
            )
        if name not in declared:
            raise invalid_request(
                f"'tool_choice' names function {_short(name)}, which is not in 'tools'.",
                "tool_choice.function.name",
            )
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    raise invalid_request(
        '\'tool_choice\' must be none, auto, required or {"type": "function", "function": {"name": ...}}.',
        "tool_choice",
    )


# --- generation settings --------------------------------------------------------------------------------


def _decode_generation_config(payload: JSON) -> JSON:
    config: JSON = {}
    max_tokens = _max_tokens(payload)
    if max_tokens is not None:
        config["maxOutputTokens"] = max_tokens
    for key, gemini_key, low, high in (
        ("temperature", "temperature", 0.0, 2.0),
        ("top_p", "topP", 0.0, 1.0),
        ("presence_penalty", "presencePenalty", -2.0, 2.0),
        ("frequency_penalty", "frequencyPenalty", -2.0, 2.0),
    ):
        value = _number(payload, key, low, high)
        if value is not None:
            config[gemini_key] = value
    stop = _stop_sequences(payload.get("stop"))
    if stop:
        config["stopSequences"] = stop
    seed = _integer(payload, "seed")
    if seed is not None:
        config["seed"] = seed
    config.update(_response_format(payload.get("response_format")))
    thinking = _thinking_config(payload.get("reasoning_effort"))
    if thinking is not None:
        config["thinkingConfig"] = thinking
    return config


def _max_tokens(payload: JSON) -> int | None:
    # max_completion_tokens replaced max_tokens in OpenAI's API; it wins when both are sent.
    for key in ("max_completion_tokens", "max_tokens"):
        value = _integer(payload, key)
        if value is not None:
            if value < 1:
                raise invalid_request(f"'{key}' must be at least 1.", key)
            return value
    return None


def _check_n(n: object) -> None:
    if n is None:
        return
    if isinstance(n, int) and not isinstance(n, bool):
        if n == 1:
            return
        if n > 1:
            raise invalid_request("n > 1 is not supported; send one request per completion.", "n")
    raise invalid_request("'n' must be 1 (n > 1 is not supported).", "n")


def _stop_sequences(stop: object) -> list[str]:
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop] if stop else []
    if isinstance(stop, list) and all(isinstance(item, str) for item in stop):
        return [item for item in stop if item]
    raise invalid_request("'stop' must be a string or an array of strings.", "stop")


def _response_format(response_format: object) -> JSON:
    if response_format is None:
        return {}
    if not isinstance(response_format, dict):
        raise invalid_request("'response_format' must be an object.", "response_format")
    kind = response_format.get("type")
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise invalid_request(
                "'response_format.json_schema.schema' must be a JSON Schema object.",
                "response_format.json_schema",
            )
        return {"responseMimeType": "application/json", "responseJsonSchema": schema}
    raise invalid_request(
        "'response_format.type' must be text, json_object or json_schema.", "response_format.type"
    )


def _thinking_config(effort: object) -> JSON | None:
    if effort is None:
        return None
    budget = REASONING_BUDGETS.get(effort) if isinstance(effort, str) else None
    if budget is None:
        raise invalid_request(
            f"'reasoning_effort' {_short(effort)} is not supported; use {', '.join(REASONING_BUDGETS)}.",
            "reasoning_effort",
        )
    return {"thinkingBudget": budget, "includeThoughts": budget > 0}


def _include_usage(stream_options: object) -> bool:
    if stream_options is None:
        return False
    if not isinstance(stream_options, dict):
        raise invalid_request("'stream_options' must be an object.", "stream_options")
    return _optional(stream_options, "include_usage", bool, "stream_options.include_usage") or False


def _conversation_key(payload: JSON) -> str | None:
    # `user` is OpenAI's per-end-user id; `prompt_cache_key` is its newer, explicit caching key.
    for key in ("user", "prompt_cache_key"):
        value = _optional(payload, key, str)
        if value:
            return value
    return None


# --- small checks ---------------------------------------------------------------------------------------


def _optional[T](container: JSON, key: str, kind: type[T], param: str | None = None) -> T | None:
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, kind):
        raise invalid_request(f"'{param or key}' must be a {_type_name(kind)}.", param or key)
    return value


def _number(payload: JSON, key: str, low: float, high: float) -> float | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_request(f"'{key}' must be a number.", key)
    if not low <= value <= high:
        raise invalid_request(f"'{key}' must be between {low:g} and {high:g}.", key)
    return value


def _integer(payload: JSON, key: str) -> int | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_request(f"'{key}' must be an integer.", key)
    return value


def _required_str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise invalid_request(f"{where} must be a string.", where)
    return value


def _required_name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise invalid_request(f"{where} must be a non-empty string.", where)
    return value


def _type_name(kind: type) -> str:
    return {bool: "boolean", str: "string", int: "integer", dict: "object", list: "array"}.get(
        kind, kind.__name__
    )


def _short(value: object) -> str:
    """A client value quoted for an error message, cut short so a huge value cannot flood the log."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
