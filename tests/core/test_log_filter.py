"""LogFilter.matches agrees with the SQL filters of Database.query_log (the GUI uses it for live rows)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.store import Database, LogFilter
from core.types import LogEntry

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def entries() -> list[LogEntry]:
    rows: list[dict[str, object]] = [
        {"status": 200, "client_model": "gpt-4o", "upstream_model": "gemini-2.5-pro", "account": "a@x.com"},
        {"status": 429, "client_model": "gpt-4o", "upstream_model": "gemini-2.5-pro", "account": "B@x.com"},
        {
            "status": 500,
            "protocol": "gemini",
            "client_model": "gemini-2.5-flash",
            "error": "upstream 100% down",
        },
        {
            "status": 200,
            "protocol": "ollama",
            "path": "/api/chat",
            "client_model": "llama3",
            "account": "a@x.com",
        },
        {"status": 404, "protocol": "anthropic", "client_model": "claude-x", "error": "No Such model"},
        {"status": 399, "protocol": "openai", "upstream_model": "gpt-4o"},
        {"status": 0, "protocol": "openai", "error": "client went away"},
    ]
    result = []
    for offset, fields in enumerate(rows):
        values: dict[str, object] = {"protocol": "openai", "path": "/v1/chat/completions"} | fields
        result.append(LogEntry(started_at=T0 + timedelta(seconds=offset), **values))  # type: ignore[arg-type]
    return result


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "filter.sqlite3")
    database.insert_log_entries(entries())
    yield database
    database.close()


FILTERS = [
    LogFilter(),
    LogFilter(status="ok"),
    LogFilter(status="error"),
    LogFilter(status=" 429 "),
    LogFilter(status="0"),
    LogFilter(model="gemini-2.5-pro"),
    LogFilter(model="gpt-4o"),
    LogFilter(account="a@x.com"),
    LogFilter(account="b@x.com"),  # exact, as SQL "=" compares
    LogFilter(protocol="openai"),
    LogFilter(text="API/CH"),
    LogFilter(text="no such"),
    LogFilter(text="100%"),
    LogFilter(text="_"),
    LogFilter(text="b@X"),
    LogFilter(status="error", model="gpt-4o", text="x.com"),
    LogFilter(since=T0 + timedelta(seconds=3)),  # at or after: rows 3 to 6
    LogFilter(since=datetime(2026, 3, 1, 12, 0, 4)),  # naive is UTC, as the store reads it
    LogFilter(since=T0 + timedelta(seconds=2, microseconds=1), status="error"),
]


@pytest.mark.parametrize("log_filter", FILTERS, ids=repr)
def test_matches_selects_the_rows_the_query_returns(db: Database, log_filter: LogFilter) -> None:
    from_sql = {entry.id for entry in db.query_log(log_filter, limit=100)}
    in_python = {entry.id for entry in db.query_log(limit=100) if log_filter.matches(entry)}
    assert in_python == from_sql


def test_every_filter_selects_something_and_not_everything(db: Database) -> None:
    """Guards the comparison above against filters that match all rows or none."""
    total = db.count_log()
    counts = {repr(f): db.count_log(f) for f in FILTERS[1:]}
    selects_nothing = {name for name, count in counts.items() if count == 0}
    assert selects_nothing == {repr(LogFilter(account="b@x.com")), repr(LogFilter(text="_"))}
    assert all(count < total for count in counts.values())


def test_a_bad_status_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="status"):
        LogFilter(status="fine").matches(entries()[0])
