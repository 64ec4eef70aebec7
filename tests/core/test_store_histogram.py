"""Database.log_histogram: requests, errors and tokens per time bucket, from the started_at index."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.store import Database, HistogramBucket
from core.types import LogEntry

HOUR = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "histogram.sqlite3")
    yield database
    database.close()


def entry(at: datetime, status: int = 200, tokens_in: int = 0, tokens_out: int = 0) -> LogEntry:
    return LogEntry(
        protocol="openai",
        path="/v1/chat/completions",
        status=status,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        started_at=at,
    )


def test_hourly_buckets_count_requests_errors_and_tokens(db: Database) -> None:
    db.insert_log_entries(
        [
            entry(HOUR - timedelta(minutes=90), tokens_in=1000),  # before `since`: left out
            entry(HOUR + timedelta(minutes=1, microseconds=5), tokens_in=10, tokens_out=3),
            entry(HOUR + timedelta(minutes=59, seconds=59, microseconds=999_999), status=429),
            entry(HOUR + timedelta(hours=2, minutes=30), status=500, tokens_in=7, tokens_out=1),
            entry(HOUR + timedelta(hours=2, minutes=31), status=399, tokens_in=5, tokens_out=5),
        ]
    )
    buckets = db.log_histogram(HOUR - timedelta(minutes=30), 3600)
    assert buckets == [
        HistogramBucket(HOUR, requests=2, errors=1, tokens_in=10, tokens_out=3),
        HistogramBucket(HOUR + timedelta(hours=2), requests=2, errors=1, tokens_in=12, tokens_out=6),
    ]
    start, requests, errors, tokens_in, tokens_out = buckets[0]  # a plain tuple too
    assert (start.tzinfo, requests, errors, tokens_in, tokens_out) == (UTC, 2, 1, 10, 3)


def test_minute_buckets_align_to_the_minute_whatever_the_offset_of_since(db: Database) -> None:
    times = [HOUR + timedelta(seconds=s) for s in (5, 59, 60, 61, 185)]
    db.insert_log_entries([entry(at) for at in times])
    buckets = db.log_histogram(HOUR + timedelta(seconds=3), 60)
    assert [(b.start - HOUR, b.requests) for b in buckets] == [
        (timedelta(0), 2),
        (timedelta(minutes=1), 2),
        (timedelta(minutes=3), 1),
    ]


def test_empty_log_and_bad_bucket_size(db: Database) -> None:
    assert db.log_histogram(HOUR, 60) == []
    with pytest.raises(ValueError, match="positive"):
        db.log_histogram(HOUR, 0)


def test_rows_in_other_time_zones_land_in_their_utc_bucket(db: Database) -> None:
    paris = datetime(2026, 3, 1, 13, 30, tzinfo=UTC).astimezone(timezone(timedelta(hours=1)))
    db.insert_log_entries([entry(paris)])
    (bucket,) = db.log_histogram(HOUR, 3600)
    assert bucket.start == HOUR + timedelta(hours=1)


def test_a_day_of_100k_rows_is_aggregated_quickly_and_uses_the_index(db: Database) -> None:
    start = HOUR - timedelta(days=2)
    step = timedelta(days=3) / 100_000
    db.insert_log_entries([entry(start + step * i, tokens_in=1) for i in range(100_000)])
    since = HOUR
    began = time.perf_counter()
    buckets = db.log_histogram(since, 3600)
    elapsed = time.perf_counter() - began
    assert sum(b.requests for b in buckets) == sum(b.tokens_in for b in buckets)
    assert 33_000 <= sum(b.requests for b in buckets) <= 33_400  # the last third of three days
    assert len(buckets) == 24
    assert elapsed < 1.0
    plan = db._fetch("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM request_log WHERE started_at >= ?", ("x",))
    assert any("request_log_started_at" in row[3] for row in plan)


def test_count_by_account_since_a_moment(tmp_path: Path) -> None:
    db = Database(tmp_path / "log.sqlite3")
    try:
        midnight = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
        entries = [
            LogEntry(
                protocol="openai",
                path="/v1/chat/completions",
                account="a@x",
                account_id="id-a",
                started_at=midnight - timedelta(minutes=1),
            ),
            LogEntry(
                protocol="openai",
                path="/v1/chat/completions",
                account="a@x",
                account_id="id-a",
                started_at=midnight,
            ),
            LogEntry(
                protocol="openai",
                path="/v1/chat/completions",
                account="a@x",
                account_id="id-a",
                started_at=midnight + timedelta(hours=3),
            ),
            LogEntry(
                protocol="openai",
                path="/v1/chat/completions",
                account="b@x",
                account_id="id-b",
                started_at=midnight + timedelta(hours=1),
            ),
            LogEntry(
                protocol="openai", path="/v1/models", account="", started_at=midnight + timedelta(hours=2)
            ),
        ]
        db.insert_log_entries(entries)
        counts, newest = db.count_by_account(midnight)
        assert counts == {"id-a": 2, "id-b": 1}
        assert newest == max(entry.id or 0 for entry in entries)
        assert db.count_by_account(midnight + timedelta(days=1))[0] == {}
    finally:
        db.close()
