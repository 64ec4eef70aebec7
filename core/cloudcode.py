"""Cloud Code `v1internal` client for Google accounts: envelope, headers, endpoint fallback, streaming."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp

from core.config import UpstreamSettings
from core.types import JSON, ModelQuota


@dataclass(frozen=True)
class ProjectInfo:
    project_id: str
    tier: str | None  # display name: paidTier, else currentTier, else the default allowed tier


@dataclass(frozen=True)
class ModelCatalogue:
    models: dict[str, ModelQuota]  # fetchAvailableModels, keyed by upstream model id
    deprecated: dict[str, str]  # old model id -> new model id


class CloudCodeClient:
    """Calls `{endpoint}/v1internal:{method}`, trying settings.endpoints in order on network errors, 404,
    408, capacity 429 and 5xx. Every failure raises a classified core.errors.UpstreamError."""

    def __init__(self, http: aiohttp.ClientSession, settings: UpstreamSettings) -> None:
        self._http = http
        self._settings = settings

    async def discover_project(self, access_token: str) -> ProjectInfo:
        """loadCodeAssist, then onboardUser (polled until done) when the account has no project yet."""
        raise NotImplementedError

    async def fetch_models(self, access_token: str, project_id: str) -> ModelCatalogue:
        raise NotImplementedError

    async def generate(
        self, access_token: str, project_id: str, model: str, request: JSON, *, session_id: str | None = None
    ) -> JSON:
        """generateContent; returns the unwrapped Gemini GenerateContentResponse."""
        raise NotImplementedError

    def stream_generate(
        self, access_token: str, project_id: str, model: str, request: JSON, *, session_id: str | None = None
    ) -> AsyncIterator[JSON]:
        """streamGenerateContent?alt=sse; yields unwrapped GenerateContentResponse chunks as they arrive.
        Errors before the first chunk and mid-stream both raise UpstreamError (a cut stream: NETWORK)."""
        raise NotImplementedError

    async def count_tokens(self, access_token: str, project_id: str, model: str, request: JSON) -> JSON:
        """countTokens; returns {"totalTokens": N}."""
        raise NotImplementedError
