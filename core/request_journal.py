"""The request log's crash journal: each finished entry appended to a file the moment it is recorded.

The writer thread commits rows to SQLite in batches; what a `kill -9` or a power cut of the app loses is what
was queued for the next batch. A line appended with os.write is in the kernel's page cache at once and
survives the process, so the journal holds every entry until its batch is committed, and the next start
writes what a crash left behind. Entries carry the row id they will get, so writing one twice (a crash after
the commit, before the journal was trimmed) is harmless.

The journal is a folder of numbered segment files. Appends go to the newest; the writer starts a new one
every few seconds and deletes the older ones once every entry in them is committed. One process owns the
folder (a lock file): a second Gravity Desk on the same data folder runs without a journal rather than
replaying the first one's live entries.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from core.private_files import FILE_MODE, FOLDER_MODE
from core.types import LogEntry

log = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".jsonl"
LOCK_FILE = "writer.lock"
# Every field of a row but the ones stored separately in the line (its id, its start time).
_FIELDS = tuple(field.name for field in fields(LogEntry) if field.name not in ("id", "started_at"))


def encode_line(row_id: int, entry: LogEntry) -> bytes:
    """One journal line; ASCII-only JSON, so even a lone surrogate in a client's text round-trips."""
    values: list[Any] = [row_id, entry.started_at.isoformat()]
    values += [getattr(entry, name) for name in _FIELDS]
    return json.dumps(values, separators=(",", ":")).encode("ascii") + b"\n"


def decode_line(line: bytes) -> tuple[int, LogEntry]:
    """The row id and entry of one line (ValueError/TypeError/IndexError when it is not one)."""
    values = json.loads(line)
    if not isinstance(values, list) or len(values) != 2 + len(_FIELDS):
        raise ValueError("not a journal line")
    row_id, started_at, *rest = values
    entry = LogEntry(**dict(zip(_FIELDS, rest, strict=True)), started_at=datetime.fromisoformat(started_at))
    return int(row_id), entry


class RequestJournal:
    """Segment files under `folder`. Not thread-safe: the request-log writer serialises every call."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self.segment = 0  # the number of the segment appends go to
        self._failed = False  # a write failed: said once per segment, so a full disk does not flood the log

    def recover(self) -> list[tuple[int, int, LogEntry]]:
        """(row id, segment, entry) of every entry left by an earlier run, oldest first; then opens a new
        segment after them. A torn last line (the crash hit mid-write) is skipped."""
        if not self._take_folder():
            return []
        recovered: list[tuple[int, int, LogEntry]] = []
        numbers = self._segment_numbers()
        for number in numbers:
            recovered += [(row_id, number, entry) for row_id, entry in self._read(number)]
        self.segment = (numbers[-1] if numbers else 0) + 1
        self._open()
        return recovered

    def append(self, row_id: int, entry: LogEntry) -> None:
        """Write one entry's line; a failing disk turns the journal off (said once), never the request log."""
        if self._fd is None:
            return
        try:
            os.write(self._fd, encode_line(row_id, entry))
        except (OSError, ValueError, TypeError) as error:
            if not self._failed:
                log.warning("Request log journal: could not write (%s); a crash may lose recent rows", error)
            self._failed = True

    def rotate(self) -> None:
        """Start the next segment; the one before is deleted by discard_before() once it is committed."""
        self._close_fd()
        self.segment += 1
        self._open()

    def discard_before(self, segment: int) -> None:
        """Delete every segment numbered below `segment` (their entries are all committed)."""
        for number in self._segment_numbers():
            if number >= segment:
                break
            try:
                self._path(number).unlink()
            except OSError as error:
                log.warning("Request log journal: could not delete %s: %s", self._path(number), error)

    def close(self, *, discard: bool) -> None:
        """Close the open segment; with `discard`, delete every segment (all entries are committed)."""
        self._close_fd()
        if discard and self._lock_fd is not None:
            self.discard_before(self.segment + 1)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    def _take_folder(self) -> bool:
        """Lock the folder for this process; False (said once) when another process has it or it cannot be."""
        try:
            self._folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
            fd = os.open(self._folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as error:
            log.warning("Request log journal is off (%s): a crash may lose the last rows", error)
            return False
        try:
            _lock_exclusively(fd)
        except OSError:
            os.close(fd)
            log.warning(
                "Another Gravity Desk process writes the request log of %s; this one runs without its crash "
                "journal (a crash may lose its last rows)",
                self._folder.parent,
            )
            return False
        self._lock_fd = fd
        return True

    def _open(self) -> None:
        self._failed = False
        try:
            self._folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
            self._fd = os.open(self._path(self.segment), flags, FILE_MODE)
        except OSError as error:
            log.warning("Request log journal is off (%s): a crash may lose the last rows", error)
            self._fd = None

    def _close_fd(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def _path(self, number: int) -> Path:
        return self._folder / f"{number:010d}{SEGMENT_SUFFIX}"

    def _segment_numbers(self) -> list[int]:
        try:
            names = [path.name for path in self._folder.iterdir()]
        except OSError:
            return []
        return sorted(
            int(name.removesuffix(SEGMENT_SUFFIX))
            for name in names
            if name.endswith(SEGMENT_SUFFIX) and name.removesuffix(SEGMENT_SUFFIX).isdigit()
        )

    def _read(self, number: int) -> list[tuple[int, LogEntry]]:
        try:
            lines = self._path(number).read_bytes().splitlines()
        except OSError as error:
            log.warning("Request log journal: could not read %s: %s", self._path(number), error)
            return []
        entries: list[tuple[int, LogEntry]] = []
        for line in lines:
            try:
                entries.append(decode_line(line))
            except (ValueError, TypeError, IndexError, KeyError):
                log.warning("Request log journal: skipped an unreadable line in %s", self._path(number))
        return entries


def _lock_exclusively(fd: int) -> None:
    """A lock on the open file that the system drops when the process ends, however; OSError if it is held."""
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
