"""RequestLogWriter: non-blocking record, batched writes from one thread, flush/close, listeners, pruning."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.config import LogSettings
from core.request_log import RequestLogWriter
from core.store import Database
from core.types import LogEntry


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "log.sqlite3")
    yield database
    database.close()


@pytest.fixture
def make_writer(db: Database) -> Iterator[Callable[..., RequestLogWriter]]:
    writers: list[RequestLogWriter] = []

    def make(settings: LogSettings | None = None, **options: float) -> RequestLogWriter:
        writer = RequestLogWriter(db, settings or LogSettings(), **options)  # type: ignore[arg-type]
        writers.append(writer)
        return writer

    yield make
    for writer in writers:
        writer.close()


def entry(path: str = "/v1/chat/completions", **fields: object) -> LogEntry:
    return LogEntry(protocol="openai", path=path, **fields)  # type: ignore[arg-type]


def wait_for(condition: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_entries_from_many_threads_are_all_written_with_ids(
    db: Database, make_writer: Callable[..., RequestLogWriter]
) -> None:
    writer = make_writer()
    writer.start()
    recorded: list[LogEntry] = []
    lock = threading.Lock()

    def produce(thread_index: int) -> None:
        for index in range(250):
            item = entry(f"/t{thread_index}/{index}")
            with lock:
                recorded.append(item)
            writer.record(item)

    threads = [threading.Thread(target=produce, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.flush()
    assert db.count_log() == 1000
    ids = [item.id for item in recorded]
    assert None not in ids
    assert len(set(ids)) == 1000
    stored = db.get_log_entry(recorded[123].id or 0)
    assert stored is not None
    assert stored.path == recorded[123].path


def test_entries_arrive_without_flush_within_the_batch_window(
    db: Database, make_writer: Callable[..., RequestLogWriter]
) -> None:
    writer = make_writer()
    writer.start()
    writer.record(entry())
    started = time.monotonic()
    assert wait_for(lambda: db.count_log() == 1, timeout=1.0)
    assert time.monotonic() - started < 0.5


def test_listeners_get_batches_of_at_most_500_written_rows(
    db: Database, make_writer: Callable[..., RequestLogWriter]
) -> None:
    writer = make_writer()
    batches: list[list[LogEntry]] = []
    writer.add_listener(batches.append)
    for index in range(1200):
        writer.record(entry(f"/{index}"))  # queued before start: kept and written once it runs
    writer.start()
    writer.flush()
    assert sum(len(batch) for batch in batches) == 1200
    assert max(len(batch) for batch in batches) <= 500
    assert len(batches) >= 3
    assert all(item.id is not None for batch in batches for item in batch)
    assert db.count_log() == 1200


def test_record_never_blocks_while_the_database_is_locked(
    db: Database, make_writer: Callable[..., RequestLogWriter]
) -> None:
    writer = make_writer()
    writer.start()
    blocker = sqlite3.connect(db.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock: the worker has to wait
    try:
        started = time.perf_counter()
        for index in range(2000):
            writer.record(entry(f"/{index}"))
        elapsed = time.perf_counter() - started
        time.sleep(0.2)
        assert db.count_log() == 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert elapsed < 0.1
    writer.flush()
    assert db.count_log() == 2000


def test_close_writes_everything_then_record_is_a_no_op(
    db: Database, make_writer: Callable[..., RequestLogWriter]
) -> None:
    writer = make_writer()
    writer.start()
    for index in range(700):
        writer.record(entry(f"/{index}"))
    writer.close()
    assert db.count_log() == 700
    writer.record(entry("/late"))  # never raises
    writer.close()  # idempotent
    writer.flush()  # returns at once: nothing runs
    assert db.count_log() == 700


def test_failing_listener_does_not_stop_the_worker(
    db: Database, make_writer: Callable[..., RequestLogWriter], caplog: pytest.LogCaptureFixture
) -> None:
    writer = make_writer()
    seen: list[int] = []

    def broken(_batch: list[LogEntry]) -> None:
        raise RuntimeError("listener bug")

    writer.add_listener(broken)
    writer.add_listener(lambda batch: seen.extend(item.id or 0 for item in batch))
    writer.start()
    with caplog.at_level(logging.ERROR, logger="core.request_log"):
        writer.record(entry("/first"))
        writer.flush()
        writer.record(entry("/second"))
        writer.flush()
    assert len(seen) == 2
    assert db.count_log() == 2
    assert "listener" in caplog.text


def test_a_bad_entry_loses_only_itself(
    db: Database, make_writer: Callable[..., RequestLogWriter], caplog: pytest.LogCaptureFixture
) -> None:
    writer = make_writer()
    written: list[str] = []
    writer.add_listener(lambda batch: written.extend(item.path for item in batch))
    with caplog.at_level(logging.ERROR, logger="core.request_log"):
        writer.record(entry("/before"))
        writer.record(entry(["not", "bindable"]))  # type: ignore[arg-type]  # sqlite cannot store it
        writer.record(entry("/after"))
        writer.start()
        writer.flush()
        writer.record(entry("/later"))
        writer.flush()
    assert written == ["/before", "/after", "/later"]
    assert sorted(e.path for e in db.query_log()) == ["/after", "/before", "/later"]
    assert "Dropped 1 of 3" in caplog.text


def test_prunes_on_start_and_periodically(db: Database, make_writer: Callable[..., RequestLogWriter]) -> None:
    now = datetime.now(UTC)
    db.insert_log_entries([entry("/ancient", started_at=now - timedelta(days=10)) for _ in range(5)])
    db.insert_log_entries([entry("/fresh", started_at=now - timedelta(seconds=1))])
    settings = LogSettings(retention_days=7, max_rows=20)
    writer = make_writer(settings, prune_interval_s=0.05)
    writer.start()
    assert wait_for(lambda: db.count_log() == 1)
    assert db.query_log()[0].path == "/fresh"
    for index in range(30):
        writer.record(entry(f"/new{index}"))
    writer.flush()
    assert wait_for(lambda: db.count_log() == 20)
    settings.max_rows = 10  # edited settings apply at the next prune, without a restart
    assert wait_for(lambda: db.count_log() == 10)
    paths = [e.path for e in db.query_log(limit=100)]
    assert "/fresh" not in paths  # the oldest go first


def test_each_batch_is_committed_without_a_flush_and_ids_match_their_rows(
    db: Database, make_writer: Callable[..., RequestLogWriter], tmp_path: Path
) -> None:
    # What a kill -9 keeps is what another connection can read: committed rows, not ones waiting in memory.
    writer = make_writer()
    written: list[LogEntry] = []
    writer.add_listener(written.extend)
    writer.start()
    entries = [entry(f"/p{index}", client_model=f"m{index}") for index in range(130)]  # > one INSERT's rows
    for item in entries:
        writer.record(item)

    def committed() -> int:
        with sqlite3.connect(tmp_path / "log.sqlite3") as other:
            count: int = other.execute("SELECT COUNT(*) FROM request_log").fetchone()[0]
            return count

    assert wait_for(lambda: committed() == 130)  # no flush(), no close()
    assert wait_for(lambda: len(written) == 130)  # listeners hear of a batch just after its commit
    for item in written:
        assert item.id is not None
        stored = db.get_log_entry(item.id)
        assert stored is not None and (stored.path, stored.client_model) == (item.path, item.client_model)


def test_checkpoints_run_off_the_writer_thread(
    db: Database, make_writer: Callable[..., RequestLogWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    original = Database.checkpoint

    def recording(self: Database) -> None:
        threads.append(threading.current_thread().name)
        original(self)

    monkeypatch.setattr(Database, "checkpoint", recording)
    monkeypatch.setattr("core.request_log.CHECKPOINT_INTERVAL_S", 0.05)
    writer = make_writer()
    writer.start()
    writer.record(entry("/a"))
    writer.flush()
    assert wait_for(lambda: bool(threads))
    assert set(threads) == {"request-log-checkpoint"}
    # The writer's own commits never checkpoint (an fsync inside a commit holds the rows queued behind it).
    autocheckpoint: list[int] = []
    writer.add_listener(lambda _: autocheckpoint.append(db._fetch("PRAGMA wal_autocheckpoint")[0][0]))
    writer.record(entry("/b"))
    writer.flush()
    assert autocheckpoint == [0]
