"""Public Gemini API (v1beta) client for API-key accounts; same Gemini format, key in x-goog-api-key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp

from core.cloudcode import ModelCatalogue
from core.config import GeminiApiSettings, UpstreamSettings
from core.types import JSON


class GeminiApiClient:
    """Every failure raises a classified core.errors.UpstreamError; the key never appears in a message or URL."""

    def __init__(
        self, http: aiohttp.ClientSession, settings: GeminiApiSettings, upstream: UpstreamSettings
    ) -> None:
        self._http = http
        self._settings = settings
        self._upstream = upstream

    async def fetch_models(self, api_key: str) -> ModelCatalogue:
        """GET /v1beta/models (all pages); remaining_fraction stays None (the API does not report quota)."""
        raise NotImplementedError

    async def generate(self, api_key: str, model: str, request: JSON) -> JSON:
        raise NotImplementedError

    def stream_generate(self, api_key: str, model: str, request: JSON) -> AsyncIterator[JSON]:
        raise NotImplementedError

    async def count_tokens(self, api_key: str, model: str, request: JSON) -> JSON:
        raise NotImplementedError
