"""The request log: one row per client request, written in batches from a worker thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from core.config import LogSettings

if TYPE_CHECKING:
    from core.store import Database


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


class RequestLogWriter:
    """Takes finished LogEntry objects from any thread without blocking and writes them in batches from
    one worker thread (a batch every ~100 ms or 500 rows); prunes by retention on start and hourly.

    Signals (plain callbacks): `add_listener(fn)`, fn(list[LogEntry]) from the worker thread after each
    batch is written (entries carry their ids) — the GUI marshals it to the Qt thread.
    """

    def __init__(self, db: Database, settings: LogSettings) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def record(self, entry: LogEntry) -> None:
        """Queue an entry; never blocks, never raises."""
        raise NotImplementedError

    def flush(self, timeout: float = 5.0) -> None:
        """Block until everything queued so far is written (call from a thread, or at shutdown)."""
        raise NotImplementedError

    def close(self) -> None:
        """Flush and stop the worker thread."""
        raise NotImplementedError

    def add_listener(self, listener: Callable[[list[LogEntry]], None]) -> None:
        raise NotImplementedError
