"""Cloud Code `v1internal` client for Google accounts: envelope, headers, endpoint fallback, streaming."""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import platform
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any, override

from core import fast_json
from core.config import UpstreamSettings
from core.errors import ErrorKind, UpstreamError
from core.ids import random_uuid
from core.sse import iter_sse_data
from core.types import JSON, Account, ModelQuota, QuotaWindow
from core.upstream import Upstream
from core.upstream_errors import classify_http_error, classify_network_error, parse_rfc3339
from core.upstream_http import Timeouts, UpstreamHTTP, UpstreamHTTPError, UpstreamResponse

CLIENT_METADATA: JSON = {"ideType": "ANTIGRAVITY", "platform": "PLATFORM_UNSPECIFIED", "pluginType": "GEMINI"}
# Sent by the public Antigravity clients; whether the upstream requires it is unknown (protocol doc §3).
# Gemini CLI's fallback when the upstream names no default tier.
FALLBACK_TIER_ID = "legacy-tier"

# Kinds after which the next endpoint may succeed: the endpoint, not the request or the account, failed.
_FALLBACK_KINDS = frozenset({ErrorKind.NETWORK, ErrorKind.CAPACITY, ErrorKind.SERVER, ErrorKind.NOT_FOUND})
_OS_NAMES = {"win32": "windows", "cygwin": "windows", "darwin": "darwin"}
_ARCH_NAMES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "x64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv8l": "arm64",
    "i386": "386",
    "i686": "386",
    "x86": "386",
}


def platform_tag(system: str | None = None, machine: str | None = None) -> str:
    """`<os>/<arch>` in the Go spelling Antigravity's User-Agent uses: windows/amd64, darwin/arm64, linux/amd64."""
    system = sys.platform if system is None else system
    machine = platform.machine() if machine is None else machine
    os_name = _OS_NAMES.get(system, "linux" if system.startswith("linux") else system)
    arch = _ARCH_NAMES.get(machine.lower(), machine.lower() or "amd64")
    return f"{os_name}/{arch}"


def session_number(key: str) -> str:
    """A conversation key as the sessionId peers send: a signed 64-bit integer in decimal, stable per key."""
    digest = hashlib.sha256(key.encode("utf-8", "replace")).digest()
    return str(int.from_bytes(digest[:8], "big", signed=True))


def _declares_functions(request: JSON) -> bool:
    tools = request.get("tools")
    return isinstance(tools, list) and any(
        isinstance(t, dict) and t.get("functionDeclarations") for t in tools
    )


def render_user_agent(template: str, version: str, tag: str | None = None) -> str:
    """The User-Agent from its template: `{version}`, `{os}` and `{arch}` filled in (unknown braces kept)."""
    os_name, _, arch = (tag or platform_tag()).partition("/")
    return template.replace("{version}", version).replace("{os}", os_name).replace("{arch}", arch)


def falls_back(error: UpstreamError) -> bool:
    """Whether another endpoint should be tried after this failure (never for 400/401/403/quota/rate limits)."""
    return error.kind in _FALLBACK_KINDS


def decode_reply(body: bytes, status: int, model: str | None) -> JSON:
    """A 2xx reply body as a JSON object; anything else is the upstream's fault (SERVER)."""
    try:
        document = fast_json.loads(body) if body else {}
    except (ValueError, UnicodeDecodeError):
        raise UpstreamError(
            ErrorKind.SERVER, status, "the upstream sent a reply that is not JSON", model=model
        ) from None
    if not isinstance(document, dict):
        raise UpstreamError(ErrorKind.SERVER, status, "the upstream sent an unexpected reply", model=model)
    return document


def unwrap(document: JSON) -> JSON:
    """The Gemini response inside Cloud Code's `{"response": ..., "traceId": ...}`, or the document itself."""
    inner = document.get("response")
    return inner if isinstance(inner, dict) else document


def is_final_chunk(chunk: JSON) -> bool:
    """Whether a stream chunk ends the answer (a finish reason, or a prompt blocked outright)."""
    candidates = chunk.get("candidates")
    if candidates:
        for candidate in candidates:
            if isinstance(candidate, dict) and candidate.get("finishReason"):
                return True
    feedback = chunk.get("promptFeedback")
    return isinstance(feedback, dict) and bool(feedback.get("blockReason"))


def request_timeout(settings: UpstreamSettings) -> Timeouts:
    return Timeouts(connect=settings.connect_timeout_s, total=settings.request_timeout_s)


def stream_timeout(settings: UpstreamSettings) -> Timeouts:
    # No total: an answer may stream for many minutes. `read` bounds the silence between two reads,
    # which is the per-event idle timeout (and also bounds the wait for the response headers).
    return Timeouts(connect=settings.connect_timeout_s, read=settings.request_timeout_s)


async def post_json(
    http: UpstreamHTTP,
    urls: Sequence[str],
    payload: bytes,
    headers: Mapping[str, str],
    timeouts: Timeouts,
    model: str | None,
) -> JSON:
    """POST to each URL in turn until one answers 2xx or fails in a way another endpoint cannot fix."""
    error: UpstreamError | None = None
    for url in urls:
        try:
            async with await http.request(
                "POST", url, headers=headers, body=payload, timeouts=timeouts
            ) as response:
                body = await response.read()
                status = response.status
                retry_after = response.header("Retry-After")
        except (UpstreamHTTPError, TimeoutError) as exc:
            error = classify_network_error(exc, model=model)
            continue
        if 200 <= status < 300:
            return decode_reply(body, status, model)
        error = classify_http_error(status, body, model=model, retry_after_header=retry_after)
        if not falls_back(error):
            raise error
    raise error or UpstreamError(
        ErrorKind.CLIENT_CONFIG, 0, "no upstream endpoint is configured", model=model
    )


async def stream_json(
    http: UpstreamHTTP,
    urls: Sequence[str],
    payload: bytes,
    headers: Mapping[str, str],
    timeouts: Timeouts,
    model: str | None,
    *,
    unwrap_response: bool,
) -> AsyncIterator[JSON]:
    """POST an SSE request and yield each event's JSON as it arrives, trying the next URL only while nothing
    has been yielded. A stream that stops before its final chunk raises UpstreamError(NETWORK)."""
    error: UpstreamError | None = None
    for url in urls:
        response = await _open_stream(http, url, payload, headers, timeouts, model)
        if isinstance(response, UpstreamError):
            if falls_back(response):  # a network error always does
                error = response
                continue
            raise response
        yielded = False
        complete = False
        try:
            try:
                async for data in iter_sse_data(response.iter_chunks()):
                    chunk = _stream_chunk(data, model, unwrap_response)
                    if chunk is None:
                        continue
                    if not complete:
                        complete = is_final_chunk(chunk)
                    yielded = True
                    yield chunk
            except (UpstreamHTTPError, TimeoutError) as exc:
                raise classify_network_error(exc, model=model) from None
            if not complete:
                raise UpstreamError(
                    ErrorKind.NETWORK, 0, "the stream ended before its final chunk", model=model
                )
            return
        except UpstreamError as failure:
            if yielded or not falls_back(failure):
                raise
            error = failure
        finally:
            if complete:
                response.release()  # read to the end: the connection goes back to the pool
            else:
                response.close()  # abandoned or broken mid-reply: the connection cannot be reused
    raise error or UpstreamError(
        ErrorKind.CLIENT_CONFIG, 0, "no upstream endpoint is configured", model=model
    )


async def _open_stream(
    http: UpstreamHTTP,
    url: str,
    payload: bytes,
    headers: Mapping[str, str],
    timeouts: Timeouts,
    model: str | None,
) -> UpstreamResponse | UpstreamError:
    """The 200 reply to read, or what refused it: a network error, or a non-200 reply (read, then closed)."""
    try:
        response = await http.request("POST", url, headers=headers, body=payload, timeouts=timeouts)
    except (UpstreamHTTPError, TimeoutError) as exc:
        return classify_network_error(exc, model=model)
    if response.status == 200:
        return response
    try:
        return await _error_reply(response, model)
    finally:
        response.close()


async def _error_reply(response: UpstreamResponse, model: str | None) -> UpstreamError:
    try:
        body = await response.read()
    except (UpstreamHTTPError, TimeoutError) as exc:
        return classify_network_error(exc, model=model)
    return classify_http_error(
        response.status, body, model=model, retry_after_header=response.header("Retry-After")
    )


def _stream_chunk(data: str, model: str | None, unwrap_response: bool) -> JSON | None:
    """One SSE event's JSON; None for keep-alive noise. An in-stream `{"error": ...}` is raised."""
    if not data or data == "[DONE]":
        return None
    try:
        document = fast_json.loads(data)
    except ValueError:
        raise UpstreamError(
            ErrorKind.SERVER, 200, "the upstream sent a stream event that is not JSON", model=model
        ) from None
    if isinstance(document, list) and document and isinstance(document[0], dict):
        document = document[0]
    if not isinstance(document, dict):
        raise UpstreamError(
            ErrorKind.SERVER, 200, "the upstream sent an unexpected stream event", model=model
        )
    if "error" in document and "response" not in document and "candidates" not in document:
        error = document["error"]
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) and 400 <= code < 600 else 500
        raise classify_http_error(status, data.encode(), model=model)
    return unwrap(document) if unwrap_response else document


@dataclass(frozen=True)
class ProjectInfo:
    project_id: str
    tier: str | None  # display name: paidTier, else currentTier, else the default allowed tier
    tier_id: str | None = None  # the same tier's id ("free-tier", "standard-tier")


@dataclass(frozen=True)
class ModelCatalogue:
    models: dict[str, ModelQuota]  # fetchAvailableModels, keyed by upstream model id
    deprecated: dict[str, str]  # old model id -> new model id


def _project_id(value: Any) -> str | None:
    """cloudaicompanionProject comes as a string or as {"id": ...}."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str) and value["id"]:
        return str(value["id"])
    return None


def _tier_name(tier: Any) -> str | None:
    if isinstance(tier, dict):
        name = tier.get("name") or tier.get("id")
        return str(name) if name else None
    return None


def _default_tier(reply: JSON) -> JSON | None:
    tiers = [tier for tier in reply.get("allowedTiers") or () if isinstance(tier, dict)]
    for tier in tiers:
        if tier.get("isDefault"):
            return tier
    return tiers[0] if tiers else None


def _display_tier(reply: JSON) -> str | None:
    return (
        _tier_name(reply.get("paidTier"))
        or _tier_name(reply.get("currentTier"))
        or _tier_name(_default_tier(reply))
    )


def _tier_id(reply: JSON) -> str | None:
    for tier in (reply.get("paidTier"), reply.get("currentTier"), _default_tier(reply)):
        if isinstance(tier, dict) and isinstance(tier.get("id"), str) and tier["id"]:
            return str(tier["id"])
    return None


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _fraction(raw: JSON, reset_at: datetime | None, *, missing_is_unknown: bool) -> float | None:
    """remainingFraction clamped to 0-1. Google leaves a 0 out (proto3 JSON), so a resetTime without it means
    spent, except where `missing_is_unknown` (free tiers carry a resetTime without any fraction)."""
    remaining = raw.get("remainingFraction")
    if isinstance(remaining, int | float) and not isinstance(remaining, bool):
        return min(1.0, max(0.0, float(remaining)))
    if reset_at is not None and not missing_is_unknown:
        return 0.0
    return None


def parse_model_catalogue(reply: JSON, *, missing_is_unknown: bool = False) -> ModelCatalogue:
    """fetchAvailableModels' reply as quotas per model; a resetTime without a remainingFraction means 0
    (or unknown, with `missing_is_unknown`: free tiers)."""
    models: dict[str, ModelQuota] = {}
    raw_models = reply.get("models")
    for model_id, info in raw_models.items() if isinstance(raw_models, dict) else ():
        if not isinstance(info, dict):
            continue
        raw_quota = info.get("quotaInfo")
        quota: JSON = raw_quota if isinstance(raw_quota, dict) else {}
        reset_time = quota.get("resetTime")
        reset_at: datetime | None = parse_rfc3339(reset_time) if isinstance(reset_time, str) else None
        fraction = _fraction(quota, reset_at, missing_is_unknown=missing_is_unknown)
        models[model_id] = ModelQuota(
            model=model_id,
            display_name=str(info.get("displayName") or model_id),
            remaining_fraction=fraction,
            reset_at=reset_at,
            max_output_tokens=_as_int(info.get("maxOutputTokens")),
            supports_thinking=bool(info.get("supportsThinking")),
            supports_images=bool(info.get("supportsImages")),
        )
    deprecated: dict[str, str] = {}
    raw_deprecated = reply.get("deprecatedModelIds")
    for old, new in raw_deprecated.items() if isinstance(raw_deprecated, dict) else ():
        target = new.get("newModelId") if isinstance(new, dict) else new
        if isinstance(target, str) and target:
            deprecated[old] = target
    return ModelCatalogue(models=models, deprecated=deprecated)


def _listed_models(raw: JSON) -> set[str]:
    """Model ids a summary group or bucket names itself, in whichever of the shapes peers have seen."""
    listed: set[str] = set()
    for key in ("models", "modelIds", "model_ids"):
        values = raw.get(key)
        for value in values if isinstance(values, list) else ():
            if isinstance(value, str) and value:
                listed.add(value)
            elif isinstance(value, dict):
                name = value.get("id") or value.get("modelId") or value.get("model")
                if isinstance(name, str) and name:
                    listed.add(name)
    return listed


def models_by_family(group: str, models: Sequence[str], family_rules: Mapping[str, str]) -> frozenset[str]:
    """The models a group covers when the summary does not say: a model matching a pattern of
    `family_rules` (setting quota.model_groups) belongs to every group whose name holds that rule's word."""
    name = group.casefold()
    return frozenset(
        model
        for model in models
        if any(
            fnmatch.fnmatchcase(model.casefold(), pattern.casefold()) and word.casefold() in name
            for pattern, word in family_rules.items()
        )
    )


def parse_quota_summary(
    reply: JSON,
    models: Sequence[str],
    family_rules: Mapping[str, str],
    *,
    missing_is_unknown: bool = False,
) -> tuple[QuotaWindow, ...]:
    """retrieveUserQuotaSummary's groups[].buckets[] as windows, each with the catalogue models it covers:
    those the summary lists (on the bucket, else its group), else by family (`models_by_family`)."""
    windows: list[QuotaWindow] = []
    groups = reply.get("groups")
    for group in groups if isinstance(groups, list) else ():
        if not isinstance(group, dict):
            continue
        name = str(group.get("displayName") or group.get("name") or group.get("groupId") or "")
        group_models = _listed_models(group)
        buckets = group.get("buckets")
        for bucket in buckets if isinstance(buckets, list) else ():
            if not isinstance(bucket, dict):
                continue
            reset_time = bucket.get("resetTime")
            reset_at = parse_rfc3339(reset_time) if isinstance(reset_time, str) else None
            listed = _listed_models(bucket) or group_models
            covered = frozenset(listed) if listed else models_by_family(name, models, family_rules)
            windows.append(
                QuotaWindow(
                    group=name or "?",
                    window=str(bucket.get("window") or bucket.get("bucketId") or "?"),
                    remaining_fraction=_fraction(bucket, reset_at, missing_is_unknown=missing_is_unknown),
                    reset_at=reset_at,
                    models=covered,
                    bucket_id=str(bucket.get("bucketId") or ""),
                )
            )
    return tuple(windows)


class CloudCodeClient:
    """Calls `{endpoint}/v1internal:{method}`, trying settings.endpoints in order on network errors, 404,
    408, capacity 429 and 5xx. Every failure raises a classified core.errors.UpstreamError.

    Headers, URLs and timeouts are built once and rebuilt only when the settings they come from change
    (the settings window edits them live), so a request costs one dict copy for its Authorization header.
    """

    def __init__(
        self,
        http: UpstreamHTTP,
        settings: UpstreamSettings,
        *,
        onboard_poll_s: float = 1.0,
        onboard_max_polls: int = 20,
    ) -> None:
        self._http = http
        self._settings = settings
        self._onboard_poll_s = onboard_poll_s
        self._onboard_max_polls = onboard_max_polls
        self._built_for: tuple[Any, ...] = ()
        self._json_headers: dict[str, str] = {}
        self._sse_headers: dict[str, str] = {}
        self._urls: dict[str, list[str]] = {}
        self._request_timeout = request_timeout(settings)
        self._stream_timeout = stream_timeout(settings)
        self._rebuild_if_changed()

    def _rebuild_if_changed(self) -> None:
        settings = self._settings
        key = (
            settings.client_version,
            settings.user_agent,
            tuple(sorted(settings.extra_headers.items())),
            tuple(settings.endpoints),
            settings.request_timeout_s,
            settings.connect_timeout_s,
        )
        if key == self._built_for:
            return
        self._built_for = key
        # Peers send only these three since late 2026; anything more is a setting (upstream.extra_headers).
        self._json_headers = {
            **settings.extra_headers,
            "Content-Type": "application/json",
            "User-Agent": render_user_agent(settings.user_agent, settings.client_version),
        }
        self._sse_headers = {**self._json_headers, "Accept": "text/event-stream"}
        self._urls = {}
        self._request_timeout = request_timeout(settings)
        self._stream_timeout = stream_timeout(settings)

    @property
    def settings(self) -> UpstreamSettings:
        return self._settings

    @property
    def user_agent(self) -> str:
        """The User-Agent this client sends now (for messages that say which identity Google refused)."""
        self._rebuild_if_changed()
        return self._json_headers["User-Agent"]

    def _urls_for(self, method: str) -> list[str]:
        urls = self._urls.get(method)
        if urls is None:
            query = "?alt=sse" if method == "streamGenerateContent" else ""
            urls = [
                f"{endpoint.rstrip('/')}/v1internal:{method}{query}" for endpoint in self._settings.endpoints
            ]
            self._urls[method] = urls
        return urls

    def _headers(self, access_token: str, *, stream: bool) -> dict[str, str]:
        headers = dict(self._sse_headers if stream else self._json_headers)
        headers["Authorization"] = "Bearer " + access_token
        return headers

    async def _call(self, method: str, access_token: str, body: JSON, model: str | None = None) -> JSON:
        self._rebuild_if_changed()
        return await post_json(
            self._http,
            self._urls_for(method),
            fast_json.dumps(body),
            self._headers(access_token, stream=False),
            self._request_timeout,
            model,
        )

    @staticmethod
    def _envelope(project_id: str, model: str, request: JSON, session_id: str | None) -> bytes:
        """The v1internal envelope as late-2026 peers send it: requestType, a fresh requestId, the sessionId
        as a signed 64-bit decimal, and VALIDATED function calling for Claude models that declare tools."""
        extra: JSON = {}
        if session_id is not None:
            extra["sessionId"] = session_number(session_id)
        if "claude" in model.lower() and _declares_functions(request) and "toolConfig" not in request:
            extra["toolConfig"] = {"functionCallingConfig": {"mode": "VALIDATED"}}
        if extra:
            request = {**request, **extra}  # a shallow copy: the caller's dict stays as it was
        return fast_json.dumps(
            {
                "project": project_id,
                "model": model,
                "userAgent": "antigravity",
                "requestType": "image_gen" if "image" in model.lower() else "agent",
                "requestId": f"agent-{random_uuid()}",
                "request": request,
            }
        )

    async def discover_project(self, access_token: str) -> ProjectInfo:
        """loadCodeAssist, then onboardUser (polled until done) when the account has no project yet."""
        reply = await self._call("loadCodeAssist", access_token, {"metadata": CLIENT_METADATA})
        project = _project_id(reply.get("cloudaicompanionProject"))
        if project is not None:
            return ProjectInfo(project, _display_tier(reply), _tier_id(reply))
        tier = _default_tier(reply)
        tier_id = str(tier["id"]) if tier and tier.get("id") else FALLBACK_TIER_ID
        project = await self._onboard(access_token, tier_id)
        return ProjectInfo(project, _display_tier(reply) or tier_id, _tier_id(reply) or tier_id)

    async def _onboard(self, access_token: str, tier_id: str) -> str:
        body = {"tierId": tier_id, "metadata": CLIENT_METADATA}
        for attempt in range(self._onboard_max_polls):
            if attempt:
                await asyncio.sleep(self._onboard_poll_s)
            operation = await self._call("onboardUser", access_token, body)
            if not operation.get("done"):
                continue
            response = operation.get("response")
            project = (
                _project_id(response.get("cloudaicompanionProject")) if isinstance(response, dict) else None
            )
            if project is None:
                raise UpstreamError(
                    ErrorKind.FORBIDDEN,
                    200,
                    f"Google finished onboarding ({tier_id}) without assigning a project",
                )
            return project
        raise UpstreamError(ErrorKind.SERVER, 200, f"Google did not finish onboarding ({tier_id}) in time")

    async def fetch_models(
        self, access_token: str, project_id: str, *, missing_is_unknown: bool = False
    ) -> ModelCatalogue:
        reply = await self._call("fetchAvailableModels", access_token, {"project": project_id})
        return parse_model_catalogue(reply, missing_is_unknown=missing_is_unknown)

    async def fetch_quota_summary(self, access_token: str, project_id: str) -> JSON:
        """retrieveUserQuotaSummary's raw reply (5-hour and weekly buckets per model group); parse it with
        `parse_quota_summary` against the catalogue. Accounts without it answer 404 (NOT_FOUND)."""
        return await self._call("retrieveUserQuotaSummary", access_token, {"project": project_id})

    async def generate(
        self, access_token: str, project_id: str, model: str, request: JSON, *, session_id: str | None = None
    ) -> JSON:
        """generateContent; returns the unwrapped Gemini GenerateContentResponse."""
        self._rebuild_if_changed()
        reply = await post_json(
            self._http,
            self._urls_for("generateContent"),
            self._envelope(project_id, model, request, session_id),
            self._headers(access_token, stream=False),
            self._request_timeout,
            model,
        )
        return unwrap(reply)

    def stream_generate(
        self, access_token: str, project_id: str, model: str, request: JSON, *, session_id: str | None = None
    ) -> AsyncIterator[JSON]:
        """streamGenerateContent?alt=sse; yields unwrapped GenerateContentResponse chunks as they arrive.
        Errors before the first chunk and mid-stream both raise UpstreamError (a cut stream: NETWORK).
        Close the iterator (`aclose`) when abandoning it early so the connection is dropped at once."""
        self._rebuild_if_changed()
        return stream_json(
            self._http,
            self._urls_for("streamGenerateContent"),
            self._envelope(project_id, model, request, session_id),
            self._headers(access_token, stream=True),
            self._stream_timeout,
            model,
            unwrap_response=True,
        )

    async def count_tokens(self, access_token: str, model: str, request: JSON) -> JSON:
        """countTokens; returns {"totalTokens": N}."""
        # The whole request is counted (system instruction and tools included), as the generate call sees it.
        body = {"request": {**request, "model": f"models/{model}"}}
        reply = unwrap(await self._call("countTokens", access_token, body, model))
        total = reply.get("totalTokens")
        if not isinstance(total, int):
            raise UpstreamError(
                ErrorKind.SERVER, 200, "the upstream's token count has no totalTokens", model=model
            )
        return {"totalTokens": total}


def account_project(account: Account) -> str:
    """The Cloud Code project a Google account's calls go to (found at sign-in, cached on the account)."""
    if not account.project_id:
        raise UpstreamError(
            ErrorKind.FORBIDDEN, 0, f"{account.name} has no Cloud Code project; remove it and add it again"
        )
    return account.project_id


def streams_only(model: str, patterns: Sequence[str]) -> bool:
    """Whether a model's non-streaming requests go up as streams (upstream.stream_only_models)."""
    lowered = model.lower()
    return any(fnmatchcase(lowered, pattern.strip().lower()) for pattern in patterns)


def assemble_stream(chunks: Sequence[JSON]) -> JSON:
    """One GenerateContentResponse from a stream's chunks: the parts in order (neighbouring plain texts of one
    kind joined, a signature kept on the text it closes), and the last finish reason, usage and grounding."""
    response: JSON = {}
    parts: list[JSON] = []
    candidate: JSON = {}
    for chunk in chunks:
        for key in ("modelVersion", "responseId", "promptFeedback"):
            if key in chunk and key not in response:
                response[key] = chunk[key]
        if "usageMetadata" in chunk:
            response["usageMetadata"] = chunk["usageMetadata"]
        for raw in chunk.get("candidates") or ():
            if not isinstance(raw, dict) or raw.get("index", 0) != 0:
                continue  # streams carry one candidate
            candidate.update({k: v for k, v in raw.items() if k != "content"})
            content = raw.get("content")
            for part in content.get("parts") or () if isinstance(content, dict) else ():
                if isinstance(part, dict):
                    _add_part(parts, part)
    if candidate or parts:
        candidate["content"] = {"role": "model", "parts": parts}
        candidate.setdefault("index", 0)
        response["candidates"] = [candidate]
    return response


_TEXT_KEYS = frozenset({"text", "thought", "thoughtSignature"})


def _add_part(parts: list[JSON], part: JSON) -> None:
    if part.get("text") == "" and part.keys() <= {"text", "thought"}:
        return  # an empty text (a stream's closing chunk often has one) says nothing
    previous = parts[-1] if parts else None
    if (
        previous is not None
        and isinstance(previous.get("text"), str)
        and isinstance(part.get("text"), str)
        and previous.keys() <= _TEXT_KEYS
        and part.keys() <= _TEXT_KEYS
        and bool(previous.get("thought")) == bool(part.get("thought"))
        and not previous.get("thoughtSignature")  # a signature closes the text it is on
    ):
        parts[-1] = {**previous, **part, "text": previous["text"] + part["text"]}
    else:
        parts.append(dict(part))


class CloudCodeUpstream(Upstream):
    """core.upstream.Upstream for Google sign-in accounts: the account's project, Cloud Code's envelope.

    Non-streaming requests to upstream.stream_only_models are streamed and assembled (generateContent is
    reported to answer them empty)."""

    def __init__(self, client: CloudCodeClient) -> None:
        self._client = client

    @property
    @override
    def client_identity(self) -> str | None:
        return self._client.user_agent

    @override
    async def generate(
        self, account: Account, credential: str, model: str, request: JSON, *, session_id: str | None
    ) -> JSON:
        if not streams_only(model, self._client.settings.stream_only_models):
            return await self._client.generate(
                credential, account_project(account), model, request, session_id=session_id
            )
        chunks = self.stream(account, credential, model, request, session_id=session_id)
        try:
            return assemble_stream([chunk async for chunk in chunks])
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:  # a cancelled request drops the upstream connection at once
                await aclose()

    @override
    def stream(
        self, account: Account, credential: str, model: str, request: JSON, *, session_id: str | None
    ) -> AsyncIterator[JSON]:
        return self._client.stream_generate(
            credential, account_project(account), model, request, session_id=session_id
        )

    @override
    async def count_tokens(self, account: Account, credential: str, model: str, request: JSON) -> int:
        reply = await self._client.count_tokens(credential, model, request)
        return int(reply["totalTokens"])
