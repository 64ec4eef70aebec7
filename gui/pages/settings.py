"""The settings page: listener, API keys, model names, Google connection, request log and desktop options."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, override
from urllib.parse import urlsplit

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.api_keys import ApiKey
from core.autostart import Autostart, AutostartError
from core.config import LANGUAGES, THEMES, Settings, is_loopback_host, port_in_range
from core.redact import mask_secret
from gui.controller import AppController, ServerState, ServerStatus
from gui.dialogs.confirm import ask_to_confirm
from gui.dialogs.new_key import NewKeyDialog
from gui.i18n import LANGUAGE_NAMES, QT_TRANSLATE_NOOP, current_language, resolve_language, translate
from gui.tasks import run_task

log = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex

MAX_QUOTA_REFRESH_MINUTES = 24 * 60
MAX_RETENTION_DAYS = 3650
MAX_LOG_ROWS = 10_000_000
_VERSION = re.compile(r"\d+(\.\d+){1,3}")
_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?")
_THEME_LABELS = {
    "system": QT_TRANSLATE_NOOP("SettingsPage", "Follow the system"),
    "light": QT_TRANSLATE_NOOP("SettingsPage", "Light"),
    "dark": QT_TRANSLATE_NOOP("SettingsPage", "Dark"),
}
_ERROR_STYLE = "color: #c62828;"
_KEY_NAME_ROLE = Qt.ItemDataRole.UserRole + 1
_WARNING_STYLE = "color: #b26a00;"

WILDCARD_HELP = QT_TRANSLATE_NOOP(
    "SettingsPage",
    "Send a client's model name to another model. <b>*</b> matches any text and <b>?</b> one character: "
    "<code>gpt-4*</code> covers gpt-4o and gpt-4-turbo. Exact names win over wildcards, and the most "
    "specific wildcard wins. Names not listed here use the built-in choices.",
)


# -- the form as plain data: read from settings, validated, written back (no Qt below until the model) --


@dataclass
class SettingsForm:
    """What the page's fields hold, as plain values."""

    host: str
    port: str  # as typed, so validation can say what is wrong with it
    api_keys: list[str]
    models: list[tuple[str, str]]  # (client model pattern, upstream model), in the table's order
    endpoints: str  # one per line
    client_version: str
    quota_refresh_minutes: int
    retention_days: int
    max_rows: int
    capture_bodies: bool
    start_at_login: bool
    start_minimized: bool
    theme: str
    language: str
    key_names: dict[str, str] = field(default_factory=dict)  # key value -> its name
    check_updates: bool = False
    releases_url: str = ""
    reserve_percent: int = 0  # quota protection: % of each model group every account keeps (0 = off)


def form_from_settings(settings: Settings, keys: list[ApiKey] | None = None) -> SettingsForm:
    """The form for the saved settings; `keys` (the named keys) give the keys' names."""
    return SettingsForm(
        host=settings.server.host,
        port=str(settings.server.port),
        api_keys=list(settings.server.api_keys),
        models=list(settings.models.items()),
        endpoints="\n".join(settings.upstream.endpoints),
        client_version=settings.upstream.client_version,
        quota_refresh_minutes=max(1, round(settings.upstream.quota_refresh_minutes)),
        retention_days=settings.log.retention_days,
        max_rows=settings.log.max_rows,
        capture_bodies=settings.log.capture_bodies,
        start_at_login=settings.ui.start_at_login,
        start_minimized=settings.ui.start_minimized,
        theme=settings.ui.theme,
        language=settings.ui.language,
        key_names={key.value: key.name for key in keys or []},
        check_updates=settings.updates.enabled,
        releases_url=settings.updates.releases_url,
        reserve_percent=round(settings.quota.reserve_percent),
    )


def _endpoint_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _filled_rules(rules: list[tuple[str, str]]) -> list[tuple[int, str, str]]:
    """(1-based row, pattern, target) of the rows that are not entirely empty."""
    return [
        (row, pattern.strip(), target.strip())
        for row, (pattern, target) in enumerate(rules, start=1)
        if pattern.strip() or target.strip()
    ]


def _host_error(host: str) -> str | None:
    host = host.strip()
    if not host:
        return translate(
            "SettingsPage", "Enter the address to listen on; 127.0.0.1 means this computer only."
        )
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if not _HOSTNAME.fullmatch(host):
            return translate(
                "SettingsPage",
                "'{host}' is not an address: use 127.0.0.1 (this computer) or 0.0.0.0 (every network).",
            ).format(host=host)
    return None


def _port_error(port: str) -> str | None:
    text = port.strip()
    if not text.isdigit() or not port_in_range(int(text)):
        return translate(
            "SettingsPage",
            "The port must be a whole number between 1 and 65535 (Gravity Desk's usual port is 8045).",
        )
    return None


def _models_error(rules: list[tuple[str, str]]) -> str | None:
    seen: dict[str, int] = {}
    for row, pattern, target in _filled_rules(rules):
        if not pattern or not target:
            return translate(
                "SettingsPage",
                "Row {row}: fill in both the client's model name and the model to use (or remove the row).",
            ).format(row=row)
        key = pattern.lower()
        if key in seen:
            return translate(
                "SettingsPage", "Row {row}: '{pattern}' is already mapped in row {other}; remove one of them."
            ).format(row=row, pattern=pattern, other=seen[key])
        seen[key] = row
    return None


def _endpoints_error(text: str) -> str | None:
    lines = _endpoint_lines(text)
    if not lines:
        return translate(
            "SettingsPage", "Enter at least one endpoint, one per line (the defaults come back with Revert)."
        )
    for number, line in enumerate(lines, start=1):
        parts = urlsplit(line)
        if parts.scheme not in ("https", "http") or not parts.netloc or " " in line:
            return translate(
                "SettingsPage", "Line {number} is not a web address; each line needs the form https://host."
            ).format(number=number)
    return None


def _client_version_error(version: str) -> str | None:
    if not _VERSION.fullmatch(version.strip()):
        return translate(
            "SettingsPage", "Use a version number such as 1.15.8 (the Antigravity version Google expects)."
        )
    return None


def _releases_url_error(form: SettingsForm) -> str | None:
    url = form.releases_url.strip()
    if not url and not form.check_updates:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or " " in url:
        return "Enter the web address of a releases list, e.g. https://api.github.com/repos/OWNER/gravity-desk/releases/latest."
    return None


def validate_form(form: SettingsForm) -> dict[str, str]:
    """Field name -> what is wrong with it, for every field that cannot be applied."""
    checks = {
        "host": _host_error(form.host),
        "port": _port_error(form.port),
        "models": _models_error(form.models),
        "endpoints": _endpoints_error(form.endpoints),
        "client_version": _client_version_error(form.client_version),
        "updates": _releases_url_error(form),
    }
    if form.theme not in THEMES:
        checks["theme"] = translate("SettingsPage", "Choose one of: {choices}.").format(
            choices=", ".join(THEMES)
        )
    if form.language not in LANGUAGES:
        checks["language"] = translate("SettingsPage", "Choose one of: {choices}.").format(
            choices=", ".join(LANGUAGES)
        )
    return {name: message for name, message in checks.items() if message}


def apply_form(form: SettingsForm, settings: Settings) -> bool:
    """Write a valid form into `settings`, changing the section objects in place because core holds on to
    them and reads them live. Returns whether the listener's address changed (so it must restart).
    `ui.start_at_login` is left to the caller: it is set once the OS entry is written."""
    server = settings.server
    host, port = form.host.strip(), int(form.port.strip())
    listener_changed = (host, port) != (server.host, server.port)
    server.host, server.port = host, port
    server.api_keys = list(form.api_keys)
    settings.models = {pattern: target for _, pattern, target in _filled_rules(form.models)}
    upstream = settings.upstream
    upstream.endpoints = _endpoint_lines(form.endpoints)
    upstream.client_version = form.client_version.strip()
    if form.quota_refresh_minutes != max(1, round(upstream.quota_refresh_minutes)):
        upstream.quota_refresh_minutes = float(form.quota_refresh_minutes)
    if form.reserve_percent != round(
        settings.quota.reserve_percent
    ):  # a hand-written 12.5 stays unless edited
        settings.quota.reserve_percent = float(form.reserve_percent)
    settings.log.retention_days = form.retention_days
    settings.log.max_rows = form.max_rows
    settings.log.capture_bodies = form.capture_bodies
    settings.ui.start_minimized = form.start_minimized
    settings.ui.theme = form.theme
    settings.ui.language = form.language
    settings.updates.enabled = form.check_updates
    settings.updates.releases_url = form.releases_url.strip()
    return listener_changed


def apply_theme(theme: str) -> None:
    """Light, dark or the desktop's scheme, the same on every platform (gui/theme.py: Fusion + a palette)."""
    from gui import theme as themes

    themes.apply_theme(theme)


def _short_time(moment: datetime | None, never: str) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment is not None else never


# -- the model-mapping table ------------------------------------------------------------------------------


class ModelMappingModel(QAbstractTableModel):
    """An editable two-column table: client model pattern -> upstream model.

    Signals:
        rulesEdited(): a cell was edited or a row added or removed.
    """

    rulesEdited = Signal()

    CLIENT, UPSTREAM = 0, 1
    _HEADERS = (
        QT_TRANSLATE_NOOP("SettingsPage", "Client asks for"),
        QT_TRANSLATE_NOOP("SettingsPage", "Gravity Desk uses"),
    )

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[list[str]] = []

    def rules(self) -> list[tuple[str, str]]:
        return [(row[0], row[1]) for row in self._rows]

    def set_rules(self, rules: list[tuple[str, str]]) -> None:
        self.beginResetModel()
        self._rows = [[pattern, target] for pattern, target in rules]
        self.endResetModel()

    def add_row(self, pattern: str = "", target: str = "") -> QModelIndex:
        """Append a row; returns the index of its first cell (to start editing there)."""
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append([pattern, target])
        self.endInsertRows()
        self.rulesEdited.emit()
        return self.index(row, self.CLIENT)

    def remove_rows(self, rows: list[int]) -> None:
        for row in sorted(set(rows), reverse=True):
            if 0 <= row < len(self._rows):
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        self.rulesEdited.emit()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        value = self._rows[index.row()][index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return value
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == self.CLIENT:
            return self.tr("Exact name, or a pattern with * and ?")
        return None

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or not isinstance(value, str):
            return False
        row, column = index.row(), index.column()
        if not 0 <= row < len(self._rows) or self._rows[row][column] == value.strip():
            return False
        self._rows[row][column] = value.strip()
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole])
        self.rulesEdited.emit()
        return True

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self._HEADERS):
            return translate("SettingsPage", self._HEADERS[section])
        if orientation == Qt.Orientation.Vertical and 0 <= section < len(self._rows):
            return section + 1
        return None


class UpstreamModelDelegate(QStyledItemDelegate):
    """Edits the upstream column with a combo of the models the accounts offer (free text allowed too)."""

    def __init__(self, offered: Callable[[], list[str]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._offered = offered

    @override
    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: _Index) -> QWidget:
        combo = QComboBox(parent)
        combo.setEditable(True)  # a model no account offers yet (a new account is coming) is allowed
        combo.addItems(self._offered())
        return combo

    def setEditorData(self, editor: QWidget, index: _Index) -> None:
        if isinstance(editor, QComboBox):
            editor.setCurrentText(str(index.data(Qt.ItemDataRole.EditRole) or ""))
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: _Index) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)
        else:
            super().setModelData(editor, model, index)


# -- the page --------------------------------------------------------------------------------------------


def _message_label(style: str) -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(style)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def _show(label: QLabel, text: str | None) -> None:
    label.setText(text or "")
    label.setVisible(bool(text))


def _grow_fields_form(group: QGroupBox) -> QFormLayout:
    """A form layout on `group` whose fields take the row's width: macOS's style keeps fields at their size
    hint by default, which leaves the endpoints box too narrow for Google's URLs."""
    form = QFormLayout(group)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return form


def _spin(minimum: int, maximum: int, *, step: int = 1, suffix: str = "", zero_text: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(minimum, maximum)
    spin.setSingleStep(step)
    spin.setSuffix(suffix)
    spin.setSpecialValueText(zero_text)  # shown instead of the minimum (0 = no limit)
    spin.setGroupSeparatorShown(True)
    spin.setMaximumWidth(200)
    return spin


class SettingsPage(QWidget):
    """Edits the settings; Apply validates, applies live (restarting the listener for a new address) and
    saves config.toml; Revert puts the saved values back.

    Signals:
        applied(bool): an Apply finished; False when something could not be applied (the page says what).
    """

    applied = Signal(bool)

    def __init__(
        self, controller: AppController, parent: QWidget | None = None, *, autostart: Autostart | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.autostart = autostart if autostart is not None else Autostart()
        self._busy = False
        self._confirm_box: QMessageBox | None = None
        self._errors: dict[str, QLabel] = {}
        self._build()
        self.load_form(self._saved_form())
        self._show_server_state(controller.state)
        controller.server_state_changed.connect(self._show_server_state)
        controller.settings_changed.connect(self._on_settings_saved)
        controller.accounts_changed.connect(lambda _id: self._refresh_offered_models())
        self._refresh_offered_models()

    # -- building -------------------------------------------------------------------------------------

    def _build(self) -> None:
        content = QWidget()
        column = QVBoxLayout(content)
        column.addWidget(self._server_group())
        column.addWidget(self._keys_group())
        column.addWidget(self._models_group())
        column.addWidget(self._upstream_group())
        column.addWidget(self._log_group())
        column.addWidget(self._desktop_group())
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        self._scroll = scroll

        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.revert_button = QPushButton(self.tr("Revert"))
        self.revert_button.setToolTip(self.tr("Put back the saved settings"))
        self.apply_button = QPushButton(self.tr("Apply"))
        self.apply_button.setDefault(True)
        self.apply_button.setToolTip(self.tr("Apply the changes now and save them to config.toml"))
        self.revert_button.clicked.connect(self.revert)
        self.apply_button.clicked.connect(self.apply)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status_label, 1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.apply_button)

        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)

    def _error_label(self, name: str) -> QLabel:
        label = _message_label(_ERROR_STYLE)
        label.setObjectName(f"error_{name}")
        self._errors[name] = label
        return label

    def _server_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("Server"))
        form = _grow_fields_form(group)
        self.server_state_label = QLabel()
        self.server_state_label.setWordWrap(True)
        self.server_state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.server_state_label)
        self.host_edit = QLineEdit()
        self.host_edit.setPlaceholderText("127.0.0.1")
        self.host_edit.setToolTip(
            self.tr("127.0.0.1 = only programs on this computer; 0.0.0.0 = every network")
        )
        self.host_edit.textChanged.connect(self._on_edited)
        form.addRow(self.tr("Listen on address:"), self.host_edit)
        self.host_warning = _message_label(_WARNING_STYLE)
        self.host_warning.setText(
            self.tr(
                "Other computers can reach this address: anyone on your network can reach the API — "
                "keep API keys on."
            )
        )
        form.addRow(self.host_warning)
        form.addRow(self._error_label("host"))
        self.port_edit = QLineEdit()
        self.port_edit.setPlaceholderText("8045")
        self.port_edit.setMaximumWidth(120)
        self.port_edit.textChanged.connect(self._on_edited)
        form.addRow(self.tr("Port:"), self.port_edit)
        form.addRow(self._error_label("port"))
        self.listener_error = self._error_label("listener")
        form.addRow(self.listener_error)
        return group

    def _keys_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("API keys"))
        layout = QVBoxLayout(group)
        intro = QLabel(
            self.tr("Programs using Gravity Desk send one of these keys (as their OpenAI / Anthropic key).")
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.keys_list = QListWidget()
        self.keys_list.setMaximumHeight(110)
        self.keys_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.keys_list.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.keys_list)
        self.no_keys_warning = _message_label(_WARNING_STYLE)
        self.no_keys_warning.setText(
            self.tr(
                "No API keys: authentication is off, so any program that can reach the port can use your "
                "accounts. Generate a key to turn it on."
            )
        )
        layout.addWidget(self.no_keys_warning)
        self.generate_key_button = QPushButton(self.tr("Add key…"))
        self.generate_key_button.setToolTip(self.tr("Create a named key; its whole value is shown once"))
        self.rename_key_button = QPushButton(self.tr("Rename…"))
        self.rename_key_button.clicked.connect(self.ask_rename_selected_key)
        self.copy_key_button = QPushButton(self.tr("Copy"))
        self.copy_key_button.setToolTip(self.tr("Copy the selected key to the clipboard"))
        self.revoke_key_button = QPushButton(self.tr("Revoke…"))
        self.revoke_key_button.setToolTip(self.tr("Programs using this key stop working once you apply"))
        self.generate_key_button.clicked.connect(self.generate_key)
        self.copy_key_button.clicked.connect(self.copy_selected_key)
        self.revoke_key_button.clicked.connect(self.ask_revoke_selected_key)
        row = QHBoxLayout()
        row.addWidget(self.generate_key_button)
        row.addWidget(self.rename_key_button)
        row.addWidget(self.copy_key_button)
        row.addWidget(self.revoke_key_button)
        row.addStretch(1)
        layout.addLayout(row)
        return group

    def _models_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("Model names"))
        layout = QVBoxLayout(group)
        help_label = QLabel(translate("SettingsPage", WILDCARD_HELP))
        help_label.setWordWrap(True)
        help_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(help_label)
        self.mapping_model = ModelMappingModel(self)
        self.mapping_model.rulesEdited.connect(self._on_edited)
        self.mapping_view = QTableView()
        self.mapping_view.setModel(self.mapping_model)
        self.mapping_view.setItemDelegateForColumn(
            ModelMappingModel.UPSTREAM, UpstreamModelDelegate(lambda: list(self.offered_models), self)
        )
        self.mapping_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.mapping_view.verticalHeader().hide()
        self.mapping_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.mapping_view.setMinimumHeight(120)
        self.mapping_view.selectionModel().selectionChanged.connect(self._update_buttons)
        layout.addWidget(self.mapping_view)
        layout.addWidget(self._error_label("models"))
        self.add_rule_button = QPushButton(self.tr("Add"))
        self.remove_rule_button = QPushButton(self.tr("Remove"))
        self.add_rule_button.clicked.connect(self.add_rule)
        self.remove_rule_button.clicked.connect(self.remove_selected_rules)
        row = QHBoxLayout()
        row.addWidget(self.add_rule_button)
        row.addWidget(self.remove_rule_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.offered_models: list[str] = []
        return group

    def _upstream_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("Google connection"))
        form = _grow_fields_form(group)
        self.endpoints_edit = QPlainTextEdit()
        self.endpoints_edit.setMaximumHeight(80)
        self.endpoints_edit.setToolTip(self.tr("Tried in order; the next one is used when one fails"))
        self.endpoints_edit.textChanged.connect(self._on_edited)
        form.addRow(self.tr("Endpoints (one per line):"), self.endpoints_edit)
        form.addRow(self._error_label("endpoints"))
        self.client_version_edit = QLineEdit()
        self.client_version_edit.setMaximumWidth(120)
        self.client_version_edit.setToolTip(
            self.tr("Raise it when Google says this version is no longer supported")
        )
        self.client_version_edit.textChanged.connect(self._on_edited)
        form.addRow(self.tr("Client version:"), self.client_version_edit)
        form.addRow(self._error_label("client_version"))
        self.quota_refresh_spin = _spin(1, MAX_QUOTA_REFRESH_MINUTES, suffix=self.tr(" min"))
        self.quota_refresh_spin.valueChanged.connect(self._on_edited)
        form.addRow(self.tr("Refresh quotas every:"), self.quota_refresh_spin)
        self.reserve_spin = _spin(0, 100, step=5, suffix=" %", zero_text=self.tr("off"))
        self.reserve_spin.setToolTip(
            self.tr(
                "Quota protection: every account keeps this share of each model group (its 5-hour and weekly "
                "windows and each model's quota) for you; the gateway uses another account, or answers 429, "
                "once only the reserve is left. An account's own value (Accounts, right-click) wins."
            )
        )
        self.reserve_spin.valueChanged.connect(self._on_edited)
        form.addRow(self.tr("Keep in reserve per account:"), self.reserve_spin)
        return group

    def _log_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("Request log"))
        form = _grow_fields_form(group)
        self.retention_spin = _spin(
            0, MAX_RETENTION_DAYS, suffix=self.tr(" days"), zero_text=self.tr("forever")
        )
        self.retention_spin.valueChanged.connect(self._on_edited)
        form.addRow(self.tr("Keep requests for:"), self.retention_spin)
        self.max_rows_spin = _spin(
            0, MAX_LOG_ROWS, step=10_000, suffix=self.tr(" rows"), zero_text=self.tr("no limit")
        )
        self.max_rows_spin.valueChanged.connect(self._on_edited)
        form.addRow(self.tr("Keep at most:"), self.max_rows_spin)
        self.capture_bodies_check = QCheckBox(self.tr("Save request and answer bodies"))
        self.capture_bodies_check.setToolTip(
            self.tr("Shown in the Requests page. Keys and tokens are removed, but your prompts are stored.")
        )
        self.capture_bodies_check.toggled.connect(self._on_edited)
        form.addRow(self.capture_bodies_check)
        return group

    def _desktop_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("Desktop"))
        form = _grow_fields_form(group)
        self.start_at_login_check = QCheckBox(self.tr("Start Gravity Desk when I log in"))
        self.start_at_login_check.toggled.connect(self._on_edited)
        form.addRow(self.start_at_login_check)
        form.addRow(self._error_label("start_at_login"))
        self.start_minimized_check = QCheckBox(self.tr("Start in the tray, without opening this window"))
        self.start_minimized_check.toggled.connect(self._on_edited)
        form.addRow(self.start_minimized_check)
        self.theme_combo = QComboBox()
        for theme in THEMES:
            self.theme_combo.addItem(
                translate("SettingsPage", _THEME_LABELS[theme]) if theme in _THEME_LABELS else theme, theme
            )
        self.theme_combo.currentIndexChanged.connect(self._on_edited)
        form.addRow(self.tr("Appearance:"), self.theme_combo)
        form.addRow(self._error_label("theme"))
        self.language_combo = QComboBox()
        self.language_combo.setObjectName("languageCombo")
        for language in LANGUAGES:
            # Each language in its own name, so it can be found whatever the window speaks now.
            name = self.tr("Follow the system") if language == "system" else LANGUAGE_NAMES[language]
            self.language_combo.addItem(name, language)
        self.language_combo.currentIndexChanged.connect(self._on_edited)
        form.addRow(self.tr("Language:"), self.language_combo)
        self.language_note = _message_label(_WARNING_STYLE)
        self.language_note.setObjectName("languageNote")
        form.addRow(self.language_note)
        form.addRow(self._error_label("language"))
        self.check_updates_check = QCheckBox(self.tr("Check for a newer Gravity Desk once a day"))
        self.check_updates_check.setToolTip(self.tr("Off unless you turn it on; nothing about you is sent"))
        self.check_updates_check.toggled.connect(self._on_edited)
        form.addRow(self.check_updates_check)
        self.releases_url_edit = QLineEdit()
        self.releases_url_edit.setPlaceholderText(
            "https://api.github.com/repos/OWNER/gravity-desk/releases/latest"
        )
        self.releases_url_edit.textChanged.connect(self._on_edited)
        form.addRow(self.tr("Releases list (updates.releases_url):"), self.releases_url_edit)
        form.addRow(self._error_label("updates"))
        return group

    # -- the form -------------------------------------------------------------------------------------

    def form(self) -> SettingsForm:
        """The values the fields hold now."""
        return SettingsForm(
            host=self.host_edit.text(),
            port=self.port_edit.text(),
            api_keys=self._keys(),
            models=self.mapping_model.rules(),
            endpoints=self.endpoints_edit.toPlainText(),
            client_version=self.client_version_edit.text(),
            quota_refresh_minutes=self.quota_refresh_spin.value(),
            retention_days=self.retention_spin.value(),
            max_rows=self.max_rows_spin.value(),
            capture_bodies=self.capture_bodies_check.isChecked(),
            start_at_login=self.start_at_login_check.isChecked(),
            start_minimized=self.start_minimized_check.isChecked(),
            theme=str(self.theme_combo.currentData()),
            language=str(self.language_combo.currentData()),
            key_names=self._key_names(),
            check_updates=self.check_updates_check.isChecked(),
            releases_url=self.releases_url_edit.text(),
            reserve_percent=self.reserve_spin.value(),
        )

    def load_form(self, form: SettingsForm) -> None:
        """Fill the fields (Revert, start-up, and settings saved elsewhere)."""
        self._loading = True
        try:
            self.host_edit.setText(form.host)
            self.port_edit.setText(form.port)
            self.keys_list.clear()
            for key in form.api_keys:
                self._add_key_item(key, form.key_names.get(key, ""))
            self.mapping_model.set_rules(form.models)
            self.endpoints_edit.setPlainText(form.endpoints)
            self.client_version_edit.setText(form.client_version)
            self.quota_refresh_spin.setValue(form.quota_refresh_minutes)
            self.reserve_spin.setValue(form.reserve_percent)
            self.retention_spin.setValue(form.retention_days)
            self.max_rows_spin.setValue(form.max_rows)
            self.capture_bodies_check.setChecked(form.capture_bodies)
            self.start_at_login_check.setChecked(form.start_at_login)
            self.start_minimized_check.setChecked(form.start_minimized)
            theme_index = self.theme_combo.findData(form.theme)
            self.theme_combo.setCurrentIndex(max(0, theme_index))
            self.language_combo.setCurrentIndex(max(0, self.language_combo.findData(form.language)))
            self.check_updates_check.setChecked(form.check_updates)
            self.releases_url_edit.setText(form.releases_url)
        finally:
            self._loading = False
        for name in self._errors:
            if name != "listener":
                _show(self._errors[name], None)
        self._on_edited()

    def _focus(self, edit: QLineEdit) -> None:
        """Scroll to a field, select its text and give it the keyboard (the window's banners send people here)."""
        self._scroll.ensureWidgetVisible(edit)
        edit.setFocus(Qt.FocusReason.OtherFocusReason)
        edit.selectAll()

    def focus_port(self) -> None:
        self._focus(self.port_edit)

    def focus_client_version(self) -> None:
        self._focus(self.client_version_edit)

    def _saved_form(self) -> SettingsForm:
        return form_from_settings(self.controller.settings, self.controller.services.api_keys.configured())

    def is_dirty(self) -> bool:
        return self.form() != self._saved_form()

    def _key_items(self) -> list[QListWidgetItem]:
        items = (self.keys_list.item(row) for row in range(self.keys_list.count()))
        return [item for item in items if item is not None]

    def _keys(self) -> list[str]:
        return [str(item.data(Qt.ItemDataRole.UserRole)) for item in self._key_items()]

    def _key_names(self) -> dict[str, str]:
        return {
            str(item.data(Qt.ItemDataRole.UserRole)): str(item.data(_KEY_NAME_ROLE))
            for item in self._key_items()
        }

    def _add_key_item(self, key: str, name: str) -> QListWidgetItem:
        item = QListWidgetItem()
        item.setData(Qt.ItemDataRole.UserRole, key)
        self._set_key_name(item, name)
        self.keys_list.addItem(item)
        return item

    def _set_key_name(self, item: QListWidgetItem, name: str) -> None:
        """One line per key: name, the masked key (core's one masking), created and last used."""
        key = str(item.data(Qt.ItemDataRole.UserRole))
        item.setData(_KEY_NAME_ROLE, name)
        saved = {saved.value: saved for saved in self.controller.services.api_keys.configured()}.get(key)
        if saved is None:
            dates = self.tr("new: accepted once you apply")
        else:
            dates = self.tr("created {created} · last used {used}").format(
                created=_short_time(saved.created_at, ""),
                used=_short_time(saved.last_used_at, self.tr("never")),
            )
        item.setText(f"{name}    {mask_secret(key)}    {dates}")

    # -- slots ----------------------------------------------------------------------------------------

    def _on_edited(self, *_args: object) -> None:
        if getattr(self, "_loading", True):
            return
        self.host_warning.setVisible(
            bool(self.host_edit.text().strip()) and not is_loopback_host(self.host_edit.text())
        )
        self.no_keys_warning.setVisible(self.keys_list.count() == 0)
        self._update_language_note()
        dirty = self.is_dirty()
        pending = self.tr("You have changes that are not applied yet.")
        if dirty:
            self.status_label.setText(pending)
        elif self.status_label.text() == pending:
            self.status_label.setText("")
        self._update_buttons()

    def _update_language_note(self) -> None:
        """The window is built in one language: a different choice shows from the next start, and says so
        in the language chosen (whoever picks it may not read the current one)."""
        wanted = resolve_language(str(self.language_combo.currentData()))
        if wanted == current_language():
            _show(self.language_note, None)
            return
        note = {
            "en": "The window switches to English when Gravity Desk starts again.",
            "zh_CN": "Gravity Desk 重新启动后，窗口将显示为简体中文。",  # noqa: RUF001 - Chinese punctuation
        }
        _show(self.language_note, note.get(wanted))

    def _update_buttons(self, *_args: object) -> None:
        dirty = self.is_dirty()
        listener_failed = self.controller.state.status is ServerStatus.FAILED
        self.apply_button.setEnabled(not self._busy and (dirty or listener_failed))
        self.revert_button.setEnabled(not self._busy and dirty)
        self.copy_key_button.setEnabled(self.keys_list.currentItem() is not None)
        self.rename_key_button.setEnabled(not self._busy and self.keys_list.currentItem() is not None)
        self.revoke_key_button.setEnabled(not self._busy and self.keys_list.currentItem() is not None)
        selected = self.mapping_view.selectionModel().selectedRows()
        self.remove_rule_button.setEnabled(not self._busy and bool(selected))

    def _show_server_state(self, state: ServerState) -> None:
        if state.status is ServerStatus.SERVING:
            self.server_state_label.setText(self.tr("Serving at {url}").format(url=state.url))
        elif state.status is ServerStatus.PAUSED:
            self.server_state_label.setText(self.tr("Paused: the API is not listening until you resume it."))
        elif state.status is ServerStatus.FAILED:
            self.server_state_label.setText(self.tr("Not listening (see below)."))
        else:
            self.server_state_label.setText(self.tr("Starting…"))
        failed = state.status is ServerStatus.FAILED
        _show(
            self.listener_error,
            self.tr("{error} Then press Apply.").format(error=state.error)
            if failed and state.error
            else None,
        )
        self._update_buttons()

    def _on_settings_saved(self) -> None:
        # Saved from elsewhere (the tray, another page): show it, unless that would drop the user's edits.
        if not self._busy and not self.is_dirty():
            self.load_form(self._saved_form())

    def _refresh_offered_models(self) -> None:
        models = self.controller.services.gateway.models()
        self.offered_models = sorted(info.id for info in models if info.aliases_for is None)

    def _suggested_key_name(self) -> str:
        taken = {name.lower() for name in self._key_names().values()}
        number = len(taken) + 1
        while f"key {number}" in taken:
            number += 1
        return f"key {number}"

    def generate_key(self) -> NewKeyDialog:
        """Open the new-key dialog (window-modal); Create adds the key here, to be accepted on Apply."""
        dialog = NewKeyDialog(self._suggested_key_name(), self)
        dialog.created.connect(self._key_created)
        dialog.finished.connect(lambda _result: setattr(self, "new_key_dialog", None))
        self.new_key_dialog: NewKeyDialog | None = dialog
        dialog.open()
        return dialog

    def _key_created(self, key: str, name: str) -> None:
        item = self._add_key_item(key, name)
        self.keys_list.setCurrentItem(item)
        self._on_edited()

    def ask_rename_selected_key(self) -> QInputDialog | None:
        item = self.keys_list.currentItem()
        if item is None:
            return None
        dialog = QInputDialog(self)
        dialog.setWindowTitle(self.tr("Rename API key"))
        dialog.setLabelText(
            self.tr("New name for {key}:").format(key=mask_secret(str(item.data(Qt.ItemDataRole.UserRole))))
        )
        dialog.setTextValue(str(item.data(_KEY_NAME_ROLE)))
        dialog.textValueSelected.connect(lambda name: self._rename(item, name))
        dialog.finished.connect(dialog.deleteLater)
        dialog.finished.connect(lambda _result: setattr(self, "rename_dialog", None))
        self.rename_dialog: QInputDialog | None = dialog
        dialog.open()
        return dialog

    def _rename(self, item: QListWidgetItem, name: str) -> None:
        name = " ".join(name.split())
        if name and self.keys_list.row(item) >= 0:
            self._set_key_name(item, name)
            self._on_edited()

    def copy_selected_key(self) -> None:
        item = self.keys_list.currentItem()
        if item is not None:
            QGuiApplication.clipboard().setText(str(item.data(Qt.ItemDataRole.UserRole)))
            self.status_label.setText(self.tr("Key copied to the clipboard."))

    def ask_revoke_selected_key(self) -> None:
        item = self.keys_list.currentItem()
        if item is None:
            return
        last = self.keys_list.count() == 1
        label = f"{item.data(_KEY_NAME_ROLE)} ({mask_secret(str(item.data(Qt.ItemDataRole.UserRole)))})"
        text = self.tr("Revoke the key {key}? Programs using it get “wrong API key” once you apply.").format(
            key=label
        )
        if last:
            text += "\n\n" + self.tr("It is the last key: without keys, authentication is off.")
        box = ask_to_confirm(
            self, self.tr("Revoke API key"), text, self.tr("Revoke"), lambda: self._revoke(item)
        )
        box.finished.connect(lambda _result: setattr(self, "_confirm_box", None))
        self._confirm_box = box

    def _revoke(self, item: QListWidgetItem) -> None:
        row = self.keys_list.row(item)
        if row >= 0:
            self.keys_list.takeItem(row)
            self._on_edited()

    def add_rule(self) -> None:
        index = self.mapping_model.add_row()
        self.mapping_view.setCurrentIndex(index)
        self.mapping_view.edit(index)

    def remove_selected_rules(self) -> None:
        rows = [index.row() for index in self.mapping_view.selectionModel().selectedRows()]
        self.mapping_model.remove_rows(rows)

    def revert(self) -> None:
        self.load_form(self._saved_form())
        self.status_label.setText("")

    def apply(self) -> None:
        """Validate; when every field is fine, apply and save in the background."""
        if self._busy:
            return
        form = self.form()
        errors = validate_form(form)
        for name, label in self._errors.items():
            if name != "listener":
                _show(label, errors.get(name))
        if errors:
            self.status_label.setText(self.tr("Nothing was applied: fix the fields marked in red."))
            return
        self._set_busy(True)
        self.status_label.setText(self.tr("Applying…"))
        run_task(self._apply(form), done=self._applied)

    async def _apply(self, form: SettingsForm) -> bool:
        try:
            settings = self.controller.settings
            listener_changed = apply_form(form, settings)
            self.controller.services.api_keys.set_names(form.key_names)
            await self.controller.services.save_api_keys()
            listener_changed = listener_changed or self.controller.state.status is ServerStatus.FAILED
            autostart_ok = await self._apply_autostart(form.start_at_login)
            apply_theme(settings.ui.theme)
            try:
                await self.controller.save_settings(listener_changed=listener_changed)
            except OSError as exc:
                self.status_label.setText(
                    self.tr(
                        "Applied, but {path} could not be saved ({error}); "
                        "check that the folder is writable and press Apply again."
                    ).format(path=settings.config_path, error=exc.strerror or exc)
                )
                return False
            return autostart_ok and self.controller.state.status is not ServerStatus.FAILED
        finally:
            self._set_busy(False)

    async def _apply_autostart(self, wanted: bool) -> bool:
        """Write or remove the OS entry (off the loop: it is file or registry I/O); on failure the setting
        keeps its old value so config.toml never claims what the system does not do."""
        ui = self.controller.settings.ui
        try:
            await asyncio.to_thread(self.autostart.enable if wanted else self.autostart.disable)
        except AutostartError as exc:
            _show(
                self._errors["start_at_login"],
                self.tr("{error}. Check the folder's permissions and try again.").format(error=exc),
            )
            self.start_at_login_check.setChecked(ui.start_at_login)
            return False
        ui.start_at_login = wanted
        _show(self._errors["start_at_login"], None)
        return True

    def _applied(self, ok: bool) -> None:
        if ok:
            self.status_label.setText(self.tr("Applied and saved."))
        elif not self.status_label.text() or self.status_label.text() == self.tr("Applying…"):
            self.status_label.setText(self.tr("Some changes could not be applied: see the messages above."))
        self._on_edited()
        self.applied.emit(ok)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for widget in (self.generate_key_button, self.add_rule_button):
            widget.setEnabled(not busy)
        self._update_buttons()
