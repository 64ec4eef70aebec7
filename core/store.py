"""SQLite storage (WAL): account metadata and the request log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.request_log import LogEntry
from core.types import Account


@dataclass
class LogFilter:
    """Request-log query filters; None means no filter."""

    status: str | None = None  # "ok" (<400), "error" (>=400), or an exact code like "429"
    model: str | None = None  # matches client or upstream model
    account: str | None = None
    protocol: str | None = None
    text: str | None = None  # substring of path, models, account or error


class Database:
    """Blocking sqlite3 API: call it from a worker thread (asyncio.to_thread), never on the event loop.
    Safe to use from several threads (one connection per thread)."""

    def __init__(self, path: Path) -> None:
        raise NotImplementedError

    def list_accounts(self) -> list[Account]:
        raise NotImplementedError

    def save_account(self, account: Account) -> None:
        raise NotImplementedError

    def delete_account(self, account_id: str) -> None:
        raise NotImplementedError

    def insert_log_entries(self, entries: list[LogEntry]) -> None:
        """Insert in one transaction and set each entry's id."""
        raise NotImplementedError

    def query_log(self, log_filter: LogFilter | None = None, *, limit: int = 100, offset: int = 0) -> list[LogEntry]:
        """Newest first."""
        raise NotImplementedError

    def count_log(self, log_filter: LogFilter | None = None) -> int:
        raise NotImplementedError

    def prune_log(self, retention_days: int, max_rows: int) -> int:
        """Delete rows older than retention_days and beyond the newest max_rows; returns rows deleted."""
        raise NotImplementedError

    def clear_log(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
