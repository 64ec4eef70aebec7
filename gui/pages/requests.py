"""The Requests page: the live request log with filters, a detail pane, clear and export."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from PySide6.QtCore import QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.store import LogFilter
from core.types import LogEntry
from gui.controller import AppController
from gui.models.request_log_model import (
    COL_ACCOUNT,
    COL_ERROR,
    COL_LATENCY,
    COL_MODEL,
    COL_PATH,
    COL_PROTOCOL,
    COL_STATUS,
    COL_TIME,
    COL_TOKENS_IN,
    COL_TOKENS_OUT,
    COL_TTFB,
    ExportCancelled,
    ExportFormat,
    RequestLogModel,
    export_log,
    format_ms,
    friendly_error,
)
from gui.tasks import run_task

SEARCH_DEBOUNCE_MS = 250  # typing "gemini" reloads once, not six times

STATUS_CHOICES: tuple[tuple[str, str | None], ...] = (
    ("All statuses", None),
    ("Succeeded", "ok"),
    ("Failed", "error"),
    ("429 · out of quota or rate limited", "429"),
    ("401 · wrong or missing API key", "401"),
    ("400 · bad request", "400"),
    ("404 · unknown model or path", "404"),
    ("500 · gateway error", "500"),
    ("502 · the upstream failed", "502"),  # Google's own 5xx answers are logged as 502
    ("503 · no account available", "503"),
)
PROTOCOL_CHOICES: tuple[tuple[str, str | None], ...] = (
    ("All protocols", None),
    ("OpenAI", "openai"),
    ("Claude (Anthropic)", "anthropic"),
    ("Gemini", "gemini"),
    ("Ollama", "ollama"),
)
ALL_MODELS = "All models"
ALL_ACCOUNTS = "All accounts"

NO_SELECTION = "Select a request above to see its timings, tokens, error and bodies."
BODIES_OFF = (
    "Request and response bodies are not recorded. To see them for new requests, turn on body capture "
    "in Settings (Request log → record request and response bodies)."
)
BODIES_MISSING = "No bodies were recorded for this request (body capture was off when it ran)."

_COLUMN_WIDTHS = {
    COL_TIME: 80,
    COL_PROTOCOL: 80,
    COL_PATH: 180,
    COL_MODEL: 240,
    COL_ACCOUNT: 170,
    COL_STATUS: 55,
    COL_LATENCY: 75,
    COL_TTFB: 75,
    COL_TOKENS_IN: 75,
    COL_TOKENS_OUT: 75,
    COL_ERROR: 200,
}


def describe_entry(entry: LogEntry, *, capture_bodies: bool) -> str:
    """The detail pane's text for one request."""
    started = entry.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    error = friendly_error(entry.error) if entry.error else ""
    lines = [
        f"{entry.path}   ({entry.protocol}, {'streamed' if entry.stream else 'one answer'})",
        "",
        f"Started        {started}",
        f"Status         {entry.status or 'no answer (the app hung up or the gateway stopped)'}",
        f"Model          asked for {entry.client_model or '?'}, served by {entry.upstream_model or '?'}",
        f"Account        {entry.account or '(none)'}",
        f"API key        {entry.key_name or '(none)'}",
        f"Latency        {format_ms(entry.latency_ms)}",
        f"First byte     {format_ms(entry.ttfb_ms)}",
        f"Tokens         {entry.tokens_in:,} in, {entry.tokens_out:,} out",
    ]
    if error:
        lines += ["", "Error", error]
    lines.append("")
    if entry.request_body is None and entry.response_body is None:
        lines.append(BODIES_MISSING if capture_bodies else BODIES_OFF)
    else:
        lines += [
            "Request body",
            entry.request_body or "(none)",
            "",
            "Response body",
            entry.response_body or "(none)",
        ]
    return "\n".join(lines)


class _ExportProgress(QObject):
    """Carries the export's progress from its worker thread to the Qt thread.

    Signals:
        advanced(int): rows written so far.
    """

    advanced = Signal(int)


class RequestsPage(QWidget):
    """The request log as a table over `model`, filters above it and the selected request's details below.

    Signals:
        status_message(str): what just happened (export written, log cleared, a read failed).
    """

    status_message = Signal(str)

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._db = controller.services.db
        self.model = RequestLogModel(self._db, self)
        self.clear_confirmation: QMessageBox | None = None
        self.export_dialog: QFileDialog | None = None
        self.progress_dialog: QProgressDialog | None = None
        self.export_task: asyncio.Task[None] | None = None
        self._detail_id: int | None = None

        self._build_filter_bar()
        self._build_table()
        self.detail = QPlainTextEdit(self)
        self.detail.setReadOnly(True)
        self.detail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.detail.setPlainText(NO_SELECTION)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addLayout(self._filter_bar)
        layout.addWidget(
            self.status_label
        )  # above the table: "No requests match" is read where rows would be
        layout.addWidget(self.splitter, 1)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self.apply_filter)

        self._connect()
        self.model.reload()

    # --- building -----------------------------------------------------------------------------------------

    def _build_filter_bar(self) -> None:
        self.status_combo = QComboBox(self)
        for label, value in STATUS_CHOICES:
            self.status_combo.addItem(label, value)
        self.model_combo = QComboBox(self)
        self.model_combo.addItem(ALL_MODELS, None)
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.account_combo = QComboBox(self)
        self.account_combo.addItem(ALL_ACCOUNTS, None)
        self.account_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.protocol_combo = QComboBox(self)
        for label, value in PROTOCOL_CHOICES:
            self.protocol_combo.addItem(label, value)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search path, model, account or error…")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(200)
        self.clear_button = QPushButton("Clear…", self)
        self.clear_button.setToolTip("Delete every request from the log")
        self.export_button = QPushButton("Export…", self)
        self.export_button.setToolTip("Save the requests that match the filters as CSV or JSON Lines")
        # Two rows, so the search box and the combos keep their text down to the 820 px minimum window.
        search_row = QHBoxLayout()
        search_row.addWidget(self.search, 1)
        search_row.addWidget(self.export_button)
        search_row.addWidget(self.clear_button)
        combo_row = QHBoxLayout()
        for widget in (self.status_combo, self.model_combo, self.account_combo, self.protocol_combo):
            widget.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo_row.addWidget(widget)
        combo_row.addStretch(1)
        bar = QVBoxLayout()
        bar.addLayout(search_row)
        bar.addLayout(combo_row)
        self._filter_bar = bar
        self._refresh_account_choices()

    def _build_table(self) -> None:
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setSortingEnabled(False)  # newest first is the only order (see RequestLogModel)
        vertical = self.table.verticalHeader()
        vertical.hide()
        # Fixed row heights: the view never measures 100,000 rows.
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in _COLUMN_WIDTHS.items():
            self.table.setColumnWidth(column, width)

    def _connect(self) -> None:
        self.status_combo.currentIndexChanged.connect(self.apply_filter)
        self.model_combo.currentIndexChanged.connect(self.apply_filter)
        self.account_combo.currentIndexChanged.connect(self.apply_filter)
        self.protocol_combo.currentIndexChanged.connect(self.apply_filter)
        self.search.textChanged.connect(self._search_timer.start)
        self.search.returnPressed.connect(self.apply_filter)
        self.clear_button.clicked.connect(self.confirm_clear)
        self.export_button.clicked.connect(self.choose_export_file)
        self.controller.log_rows_added.connect(self.model.add_live_entries)
        self.controller.accounts_changed.connect(self._refresh_account_choices)
        self.model.values_seen.connect(self._refresh_value_choices)
        self.model.load_failed.connect(self._show_status)
        self.model.modelReset.connect(self._on_model_reset)
        self.model.rowsInserted.connect(self._keep_scroll_position)
        self.model.filter_applied.connect(self._update_empty_hint)
        self.model.rowsInserted.connect(self._update_empty_hint)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row_changed)

    # --- filters ------------------------------------------------------------------------------------------

    def current_filter(self) -> LogFilter:
        text = self.search.text().strip()
        return LogFilter(
            status=self.status_combo.currentData(),
            model=self.model_combo.currentData(),
            account=self.account_combo.currentData(),
            protocol=self.protocol_combo.currentData(),
            text=text or None,
        )

    def apply_filter(self) -> None:
        self._search_timer.stop()
        self.model.set_filter(self.current_filter())

    def _refresh_value_choices(self) -> None:
        _fill_choices(self.model_combo, ALL_MODELS, self.model.seen_models)
        self._refresh_account_choices()

    def _refresh_account_choices(self, _account_id: str = "") -> None:
        known = {account.name for account in self.controller.services.accounts.accounts()}
        _fill_choices(self.account_combo, ALL_ACCOUNTS, known | self.model.seen_accounts)

    def _update_empty_hint(self) -> None:
        if self.model.rowCount() > 0:
            if self.status_label.property("empty_hint"):
                self._show_status("")
            return
        nothing_filtered = self.current_filter() == LogFilter()
        message = (
            "No requests yet. Requests your apps send through Gravity Desk appear here as they finish; "
            "the Dashboard shows how to point an app at it."
            if nothing_filtered
            else "No requests match these filters."
        )
        self._show_status(message)
        self.status_label.setProperty("empty_hint", True)

    def _show_status(self, message: str) -> None:
        self.status_label.setProperty("empty_hint", False)
        self.status_label.setText(message)
        if message:
            self.status_message.emit(message)

    # --- table and details --------------------------------------------------------------------------------

    def _keep_scroll_position(self, _parent: QModelIndex, first: int, last: int) -> None:
        """Rows arriving on top must not push away what someone scrolled down to read."""
        bar = self.table.verticalScrollBar()
        if first != 0 or bar.value() == 0:
            return  # at the top the view follows the newest rows
        if self.table.verticalScrollMode() == QAbstractItemView.ScrollMode.ScrollPerPixel:  # macOS's style
            shift = sum(self.table.rowHeight(row) for row in range(first, last + 1))
        else:
            shift = last - first + 1
        # The view widens the scroll range only when it lays itself out again, after this signal: widen it
        # now so that the new value is not clamped to the old end.
        bar.setMaximum(bar.maximum() + shift)
        bar.setValue(bar.value() + shift)

    def _on_model_reset(self) -> None:
        self._detail_id = None
        self.detail.setPlainText(NO_SELECTION)

    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        self.show_details(self.model.entry(current.row()))

    def show_details(self, entry: LogEntry) -> None:
        """Show what the row knows at once, then the bodies read from the database."""
        self._detail_id = entry.id
        capture = self.controller.settings.log.capture_bodies
        self.detail.setPlainText(describe_entry(entry, capture_bodies=capture))
        if entry.id is not None:
            entry_id = entry.id
            run_task(asyncio.to_thread(self._db.get_log_entry, entry_id), done=self._show_full_entry)

    def _show_full_entry(self, entry: LogEntry | None) -> None:
        if entry is None or entry.id != self._detail_id:
            return  # deleted meanwhile, or another row was selected
        capture = self.controller.settings.log.capture_bodies
        self.detail.setPlainText(describe_entry(entry, capture_bodies=capture))

    # --- clear --------------------------------------------------------------------------------------------

    def confirm_clear(self) -> None:
        """Ask first; the dialog is window-modal and opened without a nested event loop (qasync)."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Clear the request log",
            "Delete every request from the log? This cannot be undone.\n"
            "Export the log first if you want to keep a copy.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.button(QMessageBox.StandardButton.Yes).setText("Delete all")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.finished.connect(lambda result: self._on_clear_answer(box, result))
        self.clear_confirmation = box
        box.open()

    def _on_clear_answer(self, box: QMessageBox, result: int) -> None:
        self.clear_confirmation = None
        box.deleteLater()
        if result != QMessageBox.StandardButton.Yes.value:
            return
        self.clear_button.setEnabled(False)
        run_task(self._clear())

    async def _clear(self) -> None:
        try:
            await asyncio.to_thread(self._db.clear_log)
        except Exception as exc:
            self._show_status(f"The log could not be cleared ({exc}). Try again in a moment.")
        else:
            self.model.reload()  # its empty hint replaces the status line
            self.status_message.emit("The request log was cleared.")
        finally:
            self.clear_button.setEnabled(True)

    # --- export -------------------------------------------------------------------------------------------

    def choose_export_file(self) -> None:
        dialog = QFileDialog(self, "Export the request log")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setNameFilters(["CSV for spreadsheets (*.csv)", "JSON Lines (*.jsonl)"])
        dialog.setDefaultSuffix("csv")
        dialog.filterSelected.connect(
            lambda name: dialog.setDefaultSuffix("jsonl" if "jsonl" in name else "csv")
        )
        dialog.setDirectory(str(Path.home()))
        dialog.selectFile("gravity-desk-requests.csv")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.fileSelected.connect(lambda name: self.start_export(Path(name)))
        dialog.finished.connect(lambda _result: self._forget_export_dialog(dialog))
        self.export_dialog = dialog
        dialog.open()

    def _forget_export_dialog(self, dialog: QFileDialog) -> None:
        if self.export_dialog is dialog:
            self.export_dialog = None
        dialog.deleteLater()

    def start_export(self, path: Path) -> asyncio.Task[None]:
        """Export the rows of the current filter to `path` (.csv: CSV, otherwise JSON Lines), with a
        progress dialog whose Cancel stops the export and removes the partial file."""
        self.export_button.setEnabled(False)
        cancel = threading.Event()
        # Not modal: a modal QProgressDialog runs the event loop inside setValue(), re-entering qasync.
        dialog = QProgressDialog("Exporting the request log…", "Cancel", 0, 0, self)
        dialog.setWindowTitle("Export")
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(cancel.set)
        self.progress_dialog = dialog
        dialog.show()
        self.export_task = run_task(self._export(path, self.model.log_filter, dialog, cancel))
        return self.export_task

    async def _export(
        self, path: Path, log_filter: LogFilter, dialog: QProgressDialog, cancel: threading.Event
    ) -> None:
        progress = _ExportProgress(self)
        progress.advanced.connect(dialog.setValue)
        try:
            total = await asyncio.to_thread(self._db.count_log, log_filter)
            dialog.setMaximum(max(total, 1))
            rows = await asyncio.to_thread(
                export_log,
                self._db,
                log_filter,
                path,
                ExportFormat.for_path(path),
                progress=progress.advanced.emit,
                cancel=cancel,
            )
        except ExportCancelled:
            self._show_status("Export cancelled; no file was written.")
        except OSError as exc:
            self._show_status(
                f"Could not write {path}: {exc.strerror or exc}. Choose another folder or name."
            )
        except Exception as exc:
            self._show_status(f"The export failed ({exc}). Try again in a moment.")
        else:
            noun = "request" if rows == 1 else "requests"
            self._show_status(f"Exported {rows:,} {noun} to {path}.")
        finally:
            dialog.close()
            dialog.deleteLater()
            progress.deleteLater()
            self.progress_dialog = None
            self.export_button.setEnabled(True)


def _fill_choices(combo: QComboBox, all_label: str, values: set[str]) -> None:
    """Refill a filter combo with sorted values, keeping the current choice, without refiltering."""
    current = combo.currentData()
    wanted = sorted(values | ({current} if current else set()), key=str.lower)
    existing = [combo.itemData(i) for i in range(1, combo.count())]
    if existing == wanted:
        return
    combo.blockSignals(True)
    try:
        combo.clear()
        combo.addItem(all_label, None)
        for value in wanted:
            combo.addItem(value, value)
        combo.setCurrentIndex(max(0, combo.findData(current)) if current else 0)
    finally:
        combo.blockSignals(False)
