"""The main window: navigation on the left, the four pages, banners for problems, the server state below."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui import theme
from gui.controller import AppController, ServerState, ServerStatus
from gui.i18n import translate
from gui.icons import PageGlyph, app_icon, page_icon
from gui.pages.accounts import AccountsPage
from gui.pages.dashboard import DashboardPage
from gui.pages.requests import RequestsPage
from gui.pages.settings import SettingsPage
from gui.tasks import run_task
from gui.theme import Tone

STATUS_MESSAGE_MS = 10_000
DEFAULT_WIDTH, DEFAULT_HEIGHT = 1120, 720
MIN_WIDTH, MIN_HEIGHT = 820, 520
SCREEN_MARGIN = 0.9  # leave room for panels and the title bar


def fitted_size(free: QRect | None) -> QSize:
    """The default window size, made smaller where the screen's free area (in scaled pixels: 1600x1000 at
    150 % is 1067x667) cannot hold it, but never below the minimum size."""
    if free is None or free.isEmpty():
        return QSize(DEFAULT_WIDTH, DEFAULT_HEIGHT)
    width = max(MIN_WIDTH, min(DEFAULT_WIDTH, int(free.width() * SCREEN_MARGIN)))
    height = max(MIN_HEIGHT, min(DEFAULT_HEIGHT, int(free.height() * SCREEN_MARGIN)))
    return QSize(width, height)


class Page(IntEnum):
    """The pages, in navigation order."""

    ACCOUNTS = 0
    REQUESTS = 1
    DASHBOARD = 2
    SETTINGS = 3


def page_title(page: Page) -> str:
    """The page's name in the navigation, in the current language."""
    return {
        Page.ACCOUNTS: translate("MainWindow", "Accounts"),
        Page.REQUESTS: translate("MainWindow", "Requests"),
        Page.DASHBOARD: translate("MainWindow", "Dashboard"),
        Page.SETTINGS: translate("MainWindow", "Settings"),
    }[page]


_PAGE_ICONS = {
    Page.ACCOUNTS: PageGlyph.ACCOUNTS,
    Page.REQUESTS: PageGlyph.REQUESTS,
    Page.DASHBOARD: PageGlyph.DASHBOARD,
    Page.SETTINGS: PageGlyph.SETTINGS,
}


class Severity(IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2


_BANNER_TONES = {Severity.INFO: Tone.INFO, Severity.WARNING: Tone.WARNING, Severity.ERROR: Tone.ERROR}


def keyring_advice(platform: str) -> str:
    """How to get an encrypting keyring on this platform (sys.platform), for the "not encrypted" banner."""
    if platform == "win32":
        return translate(
            "MainWindow",
            "Windows Credential Manager normally encrypts them: check that its service (Credential Manager) "
            "is running, then restart Gravity Desk.",
        )
    if platform == "darwin":
        return translate(
            "MainWindow",
            "The macOS Keychain normally encrypts them: unlock your login keychain, then restart Gravity Desk.",
        )
    return translate(
        "MainWindow",
        "To encrypt them, install or unlock a keyring (GNOME Keyring, KWallet) and restart Gravity Desk.",
    )


@dataclass(frozen=True)
class BannerAction:
    text: str
    name: str  # object name of the button, for tests and style sheets


class Banner(QFrame):
    """A coloured strip above the pages: what is wrong, and buttons that fix it.

    Signals:
        action_triggered(str): one of the banner's buttons was clicked (its action name).
    """

    action_triggered = Signal(str)

    def __init__(self, name: str, severity: Severity, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._severity = severity
        self._apply_theme()
        theme.signals.changed.connect(self._apply_theme)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        layout.setSpacing(8)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self._buttons = QHBoxLayout()
        layout.addLayout(self._buttons)
        self.buttons: dict[str, QPushButton] = {}
        self.hide()

    def _apply_theme(self, _name: str = "") -> None:
        colours = theme.current().banners[_BANNER_TONES[self._severity]]
        name = self.objectName()
        self.setStyleSheet(
            f"#{name} {{ background: {colours.background}; border: 1px solid {colours.border};"
            f" border-radius: 6px; }}"
            f"#{name} QLabel {{ color: {colours.text}; background: transparent; border: none; }}"
        )

    def show_message(self, text: str, actions: list[BannerAction]) -> None:
        self.label.setText(text)
        if [action.name for action in actions] != list(self.buttons):
            for button in self.buttons.values():
                button.deleteLater()
            self.buttons = {}
            for action in actions:
                button = QPushButton(action.text)
                button.setObjectName(action.name)
                button.clicked.connect(lambda _=False, name=action.name: self.action_triggered.emit(name))
                self._buttons.addWidget(button)
                self.buttons[action.name] = button
        self.show()


class MainWindow(QMainWindow):
    """The window people open from the tray. Holds no logic: pages and banners talk to the controller.

    Signals:
        quit_requested(): the window was closed where there is no tray to keep running in, or the user
            pressed the platform's Quit keys.
    """

    quit_requested = Signal()

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.close_to_tray = False  # the app turns this on when a system tray shows its icon
        self._keyring_dismissed = False
        self.setWindowTitle("Gravity Desk")
        self.setWindowIcon(app_icon())
        self.setMinimumSize(QSize(MIN_WIDTH, MIN_HEIGHT))
        screen = QGuiApplication.primaryScreen()
        self.resize(fitted_size(screen.availableGeometry() if screen is not None else None))

        self.navigation = QListWidget()
        self.navigation.setObjectName("navigation")
        self.navigation.setFixedWidth(180)
        self.navigation.setIconSize(QSize(20, 20))
        self.navigation.setFrameShape(QFrame.Shape.NoFrame)
        self.navigation.setStyleSheet("#navigation::item { padding: 10px 8px; }")
        self.pages = QStackedWidget()
        for page, widget in self._create_pages().items():
            self.navigation.addItem(QListWidgetItem(page_title(page)))
            self.pages.addWidget(widget)
        self._paint_navigation_icons()
        theme.signals.changed.connect(self._on_theme_changed)
        self.navigation.currentRowChanged.connect(self.pages.setCurrentIndex)

        self.port_banner = Banner("portBanner", Severity.ERROR)
        self.port_banner.action_triggered.connect(self._on_banner_action)
        self.accounts_banner = Banner("accountsBanner", Severity.INFO)
        self.accounts_banner.action_triggered.connect(self._on_banner_action)
        self.keyring_banner = Banner("keyringBanner", Severity.WARNING)
        self.keyring_banner.action_triggered.connect(self._on_banner_action)
        self.stale_client_banner = Banner("staleClientBanner", Severity.ERROR)
        self.stale_client_banner.action_triggered.connect(self._on_banner_action)
        self._stale_client_version: str | None = None  # the version the banner is about

        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(12, 12, 12, 0)
        content_layout.setSpacing(8)
        banners = (self.stale_client_banner, self.port_banner, self.accounts_banner, self.keyring_banner)
        for banner in banners:
            content_layout.addWidget(banner)
        content_layout.addWidget(self.pages, 1)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.navigation)
        separator = QFrame()
        separator.setFrameShape(QFrame.Shape.VLine)
        separator.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(separator)
        layout.addWidget(content, 1)
        self.setCentralWidget(central)

        self.server_label = QLabel()
        self.server_label.setObjectName("serverLabel")
        self.server_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.server_button = QToolButton()
        self.server_button.setObjectName("serverButton")
        self.server_button.setAutoRaise(True)
        self.server_button.clicked.connect(self._toggle_server)
        self.statusBar().addPermanentWidget(self.server_label)
        self.statusBar().addPermanentWidget(self.server_button)

        self._add_window_shortcuts()

        controller.server_state_changed.connect(self._on_server_state)
        controller.accounts_changed.connect(self._update_accounts_banner)
        controller.stale_client.connect(self._show_stale_client_banner)
        controller.settings_changed.connect(self._hide_stale_client_banner_once_changed)
        self._on_server_state(controller.state)
        self._update_accounts_banner()
        self._update_keyring_banner()
        if controller.services.gateway.stale_client_agent is not None:  # told before this window existed
            self._show_stale_client_banner(controller.services.gateway.stale_client_agent)
        self.show_page(Page.ACCOUNTS if not controller.services.accounts.accounts() else Page.DASHBOARD)

    def _create_pages(self) -> dict[Page, QWidget]:
        return {
            Page.ACCOUNTS: AccountsPage(self.controller, self),
            Page.REQUESTS: RequestsPage(self.controller, self),
            Page.DASHBOARD: DashboardPage(self.controller, self),
            Page.SETTINGS: SettingsPage(self.controller, self),
        }

    def _add_window_shortcuts(self) -> None:
        # On macOS the app has no menu bar (LSUIElement), so nothing else would give Cmd+W and Cmd+Q.
        self.close_action = QAction(self.tr("Close Window"), self)
        self.close_action.setShortcuts(QKeySequence.StandardKey.Close)
        self.close_action.triggered.connect(self.close)  # the close path: to the tray, or quit without one
        self.quit_action = QAction(self.tr("Quit Gravity Desk"), self)
        self.quit_action.setShortcuts(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.quit_requested.emit)
        self.addActions([self.close_action, self.quit_action])

    # -- navigation ------------------------------------------------------------------------------------

    @property
    def current_page(self) -> Page:
        return Page(self.pages.currentIndex())

    def page(self, page: Page) -> QWidget:
        widget = self.pages.widget(int(page))
        assert widget is not None
        return widget

    def show_page(self, page: Page) -> None:
        self.navigation.setCurrentRow(int(page))

    def bring_to_front(self) -> None:
        """Show the window, un-minimise it and ask the window manager for focus."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def show_status_message(self, title: str, message: str) -> None:
        text = self.tr("{title}: {message}").format(title=title, message=message)
        self.statusBar().showMessage(text, STATUS_MESSAGE_MS)

    # -- theme ---------------------------------------------------------------------------------------------

    def _paint_navigation_icons(self) -> None:
        """Our own glyphs in the theme's text colour (Qt's standard pixmaps look generic and ignore dark)."""
        colour = theme.qpalette(theme.current()).color(QPalette.ColorRole.WindowText)
        for row, page in enumerate(_PAGE_ICONS):
            item = self.navigation.item(row)
            if item is not None:
                item.setIcon(page_icon(_PAGE_ICONS[page], colour))

    def _on_theme_changed(self, _name: str) -> None:
        self._paint_navigation_icons()
        self._on_server_state(self.controller.state)

    # -- server state ----------------------------------------------------------------------------------

    def _on_server_state(self, state: ServerState) -> None:
        self.server_button.setEnabled(state.status is not ServerStatus.STARTING)
        if state.status is ServerStatus.SERVING:
            self.server_label.setText(self.tr("● Serving on {url}").format(url=state.url))
            self.server_label.setStyleSheet(theme.tone_style(Tone.OK))
            self.server_button.setText(self.tr("Pause"))
            self.port_banner.hide()
        elif state.status is ServerStatus.PAUSED:
            self.server_label.setText(self.tr("Paused: apps get no answers until you resume"))
            self.server_label.setStyleSheet(theme.tone_style(Tone.WARNING))
            self.server_button.setText(self.tr("Resume"))
            self.port_banner.hide()
        elif state.status is ServerStatus.FAILED:
            self.server_label.setText(self.tr("Not running"))
            self.server_label.setStyleSheet(theme.tone_style(Tone.ERROR))
            self.server_button.setText(self.tr("Retry"))
            self.port_banner.show_message(
                self.tr("<b>The server is not running.</b> {reason}").format(
                    reason=state.error or self.tr("It could not listen.")
                ),
                [
                    BannerAction(self.tr("Change port…"), "changePort"),
                    BannerAction(self.tr("Retry"), "retry"),
                ],
            )
        else:
            self.server_label.setText(self.tr("Starting…"))
            self.server_label.setStyleSheet("")
            self.server_button.setText(self.tr("Pause"))

    def _toggle_server(self) -> None:
        self.server_button.setEnabled(False)  # until the new state arrives
        if self.controller.state.status is ServerStatus.SERVING:
            run_task(self.controller.pause())
        else:
            run_task(self.controller.resume())

    # -- banners ---------------------------------------------------------------------------------------

    def _update_accounts_banner(self, _account_id: str = "") -> None:
        accounts = self.controller.services.accounts.accounts()
        now, refusals = datetime.now(UTC), self.controller.services.pool.refusals
        if not accounts:
            self.accounts_banner.show_message(
                self.tr(
                    "<b>No accounts yet.</b> Add a Google account or a Gemini API key, then point your apps "
                    "at the address on the Dashboard."
                ),
                [BannerAction(self.tr("Add an account"), "addAccount")],
            )
        elif not any(account.can_serve(now, refusals(account.id)) for account in accounts):
            self.accounts_banner.show_message(
                self.tr(
                    "<b>No account can answer requests right now</b> (signed out, blocked, disabled or out "
                    "of quota). Open Accounts to sign in again, enable one or add another."
                ),
                [BannerAction(self.tr("Open Accounts"), "addAccount")],
            )
        else:
            self.accounts_banner.hide()

    def _update_keyring_banner(self) -> None:
        secrets = self.controller.services.secrets
        if secrets.encrypted or self._keyring_dismissed:
            self.keyring_banner.hide()
            return
        self.keyring_banner.show_message(
            self.tr(
                "<b>Account secrets are not encrypted.</b> No system keyring was found, so they are kept in "
                "{path} (readable only by you). {advice}"
            ).format(path=secrets.file_path, advice=keyring_advice(sys.platform)),
            [BannerAction(self.tr("Dismiss"), "dismissKeyring")],
        )

    def _show_stale_client_banner(self, user_agent: str) -> None:
        version = self.controller.settings.upstream.client_version
        self._stale_client_version = version
        self.stale_client_banner.show_message(
            self.tr(
                "<b>Google no longer supports the client version Gravity Desk sends</b> ({version}, as "
                "“{agent}”), so every request to Google accounts fails. Raise <b>Client version</b> in "
                "Settings → Google connection (<code>upstream.client_version</code> in config.toml) to the "
                "current Antigravity version, then press Apply. Your accounts are fine."
            ).format(version=version, agent=user_agent),
            [
                BannerAction(self.tr("Change client version…"), "fixClientVersion"),
                BannerAction(self.tr("Dismiss"), "dismissStaleClient"),
            ],
        )

    def _hide_stale_client_banner_once_changed(self) -> None:
        # A raised version may still be outdated: the controller tells that again, with the new identity.
        if self._stale_client_version not in (None, self.controller.settings.upstream.client_version):
            self._stale_client_version = None
            self.stale_client_banner.hide()

    def _on_banner_action(self, name: str) -> None:
        if name == "changePort":
            self.show_page(Page.SETTINGS)
            focus_port = getattr(self.page(Page.SETTINGS), "focus_port", None)
            if callable(focus_port):  # the Settings page may offer to jump to its port field
                focus_port()
        elif name == "retry":
            self.port_banner.buttons["retry"].setEnabled(False)
            task = run_task(self.controller.restart_listener())
            task.add_done_callback(lambda _: self._enable_retry())
        elif name == "addAccount":
            self.show_page(Page.ACCOUNTS)
        elif name == "fixClientVersion":
            self.show_page(Page.SETTINGS)
            settings_page = self.page(Page.SETTINGS)
            if isinstance(settings_page, SettingsPage):
                settings_page.focus_client_version()
        elif name == "dismissStaleClient":
            self.stale_client_banner.hide()
        elif name == "dismissKeyring":
            self._keyring_dismissed = True
            self.keyring_banner.hide()

    def _enable_retry(self) -> None:
        button = self.port_banner.buttons.get("retry")
        if button is not None:
            button.setEnabled(True)

    # -- closing ---------------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.close_to_tray:
            event.ignore()
            self.hide()
            return
        event.accept()
        self.quit_requested.emit()
