"""The upstream interface: what the gateway asks of an upstream, whichever kind of account serves a request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from core.types import JSON, Account, AccountKind


class Upstream(Protocol):
    """One kind of upstream speaking Gemini's format: Cloud Code for Google sign-ins (core.cloudcode), the
    public Gemini API for API keys (core.gemini_api).

    Every method takes the account and its current credential (access token or API key), the upstream model id
    and a Gemini GenerateContentRequest, and raises a classified core.errors.UpstreamError on failure.
    """

    @property
    def client_identity(self) -> str | None:
        """The client identity this upstream may call outdated in a normal-looking reply (Cloud Code's
        User-Agent), so the gateway checks replies for that; None when the upstream never does."""
        ...

    async def generate(
        self, account: Account, credential: str, model: str, request: JSON, *, session_id: str | None
    ) -> JSON:
        """One whole GenerateContentResponse."""
        ...

    def stream(
        self, account: Account, credential: str, model: str, request: JSON, *, session_id: str | None
    ) -> AsyncIterator[JSON]:
        """GenerateContentResponse chunks as they arrive (close the iterator to abandon the answer)."""
        ...

    async def count_tokens(self, account: Account, credential: str, model: str, request: JSON) -> int:
        """The upstream's token count for the whole request (system instruction and tools included)."""
        ...


Upstreams = Mapping[AccountKind, Upstream]
"""The upstream that serves each kind of account."""
