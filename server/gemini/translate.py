"""Gemini-protocol requests and responses: validate and normalise incoming bodies, shape replies and errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.errors import ApiError, ApiErrorType, invalid_request
from core.gateway import ModelInfo
from core.types import JSON
from server.protocol import Decoded

# Fields of a GenerateContentRequest the gateway forwards; others (labels, a stray `model`, sessionId) are
# dropped. `cachedContent` is refused: it names a cache on the client's own Google project, which the
# pooled accounts cannot read, and silently dropping it would lose the cached context.
REQUEST_FIELDS = (
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "generationConfig",
    "safetySettings",
)

# Part fields that carry data; a part needs at least one.
PART_FIELDS = frozenset(
    {
        "text",
        "inlineData",
        "fileData",
        "functionCall",
        "functionResponse",
        "executableCode",
        "codeExecutionResult",
        "thoughtSignature",
    }
)

# Values whose keys are the client's own data (function arguments, results, labels, example values).
_VERBATIM_KEYS = frozenset({"args", "response", "labels", "default", "examples", "example", "const", "enum"})
# Maps from the client's names to schemas: keep the names, normalise the schemas.
_NAMED_SCHEMA_KEYS = frozenset({"properties", "$defs", "definitions", "patternProperties"})

_ROLE_ALIASES = {"user": "user", "model": "model", "function": "user"}  # "function": older Gemini clients

_STATUS_BY_TYPE: dict[ApiErrorType, str] = {
    ApiErrorType.INVALID_REQUEST: "INVALID_ARGUMENT",
    ApiErrorType.AUTHENTICATION: "UNAUTHENTICATED",
    ApiErrorType.PERMISSION: "PERMISSION_DENIED",
    ApiErrorType.NOT_FOUND: "NOT_FOUND",
    ApiErrorType.TOO_LARGE: "INVALID_ARGUMENT",
    ApiErrorType.RATE_LIMIT: "RESOURCE_EXHAUSTED",
    ApiErrorType.API_ERROR: "INTERNAL",
    ApiErrorType.OVERLOADED: "UNAVAILABLE",
}

_METHODS_BY_CAPABILITY: dict[str, tuple[str, ...]] = {
    "chat": ("generateContent", "streamGenerateContent", "countTokens"),
    "speech": ("generateContent", "countTokens"),
    "tts": ("generateContent", "countTokens"),
    "embedding": ("embedContent", "batchEmbedContents"),
    "embeddings": ("embedContent", "batchEmbedContents"),
    "imagen": ("predict",),
}


# ---------------------------------------------------------------------------------------------------------
# snake_case -> camelCase (google-genai mixes both: `inlineData: {"mime_type": ...}`, `thinking_budget`)


def _camel(key: str) -> str:
    if "_" not in key or key.startswith("_"):
        return key
    head, *rest = key.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def normalise_keys(value: Any) -> Any:
    """A copy with every protocol key in camelCase; client data (args, results, property names) untouched.
    When both spellings of a key are present, the camelCase one wins."""
    if isinstance(value, list):
        return [normalise_keys(item) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        camel = _camel(key) if isinstance(key, str) else key
        if camel in _VERBATIM_KEYS:
            new = item
        elif camel in _NAMED_SCHEMA_KEYS and isinstance(item, dict):
            new = {name: normalise_keys(schema) for name, schema in item.items()}
        else:
            new = normalise_keys(item)
        if camel == key or camel not in out:
            out[camel] = new
    return out


# ---------------------------------------------------------------------------------------------------------
# Validation


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )


def _check_part(part: Any, where: str) -> None:
    if not isinstance(part, dict):
        raise invalid_request(f"{where} must be an object, not {_type_name(part)}", param=where)
    if not PART_FIELDS.intersection(part):
        expected = "text, inlineData, fileData, functionCall or functionResponse"
        raise invalid_request(f"{where} has no data: expected one of {expected}", param=where)
    if "text" in part and not isinstance(part["text"], str):
        raise invalid_request(f"{where}.text must be a string", param=f"{where}.text")
    inline = part.get("inlineData")
    if inline is not None and not (
        isinstance(inline, dict)
        and isinstance(inline.get("mimeType"), str)
        and isinstance(inline.get("data"), str)
    ):
        raise invalid_request(
            f"{where}.inlineData needs mimeType and base64 data strings", param=f"{where}.inlineData"
        )
    for key in ("functionCall", "functionResponse"):
        value = part.get(key)
        if value is None:
            continue
        if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"]:
            raise invalid_request(f"{where}.{key} needs a name", param=f"{where}.{key}.name")
        data_key = "args" if key == "functionCall" else "response"
        if value.get(data_key) is not None and not isinstance(value[data_key], dict):
            raise invalid_request(
                f"{where}.{key}.{data_key} must be an object", param=f"{where}.{key}.{data_key}"
            )


def _check_parts(parts: Any, where: str) -> None:
    if not isinstance(parts, list):
        raise invalid_request(f"{where}.parts must be a list of parts", param=f"{where}.parts")
    for index, part in enumerate(parts):
        _check_part(part, f"{where}.parts[{index}]")


def _normalise_contents(contents: Any) -> list[JSON]:
    if contents is None:
        raise invalid_request("contents is required: a list of {role, parts} turns", param="contents")
    if not isinstance(contents, list) or not contents:
        raise invalid_request("contents must be a non-empty list of {role, parts} turns", param="contents")
    normalised: list[JSON] = []
    for index, content in enumerate(contents):
        where = f"contents[{index}]"
        if not isinstance(content, dict):
            raise invalid_request(f"{where} must be an object with role and parts", param=where)
        role = content.get("role", "user")  # Google treats a missing role as the user's
        if not isinstance(role, str) or role not in _ROLE_ALIASES:
            raise invalid_request(
                f'{where}.role must be "user" or "model", not {role!r}', param=f"{where}.role"
            )
        _check_parts(content.get("parts"), where)
        normalised.append({**content, "role": _ROLE_ALIASES[role]})
    return normalised


def _normalise_system(system: Any) -> JSON:
    if isinstance(system, str):
        return {"parts": [{"text": system}]}
    if not isinstance(system, dict):
        raise invalid_request("systemInstruction must be an object with parts", param="systemInstruction")
    _check_parts(system.get("parts"), "systemInstruction")
    return system


def _check_optional(body: JSON, key: str, kind: type) -> None:
    value = body.get(key)
    if value is not None and not isinstance(value, kind):
        expected = "an object" if kind is dict else "a list"
        raise invalid_request(f"{key} must be {expected}, not {_type_name(value)}", param=key)


def _normalise_request(payload: Any) -> JSON:
    if not isinstance(payload, dict):
        raise invalid_request("The request body must be a JSON object (a GenerateContentRequest)")
    raw = normalise_keys(payload)
    if raw.get("cachedContent") is not None:
        raise invalid_request("cachedContent is not supported through this gateway", param="cachedContent")
    body: JSON = {key: raw[key] for key in REQUEST_FIELDS if raw.get(key) is not None}
    body["contents"] = _normalise_contents(raw.get("contents"))
    if "systemInstruction" in body:
        body["systemInstruction"] = _normalise_system(body["systemInstruction"])
    for key, kind in (
        ("tools", list),
        ("safetySettings", list),
        ("toolConfig", dict),
        ("generationConfig", dict),
    ):
        _check_optional(body, key, kind)
    for index, tool in enumerate(body.get("tools") or ()):
        if not isinstance(tool, dict):
            raise invalid_request(f"tools[{index}] must be an object", param=f"tools[{index}]")
    return body


def strip_model_prefix(model: str) -> str:
    """`models/gemini-2.5-pro` -> `gemini-2.5-pro` (the SDKs send either)."""
    return model[len("models/") :] if model.startswith("models/") else model


def _model_name(model: str) -> str:
    name = strip_model_prefix(model.strip())
    if not name:
        raise invalid_request("The model name is missing from the URL", param="model")
    return name


# ---------------------------------------------------------------------------------------------------------
# Public API


def decode(payload: object, *, model: str, stream: bool) -> Decoded[None]:
    """A generateContent / streamGenerateContent body (already Gemini) checked and normalised to camelCase.
    Raises ApiError (400) naming the field at fault."""
    name = _model_name(model)
    body = _normalise_request(payload)
    # conversation_key stays None: the gateway derives one from the body the same way for every protocol.
    return Decoded(model=name, body=body, stream=stream, options=None)  # Gemini's encoders read none


def encode(response: JSON, decoded: Decoded[None]) -> JSON:
    """The upstream's GenerateContentResponse as is, with `modelVersion` filled in when missing."""
    if "modelVersion" in response:
        return response
    return {**response, "modelVersion": decoded.model}


def error_body(error: ApiError) -> JSON:
    """Google's error shape: {"error": {"code", "message", "status", "details"?}}."""
    inner: JSON = {
        "code": error.status,
        "message": error.message,
        "status": _STATUS_BY_TYPE.get(error.type, "UNKNOWN"),
    }
    details: list[JSON] = []
    if error.retry_after is not None:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{max(error.retry_after, 0):g}s",
            }
        )
    if error.param:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": error.param, "description": error.message}],
            }
        )
    if details:
        inner["details"] = details
    return {"error": inner}


def decode_count_tokens(payload: object, *, model: str) -> Decoded[None]:
    """A countTokens body: `{"contents": [...]}` or `{"generateContentRequest": {...}}`."""
    name = _model_name(model)
    if not isinstance(payload, dict):
        raise invalid_request("The request body must be a JSON object")
    raw = normalise_keys(payload)
    wrapped = raw.get("generateContentRequest")
    if wrapped is not None and raw.get("contents") is not None:
        raise invalid_request("Give either contents or generateContentRequest, not both", param="contents")
    if wrapped is not None:
        if not isinstance(wrapped, dict):
            raise invalid_request("generateContentRequest must be an object", param="generateContentRequest")
        body = _normalise_request(wrapped)
    else:
        body = _normalise_request({"contents": raw.get("contents")})
    return Decoded(model=name, body=body, stream=False, options=None)


def encode_count_tokens(total: int) -> JSON:
    return {"totalTokens": total}


def _methods(capabilities: Iterable[str]) -> list[str]:
    wanted = [capability.lower() for capability in capabilities]
    if wanted == ["images"]:
        wanted = ["imagen"]  # drawing only (Imagen) is `predict`; image chat models also list "chat"
    methods: dict[str, None] = {}
    for capability in wanted:
        for method in _METHODS_BY_CAPABILITY.get(capability, ()):
            methods[method] = None
    return list(methods) or ["generateContent"]


def encode_model(model: ModelInfo) -> JSON:
    """One entry of Google's model list (also the body of GET /v1beta/models/{model})."""
    entry: JSON = {
        "name": f"models/{model.id}",
        "baseModelId": model.aliases_for or model.id,
        "displayName": model.display_name or model.id,
        "supportedGenerationMethods": _methods(model.capabilities),
    }
    if model.aliases_for:
        entry["description"] = f"Alias of {model.aliases_for}"
    return entry


def encode_models(models: list[ModelInfo]) -> JSON:
    """Google's list shape: {"models": [{name: "models/…", displayName, supportedGenerationMethods}]}."""
    return {"models": [encode_model(model) for model in models]}
