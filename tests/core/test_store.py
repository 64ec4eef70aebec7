"""Database: schema migrations, accounts, the request log (filters, paging, pruning), threads and speed."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.store import MIGRATIONS, Database, DatabaseError, LogFilter
from core.types import Account, AccountKind, AccountStatus, LogEntry, ModelQuota

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "test.sqlite3")
    yield database
    database.close()


def entry(offset_s: float, **fields: object) -> LogEntry:
    values: dict[str, object] = {"protocol": "openai", "path": "/v1/chat/completions", "status": 200}
    values.update(fields)
    return LogEntry(started_at=T0 + timedelta(seconds=offset_s), **values)  # type: ignore[arg-type]


def test_new_file_gets_wal_and_the_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "new.sqlite3"
    database = Database(path)
    database.close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        indexes = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        raw.close()
    assert {"accounts", "request_log"} <= tables
    for column in ("started_at", "status", "client_model", "account", "protocol"):
        assert f"request_log_{column}" in indexes


def test_each_connection_has_a_busy_timeout(db: Database) -> None:
    timeouts: list[int] = []

    def read_timeout() -> None:
        timeouts.append(db._connection().execute("PRAGMA busy_timeout").fetchone()[0])

    read_timeout()
    thread = threading.Thread(target=read_timeout)
    thread.start()
    thread.join()
    assert len(timeouts) == 2
    assert all(timeout >= 1000 for timeout in timeouts)


def test_reopening_keeps_data_and_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    first = Database(path)
    first.insert_log_entries([entry(0)])
    first.close()
    second = Database(path)
    assert second.count_log() == 1
    second.close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(DatabaseError, match="newer"):
        Database(path)


def test_account_round_trip_keeps_every_field(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    account = Account(
        id="a1b2c3d4e5f6",
        kind=AccountKind.GOOGLE,
        email="a@example.com",
        label="work",
        project_id="proj-a",
        tier="Gemini Code Assist Free",
        enabled=False,
        status=AccountStatus.BLOCKED,
        status_reason="verify your account",
        quotas={
            "gemini-2.5-pro": ModelQuota(
                "gemini-2.5-pro",
                display_name="Gemini 2.5 Pro",
                remaining_fraction=0.25,
                reset_at=T0 + timedelta(hours=5),
                max_output_tokens=65536,
                supports_thinking=True,
                supports_images=True,
            ),
            "claude-sonnet-4-5": ModelQuota("claude-sonnet-4-5"),
        },
        quota_updated_at=T0,
        created_at=T0 - timedelta(days=3),
        last_used_at=T0 + timedelta(minutes=1),
    )
    database = Database(path)
    database.save_account(account)
    database.close()
    reopened = Database(path)
    try:
        [loaded] = reopened.list_accounts()
    finally:
        reopened.close()
    assert loaded == account
    assert loaded.created_at.tzinfo is not None
    assert loaded.quotas["gemini-2.5-pro"].reset_at == T0 + timedelta(hours=5)


def test_accounts_keep_the_order_they_were_added(db: Database) -> None:
    for index, name in enumerate(["c", "a", "b"]):
        db.save_account(Account(id=name, kind=AccountKind.API_KEY, created_at=T0 + timedelta(seconds=index)))
    updated = db.list_accounts()[0]
    updated.label = "renamed"
    db.save_account(updated)
    accounts = db.list_accounts()
    assert [a.id for a in accounts] == ["c", "a", "b"]
    assert accounts[0].label == "renamed"
    db.delete_account("a")
    db.delete_account("missing")
    assert [a.id for a in db.list_accounts()] == ["c", "b"]


def test_insert_sets_increasing_ids_and_query_is_newest_first(db: Database) -> None:
    entries = [entry(10, path="/middle"), entry(0, path="/oldest"), entry(20, path="/newest")]
    db.insert_log_entries(entries)
    ids: list[int] = []
    for e in entries:
        assert isinstance(e.id, int)
        ids.append(e.id)
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [e.path for e in db.query_log()] == ["/newest", "/middle", "/oldest"]
    newest = db.query_log(limit=1)[0]
    assert newest.id == entries[2].id
    assert newest.started_at == T0 + timedelta(seconds=20)
    assert newest.started_at.tzinfo is not None


def test_log_entry_round_trip(db: Database) -> None:
    original = LogEntry(
        protocol="anthropic",
        path="/v1/messages",
        client_model="claude-3-5-sonnet",
        upstream_model="claude-sonnet-4-5",
        account="a@example.com",
        status=429,
        latency_ms=1234.5,
        ttfb_ms=80.25,
        tokens_in=12,
        tokens_out=34,
        stream=True,
        error="quota exhausted",
        request_body='{"model": "x"}',
        response_body="data: {}",
        started_at=T0,
    )
    db.insert_log_entries([original])
    [loaded] = db.query_log()
    assert loaded == original


def test_naive_datetimes_are_taken_as_utc(db: Database) -> None:
    db.insert_log_entries([LogEntry(protocol="openai", path="/x", started_at=datetime(2026, 1, 2, 3, 4, 5))])
    assert db.query_log()[0].started_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def mixed_log(db: Database) -> Database:
    db.insert_log_entries(
        [
            entry(0, status=200, client_model="gpt-4o", upstream_model="gemini-2.5-pro", account="a@x.com"),
            entry(1, status=429, client_model="gpt-4o", upstream_model="gemini-2.5-pro", account="b@x.com"),
            entry(
                2, status=500, protocol="gemini", client_model="gemini-2.5-flash", error="upstream 100% down"
            ),
            entry(
                3, status=200, protocol="ollama", path="/api/chat", client_model="llama3", account="a@x.com"
            ),
            entry(4, status=404, protocol="anthropic", client_model="claude-x", error="no such model"),
        ]
    )
    return db


@pytest.mark.parametrize(
    ("log_filter", "expected_offsets"),
    [
        (LogFilter(), [4, 3, 2, 1, 0]),
        (LogFilter(status="ok"), [3, 0]),
        (LogFilter(status="error"), [4, 2, 1]),
        (LogFilter(status="429"), [1]),
        (LogFilter(model="gemini-2.5-pro"), [1, 0]),  # upstream model
        (LogFilter(model="llama3"), [3]),  # client model
        (LogFilter(account="a@x.com"), [3, 0]),
        (LogFilter(protocol="gemini"), [2]),
        (LogFilter(text="api/ch"), [3]),  # path
        (LogFilter(text="such"), [4]),  # error
        (LogFilter(text="B@X"), [1]),  # account, any case
        (LogFilter(text="100%"), [2]),  # a LIKE wildcard taken literally
        (LogFilter(text="_"), []),
        (LogFilter(status="error", model="gpt-4o"), [1]),
    ],
)
def test_filters(mixed_log: Database, log_filter: LogFilter, expected_offsets: list[int]) -> None:
    found = mixed_log.query_log(log_filter)
    assert [round((e.started_at - T0).total_seconds()) for e in found] == expected_offsets
    assert mixed_log.count_log(log_filter) == len(expected_offsets)


def test_bad_status_filter_is_a_value_error(db: Database) -> None:
    with pytest.raises(ValueError, match="status"):
        db.query_log(LogFilter(status="fine"))


def test_paging(mixed_log: Database) -> None:
    first = mixed_log.query_log(limit=2)
    second = mixed_log.query_log(limit=2, offset=2)
    third = mixed_log.query_log(limit=2, offset=4)
    assert [len(first), len(second), len(third)] == [2, 2, 1]
    assert len({e.id for e in first + second + third}) == 5


def test_model_filter_pages_through_both_columns_without_duplicates(db: Database) -> None:
    # Rows naming the model as client model, as upstream model, as both, and not at all, interleaved.
    shapes = [("m", "x"), ("x", "m"), ("m", "m"), ("x", "y")]
    db.insert_log_entries(
        [
            entry(i, client_model=shapes[i % 4][0], upstream_model=shapes[i % 4][1], status=200 + i % 2)
            for i in range(40)
        ]
    )
    expected = [i for i in reversed(range(40)) if i % 4 != 3]
    pages = [db.query_log(LogFilter(model="m"), limit=7, offset=start) for start in range(0, 35, 7)]
    found = [round((e.started_at - T0).total_seconds()) for page in pages for e in page]
    assert found == expected
    assert db.count_log(LogFilter(model="m")) == 30
    odd = db.query_log(LogFilter(model="m", status="201"), limit=100)
    assert [round((e.started_at - T0).total_seconds()) for e in odd] == [i for i in expected if i % 2]


def test_prune_by_age_and_rows(db: Database) -> None:
    now = datetime.now(UTC)
    old = [LogEntry(protocol="openai", path="/old", started_at=now - timedelta(days=40)) for _ in range(3)]
    recent = [
        LogEntry(protocol="openai", path=f"/recent{i}", started_at=now - timedelta(minutes=i))
        for i in range(6)
    ]
    db.insert_log_entries(old + recent)
    assert db.prune_log(retention_days=30, max_rows=0) == 3
    assert db.count_log() == 6
    assert db.prune_log(retention_days=30, max_rows=4) == 2
    assert [e.path for e in db.query_log()] == ["/recent0", "/recent1", "/recent2", "/recent3"]
    assert db.prune_log(retention_days=30, max_rows=4) == 0
    db.clear_log()
    assert db.count_log() == 0


def test_threads_write_concurrently_through_their_own_connections(db: Database) -> None:
    errors: list[BaseException] = []
    connections: set[int] = set()

    def work(thread_index: int) -> None:
        try:
            connections.add(id(db._connection()))
            for batch in range(10):
                db.insert_log_entries([entry(batch, account=f"t{thread_index}") for _ in range(20)])
                db.query_log(LogFilter(account=f"t{thread_index}"), limit=5)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(connections) == 6
    assert db.count_log() == 6 * 10 * 20
    assert db.count_log(LogFilter(account="t3")) == 200


def test_closed_database_refuses_work(tmp_path: Path) -> None:
    database = Database(tmp_path / "db.sqlite3")
    database.close()
    with pytest.raises((DatabaseError, sqlite3.ProgrammingError)):
        database.count_log()


def test_filtered_page_stays_fast_at_100k_rows(db: Database) -> None:
    protocols = ["openai", "anthropic", "gemini", "ollama"]
    models = ["gpt-4o", "claude-3-5-sonnet", "gemini-2.5-flash", "llama3", "gpt-3.5-turbo"]
    statuses = [200, 200, 200, 200, 200, 200, 200, 429, 500, 400]
    total = 100_000
    for start in range(0, total, 10_000):
        db.insert_log_entries(
            [
                LogEntry(
                    protocol=protocols[i % 4],
                    path="/v1/chat/completions",
                    client_model=models[i % 5],
                    upstream_model="gemini-2.5-pro",
                    account=f"user{i % 7}@example.com",
                    status=statuses[i % 10],
                    started_at=T0 + timedelta(seconds=i),
                    error="quota exhausted" if statuses[i % 10] == 429 else "",
                )
                for i in range(start, start + 10_000)
            ]
        )
    assert db.count_log() == total
    filters = [
        LogFilter(),
        LogFilter(status="error"),
        LogFilter(status="429", protocol="anthropic"),
        LogFilter(model="llama3"),
        LogFilter(model="gemini-2.5-pro"),
        LogFilter(account="user3@example.com"),
        LogFilter(protocol="ollama"),
        LogFilter(text="quota"),
    ]
    for log_filter in filters:
        started = time.perf_counter()
        page = db.query_log(log_filter, limit=100, offset=200)
        elapsed = time.perf_counter() - started
        assert len(page) == 100
        assert page[0].started_at > page[-1].started_at
        assert elapsed < 0.25, f"{log_filter} took {elapsed * 1000:.0f} ms"
