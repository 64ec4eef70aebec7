"""A read-only table model over the request log (core.log_reader): lazy pages, live rows and filters, newest first."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal

from core.log_reader import RequestLogReader
from core.store import LogFilter
from core.types import LogEntry
from gui import theme
from gui.i18n import QT_TRANSLATE_NOOP, translate
from gui.tasks import run_task

log = logging.getLogger(__name__)

PAGE_SIZE = 200  # rows per fetchMore: a few screens, read in a few milliseconds even deep into 100k rows

(
    COL_TIME,
    COL_PROTOCOL,
    COL_PATH,
    COL_MODEL,
    COL_ACCOUNT,
    COL_STATUS,
    COL_LATENCY,
    COL_TTFB,
    COL_TOKENS_IN,
    COL_TOKENS_OUT,
    COL_ERROR,
) = range(11)

HEADERS = (  # English; headerData shows them translated
    QT_TRANSLATE_NOOP("RequestLogModel", "Time"),
    QT_TRANSLATE_NOOP("RequestLogModel", "Protocol"),
    QT_TRANSLATE_NOOP("RequestLogModel", "Path"),
    QT_TRANSLATE_NOOP("RequestLogModel", "Model (asked → used)"),
    QT_TRANSLATE_NOOP("RequestLogModel", "Account"),
    QT_TRANSLATE_NOOP("RequestLogModel", "Status"),
    QT_TRANSLATE_NOOP("RequestLogModel", "Latency"),
    QT_TRANSLATE_NOOP("RequestLogModel", "First byte"),
    QT_TRANSLATE_NOOP("RequestLogModel", "Tokens in"),
    QT_TRANSLATE_NOOP("RequestLogModel", "Tokens out"),
    QT_TRANSLATE_NOOP("RequestLogModel", "Error"),
)
COLUMN_COUNT = len(HEADERS)

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1  # data(index, ENTRY_ROLE) -> the row's LogEntry (without bodies)

_NUMERIC_COLUMNS = frozenset({COL_STATUS, COL_LATENCY, COL_TTFB, COL_TOKENS_IN, COL_TOKENS_OUT})
_UTC_MOMENT = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC \(in (\d+) s\)")

_Index = QModelIndex | QPersistentModelIndex


def format_ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def format_time(value: datetime, today: datetime | None = None) -> str:
    """Local time; the date only when it is not today."""
    local = value.astimezone()
    today = today or datetime.now().astimezone()
    return local.strftime("%H:%M:%S" if local.date() == today.date() else "%Y-%m-%d %H:%M:%S")


def wait_text(seconds: int) -> str:
    """ "2 h 59 min", "12 min", "40 s": a wait people read at a glance."""
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def friendly_error(error: str, now: datetime | None = None) -> str:
    """The gateway's error text with its UTC moments ("… at 2026-12-03 01:59:10 UTC (in 10790 s)") told in
    local time and hours ("… at 01:59 (in 2 h 59 min)"); the clients' copy keeps the exact UTC form."""

    def local(match: re.Match[str]) -> str:
        moment = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        return f"{format_time(moment, now).rsplit(':', 1)[0]} (in {wait_text(int(match.group(2)))})"

    return _UTC_MOMENT.sub(local, error)


def model_text(entry: LogEntry) -> str:
    if entry.upstream_model and entry.upstream_model != entry.client_model:
        return f"{entry.client_model or '?'} → {entry.upstream_model}"
    return entry.client_model or entry.upstream_model


def _texts(entry: LogEntry, today: datetime) -> tuple[str, ...]:
    error = friendly_error(entry.error.splitlines()[0]) if entry.error else ""
    return (
        format_time(entry.started_at, today),
        entry.protocol,
        entry.path,
        model_text(entry),
        entry.account,
        str(entry.status) if entry.status else "—",
        format_ms(entry.latency_ms),
        format_ms(entry.ttfb_ms),
        f"{entry.tokens_in:,}",
        f"{entry.tokens_out:,}",
        error,
    )


@dataclass(frozen=True, slots=True)
class _Row:
    """One row with its cell texts worked out once (data() is called for every paint)."""

    entry: LogEntry
    texts: tuple[str, ...]

    @property
    def key(self) -> tuple[datetime, int]:
        return self.entry.started_at, self.entry.id or 0


def _rows(entries: Iterable[LogEntry]) -> list[_Row]:
    """Rows for the model; bodies are dropped (the detail pane reads them from the database when asked),
    so 100,000 rows in the view do not keep 100,000 request bodies in memory."""
    today = datetime.now().astimezone()
    slim = (dataclasses.replace(e, request_body=None, response_body=None) for e in entries)
    return [_Row(entry, _texts(entry, today)) for entry in slim]


async def _read_page(log: RequestLogReader, log_filter: LogFilter, offset: int) -> list[_Row]:
    entries = await log.page(log_filter, limit=PAGE_SIZE, offset=offset)
    return await asyncio.to_thread(_rows, entries)  # the display texts of a page, off the GUI thread too


def _position(rows: list[_Row], key: tuple[datetime, int]) -> int:
    """Where a row with `key` goes in `rows` (newest first): after every row newer than it."""
    low, high = 0, len(rows)
    while low < high:
        middle = (low + high) // 2
        if rows[middle].key > key:
            low = middle + 1
        else:
            high = middle
    return low


class RequestLogModel(QAbstractTableModel):
    """The request log, newest first (the only order: it is the order of the database index, so pages and
    live rows stay consistent; the view does not sort).

    Rows are read PAGE_SIZE at a time in a worker thread as the view scrolls (canFetchMore/fetchMore).
    `set_filter` replaces every row with a model reset, only when the filter really changes. Live rows
    (`add_live_entries`, fed from AppController.log_rows_added) that match the filter are inserted where
    they belong, which is nearly always the top, one beginInsertRows per contiguous block.

    Signals:
        loading_changed(bool): a read from the database started (True) or every read has finished (False).
        filter_applied(): the first page of a new filter (or of a reload) is in place.
        page_loaded(int): fetchMore appended that many rows.
        load_failed(str): the log could not be read; the text says so for people.
        values_seen(): new models or accounts appeared in the rows (see `seen_models`, `seen_accounts`).
    """

    loading_changed = Signal(bool)
    filter_applied = Signal()
    page_loaded = Signal(int)
    load_failed = Signal(str)
    values_seen = Signal()

    def __init__(self, log: RequestLogReader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._log = log
        self._rows: list[_Row] = []
        self._ids: set[int] = set()
        self._filter = LogFilter()
        self._generation = 0  # bumped by every filter change: answers for an older filter are dropped
        self._resetting = False
        self._fetching = False
        self._exhausted = False
        self._pending_live: list[LogEntry] = []  # arrived while a new filter's first page was loading
        self.seen_models: set[str] = set()
        self.seen_accounts: set[str] = set()

    # --- Qt model API -------------------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else COLUMN_COUNT

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < COLUMN_COUNT:
            if role == Qt.ItemDataRole.DisplayRole:
                return translate("RequestLogModel", HEADERS[section])
            if role == Qt.ItemDataRole.ToolTipRole and section == COL_TTFB:
                return self.tr("Time until the first byte of the answer reached the app")
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows) or index.column() >= COLUMN_COUNT:
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.texts[column]
        if role == ENTRY_ROLE:
            return row.entry
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row.entry, column)
        if role == Qt.ItemDataRole.ForegroundRole and column in (COL_STATUS, COL_ERROR):
            return theme.tone(theme.Tone.ERROR) if row.entry.status >= 400 or row.entry.error else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def canFetchMore(self, parent: _Index) -> bool:
        # True while a page is on its way too: the view keeps asking and fetchMore ignores the extra calls.
        return not parent.isValid() and not self._exhausted and not self._resetting

    def fetchMore(self, parent: _Index) -> None:
        if parent.isValid() or self._exhausted or self._resetting or self._fetching:
            return
        self._fetching = True
        self.loading_changed.emit(True)
        run_task(self._fetch_page(self._generation, dataclasses.replace(self._filter), len(self._rows)))

    # --- public API ---------------------------------------------------------------------------------------

    @property
    def log_filter(self) -> LogFilter:
        return dataclasses.replace(self._filter)

    @property
    def busy(self) -> bool:
        """A page or a new filter is being read."""
        return self._resetting or self._fetching

    def entry(self, row: int) -> LogEntry:
        return self._rows[row].entry

    def set_filter(self, log_filter: LogFilter) -> bool:
        """Show the rows matching `log_filter`; False (and nothing happens) when it is the current one."""
        if log_filter == self._filter:
            return False
        self._filter = dataclasses.replace(log_filter)
        self.reload()
        return True

    def reload(self) -> None:
        """Read the first page again (after the log was cleared, or to start): the rows are swapped in one
        model reset when it arrives, so the view never shows an empty flash."""
        self._generation += 1
        self._pending_live = []
        if not self._resetting:
            self._resetting = True
            self.loading_changed.emit(True)
        run_task(self._load_first_page(self._generation, dataclasses.replace(self._filter)))

    def add_live_entries(self, entries: list[LogEntry]) -> None:
        """Rows just written to the log (with ids): those that match the filter go in at their place."""
        matching = [e for e in entries if e.id is not None and self._filter.matches(e)]
        self._note_values(matching)
        if self._resetting:
            self._pending_live += matching
            return
        self._insert_live(matching)

    # --- loading ------------------------------------------------------------------------------------------

    async def _load_first_page(self, generation: int, log_filter: LogFilter) -> None:
        try:
            rows = await _read_page(self._log, log_filter, 0)
        except Exception as exc:
            if generation == self._generation:
                self._resetting = False
                self._report_failure(exc)
            return
        if generation != self._generation:
            return  # a newer filter is on its way
        self.beginResetModel()
        self._rows = rows
        self._ids = {row.entry.id for row in rows if row.entry.id is not None}
        self._exhausted = len(rows) < PAGE_SIZE
        self.endResetModel()
        # Cleared only now: views and testers call fetchMore from the reset signals, before the rows settle.
        self._fetching = False  # a page for the old filter may still arrive: its generation is stale
        self._resetting = False
        self._note_values(row.entry for row in rows)
        pending, self._pending_live = self._pending_live, []
        self._insert_live(pending)
        self.filter_applied.emit()
        self.loading_changed.emit(False)

    async def _fetch_page(self, generation: int, log_filter: LogFilter, offset: int) -> None:
        try:
            rows = await _read_page(self._log, log_filter, offset)
        except Exception as exc:
            if generation == self._generation:
                self._fetching = False
                self._report_failure(exc)
            return
        if generation != self._generation:
            return
        # Live rows that arrived while this page was read moved the offsets down: the page may repeat them.
        fresh = [row for row in rows if row.entry.id not in self._ids]
        if fresh:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            self._rows.extend(fresh)
            self._ids.update(row.entry.id for row in fresh if row.entry.id is not None)
            self.endInsertRows()
            self._note_values(row.entry for row in fresh)
        # Set only now: fetchMore calls made from the insert signals must not read a page twice.
        self._exhausted = len(rows) < PAGE_SIZE
        self._fetching = False
        self.page_loaded.emit(len(fresh))
        self.loading_changed.emit(False)

    def _report_failure(self, error: Exception) -> None:
        log.warning("Could not read the request log: %s", error)
        self.load_failed.emit(
            self.tr("The request log could not be read ({error}). Try again in a moment.").format(error=error)
        )
        self.loading_changed.emit(False)

    def _insert_live(self, entries: list[LogEntry]) -> None:
        fresh = [row for row in _rows(e for e in entries if e.id not in self._ids)]
        if not fresh:
            return
        fresh.sort(key=lambda row: row.key, reverse=True)
        blocks: dict[int, list[_Row]] = {}
        for row in fresh:
            position = _position(self._rows, row.key)
            if position == len(self._rows) and not self._exhausted:
                continue  # older than every loaded row: it comes with a later page
            blocks.setdefault(position, []).append(row)
        # Bottom block first, so the positions worked out above stay right for the blocks above it.
        for position in sorted(blocks, reverse=True):
            block = blocks[position]
            self.beginInsertRows(QModelIndex(), position, position + len(block) - 1)
            self._rows[position:position] = block
            self._ids.update(row.entry.id for row in block if row.entry.id is not None)
            self.endInsertRows()

    def _note_values(self, entries: Iterable[LogEntry]) -> None:
        models_before, accounts_before = len(self.seen_models), len(self.seen_accounts)
        for entry in entries:
            self.seen_models.update(m for m in (entry.client_model, entry.upstream_model) if m)
            if entry.account:
                self.seen_accounts.add(entry.account)
        if len(self.seen_models) != models_before or len(self.seen_accounts) != accounts_before:
            self.values_seen.emit()

    @staticmethod
    def _tooltip(entry: LogEntry, column: int) -> str | None:
        if column == COL_TIME:
            return entry.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        if column == COL_MODEL:
            return translate("RequestLogModel", "Asked for {asked}; served by {served}").format(
                asked=entry.client_model or "?", served=entry.upstream_model or "?"
            )
        if column == COL_ERROR and entry.error:
            return friendly_error(entry.error)
        if column == COL_PATH:
            how = (
                translate("RequestLogModel", "streamed")
                if entry.stream
                else translate("RequestLogModel", "one answer")
            )
            return f"{entry.path} ({how})"
        return None
