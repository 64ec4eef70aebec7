"""Gemini GenerateContentResponse -> OpenAI chat.completion, plus OpenAI's error and model-list shapes."""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any, NamedTuple

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
    candidates = answer_candidates(response)
    return {
        "id": new_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": decoded.model,
        "choices": [
            _choice(candidate, index, decoded.options.get("image_output") == "part")
            for index, candidate in enumerate(candidates)
        ],
        "usage": usage_from(response.get("usageMetadata")),
    }


def _choice(candidate: JSON, index: int, image_parts: bool = False) -> JSON:
    content = ""
    images: list[JSON] = []
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


def image_part(inline_data: JSON) -> JSON:
    """A generated image as an `image_url` content part with a data URL."""
    mime_type = inline_data.get("mimeType") or "image/png"
    return {
        "type": "image_url",
        "image_url": {"url": f"data:{mime_type};base64,{inline_data.get('data', '')}"},
    }


def url_citations(grounding: object, content: str) -> list[JSON]:
    """Gemini's groundingMetadata as OpenAI `url_citation` annotations on the answer text.

    Each grounding support cites its web sources for its segment of the text; sources no support points at
    are cited for the whole answer, so every source the search used reaches the client.
    """
    if not isinstance(grounding, dict):
        return []
    sources: list[tuple[str, str] | None] = []
    for chunk in grounding.get("groundingChunks") or ():
        web = chunk.get("web") if isinstance(chunk, dict) else None
        uri = web.get("uri") if isinstance(web, dict) else None
        sources.append(
            (uri, str(web.get("title") or uri)) if isinstance(web, dict) and isinstance(uri, str) else None
        )
    annotations: list[JSON] = []
    cited: set[int] = set()
    for support in grounding.get("groundingSupports") or ():
        if not isinstance(support, dict):
            continue
        start, end = _char_span(support.get("segment"), content)
        for source_index in support.get("groundingChunkIndices") or ():
            if isinstance(source_index, int) and 0 <= source_index < len(sources):
                source = sources[source_index]
                if source is not None:
                    cited.add(source_index)
                    annotations.append(_url_citation(source, start, end))
    for source_index, source in enumerate(sources):
        if source is not None and source_index not in cited:
            annotations.append(_url_citation(source, 0, len(content)))
    return annotations


def _url_citation(source: tuple[str, str], start: int, end: int) -> JSON:
    url, title = source
    return {
        "type": "url_citation",
        "url_citation": {"start_index": start, "end_index": end, "url": url, "title": title},
    }


def _char_span(segment: object, content: str) -> tuple[int, int]:
    """Character offsets of a grounding segment (Gemini counts UTF-8 bytes; OpenAI counts characters)."""
    if not isinstance(segment, dict):
        return 0, len(content)
    text = segment.get("text")
    if isinstance(text, str) and text and (found := content.find(text)) >= 0:
        return found, found + len(text)
    encoded = content.encode()
    start, end = int(segment.get("startIndex") or 0), int(segment.get("endIndex") or len(encoded))
    start_chars = len(encoded[:start].decode(errors="ignore"))
    return start_chars, len(encoded[:end].decode(errors="ignore"))


def finish_reason(gemini_reason: str | None, has_tool_calls: bool) -> str:
    if has_tool_calls:
        return "tool_calls"
    return FINISH_REASONS.get(gemini_reason or "", "stop")


class TokenUsage(NamedTuple):
    """Gemini usageMetadata counted OpenAI's way: thinking tokens are output tokens."""

    prompt: int
    cached: int  # of the prompt tokens, those served from the upstream's cache
    reasoning: int
    output: int  # the answer's tokens and the reasoning tokens

    @classmethod
    def summed(cls, usages: list[TokenUsage]) -> TokenUsage:
        """The usage of several answers together (legacy completions with several prompts)."""
        return cls(*(sum(getattr(usage, name) for usage in usages) for name in cls._fields))

    def as_openai(self) -> JSON:
        """OpenAI's `usage` object (Chat Completions and legacy completions)."""
        return {
            "prompt_tokens": self.prompt,
            "completion_tokens": self.output,
            "total_tokens": self.prompt + self.output,
            "prompt_tokens_details": {"cached_tokens": self.cached},
            "completion_tokens_details": {"reasoning_tokens": self.reasoning},
        }


def token_usage(metadata: JSON | None) -> TokenUsage:
    metadata = metadata or {}
    reasoning = int(metadata.get("thoughtsTokenCount") or 0)
    return TokenUsage(
        prompt=int(metadata.get("promptTokenCount") or 0),
        cached=int(metadata.get("cachedContentTokenCount") or 0),
        reasoning=reasoning,
        output=int(metadata.get("candidatesTokenCount") or 0) + reasoning,
    )


def usage_from(metadata: JSON | None) -> JSON:
    """Gemini usageMetadata as OpenAI usage; thinking tokens count as completion tokens, as OpenAI's do."""
    return token_usage(metadata).as_openai()


def answer_candidates(response: JSON, param: str = "messages") -> list[JSON]:
    """The candidates of a whole answer; ApiError when the prompt was blocked (400) or none came (502)."""
    raise_if_blocked(response, param)
    candidates: list[JSON] = response.get("candidates") or []
    if not candidates:
        raise ApiError(502, ApiErrorType.API_ERROR, "The upstream answered with no candidates and no reason.")
    return candidates


def raise_if_blocked(response: JSON, param: str = "messages") -> None:
    """A response with no candidates and a promptFeedback.blockReason is a refusal of the prompt: a 400.

    `param` names the request field that holds the prompt in the client's protocol.
    """
    if response.get("candidates"):
        return
    feedback: Any = response.get("promptFeedback") or {}
    reason = feedback.get("blockReason")
    if not reason:
        return
    explanation = feedback.get("blockReasonMessage")
    detail = f": {explanation}" if isinstance(explanation, str) and explanation else "."
    raise invalid_request(
        f"The upstream blocked the prompt (blockReason {reason}){detail} Rephrase the request.", param
    )


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
