"""The accounts page: the account table with quota bars, and sign-in, add, import, refresh, enable, remove."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QActionGroup, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.accounts import ImportFileError, ImportResult
from core.errors import UpstreamError
from core.types import Account, AccountKind
from gui import theme
from gui.controller import AppController
from gui.dialogs.confirm import ask_to_confirm
from gui.dialogs.signin import SignInDialog
from gui.i18n import translate
from gui.models.accounts_model import (
    HEALTH_ROLE,
    KIND,
    LAST_USED,
    NAME,
    QUOTA,
    QUOTA_ROLE,
    REQUESTS_TODAY,
    SORT_ROLE,
    STATUS,
    TIER,
    AccountsModel,
    Health,
    QuotaBar,
    group_name,
    header_text,
)
from gui.tasks import run_task

log = logging.getLogger(__name__)

MIN_BAR_HEIGHT = 14
BAR_TEXT_PADDING = 2  # above and below the text together, so descenders stay inside the bar
BAR_GAP = 4
GROUP_LABEL_WIDTH = 92
QUOTA_COLUMN_WIDTH = 340
QUOTA_MIN_WIDTH = 240  # group label and a bar with "42% · 2h 59m"
_HEALTH_TONES = {
    Health.OK: theme.Tone.OK,
    Health.COOLING_DOWN: theme.Tone.WARNING,
    Health.EXHAUSTED: theme.Tone.ERROR,
    Health.NEEDS_SIGNIN: theme.Tone.ERROR,
    Health.BLOCKED: theme.Tone.ERROR,
    Health.DISABLED: theme.Tone.MUTED,
}


def bar_height(metrics: QFontMetrics) -> int:
    """The height of one quota bar: its text in the view's font, descenders included (Segoe UI 9pt on Windows
    and the 13pt macOS font are taller than the 14 px that suits Linux defaults)."""
    return max(MIN_BAR_HEIGHT, metrics.height() + BAR_TEXT_PADDING)


def column_widths(available: int, metrics: QFontMetrics) -> dict[int, int]:
    """Widths of the fixed columns for a table `available` px wide (0 = hidden); Quota takes the rest."""
    char = max(1, metrics.horizontalAdvance("0"))
    today = max(metrics.horizontalAdvance(header_text(REQUESTS_TODAY)) + 16, 6 * char)
    last_used = max(metrics.horizontalAdvance(header_text(LAST_USED)) + 16, 10 * char)
    tier = 11 * char
    rest = available - QUOTA_MIN_WIDTH - today - last_used
    if rest < 28 * char + tier:
        tier = 0  # narrow window: drop the tier column before squeezing names and states
    rest -= tier
    name = max(14 * char, rest * 58 // 100)
    status = max(9 * char, rest - name)
    return {NAME: name, TIER: tier, STATUS: status, REQUESTS_TODAY: today, LAST_USED: last_used}


RESERVE_CHOICES = (10, 20, 30, 50)  # the per-account quota protection the context menu offers, in %


class QuotaDelegate(QStyledItemDelegate):
    """Draws the QUOTA column as one bar per model group (QUOTA_ROLE), with its % and reset countdown, and
    colours the STATUS column by health (HEALTH_ROLE)."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        if index.column() != QUOTA:
            if index.column() == STATUS:
                tone = _HEALTH_TONES.get(index.data(HEALTH_ROLE))
                selected = bool(option.state & QStyle.StateFlag.State_Selected)
                if tone is not None and not selected:  # selected rows keep HighlightedText: readable
                    option = QStyleOptionViewItem(option)
                    self.initStyleOption(option, index)
                    option.palette.setColor(QPalette.ColorRole.Text, theme.tone(tone))
            super().paint(painter, option, index)
            return
        bars: list[QuotaBar] = index.data(QUOTA_ROLE) or []
        # The selection background and focus frame, without the cell's text.
        background = QStyleOptionViewItem(option)
        self.initStyleOption(background, index)
        background.text = ""
        style = background.widget.style() if background.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, background, painter, background.widget)
        painter.save()
        try:
            painter.setClipRect(option.rect)  # never paint over the next column or row
            self._paint_bars(painter, option, bars)
        finally:
            painter.restore()

    @staticmethod
    def _paint_bars(painter: QPainter, option: QStyleOptionViewItem, bars: list[QuotaBar]) -> None:
        now = datetime.now(UTC)
        rect = option.rect.adjusted(4, BAR_GAP // 2 + 1, -4, 0)
        label_width = min(GROUP_LABEL_WIDTH, rect.width() // 3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        text_colour = option.palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        if not bars:
            painter.setPen(text_colour)
            painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter, translate("AccountsModel", "no models yet"))
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        height = bar_height(option.fontMetrics)
        for position, bar in enumerate(bars):
            top = rect.top() + position * (height + BAR_GAP)
            label_rect = QRect(rect.left(), top, label_width, height)
            bar_rect = QRect(label_rect.right() + 6, top, max(rect.width() - label_width - 6, 1), height)
            painter.setPen(text_colour)
            metrics = option.fontMetrics
            painter.drawText(
                label_rect,
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                metrics.elidedText(group_name(bar.group), Qt.TextElideMode.ElideRight, label_rect.width()),
            )
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.bar_track())  # solid: visible on plain, alternate and selected rows
            painter.drawRoundedRect(bar_rect, 3, 3)
            if bar.fraction is not None and bar.fraction > 0:
                filled = QRect(bar_rect)
                filled.setWidth(max(2, round(bar_rect.width() * min(bar.fraction, 1.0))))
                fill = theme.bar_fill(bar.fraction)
                fill.setAlpha(150)  # the text on the bar stays readable in both themes
                painter.setBrush(fill)
                painter.drawRoundedRect(filled, 3, 3)
            painter.setPen(option.palette.color(QPalette.ColorRole.Text))
            text_rect = bar_rect.adjusted(6, 0, -6, 0)
            text = bar.text(now)
            if metrics.horizontalAdvance(text) > text_rect.width():
                text = bar.short_text(now)  # the tooltip keeps the long form
            painter.drawText(
                text_rect,
                Qt.AlignmentFlag.AlignVCenter,
                metrics.elidedText(text, Qt.TextElideMode.ElideRight, text_rect.width()),
            )

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        if index.column() != QUOTA:
            return super().sizeHint(option, index)
        count = max(1, len(index.data(QUOTA_ROLE) or []))
        return QSize(QUOTA_COLUMN_WIDTH, count * (bar_height(option.fontMetrics) + BAR_GAP) + BAR_GAP)


class ApiKeyDialog(QDialog):
    """Asks for a Gemini API key and an optional label; the page checks the key and reports back.

    Signals:
        submitted(str, str): the key and the label, when Add is pressed with a key filled in.
    """

    submitted = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Add a Gemini API key"))
        self.setMinimumWidth(460)
        intro = QLabel(
            self.tr(
                'Paste a key from <a href="https://aistudio.google.com/apikey">Google AI Studio</a>. '
                "Gravity Desk checks it with Google before adding it and keeps it in your system's keyring."
            )
        )
        intro.setWordWrap(True)
        intro.setOpenExternalLinks(True)
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("AIza…")
        self.label_edit = QLineEdit()
        self.label_edit.setPlaceholderText(self.tr("e.g. Work key (optional)"))
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(theme.tone_style(theme.Tone.ERROR))
        self.error_label.hide()
        form = QFormLayout()
        form.addRow(self.tr("API key"), self.key_edit)
        form.addRow(self.tr("Label"), self.label_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.addButton(self.tr("Add"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setEnabled(False)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        self.key_edit.textChanged.connect(lambda text: self.add_button.setEnabled(bool(text.strip())))
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def _submit(self) -> None:
        key = self.key_edit.text().strip()
        if not key:
            return
        self.set_busy(True)
        self.error_label.hide()
        self.submitted.emit(key, self.label_edit.text().strip())

    def set_busy(self, busy: bool) -> None:
        self.add_button.setEnabled(not busy)
        self.add_button.setText(self.tr("Checking…") if busy else self.tr("Add"))
        self.key_edit.setEnabled(not busy)
        self.label_edit.setEnabled(not busy)

    def show_error(self, message: str) -> None:
        self.set_busy(False)
        self.error_label.setText(message)
        self.error_label.show()


def _import_summary(result: ImportResult) -> tuple[str, bool]:
    """(HTML text, whether something failed) for the message area."""
    parts: list[str] = []
    if result.added:
        parts.append(
            translate("AccountsPage", "Added {count}: {names}.").format(
                count=len(result.added), names=html.escape(", ".join(result.added))
            )
        )
    if result.updated:
        parts.append(
            translate("AccountsPage", "Updated {count}: {names}.").format(
                count=len(result.updated), names=html.escape(", ".join(result.updated))
            )
        )
    if result.failed:
        failures = "".join(
            f"<li>{html.escape(where)}: {html.escape(reason)}</li>" for where, reason in result.failed
        )
        parts.append(
            translate("AccountsPage", "%n could not be imported:", "", len(result.failed))
            + f"<ul>{failures}</ul>"
        )
    if not parts:
        parts.append(translate("AccountsPage", "The file lists no accounts."))
    return " ".join(parts), bool(result.failed)


class AccountsPage(QWidget):
    """The Accounts page. Slots stay thin: they start core calls with run_task and show the outcome in the
    message line above the table (or in the dialog that asked).

    Signals:
        message_shown(str): a message was shown to the user (plain text; for the tray and tests).
    """

    message_shown = Signal(str)

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._accounts = controller.services.accounts
        self.model = AccountsModel(controller, self)
        self.sign_in_dialog: SignInDialog | None = None
        self.api_key_dialog: ApiKeyDialog | None = None
        self.import_dialog: QFileDialog | None = None  # while open, so tests can answer it
        self.remove_box: QMessageBox | None = None  # while open, so tests can answer it
        self.label_dialog: QInputDialog | None = None  # likewise
        self._busy: set[QPushButton] = set()  # buttons whose action is still running
        self._build()
        self.model.rowsInserted.connect(self._update_empty_state)
        self.model.rowsRemoved.connect(self._update_empty_state)
        self.model.modelReset.connect(self._update_empty_state)
        self.model.dataChanged.connect(lambda *_: self._update_actions())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self._update_empty_state()

    # -- layout ---------------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(watched, event)

    def fit_columns(self) -> None:
        """Share the table's width so the Quota column keeps room for its bars at every window size; the
        tier column goes first when it is narrow (its badge is repeated in the account's tooltip)."""
        widths = column_widths(self.table.viewport().width(), self.table.fontMetrics())
        for column, width in widths.items():
            self.table.setColumnHidden(column, width == 0)
            if width:
                self.table.setColumnWidth(column, width)

    def _build(self) -> None:
        self.sign_in_button = QPushButton(self.tr("Sign in with Google"))
        self.sign_in_button.setDefault(True)
        self.sign_in_button.setToolTip(
            self.tr("Add a Google account: your browser opens Google's sign-in page")
        )
        self.add_key_button = QPushButton(self.tr("Add API key…"))
        self.add_key_button.setToolTip(self.tr("Add a Gemini API key from Google AI Studio"))
        self.import_button = QPushButton(self.tr("Import JSON file…"))
        self.import_button.setToolTip(self.tr('A JSON list of {"email": …, "refresh_token": …} objects'))
        self.refresh_button = QPushButton(self.tr("Refresh all quotas"))
        self.enable_button = QPushButton(self.tr("Disable"))
        self.resign_button = QPushButton(self.tr("Sign in again"))
        self.resign_button.setToolTip(
            self.tr("Sign in to the selected Google account again (when it needs sign-in)")
        )
        self.remove_button = QPushButton(self.tr("Remove…"))
        self.label_button = QPushButton(self.tr("Label…"))
        self.label_button.setToolTip(self.tr("Name the selected account in your own words, e.g. work"))
        self.label_button.clicked.connect(self.edit_label)
        self.sign_in_button.clicked.connect(lambda: self.start_sign_in())
        self.add_key_button.clicked.connect(self.open_api_key_dialog)
        self.import_button.clicked.connect(self.import_file)
        self.refresh_button.clicked.connect(self.refresh_quota)
        self.enable_button.clicked.connect(self.toggle_enabled)
        self.resign_button.clicked.connect(self.sign_in_again)
        self.remove_button.clicked.connect(self.remove_selected)
        # Two rows, so every button keeps its whole text down to the 820 px minimum window: adding accounts
        # and refreshing above, what acts on the selected account below.
        toolbar = QVBoxLayout()
        add_row = QHBoxLayout()
        for button in (self.sign_in_button, self.add_key_button, self.import_button):
            add_row.addWidget(button)
        add_row.addStretch(1)
        add_row.addWidget(self.refresh_button)
        selection_row = QHBoxLayout()
        selection_row.addStretch(1)
        for button in (self.label_button, self.enable_button, self.resign_button, self.remove_button):
            selection_row.addWidget(button)
        toolbar.addLayout(add_row)
        toolbar.addLayout(selection_row)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.message.hide()

        # Sorting and filtering happen in a proxy; the page maps its rows back to the model's.
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)  # name, label, tier and status texts
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText(self.tr("Filter accounts…"))
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMaximumWidth(220)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        selection_row.insertWidget(0, self.filter_edit)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the order accounts were added, until asked
        self.table.setItemDelegate(QuotaDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(40)
        header.setStretchLastSection(False)
        for column in range(self.model.columnCount()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(QUOTA, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnHidden(KIND, True)  # the tier badge says "API key" for keys
        self.table.viewport().installEventFilter(self)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._open_context_menu)

        self.empty_panel = self._build_empty_panel()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_panel)
        self.stack.addWidget(self.table)

        layout = QVBoxLayout(self)
        layout.addLayout(toolbar)
        layout.addWidget(self.message)
        layout.addWidget(self.stack, 1)

    def _build_empty_panel(self) -> QWidget:
        panel = QWidget()
        title = QLabel(self.tr("Add your first account"))
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        text = QLabel(
            self.tr(
                "Gravity Desk answers your apps with the Google AI accounts you add here. Sign in with a "
                "Google account (your browser opens Google's page), or add a Gemini API key from Google AI "
                "Studio. Then point your app at the address shown on the Dashboard."
            )
        )
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        # A centred, word-wrapped label gets no height-for-width from the layout: fix both explicitly.
        text.setFixedWidth(520)
        text.setMinimumHeight(text.heightForWidth(520))
        self.empty_sign_in_button = QPushButton(self.tr("Sign in with Google"))
        self.empty_sign_in_button.clicked.connect(lambda: self.start_sign_in())
        self.empty_add_key_button = QPushButton(self.tr("Add an API key"))
        self.empty_add_key_button.clicked.connect(self.open_api_key_dialog)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.empty_sign_in_button)
        buttons.addWidget(self.empty_add_key_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(panel)
        layout.addStretch(1)
        layout.addWidget(title, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(text, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(buttons)
        layout.addStretch(2)
        return panel

    # -- quota protection per account -------------------------------------------------------------------

    def _open_context_menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if not index.isValid():
            return
        account = self.model.account_at(self.proxy.mapToSource(index).row())
        if account is not None:
            self.context_menu(account).popup(self.table.viewport().mapToGlobal(position))

    def context_menu(self, account: Account) -> QMenu:
        """The account's right-click menu: its quota protection (the global value, off, or its own %)."""
        menu = QMenu(self)
        protection = menu.addMenu(self.tr("Quota protection"))
        group = QActionGroup(protection)
        global_percent = round(self.controller.settings.quota.reserve_percent)
        choices: list[tuple[str, float | None]] = [
            (self.tr("As in Settings ({percent}%)").format(percent=global_percent), None),
            (self.tr("Off for this account"), 0.0),
        ]
        choices += [
            (self.tr("Keep {percent}% in reserve").format(percent=p), float(p)) for p in RESERVE_CHOICES
        ]
        for text, percent in choices:
            action = QAction(text, protection)
            action.setCheckable(True)
            action.setChecked(account.reserve_percent == percent)
            action.setData(percent)
            action.triggered.connect(lambda _=False, value=percent: self.set_reserve(account, value))
            group.addAction(action)
            protection.addAction(action)
        return menu

    def set_reserve(self, account: Account, percent: float | None) -> None:
        self._run(self.controller.services.accounts.set_reserve_percent(account.id, percent))

    # -- state ----------------------------------------------------------------------------------------

    def selected_account(self) -> Account | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.account_at(self.proxy.mapToSource(rows[0]).row()) if rows else None

    def select_account(self, account_id: str) -> None:
        row = self.model.row_of(account_id)
        if row >= 0:
            shown = self.proxy.mapFromSource(self.model.index(row, 0))
            if shown.isValid():
                self.table.selectRow(shown.row())

    def _update_empty_state(self, *_: Any) -> None:
        empty = self.model.rowCount() == 0
        self.stack.setCurrentWidget(self.empty_panel if empty else self.table)
        self._update_actions()

    def _update_actions(self) -> None:
        account = self.selected_account()
        self.refresh_button.setText(
            self.tr("Refresh quota") if account is not None else self.tr("Refresh all quotas")
        )
        self.refresh_button.setEnabled(self.model.rowCount() > 0)
        self.enable_button.setEnabled(account is not None)
        self.enable_button.setText(
            self.tr("Enable") if account is not None and not account.enabled else self.tr("Disable")
        )
        self.resign_button.setEnabled(account is not None and account.kind is AccountKind.GOOGLE)
        self.remove_button.setEnabled(account is not None)
        self.label_button.setEnabled(account is not None)
        for button in self._busy:
            button.setEnabled(False)

    def show_message(self, text: str, *, error: bool = False, rich: bool = False) -> None:
        """One line (or a short list) above the table: what happened, or what went wrong and what to do."""
        body = text if rich else html.escape(text).replace("\n", "<br>")
        colour = theme.current().tones[theme.Tone.ERROR] if error else "palette(text)"
        self.message.setText(f'<span style="color: {colour};">{body}</span>')
        self.message.show()
        self.message_shown.emit(html.unescape(re.sub(r"<[^>]+>", " ", text)) if rich else text)

    def _run(self, coroutine: Coroutine[Any, Any, Any], *, busy: QPushButton | None = None) -> None:
        """Start a core call; `busy` is disabled until it ends. Expected failures become messages."""
        if busy is not None:
            self._busy.add(busy)
            busy.setEnabled(False)

        async def guarded() -> None:
            try:
                await coroutine
            except UpstreamError as exc:
                self.show_message(f"{exc.message}", error=True)
            except (ValueError, KeyError, OSError) as exc:
                self.show_message(str(exc) or type(exc).__name__, error=True)
            finally:
                if busy is not None:
                    self._busy.discard(busy)
                    busy.setEnabled(True)
                self._update_actions()

        run_task(guarded())

    # -- sign in ----------------------------------------------------------------------------------------

    def start_sign_in(self, login_hint: str | None = None) -> SignInDialog:
        """Open the sign-in dialog (the browser opens Google's page); the result lands in the message line."""
        if self.sign_in_dialog is not None and self.sign_in_dialog.isVisible():
            self.sign_in_dialog.raise_()
            return self.sign_in_dialog
        if self.sign_in_dialog is not None:
            self.sign_in_dialog.deleteLater()  # the last one is kept until now, so callers may still read it
        dialog = SignInDialog(self.controller, self, login_hint=login_hint)
        dialog.signed_in.connect(lambda account: self._signed_in(account, login_hint))
        self.sign_in_dialog = dialog
        dialog.start()
        return dialog

    def sign_in_again(self) -> None:
        account = self.selected_account()
        if account is not None and account.kind is AccountKind.GOOGLE:
            self.start_sign_in(login_hint=account.email)

    def _signed_in(self, account: Account, expected: str | None) -> None:
        self.select_account(account.id)
        if expected and (account.email or "").casefold() != expected.casefold():
            self.show_message(
                self.tr(
                    "You signed in as {name}, not {expected}, so {name} was added. "
                    "To fix {expected}, choose it on Google's page when you sign in again."
                ).format(name=account.name, expected=expected)
            )
        else:
            self.show_message(self.tr("Signed in: {name} is ready to use.").format(name=account.name))

    # -- API key ------------------------------------------------------------------------------------------

    def open_api_key_dialog(self) -> ApiKeyDialog:
        if self.api_key_dialog is not None:
            self.api_key_dialog.deleteLater()
        dialog = ApiKeyDialog(self)
        dialog.submitted.connect(lambda key, label: self._add_api_key(dialog, key, label))
        self.api_key_dialog = dialog
        dialog.open()
        return dialog

    def _add_api_key(self, dialog: ApiKeyDialog, key: str, label: str) -> None:
        async def add() -> None:
            try:
                account = await self._accounts.add_api_key(key, label or None)
            except UpstreamError as exc:
                dialog.show_error(
                    self.tr("Google did not accept this key: {reason}\nCheck the key and try again.").format(
                        reason=exc.message
                    )
                )
                return
            except ValueError as exc:
                dialog.show_error(str(exc))
                return
            dialog.accept()
            self.select_account(account.id)
            self.show_message(self.tr("Added {name}.").format(name=account.name))

        run_task(add())

    # -- import ---------------------------------------------------------------------------------------------

    def import_file(self) -> None:
        """Ask for the file in a window-modal dialog (open(), not getOpenFileName(): no nested event loop
        inside qasync, and a sheet on macOS); the import starts when a file is chosen."""
        dialog = QFileDialog(self, self.tr("Import accounts from a JSON file"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters([self.tr("JSON files (*.json)"), self.tr("All files (*)")])
        dialog.fileSelected.connect(lambda name: self._import_from(Path(name)))
        dialog.finished.connect(lambda _result: self._forget_import_dialog(dialog))
        self.import_dialog = dialog
        dialog.open()

    def _forget_import_dialog(self, dialog: QFileDialog) -> None:
        if self.import_dialog is dialog:
            self.import_dialog = None
        dialog.deleteLater()

    def _import_from(self, path: Path) -> None:
        async def run() -> None:
            self.show_message(self.tr("Importing… each account signs in with Google first."))
            try:
                result = await self._accounts.import_file(path)
            except ImportFileError as exc:
                self.show_message(self.tr("Nothing was imported: {reason}").format(reason=exc), error=True)
                return
            text, failed = _import_summary(result)
            self.show_message(text, error=failed and not (result.added or result.updated), rich=True)

        self._run(run(), busy=self.import_button)

    # -- selected account ------------------------------------------------------------------------------

    def refresh_quota(self) -> None:
        account = self.selected_account()
        if account is None:
            self._run(self._refresh_all(), busy=self.refresh_button)
        else:
            self._run(self._refresh_one(account), busy=self.refresh_button)

    async def _refresh_all(self) -> None:
        await self.controller.refresh_quotas()
        troubled = [a.name for a in self._accounts.accounts() if a.enabled and a.status.value != "ok"]
        if troubled:
            self.show_message(
                self.tr("Quotas refreshed. Needs attention: {names}.").format(names=", ".join(troubled)),
                error=True,
            )
        else:
            self.show_message(self.tr("Quotas refreshed."))

    async def _refresh_one(self, account: Account) -> None:
        try:
            await self._accounts.refresh_quota(account.id)
        except UpstreamError as exc:
            self.show_message(f"{account.name}: {exc.message}", error=True)
            return
        self.show_message(self.tr("Quota of {name} refreshed.").format(name=account.name))

    def toggle_enabled(self) -> None:
        account = self.selected_account()
        if account is not None:
            self._run(self._accounts.set_enabled(account.id, not account.enabled), busy=self.enable_button)

    def remove_selected(self) -> None:
        account = self.selected_account()
        if account is None:
            return
        text = self.tr(
            "Remove {name} from Gravity Desk?\n\nIts stored sign-in or key is deleted from this "
            "computer. Your Google account itself is not changed, and you can add it again later."
        ).format(name=account.name)
        box = ask_to_confirm(
            self, self.tr("Remove account?"), text, self.tr("Remove"), lambda: self._remove(account)
        )
        box.finished.connect(lambda _result: self._forget_remove_box(box))
        self.remove_box = box

    def edit_label(self) -> QInputDialog | None:
        """Asks for the selected account's label (non-modal, like every dialog here); blank clears it."""
        account = self.selected_account()
        if account is None:
            return None
        dialog = QInputDialog(self)
        dialog.setWindowTitle(self.tr("Label account"))
        dialog.setLabelText(self.tr("A short name for {name} (blank to clear):").format(name=account.name))
        dialog.setTextValue(account.label or "")
        dialog.setOkButtonText(self.tr("Save"))
        dialog.setCancelButtonText(self.tr("Cancel"))
        dialog.textValueSelected.connect(
            lambda text: self._run(self._accounts.set_label(account.id, text), busy=self.label_button)
        )
        dialog.finished.connect(lambda _result: self._forget_label_dialog(dialog))
        self.label_dialog = dialog
        dialog.open()
        return dialog

    def _forget_label_dialog(self, dialog: QInputDialog) -> None:
        if self.label_dialog is dialog:
            self.label_dialog = None

    def _forget_remove_box(self, box: QMessageBox) -> None:
        if self.remove_box is box:
            self.remove_box = None

    def _remove(self, account: Account) -> None:
        name = account.name

        async def remove() -> None:
            await self._accounts.remove(account.id)
            self.show_message(self.tr("Removed {name}.").format(name=name))

        self._run(remove(), busy=self.remove_button)
