"""The request log's crash journal: a `kill -9` before a batch commits loses no row, a replay writes none twice,
and the journal holds no secret and no file anyone else can read."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
import textwrap
from pathlib import Path

import pytest

import core.request_journal
from core.config import LogSettings
from core.request_journal import SEGMENT_SUFFIX, RequestJournal, decode_line, encode_line
from core.request_log import RequestLogWriter
from core.store import Database
from core.types import LogEntry
from tests.helpers import child_process

ROOT = Path(__file__).resolve().parents[2]


def segments(folder: Path) -> list[Path]:
    """The journal's segment files (the folder also holds its lock file)."""
    return sorted(folder.glob("*" + SEGMENT_SUFFIX))


SECRET = "sk-gd-" + "k" * 40

# A process that records entries into a writer whose batch never comes (an hour's window), says so, and
# waits to be killed: everything it recorded exists only in its journal.
RECORD_THEN_WAIT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from core.config import LogSettings
    from core.request_journal import RequestJournal
    from core.request_log import RequestLogWriter
    from core.store import Database
    from core.types import LogEntry

    home, count, flush_first = Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "flush"
    db = Database(home / "log.sqlite3")
    writer = RequestLogWriter(
        db, LogSettings(), journal=RequestJournal(home / "pending"), batch_seconds=3600.0
    )
    writer.start()
    for index in range(count):
        writer.record(LogEntry(
            protocol="openai", path=f"/v1/chat/completions/{index}", client_model=f"model-{index}",
            status=200, tokens_in=index, error="bad key " + sys.argv[5] if index == 0 else "",
        ))
    if flush_first:
        writer.flush()  # committed, but the journal still has them: a crash now must not write them twice
    print("recorded", flush=True)
    time.sleep(60)
    """
)


async def record_and_kill(home: Path, count: int, *, flush_first: bool = False) -> None:
    """Run RECORD_THEN_WAIT in a child process and SIGKILL it once it has recorded `count` entries."""
    mode = "flush" if flush_first else "no-flush"
    command = (sys.executable, "-c", RECORD_THEN_WAIT, str(ROOT), str(home), str(count), mode, SECRET)
    async with child_process(*command, stdout=asyncio.subprocess.PIPE) as process:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line.strip() == b"recorded"
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
        assert process.returncode == -signal.SIGKILL


def restart(home: Path) -> Database:
    """A new writer on the same folder, started and closed cleanly, as the next run of the app does."""
    db = Database(home / "log.sqlite3")
    writer = RequestLogWriter(db, LogSettings(), journal=RequestJournal(home / "pending"))
    writer.start()
    writer.close()
    return db


async def test_kill_minus_nine_before_the_batch_commits_loses_no_row(tmp_path: Path) -> None:
    await record_and_kill(tmp_path, 300)
    probe = Database(tmp_path / "log.sqlite3")
    assert probe.count_log() == 0  # nothing was committed: the rows exist only in the journal
    probe.close()

    db = restart(tmp_path)
    try:
        assert db.count_log() == 300
        rows = {row.path: row for row in db.query_log(limit=1000)}
        assert rows["/v1/chat/completions/7"].client_model == "model-7"
        assert rows["/v1/chat/completions/7"].tokens_in == 7
        assert sorted(row.id or 0 for row in rows.values()) == list(range(1, 301))
        assert SECRET not in rows["/v1/chat/completions/0"].error
        assert "[redacted]" in rows["/v1/chat/completions/0"].error
    finally:
        db.close()
    assert segments(tmp_path / "pending") == []  # a clean stop leaves no journal behind


async def test_a_crash_after_the_commit_writes_no_row_twice(tmp_path: Path) -> None:
    await record_and_kill(tmp_path, 120, flush_first=True)
    db = restart(tmp_path)
    try:
        assert db.count_log() == 120
    finally:
        db.close()
    # Ids keep counting from the last one: a new row is not given a recovered row's id.
    db = Database(tmp_path / "log.sqlite3")
    writer = RequestLogWriter(db, LogSettings(), journal=RequestJournal(tmp_path / "pending"))
    writer.start()
    fresh = LogEntry(protocol="openai", path="/after")
    writer.record(fresh)
    writer.close()
    assert fresh.id == 121
    assert db.count_log() == 121
    db.close()


async def test_the_journal_holds_no_secret_and_is_private(tmp_path: Path) -> None:
    db = Database(tmp_path / "log.sqlite3")
    journal_folder = tmp_path / "pending"
    writer = RequestLogWriter(db, LogSettings(), journal=RequestJournal(journal_folder), batch_seconds=3600.0)
    writer.start()
    writer.record(LogEntry(protocol="openai", path="/v1/x", client_model=SECRET, error=f"Bearer {SECRET}"))
    try:
        found = segments(journal_folder)
        assert len(found) == 1
        text = found[0].read_bytes()
        assert b"/v1/x" in text
        assert SECRET.encode() not in text
        if os.name == "posix":
            assert stat.S_IMODE(journal_folder.stat().st_mode) == 0o700
            assert stat.S_IMODE(found[0].stat().st_mode) == 0o600
    finally:
        writer.close()
        db.close()


def test_lines_round_trip_every_field_even_odd_text() -> None:
    entry = LogEntry(
        protocol="anthropic",
        path="/v1/messages",
        client_model="claude-\ud800-x",  # a lone surrogate, as the fuzz test sends
        upstream_model="claude-sonnet-4-5",
        account="a@example.com",
        status=429,
        latency_ms=12.5,
        ttfb_ms=None,
        tokens_in=3,
        tokens_out=4,
        stream=True,
        error="quota",
        request_body='{"a": "ü"}',
        response_body=None,
        account_id="acc",
        key_name="ci",
        key_id="kid",
    )
    row_id, decoded = decode_line(encode_line(42, entry))
    assert row_id == 42
    assert decoded == entry
    # Without the surrogate the line is UTF-8 (the fast path): every other text still comes back as it was.
    entry.client_model, entry.error = 'claude-é中😀\u2028\n"x', "quota \x00 \\ done"
    line = encode_line(43, entry)
    assert line.endswith(b"\n") and b"\n" not in line[:-1]  # one line, whatever the text holds
    assert decode_line(line) == (43, entry)


def record(row_id: int, entry: LogEntry) -> bytes:
    """One record as the journal lays it out on disk: the line's length (4 bytes, little-endian), the line."""
    line = encode_line(row_id, entry)
    return len(line).to_bytes(4, "little") + line


def test_a_record_the_crash_cut_short_is_skipped_and_the_rest_recovered(tmp_path: Path) -> None:
    folder = tmp_path / "pending"
    folder.mkdir()
    torn = record(6, LogEntry(protocol="openai", path="/b"))
    # The crash came while the second record was copied: its data is (partly) there, its length not yet.
    (folder / f"0000000003{SEGMENT_SUFFIX}").write_bytes(
        record(5, LogEntry(protocol="openai", path="/a")) + b"\0\0\0\0" + torn[4:30] + b"\0" * 100
    )
    journal = RequestJournal(folder)
    recovered = journal.recover()
    assert [(row_id, segment, entry.path) for row_id, segment, entry in recovered] == [(5, 3, "/a")]
    assert journal.segment == 4  # appends go after what was found
    journal.close(discard=True)
    assert segments(folder) == []


def test_a_full_segment_goes_on_in_the_next_and_a_big_record_gets_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.request_journal, "SEGMENT_BYTES", 4096)
    folder = tmp_path / "pending"
    journal = RequestJournal(folder)
    journal.recover()
    body = "x" * 10_000  # a captured body bigger than a whole segment
    for index in range(60):
        journal.append(
            index + 1,
            LogEntry(protocol="openai", path=f"/{index}", request_body=body if index == 30 else None),
        )
    assert len(segments(folder)) > 2
    journal.close(discard=False)
    again = RequestJournal(folder)
    recovered = again.recover()
    assert [row_id for row_id, _, _ in recovered] == list(range(1, 61))
    assert recovered[30][2].request_body == body
    again.close(discard=True)


def test_entries_recorded_before_start_are_numbered_after_the_recovered_ones(tmp_path: Path) -> None:
    folder = tmp_path / "pending"
    folder.mkdir()
    (folder / f"0000000001{SEGMENT_SUFFIX}").write_bytes(record(7, LogEntry(protocol="openai", path="/left")))
    db = Database(tmp_path / "log.sqlite3")
    writer = RequestLogWriter(db, LogSettings(), journal=RequestJournal(folder))
    early = LogEntry(protocol="openai", path="/early")
    writer.record(early)
    writer.start()
    writer.close()
    try:
        assert early.id == 8
        assert {row.path: row.id for row in db.query_log()} == {"/left": 7, "/early": 8}
    finally:
        db.close()


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_an_unwritable_journal_folder_leaves_the_request_log_working(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the journal folder would be")
    db = Database(tmp_path / "log.sqlite3")
    writer = RequestLogWriter(db, LogSettings(), journal=RequestJournal(blocked))
    writer.start()
    entry = LogEntry(protocol="openai", path="/still-logged")
    writer.record(entry)
    writer.close()
    try:
        assert [row.path for row in db.query_log()] == ["/still-logged"]
    finally:
        db.close()


def test_rows_another_writer_added_meanwhile_keep_theirs_and_ours(tmp_path: Path) -> None:
    db = Database(tmp_path / "log.sqlite3")
    writer = RequestLogWriter(db, LogSettings(), journal=RequestJournal(tmp_path / "pending"))
    writer.start()  # hands out ids from 1
    # A second writer of this data folder (or a test fixture) takes ids 1-3 first.
    foreign = [LogEntry(protocol="openai", path=f"/foreign/{index}") for index in range(3)]
    db.insert_log_entries(foreign)
    ours = [LogEntry(protocol="openai", path=f"/ours/{index}") for index in range(2)]
    for item in ours:
        writer.record(item)
    writer.flush()
    later = LogEntry(protocol="openai", path="/ours/later")
    writer.record(later)
    writer.close()
    try:
        assert db.count_log() == 6
        assert [item.id for item in foreign] == [1, 2, 3]
        assert [item.id for item in ours] == [4, 5]
        assert later.id == 6
    finally:
        db.close()


def test_a_second_process_on_the_same_folder_does_not_take_the_live_journal(tmp_path: Path) -> None:
    db = Database(tmp_path / "log.sqlite3")
    first = RequestLogWriter(
        db, LogSettings(), journal=RequestJournal(tmp_path / "pending"), batch_seconds=3600.0
    )
    first.start()
    first.record(LogEntry(protocol="openai", path="/first"))
    second = RequestLogWriter(db, LogSettings(), journal=RequestJournal(tmp_path / "pending"))
    second.start()  # the folder is locked: no replay of the first one's live entry, no journal of its own
    second.record(LogEntry(protocol="openai", path="/second"))
    second.close()
    try:
        assert [row.path for row in db.query_log()] == ["/second"]
        found = segments(tmp_path / "pending")
        assert len(found) == 1 and b"/first" in found[0].read_bytes()
        first.close()
        assert sorted(row.path for row in db.query_log()) == ["/first", "/second"]
    finally:
        db.close()
