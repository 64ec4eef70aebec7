"""Gemini GenerateContentResponse -> OpenAI chat.completion, plus OpenAI's error and model-list shapes."""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from core.errors import ApiError, ApiErrorType, invalid_request
from core.types import JSON
from server.protocol import Decoded

if TYPE_CHECKING:  # only for annotations: the gateway module pulls in the whole upstream stack
    from core.gateway import ModelInfo

# Gemini finishReason -> OpenAI finish_reason; anything else (OTHER, MALFORMED_FUNCTION_CALL, ...) is "stop".
FINISH_REASONS: dict[str, str] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
}

# ApiErrorType -> OpenAI (error.type, error.code).
ERROR_TYPES: dict[ApiErrorType, tuple[str, str | None]] = {
    ApiErrorType.INVALID_REQUEST: ("invalid_request_error", None),
    ApiErrorType.AUTHENTICATION: ("authentication_error", "invalid_api_key"),
    ApiErrorType.PERMISSION: ("permission_error", None),
    ApiErrorType.NOT_FOUND: ("not_found_error", None),
    ApiErrorType.TOO_LARGE: ("invalid_request_error", "request_too_large"),
    ApiErrorType.RATE_LIMIT: ("rate_limit_error", "rate_limit_exceeded"),
    ApiErrorType.API_ERROR: ("server_error", None),
    ApiErrorType.OVERLOADED: ("server_error", "service_unavailable"),
}

# /v1/models needs a creation time; accounts do not report one, so a fixed, plausible date keeps the
# list stable between calls (2025-01-01T00:00:00Z).
MODELS_CREATED = 1_735_689_600


def encode(response: JSON, decoded: Decoded) -> JSON:
    """A whole Gemini response as a `chat.completion`; raises ApiError when the prompt was blocked."""
    raise_if_blocked(response)
    candidates = response.get("candidates") or []
    if not candidates:
        raise ApiError(502, ApiErrorType.API_ERROR, "The upstream answered with no candidates and no reason.")
    return {
        "id": new_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": decoded.model,
        "choices": [_choice(candidate, index) for index, candidate in enumerate(candidates)],
        "usage": usage_from(response.get("usageMetadata")),
    }


def _choice(candidate: JSON, index: int) -> JSON:
    content = ""
    reasoning: list[str] = []
    tool_calls: list[JSON] = []
    for part in (candidate.get("content") or {}).get("parts") or ():
        if "functionCall" in part:
            tool_calls.append(tool_call(part["functionCall"]))
        elif part.get("thought"):
            reasoning.append(part.get("text") or "")
        elif "text" in part:
            content += part["text"]
        elif "inlineData" in part:
            content += image_markdown(part["inlineData"], content)
    message: JSON = {
        "role": "assistant",
        "content": None if tool_calls and not content else content,
        "refusal": None,
    }
    if any(reasoning):
        message["reasoning_content"] = "".join(reasoning)
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "index": index,
        "message": message,
        "finish_reason": finish_reason(candidate.get("finishReason"), bool(tool_calls)),
        "logprobs": None,
    }


# --- pieces shared with the stream encoder --------------------------------------------------------------


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def tool_call(function_call: JSON) -> JSON:
    """A Gemini functionCall as an OpenAI tool call (the gateway gives every call an id)."""
    call_id = function_call.get("id") or f"call_{uuid.uuid4().hex[:24]}"
    return {
        "id": call_id,
        "type": "function",
        "function": {
            "name": function_call.get("name", ""),
            "arguments": json.dumps(function_call.get("args") or {}, ensure_ascii=False),
        },
    }


def image_markdown(inline_data: JSON, content_so_far: str) -> str:
    """A generated image as markdown, on its own paragraph after any text (OpenAI chat has no image parts)."""
    separator = "\n\n" if content_so_far and not content_so_far.endswith("\n") else ""
    mime_type = inline_data.get("mimeType") or "image/png"
    return f"{separator}![image](data:{mime_type};base64,{inline_data.get('data', '')})"


def finish_reason(gemini_reason: str | None, has_tool_calls: bool) -> str:
    if has_tool_calls:
        return "tool_calls"
    return FINISH_REASONS.get(gemini_reason or "", "stop")


def usage_from(metadata: JSON | None) -> JSON:
    """Gemini usageMetadata as OpenAI usage; thinking tokens count as completion tokens, as OpenAI's do."""
    metadata = metadata or {}
    prompt = int(metadata.get("promptTokenCount") or 0)
    reasoning = int(metadata.get("thoughtsTokenCount") or 0)
    completion = int(metadata.get("candidatesTokenCount") or 0) + reasoning
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": int(metadata.get("cachedContentTokenCount") or 0)},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def raise_if_blocked(response: JSON) -> None:
    """A response with no candidates and a promptFeedback.blockReason is a refusal of the prompt: a 400."""
    if response.get("candidates"):
        return
    feedback: Any = response.get("promptFeedback") or {}
    reason = feedback.get("blockReason")
    if not reason:
        return
    explanation = feedback.get("blockReasonMessage")
    detail = f": {explanation}" if isinstance(explanation, str) and explanation else "."
    raise invalid_request(
        f"The upstream blocked the prompt (blockReason {reason}){detail} Rephrase the request.", "messages"
    )


# --- errors and models ----------------------------------------------------------------------------------


def error_body(error: ApiError) -> JSON:
    """OpenAI's error shape: {"error": {"message", "type", "param", "code"}}."""
    error_type, code = ERROR_TYPES.get(error.type, ("server_error", None))
    if error.type is ApiErrorType.RATE_LIMIT and "quota" in error.message.lower():
        code = "insufficient_quota"  # out of quota until a reset, not just too fast
    return {"error": {"message": error.message, "type": error_type, "param": error.param, "code": code}}


def encode_models(models: list[ModelInfo]) -> JSON:
    return {
        "object": "list",
        "data": [
            {"id": model.id, "object": "model", "created": MODELS_CREATED, "owned_by": model.owned_by}
            for model in models
        ],
    }
