"""Gemini GenerateContentResponse -> OpenAI chat.completion, plus OpenAI's error and model-list shapes."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from core.errors import ApiError, ApiErrorType
from core.ids import random_hex
from core.reply import (
    FILTERED_REASONS,
    MAX_TOKENS,
    Usage,
    answer_candidates,
    citations_of_every_source,
    image_data_url,
    image_markdown,
    parts_of,
    usage_of,
)
from core.types import JSON
from server.openai.decode import ChatOptions
from server.protocol import Decoded

if TYPE_CHECKING:  # only for annotations: the gateway module pulls in the whole upstream stack
    from core.gateway import ModelInfo

# Gemini finishReason -> OpenAI finish_reason; anything else (OTHER, MALFORMED_FUNCTION_CALL, ...) is "stop".
FINISH_REASONS: dict[str, str] = {MAX_TOKENS: "length", **dict.fromkeys(FILTERED_REASONS, "content_filter")}

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

# The request field that holds the prompt, named when the upstream blocks it.
PROMPT_PARAM = "messages"

# /v1/models needs a creation time; accounts do not report one, so a fixed, plausible date keeps the
# list stable between calls (2025-01-01T00:00:00Z).
MODELS_CREATED = 1_735_689_600


def encode(response: JSON, decoded: Decoded[ChatOptions]) -> JSON:
    """A whole Gemini response as a `chat.completion`; raises ApiError when the prompt was blocked."""
    candidates = answer_candidates(response, PROMPT_PARAM)
    return {
        "id": new_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": decoded.model,
        "choices": [
            _choice(candidate, index, decoded.options.image_output == "part")
            for index, candidate in enumerate(candidates)
        ],
        "usage": openai_usage(usage_of(response)),
    }


def _choice(candidate: JSON, index: int, image_parts: bool = False) -> JSON:
    content = ""
    images: list[JSON] = []
    reasoning: list[str] = []
    tool_calls: list[JSON] = []
    for part in parts_of(candidate):
        if "functionCall" in part:
            tool_calls.append(tool_call(part["functionCall"]))
        elif part.get("thought"):
            reasoning.append(part.get("text") or "")
        elif "text" in part:
            content += part["text"]
        elif "inlineData" in part:
            if image_parts:
                images.append(image_part(part["inlineData"]))
            else:
                content += image_markdown(part["inlineData"], content)
    message: JSON = {
        "role": "assistant",
        "content": None if tool_calls and not content else content,
        "refusal": None,
    }
    if images:
        # image_output = "part": the text and each image as content parts, the shape user messages use.
        message["content"] = ([{"type": "text", "text": content}] if content else []) + images
    annotations = url_citations(candidate.get("groundingMetadata"), content)
    if annotations:
        message["annotations"] = annotations
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


# --- pieces shared with the stream encoders (chat and legacy completions) --------------------------------------------------------------


def new_completion_id() -> str:
    return f"chatcmpl-{random_hex()}"


def tool_call(function_call: JSON) -> JSON:
    """A Gemini functionCall as an OpenAI tool call (the gateway gives every call an id)."""
    call_id = function_call.get("id") or f"call_{random_hex(24)}"
    return {
        "id": call_id,
        "type": "function",
        "function": {
            "name": function_call.get("name", ""),
            "arguments": json.dumps(function_call.get("args") or {}, ensure_ascii=False),
        },
    }


def image_part(inline_data: JSON) -> JSON:
    """A generated image as an `image_url` content part with a data URL."""
    return {"type": "image_url", "image_url": {"url": image_data_url(inline_data)}}


def url_citations(grounding: object, content: str) -> list[JSON]:
    """Gemini's groundingMetadata as OpenAI `url_citation` annotations on the answer text."""
    return [
        {
            "type": "url_citation",
            "url_citation": {
                "start_index": citation.start,
                "end_index": citation.end,
                "url": citation.source.url,
                "title": citation.source.title,
            },
        }
        for citation in citations_of_every_source(grounding, content)
    ]


def finish_reason(gemini_reason: str | None, has_tool_calls: bool) -> str:
    if has_tool_calls:
        return "tool_calls"
    return FINISH_REASONS.get(gemini_reason or "", "stop")


def openai_usage(usage: Usage) -> JSON:
    """OpenAI's `usage` object (Chat Completions and legacy completions): thinking tokens are output tokens."""
    return {
        "prompt_tokens": usage.prompt,
        "completion_tokens": usage.output,
        "total_tokens": usage.prompt + usage.output,
        "prompt_tokens_details": {"cached_tokens": usage.cached},
        "completion_tokens_details": {"reasoning_tokens": usage.thoughts},
    }


# --- errors and models ----------------------------------------------------------------------------------


def error_body(error: ApiError) -> JSON:
    """OpenAI's error shape: {"error": {"message", "type", "param", "code"}}."""
    error_type, code = ERROR_TYPES.get(error.type, ("server_error", None))
    if error.type is ApiErrorType.RATE_LIMIT and "quota" in error.message.lower():
        code = "insufficient_quota"  # out of quota until a reset, not just too fast
    return {
        "error": {
            "message": error.message,
            "type": error_type,
            "param": error.param,
            "code": error.code or code,
        }
    }


def encode_models(models: list[ModelInfo]) -> JSON:
    return {"object": "list", "data": [_model_entry(model) for model in models]}


def _model_entry(model: ModelInfo) -> JSON:
    entry: JSON = {
        "id": model.id,
        "object": "model",
        "created": MODELS_CREATED,
        "owned_by": model.owned_by,
        "capabilities": list(model.capabilities),  # not OpenAI's; says chat/embeddings/images/speech
    }
    if model.aliases_for:
        entry["served_by"] = model.aliases_for  # not OpenAI's either: what a family alias resolves to now
    return entry
