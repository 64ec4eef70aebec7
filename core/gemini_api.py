"""Public Gemini API (v1beta) client for API-key accounts; same Gemini format, key in x-goog-api-key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, override
from urllib.parse import quote, urlencode

from core import fast_json
from core.cloudcode import (
    ModelCatalogue,
    decode_reply,
    post_json,
    request_timeout,
    stream_json,
    stream_timeout,
)
from core.config import GeminiApiSettings, UpstreamSettings
from core.errors import ErrorKind, UpstreamError
from core.types import JSON, Account, ModelQuota
from core.upstream import Upstream
from core.upstream_errors import classify_http_error, classify_network_error
from core.upstream_http import UpstreamHTTP, UpstreamHTTPError

MODELS_PAGE_SIZE = 1000  # the API caps it lower; asking for the most keeps the page count small
MAX_MODEL_PAGES = 50  # a guard against a server that keeps sending the same nextPageToken


def _model_id(name: str) -> str:
    return name.removeprefix("models/")


def _model_quota(entry: JSON) -> ModelQuota | None:
    name = entry.get("name") or entry.get("baseModelId")
    if not isinstance(name, str) or not name:
        return None
    model_id = _model_id(name)
    limit = entry.get("outputTokenLimit")
    methods = entry.get("supportedGenerationMethods") or ()
    return ModelQuota(
        model=model_id,
        display_name=str(entry.get("displayName") or model_id),
        remaining_fraction=None,
        max_output_tokens=int(limit) if isinstance(limit, int | float) else None,
        supports_thinking=bool(entry.get("thinking")),
        # The list does not say which models take images; every generateContent model does today.
        supports_images="generateContent" in methods,
    )


class GeminiApiClient:
    """Every failure raises a classified core.errors.UpstreamError; the key never appears in a message or URL."""

    def __init__(self, http: UpstreamHTTP, settings: GeminiApiSettings, upstream: UpstreamSettings) -> None:
        self._http = http
        self._settings = settings
        self._upstream = upstream
        self._built_for: tuple[Any, ...] = ()
        self._base = ""
        self._request_timeout = request_timeout(upstream)
        self._stream_timeout = stream_timeout(upstream)
        self._rebuild_if_changed()

    def _rebuild_if_changed(self) -> None:
        upstream = self._upstream
        key = (self._settings.base_url, upstream.request_timeout_s, upstream.connect_timeout_s)
        if key != self._built_for:
            self._built_for = key
            self._base = self._settings.base_url.rstrip("/") + "/v1beta/models"
            self._request_timeout = request_timeout(upstream)
            self._stream_timeout = stream_timeout(upstream)

    def _url(self, model: str, method: str) -> str:
        return f"{self._base}/{quote(_model_id(model), safe='-._~')}:{method}"

    @staticmethod
    def _headers(api_key: str, *, stream: bool = False) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "x-goog-api-key": api_key}
        if stream:
            headers["Accept"] = "text/event-stream"
        return headers

    async def fetch_models(self, api_key: str) -> ModelCatalogue:
        """GET /v1beta/models (all pages); remaining_fraction stays None (the API does not report quota)."""
        self._rebuild_if_changed()
        models: dict[str, ModelQuota] = {}
        page_token: str | None = None
        headers = {"x-goog-api-key": api_key}
        for _ in range(MAX_MODEL_PAGES):
            params = {"pageSize": str(MODELS_PAGE_SIZE)}
            if page_token:
                params["pageToken"] = page_token
            reply = await self._get(self._base, params, headers)
            for entry in reply.get("models") or ():
                if isinstance(entry, dict) and (quota := _model_quota(entry)) is not None:
                    models[quota.model] = quota
            next_token = reply.get("nextPageToken")
            if not isinstance(next_token, str) or not next_token or next_token == page_token:
                break
            page_token = next_token
        return ModelCatalogue(models=models, deprecated={})

    async def _get(self, url: str, params: dict[str, str], headers: dict[str, str]) -> JSON:
        try:
            async with await self._http.request(
                "GET", f"{url}?{urlencode(params)}", headers=headers, timeouts=self._request_timeout
            ) as response:
                body = await response.read()
                status = response.status
                retry_after = response.header("Retry-After")
        except (UpstreamHTTPError, TimeoutError) as exc:
            raise classify_network_error(exc) from None
        if not 200 <= status < 300:
            raise classify_http_error(status, body, model=None, retry_after_header=retry_after)
        return decode_reply(body, status, None)

    async def generate(self, api_key: str, model: str, request: JSON) -> JSON:
        """generateContent; the bare Gemini GenerateContentResponse."""
        self._rebuild_if_changed()
        return await post_json(
            self._http,
            (self._url(model, "generateContent"),),
            fast_json.dumps(request),
            self._headers(api_key),
            self._request_timeout,
            model,
        )

    def stream_generate(self, api_key: str, model: str, request: JSON) -> AsyncIterator[JSON]:
        """streamGenerateContent?alt=sse; chunks as they arrive, a cut stream raises UpstreamError(NETWORK)."""
        self._rebuild_if_changed()
        return stream_json(
            self._http,
            (self._url(model, "streamGenerateContent") + "?alt=sse",),
            fast_json.dumps(request),
            self._headers(api_key, stream=True),
            self._stream_timeout,
            model,
            unwrap_response=False,
        )

    async def call(self, api_key: str, model: str, method: str, body: JSON) -> JSON:
        """Any other `models/{model}:{method}` call (embedContent, batchEmbedContents, predict): the bare reply."""
        self._rebuild_if_changed()
        return await post_json(
            self._http,
            (self._url(model, method),),
            fast_json.dumps(body),
            self._headers(api_key),
            self._request_timeout,
            model,
        )

    async def count_tokens(self, api_key: str, model: str, request: JSON) -> JSON:
        """countTokens for a whole request (system instruction and tools included); returns {"totalTokens": N}."""
        self._rebuild_if_changed()
        body = {"generateContentRequest": {**request, "model": f"models/{_model_id(model)}"}}
        reply = await post_json(
            self._http,
            (self._url(model, "countTokens"),),
            fast_json.dumps(body),
            self._headers(api_key),
            self._request_timeout,
            model,
        )
        total = reply.get("totalTokens")
        if not isinstance(total, int):
            raise UpstreamError(
                ErrorKind.SERVER, 200, "the upstream's token count has no totalTokens", model=model
            )
        return {"totalTokens": total}


class GeminiApiUpstream(Upstream):
    """core.upstream.Upstream for Gemini API key accounts (no project, no session id, no client identity)."""

    def __init__(self, client: GeminiApiClient) -> None:
        self._client = client

    @property
    @override
    def client_identity(self) -> str | None:
        return None  # the public API never calls its caller outdated

    @override
    async def generate(
        self, account: Account, credential: str, model: str, request: JSON, *, session_id: str | None
    ) -> JSON:
        return await self._client.generate(credential, model, request)

    @override
    def stream(
        self, account: Account, credential: str, model: str, request: JSON, *, session_id: str | None
    ) -> AsyncIterator[JSON]:
        return self._client.stream_generate(credential, model, request)

    @override
    async def count_tokens(self, account: Account, credential: str, model: str, request: JSON) -> int:
        reply = await self._client.count_tokens(credential, model, request)
        return int(reply["totalTokens"])
