"""Log lines leave the program from a thread of their own, so writing them never stops the server.

A stderr nobody reads (a launcher that captured it and forgot it) fills after a few hundred access lines,
and a paused Windows console (a click in it starts a selection) blocks every write: written where the
event loop runs, either stopped every request. Here a call to the logger only queues the record; the thread
writes it to the handlers that were on the root logger. When the queue is full (the output has been stuck
for a long while) new lines are dropped and counted, and the count is logged once lines flow again.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from logging.handlers import QueueHandler
from typing import override

QUEUE_LINES = 10_000  # lines held while the output is stuck, before new ones are dropped


class _DroppingQueueHandler(QueueHandler):
    """Queues each record without waiting; counts the ones a full queue refuses."""

    def __init__(self, lines: queue.Queue[logging.LogRecord | None]) -> None:
        super().__init__(lines)
        self.dropped = 0  # changed under the handler's lock, which Handler.handle holds around emit

    @override
    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            if self.dropped:
                self.queue.put_nowait(self._dropped_notice())
                self.dropped = 0
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def _dropped_notice(self) -> logging.LogRecord:
        return logging.LogRecord(
            __name__,
            logging.WARNING,
            __file__,
            0,
            f"{self.dropped} log line(s) were dropped: the log output was not being read",
            None,
            None,
        )


class LogThread:
    """The thread that writes queued log records; installed on a logger by `start()`."""

    def __init__(self, logger: logging.Logger, handlers: list[logging.Handler], capacity: int) -> None:
        self.logger = logger
        self.handlers = handlers
        self.lines: queue.Queue[logging.LogRecord | None] = queue.Queue(capacity)
        self.queue_handler = _DroppingQueueHandler(self.lines)
        # A daemon: a write stuck for good must not keep the process from exiting.
        self._thread = threading.Thread(target=self._run, name="log-output", daemon=True)

    def begin(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        outputs = [(handler, _descriptor(handler)) for handler in self.handlers]
        while (record := self.lines.get()) is not None:
            try:
                for handler, descriptor in outputs:
                    if record.levelno < handler.level:
                        continue
                    try:
                        if descriptor is None:
                            handler.handle(record)
                        elif handler.filter(record):
                            _write_line(descriptor, handler, record)
                    except Exception:  # a broken filter or formatter: this line is lost, the thread lives on
                        handler.handleError(record)
            finally:
                self.lines.task_done()
        self.lines.task_done()

    def flush(self, timeout: float = 1.0) -> bool:
        """Wait (at most `timeout` seconds) until every line queued so far is written; whether they were."""
        deadline = time.monotonic() + timeout
        while self.lines.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.001)
        return True

    def stop(self, timeout: float = 1.0) -> None:
        """Write what is queued (waiting at most `timeout` seconds) and end the thread."""
        self.logger.removeHandler(self.queue_handler)
        try:
            self.lines.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)


def _descriptor(handler: logging.Handler) -> int | None:
    """The file descriptor a stream handler's lines can be written to directly, or None.

    Written through the stream, a line stuck in a full pipe would hold the handler's and the stream's locks,
    which logging's shutdown and the interpreter's final flush of stderr then wait for: the process could
    not exit. os.write() holds neither. Windows keeps the stream: its console takes text, not bytes."""
    if sys.platform == "win32" or type(handler) is not logging.StreamHandler:
        return None
    try:
        return int(handler.stream.fileno())
    except (AttributeError, OSError, ValueError):  # a StringIO, a closed or detached stream
        return None


def _write_line(descriptor: int, handler: logging.Handler, record: logging.LogRecord) -> None:
    encoding = getattr(getattr(handler, "stream", None), "encoding", None) or "utf-8"
    data = (handler.format(record) + "\n").encode(encoding, "backslashreplace")
    try:
        while data:
            data = data[os.write(descriptor, data) :]
    except OSError:
        pass  # the reader went away (EPIPE) or the output is gone: nobody is left to tell


def start(logger: logging.Logger | None = None, *, capacity: int = QUEUE_LINES) -> LogThread:
    """Move a logger's handlers (the root logger's by default) behind a queue and a thread of their own."""
    logger = logger or logging.getLogger()
    handlers = list(logger.handlers)
    writer = LogThread(logger, handlers, capacity)
    for handler in handlers:
        logger.removeHandler(handler)
    logger.addHandler(writer.queue_handler)
    writer.begin()
    return writer
