"""The Dashboard page: how to connect an app (address, key, snippets), activity charts and quota left."""

from __future__ import annotations

import html
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.client_setup import CLIENT_NAMES, Client, Connection
from core.models import model_group
from core.redact import mask_secret
from core.store import HistogramBucket
from core.types import Account, LogEntry
from core.update_check import Release
from gui.controller import AppController, ServerState, ServerStatus
from gui.dialogs.client_setup import ClientSetupDialog
from gui.i18n import QT_TRANSLATE_NOOP, translate
from gui.models.accounts_model import group_name
from gui.tasks import run_task
from gui.widgets.chart import ChartSeries, TimeChart

EXAMPLE_MODEL = "gemini-flash"  # a family name: the best Flash model the accounts offer (core/models.py)
REFRESH_INTERVAL_MS = 60_000  # the charts move on even when no request comes in
NEW_ROWS_THROTTLE_MS = 2_000  # under load, rows arrive ten times a second: redraw at most this often

SUCCEEDED_COLOUR = QColor("#16a34a")
FAILED_COLOUR = QColor("#dc2626")
TOKENS_IN_COLOUR = QColor("#2563eb")
TOKENS_OUT_COLOUR = QColor("#9333ea")


@dataclass(frozen=True)
class ChartRange:
    label: str
    span: timedelta
    bucket: timedelta


LAST_DAY = ChartRange(
    QT_TRANSLATE_NOOP("DashboardPage", "Last 24 hours"), timedelta(hours=24), timedelta(hours=1)
)
LAST_HOUR = ChartRange(
    QT_TRANSLATE_NOOP("DashboardPage", "Last hour"), timedelta(hours=1), timedelta(minutes=1)
)
# Snippet tabs whose titles are words, not product names (the dictionary keys stay English).
_TAB_TITLES = {
    "OpenAI (Python)": QT_TRANSLATE_NOOP("DashboardPage", "OpenAI (Python)"),
    "OpenAI (environment)": QT_TRANSLATE_NOOP("DashboardPage", "OpenAI (environment)"),
    "Gemini (Python)": QT_TRANSLATE_NOOP("DashboardPage", "Gemini (Python)"),
}


def tab_title(title: str) -> str:
    """A snippet tab's title to show."""
    return translate("DashboardPage", _TAB_TITLES[title]) if title in _TAB_TITLES else title


# --- connection snippets --------------------------------------------------------------------------------


def local_url(host: str, port: int) -> str:
    """The address apps on this computer use (a wildcard bind is reached through loopback)."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _set_env(name: str, value: str, windows: bool) -> str:
    return f'$env:{name} = "{value}"' if windows else f"export {name}={value}"


def snippets(url: str, key: str | None, *, windows: bool = sys.platform == "win32") -> dict[str, str]:
    """Ready-to-paste set-ups, by tab title. Without a key the gateway takes any (the SDKs insist on one)."""
    token = key or "no-key-needed"
    openai_python = f'''from openai import OpenAI

client = OpenAI(base_url="{url}/v1", api_key="{token}")
reply = client.chat.completions.create(
    model="{EXAMPLE_MODEL}",
    messages=[{{"role": "user", "content": "Say hello"}}],
)
print(reply.choices[0].message.content)
'''
    shell = "PowerShell" if windows else translate("DashboardPage", "shell")
    openai_env = "\n".join(
        [
            translate(
                "DashboardPage", "# In a {shell}, before starting an app that uses the OpenAI SDK:"
            ).format(shell=shell),
            _set_env("OPENAI_BASE_URL", f"{url}/v1", windows),
            _set_env("OPENAI_API_KEY", token, windows),
        ]
    )
    claude_code = "\n".join(
        [
            translate("DashboardPage", "# In a {shell}, then start Claude Code (claude) from it:").format(
                shell=shell
            ),
            _set_env("ANTHROPIC_BASE_URL", url, windows),
            _set_env("ANTHROPIC_AUTH_TOKEN", token, windows),
            translate(
                "DashboardPage",
                "# Tools that send an x-api-key header read ANTHROPIC_API_KEY instead (set one of the two):",
            ),
            "# " + _set_env("ANTHROPIC_API_KEY", token, windows),
            "claude",
        ]
    )
    gemini_python = f'''from google import genai
from google.genai import types

client = genai.Client(
    api_key="{token}",
    http_options=types.HttpOptions(base_url="{url}"),
)
reply = client.models.generate_content(model="{EXAMPLE_MODEL}", contents="Say hello")
print(reply.text)
'''
    body = f'{{"model": "{EXAMPLE_MODEL}", "messages": [{{"role": "user", "content": "Say hello"}}]}}'
    if windows:
        # PowerShell, the Windows terminal: a backslash escapes nothing there, and Windows PowerShell 5.1 strips
        # the inner double quotes of an argument to a native program such as curl.exe; a single-quoted body
        # passed to Invoke-RestMethod (a cmdlet, not a program) arrives as written in 5.1 and 7 alike.
        raw_request = (
            f'$reply = Invoke-RestMethod -Method Post -Uri "{url}/v1/chat/completions" `\n'
            f'    -Headers @{{ Authorization = "Bearer {token}" }} -ContentType "application/json" `\n'
            f"    -Body '{body}'\n"
            "$reply.choices[0].message.content"
        )
    else:
        raw_request = (
            f"curl {url}/v1/chat/completions \\\n"
            f'  -H "Authorization: Bearer {token}" \\\n'
            '  -H "Content-Type: application/json" \\\n'
            f"  -d '{body}'"
        )
    return {
        "OpenAI (Python)": openai_python,
        "OpenAI (environment)": openai_env,
        "Claude Code": claude_code,
        "Gemini (Python)": gemini_python,
        "PowerShell" if windows else "curl": raw_request,
    }


# --- activity -------------------------------------------------------------------------------------------


def bucket_floor(moment: datetime, bucket: timedelta) -> datetime:
    size = int(bucket.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // size * size, UTC)


def chart_window(chart_range: ChartRange, now: datetime) -> list[datetime]:
    """The bucket starts to draw, oldest first, ending with the bucket that holds `now`."""
    last = bucket_floor(now, chart_range.bucket)
    count = round(chart_range.span / chart_range.bucket)
    return [last - chart_range.bucket * (count - 1 - i) for i in range(count)]


def fill_buckets(rows: Iterable[HistogramBucket], starts: list[datetime]) -> list[HistogramBucket]:
    """One bucket per start: the database returns only buckets that had requests."""
    by_start = {row.start: row for row in rows}
    return [by_start.get(start) or HistogramBucket(start, 0, 0, 0, 0) for start in starts]


# --- quota overview -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaGroupSummary:
    group: str
    accounts: int  # usable accounts offering the group
    accounts_with_quota: int
    best_remaining: float | None  # the highest remaining fraction; None when no account says
    earliest_reset: datetime | None


def quota_overview(
    accounts: Iterable[Account],
    now: datetime,
    refusals: Callable[[str], Mapping[str, datetime]] | None = None,
) -> list[QuotaGroupSummary]:
    """Per model group, over usable accounts (core's health rule: a used-up or refused model counts as 0)."""
    per_group: dict[str, dict[str, list[tuple[float | None, datetime | None]]]] = {}
    for account in accounts:
        if not account.usable:
            continue
        refused = refusals(account.id) if refusals else {}
        for quota in account.quotas.values():
            entry = account.standing(quota.model, now, refused)  # quota windows included
            per_group.setdefault(model_group(quota.model), {}).setdefault(account.id, []).append(entry)
    summaries = []
    for group, by_account in sorted(per_group.items()):
        with_quota = 0
        known: list[float] = []
        resets: list[datetime] = []
        for quotas in by_account.values():
            fractions = [f for f, _ in quotas if f is not None]
            # An account counts when one model of the group has quota left, or when it does not say.
            if len(fractions) < len(quotas) or any(f > 0 for f in fractions):
                with_quota += 1
            known += fractions
            resets += [r for _, r in quotas if r is not None]
        summaries.append(
            QuotaGroupSummary(
                group=group,
                accounts=len(by_account),
                accounts_with_quota=with_quota,
                best_remaining=max(known) if known else None,
                earliest_reset=min(resets) if resets else None,
            )
        )
    return summaries


def describe_reset(reset: datetime | None, now: datetime) -> str:
    if reset is None:
        return "—"
    minutes = max(1, round((reset - now).total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    clock = f"{reset.astimezone():%H:%M}"
    if hours:
        return translate("DashboardPage", "in {hours} h {minutes} min ({time})").format(
            hours=hours, minutes=minutes, time=clock
        )
    return translate("DashboardPage", "in {minutes} min ({time})").format(minutes=minutes, time=clock)


# --- the page -------------------------------------------------------------------------------------------


class DashboardPage(QWidget):
    """Everything needed to point an app at the gateway, what it has been doing, and what quota is left.

    Signals:
        copied(str): something was put on the clipboard; the text says what (not the value).
        charts_updated(): the charts were redrawn with fresh numbers from the log.
    """

    copied = Signal(str)
    charts_updated = Signal()

    def __init__(
        self,
        controller: AppController,
        parent: QWidget | None = None,
        *,
        throttle_ms: int = NEW_ROWS_THROTTLE_MS,
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.key_visible = False
        self.chart_range = LAST_DAY
        self._refreshing = False
        self._refresh_again = False
        self.snippet_views: dict[str, QPlainTextEdit] = {}
        self.snippet_copy_buttons: dict[str, QPushButton] = {}
        self.client_home = Path.home()  # where the clients' config files are (a temporary folder in tests)
        self.client_setup_dialog: ClientSetupDialog | None = None

        content = QWidget()
        column = QVBoxLayout(content)
        self.update_notice = QLabel(content)
        self.update_notice.setObjectName("updateNotice")
        self.update_notice.setWordWrap(True)
        self.update_notice.setTextFormat(Qt.TextFormat.RichText)
        self.update_notice.setOpenExternalLinks(True)
        self.update_notice.hide()
        column.addWidget(self.update_notice)
        column.addWidget(self._build_connection())
        column.addWidget(self._build_activity(), 1)
        column.addWidget(self._build_quota())
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self._periodic = QTimer(self)
        self._periodic.setInterval(REFRESH_INTERVAL_MS)
        self._periodic.timeout.connect(self.refresh_charts)
        self._periodic.timeout.connect(self.refresh_quota)  # countdowns move on
        self._periodic.start()
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(throttle_ms)
        self._throttle.timeout.connect(self.refresh_charts)

        controller.server_state_changed.connect(self._on_server_state)
        controller.settings_changed.connect(self.refresh_connection)
        controller.accounts_changed.connect(self.refresh_quota)
        controller.log_rows_added.connect(self._on_log_rows)
        controller.update_available.connect(self.show_update)
        if controller.services.updates.available is not None:  # found before this page existed
            self.show_update(controller.services.updates.available)
        self.refresh_connection()
        self.refresh_quota()
        self.refresh_charts()

    # --- connection ---------------------------------------------------------------------------------------

    def _build_connection(self) -> QGroupBox:
        box = QGroupBox(self.tr("Connect your apps"), self)
        grid = QGridLayout(box)
        self.server_status = QLabel(box)
        self.server_status.setWordWrap(True)
        self.url_field = QLineEdit(box)
        self.url_field.setReadOnly(True)
        self.copy_url_button = QPushButton(self.tr("Copy"), box)
        # With several keys (one per program, so the request log tells them apart) the key this page shows,
        # copies, puts in the snippets and has one-click setup write is chosen here.
        self.key_choice = QComboBox(box)
        self.key_choice.setToolTip(self.tr("The key the snippets and one-click setup use"))
        self.key_choice.currentIndexChanged.connect(lambda _index: self.refresh_connection())
        self.key_field = QLineEdit(box)
        self.key_field.setReadOnly(True)
        self.show_key_button = QPushButton(self.tr("Show"), box)
        self.copy_key_button = QPushButton(self.tr("Copy"), box)
        self.key_hint = QLabel(box)
        self.key_hint.setWordWrap(True)
        grid.addWidget(self.server_status, 0, 0, 1, 4)
        grid.addWidget(QLabel(self.tr("Server address"), box), 1, 0)
        grid.addWidget(self.url_field, 1, 1, 1, 2)
        grid.addWidget(self.copy_url_button, 1, 3)
        grid.addWidget(QLabel(self.tr("API key"), box), 2, 0)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_choice)
        key_row.addWidget(self.key_field, 1)
        grid.addLayout(key_row, 2, 1)
        grid.addWidget(self.show_key_button, 2, 2)
        grid.addWidget(self.copy_key_button, 2, 3)
        grid.addWidget(self.key_hint, 3, 0, 1, 4)
        self.snippet_tabs = QTabWidget(box)
        monospace = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for title in snippets("http://127.0.0.1", None):
            tab = QWidget()
            layout = QVBoxLayout(tab)
            view = QPlainTextEdit(tab)
            view.setReadOnly(True)
            view.setFont(monospace)
            view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            copy = QPushButton(self.tr("Copy {title} snippet").format(title=tab_title(title)), tab)
            copy.clicked.connect(lambda _checked=False, name=title: self.copy_snippet(name))
            layout.addWidget(view)
            layout.addWidget(copy)
            self.snippet_views[title] = view
            self.snippet_copy_buttons[title] = copy
            self.snippet_tabs.addTab(tab, tab_title(title))
        grid.addWidget(self.snippet_tabs, 4, 0, 1, 4)
        setup_row = QHBoxLayout()
        setup_label = QLabel(self.tr("Set up a client in one click:"), box)
        setup_label.setToolTip(self.tr("Shows the change to its config file first; keeps a backup for Undo"))
        setup_row.addWidget(setup_label)
        self.client_setup_buttons: dict[Client, QPushButton] = {}
        for client in Client:
            button = QPushButton(self.tr("{client}…").format(client=CLIENT_NAMES[client]), box)
            button.clicked.connect(lambda _checked=False, c=client: self.open_client_setup(c))
            setup_row.addWidget(button)
            self.client_setup_buttons[client] = button
        setup_row.addStretch(1)
        grid.addLayout(setup_row, 5, 0, 1, 4)
        self.copy_url_button.clicked.connect(
            lambda: self._copy(self.url, self.tr("The server address is on the clipboard."))
        )
        self.copy_key_button.clicked.connect(
            lambda: self._copy(self.api_key or "", self.tr("The API key is on the clipboard."))
        )
        self.show_key_button.clicked.connect(self.toggle_key)
        return box

    @property
    def url(self) -> str:
        state = self.controller.state
        if state.status is ServerStatus.SERVING and state.url:
            # The real listener (a wildcard bind still answers on loopback).
            port = self.controller.server.port or self.controller.settings.server.port
            return local_url(self.controller.server.host, port)
        server = self.controller.settings.server
        return local_url(server.host, server.port)

    @property
    def api_key(self) -> str | None:
        """The chosen key's value (the first key until one is chosen), None when there is none."""
        keys = self.controller.services.api_keys.configured()
        chosen = self.key_choice.currentData()
        return next((key.value for key in keys if key.id == chosen), keys[0].value if keys else None)

    def _refresh_key_choice(self) -> None:
        """The names of the configured keys, the choice kept by id; shown only when there is one to make."""
        keys = self.controller.services.api_keys.configured()
        listed = [(key.name, key.id) for key in keys]
        if listed != [
            (self.key_choice.itemText(i), self.key_choice.itemData(i)) for i in range(self.key_choice.count())
        ]:
            chosen = self.key_choice.currentData()
            self.key_choice.blockSignals(True)  # refilling is not a choice: no refresh loop
            self.key_choice.clear()
            for name, identifier in listed:
                self.key_choice.addItem(name, identifier)
            self.key_choice.setCurrentIndex(max(0, self.key_choice.findData(chosen)))
            self.key_choice.blockSignals(False)
        self.key_choice.setVisible(len(keys) > 1)

    def show_update(self, release: Release) -> None:
        """A quiet notice at the top (no dialog): a newer version is published, with its page."""
        self.update_notice.setText(
            self.tr(
                'Gravity Desk {version} is available (this is {current}). <a href="{url}">See what is new and download it</a>.'
            ).format(
                version=html.escape(release.version),
                current=html.escape(self.controller.services.updates.current_version or "?"),
                url=html.escape(release.url, quote=True),
            )
        )
        self.update_notice.show()

    def client_connection(self) -> Connection:
        """The address and key the one-click setup writes, and the models the accounts offer now."""
        offered = [info.id for info in self.controller.services.gateway.models() if info.aliases_for is None]
        return Connection(self.url, self.api_key, tuple(sorted(offered)) or Connection("", None).models)

    def open_client_setup(self, client: Client) -> ClientSetupDialog:
        """The preview-apply-undo dialog for one client, window-modal (open(), no nested loop)."""
        dialog = ClientSetupDialog(client, self.client_connection(), self.client_home, self)
        dialog.finished.connect(lambda _result: setattr(self, "client_setup_dialog", None))
        self.client_setup_dialog = dialog
        dialog.open()
        return dialog

    def snippet(self, title: str) -> str:
        """A snippet with the real address and key (what Copy puts on the clipboard)."""
        return snippets(self.url, self.api_key)[title]

    def copy_snippet(self, title: str) -> None:
        self._copy(
            self.snippet(title),
            self.tr("The {title} snippet is on the clipboard.").format(title=tab_title(title)),
        )

    def toggle_key(self) -> None:
        self.key_visible = not self.key_visible
        self.refresh_connection()

    def _copy(self, text: str, message: str) -> None:
        if not text:
            return
        QGuiApplication.clipboard().setText(text)
        self.copied.emit(message)

    def _on_server_state(self, _state: ServerState) -> None:
        self.refresh_connection()

    def refresh_connection(self) -> None:
        state = self.controller.state
        url = self.url
        messages = {
            ServerStatus.SERVING: self.tr("Serving at {url}. Point your apps at this address.").format(
                url=url
            ),
            ServerStatus.STARTING: self.tr("Starting the server…"),
            ServerStatus.PAUSED: self.tr(
                "Paused: apps get no answer until you resume the server from the tray menu."
            ),
            ServerStatus.FAILED: self.tr("The server is not running: {reason}").format(reason=state.error),
        }
        self.server_status.setText(messages[state.status])
        self.url_field.setText(url)
        self._refresh_key_choice()
        key = self.api_key
        self.key_field.setText((key if self.key_visible else mask_secret(key)) if key else self.tr("(none)"))
        self.show_key_button.setText(self.tr("Hide") if self.key_visible else self.tr("Show"))
        self.show_key_button.setEnabled(key is not None)
        self.copy_key_button.setEnabled(key is not None)
        self.key_hint.setText(
            ""
            if key
            else self.tr(
                "No API key is set, so any program on this computer can use the gateway. "
                "Generate one in Settings to require it."
            )
        )
        # The snippets show the key only when it is shown above; Copy always copies the real one.
        shown_key = key if (key is None or self.key_visible) else mask_secret(key)
        for title, text in snippets(url, shown_key).items():
            self.snippet_views[title].setPlainText(text)

    # --- activity -----------------------------------------------------------------------------------------

    def _build_activity(self) -> QGroupBox:
        box = QGroupBox(self.tr("Activity"), self)
        layout = QVBoxLayout(box)
        buttons = QHBoxLayout()
        self.range_buttons = QButtonGroup(box)
        self.day_button = QPushButton(translate("DashboardPage", LAST_DAY.label), box)
        self.hour_button = QPushButton(translate("DashboardPage", LAST_HOUR.label), box)
        for button, chart_range in ((self.day_button, LAST_DAY), (self.hour_button, LAST_HOUR)):
            button.setCheckable(True)
            button.clicked.connect(lambda _checked=False, r=chart_range: self.set_range(r))
            self.range_buttons.addButton(button)
            buttons.addWidget(button)
        self.day_button.setChecked(True)
        self.activity_summary = QLabel(box)
        # Wrapped, so a long summary (Chinese at the minimum window size) takes two lines, not a scroll bar;
        # it has all the room right of the buttons, so a wide window keeps it on one line.
        self.activity_summary.setWordWrap(True)
        self.activity_summary.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        buttons.addWidget(self.activity_summary, 1)
        layout.addLayout(buttons)
        self.requests_chart = TimeChart(self.tr("Requests"), box)
        self.tokens_chart = TimeChart(self.tr("Tokens"), box)
        self.tokens_chart.empty_text = self.tr("No tokens in this period")
        layout.addWidget(self.requests_chart)
        layout.addWidget(self.tokens_chart)
        return box

    def set_range(self, chart_range: ChartRange) -> None:
        self.chart_range = chart_range
        self.day_button.setChecked(chart_range is LAST_DAY)
        self.hour_button.setChecked(chart_range is LAST_HOUR)
        self.refresh_charts()

    def _on_log_rows(self, _rows: list[LogEntry]) -> None:
        if not self._throttle.isActive():
            self._throttle.start()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh_charts()

    def refresh_charts(self) -> None:
        """Read the histogram in a worker thread and redraw (one read at a time; a request meanwhile
        is served once the read ends)."""
        if self._refreshing:
            self._refresh_again = True
            return
        self._refreshing = True
        run_task(self._refresh_charts(self.chart_range))

    async def _refresh_charts(self, chart_range: ChartRange) -> None:
        try:
            starts = chart_window(chart_range, datetime.now(UTC))
            size = int(chart_range.bucket.total_seconds())
            try:
                rows = await self.controller.services.log_reader.histogram(starts[0], size)
            except Exception as exc:  # the database closing at quit, a locked file: try at the next tick
                self.activity_summary.setText(
                    self.tr("Activity could not be read ({error}).").format(error=exc)
                )
                return
            self._draw(starts, fill_buckets(rows, starts), chart_range)
        finally:
            self._refreshing = False
            if self._refresh_again:
                self._refresh_again = False
                self.refresh_charts()

    def _draw(self, starts: list[datetime], buckets: list[HistogramBucket], chart_range: ChartRange) -> None:
        succeeded = [float(b.requests - b.errors) for b in buckets]
        failed = [float(b.errors) for b in buckets]
        tokens_in = [float(b.tokens_in) for b in buckets]
        tokens_out = [float(b.tokens_out) for b in buckets]
        self.requests_chart.set_data(
            starts,
            [
                ChartSeries(self.tr("Succeeded"), succeeded, SUCCEEDED_COLOUR),
                ChartSeries(self.tr("Failed"), failed, FAILED_COLOUR),
            ],
            chart_range.bucket,
        )
        self.tokens_chart.set_data(
            starts,
            [
                ChartSeries(self.tr("In"), tokens_in, TOKENS_IN_COLOUR),
                ChartSeries(self.tr("Out"), tokens_out, TOKENS_OUT_COLOUR),
            ],
            chart_range.bucket,
        )
        requests, errors = sum(b.requests for b in buckets), sum(b.errors for b in buckets)
        self.activity_summary.setText(
            self.tr(
                "{range}: %Ln request(s), {failed} failed, {tokens_in} tokens in, {tokens_out} out",
                "",
                requests,
            ).format(
                range=translate("DashboardPage", chart_range.label),
                failed=f"{errors:,}",
                tokens_in=f"{sum(tokens_in):,.0f}",
                tokens_out=f"{sum(tokens_out):,.0f}",
            )
        )
        self.charts_updated.emit()

    # --- quota --------------------------------------------------------------------------------------------

    def _build_quota(self) -> QGroupBox:
        box = QGroupBox(self.tr("Quota left"), self)
        layout = QVBoxLayout(box)
        self.quota_table = QTableWidget(0, 4, box)
        self.quota_table.setHorizontalHeaderLabels(
            [
                self.tr("Models"),
                self.tr("Accounts with quota"),
                self.tr("Best remaining"),
                self.tr("Earliest reset"),
            ]
        )
        self.quota_table.verticalHeader().hide()
        self.quota_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.quota_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.quota_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.quota_hint = QLabel(box)
        self.quota_hint.setWordWrap(True)
        layout.addWidget(self.quota_table)
        layout.addWidget(self.quota_hint)
        return box

    def refresh_quota(self, _account_id: str = "") -> None:
        now = datetime.now(UTC)
        accounts = self.controller.services.accounts.accounts()
        summaries = quota_overview(accounts, now, self.controller.services.pool.refusals)
        self.quota_table.setRowCount(len(summaries))
        for row, summary in enumerate(summaries):
            best = self.tr("unknown") if summary.best_remaining is None else f"{summary.best_remaining:.0%}"
            cells = [
                group_name(summary.group),
                self.tr("{count} of {total}").format(
                    count=summary.accounts_with_quota, total=summary.accounts
                ),
                best,
                describe_reset(summary.earliest_reset, now),
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 1 and summary.accounts_with_quota == 0:
                    item.setForeground(FAILED_COLOUR)
                self.quota_table.setItem(row, column, item)
        if not accounts:
            hint = self.tr("No accounts yet: add a Google account or an API key on the Accounts page.")
        elif not summaries:
            hint = self.tr(
                "No account can be used right now (disabled, blocked or needing sign-in): see Accounts."
            )
        else:
            hint = self.tr("Quotas refresh in the background; Refresh on the Accounts page reads them now.")
        self.quota_hint.setText(hint)
