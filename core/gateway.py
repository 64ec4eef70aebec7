"""The gateway: one Gemini-format request in, served by a healthy account with failover, answer out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from core.request_log import LogEntry
from core.types import JSON


@dataclass
class GatewayRequest:
    client_model: str  # as the client sent it; mapped to an upstream model by core.models
    body: JSON  # Gemini GenerateContentRequest
    conversation_key: str | None = None
    log: LogEntry | None = None  # the gateway fills upstream_model, account, tokens


@dataclass(frozen=True)
class ModelInfo:
    id: str  # upstream model id, or an alias from the model mapping
    owned_by: str  # "google" / "anthropic" / ...
    display_name: str = ""
    aliases_for: str | None = None  # set on aliases: the upstream model they map to
    accounts: int = 0  # how many enabled accounts offer it
    capabilities: tuple[str, ...] = field(default=("chat",))


class Gateway:
    """Raises core.errors.ApiError for everything the client should see (no account, upstream refusal)."""

    async def generate(self, request: GatewayRequest) -> JSON:
        raise NotImplementedError

    def stream(self, request: GatewayRequest) -> AsyncIterator[JSON]:
        """Failover happens only before the first chunk is yielded; later failures raise ApiError."""
        raise NotImplementedError

    async def count_tokens(self, request: GatewayRequest) -> int:
        raise NotImplementedError

    def models(self) -> list[ModelInfo]:
        raise NotImplementedError
