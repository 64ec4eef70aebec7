"""Gemini responses translated to Claude: the `message` object, errors, token counts and the model list."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from core.errors import ApiError, ApiErrorType
from core.reply import (
    FILTERED_REASONS,
    Usage,
    answer_candidates,
    citations,
    parts_of,
    search_queries,
    usage_of,
    web_sources,
)
from core.types import JSON
from server.anthropic.decode import MessagesOptions
from server.protocol import Decoded

if TYPE_CHECKING:
    # Only for typing: the adapter stays importable (and testable) without the gateway's machinery.
    from core.gateway import ModelInfo

_ERROR_TYPES: dict[ApiErrorType, str] = {
    ApiErrorType.INVALID_REQUEST: "invalid_request_error",
    ApiErrorType.AUTHENTICATION: "authentication_error",
    ApiErrorType.PERMISSION: "permission_error",
    ApiErrorType.NOT_FOUND: "not_found_error",
    ApiErrorType.TOO_LARGE: "request_too_large",
    ApiErrorType.RATE_LIMIT: "rate_limit_error",
    ApiErrorType.API_ERROR: "api_error",
    ApiErrorType.OVERLOADED: "overloaded_error",
}
# Gemini finish reasons that mean a filter stopped the answer (or an unsupported language): Claude calls
# that a refusal.
_REFUSALS = FILTERED_REASONS | {"LANGUAGE"}
# The request field that holds the prompt, named when the upstream blocks it.
PROMPT_PARAM = "messages"
# Anthropic documents an epoch created_at for models whose release date is unknown, as ours all are.
UNKNOWN_RELEASE_DATE = "1970-01-01T00:00:00Z"


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


def new_tool_use_id() -> str:
    return "toolu_" + secrets.token_hex(12)


def error_body(error: ApiError) -> JSON:
    """Anthropic's error shape for an HTTP error answer (also the data of a stream `error` event)."""
    return {"type": "error", "error": {"type": _ERROR_TYPES[error.type], "message": error.message}}


def encode_count_tokens(total: int) -> JSON:
    return {"input_tokens": total}


def encode_models(models: Sequence[ModelInfo]) -> JSON:
    """Anthropic's `GET /v1/models` page: every model at once, so never more to fetch."""
    data = [_model_entry(model) for model in models]
    return {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def _model_entry(model: ModelInfo) -> JSON:
    entry: JSON = {
        "type": "model",
        "id": model.id,
        "display_name": model.display_name or model.id,
        "created_at": UNKNOWN_RELEASE_DATE,
        "lifecycle": "active",  # newer SDKs expect it; everything an account lists is usable
    }
    if model.aliases_for:
        entry["served_by"] = model.aliases_for  # not Anthropic's: what this family alias resolves to now
    return entry


def message_usage(usage: Usage) -> JSON:
    """Claude's `usage` of a message: cache reads apart from input tokens, thinking tokens as output."""
    return {
        "input_tokens": usage.uncached_prompt,
        "output_tokens": usage.output,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.cached,
    }


def stop_reason(
    finish_reason: str | None, used_tools: bool, last_text: str, stop_sequences: Sequence[str]
) -> tuple[str, str | None]:
    """Claude's (stop_reason, stop_sequence) for how a Gemini answer ended."""
    if finish_reason == "MAX_TOKENS":
        return "max_tokens", None
    if used_tools:
        return "tool_use", None  # Gemini ends tool calls with STOP or OTHER
    if finish_reason in _REFUSALS:
        return "refusal", None
    # Gemini drops the stop sequence it stopped on, so this only catches a model that wrote one out.
    for sequence in stop_sequences:
        if last_text.endswith(sequence):
            return "stop_sequence", sequence
    return "end_turn", None


def content_blocks(parts: Iterable[Any]) -> list[JSON]:
    """Claude content blocks for Gemini parts, split exactly as MessagesStreamEncoder splits them."""
    blocks: list[JSON] = []
    thinking: JSON | None = None  # the thinking block still taking text (it ends at its signature)
    for part in parts:
        if not isinstance(part, dict):
            continue
        if "functionCall" in part:
            thinking = None
            blocks.extend(tool_use_blocks(part))
        elif part.get("thought"):
            if thinking is None:
                thinking = {"type": "thinking", "thinking": "", "signature": ""}
                blocks.append(thinking)
            thinking["thinking"] += part.get("text") or ""
            signature = part.get("thoughtSignature")
            if signature:
                thinking["signature"] = signature
                thinking = None
        elif "text" in part:
            text = part["text"]
            if not text:
                continue  # an empty text part (often only a signature holder) starts nothing
            thinking = None
            if blocks and blocks[-1]["type"] == "text":
                blocks[-1]["text"] += text
            else:
                blocks.append({"type": "text", "text": text})
        elif "inlineData" in part:
            thinking = None
            blocks.append(image_block(part["inlineData"]))
    return blocks


def tool_use_blocks(part: JSON) -> list[JSON]:
    """A functionCall as a tool_use block, preceded by an empty thinking block carrying its signature.

    Claude clients send thinking blocks back unchanged, so that is how the signature comes back; the
    decoder moves it from that empty block onto the functionCall again.
    """
    call = part["functionCall"]
    blocks: list[JSON] = []
    signature = part.get("thoughtSignature")
    if signature:
        blocks.append({"type": "thinking", "thinking": "", "signature": signature})
    blocks.append(
        {
            "type": "tool_use",
            "id": call.get("id") or new_tool_use_id(),
            "name": call.get("name") or "",
            "input": call.get("args") or {},
        }
    )
    return blocks


def image_block(inline_data: JSON) -> JSON:
    media_type = inline_data.get("mimeType") or "image/png"
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": inline_data["data"]},
    }


def search_citations(grounding: object) -> list[JSON]:
    """Gemini groundingSupports as Claude `web_search_result_location` citations (one per cited source)."""
    return [
        {
            "type": "web_search_result_location",
            "url": citation.source.url,
            "title": citation.source.title,
            "cited_text": citation.cited_text,
            "encrypted_index": "",  # Anthropic's opaque index; nothing to put in it here
        }
        for citation in citations(grounding, "")
    ]


def search_blocks(grounding: object) -> list[JSON]:
    """The search Gemini ran, as Claude's `server_tool_use` + `web_search_tool_result` blocks."""
    sources = web_sources(grounding)
    if not sources:
        return []
    queries = search_queries(grounding)
    tool_id = "srvtoolu_" + secrets.token_hex(12)
    results = [
        {
            "type": "web_search_result",
            "url": source.url,
            "title": source.title,
            "encrypted_content": "",
            "page_age": None,
        }
        for source in sources.values()
    ]
    return [
        {
            "type": "server_tool_use",
            "id": tool_id,
            "name": "web_search",
            "input": {"query": queries[0] if queries else ""},
        },
        {"type": "web_search_tool_result", "tool_use_id": tool_id, "content": results},
    ]


def _with_search(blocks: list[JSON], grounding: object) -> list[JSON]:
    """The search blocks first, then the answer with each citation on the text block holding its text."""
    citations = search_citations(grounding)
    texts = [block for block in blocks if block["type"] == "text"]
    for citation in citations:
        holder = next(
            (b for b in texts if citation["cited_text"] and citation["cited_text"] in b["text"]), None
        )
        holder = holder or (texts[-1] if texts else None)
        if holder is not None:
            holder.setdefault("citations", []).append(citation)
    return search_blocks(grounding) + blocks


def encode(response: JSON, decoded: Decoded[MessagesOptions]) -> JSON:
    """A Gemini GenerateContentResponse as a Claude `message`; a blocked prompt raises ApiError 400, an
    answer with no candidates 502."""
    candidate = answer_candidates(response, PROMPT_PARAM)[0]
    blocks = content_blocks(parts_of(candidate))
    if candidate.get("groundingMetadata"):
        blocks = _with_search(blocks, candidate["groundingMetadata"])
    last_text = blocks[-1]["text"] if blocks and blocks[-1]["type"] == "text" else ""
    used_tools = any(block["type"] == "tool_use" for block in blocks)
    reason, sequence = stop_reason(
        candidate.get("finishReason"), used_tools, last_text, decoded.options.stop_sequences
    )
    return {
        "id": new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": decoded.model,
        "content": blocks,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": message_usage(usage_of(response)),
    }
