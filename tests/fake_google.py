"""A fake Google upstream (OAuth, Cloud Code v1internal, Gemini API) on 127.0.0.1 that enforces the real rules."""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import functools
import hashlib
import itertools
import json
import re
import secrets
import struct
import time
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from yarl import URL

from core.config import Settings

JSON = dict[str, Any]

CLIENT_ID = "fake-client-1234.apps.googleusercontent.com"
CLIENT_SECRET = "fake-client-secret"  # not a real secret: the fake's own installed-app client
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
ENDPOINT_NAMES = ("sandbox", "daily", "prod")
DEFAULT_RESET_S = 5 * 3600.0
WINDOW_RESET_S = {"5h": 5 * 3600.0, "weekly": 7 * 24 * 3600.0}
# retrieveUserQuotaSummary's groups, and which models each holds (by family) unless an account says otherwise.
QUOTA_GROUPS = {"Gemini Models": ("gemini",), "Claude and GPT models": ("claude", "gpt")}
QUOTA_FAULT_RESET_S = 3 * 3600.0

# Late 2026: the Antigravity (Cloud Code) channel serves no 2.5 model any more; the Gemini API still does.
DEFAULT_GOOGLE_MODELS = (
    "gemini-3.1-pro-high",
    "gemini-3-flash",
    "gemini-3-pro-preview",
    "claude-sonnet-4-5",
    "claude-sonnet-4-5-thinking",
)
DEFAULT_API_KEY_MODELS = ("gemini-2.5-pro", "gemini-2.5-flash")
RETIRED_ON_CLOUD_CODE = ("gemini-2.5-",)
EMPTY_NON_STREAM_MODELS = (
    "claude-*",
    "gemini-3*",
    "*image*",
)  # generateContent answers them empty  # model id prefixes the channel no longer lists or serves

# model id -> (display name, input token limit, output token limit, thinking, images)
_MODEL_INFO: dict[str, tuple[str, int, int, bool, bool]] = {
    "gemini-2.5-pro": ("Gemini 2.5 Pro", 1_048_576, 65_536, True, True),
    "gemini-2.5-flash": ("Gemini 2.5 Flash", 1_048_576, 65_536, True, True),
    "gemini-3.1-pro-high": ("Gemini 3.1 Pro (High)", 1_048_576, 65_536, True, True),
    "gemini-3-flash": ("Gemini 3 Flash", 1_048_576, 65_536, True, True),
    "gemini-3-pro-preview": ("Gemini 3 Pro (Preview)", 1_048_576, 65_536, True, True),
    "claude-sonnet-4-5": ("Claude Sonnet 4.5", 200_000, 64_000, False, True),
    "claude-sonnet-4-5-thinking": ("Claude Sonnet 4.5 (Thinking)", 200_000, 64_000, True, True),
}
# What the fake reports as retired (deprecatedModelIds), when the new model is one the account has.
_DEPRECATED = {
    "gemini-2.5-pro": "gemini-3.1-pro-high",
    "gemini-2.5-flash": "gemini-3-flash",
    "claude-sonnet-4": "claude-sonnet-4-5",
}


def retired_on_cloud_code(model: str) -> bool:
    """Whether the Antigravity channel has retired the model (it answers 404 like for any unknown model)."""
    return model.startswith(RETIRED_ON_CLOUD_CODE)


_TIER_NAMES = {
    "free-tier": "Gemini Code Assist for individuals",
    "standard-tier": "Gemini Code Assist Standard",
}
_ALLOWED_TIERS = [
    {"id": "free-tier", "name": _TIER_NAMES["free-tier"], "isDefault": True},
    {"id": "standard-tier", "name": _TIER_NAMES["standard-tier"], "isDefault": False},
]

_GRPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"

CLOUD_CODE_METHODS = frozenset(
    {
        "loadCodeAssist",
        "onboardUser",
        "fetchAvailableModels",
        "retrieveUserQuotaSummary",
        "generateContent",
        "streamGenerateContent",
        "countTokens",
    }
)
GEMINI_API_METHODS = frozenset(
    {
        "generateContent",
        "streamGenerateContent",
        "countTokens",
        "embedContent",
        "batchEmbedContents",
        "predict",
    }
)
GENERATE_METHODS = frozenset({"generateContent", "streamGenerateContent"})
ANY_GENERATE = "generate"  # a Fault method filter matching either generate method

FAULT_KINDS = frozenset(
    {
        "rate_limit",
        "quota",
        "capacity",
        "unauthenticated",
        "forbidden",
        "server",
        "unavailable",
        "not_found",
        "bad_request",
        "stream_cut",
        "stream_error",
        "slow",
    }
)
STREAM_FAULT_KINDS = frozenset({"stream_cut", "stream_error", "slow"})

# Top-level GenerateContentRequest fields (camelCase only: the gateway always sends camelCase).
_REQUEST_FIELDS = frozenset(
    {
        "contents",
        "systemInstruction",
        "tools",
        "toolConfig",
        "generationConfig",
        "safetySettings",
        "cachedContent",
    }
)
_CLOUD_CODE_REQUEST_FIELDS = _REQUEST_FIELDS | {"sessionId", "labels"}
_GEMINI_API_REQUEST_FIELDS = _REQUEST_FIELDS | {"model", "labels"}
_PART_DATA_FIELDS = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
)
_FORBIDDEN_SCHEMA_KEYS = frozenset(
    {"const", "$ref", "$defs", "definitions", "$schema", "$id", "default", "examples"}
)
_SCHEMA_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})
_SEARCH_TOOLS = ("googleSearch", "googleSearchRetrieval", "urlContext")
FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
_CALL_MARK = re.compile(r"CALL:([A-Za-z_][A-Za-z0-9_.:-]*)")
# Late 2026: `antigravity/hub/<version> <os>/<arch>`; the older `antigravity/<version> …` form is refused.
_USER_AGENT = re.compile(r"^antigravity/hub/(\d+(?:\.\d+)*) [a-z0-9]+/[a-z0-9_]+$")
STALE_CLIENT_REPLY = (
    "This version of Antigravity is no longer supported. Please update to receive the latest features!"
)
_THOUGHT_TEXT = "Thinking about it."
# Gemini's prebuilt TTS voices; speechConfig must name one of them.
TTS_VOICES = frozenset(
    [
        "Zephyr",
        "Puck",
        "Charon",
        "Kore",
        "Fenrir",
        "Leda",
        "Orus",
        "Aoede",
        "Callirrhoe",
        "Autonoe",
        "Enceladus",
        "Iapetus",
        "Umbriel",
        "Algieba",
        "Despina",
        "Erinome",
        "Algenib",
        "Rasalgethi",
        "Laomedeia",
        "Achernar",
        "Alnilam",
        "Schedar",
        "Gacrux",
        "Pulcherrima",
        "Achird",
        "Zubenelgenubi",
        "Vindemiatrix",
        "Sadachbia",
        "Sadaltager",
        "Sulafat",
    ]
)
_MODALITIES = frozenset({"TEXT", "IMAGE", "AUDIO"})
_ASPECT_RATIOS = frozenset({"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"})
_IMAGE_SIZES = frozenset({"1K", "2K", "4K"})


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# The smallest valid PNG (1x1, one transparent RGBA pixel), for image answers.
TINY_PNG = base64.b64encode(
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
    + _png_chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00\x00"))
    + _png_chunk(b"IEND", b"")
).decode()


# ---------------------------------------------------------------------------------------- public types


class Fault:
    """One injected failure; matches a request when every given filter matches, fires `times` times
    (None: until cleared). Extra keyword params tune the kind (delay, after, status, message)."""

    def __init__(
        self,
        kind: str,
        method: str | None = None,
        model: str | None = None,
        who: str | None = None,
        endpoint: str | None = None,
        times: int | None = 1,
        **params: Any,
    ) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(FAULT_KINDS)}")
        self.kind = kind
        self.method = method
        self.model = model
        self.who = who
        self.endpoint = endpoint
        self.times = times
        self.params = params
        self.fired = 0  # how many requests it has answered so far

    def __repr__(self) -> str:
        filters = {"method": self.method, "model": self.model, "endpoint": self.endpoint, "times": self.times}
        shown = ", ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None)
        return f"Fault({self.kind!r}, {shown}, fired={self.fired})"

    def matches(self, method: str, model: str | None, who: str | None, endpoint: str | None) -> bool:
        if self.method is None:
            # Unfiltered faults never hit the OAuth endpoints: a quota refresh must not eat a chat fault's slot.
            if method in _OAUTH_METHODS:
                return False
        elif self.method != method and not (self.method == ANY_GENERATE and method in GENERATE_METHODS):
            return False
        if self.kind in STREAM_FAULT_KINDS and method != "streamGenerateContent":
            return False
        return (
            (self.model is None or self.model == model)
            and (self.who is None or self.who == who)
            and (self.endpoint is None or self.endpoint == endpoint)
        )


_OAUTH_METHODS = frozenset({"token", "auth", "userinfo"})


@dataclass
class Reply:
    """A scripted answer for the next generate call: parts as given (functionCall parts get a fresh
    thoughtSignature when they have none, and an id on claude-* models); streamed one part per chunk."""

    parts: list[JSON]
    finish_reason: str | None = "STOP"
    usage: JSON | None = None  # usageMetadata; computed like the echo's when None
    prompt_feedback: JSON | None = (
        None  # e.g. {"blockReason": "SAFETY"}; with no parts, no candidates are sent
    )


@dataclass
class Recorded:
    """One call the fake received (before any rule was checked)."""

    service: str  # "oauth", "cloudcode" or "gemini_api"
    method: str  # "token", "auth", "userinfo", "generateContent", "listModels", ...
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, the form for /token, None for GET, or raw text when not valid JSON
    who: str | None  # e-mail of the access token's account, or the API key
    endpoint: str | None = None  # "sandbox", "daily", "prod" for Cloud Code
    model: str | None = None
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class ModelState:
    remaining: float = 1.0
    reset_at: float = 0.0  # time.time() when the quota frees up
    hidden: bool = False  # reported with a resetTime but no remainingFraction (free tiers), though usable
    refill_s: float = DEFAULT_RESET_S  # the next period once the reset passed

    def current(self) -> float:
        """Remaining fraction, refilled once the reset time has passed (as the real quota does)."""
        if self.remaining <= 0.0 and time.time() >= self.reset_at:
            self.remaining = 1.0
            self.reset_at = time.time() + self.refill_s
        return self.remaining


@dataclass
class FakeAccount:
    email: str
    refresh_token: str
    project_id: str | None
    tier: str
    models: dict[str, ModelState]
    name: str
    id: str
    paid_tier: str | None = None
    onboard_calls: int = 0
    # (group, window) -> bucket of retrieveUserQuotaSummary; {} when the account has no summary (404).
    windows: dict[tuple[str, str], ModelState] = field(default_factory=dict)
    # group -> models, listed in the summary; None: groups hold models by family and the summary lists none.
    group_models: dict[str, list[str]] | None = None

    def groups_of(self, model: str) -> list[str]:
        if self.group_models is not None:
            return [group for group, models in self.group_models.items() if model in models]
        return [group for group, words in QUOTA_GROUPS.items() if any(word in model for word in words)]


@dataclass
class FakeApiKey:
    key: str
    models: dict[str, ModelState]


@dataclass
class _IssuedCode:
    email: str
    redirect_uri: str
    challenge: str | None
    offline: bool
    scope: str


@dataclass
class _SignatureBook:
    """thoughtSignatures the fake issued to one account, to check they come back unchanged."""

    by_id: dict[str, str] = field(default_factory=dict)
    by_call: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    family_of: dict[str, str] = field(default_factory=dict)  # signature -> the model family it was issued for

    def remember(self, name: str, args: Any, call_id: str | None, signature: str, family: str) -> None:
        self.by_call.setdefault((name, canonical_args(args)), set()).add(signature)
        self.family_of[signature] = family
        if call_id:
            self.by_id[call_id] = signature

    def expected(self, name: str, args: Any, call_id: str | None) -> set[str] | None:
        """The signatures acceptable for this call, or None when the fake did not issue it."""
        if call_id and call_id in self.by_id:
            return {self.by_id[call_id]}
        return self.by_call.get((name, canonical_args(args)))


@dataclass
class _Answer:
    chunks: list[list[JSON]]  # parts per stream chunk; a non-streaming answer joins them
    finish_reason: str | None
    usage: JSON
    prompt_feedback: JSON | None = None
    grounding: JSON | None = None  # groundingMetadata of the last chunk (googleSearch answers)


class Rejected(Exception):
    """Raised inside a handler to answer Google's error shape."""

    def __init__(self, status: int, message: str, details: list[JSON] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []


# --------------------------------------------------------------------------------------------- helpers


def canonical_args(args: Any) -> str:
    return json.dumps(args if args is not None else {}, sort_keys=True, separators=(",", ":"))


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_duration(seconds: float) -> str:
    """Google's duration text, e.g. 10800 -> "3h0m0s", 42 -> "42s"."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def error_body(status: int, message: str, details: list[JSON] | None = None) -> JSON:
    grpc = _GRPC_STATUS.get(status, "UNKNOWN")
    return {"error": {"code": status, "message": message, "status": grpc, "details": details or []}}


def error_info(reason: str, domain: str = "cloudcode-pa.googleapis.com", **metadata: str) -> JSON:
    return {"@type": ERROR_INFO, "reason": reason, "domain": domain, "metadata": metadata}


def retry_info(delay: str) -> JSON:
    return {"@type": RETRY_INFO, "retryDelay": delay}


def _json_response(body: JSON, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), status=status, content_type="application/json")


def _rejected_response(error: Rejected) -> web.Response:
    return _json_response(error_body(error.status, error.message, error.details), error.status)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(piece) for piece in text.split("."))


def _version_at_least(version: str, minimum: str) -> bool:
    have, need = _version_tuple(version), _version_tuple(minimum)
    width = max(len(have), len(need))
    return have + (0,) * (width - len(have)) >= need + (0,) * (width - len(need))


@functools.lru_cache(maxsize=64)
def _client_supported(user_agent: str, minimum: str) -> bool:
    """Whether a User-Agent names an Antigravity version the fake still serves (cached: clients repeat it)."""
    match = _USER_AGENT.match(user_agent)
    return match is not None and _version_at_least(match.group(1), minimum)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else None


def _bad(message: str) -> Rejected:
    return Rejected(400, message)


def _model_info(model: str) -> tuple[str, int, int, bool, bool]:
    if model in _MODEL_INFO:
        return _MODEL_INFO[model]
    thinking = "thinking" in model or model.startswith(("gemini-2.5", "gemini-3"))
    return (model, 128_000, 8_192, thinking, "image" in model or model.startswith("gemini"))


def _is_claude(model: str) -> bool:
    return model.startswith("claude-")


# --------------------------------------------------------------------------------------- request rules


def _check_schema(schema: Any, where: str) -> None:
    if not isinstance(schema, dict):
        raise _bad(f"Invalid value at '{where}': a schema must be an object")
    for key in schema:
        if key in _FORBIDDEN_SCHEMA_KEYS:
            raise _bad(
                f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field."
            )
    kind = schema.get("type")
    if kind is not None and (not isinstance(kind, str) or kind.lower() not in _SCHEMA_TYPES):
        raise _bad(f"Invalid value at '{where}.type': {json.dumps(kind)} is not a schema type")
    _check_nested_schemas(schema, where)


def _check_nested_schemas(schema: JSON, where: str) -> None:
    """The schemas inside a schema: properties, items, combiners, additionalProperties."""
    properties = schema.get("properties")
    if properties is not None:
        if not isinstance(properties, dict):
            raise _bad(f"Invalid value at '{where}.properties': must be an object")
        for name, sub in properties.items():
            _check_schema(sub, f"{where}.properties[{name}]")
    items = schema.get("items")
    if items is not None:
        _check_schema(items, f"{where}.items")
    for combiner in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combiner)
        if options is not None:
            if not isinstance(options, list):
                raise _bad(f"Invalid value at '{where}.{combiner}': must be a list")
            for index, sub in enumerate(options):
                _check_schema(sub, f"{where}.{combiner}[{index}]")
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        _check_schema(extra, f"{where}.additionalProperties")


# Late 2026, Cloud Code only: tool schemas with length/pattern/format/range constraints are refused (peers fold
# them into the description), and Claude models under VALIDATED refuse an object schema without properties.
CLOUD_CODE_REFUSED_SCHEMA_KEYS = frozenset(
    {
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)


def _subschemas(schema: JSON, where: str) -> Iterable[tuple[JSON, str]]:
    """Every schema inside one (checked to be well formed already), with where it sits."""
    for name, sub in (schema.get("properties") or {}).items():
        yield sub, f"{where}.properties[{name}]"
    if isinstance(schema.get("items"), dict):
        yield schema["items"], f"{where}.items"
    for combiner in ("anyOf", "oneOf", "allOf"):
        for index, sub in enumerate(schema.get(combiner) or ()):
            yield sub, f"{where}.{combiner}[{index}]"
    if isinstance(schema.get("additionalProperties"), dict):
        yield schema["additionalProperties"], f"{where}.additionalProperties"


def _check_cloud_code_schema(schema: JSON, where: str, claude: bool) -> None:
    for key in schema:
        if key in CLOUD_CODE_REFUSED_SCHEMA_KEYS:
            raise _bad(
                f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field."
            )
    if claude and str(schema.get("type", "")).lower() == "object" and not schema.get("properties"):
        raise _bad(
            f"{where}: JSON schema is invalid: an object schema needs at least one property under VALIDATED "
            "function calling"
        )
    for sub, at in _subschemas(schema, where):
        _check_cloud_code_schema(sub, at, claude)


def check_cloud_code_tools(request: JSON, model: str) -> None:
    """The tool-schema rules Cloud Code adds to the Gemini format's (run after validate_request)."""
    for index, tool in enumerate(request.get("tools") or ()):
        for number, declaration in enumerate(tool.get("functionDeclarations") or ()):
            if isinstance(declaration.get("parameters"), dict):
                where = f"request.tools[{index}].function_declarations[{number}].parameters"
                _check_cloud_code_schema(declaration["parameters"], where, _is_claude(model))


def declared_functions(request: JSON) -> set[str]:
    """Names of the functions a (valid) request declares."""
    names: set[str] = set()
    for tool in request.get("tools") or []:
        for declaration in tool.get("functionDeclarations") or []:
            names.add(declaration["name"])
    return names


def _check_tools(tools: Any) -> None:
    if not isinstance(tools, list):
        raise _bad("Invalid value at 'tools': must be a list")
    seen: set[str] = set()
    has_search = False
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise _bad(f"Invalid value at 'tools[{index}]': must be an object")
        has_search = has_search or any(name in tool for name in _SEARCH_TOOLS)
        declarations = tool.get("functionDeclarations")
        if declarations is None:
            continue
        if not isinstance(declarations, list):
            raise _bad(f"Invalid value at 'tools[{index}].functionDeclarations': must be a list")
        for number, declaration in enumerate(declarations):
            where = f"tools[{index}].function_declarations[{number}]"
            name = declaration.get("name") if isinstance(declaration, dict) else None
            if not isinstance(name, str) or not FUNCTION_NAME.match(name):
                raise _bad(
                    f"* GenerateContentRequest.{where}.name: Invalid function name. Must start with a letter "
                    "or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), "
                    "colons (:), or dashes (-), with a maximum length of 64."
                )
            if name in seen:
                raise _bad(f"Duplicate function declaration found: {name}")
            seen.add(name)
            for schema_field in ("parameters", "response"):
                if schema_field in declaration:
                    _check_schema(declaration[schema_field], f"{where}.{schema_field}")
    if has_search and seen:
        raise _bad("Multiple tools are supported only when they are all search tools.")


def _voice_name(voice_config: Any, where: str) -> None:
    prebuilt = voice_config.get("prebuiltVoiceConfig") if isinstance(voice_config, dict) else None
    name = prebuilt.get("voiceName") if isinstance(prebuilt, dict) else None
    if name not in TTS_VOICES:
        raise _bad(f"Invalid value at '{where}.prebuilt_voice_config.voice_name': unknown voice {name!r}")


def _check_speech_config(speech: Any) -> None:
    where = "generation_config.speech_config"
    if not isinstance(speech, dict):
        raise _bad(f"Invalid value at '{where}': must be an object")
    single, multi = speech.get("voiceConfig"), speech.get("multiSpeakerVoiceConfig")
    if (single is None) == (multi is None):
        raise _bad(f"{where}: give exactly one of voice_config and multi_speaker_voice_config")
    if single is not None:
        _voice_name(single, f"{where}.voice_config")
        return
    speakers = multi.get("speakerVoiceConfigs") if isinstance(multi, dict) else None
    if not isinstance(speakers, list) or len(speakers) != 2:
        raise _bad(f"{where}.multi_speaker_voice_config: exactly 2 speaker_voice_configs are supported")
    for index, speaker in enumerate(speakers):
        at = f"{where}.multi_speaker_voice_config.speaker_voice_configs[{index}]"
        if not isinstance(speaker, dict) or not speaker.get("speaker"):
            raise _bad(f"{at}.speaker: a speaker name is required")
        _voice_name(speaker.get("voiceConfig"), f"{at}.voice_config")


def _check_image_config(image: Any) -> None:
    if not isinstance(image, dict):
        raise _bad("Invalid value at 'generation_config.image_config': must be an object")
    if "aspectRatio" in image and image["aspectRatio"] not in _ASPECT_RATIOS:
        raise _bad(f"generation_config.image_config.aspect_ratio {image['aspectRatio']!r} is not supported")
    if "imageSize" in image and image["imageSize"] not in _IMAGE_SIZES:
        raise _bad(f"generation_config.image_config.image_size {image['imageSize']!r} is not supported")


def _check_generation_config(config: Any) -> None:
    if not isinstance(config, dict):
        raise _bad("Invalid value at 'generation_config': must be an object")
    modalities = config.get("responseModalities")
    if modalities is not None and (
        not isinstance(modalities, list) or not set(map(str, modalities)) <= _MODALITIES
    ):
        raise _bad("Invalid value at 'generation_config.response_modalities': use TEXT, IMAGE or AUDIO")
    if "speechConfig" in config:
        _check_speech_config(config["speechConfig"])
    if "imageConfig" in config:
        _check_image_config(config["imageConfig"])
    thinking = config.get("thinkingConfig")
    if thinking is None:
        return
    if not isinstance(thinking, dict):
        raise _bad("Invalid value at 'generation_config.thinking_config': must be an object")
    budget, limit = thinking.get("thinkingBudget"), config.get("maxOutputTokens")
    if isinstance(budget, int) and isinstance(limit, int) and budget >= limit:
        raise _bad(
            f"generation_config.max_output_tokens ({limit}) must be greater than "
            f"thinking_config.thinking_budget ({budget})"
        )


def _check_part(part: Any, role: str | None, where: str) -> None:
    if not isinstance(part, dict) or not any(key in part for key in _PART_DATA_FIELDS):
        raise _bad(
            f"* GenerateContentRequest.{where}.data: required oneof field 'data' must have one initialized field"
        )
    if "text" in part and not isinstance(part["text"], str):
        raise _bad(f"Invalid value at '{where}.text': must be a string")
    call = part.get("functionCall")
    if call is not None:
        if role != "model":
            raise _bad(f"{where}: a functionCall part belongs in a 'model' turn")
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise _bad(f"* GenerateContentRequest.{where}.function_call.name: Name is required.")
        if "args" in call and not isinstance(call["args"], dict):
            raise _bad(f"Invalid value at '{where}.function_call.args': must be an object")
    answer = part.get("functionResponse")
    if answer is not None:
        if role == "model":
            raise _bad(f"{where}: a functionResponse part belongs in a 'user' turn")
        if not isinstance(answer, dict) or not answer.get("name"):
            raise _bad(f"* GenerateContentRequest.{where}.function_response.name: Name is required.")
        if "response" in answer and not isinstance(answer["response"], dict):
            raise _bad(
                f"Invalid value at '{where}.function_response.response' (type.googleapis.com/google.protobuf.Struct)"
            )


SKIP_SIGNATURE = "skip_thought_signature_validator"  # Google's documented placeholder


def model_family(model: str) -> str:
    """Whose thought signatures a model reads: Claude's own, or Gemini's."""
    return "claude" if _is_claude(model) else "gemini"


def _check_foreign_thoughts(part: JSON, book: _SignatureBook, model: str, where: str) -> None:
    """Claude and Gemini 3 refuse a signature issued for the other family; Claude a thought without one."""
    signature = part.get("thoughtSignature")
    issued = book.family_of.get(signature) if isinstance(signature, str) else None
    strict = _is_claude(model) or model.startswith("gemini-3")
    if strict and issued is not None and issued != model_family(model):
        raise _bad(f"{where}: Invalid `signature` in `thinking` block: it was not issued for {model}")
    if _is_claude(model) and part.get("thought") and not signature:
        raise _bad(f"{where}.thinking.signature: Field required")


def _check_signatures(contents: list[JSON], book: _SignatureBook, model: str) -> None:
    """Calls the fake issued carry its signature (when going back to the family it was issued for); on
    Gemini 3 every call carries one (or the placeholder); no signature of the other family anywhere."""
    gemini_3 = model.startswith("gemini-3")
    for index, content in enumerate(contents):
        if content.get("role") != "model":
            continue
        for number, part in enumerate(content["parts"]):
            _check_foreign_thoughts(part, book, model, f"messages.{index}.content.{number}")
            call = part.get("functionCall")
            if call is None:
                continue
            signature = part.get("thoughtSignature")
            if gemini_3 and signature == SKIP_SIGNATURE:
                continue
            expected = book.expected(call["name"], call.get("args"), call.get("id"))
            if expected is not None and not any(
                book.family_of.get(s) == model_family(model) for s in expected
            ):
                expected = None  # issued for the other family: this one needs none of it
            missing = signature not in expected if expected is not None else gemini_3 and not signature
            if missing:
                raise _bad(
                    "Function call is missing a thought_signature in functionCall parts. This is required for "
                    "tools to work correctly. Additional data, function call `default_api:"
                    f"{call['name']}`, position {index + 1}.{number + 1}."
                )


def _check_claude_tool_ids(contents: list[JSON]) -> None:
    """Claude needs every tool call answered by id in the very next turn (and no answer without a call)."""
    previous_ids: set[str] = set()
    for index, content in enumerate(contents):
        parts = content["parts"]
        answered = {p["functionResponse"].get("id") for p in parts if "functionResponse" in p}
        if previous_ids - answered:
            missing = ", ".join(sorted(previous_ids - answered))
            raise _bad(
                f"messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                f"{missing}. Each `tool_use` block must have a corresponding `tool_result` block in the next message."
            )
        if answered - previous_ids:
            raise _bad(
                f"messages.{index}.content: unexpected `tool_use_id` found in `tool_result` blocks: "
                f"{', '.join(sorted(str(i) for i in answered - previous_ids))}. Each `tool_result` block must "
                "have a corresponding `tool_use` block in the previous message."
            )
        previous_ids = set()
        for part in parts:
            call = part.get("functionCall")
            if call is not None:
                if not call.get("id"):
                    raise _bad(f"messages.{index}.content: tool_use.id: Field required")
                previous_ids.add(call["id"])


def _check_content(content: Any, index: int) -> None:
    if not isinstance(content, dict):
        raise _bad(f"Invalid value at 'contents[{index}]': must be an object")
    role = content.get("role")
    if role is not None and role not in ("user", "model"):
        raise _bad(f"Please use a valid role: user, model. (contents[{index}].role is {json.dumps(role)})")
    parts = content.get("parts")
    if not isinstance(parts, list) or not parts:
        raise _bad(f"* GenerateContentRequest.contents[{index}].parts: contents.parts must not be empty.")
    for number, part in enumerate(parts):
        _check_part(part, role, f"contents[{index}].parts[{number}]")


def _check_system_instruction(system: Any) -> None:
    if not isinstance(system, dict) or not isinstance(system.get("parts"), list) or not system["parts"]:
        raise _bad("Invalid value at 'system_instruction': must be a Content object with parts")
    for number, part in enumerate(system["parts"]):
        _check_part(part, "user", f"system_instruction.parts[{number}]")


def validate_request(
    request: Any, allowed_fields: frozenset[str], model: str, book: _SignatureBook | None
) -> None:
    """Every Gemini format rule the fake enforces; raises Rejected (400) on the first one broken."""
    if not isinstance(request, dict):
        raise _bad("Invalid JSON payload received. The request must be an object.")
    for key in request:
        if key not in allowed_fields:
            raise _bad(f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.')
    contents = request.get("contents")
    if not isinstance(contents, list) or not contents:
        raise _bad("* GenerateContentRequest.contents: contents is not specified")
    for index, content in enumerate(contents):
        _check_content(content, index)
    system = request.get("systemInstruction")
    if system is not None:
        _check_system_instruction(system)
    if "tools" in request:
        _check_tools(request["tools"])
    if "generationConfig" in request:
        _check_generation_config(request["generationConfig"])
    if book is not None:
        _check_signatures(contents, book, model)
    if _is_claude(model):
        _check_claude_tool_ids(contents)


# --------------------------------------------------------------------------------------------- answers


def request_text(request: JSON) -> str:
    """All text of a request's contents and system instruction (what prompt tokens are counted from)."""
    pieces: list[str] = []
    system = request.get("systemInstruction")
    if isinstance(system, dict):
        pieces.extend(p["text"] for p in system.get("parts") or [] if isinstance(p, dict) and "text" in p)
    for content in request.get("contents") or []:
        pieces.extend(p["text"] for p in content.get("parts") or [] if isinstance(p, dict) and "text" in p)
    return "".join(pieces)


def prompt_tokens(request: JSON) -> int:
    return max(1, len(request_text(request)) // 4)


def _last_user_turn(request: JSON) -> list[JSON]:
    for content in reversed(request["contents"]):
        if content.get("role", "user") == "user":
            parts: list[JSON] = content["parts"]
            return parts
    return []


def _echo_text(parts: list[JSON]) -> str:
    texts = [p["text"] for p in parts if "text" in p and not p.get("thought")]
    if not texts:
        # A turn of tool results: echo them so tests can see they arrived intact.
        texts = [
            f"{p['functionResponse']['name']} -> {canonical_args(p['functionResponse'].get('response'))}"
            for p in parts
            if "functionResponse" in p
        ]
    return "Echo: " + " ".join(texts)


def _requested_calls(text: str, declared: set[str]) -> list[tuple[str, JSON]]:
    """`CALL:name` (optionally followed by a JSON object of args) for each declared function named."""
    calls: list[tuple[str, JSON]] = []
    decoder = json.JSONDecoder()
    for match in _CALL_MARK.finditer(text):
        name = match.group(1)
        if name not in declared:
            continue
        args: JSON = {}
        if text[match.end() : match.end() + 1] == "{":
            try:
                decoded, _ = decoder.raw_decode(text, match.end())
            except json.JSONDecodeError:
                decoded = {}
            args = decoded if isinstance(decoded, dict) else {}
        calls.append((name, args))
    return calls


def _words(text: str) -> list[str]:
    """Split text into chunks of one word each, keeping the spaces so the chunks join back exactly."""
    return re.findall(r"\s*\S+", text) or [text]


def _usage(prompt: int, answer_parts: Iterable[JSON]) -> JSON:
    output = thoughts = 0
    for part in answer_parts:
        if "text" in part:
            count = len(part["text"].split())
            if part.get("thought"):
                thoughts += count
            else:
                output += count
        else:
            output += 1
    usage = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": output,
        "totalTokenCount": prompt + output + thoughts,
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def _wants_thoughts(request: JSON) -> bool:
    config = request.get("generationConfig") or {}
    thinking = config.get("thinkingConfig") or {}
    return bool(thinking.get("includeThoughts"))


def _wants_search(request: JSON) -> bool:
    return any(isinstance(t, dict) and "googleSearch" in t for t in request.get("tools") or ())


def _grounding(request: JSON, chunks: list[list[JSON]]) -> JSON:
    """groundingMetadata for a searched answer: two made-up web sources for the last user text; one
    support cites the first source for the echoed part of the answer (offsets in UTF-8 bytes, as Google's)."""
    query = " ".join(p["text"] for p in _last_user_turn(request) if "text" in p)
    answer = "".join(part.get("text", "") for chunk in chunks for part in chunk if not part.get("thought"))
    slug = quote(query[:60])
    echoed = answer.removeprefix("Echo: ") if answer.startswith("Echo: ") else answer
    start = len(answer.encode()) - len(echoed.encode())
    return {
        "webSearchQueries": [query],
        "groundingChunks": [
            {"web": {"uri": f"https://news.example/result-1?q={slug}", "title": "news.example"}},
            {"web": {"uri": f"https://wiki.example/result-2?q={slug}", "title": "wiki.example"}},
        ],
        "groundingSupports": [
            {
                "segment": {"startIndex": start, "endIndex": len(answer.encode()), "text": echoed},
                "groundingChunkIndices": [0],
            }
        ],
        "searchEntryPoint": {"renderedContent": "<div>search suggestions</div>"},
    }


def _modalities(request: JSON) -> set[str]:
    config = request.get("generationConfig") or {}
    return {str(m).upper() for m in config.get("responseModalities") or []}


# ------------------------------------------------------------------------------------------ the server


def settings_pointed_at(
    home: Path, base_url: str, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET
) -> Settings:
    """Default settings with every Google address (Cloud Code, sign-in, Gemini API) at a fake on base_url:
    for the tests, the benchmarks and the packaged app's smoke test alike."""
    settings = Settings(home=home)
    settings.upstream.endpoints = [f"{base_url}/{name}" for name in ENDPOINT_NAMES]
    settings.oauth.auth_url = f"{base_url}/o/oauth2/v2/auth"
    settings.oauth.token_url = f"{base_url}/token"
    settings.oauth.userinfo_url = f"{base_url}/oauth2/v2/userinfo"
    settings.oauth.client_id = client_id
    settings.oauth.client_secret = client_secret
    settings.gemini_api.base_url = base_url
    return settings


class FakeGoogle:
    """Plays Google OAuth, three Cloud Code v1internal endpoints and the Gemini API on one loopback port."""

    def __init__(
        self,
        *,
        access_token_ttl: float = 3599,
        min_client_version: str = "2.9.0",
        chunk_delay: float = 0.0,
        record: bool = True,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
    ) -> None:
        self.access_token_ttl = access_token_ttl
        self.min_client_version = min_client_version
        self.chunk_delay = chunk_delay
        self.record = record
        self.client_id = client_id
        self.client_secret = client_secret
        # Cloud Code answers generateContent on these models with an empty reply (late-2026 reports), so
        # clients must stream them; a test of the non-streaming reply's own shape may clear it.
        self.empty_non_stream_models: tuple[str, ...] = EMPTY_NON_STREAM_MODELS
        self.consent_email: str | None = None  # who "signs in" on the consent screen
        self.deny_consent = False
        self.requests: list[Recorded] = []
        # (method, who) -> calls, counted even with record=False: what the gateway costs each account.
        self.counts: Counter[tuple[str, str | None]] = Counter()
        # On a refresh_token grant hand out a new refresh token and retire the old one (as Google may).
        self.rotate_refresh_tokens = False
        self.streams_cancelled = 0  # streams whose client went away before the end
        self.accounts: dict[str, FakeAccount] = {}
        self.api_keys: dict[str, FakeApiKey] = {}
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> e-mail
        self._access_tokens: dict[str, tuple[str, float]] = {}  # access token -> (e-mail, monotonic expiry)
        self._codes: dict[str, _IssuedCode] = {}
        self._signatures: dict[str, _SignatureBook] = {}  # per account e-mail or API key
        self._faults: list[Fault] = []
        self._scripts: list[tuple[Reply, str | None, str | None]] = []
        self._counter = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._base_url = ""

    # -- life cycle

    async def start(self) -> None:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_post("/token", self._token)
        app.router.add_get("/o/oauth2/v2/auth", self._consent)
        app.router.add_get("/oauth2/v2/userinfo", self._userinfo)
        app.router.add_post(r"/{endpoint:sandbox|daily|prod}/{call}", self._cloud_code)
        app.router.add_get("/v1beta/models", self._list_models)
        app.router.add_get("/v1beta/models/{model}", self._get_model)
        app.router.add_post("/v1beta/models/{call}", self._gemini_api)
        # handler_cancellation: a client that hangs up cancels the handler, as on a real server.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._base_url = f"http://{host}:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeGoogle:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        if not self._base_url:
            raise RuntimeError("FakeGoogle is not started")
        return self._base_url

    @property
    def endpoints(self) -> list[str]:
        return [f"{self.base_url}/{name}" for name in ENDPOINT_NAMES]

    def settings(self, home: Path) -> Settings:
        """Gateway settings pointed at the fake (no client API keys, port 0, a short retry budget)."""
        settings = settings_pointed_at(home, self.base_url, self.client_id, self.client_secret)
        settings.server.api_keys = []
        settings.server.port = 0
        settings.upstream.retry_budget_s = 5.0
        settings.upstream.connect_timeout_s = 2.0
        return settings

    # -- test controls

    def add_google_account(
        self,
        email: str,
        project_id: str | None = "",
        tier: str = "standard-tier",
        models: dict[str, float] | None = None,
        *,
        paid_tier: str | None = None,
        name: str | None = None,
        quota_summary: bool = True,
        group_models: dict[str, list[str]] | None = None,
    ) -> FakeAccount:
        """A Google account; project_id "" (the default) makes one up, None means it must onboard first.
        quota_summary: it has retrieveUserQuotaSummary (5h and weekly buckets per group, all full), else 404;
        group_models: which models each summary group holds, listed in the summary (default: by family).

        The channel serves no 2.5 model any more: naming one is a mistake in the test (ValueError)."""
        retired = [model for model in models or () if retired_on_cloud_code(model)]
        if retired:
            raise ValueError(
                f"Cloud Code no longer serves {', '.join(retired)}: give the account current models"
            )
        number = next(self._counter)
        account = FakeAccount(
            email=email,
            refresh_token=f"1//fake-refresh-{secrets.token_urlsafe(18)}",
            project_id=f"proj-{number}" if project_id == "" else project_id,
            tier=tier,
            models=self._model_states(models, DEFAULT_GOOGLE_MODELS),
            name=name or email.split("@")[0].replace(".", " ").title(),
            id=str(100_000_000_000_000_000_000 + number),
            paid_tier=paid_tier,
            group_models=group_models,
        )
        if quota_summary:
            groups = group_models if group_models is not None else QUOTA_GROUPS
            account.windows = {
                (group, window): ModelState(reset_at=time.time() + period, refill_s=period)
                for group in groups
                for window, period in WINDOW_RESET_S.items()
            }
        self.accounts[email] = account
        self._refresh_tokens[account.refresh_token] = email
        return account

    def add_api_key(
        self, models: dict[str, float] | Iterable[str] | None = None, *, key: str | None = None
    ) -> str:
        """A Gemini API key the fake accepts (models: names, or name -> remaining fraction)."""
        key = key or f"AIzaSyFake{secrets.token_urlsafe(24)}"
        if models is not None and not isinstance(models, dict):
            models = dict.fromkeys(models, 1.0)
        self.api_keys[key] = FakeApiKey(key=key, models=self._model_states(models, DEFAULT_API_KEY_MODELS))
        return key

    def revoke(self, credential: str) -> None:
        """Revoke a refresh token (next refresh: invalid_grant; as at Google, the access tokens it gave stop
        working too) or an API key (next call: API_KEY_INVALID)."""
        owner = self._refresh_tokens.pop(credential, None)
        if owner is not None:
            self.expire_access_tokens(owner)
        self.api_keys.pop(credential, None)

    def expire_access_tokens(self, email: str | None = None) -> None:
        """Make live access tokens (of one account, or all) stop working, as an hour passing would."""
        for token, (owner, _) in list(self._access_tokens.items()):
            if email is None or owner == email:
                del self._access_tokens[token]

    def set_remaining(self, who: str, model: str, fraction: float | None, reset_in_s: float = 3600) -> None:
        """Set an account's (e-mail) or API key's remaining quota fraction for a model; None: usable, but
        reported with a resetTime and no fraction (as free tiers are)."""
        if who in self.accounts and retired_on_cloud_code(model):
            raise ValueError(f"Cloud Code no longer serves {model}")
        states = self.accounts[who].models if who in self.accounts else self.api_keys[who].models
        states[model] = ModelState(
            remaining=1.0 if fraction is None else fraction,
            reset_at=time.time() + reset_in_s,
            hidden=fraction is None,
        )

    def set_window(
        self, email: str, group: str, window: str, fraction: float, reset_in_s: float = 3600
    ) -> None:
        """Set a retrieveUserQuotaSummary bucket: `group` is a group name or a word of it ("Gemini"),
        `window` "5h" or "weekly". At 0 the fake refuses the group's models until the reset (a 429
        RATE_LIMIT_EXCEEDED asking to wait that long), though fetchAvailableModels may still read 100 %."""
        account = self.accounts[email]
        matches = [
            key for key in account.windows if key[1] == window and group.casefold() in key[0].casefold()
        ]
        if len(matches) != 1:
            raise KeyError(f"no single {window} bucket of a group named like {group!r} on {email}")
        period = WINDOW_RESET_S.get(window, DEFAULT_RESET_S)
        account.windows[matches[0]] = ModelState(fraction, time.time() + reset_in_s, refill_s=period)

    def set_tier(self, email: str, tier: str, *, paid_tier: str | None = None) -> None:
        """Change an account's tier as an upgrade (or downgrade) does: loadCodeAssist answers it from now on
        (`currentTier` = tier, `paidTier` = paid_tier when given); the project stays."""
        account = self.accounts[email]
        account.tier = tier
        account.paid_tier = paid_tier

    def count(self, method: str, who: str | None = None) -> int:
        """Calls of `method` ("token", "loadCodeAssist", "fetchAvailableModels", ...) so far, by anyone or by
        one account (e-mail) or API key; counted even with record=False."""
        if who is None:
            return sum(n for (counted, _), n in self.counts.items() if counted == method)
        return self.counts[(method, who)]

    def inject(self, fault: Fault) -> Fault:
        self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self._faults.clear()

    def script(self, reply: Reply, who: str | None = None, *, model: str | None = None) -> None:
        """Queue a reply for the next generate call that matches `who` (and `model`), in order."""
        self._scripts.append((reply, who, model))

    def calls(self, method: str) -> list[Recorded]:
        return [recorded for recorded in self.requests if recorded.method == method]

    def generate_calls(self) -> list[Recorded]:
        """generateContent and streamGenerateContent calls, in order (non-streaming requests to models in
        upstream.stream_only_models go up as streams)."""
        return [recorded for recorded in self.requests if recorded.method in GENERATE_METHODS]

    # -- internals shared by the handlers

    @staticmethod
    def _model_states(models: dict[str, float] | None, defaults: Iterable[str]) -> dict[str, ModelState]:
        chosen = models if models is not None else dict.fromkeys(defaults, 1.0)
        reset = time.time() + DEFAULT_RESET_S
        return {name: ModelState(remaining=fraction, reset_at=reset) for name, fraction in chosen.items()}

    def _record(
        self,
        request: web.Request,
        service: str,
        method: str,
        body: Any,
        who: str | None,
        endpoint: str | None = None,
        model: str | None = None,
    ) -> None:
        self.counts[(method, who)] += 1
        if self.record:
            self.requests.append(
                Recorded(
                    service=service,
                    method=method,
                    path=request.path,
                    headers=dict(request.headers),
                    body=body,
                    who=who,
                    endpoint=endpoint,
                    model=model,
                    query=dict(request.query),
                )
            )

    def _take_fault(
        self, method: str, model: str | None, who: str | None, endpoint: str | None
    ) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method, model, who, endpoint):
                fault.fired += 1
                if fault.times is not None and fault.fired >= fault.times:
                    self._faults.remove(fault)
                return fault
        return None

    def _take_script(self, who: str | None, model: str) -> Reply | None:
        for index, (reply, script_who, script_model) in enumerate(self._scripts):
            if (script_who is None or script_who == who) and (script_model is None or script_model == model):
                del self._scripts[index]
                return reply
        return None

    def _error_fault(self, fault: Fault, model: str | None, who: str | None, domain: str) -> Rejected | None:
        """The error an error-kind fault answers (None for stream faults, which act later)."""
        kind, params = fault.kind, fault.params
        message = params.get("message")
        if kind == "rate_limit":
            delay = str(params.get("delay", "2s"))
            return Rejected(
                429,
                message or f"Resource has been exhausted (e.g. check quota). Please retry in {delay}.",
                [error_info("RATE_LIMIT_EXCEEDED", domain, model=model or ""), retry_info(delay)],
            )
        if kind == "quota":
            reset_at = time.time() + QUOTA_FAULT_RESET_S
            states = self._states_of(who)
            if states is not None and model in states:  # a model the account lacks is not added by it
                states[model] = ModelState(remaining=0.0, reset_at=reset_at)
            return self._quota_rejection(model, reset_at, domain)
        if kind == "capacity":
            return Rejected(
                429,
                message or f"No capacity available for model {model or ''} on the server",
                [error_info("MODEL_CAPACITY_EXHAUSTED", domain, model=model or "")],
            )
        if kind == "unauthenticated":
            if who is not None:
                self.expire_access_tokens(who)
            return Rejected(
                401,
                message or "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                [error_info("ACCESS_TOKEN_EXPIRED", "googleapis.com")],
            )
        if kind == "forbidden":
            url = str(params.get("validation_url", "https://accounts.google.com/signin/continue?fake=verify"))
            return Rejected(
                403,
                message
                or "Verify your account to continue using this service. Complete the verification step.",
                [error_info("VALIDATION_REQUIRED", domain, validation_url=url)],
            )
        simple = {
            "server": (500, "Internal error encountered."),
            "unavailable": (503, "The service is currently unavailable."),
            "not_found": (404, "Requested entity was not found."),
            "bad_request": (400, "Request contains an invalid argument."),
        }
        if kind in simple:
            status, text = simple[kind]
            return Rejected(int(params.get("status", status)), message or text)
        return None

    def _states_of(self, who: str | None) -> dict[str, ModelState] | None:
        if who in self.accounts:
            return self.accounts[who].models
        if who in self.api_keys:
            return self.api_keys[who].models
        return None

    @staticmethod
    def _quota_rejection(model: str | None, reset_at: float, domain: str) -> Rejected:
        delay = go_duration(reset_at - time.time())
        return Rejected(
            429,
            f"You have exhausted your capacity on this model. Your quota will reset after {delay}.",
            [
                error_info(
                    "QUOTA_EXHAUSTED",
                    domain,
                    quotaResetDelay=delay,
                    quotaResetTimeStamp=rfc3339(reset_at),
                    model=model or "",
                ),
                retry_info(f"{max(0, round(reset_at - time.time()))}s"),
            ],
        )

    def _check_quota(self, states: dict[str, ModelState], model: str, domain: str) -> None:
        state = states[model]
        if state.current() <= 0.0:
            raise self._quota_rejection(model, state.reset_at, domain)

    def _book(self, who: str) -> _SignatureBook:
        book = self._signatures.get(who)
        if book is None:
            book = self._signatures[who] = _SignatureBook()
        return book

    # -- answers

    def _answer(self, request: JSON, model: str, who: str) -> _Answer:
        """The reply to a valid generate request: a script if one is queued, else the echo."""
        prompt = prompt_tokens(request)
        book = self._book(who)
        scripted = self._take_script(who, model)
        if scripted is not None:
            return self._scripted_answer(scripted, prompt, model, book)
        chunks: list[list[JSON]] = []
        if _wants_thoughts(request):
            signature = self._new_signature()
            book.family_of[signature] = model_family(model)
            chunks.append([{"thought": True, "text": _THOUGHT_TEXT, "thoughtSignature": signature}])
        last_turn = _last_user_turn(request)
        calls = _requested_calls(
            " ".join(p["text"] for p in last_turn if "text" in p), declared_functions(request)
        )
        modalities = _modalities(request)
        if calls:
            for name, args in calls:
                chunks.append([self._sign_call({"functionCall": {"name": name, "args": args}}, model, book)])
        elif model.endswith("-tts") or "AUDIO" in modalities:
            # 0.1 s of silence: 24 kHz, 16-bit mono PCM.
            audio = base64.b64encode(bytes(4800)).decode()
            chunks.append([{"inlineData": {"mimeType": "audio/L16;codec=pcm;rate=24000", "data": audio}}])
        elif "image" in model or "IMAGE" in modalities:
            chunks.append([{"text": "Here is your image."}])
            chunks.append([{"inlineData": {"mimeType": "image/png", "data": TINY_PNG}}])
        else:
            chunks.extend([{"text": word}] for word in _words(_echo_text(last_turn)))
        usage = _usage(prompt, (part for chunk in chunks for part in chunk))
        grounding = _grounding(request, chunks) if _wants_search(request) and not calls else None
        return _Answer(chunks, "STOP", usage, grounding=grounding)

    def _scripted_answer(self, scripted: Reply, prompt: int, model: str, book: _SignatureBook) -> _Answer:
        parts = [
            self._sign_call(part, model, book) if "functionCall" in part else part for part in scripted.parts
        ]
        usage = scripted.usage if scripted.usage is not None else _usage(prompt, parts)
        return _Answer(
            [[part] for part in parts] or [[]], scripted.finish_reason, usage, scripted.prompt_feedback
        )

    def _sign_call(self, part: JSON, model: str, book: _SignatureBook) -> JSON:
        """Give a functionCall part its signature (and an id on Claude models), and remember them."""
        call = dict(part["functionCall"])
        if _is_claude(model) and not call.get("id"):
            call["id"] = f"toolu_{secrets.token_hex(12)}"
        part = {**part, "functionCall": call}
        part.setdefault("thoughtSignature", self._new_signature())
        book.remember(
            call["name"], call.get("args"), call.get("id"), part["thoughtSignature"], model_family(model)
        )
        return part

    @staticmethod
    def _new_signature() -> str:
        return "sig-" + secrets.token_urlsafe(24)

    @staticmethod
    def _response(
        parts: list[JSON],
        finish: str | None,
        usage: JSON | None,
        model: str,
        response_id: str,
        grounding: JSON | None = None,
    ) -> JSON:
        candidate: JSON = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish is not None:
            candidate["finishReason"] = finish
        if grounding is not None:
            candidate["groundingMetadata"] = grounding
        response: JSON = {"candidates": [candidate], "modelVersion": model, "responseId": response_id}
        if usage is not None:
            response["usageMetadata"] = usage
        return response

    def _whole(self, answer: _Answer, model: str) -> JSON:
        parts = [part for chunk in answer.chunks for part in chunk]
        response = self._response(
            parts, answer.finish_reason, answer.usage, model, secrets.token_urlsafe(9), answer.grounding
        )
        self._apply_feedback(response, answer, parts)
        return response

    @staticmethod
    def _apply_feedback(response: JSON, answer: _Answer, parts: list[JSON]) -> None:
        if answer.prompt_feedback is not None:
            response["promptFeedback"] = answer.prompt_feedback
            if not parts:
                del response["candidates"]

    def _stream_chunks(self, answer: _Answer, model: str) -> list[JSON]:
        response_id = secrets.token_urlsafe(9)
        last = len(answer.chunks) - 1
        chunks = []
        for index, parts in enumerate(answer.chunks):
            final = index == last
            chunk = self._response(
                parts,
                answer.finish_reason if final else None,
                answer.usage if final else None,
                model,
                response_id,
                answer.grounding if final else None,
            )
            if final:
                self._apply_feedback(chunk, answer, parts)
            chunks.append(chunk)
        return chunks

    async def _stream(
        self, request: web.Request, chunks: list[JSON], fault: Fault | None, trace_id: str | None
    ) -> web.StreamResponse:
        """Write an SSE stream one event per chunk; a stream fault slows, cuts or breaks it."""
        cut_after = error_after = None
        delay = self.chunk_delay
        if fault is not None and fault.kind == "stream_cut":
            cut_after = min(int(fault.params.get("after", 1)), len(chunks) - 1)
        elif fault is not None and fault.kind == "stream_error":
            error_after = min(int(fault.params.get("after", 1)), len(chunks) - 1)
        elif fault is not None and fault.kind == "slow":
            delay = max(delay, float(fault.params.get("delay", 0.5)))
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        try:
            for index, chunk in enumerate(chunks):
                if index == cut_after:
                    # Drop the TCP connection with no final chunk: the client must see a broken stream.
                    assert request.transport is not None
                    request.transport.close()
                    return response
                if index == error_after:
                    status = int(fault.params.get("status", 503)) if fault is not None else 503
                    event = error_body(
                        status, str(fault.params.get("message", "Stream interrupted")) if fault else ""
                    )
                    await response.write(b"data: " + json.dumps(event).encode() + b"\r\n\r\n")
                    await response.write_eof()
                    return response
                if delay:
                    await asyncio.sleep(delay)
                body = {"response": chunk, "traceId": trace_id} if trace_id is not None else chunk
                await response.write(b"data: " + json.dumps(body).encode() + b"\r\n\r\n")
            await response.write_eof()
        except (asyncio.CancelledError, ConnectionError):
            self.streams_cancelled += 1
            raise
        return response

    # -- OAuth handlers

    async def _token(self, request: web.Request) -> web.Response:
        form = (
            dict(await request.post()) if request.content_type == "application/x-www-form-urlencoded" else {}
        )
        fields = {key: str(value) for key, value in form.items()}
        grant = fields.get("grant_type")
        who = self._refresh_tokens.get(fields.get("refresh_token", ""))
        self._record(request, "oauth", "token", fields, who)
        fault = self._take_fault("token", None, who, None)
        if fault is not None:
            rejected = self._error_fault(fault, None, who, "oauth2.googleapis.com")
            if rejected is not None:
                return _rejected_response(rejected)
        if request.content_type != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request", "The token request must be form-encoded.")
        if fields.get("client_id") != self.client_id:
            return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if fields.get("client_secret") != self.client_secret:
            return _oauth_error(401, "invalid_client", "Unauthorized")
        if grant == "refresh_token":
            if who is None:
                return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
            rotated = self._rotate(fields["refresh_token"], who) if self.rotate_refresh_tokens else None
            return _json_response(self._token_reply(who, rotated, " ".join(_GRANTED_SCOPES)))
        if grant == "authorization_code":
            return self._exchange(fields)
        return _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _rotate(self, old: str, email: str) -> str:
        new = f"1//fake-refresh-{secrets.token_urlsafe(18)}"
        del self._refresh_tokens[old]  # the old one stops working at once: only a stored new one signs in
        self._refresh_tokens[new] = email
        if email in self.accounts and self.accounts[email].refresh_token == old:
            self.accounts[email].refresh_token = new
        return new

    def _exchange(self, fields: dict[str, str]) -> web.Response:
        issued = self._codes.pop(fields.get("code", ""), None)  # a code works once
        if issued is None:
            return _oauth_error(400, "invalid_grant", "Malformed auth code.")
        if fields.get("redirect_uri") != issued.redirect_uri:
            return _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        if issued.challenge is not None:
            verifier = fields.get("code_verifier")
            if not verifier:
                return _oauth_error(400, "invalid_grant", "Missing code verifier.")
            if s256(verifier) != issued.challenge:
                return _oauth_error(400, "invalid_grant", "Invalid code verifier.")
        refresh_token = None
        if issued.offline:
            refresh_token = f"1//fake-refresh-{secrets.token_urlsafe(18)}"
            self._refresh_tokens[refresh_token] = issued.email
        return _json_response(self._token_reply(issued.email, refresh_token, issued.scope))

    def _token_reply(self, email: str, refresh_token: str | None, scope: str) -> JSON:
        access_token = f"ya29.fake-{secrets.token_urlsafe(24)}"
        self._access_tokens[access_token] = (email, time.monotonic() + self.access_token_ttl)
        reply: JSON = {
            "access_token": access_token,
            # Google's are whole seconds; a time-scaled run (bench/bench_polling.py) needs its fraction kept.
            "expires_in": ttl if (ttl := self.access_token_ttl) < 60 else int(ttl),
            "scope": scope,
            "token_type": "Bearer",
            "id_token": self._id_token(email),
        }
        if refresh_token is not None:
            reply["refresh_token"] = refresh_token
        return reply

    def _id_token(self, email: str) -> str:
        """An unsigned JWT-shaped token carrying the e-mail (nobody should trust it, nor does the gateway need to)."""

        def encode(part: JSON) -> str:
            return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

        account = self.accounts.get(email)
        claims = {"iss": "https://accounts.google.com", "aud": self.client_id, "email": email}
        if account is not None:
            claims["sub"] = account.id
        return f"{encode({'alg': 'none', 'typ': 'JWT'})}.{encode(claims)}.fake"

    async def _consent(self, request: web.Request) -> web.Response:
        query = request.query
        self._record(request, "oauth", "auth", None, self.consent_email)
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id:
            return web.Response(status=401, text="Error 401: invalid_client. The OAuth client was not found.")
        if not redirect_uri.startswith(("http://localhost:", "http://127.0.0.1:", "http://[::1]:")):
            return web.Response(status=400, text="Error 400: redirect_uri_mismatch")
        if query.get("response_type") != "code":
            return web.Response(status=400, text="Error 400: invalid_request. Invalid response_type.")
        scopes = query.get("scope", "").split()
        if CLOUD_PLATFORM_SCOPE not in scopes:
            return web.Response(
                status=400, text="Error 400: invalid_scope. The cloud-platform scope is required."
            )
        challenge = query.get("code_challenge")
        if challenge is not None and query.get("code_challenge_method") != "S256":
            return web.Response(
                status=400, text="Error 400: invalid_request. code_challenge_method must be S256."
            )
        state = query.get("state")
        back = URL(redirect_uri)
        if self.deny_consent:
            return _redirect(back, error="access_denied", state=state)
        if self.consent_email is None:
            return web.Response(
                text="<html><body>Choose an account (waiting for the test)</body></html>",
                content_type="text/html",
            )
        if self.consent_email not in self.accounts:
            self.add_google_account(self.consent_email)
        code = f"4/0Afake{secrets.token_urlsafe(24)}"
        self._codes[code] = _IssuedCode(
            email=self.consent_email,
            redirect_uri=redirect_uri,
            challenge=challenge,
            offline=query.get("access_type") == "offline",
            scope=" ".join(scopes),
        )
        return _redirect(back, code=code, scope=" ".join(scopes), state=state)

    async def _userinfo(self, request: web.Request) -> web.Response:
        email = self._live_token_owner(request)
        self._record(request, "oauth", "userinfo", None, email)
        fault = self._take_fault("userinfo", None, email, None)
        if fault is not None:
            rejected = self._error_fault(fault, None, email, "googleapis.com")
            if rejected is not None:
                return _rejected_response(rejected)
        if email is None:
            return _rejected_response(Rejected(401, "Request is missing required authentication credential."))
        account = self.accounts[email]
        return _json_response(
            {
                "id": account.id,
                "email": email,
                "verified_email": True,
                "name": account.name,
                "picture": f"https://lh3.googleusercontent.com/a/fake-{account.id}",
            }
        )

    def _live_token_owner(self, request: web.Request) -> str | None:
        token = _bearer(request)
        entry = self._access_tokens.get(token) if token else None
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0] if entry[0] in self.accounts else None

    # -- Cloud Code

    async def _cloud_code(self, request: web.Request) -> web.StreamResponse:
        endpoint = request.match_info["endpoint"]
        call = request.match_info["call"]
        method = call.removeprefix("v1internal:") if call.startswith("v1internal:") else ""
        email = self._live_token_owner(request)
        body = await _read_json(request)
        model = _cloud_code_model(method, body)
        self._record(request, "cloudcode", method or call, body, email, endpoint, model)
        try:
            if method not in CLOUD_CODE_METHODS:
                raise Rejected(404, f"Method not found: {call}")
            if email is None:
                raise Rejected(
                    401,
                    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                    "or other valid authentication credential.",
                    [error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED", "googleapis.com")],
                )
            stale = not _client_supported(request.headers.get("User-Agent", ""), self.min_client_version)
            if stale and method not in GENERATE_METHODS:
                raise _bad(
                    "This version of Antigravity is no longer supported. Please update to the latest version."
                )
            if not isinstance(body, dict):
                raise _bad("Invalid JSON payload received.")
            fault = self._take_fault(method, model, email, endpoint)
            if fault is not None:
                rejected = self._error_fault(fault, model, email, "cloudcode-pa.googleapis.com")
                if rejected is not None:
                    raise rejected
            account = self.accounts[email]
            plain = {
                "loadCodeAssist": lambda: self._load_code_assist(account),
                "onboardUser": lambda: self._onboard(account, body),
                "fetchAvailableModels": lambda: self._available_models(account, body),
                "retrieveUserQuotaSummary": lambda: self._quota_summary(account, body),
                "countTokens": lambda: self._count_cloud_code(account, body),
            }.get(method)
            if plain is not None:
                return _json_response(plain())
            return await self._cloud_code_generate(request, account, method, body, fault, stale=stale)
        except Rejected as rejected:
            return _rejected_response(rejected)

    def _load_code_assist(self, account: FakeAccount) -> JSON:
        reply: JSON = {"allowedTiers": [dict(tier) for tier in _ALLOWED_TIERS], "ineligibleTiers": []}
        if account.project_id is not None:
            reply["cloudaicompanionProject"] = account.project_id
            reply["currentTier"] = {"id": account.tier, "name": _TIER_NAMES.get(account.tier, account.tier)}
        if account.paid_tier is not None:
            reply["paidTier"] = {
                "id": account.paid_tier,
                "name": _TIER_NAMES.get(account.paid_tier, account.paid_tier),
            }
        return reply

    def _onboard(self, account: FakeAccount, body: JSON) -> JSON:
        tier = body.get("tierId")
        if tier not in {t["id"] for t in _ALLOWED_TIERS}:
            raise _bad(f"Invalid tierId: {json.dumps(tier)}")
        operation = f"operations/onboard-{account.id}"
        if account.project_id is None:
            account.onboard_calls += 1
            if account.onboard_calls < 2:
                return {"name": operation, "done": False}
            account.project_id = f"proj-{next(self._counter)}"
            account.tier = str(tier)
        project = {"id": account.project_id, "name": account.project_id}
        return {"name": operation, "done": True, "response": {"cloudaicompanionProject": project}}

    def _check_project(self, account: FakeAccount, project: Any) -> None:
        if account.project_id is None or project != account.project_id:
            raise Rejected(
                403,
                f"Permission 'cloudaicompanion.companions.generateChat' denied on resource "
                f"'//cloudaicompanion.googleapis.com/projects/{project}/locations/global' (or it may not exist).",
                [error_info("IAM_PERMISSION_DENIED", "cloudaicompanion.googleapis.com")],
            )

    def _available_models(self, account: FakeAccount, body: JSON) -> JSON:
        if "project" in body:
            self._check_project(account, body["project"])
        models: JSON = {}
        for name, state in account.models.items():
            display, _, output, thinking, images = _model_info(name)
            quota: JSON = {"resetTime": rfc3339(state.reset_at)}
            remaining = state.current()
            # The real service leaves remainingFraction out when it is 0, and on some free-tier entries.
            if remaining > 0.0 and not state.hidden:
                quota["remainingFraction"] = remaining
            entry: JSON = {
                "displayName": display,
                "quotaInfo": quota,
                "maxTokens": _model_info(name)[1],
                "maxOutputTokens": output,
                "supportsImages": images,
                "supportsThinking": thinking,
                "recommended": True,
            }
            if thinking:
                entry["thinkingBudget"] = 24_576
            models[name] = entry
        deprecated = {old: {"newModelId": new} for old, new in _DEPRECATED.items() if new in account.models}
        return {"models": models, "deprecatedModelIds": deprecated}

    def _quota_summary(self, account: FakeAccount, body: JSON) -> JSON:
        if not account.windows:
            raise Rejected(404, "Requested entity was not found.")
        if "project" in body:
            self._check_project(account, body["project"])
        groups: dict[str, JSON] = {}
        for (group, window), state in account.windows.items():
            entry = groups.setdefault(group, {"displayName": group, "buckets": []})
            if account.group_models is not None:
                entry["models"] = list(account.group_models.get(group, []))
            bucket: JSON = {"bucketId": f"{group.split()[0].lower()}-{window}", "window": window}
            remaining = state.current()
            if remaining > 0.0:  # left out at 0, as in fetchAvailableModels
                bucket["remainingFraction"] = remaining
            bucket["resetTime"] = rfc3339(state.reset_at)
            entry["buckets"].append(bucket)
        return {"groups": list(groups.values())}

    def _check_windows(self, account: FakeAccount, model: str) -> None:
        """A spent 5h or weekly bucket of the model's group refuses it until the reset, whatever the
        per-model quota says (a long RATE_LIMIT_EXCEEDED, as users report)."""
        for group in account.groups_of(model):
            for window in WINDOW_RESET_S:
                state = account.windows.get((group, window))
                if state is not None and state.current() <= 0.0:
                    wait = max(1, round(state.reset_at - time.time()))
                    raise Rejected(
                        429,
                        f"You have reached the {window} limit of {group}. Please retry in {go_duration(wait)}.",
                        [
                            error_info("RATE_LIMIT_EXCEEDED", "cloudcode-pa.googleapis.com", model=model),
                            retry_info(f"{wait}s"),
                        ],
                    )

    def _count_cloud_code(self, account: FakeAccount, body: JSON) -> JSON:
        inner = body.get("request")
        if not isinstance(inner, dict):
            raise _bad("* CountTokensRequest.request: request is required")
        model = str(inner.get("model", "")).removeprefix("models/")
        if model not in account.models:
            raise Rejected(404, f"Requested entity was not found. (model {model})")
        counted = {key: value for key, value in inner.items() if key != "model"}
        validate_request(counted, _CLOUD_CODE_REQUEST_FIELDS, model, None)
        return {"totalTokens": prompt_tokens(counted)}

    async def _cloud_code_generate(
        self,
        request: web.Request,
        account: FakeAccount,
        method: str,
        body: JSON,
        fault: Fault | None,
        *,
        stale: bool = False,
    ) -> web.StreamResponse:
        stream = method == "streamGenerateContent"
        if stream and request.query.get("alt") != "sse":
            raise _bad("streamGenerateContent needs ?alt=sse")
        self._check_project(account, body.get("project"))
        model = body.get("model")
        if not isinstance(model, str) or model not in account.models:
            raise Rejected(404, f"Requested entity was not found. (model {model})")
        if not body.get("requestId"):
            raise _bad("* requestId is required")
        if body.get("requestType") not in ("agent", "image_gen"):
            raise _bad("* requestType is required: agent (or image_gen for image models)")
        session = (
            (body.get("request") or {}).get("sessionId") if isinstance(body.get("request"), dict) else None
        )
        if session is not None and not re.fullmatch(r"-?\d{1,19}", str(session)):
            raise _bad("* sessionId must be a signed 64-bit integer in decimal")
        if "request" not in body:
            raise _bad("* request is required")
        self._check_quota(account.models, model, "cloudcode-pa.googleapis.com")
        self._check_windows(account, model)
        validate_request(body["request"], _CLOUD_CODE_REQUEST_FIELDS, model, self._book(account.email))
        check_cloud_code_tools(body["request"], model)
        if stale:
            # What Google does to an outdated client: a normal 200 whose text says so, with no tokens counted.
            words = [[{"text": word}] for word in _words(STALE_CLIENT_REPLY)]
            answer = _Answer(
                words, "STOP", {"promptTokenCount": 0, "candidatesTokenCount": 0, "totalTokenCount": 0}
            )
        elif not stream and any(fnmatch.fnmatchcase(model, p) for p in self.empty_non_stream_models):
            empty = [[{"text": ""}]]
            answer = _Answer(
                empty, "STOP", {"promptTokenCount": prompt_tokens(body["request"]), "totalTokenCount": 0}
            )
        else:
            answer = self._answer(body["request"], model, account.email)
        trace_id = secrets.token_hex(8)
        if stream:
            return await self._stream(request, self._stream_chunks(answer, model), fault, trace_id)
        return _json_response({"response": self._whole(answer, model), "traceId": trace_id})

    # -- Gemini API

    def _api_key(self, request: web.Request) -> FakeApiKey:
        if "key" in request.query:
            raise _bad(
                "The fake refuses ?key=: send the API key in the x-goog-api-key header (URLs end up in logs)."
            )
        key = request.headers.get("x-goog-api-key")
        if not key:
            raise Rejected(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API.",
            )
        found = self.api_keys.get(key)
        if found is None:
            raise Rejected(
                400,
                "API key not valid. Please pass a valid API key.",
                [
                    error_info(
                        "API_KEY_INVALID", "googleapis.com", service="generativelanguage.googleapis.com"
                    )
                ],
            )
        return found

    def _api_fault(self, method: str, model: str | None, who: str | None) -> Fault | None:
        fault = self._take_fault(method, model, who, None)
        if fault is not None:
            rejected = self._error_fault(fault, model, who, "generativelanguage.googleapis.com")
            if rejected is not None:
                raise rejected
        return fault

    async def _list_models(self, request: web.Request) -> web.Response:
        who = request.headers.get("x-goog-api-key")
        self._record(request, "gemini_api", "listModels", None, who)
        try:
            key = self._api_key(request)
            self._api_fault("listModels", None, key.key)
            names = list(key.models)
            size = min(int(request.query.get("pageSize", "50") or 50), 1000)
            start = int(request.query.get("pageToken", "0") or 0)
        except ValueError:
            return _rejected_response(_bad("Invalid pageSize or pageToken"))
        except Rejected as rejected:
            return _rejected_response(rejected)
        page: JSON = {"models": [_api_model(name) for name in names[start : start + max(size, 1)]]}
        if start + size < len(names):
            page["nextPageToken"] = str(start + size)
        return _json_response(page)

    async def _get_model(self, request: web.Request) -> web.Response:
        name = request.match_info["model"]
        self._record(
            request, "gemini_api", "getModel", None, request.headers.get("x-goog-api-key"), model=name
        )
        try:
            key = self._api_key(request)
            if name not in key.models:
                raise Rejected(404, f"models/{name} is not found for API version v1beta")
        except Rejected as rejected:
            return _rejected_response(rejected)
        return _json_response(_api_model(name))

    async def _gemini_api(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["call"].rpartition(":")
        who = request.headers.get("x-goog-api-key")
        body = await _read_json(request)
        self._record(request, "gemini_api", method, body, who, model=model)
        try:
            if method not in GEMINI_API_METHODS or not model:
                raise Rejected(404, f"Method not found: {request.match_info['call']}")
            key = self._api_key(request)
            if not isinstance(body, dict):
                raise _bad("Invalid JSON payload received.")
            fault = self._api_fault(method, model, key.key)
            if model not in key.models:
                raise Rejected(
                    404,
                    f"models/{model} is not found for API version v1beta, or is not supported for {method}. "
                    "Call ListModels to see the list of available models and their supported methods.",
                )
            if method == "countTokens":
                return _json_response(self._count_api(body, model))
            if method == "embedContent":
                return _json_response({"embedding": _embed(body)})
            if method == "batchEmbedContents":
                return _json_response(_batch_embed(body, model))
            if method == "predict":
                return _json_response(_predict(body))
            return await self._api_generate(request, key, model, method, body, fault)
        except Rejected as rejected:
            return _rejected_response(rejected)

    def _count_api(self, body: JSON, model: str) -> JSON:
        inner = body.get("generateContentRequest")
        if inner is not None:
            if not isinstance(inner, dict):
                raise _bad("Invalid value at 'generate_content_request'")
            counted = {key: value for key, value in inner.items() if key != "model"}
        else:
            counted = body
        validate_request(counted, _GEMINI_API_REQUEST_FIELDS, model, None)
        return {"totalTokens": prompt_tokens(counted)}

    async def _api_generate(
        self, request: web.Request, key: FakeApiKey, model: str, method: str, body: JSON, fault: Fault | None
    ) -> web.StreamResponse:
        stream = method == "streamGenerateContent"
        if stream and request.query.get("alt") != "sse":
            raise _bad("streamGenerateContent needs ?alt=sse (the fake does not send JSON-array streams)")
        self._check_quota(key.models, model, "generativelanguage.googleapis.com")
        validate_request(body, _GEMINI_API_REQUEST_FIELDS, model, self._book(key.key))
        answer = self._answer(body, model, key.key)
        if stream:
            return await self._stream(request, self._stream_chunks(answer, model), fault, None)
        return _json_response(self._whole(answer, model))


_GRANTED_SCOPES = ("openid", CLOUD_PLATFORM_SCOPE, "https://www.googleapis.com/auth/userinfo.email")


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return _json_response({"error": error, "error_description": description}, status)


def _redirect(target: URL, **query: str | None) -> web.Response:
    location = target.update_query({key: value for key, value in query.items() if value is not None})
    return web.Response(status=302, headers={"Location": str(location)})


async def _read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _cloud_code_model(method: str, body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    if method == "countTokens" and isinstance(body.get("request"), dict):
        return str(body["request"].get("model", "")).removeprefix("models/") or None
    model = body.get("model")
    return model if isinstance(model, str) else None


def _api_model(name: str) -> JSON:
    display, limit_in, limit_out, thinking, _ = _model_info(name)
    if "embedding" in name:
        methods = ["embedContent", "batchEmbedContents", "countTokens"]
    elif name.startswith("imagen"):
        methods = ["predict"]
    else:
        methods = ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]
    model: JSON = {
        "name": f"models/{name}",
        "version": "001",
        "displayName": display,
        "description": f"{display} (fake)",
        "inputTokenLimit": limit_in,
        "outputTokenLimit": limit_out,
        "supportedGenerationMethods": methods,
    }
    if thinking:
        model["thinking"] = True
    return model


def _embedding(text: str, dimensions: int) -> list[float]:
    """A deterministic vector from the text, so equal texts embed equally and different ones differ."""
    digest = hashlib.sha256(text.encode()).digest()
    return [round((digest[i % len(digest)] - 127.5) / 127.5, 6) for i in range(dimensions)]


def _embed(body: JSON) -> JSON:
    content = body.get("content")
    if not isinstance(content, dict) or not isinstance(content.get("parts"), list) or not content["parts"]:
        raise _bad("* EmbedContentRequest.content: content is required")
    text = " ".join(str(p.get("text", "")) for p in content["parts"] if isinstance(p, dict))
    dimensions = body.get("outputDimensionality", 8)
    if not isinstance(dimensions, int) or dimensions < 1:
        raise _bad("Invalid value at 'output_dimensionality'")
    return {"values": _embedding(text, dimensions)}


def _batch_embed(body: JSON, model: str) -> JSON:
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise _bad("* BatchEmbedContentsRequest.requests: requests is required")
    embeddings = []
    for index, item in enumerate(requests):
        if not isinstance(item, dict) or item.get("model") != f"models/{model}":
            raise _bad(
                f"* BatchEmbedContentsRequest.requests[{index}].model: the model must be models/{model} "
                "(the one in the URL)"
            )
        embeddings.append(_embed(item))
    return {"embeddings": embeddings}


def _predict(body: JSON) -> JSON:
    instances = body.get("instances")
    if (
        not isinstance(instances, list)
        or not instances
        or not all(isinstance(i, dict) and i.get("prompt") for i in instances)
    ):
        raise _bad("instances must be a list of {prompt}")
    count = (body.get("parameters") or {}).get("sampleCount", 1)
    if not isinstance(count, int) or not 1 <= count <= 4:
        raise _bad("sampleCount must be between 1 and 4")
    return {"predictions": [{"bytesBase64Encoded": TINY_PNG, "mimeType": "image/png"} for _ in range(count)]}
