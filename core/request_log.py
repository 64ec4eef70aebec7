"""The request log: one row per client request, written in batches from a worker thread."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.config import LogSettings
from core.redact import redact
from core.types import LogEntry

if TYPE_CHECKING:
    from core.store import Database

log = logging.getLogger(__name__)

# How long an entry may wait in memory before its batch is committed: what a crash of the app (kill -9) can
# lose, since a committed row survives it (WAL with synchronous=NORMAL). Measured in bench/bench_crash.py;
# the event loop does not pay for the shorter window (bench/bench_gateway.py).
BATCH_SECONDS = 0.005
CHECKPOINT_INTERVAL_S = 1.0  # WAL pages copied into the database this often, off the writer thread

LogListener = Callable[[list[LogEntry]], None]


def redact_entry(entry: LogEntry) -> None:
    """Credentials out of every text a client or upstream could have put in the row, in place.

    The one place rows are written runs this on the writer thread, so whatever a handler put in a row (a
    model name that is a key, an error quoting a bad field, a captured body) is stored redacted, and the
    event loop does not pay for it.
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


_QueueItem = LogEntry | _FlushMarker | _StopMarker


class RequestLogWriter:
    """Takes finished LogEntry objects from any thread without blocking and writes them in batches from
    one worker thread (a batch every BATCH_SECONDS or 500 rows, each its own commit); prunes by retention on
    start and hourly; WAL checkpoints run on a thread of their own.

    Signals (plain callbacks): `add_listener(fn)`, fn(list[LogEntry]) from the worker thread after each
    batch is written (entries carry their ids) — the GUI marshals it to the Qt thread.
    """

    def __init__(
        self,
        db: Database,
        settings: LogSettings,
        *,
        batch_seconds: float = BATCH_SECONDS,
        batch_rows: int = 500,
        prune_interval_s: float = 3600.0,
    ) -> None:
        self._db = db
        self._settings = settings  # read at each prune, so edited settings apply without a restart
        self._batch_seconds = batch_seconds
        self._batch_rows = batch_rows
        self._prune_interval_s = prune_interval_s
        self._queue: queue.SimpleQueue[_QueueItem] = queue.SimpleQueue()
        self._listeners: list[LogListener] = []
        self._thread: threading.Thread | None = None
        self._state_lock = threading.Lock()
        self._closed = False
        self._stopped = threading.Event()  # set when the worker ends; the checkpoint thread follows it

    def start(self) -> None:
        """Start the worker thread (entries recorded before this are kept and written then)."""
        with self._state_lock:
            if self._closed:
                raise RuntimeError("RequestLogWriter is closed")
            if self._thread is not None:
                return
            # A daemon thread: a crash or a forgotten close() must not keep the process alive; what it
            # costs is at most the last batch window of entries.
            self._thread = threading.Thread(target=self._run, name="request-log-writer", daemon=True)
            self._thread.start()

    def record(self, entry: LogEntry) -> None:
        """Queue an entry; never blocks, never raises."""
        if not self._closed:
            self._queue.put(entry)

    def flush(self, timeout: float = 5.0) -> None:
        """Block until everything queued so far is written (call from a thread, or at shutdown)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        marker = _FlushMarker()
        self._queue.put(marker)
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
        thread.join(timeout)
        if thread.is_alive():
            log.warning("Request log writer did not stop within %.1f s", timeout)

    def add_listener(self, listener: Callable[[list[LogEntry]], None]) -> None:
        self._listeners.append(listener)

    def _run(self) -> None:
        # A checkpoint copies the WAL into the database and fsyncs it; run inside a commit (SQLite's
        # auto-checkpoint) it would keep every row queued meanwhile in memory, where a crash loses them.
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
        while True:
            try:
                first = self._queue.get(timeout=max(0.0, next_prune - time.monotonic()))
            except queue.Empty:
                first = None
            if first is not None:
                entries, markers, stop = self._collect(first)
                self._write(entries)
                for marker in markers:
                    marker.done.set()
                if stop:
                    return
            if time.monotonic() >= next_prune:
                self._prune()
                next_prune = time.monotonic() + self._prune_interval_s

    def _collect(self, first: _QueueItem) -> tuple[list[LogEntry], list[_FlushMarker], bool]:
        """One batch: entries until the batch window closes, it is full, a flush asks, or close() stops it.

        The worker sleeps through the batch window and then drains the queue without waiting: a thread
        blocked in get() is woken by every put(), and those per-request GIL hand-offs cost the event loop
        more than the rest of the request log together (measured in bench/).
        """
        entries: list[LogEntry] = []
        markers: list[_FlushMarker] = []
        if isinstance(first, LogEntry):
            time.sleep(self._batch_seconds)
        item: _QueueItem | None = first
        while item is not None:
            if isinstance(item, _StopMarker):
                entries += self._drain(markers)
                return entries, markers, True
            if isinstance(item, _FlushMarker):
                markers.append(item)
                break
            entries.append(item)
            if len(entries) >= self._batch_rows:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                item = None
        return entries, markers, False

    def _drain(self, markers: list[_FlushMarker]) -> list[LogEntry]:
        """Everything still queued, without waiting (used when stopping)."""
        entries: list[LogEntry] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return entries
            if isinstance(item, LogEntry):
                entries.append(item)
            elif isinstance(item, _FlushMarker):
                markers.append(item)

    def _write(self, entries: list[LogEntry]) -> None:
        for entry in entries:
            redact_entry(entry)
        for start in range(0, len(entries), self._batch_rows):
            batch = entries[start : start + self._batch_rows]
            try:
                self._db.insert_log_entries(batch)
            except Exception:
                # The worker must outlive a bad moment (disk full, locked database, one odd entry): write
                # the entries one by one so a single bad one does not take its whole batch with it.
                log.exception("Could not write %d request-log entries; retrying one by one", len(batch))
                batch = self._write_one_by_one(batch)
            if batch:
                self._notify(batch)

    def _write_one_by_one(self, batch: list[LogEntry]) -> list[LogEntry]:
        """The entries that could be written; one log line for those that could not."""
        written: list[LogEntry] = []
        last_error: Exception | None = None
        for entry in batch:
            try:
                self._db.insert_log_entries([entry])
            except Exception as exc:
                last_error = exc
            else:
                written.append(entry)
        if last_error is not None:
            log.error(
                "Dropped %d of %d request-log entries: %s", len(batch) - len(written), len(batch), last_error
            )
        return written

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
