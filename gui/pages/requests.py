"""The Requests page: the live request log with filters, a detail pane, clear and export."""

from __future__ import annotations

import asyncio
import threading
import unicodedata
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

from core.log_reader import ExportCancelled, ExportFormat
from core.store import LogFilter
from core.types import LogEntry
from gui.controller import AppController
from gui.i18n import QT_TRANSLATE_NOOP, translate
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
    RequestLogModel,
    format_ms,
    friendly_error,
)
from gui.tasks import run_task

SEARCH_DEBOUNCE_MS = 250  # typing "gemini" reloads once, not six times

STATUS_CHOICES: tuple[tuple[str, str | None], ...] = (
    (QT_TRANSLATE_NOOP("RequestsPage", "All statuses"), None),
    (QT_TRANSLATE_NOOP("RequestsPage", "Succeeded"), "ok"),
    (QT_TRANSLATE_NOOP("RequestsPage", "Failed"), "error"),
    (QT_TRANSLATE_NOOP("RequestsPage", "429 · out of quota or rate limited"), "429"),
    (QT_TRANSLATE_NOOP("RequestsPage", "401 · wrong or missing API key"), "401"),
    (QT_TRANSLATE_NOOP("RequestsPage", "400 · bad request"), "400"),
    (QT_TRANSLATE_NOOP("RequestsPage", "404 · unknown model or path"), "404"),
    (QT_TRANSLATE_NOOP("RequestsPage", "500 · gateway error"), "500"),
    # Google's own 5xx answers are logged as 502.
    (QT_TRANSLATE_NOOP("RequestsPage", "502 · the upstream failed"), "502"),
    (QT_TRANSLATE_NOOP("RequestsPage", "503 · no account available"), "503"),
)
PROTOCOL_CHOICES: tuple[tuple[str, str | None], ...] = (
    (QT_TRANSLATE_NOOP("RequestsPage", "All protocols"), None),
    ("OpenAI", "openai"),
    (QT_TRANSLATE_NOOP("RequestsPage", "Claude (Anthropic)"), "anthropic"),
    ("Gemini", "gemini"),
    ("Ollama", "ollama"),
)
ALL_MODELS = QT_TRANSLATE_NOOP("RequestsPage", "All models")
ALL_ACCOUNTS = QT_TRANSLATE_NOOP("RequestsPage", "All accounts")

NO_SELECTION = QT_TRANSLATE_NOOP(
    "RequestsPage", "Select a request above to see its timings, tokens, error and bodies."
)
BODIES_OFF = QT_TRANSLATE_NOOP(
    "RequestsPage",
    "Request and response bodies are not recorded. To see them for new requests, turn on body capture "
    "in Settings (Request log → Save request and answer bodies).",
)
BODIES_MISSING = QT_TRANSLATE_NOOP(
    "RequestsPage", "No bodies were recorded for this request (body capture was off when it ran)."
)

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
    none = translate("RequestsPage", "(none)")
    fields = [
        (translate("RequestsPage", "Started"), started),
        (
            translate("RequestsPage", "Status"),
            str(
                entry.status
                or translate("RequestsPage", "no answer (the app hung up or the gateway stopped)")
            ),
        ),
        (
            translate("RequestsPage", "Model"),
            translate("RequestsPage", "asked for {asked}, served by {served}").format(
                asked=entry.client_model or "?", served=entry.upstream_model or "?"
            ),
        ),
        (translate("RequestsPage", "Account"), entry.account or none),
        (translate("RequestsPage", "API key"), entry.key_name or none),
        (translate("RequestsPage", "Latency"), format_ms(entry.latency_ms)),
        (translate("RequestsPage", "First byte"), format_ms(entry.ttfb_ms)),
        (
            translate("RequestsPage", "Tokens"),
            translate("RequestsPage", "{tokens_in} in, {tokens_out} out").format(
                tokens_in=f"{entry.tokens_in:,}", tokens_out=f"{entry.tokens_out:,}"
            ),
        ),
    ]
    # Names padded to one width in the fixed-width font (a CJK character takes two columns).
    width = max(_display_width(name) for name, _ in fields) + 3
    how = translate("RequestsPage", "streamed") if entry.stream else translate("RequestsPage", "one answer")
    lines = [f"{entry.path}   ({entry.protocol}, {how})", ""]
    lines += [name + " " * (width - _display_width(name)) + value for name, value in fields]
    if error:
        lines += ["", translate("RequestsPage", "Error"), error]
    lines.append("")
    if entry.request_body is None and entry.response_body is None:
        lines.append(translate("RequestsPage", BODIES_MISSING if capture_bodies else BODIES_OFF))
    else:
        lines += [
            translate("RequestsPage", "Request body"),
            entry.request_body or none,
            "",
            translate("RequestsPage", "Response body"),
            entry.response_body or none,
        ]
    return "\n".join(lines)


def _display_width(text: str) -> int:
    """Columns `text` takes in a fixed-width font: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


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
        self._log = controller.services.log_reader
        self.model = RequestLogModel(self._log, self)
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
        self.detail.setPlainText(translate("RequestsPage", NO_SELECTION))
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
            self.status_combo.addItem(translate("RequestsPage", label), value)
        self.model_combo = QComboBox(self)
        self.model_combo.addItem(translate("RequestsPage", ALL_MODELS), None)
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.account_combo = QComboBox(self)
        self.account_combo.addItem(translate("RequestsPage", ALL_ACCOUNTS), None)
        self.account_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.protocol_combo = QComboBox(self)
        for label, value in PROTOCOL_CHOICES:
            self.protocol_combo.addItem(translate("RequestsPage", label), value)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText(self.tr("Search path, model, account or error…"))
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(200)
        self.clear_button = QPushButton(self.tr("Clear…"), self)
        self.clear_button.setToolTip(self.tr("Delete every request from the log"))
        self.export_button = QPushButton(self.tr("Export…"), self)
        self.export_button.setToolTip(
            self.tr("Save the requests that match the filters as CSV or JSON Lines")
        )
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
        _fill_choices(self.model_combo, translate("RequestsPage", ALL_MODELS), self.model.seen_models)
        self._refresh_account_choices()

    def _refresh_account_choices(self, _account_id: str = "") -> None:
        known = {account.name for account in self.controller.services.accounts.accounts()}
        _fill_choices(
            self.account_combo, translate("RequestsPage", ALL_ACCOUNTS), known | self.model.seen_accounts
        )

    def _update_empty_hint(self) -> None:
        if self.model.rowCount() > 0:
            if self.status_label.property("empty_hint"):
                self._show_status("")
            return
        nothing_filtered = self.current_filter() == LogFilter()
        message = (
            self.tr(
                "No requests yet. Requests your apps send through Gravity Desk appear here as they finish; "
                "the Dashboard shows how to point an app at it."
            )
            if nothing_filtered
            else self.tr("No requests match these filters.")
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
        self.detail.setPlainText(translate("RequestsPage", NO_SELECTION))

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
            run_task(self._log.get(entry_id), done=self._show_full_entry)

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
            self.tr("Clear the request log"),
            self.tr(
                "Delete every request from the log? This cannot be undone.\n"
                "Export the log first if you want to keep a copy."
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.button(QMessageBox.StandardButton.Yes).setText(self.tr("Delete all"))
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
            await self._log.clear()
        except Exception as exc:
            self._show_status(
                self.tr("The log could not be cleared ({error}). Try again in a moment.").format(error=exc)
            )
        else:
            self.model.reload()  # its empty hint replaces the status line
            self.status_message.emit(self.tr("The request log was cleared."))
        finally:
            self.clear_button.setEnabled(True)

    # --- export -------------------------------------------------------------------------------------------

    def choose_export_file(self) -> None:
        dialog = QFileDialog(self, self.tr("Export the request log"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setNameFilters([self.tr("CSV for spreadsheets (*.csv)"), self.tr("JSON Lines (*.jsonl)")])
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
        dialog = QProgressDialog(self.tr("Exporting the request log…"), self.tr("Cancel"), 0, 0, self)
        dialog.setWindowTitle(self.tr("Export"))
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
            total = await self._log.count(log_filter)
            dialog.setMaximum(max(total, 1))
            rows = await self._log.export(
                log_filter, path, ExportFormat.for_path(path), progress=progress.advanced.emit, cancel=cancel
            )
        except ExportCancelled:
            self._show_status(self.tr("Export cancelled; no file was written."))
        except OSError as exc:
            self._show_status(
                self.tr("Could not write {path}: {error}. Choose another folder or name.").format(
                    path=path, error=exc.strerror or exc
                )
            )
        except Exception as exc:
            self._show_status(
                self.tr("The export failed ({error}). Try again in a moment.").format(error=exc)
            )
        else:
            self._show_status(self.tr("Exported %n request(s) to {path}.", "", rows).format(path=path))
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
