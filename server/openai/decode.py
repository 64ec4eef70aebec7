"""OpenAI Chat Completions request -> Gemini GenerateContentRequest, with clear 400s for bad input."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import invalid_request
from core.types import JSON
from server.protocol import Decoded
from server.request_parts import (
    Conversation,
    content_items,
    decode_function_tools,
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
    stop_sequences,
)


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """What the Chat Completions encoders read of the request and the settings."""

    include_usage: bool = False  # stream_options.include_usage: a usage chunk before [DONE]
    image_output: str = "markdown"  # server.image_output: generated images as markdown or as content parts


AUDIO_TYPES: dict[str, str] = {"wav": "audio/wav", "mp3": "audio/mp3"}

ROLES = "system, developer, user, assistant or tool"


def decode(payload: object, *, image_output: str = "markdown") -> Decoded[ChatOptions]:
    """Translate a `POST /v1/chat/completions` body; raises ApiError (400) naming the field at fault.

    `image_output` is the server.image_output setting (how the answer shows generated images).
    """
    payload, model = request_model(payload)
    check_n(payload.get("n"))

    conversation = _decode_messages(payload.get("messages"))
    body: JSON = {"contents": conversation.contents}
    if conversation.system_parts:
        body["systemInstruction"] = {"parts": conversation.system_parts}
    declarations, search_tool = decode_function_tools(payload.get("tools"), nested=True)
    tools: list[JSON] = [{"functionDeclarations": declarations}] if declarations else []
    # `web_search_options` is how OpenAI's search models ask for grounded answers, without a tool.
    if search_tool or payload.get("web_search_options") is not None:
        tools.append({"googleSearch": {}})
    if tools:
        body["tools"] = tools
    tool_config = decode_tool_choice(
        payload.get("tool_choice"), {d["name"] for d in declarations}, ("function", "name")
    )
    if tool_config:
        body["toolConfig"] = tool_config
    generation_config = decode_generation_config(payload)
    if generation_config:
        body["generationConfig"] = generation_config

    stream = optional(payload, "stream", bool) or False
    return Decoded(
        model=model,
        body=body,
        stream=stream,
        conversation_key=conversation_key(payload),
        options=ChatOptions(include_usage(payload.get("stream_options")), image_output),
    )


# --- messages -------------------------------------------------------------------------------------------


def _decode_messages(messages: object) -> Conversation:
    if not isinstance(messages, list) or not messages:
        raise invalid_request("'messages' is required and must be a non-empty array.", "messages")
    conversation = Conversation()
    for index, message in enumerate(messages):
        _decode_message(message, f"messages[{index}]", conversation)
    if not conversation.contents:
        raise invalid_request(
            "'messages' must contain at least one user, assistant or tool message with content.", "messages"
        )
    return conversation


def _decode_message(message: object, where: str, conversation: Conversation) -> None:
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
            f"{where}.role {short(role)} is not supported; use {ROLES}.",
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
    items = content_items(content, where)
    texts = []
    for position, item in enumerate(items):
        at = f"{where}[{position}]"
        kind = item.get("type")
        if kind == "text":
            texts.append(required_str(item.get("text"), f"{at}.text"))
        elif kind in extra_text_types:
            texts.append(required_str(item.get(kind), f"{at}.{kind}"))
        else:
            allowed = " or ".join(("text", *extra_text_types))
            raise invalid_request(
                f"{at}.type {short(kind)} is not allowed here; use {allowed}.", f"{at}.type"
            )
    return texts


def _user_parts(content: object, where: str) -> list[JSON]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[JSON] = []
    for position, item in enumerate(content_items(content, where)):
        at = f"{where}[{position}]"
        kind = item.get("type")
        if kind == "text":
            text = required_str(item.get("text"), f"{at}.text")
            if text:
                parts.append({"text": text})
        elif kind == "image_url":
            parts.append(image_part(item.get("image_url"), f"{at}.image_url"))
        elif kind == "input_audio":
            parts.append(_audio_part(item.get("input_audio"), f"{at}.input_audio"))
        elif kind == "file":
            parts.append(file_part(item.get("file"), f"{at}.file"))
        else:
            raise invalid_request(
                f"{at}.type {short(kind)} is not supported; use text, image_url, input_audio or file.",
                f"{at}.type",
            )
    return parts


def _audio_part(audio: object, where: str) -> JSON:
    if not isinstance(audio, dict):
        raise invalid_request(f"{where} must be an object with data and format.", where)
    data = required_str(audio.get("data"), f"{where}.data")
    audio_format = required_str(audio.get("format"), f"{where}.format").lower()
    if not data:
        raise invalid_request(f"{where}.data must not be empty.", f"{where}.data")
    return {"inlineData": {"mimeType": AUDIO_TYPES.get(audio_format, f"audio/{audio_format}"), "data": data}}


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
    name = required_name(function.get("name"), f"{where}.function.name")
    function_call: JSON = {
        "name": name,
        "args": function_arguments(function.get("arguments"), f"{where}.function.arguments"),
    }
    call_id = call.get("id")
    if call_id is not None:
        if not isinstance(call_id, str):
            raise invalid_request(f"{where}.id must be a string.", f"{where}.id")
        if call_id:
            function_call["id"] = call_id
            call_names[call_id] = name
    return {"functionCall": function_call}


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
                f"{where}.tool_call_id {short(call_id)} does not match any tool_calls id of an earlier "
                "assistant message.",
                f"{where}.tool_call_id",
            )
        name = fallback
    return function_response(name, call_id, "\n".join(_texts(message.get("content"), f"{where}.content")))


# --- generation settings --------------------------------------------------------------------------------


def decode_generation_config(payload: JSON) -> JSON:
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
        value = number(payload, key, low, high)
        if value is not None:
            config[gemini_key] = value
    stop = stop_sequences(payload.get("stop"))
    if stop:
        config["stopSequences"] = stop
    seed = integer(payload, "seed")
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
        value = integer(payload, key)
        if value is not None:
            if value < 1:
                raise invalid_request(f"'{key}' must be at least 1.", key)
            return value
    return None


def check_n(n: object) -> None:
    if n is None:
        return
    if isinstance(n, int) and not isinstance(n, bool):
        if n == 1:
            return
        if n > 1:
            raise invalid_request("n > 1 is not supported; send one request per completion.", "n")
    raise invalid_request("'n' must be 1 (n > 1 is not supported).", "n")


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
    budget = reasoning_budget(effort, "reasoning_effort")
    return {"thinkingBudget": budget, "includeThoughts": budget > 0}


def include_usage(stream_options: object) -> bool:
    if stream_options is None:
        return False
    if not isinstance(stream_options, dict):
        raise invalid_request("'stream_options' must be an object.", "stream_options")
    return optional(stream_options, "include_usage", bool, "stream_options.include_usage") or False


def conversation_key(payload: JSON) -> str | None:
    # `user` is OpenAI's per-end-user id; `prompt_cache_key` is its newer, explicit caching key.
    return first_string(payload, ("user", "prompt_cache_key"))
