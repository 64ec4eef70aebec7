"""Log lines written from their own thread: a stuck output (a pipe nobody reads) holds up no caller, loses
nothing it has room for, says what it had to drop, and does not keep the program from stopping."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from core import log_output


class StuckPipe:
    """A real pipe as a logger's output, read only when the test says so."""

    def __init__(self) -> None:
        self.read_end, write_end = os.pipe()
        self.stream = os.fdopen(write_end, "w", encoding="utf-8")
        self.received = bytearray()
        self._reader: threading.Thread | None = None

    def start_reading(self) -> None:
        def read() -> None:
            while chunk := os.read(self.read_end, 1 << 16):
                self.received += chunk

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()

    def lines_once(self, last: str, timeout: float = 10.0) -> list[str]:
        """Every line received, once `last` has come."""
        deadline = time.monotonic() + timeout
        while (last + "\n").encode() not in self.received:
            assert time.monotonic() < deadline, f"{last!r} never came; got {bytes(self.received[-200:])!r}"
            time.sleep(0.01)
        return self.received.decode().splitlines()


@pytest.fixture
def pipe() -> Iterator[StuckPipe]:
    stuck = StuckPipe()
    yield stuck
    if stuck._reader is None:
        stuck.start_reading()  # frees a log thread still stuck in its write
    stuck.stream.close()


def _logger(pipe: StuckPipe) -> logging.Logger:
    logger = logging.getLogger(f"test.log_output.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(pipe.stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    return logger


def _log_in_a_thread(logger: logging.Logger, messages: list[str]) -> threading.Thread:
    def log_them() -> None:
        for text in messages:
            logger.info("%s", text)

    caller = threading.Thread(target=log_them, daemon=True)
    caller.start()
    return caller


def test_a_stuck_output_holds_up_no_caller_and_gets_every_line_in_order_once_read(pipe: StuckPipe) -> None:
    logger = _logger(pipe)
    writer = log_output.start(logger)
    messages = [f"line {number:04d} " + "x" * 90 for number in range(3000)]  # 300 kB: past any pipe's buffer
    caller = _log_in_a_thread(logger, messages)
    caller.join(5)
    assert not caller.is_alive(), "logging waited for the output (written where it was called)"
    pipe.start_reading()
    assert pipe.lines_once(f"INFO {messages[-1]}") == [f"INFO {text}" for text in messages]
    assert writer.flush(timeout=5)
    writer.stop()


def test_lines_past_the_queue_are_dropped_counted_and_said_once_the_output_flows(pipe: StuckPipe) -> None:
    logger = _logger(pipe)
    writer = log_output.start(logger, capacity=5)
    logger.info("%s", "first " + "y" * 100_000)  # larger than the pipe holds: the thread is stuck writing it
    deadline = time.monotonic() + 5
    while writer.lines.qsize():  # taken off the queue: from here the queue holds 5 more, no more
        assert time.monotonic() < deadline
        time.sleep(0.01)
    caller = _log_in_a_thread(logger, [f"waiting {number}" for number in range(20)])
    caller.join(5)
    assert not caller.is_alive()
    pipe.start_reading()
    assert writer.flush(timeout=5)
    logger.info("after")
    lines = pipe.lines_once("INFO after")
    assert [line[:60] for line in lines] == [
        "INFO first " + "y" * 49,
        *(f"INFO waiting {number}" for number in range(5)),  # what the queue held
        "WARNING 15 log line(s) were dropped: the log output was not ",
        "INFO after",
    ]
    writer.stop()


def test_stop_returns_while_the_output_is_stuck(pipe: StuckPipe) -> None:
    logger = _logger(pipe)
    writer = log_output.start(logger)
    logger.info("%s", "z" * 200_000)
    started = time.monotonic()
    writer.stop(timeout=0.2)
    assert time.monotonic() - started < 2
    assert writer.queue_handler not in logger.handlers


def test_a_line_that_breaks_its_filter_is_lost_alone(pipe: StuckPipe) -> None:
    logger = _logger(pipe)

    def breaks_on_boom(record: logging.LogRecord) -> bool:
        if record.getMessage() == "boom":
            raise RuntimeError("a filter with a bug")
        return True

    logger.handlers[0].addFilter(breaks_on_boom)
    writer = log_output.start(logger)
    pipe.start_reading()
    for text in ("before", "boom", "after"):
        logger.info(text)
    assert pipe.lines_once("INFO after") == ["INFO before", "INFO after"]  # the thread lived on
    writer.stop()
