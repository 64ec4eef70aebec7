"""The request log: one row per client request, written in batches from a worker thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class LogEntry:
    """Filled in as a request goes through the server and gateway; recorded once when it ends."""

    protocol: str  # "openai", "anthropic", "gemini", "ollama"
    path: str
    client_model: str = ""
    upstream_model: str = ""
    account: str = ""  # account e-mail or label, never a secret
    status: int = 0
    latency_ms: float = 0.0
    ttfb_ms: float | None = None  # time to first byte sent to the client
    tokens_in: int = 0
    tokens_out: int = 0
    stream: bool = False
    error: str = ""  # redacted of credentials
    request_body: str | None = None  # only with body capture on; redacted
    response_body: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: int | None = None  # set by the store once written
