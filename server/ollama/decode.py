"""Ollama `/api/chat` and `/api/generate` requests -> Gemini GenerateContentRequest, with clear 400s."""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from typing import Any

from core.errors import ApiError, ApiErrorType, invalid_request
from core.types import JSON
from server.protocol import Decoded
from server.request_parts import (
    REASONING_BUDGETS,
    Conversation,
    decode_function_tools,
    function_response,
    stop_sequences,
)

LATEST_TAG = ":latest"

# Leading bytes of the image formats Gemini reads; Ollama sends bare base64 with no MIME type.
_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
DEFAULT_IMAGE_TYPE = "image/jpeg"

ROLES = "system, user, assistant or tool"

# Ollama's `think` levels (gpt-oss style) -> the OpenAI adapter's reasoning budgets.
THINK_LEVELS = ("low", "medium", "high")


def model_name(raw: object, field_name: str = "model") -> str:
    """The model a client asked for, without Ollama's default `:latest` tag."""
    if not isinstance(raw, str) or not raw.strip():
        raise invalid_request(f"'{field_name}' is required and must be a non-empty string.", field_name)
    name = raw.strip()
    return name[: -len(LATEST_TAG)] if name.endswith(LATEST_TAG) else name


@dataclass(frozen=True, slots=True)
class OllamaOptions:
    """What the Ollama encoders read of the request."""

    kind: str  # "chat" (/api/chat) or "generate" (/api/generate): which reply shape
    client_model: str  # the model name as sent, echoed back unchanged, the way Ollama does
    started: float  # when the request arrived (perf_counter), for Ollama's durations
    load: bool = False  # nothing to generate: a request to load the model
    unload: bool = False  # ... or, with keep_alive 0, to unload it


def decode_chat(payload: object, *, started: float | None = None) -> Decoded[OllamaOptions]:
    """Translate a `POST /api/chat` body. An empty `messages` asks to load the model (options.load).

    `started` is when the request arrived (now, when not given).
    """
    payload = _object(payload)
    model = model_name(payload.get("model"))
    messages = payload.get("messages")
    if messages is None:
        messages = []
    if not isinstance(messages, list):
        raise invalid_request("'messages' must be an array.", "messages")
    conversation = _decode_messages(messages) if messages else Conversation()
    declarations, _ = decode_function_tools(payload.get("tools"), nested=True)
    body = _body(conversation, payload)
    if declarations:
        body["tools"] = [{"functionDeclarations": declarations}]
    return _decoded("chat", model, payload, body, load=not messages, started=started)


def decode_generate(payload: object, *, started: float | None = None) -> Decoded[OllamaOptions]:
    """Translate a `POST /api/generate` body. No prompt and no images asks to load the model."""
    payload = _object(payload)
    model = model_name(payload.get("model"))
    prompt = _optional_str(payload, "prompt")
    if payload.get("suffix"):
        # Fill-in-the-middle has no Gemini equivalent; Ollama answers the same for models without it.
        raise invalid_request(f"{payload['model']} does not support insert", "suffix")
    images = _images(payload.get("images"), "images")
    conversation = Conversation()
    system = _optional_str(payload, "system")
    if system:
        conversation.system_parts.append({"text": system})
    parts: list[JSON] = [{"text": prompt}] if prompt else []
    conversation.add("user", parts + images)
    body = _body(conversation, payload)
    return _decoded("generate", model, payload, body, load=not conversation.contents, started=started)


def decode_embed(payload: object) -> tuple[str, list[str], int | None]:
    """(model, texts, dimensions) of a `POST /api/embed` body; `input` is a string or an array of them."""
    payload = _object(payload)
    model = model_name(payload.get("model"))
    texts = payload.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(text, str) for text in texts):
        raise invalid_request("'input' must be a string or a non-empty array of strings.", "input")
    dimensions = payload.get("dimensions")
    if dimensions is not None and (
        isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1
    ):
        raise invalid_request("'dimensions' must be a positive integer.", "dimensions")
    return model, texts, dimensions


# --- request pieces -------------------------------------------------------------------------------------


def _object(payload: object) -> JSON:
    if not isinstance(payload, dict):
        raise invalid_request("Request body must be a JSON object.")
    return payload


def _decoded(
    kind: str, model: str, payload: JSON, body: JSON, *, load: bool, started: float | None
) -> Decoded[OllamaOptions]:
    stream = payload.get("stream", True)  # Ollama streams unless told not to
    if stream is None:
        stream = True
    if not isinstance(stream, bool):
        raise invalid_request("'stream' must be a boolean.", "stream")
    return Decoded(
        model=model,
        body=body,
        stream=stream,
        options=OllamaOptions(
            kind,
            payload["model"],
            started if started is not None else time.perf_counter(),
            load=load,
            unload=load and _is_zero(payload.get("keep_alive")),
        ),
    )


def _is_zero(keep_alive: object) -> bool:
    """keep_alive 0 (number or "0", "0s", "0m") with nothing to generate means: unload the model."""
    if isinstance(keep_alive, bool):
        return False
    if isinstance(keep_alive, int | float):
        return keep_alive == 0
    return isinstance(keep_alive, str) and keep_alive.strip().rstrip("smh") in ("0", "0.0")


def _body(conversation: Conversation, payload: JSON) -> JSON:
    body: JSON = {"contents": conversation.contents}
    if conversation.system_parts:
        body["systemInstruction"] = {"parts": conversation.system_parts}
    config = _generation_config(payload.get("options"))
    config.update(_format(payload.get("format")))
    thinking = _thinking_config(payload.get("think"))
    if thinking is not None:
        config["thinkingConfig"] = thinking
    if config:
        body["generationConfig"] = config
    return body


# --- messages -------------------------------------------------------------------------------------------


@dataclass
class _PendingCalls:
    """Function calls of the latest assistant turn that tool messages have not answered yet.

    Ollama's tool messages name the tool (`tool_name`) but usually carry no call id, while Claude models
    behind the gateway need each result to answer its call by id: ids are matched up here.
    """

    calls: list[tuple[str, str]] = field(default_factory=list)  # (id, name), in call order

    def answer(self, call_id: object, name: object) -> tuple[str | None, str | None]:
        """(id, name) of the call a tool message answers, taking it off the list."""
        for index, (pending_id, pending_name) in enumerate(self.calls):
            if (isinstance(call_id, str) and call_id and pending_id == call_id) or (
                not call_id and (not name or pending_name == name)
            ):
                del self.calls[index]
                return pending_id, pending_name
        return (call_id if isinstance(call_id, str) and call_id else None), (
            name if isinstance(name, str) and name else None
        )


def _decode_messages(messages: list[Any]) -> Conversation:
    conversation = Conversation()
    pending = _PendingCalls()
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise invalid_request(f"{where} must be an object.", where)
        role = message.get("role")
        if role == "system":
            text = _content(message, where)
            if text:
                conversation.system_parts.append({"text": text})
        elif role == "user":
            text = _content(message, where)
            parts: list[JSON] = [{"text": text}] if text else []
            conversation.add("user", parts + _images(message.get("images"), f"{where}.images"))
        elif role == "assistant":
            conversation.add("model", _assistant_parts(message, where, index, pending))
        elif role == "tool":
            conversation.add("user", [_tool_result(message, where, pending)])
        elif role is None:
            raise invalid_request(f"{where}.role is required ({ROLES}).", f"{where}.role")
        else:
            raise invalid_request(
                f"{where}.role {role!r:.60} is not supported; use {ROLES}.", f"{where}.role"
            )
    if not conversation.contents:
        raise invalid_request(
            "'messages' must contain at least one user, assistant or tool message with content.", "messages"
        )
    return conversation


def _content(message: JSON, where: str) -> str:
    content = message.get("content")
    if content is None:
        return ""
    if not isinstance(content, str):
        raise invalid_request(f"{where}.content must be a string.", f"{where}.content")
    return content


def _images(images: object, where: str) -> list[JSON]:
    if images is None:
        return []
    if not isinstance(images, list):
        raise invalid_request(f"{where} must be an array of base64-encoded images.", where)
    return [_image(image, f"{where}[{position}]") for position, image in enumerate(images)]


def _image(image: object, where: str) -> JSON:
    if not isinstance(image, str) or not image:
        raise invalid_request(f"{where} must be a non-empty base64 string.", where)
    data = image
    mime_type = None
    if data[:5].lower() == "data:":  # some clients send data URLs; the type is then given
        header, comma, data = data[5:].partition(",")
        mime_type = header.split(";")[0].strip().lower() or None
        if not comma or not data:
            raise invalid_request(f"{where} is a data URL without data.", where)
    try:
        head = base64.b64decode(data[:64] + "=" * (-len(data[:64]) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise invalid_request(f"{where} is not valid base64.", where) from None
    return {"inlineData": {"mimeType": mime_type or _sniff_image_type(head), "data": data}}


def _sniff_image_type(head: bytes) -> str:
    for magic, mime_type in _IMAGE_MAGIC:
        if head.startswith(magic):
            return mime_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "image/heic"
    return DEFAULT_IMAGE_TYPE


def _assistant_parts(message: JSON, where: str, index: int, pending: _PendingCalls) -> list[JSON]:
    # `thinking` is not sent back: Gemini carries reasoning as signatures, which core re-attaches.
    text = _content(message, where)
    parts: list[JSON] = [{"text": text}] if text else []
    parts += _images(message.get("images"), f"{where}.images")
    tool_calls = message.get("tool_calls")
    pending.calls = []
    if tool_calls is None:
        return parts
    if not isinstance(tool_calls, list):
        raise invalid_request(f"{where}.tool_calls must be an array.", f"{where}.tool_calls")
    for position, call in enumerate(tool_calls):
        at = f"{where}.tool_calls[{position}]"
        function_call = _function_call(call, at)
        # Ollama's calls usually have no id; a stable made-up one lets results be matched to them.
        function_call.setdefault("id", f"call_{index}_{position}")
        pending.calls.append((function_call["id"], function_call["name"]))
        parts.append({"functionCall": function_call})
    return parts


def _function_call(call: object, where: str) -> JSON:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict):
        raise invalid_request(
            f"{where}.function must be an object with name and arguments.", f"{where}.function"
        )
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise invalid_request(f"{where}.function.name must be a non-empty string.", f"{where}.function.name")
    function_call: JSON = {
        "name": name,
        "args": _arguments(function.get("arguments"), f"{where}.function.arguments"),
    }
    call_id = call.get("id") if isinstance(call, dict) else None
    if isinstance(call_id, str) and call_id:
        function_call["id"] = call_id
    return function_call


def _arguments(arguments: object, where: str) -> JSON:
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, dict):
        return arguments
    if isinstance(arguments, str):  # OpenAI's habit; unambiguous, so accepted
        try:
            parsed = json.loads(arguments)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    raise invalid_request(f"{where} must be an object.", where)


def _tool_result(message: JSON, where: str, pending: _PendingCalls) -> JSON:
    name = message.get("tool_name") or message.get("name")  # `name` in older clients
    call_id, name = pending.answer(message.get("tool_call_id"), name)
    if name is None:
        raise invalid_request(
            f"{where}.tool_name is required: no earlier assistant tool call is left for it to answer.",
            f"{where}.tool_name",
        )
    return function_response(name, call_id, _content(message, where))


# --- options, format, think -----------------------------------------------------------------------------


def _generation_config(options: object) -> JSON:
    """Ollama's sampling options that Gemini has; the rest (num_ctx, mirostat, ...) only mean something to a
    local runtime and are ignored, as Ollama ignores options a model does not use."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise invalid_request("'options' must be an object.", "options")
    config: JSON = {}
    for key, gemini_key in (
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ):
        value = _number(options, key)
        if value is not None:
            config[gemini_key] = value
    top_k = _integer(options, "top_k")
    if top_k is not None and top_k > 0:
        config["topK"] = top_k
    num_predict = _integer(options, "num_predict")
    if num_predict is not None and num_predict > 0:  # -1 (no limit) and -2 (fill the context) mean none
        config["maxOutputTokens"] = num_predict
    seed = _integer(options, "seed")
    if seed is not None:
        config["seed"] = seed
    stop = stop_sequences(options.get("stop"), "options.stop")
    if stop:
        config["stopSequences"] = stop
    return config


def _number(options: JSON, key: str) -> float | None:
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_request(f"'options.{key}' must be a number.", f"options.{key}")
    return value


def _integer(options: JSON, key: str) -> int | None:
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_request(f"'options.{key}' must be an integer.", f"options.{key}")
    return value


def _format(output_format: object) -> JSON:
    if output_format is None or output_format == "":
        return {}
    if output_format == "json":
        return {"responseMimeType": "application/json"}
    if isinstance(output_format, dict):
        return {"responseMimeType": "application/json", "responseJsonSchema": output_format}
    raise invalid_request("'format' must be \"json\" or a JSON Schema object.", "format")


def _thinking_config(think: object) -> JSON | None:
    if think is None:
        return None
    if think is True:
        return {"includeThoughts": True}
    if think is False:
        # Not a zero budget: some models (2.5 Pro) cannot stop thinking and would refuse the request;
        # leaving the thoughts out of the answer is what the client asked to see.
        return {"includeThoughts": False}
    if isinstance(think, str) and think in THINK_LEVELS:
        return {"thinkingBudget": REASONING_BUDGETS[think], "includeThoughts": True}
    raise ApiError(
        400,
        ApiErrorType.INVALID_REQUEST,
        f"'think' must be true, false or one of {', '.join(THINK_LEVELS)}.",
        param="think",
    )


def _optional_str(payload: JSON, key: str) -> str:
    value = payload.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid_request(f"'{key}' must be a string.", key)
    return value
