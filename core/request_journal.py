"""The request log's crash journal: each finished entry written to a file the moment it is recorded.

The writer thread commits rows to SQLite in batches; what a `kill -9` of the app would lose is what was
queued for the next batch. The journal's segment files are mapped into memory (MAP_SHARED): a record copied
into the mapping is in the kernel's page cache at once and survives the process, and it costs the event
loop a memory copy, not a system call (a write() hands the GIL to the writer thread, and getting it back
waits while that thread is busy). So the journal holds every entry until its batch is committed, and the
next start writes what a crash left behind. Entries carry the row id they will get, so writing one twice (a crash after
the commit, before the journal was trimmed) is harmless.

The journal is a folder of numbered segment files of SEGMENT_BYTES (sparse: only what is written takes disk
space). A record is its length (4 bytes, little-endian, written after the data, so a record cut short by the
crash reads as the end) and one JSON line. Appends go to the newest segment; the writer starts a new one
every few seconds, or a full one starts the next, and the older ones are deleted once every entry in them
is committed. One process owns the
folder (a lock file): a second Gravity Desk on the same data folder runs without a journal rather than
replaying the first one's live entries.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import struct
import sys
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from core.private_files import FILE_MODE, FOLDER_MODE
from core.types import LogEntry

log = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".journal"
LOCK_FILE = "writer.lock"
SEGMENT_BYTES = 4 * 1024 * 1024  # ~20,000 entries without captured bodies; a bigger record gets its own size
_LENGTH = struct.Struct("<I")
# Every field of a row but the ones stored separately in the line (its id, its start time).
_FIELDS = tuple(field.name for field in fields(LogEntry) if field.name not in ("id", "started_at"))
# For a line orjson cannot write (text with half a UTF-16 pair): ASCII JSON escapes it, so it round-trips.
_encode_ascii_json = json.JSONEncoder(separators=(",", ":")).encode


def encode_line(row_id: int, entry: LogEntry) -> bytes:
    """One journal line: UTF-8 JSON (orjson: ~2 µs where the standard library took ~6.6), or ASCII JSON where
    a client's text holds a lone surrogate, which UTF-8 cannot carry and an ASCII escape can."""
    values: list[Any] = [row_id, entry.started_at.isoformat()]
    values += [getattr(entry, name) for name in _FIELDS]
    try:
        return orjson.dumps(values) + b"\n"
    except orjson.JSONEncodeError:
        return _encode_ascii_json(values).encode("ascii") + b"\n"


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
        self._map: mmap.mmap | None = None  # the open segment, mapped
        self._offset = 0  # where the next record goes in it
        self._lock_fd: int | None = None
        self.segment = 0  # the number of the segment appends go to

    def recover(self) -> list[tuple[int, int, LogEntry]]:
        """(row id, segment, entry) of every entry left by an earlier run, oldest first; then opens a new
        segment after them. A torn last line (the crash hit mid-write) is skipped."""
        if not self._take_folder():
            return []
        recovered: list[tuple[int, int, LogEntry]] = []
        numbers = self._segment_numbers()
        for number in numbers:
            recovered += [(row_id, number, entry) for row_id, entry in self._read(number)]
        self._start_segment((numbers[-1] if numbers else 0) + 1, 0)
        return recovered

    def append(self, row_id: int, entry: LogEntry) -> None:
        """Write one entry's record; a journal that cannot be written is off (said once), the log is not."""
        if self._map is None:
            return
        try:
            line = encode_line(row_id, entry)
        except (ValueError, TypeError):
            log.exception("Request log journal: an entry could not be encoded; it is not journaled")
            return
        end = self._offset + _LENGTH.size + len(line)
        if end > len(self._map):
            self._start_segment(self.segment + 1, len(line))
            if self._map is None:
                return
            end = _LENGTH.size + len(line)
        start = self._offset
        self._map[start + _LENGTH.size : end] = line
        self._map[start : start + _LENGTH.size] = _LENGTH.pack(len(line))  # last: the record is whole now
        self._offset = end

    def rotate(self) -> None:
        """Start the next segment; the one before is deleted by discard_before() once it is committed."""
        if self._map is not None and self._offset > 0:
            self._start_segment(self.segment + 1, 0)

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
        self._close_map()
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

    def _start_segment(self, number: int, record_bytes: int) -> None:
        """Map segment `number`, big enough for a record of `record_bytes`; the journal is off if it fails."""
        self._close_map()
        self.segment, self._offset = number, 0
        size = max(SEGMENT_BYTES, _LENGTH.size + record_bytes)
        try:
            fd = os.open(self._path(number), os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), FILE_MODE)
            try:
                os.ftruncate(fd, size)
                self._map = mmap.mmap(fd, size)
            finally:
                os.close(fd)  # the mapping keeps the file
        except (OSError, ValueError) as error:
            log.warning("Request log journal is off (%s): a crash may lose the last rows", error)
            self._map = None

    def _close_map(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None

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
            data = self._path(number).read_bytes()
        except OSError as error:
            log.warning("Request log journal: could not read %s: %s", self._path(number), error)
            return []
        entries: list[tuple[int, LogEntry]] = []
        offset = 0
        while offset + _LENGTH.size <= len(data):
            (length,) = _LENGTH.unpack_from(data, offset)
            line = data[offset + _LENGTH.size : offset + _LENGTH.size + length]
            if length == 0 or len(line) < length:
                break  # the end of what was written (a record the crash cut short has no length yet)
            try:
                entries.append(decode_line(line))
            except (ValueError, TypeError, IndexError, KeyError):
                log.warning("Request log journal: skipped an unreadable record in %s", self._path(number))
            offset += _LENGTH.size + length
        return entries


def _lock_exclusively(fd: int) -> None:
    """A lock on the open file that the system drops when the process ends, however; OSError if it is held."""
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
