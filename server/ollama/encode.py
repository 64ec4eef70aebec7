"""Gemini answers -> Ollama `/api/chat` and `/api/generate` replies, plus Ollama's error and model shapes."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from core.errors import ApiError, ApiErrorType
from core.reply import Usage, answer_candidates, image_markdown, parts_of, usage_of
from core.types import JSON
from server.ollama.decode import OllamaOptions
from server.protocol import Decoded

if TYPE_CHECKING:  # only for annotations: the gateway module pulls in the whole upstream stack
    from core.gateway import ModelInfo

# The Ollama version reported by /api/version: recent enough that clients enable tools, images, `think`
# and structured outputs (they gate features on it).
OLLAMA_VERSION = "0.12.6"

# Gemini finishReason -> Ollama done_reason; Ollama only knows "stop" and "length" for a generation.
DONE_REASONS: dict[str, str] = {"MAX_TOKENS": "length"}

# The request field that holds the prompt, named when the upstream blocks it.
PROMPT_PARAM = "messages"

# /api/tags needs a modification time; accounts do not report one, so a fixed date keeps the list stable.
MODELS_MODIFIED_AT = "2025-01-01T00:00:00Z"

# Gateway capabilities -> Ollama's /api/show capabilities.
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "chat": ("completion", "tools"),
    "thinking": ("thinking",),
    "vision": ("vision",),
    "embeddings": ("embedding",),
    "images": ("completion",),
    "speech": ("completion",),
    "tts": ("completion",),
}

AUTH_HINT = (
    " Ollama clients: set OLLAMA_API_KEY to that key (the ollama library sends it as a Bearer token), "
    "or send an Authorization: Bearer header."
)


_second_cache: tuple[int, str] = (0, "")


def now_rfc3339() -> str:
    """The current time the way Ollama writes `created_at` (UTC, microseconds, Z).

    Every streamed line carries one, so the date part is formatted once per second, not once per line.
    """
    global _second_cache
    now = time.time()
    second = int(now)
    if _second_cache[0] != second:
        _second_cache = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second_cache[1]}.{int((now - second) * 1e6):06d}Z"


# --- replies --------------------------------------------------------------------------------------------


def encode(response: JSON, decoded: Decoded[OllamaOptions]) -> JSON:
    """A whole Gemini response as one `/api/chat` or `/api/generate` reply (by decoded.options.kind)."""
    candidate = answer_candidates(response, PROMPT_PARAM)[0]
    content = Content()
    for part in parts_of(candidate):
        content.add(part)
    reply: JSON = {"model": decoded.options.client_model, "created_at": now_rfc3339()}
    if decoded.options.kind == "generate":
        reply.update(content.generate_fields())
    else:
        reply["message"] = content.message()
    reply.update(
        final_fields(
            done_reason(candidate.get("finishReason")),
            usage_of(response),
            total_s=time.perf_counter() - decoded.options.started,
            first_s=None,
        )
    )
    return reply


class Content:
    """Text, thinking, tool calls and images of one answer (or one stream chunk), in Ollama's fields."""

    __slots__ = ("call_offset", "images", "text", "thinking", "tool_calls")

    def __init__(self, call_offset: int = 0) -> None:
        self.call_offset = call_offset  # tool calls already sent earlier in the stream, for their index
        self.text = ""
        self.thinking = ""
        self.tool_calls: list[JSON] = []
        self.images: list[JSON] = []  # inlineData of generated pictures

    def add(self, part: JSON) -> None:
        if "functionCall" in part:
            self.tool_calls.append(tool_call(part["functionCall"], self.call_offset + len(self.tool_calls)))
        elif part.get("thought"):
            self.thinking += part.get("text") or ""
        elif "text" in part:
            self.text += part["text"]
        elif "inlineData" in part:
            self.images.append(part["inlineData"] or {})

    def __bool__(self) -> bool:
        return bool(self.text or self.thinking or self.tool_calls or self.images)

    def message(self, text_so_far: str = "") -> JSON:
        """The chat message; pictures become markdown images with data URLs in the content, which chat UIs
        (Open WebUI) show, since Ollama's reply `images` cannot be read by its own clients."""
        content = self.text
        for inline_data in self.images:
            content += image_markdown(inline_data, text_so_far + content)
        message: JSON = {"role": "assistant", "content": content}
        if self.thinking:
            message["thinking"] = self.thinking
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        return message

    def generate_fields(self) -> JSON:
        fields: JSON = {"response": self.text}
        if self.thinking:
            fields["thinking"] = self.thinking
        if self.images:
            fields["image"] = self.images[0].get("data") or ""  # newer Ollama's field for a generated picture
        return fields


def tool_call(function_call: JSON, index: int) -> JSON:
    """A Gemini functionCall as an Ollama tool call: arguments stay an object; the id (which the gateway
    gives every call) lets newer clients answer with tool_call_id."""
    call: JSON = {
        "function": {
            "index": index,
            "name": function_call.get("name", ""),
            "arguments": function_call.get("args") or {},
        }
    }
    if function_call.get("id"):
        call["id"] = function_call["id"]
    return call


def done_reason(gemini_reason: str | None) -> str:
    return DONE_REASONS.get(gemini_reason or "", "stop")


def final_fields(reason: str, usage: Usage, *, total_s: float, first_s: float | None) -> JSON:
    """What closes every Ollama reply: done, done_reason, token counts and durations in nanoseconds.

    Nothing is loaded, so load_duration is 0. Prompt evaluation is the wait for the first streamed chunk;
    without a stream that moment is unknown and the whole time counts as generation. Durations are at
    least 1 ns, since clients divide counts by them for tokens per second.
    """
    total_ns = max(1, int(total_s * 1e9))
    prompt_ns = max(1, int(first_s * 1e9)) if first_s is not None else 0
    return {
        "done": True,
        "done_reason": reason,
        "total_duration": total_ns,
        "load_duration": 0,
        "prompt_eval_count": usage.prompt,
        "prompt_eval_duration": prompt_ns,
        "eval_count": usage.output,  # thinking tokens are output, as Ollama counts them
        "eval_duration": max(1, total_ns - prompt_ns),
    }


def load_reply(decoded: Decoded[OllamaOptions]) -> JSON:
    """The answer to a request with nothing to generate: Ollama's "model loaded" (or unloaded) reply."""
    reply: JSON = {"model": decoded.options.client_model, "created_at": now_rfc3339()}
    if decoded.options.kind == "generate":
        reply["response"] = ""
    else:
        reply["message"] = {"role": "assistant", "content": ""}
    reply["done"] = True
    reply["done_reason"] = "unload" if decoded.options.unload else "load"
    return reply


# --- errors and models ----------------------------------------------------------------------------------


def error_body(error: ApiError) -> JSON:
    """Ollama's error shape: {"error": "message"} (the HTTP status says the rest)."""
    message = error.message
    if error.type is ApiErrorType.AUTHENTICATION:
        message += AUTH_HINT
    return {"error": message}


def error_line(error: ApiError) -> bytes:
    """An error after a stream started: one more NDJSON line, which Ollama clients raise."""
    return json.dumps(error_body(error), ensure_ascii=False).encode() + b"\n"


def _family(model: ModelInfo) -> str:
    target = model.aliases_for or model.id
    for family in ("gemini", "claude", "gpt-oss", "imagen", "gemma"):
        if target.startswith(family):
            return family
    return target.split("-", 1)[0]


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _details(model: ModelInfo) -> JSON:
    family = _family(model)
    # Nothing is stored locally: no file format, size or quantization to report.
    return {
        "parent_model": model.aliases_for or "",
        "format": "remote",
        "family": family,
        "families": [family],
        "parameter_size": "",
        "quantization_level": "",
    }


def capabilities(model: ModelInfo) -> list[str]:
    found: list[str] = []
    for capability in model.capabilities:
        for name in CAPABILITIES.get(capability, ()):
            if name not in found:
                found.append(name)
    return found


def encode_tags(models: list[ModelInfo]) -> JSON:
    """GET /api/tags: every model the accounts offer, with the fields Ollama clients and Open WebUI read."""
    return {
        "models": [
            {
                "name": model.id,
                "model": model.id,
                "modified_at": MODELS_MODIFIED_AT,
                "size": 0,
                "digest": _digest(model.id),
                "details": _details(model),
                "capabilities": capabilities(model),  # not in Ollama's list; says what each model can do
            }
            for model in models
            if model.aliases_for is None  # aliases (gpt-4, ...) would only clutter an Ollama model picker
        ]
    }


def encode_show(model: ModelInfo) -> JSON:
    """POST /api/show for one model."""
    family = _family(model)
    return {
        "modelfile": f"# Served by Gravity Desk from your Google accounts\nFROM {model.aliases_for or model.id}\n",
        "parameters": "",
        "template": "{{ .Prompt }}",
        "details": _details(model),
        "model_info": {
            "general.architecture": family,
            "general.basename": model.id,
            "general.name": model.display_name or model.id,
        },
        "capabilities": capabilities(model),
        "modified_at": MODELS_MODIFIED_AT,
    }
