"""The request log: one row per client request, written in batches from a worker thread, each entry
journaled the moment it is recorded so a crash of the app loses none (core/request_journal.py)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.config import LogSettings
from core.redact import redact
from core.request_journal import RequestJournal
from core.types import LogEntry

if TYPE_CHECKING:
    from core.store import Database

log = logging.getLogger(__name__)

# How long an entry waits in memory before its batch is committed. A crash does not lose it meanwhile (the
# journal has it), so this only trades the writer's wake-ups (each one a GIL hand-off the event loop pays
# for) against how soon the desktop app's request list shows a row.
BATCH_SECONDS = 0.05
CHECKPOINT_INTERVAL_S = 1.0  # WAL pages copied into the database this often, off the writer thread
JOURNAL_SEGMENT_S = 2.0  # a new journal segment this often, so committed ones can be deleted

LogListener = Callable[[list[LogEntry]], None]


def redact_entry(entry: LogEntry) -> None:
    """Credentials out of every text a client or upstream could have put in the row, in place.

    record() runs this before the entry reaches the journal or the database, so whatever a handler put in
    a row (a model name that is a key, an error quoting a bad field, a captured body) is stored redacted.
    """
    entry.path = _redacted(entry.path)
    entry.client_model = _redacted(entry.client_model)
    entry.upstream_model = _redacted(entry.upstream_model)
    entry.error = _redacted(entry.error)
    entry.request_body = _redacted(entry.request_body)
    entry.response_body = _redacted(entry.response_body)


def _redacted[T](value: T) -> T:
    # Only text: an odd value is left for the insert to refuse, which then drops that entry alone.
    return redact(value) if isinstance(value, str) else value  # type: ignore[return-value]


class _FlushMarker:
    """Queued by flush(): set once every entry queued before it is written."""

    def __init__(self) -> None:
        self.done = threading.Event()


class _StopMarker:
    """Queued by close(): write what is left, then end the worker."""


# An entry with the row id it was given and the journal segment that holds it (0 before start()).
_Queued = tuple[int, int, LogEntry]
_QueueItem = _Queued | _FlushMarker | _StopMarker


class RequestLogWriter:
    """Takes finished LogEntry objects from any thread without blocking and writes them in batches from
    one worker thread (a batch every BATCH_SECONDS or 500 rows, each its own commit); journals each entry
    as it is recorded (with a `journal`) and writes what a crash left in it at start; prunes by retention
    on start and hourly; WAL checkpoints run on a thread of their own.

    Signals (plain callbacks): `add_listener(fn)`, fn(list[LogEntry]) from the worker thread after each
    batch is written (entries carry their ids) — the GUI marshals it to the Qt thread.
    """

    def __init__(
        self,
        db: Database,
        settings: LogSettings,
        *,
        journal: RequestJournal | None = None,
        batch_seconds: float = BATCH_SECONDS,
        batch_rows: int = 500,
        prune_interval_s: float = 3600.0,
        segment_seconds: float = JOURNAL_SEGMENT_S,
    ) -> None:
        self._db = db
        self._settings = settings  # read at each prune, so edited settings apply without a restart
        self._journal = journal
        self._batch_seconds = batch_seconds
        self._batch_rows = batch_rows
        self._prune_interval_s = prune_interval_s
        self._segment_seconds = segment_seconds
        self._queue: queue.SimpleQueue[_QueueItem] = queue.SimpleQueue()
        self._listeners: list[LogListener] = []
        self._thread: threading.Thread | None = None
        self._state_lock = threading.Lock()
        # Held for a row id, the journal line and the queue slot, so the queue is in journal order.
        self._record_lock = threading.Lock()
        self._next_id: int | None = None  # set by start(): ids are handed out from the database's last one
        self._discarded_below = 0  # journal segments below this one are deleted
        self._closed = False
        self._hurry = threading.Event()  # set by flush() and close(): end the batch window now
        self._stopped = threading.Event()  # set when the worker ends; the checkpoint thread follows it

    def start(self) -> None:
        """Write what a crash left in the journal, read the last row id, and start the worker thread
        (entries recorded before this are kept and written then). Blocking: call it from a thread."""
        with self._state_lock:
            if self._closed:
                raise RuntimeError("RequestLogWriter is closed")
            if self._thread is not None:
                return
            floor = self._replay_journal()
            with self._record_lock:
                self._next_id = max(floor, self._db.last_log_id()) + 1
                for item in self._take_queued():
                    if isinstance(item, tuple):
                        self._enqueue(item[2])
                    else:
                        self._queue.put(item)
            # A daemon thread: a crash or a forgotten close() must not keep the process alive; the journal
            # keeps what it had not written yet.
            self._thread = threading.Thread(target=self._run, name="request-log-writer", daemon=True)
            self._thread.start()

    def _replay_journal(self) -> int:
        """Write the entries an earlier run journaled but had not committed; the highest id they hold."""
        if self._journal is None:
            return 0
        recovered = self._journal.recover()
        if not recovered:
            return 0
        try:
            self._db.insert_log_entries(
                [entry for _, _, entry in recovered], [row_id for row_id, _, _ in recovered], replay=True
            )
        except Exception:
            # Kept for the next start; new rows are numbered above them so the replay can still happen.
            log.exception("Request log: could not write the %d entries a crash left; kept", len(recovered))
        else:
            self._journal.discard_before(self._journal.segment)
            log.info(
                "Request log: wrote the entries an earlier run left unwritten (up to %d)", len(recovered)
            )
        return max(row_id for row_id, _, _ in recovered)

    def record(self, entry: LogEntry) -> None:
        """Redact, journal and queue an entry; never blocks for long (one short file append), never raises."""
        if self._closed:
            return
        redact_entry(entry)
        with self._record_lock:
            if self._next_id is None:
                self._queue.put((0, 0, entry))  # numbered and journaled by start()
            else:
                self._enqueue(entry)

    def _enqueue(self, entry: LogEntry) -> None:
        """Number, journal and queue one entry (under _record_lock, after start)."""
        assert self._next_id is not None
        row_id, self._next_id = self._next_id, self._next_id + 1
        segment = 0
        if self._journal is not None:
            self._journal.append(row_id, entry)
            segment = self._journal.segment
        self._queue.put((row_id, segment, entry))

    def _take_queued(self) -> list[_QueueItem]:
        items: list[_QueueItem] = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    def flush(self, timeout: float = 5.0) -> None:
        """Block until everything queued so far is written (call from a thread, or at shutdown)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        marker = _FlushMarker()
        self._queue.put(marker)
        self._hurry.set()
        if not marker.done.wait(timeout):
            log.warning("Request log flush timed out after %.1f s", timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Flush and stop the worker thread."""
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is None:
            return
        self._queue.put(_StopMarker())
        self._hurry.set()
        thread.join(timeout)
        if thread.is_alive():
            log.warning("Request log writer did not stop within %.1f s", timeout)

    def add_listener(self, listener: Callable[[list[LogEntry]], None]) -> None:
        self._listeners.append(listener)

    def _run(self) -> None:
        # A checkpoint copies the WAL into the database and fsyncs it; run inside a commit (SQLite's
        # auto-checkpoint) it would hold up the batch behind it.
        try:
            self._db.leave_checkpoints_to_others()
        except Exception:
            log.exception("Request log: could not move checkpoints off the writer")
        checkpoints = threading.Thread(
            target=self._checkpoint_loop, name="request-log-checkpoint", daemon=True
        )
        checkpoints.start()
        try:
            self._write_until_stopped()
        finally:
            self._stopped.set()

    def _checkpoint_loop(self) -> None:
        while not self._stopped.wait(CHECKPOINT_INTERVAL_S):
            try:
                self._db.checkpoint()
            except Exception:
                if self._stopped.is_set():
                    return  # the database closed under it at shutdown
                log.exception("Request log: checkpoint failed")

    def _write_until_stopped(self) -> None:
        self._prune()
        next_prune = time.monotonic() + self._prune_interval_s
        next_segment = time.monotonic() + self._segment_seconds
        while True:
            try:
                first = self._queue.get(timeout=max(0.0, next_prune - time.monotonic()))
            except queue.Empty:
                first = None
            if first is not None:
                items, markers, stop = self._collect(first)
                complete = self._write(items)
                for marker in markers:
                    marker.done.set()
                if stop:
                    if self._journal is not None:
                        self._journal.close(discard=complete)
                    return
                if time.monotonic() >= next_segment and self._journal is not None:
                    with self._record_lock:
                        self._journal.rotate()
                    next_segment = time.monotonic() + self._segment_seconds
            if time.monotonic() >= next_prune:
                self._prune()
                next_prune = time.monotonic() + self._prune_interval_s

    def _collect(self, first: _QueueItem) -> tuple[list[_Queued], list[_FlushMarker], bool]:
        """One batch: entries until the batch window closes, it is full, a flush asks, or close() stops it.

        The worker sleeps through the batch window (flush() and close() end it early) and then drains the
        queue without waiting: a thread
        blocked in get() is woken by every put(), and those per-request GIL hand-offs cost the event loop
        more than the rest of the request log together (measured in bench/).
        """
        items: list[_Queued] = []
        markers: list[_FlushMarker] = []
        if isinstance(first, tuple):
            self._hurry.wait(self._batch_seconds)
            self._hurry.clear()
        item: _QueueItem | None = first
        while item is not None:
            if isinstance(item, _StopMarker):
                items += self._drain(markers)
                return items, markers, True
            if isinstance(item, _FlushMarker):
                markers.append(item)
                break
            items.append(item)
            if len(items) >= self._batch_rows:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                item = None
        return items, markers, False

    def _drain(self, markers: list[_FlushMarker]) -> list[_Queued]:
        """Everything still queued, without waiting (used when stopping)."""
        items: list[_Queued] = []
        for item in self._take_queued():
            if isinstance(item, tuple):
                items.append(item)
            elif isinstance(item, _FlushMarker):
                markers.append(item)
        return items

    def _write(self, items: list[_Queued]) -> bool:
        """Write the entries, then let the journal go of what is committed; False if any was dropped."""
        complete = True
        for start in range(0, len(items), self._batch_rows):
            batch = items[start : start + self._batch_rows]
            try:
                written = [entry for _, _, entry in batch]
                self._numbered(
                    written, self._db.insert_log_entries(written, [row_id for row_id, _, _ in batch])
                )
            except Exception:
                # The worker must outlive a bad moment (disk full, locked database, one odd entry): write
                # the entries one by one so a single bad one does not take its whole batch with it.
                log.exception("Could not write %d request-log entries; retrying one by one", len(batch))
                written = self._write_one_by_one(batch)
                complete = complete and len(written) == len(batch)
            if written:
                self._notify(written)
        newest_segment = max((segment for _, segment, _ in items), default=0)
        if self._journal is not None and newest_segment > self._discarded_below:
            # The queue is in journal order: every entry of an older segment was in this batch or before.
            self._journal.discard_before(newest_segment)
            self._discarded_below = newest_segment
        return complete

    def _write_one_by_one(self, batch: list[_Queued]) -> list[LogEntry]:
        """The entries that could be written; one log line for those that could not."""
        written: list[LogEntry] = []
        last_error: Exception | None = None
        for row_id, _, entry in batch:
            try:
                self._numbered([entry], self._db.insert_log_entries([entry], [row_id]))
            except Exception as exc:
                last_error = exc
            else:
                written.append(entry)
        if last_error is not None:
            log.error(
                "Dropped %d of %d request-log entries: %s", len(batch) - len(written), len(batch), last_error
            )
        return written

    def _numbered(self, entries: list[LogEntry], ids: list[int]) -> None:
        """Give written entries their ids; the store moved them up if another writer (a second process
        on this data folder) had taken theirs, and the ids handed out next follow them."""
        for entry, row_id in zip(entries, ids, strict=True):
            entry.id = row_id
        if ids and self._next_id is not None and ids[-1] >= self._next_id:
            with self._record_lock:
                self._next_id = max(self._next_id, ids[-1] + 1)

    def _notify(self, batch: list[LogEntry]) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(list(batch))
            except Exception:
                log.exception("Request log listener %r failed", listener)

    def _prune(self) -> None:
        try:
            deleted = self._db.prune_log(self._settings.retention_days, self._settings.max_rows)
        except Exception:
            log.exception("Could not prune the request log")
            return
        if deleted:
            log.info("Pruned %d old request-log entries", deleted)
