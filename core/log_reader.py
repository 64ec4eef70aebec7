"""Reading the request log: the one interface the desktop app and the CLI read it through (pages, counts,
one entry, usage histograms, per-account counts, clearing, export). Each call is async and does its
database work in a worker thread, so the event loop the GUI shares never waits on SQLite."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import json
import threading
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from core.store import Database, HistogramBucket, LogFilter
from core.types import LogEntry

EXPORT_FIELDS = tuple(field.name for field in dataclasses.fields(LogEntry))
EXPORT_PAGE_SIZE = 1000


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON_LINES = "jsonl"

    @classmethod
    def for_path(cls, path: Path) -> ExportFormat:
        return cls.CSV if path.suffix.lower() == ".csv" else cls.JSON_LINES


class ExportCancelled(Exception):
    """The export was cancelled; the partial file was removed."""


class RequestLogReader:
    """The request log as stored, read without blocking the loop (the writer is core.request_log)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def page(self, log_filter: LogFilter, *, limit: int, offset: int = 0) -> list[LogEntry]:
        """Up to `limit` rows matching the filter, newest first, after skipping `offset`."""
        return await asyncio.to_thread(self._db.query_log, log_filter, limit=limit, offset=offset)

    async def count(self, log_filter: LogFilter) -> int:
        return await asyncio.to_thread(self._db.count_log, log_filter)

    async def get(self, entry_id: int) -> LogEntry | None:
        """One row with its bodies (pages may be read without them)."""
        return await asyncio.to_thread(self._db.get_log_entry, entry_id)

    async def histogram(self, since: datetime, bucket_seconds: int) -> list[HistogramBucket]:
        """Totals per bucket of the requests started at or after `since`, oldest first (empty buckets absent)."""
        return await asyncio.to_thread(self._db.log_histogram, since, bucket_seconds)

    async def count_by_account(self, since: datetime) -> tuple[dict[str, int], int]:
        """Requests per account id since `since`, and the newest row id counted (later rows are the caller's)."""
        return await asyncio.to_thread(self._db.count_by_account, since)

    async def clear(self) -> None:
        await asyncio.to_thread(self._db.clear_log)

    async def export(
        self,
        log_filter: LogFilter,
        target: Path | TextIO,
        export_format: ExportFormat,
        *,
        progress: Callable[[int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> int:
        """Write every row matching `log_filter` (newest first), page by page, to a file at `target` or to an
        open text file (standard output, for the CLI); returns rows written.

        The file work runs in a worker thread: `progress(rows_written)` is called after each page (from that
        thread); setting `cancel` stops at the next page and raises ExportCancelled. A file at a path that
        was not written to the end (cancelled, a full disk) is removed.
        """
        return await asyncio.to_thread(_export, self._db, log_filter, target, export_format, progress, cancel)


def _export_record(entry: LogEntry) -> dict[str, Any]:
    record = dataclasses.asdict(entry)
    record["started_at"] = entry.started_at.isoformat()
    return {name: record[name] for name in EXPORT_FIELDS}


def _export(
    db: Database,
    log_filter: LogFilter,
    target: Path | TextIO,
    export_format: ExportFormat,
    progress: Callable[[int], None] | None,
    cancel: threading.Event | None,
) -> int:
    if not isinstance(target, Path):
        return _write_log(db, log_filter, target, export_format, progress, cancel)
    try:
        with target.open("w", encoding="utf-8", newline="") as file:
            return _write_log(db, log_filter, file, export_format, progress, cancel)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _write_log(
    db: Database,
    log_filter: LogFilter,
    file: TextIO,
    export_format: ExportFormat,
    progress: Callable[[int], None] | None,
    cancel: threading.Event | None,
) -> int:
    # Rows written while the export runs shift the pages; rows already written are skipped by id.
    writer = csv.DictWriter(file, fieldnames=EXPORT_FIELDS) if export_format is ExportFormat.CSV else None
    if writer is not None:
        writer.writeheader()
    written: set[int] = set()
    offset = 0
    while True:
        if cancel is not None and cancel.is_set():
            raise ExportCancelled
        page = db.query_log(log_filter, limit=EXPORT_PAGE_SIZE, offset=offset)
        offset += len(page)
        for entry in page:
            if entry.id in written:
                continue
            written.add(entry.id or 0)
            record = _export_record(entry)
            if writer is not None:
                writer.writerow(record)
            else:
                file.write(json.dumps(record, ensure_ascii=False) + "\n")
        if progress is not None:
            progress(len(written))
        if len(page) < EXPORT_PAGE_SIZE:
            return len(written)
