"""The tray icon: server state at a glance, a menu for the everyday actions, notifications about accounts."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QGuiApplication
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from core.types import Account, AccountKind, AccountStatus
from gui.controller import AppController, ServerState, ServerStatus
from gui.i18n import translate
from gui.icons import TrayState, app_icon, tray_icon
from gui.tasks import run_task

COUNTDOWN_REFRESH_MS = 60_000  # "resets 3h" texts age; a minute is their resolution
LABEL_MAX = 28


# -- what the tray says about accounts (plain functions: the window's banner uses them too) ---------------


def _now() -> datetime:
    return datetime.now(UTC)


def exhausted_models(
    account: Account, now: datetime | None = None, refused: Mapping[str, datetime] | None = None
) -> frozenset[str]:
    """Models this account has used up and whose quota has not come back yet (core's health rule)."""
    return account.used_up_models(now or _now(), refused)


def lowest_quota(
    account: Account, now: datetime | None = None, refused: Mapping[str, datetime] | None = None
) -> tuple[float, datetime | None] | None:
    """The account's most important quota: (remaining now, reset) of the model with the least left; None
    when unknown. A used-up model (read or refused) counts as 0, a passed reset as full, as the pool counts."""
    now = now or _now()
    known: list[tuple[float, datetime | None]] = []
    for model in account.quotas:
        remaining, reset_at = account.standing(model, now, refused)  # quota windows included
        if remaining is not None:
            known.append((remaining, reset_at))
    return min(known, key=lambda item: item[0], default=None)


def short_name(account: Account) -> str:
    """A menu-sized name: "alice@…" for an e-mail, else the label, shortened."""
    if account.email and "@" in account.email:
        return account.email.split("@", 1)[0] + "@…"
    name = account.name
    return name if len(name) <= LABEL_MAX else name[: LABEL_MAX - 1] + "…"


def format_countdown(moment: datetime, now: datetime | None = None) -> str:
    """ "45m", "3h", "2d": how long until `moment`, in its largest sensible unit."""
    seconds = max(0.0, (moment - (now or _now())).total_seconds())
    if seconds < 3600:
        return translate("tray", "{minutes}m").format(minutes=max(1, math.ceil(seconds / 60)))
    if seconds < 48 * 3600:
        return translate("tray", "{hours}h").format(hours=round(seconds / 3600))
    return translate("tray", "{days}d").format(days=round(seconds / 86400))


def format_percent(fraction: float) -> str:
    if 0 < fraction < 0.01:
        return "<1%"
    return f"{round(fraction * 100)}%"


def account_line(
    account: Account, now: datetime | None = None, refused: Mapping[str, datetime] | None = None
) -> str:
    """One tray-menu line: "alice@… — 42% (resets 3h)", or what stops the account from serving."""
    now = now or _now()
    name = short_name(account)
    if not account.enabled:
        return translate("tray", "{name} — disabled").format(name=name)
    if account.status is AccountStatus.NEEDS_SIGNIN:
        return translate("tray", "{name} — needs sign-in").format(name=name)
    if account.status is AccountStatus.BLOCKED:
        return translate("tray", "{name} — blocked").format(name=name)
    lowest = lowest_quota(account, now, refused)
    if lowest is None:
        if account.kind is AccountKind.API_KEY:
            return translate("tray", "{name} — ready").format(name=name)
        return translate("tray", "{name} — quota not read yet").format(name=name)
    remaining, reset_at = lowest
    if not account.can_serve(now, refused):
        if reset_at is None:
            return translate("tray", "{name} — out of quota").format(name=name)
        return translate("tray", "{name} — out of quota (resets {countdown})").format(
            name=name, countdown=format_countdown(reset_at, now)
        )
    if reset_at is None:
        return translate("tray", "{name} — {percent}").format(name=name, percent=format_percent(remaining))
    return translate("tray", "{name} — {percent} (resets {countdown})").format(
        name=name, percent=format_percent(remaining), countdown=format_countdown(reset_at, now)
    )


def tray_state(
    server: ServerState,
    accounts: list[Account],
    now: datetime | None = None,
    refusals: Callable[[str], Mapping[str, datetime]] | None = None,
) -> TrayState:
    """Serving, paused, or a problem (the port is busy, or no account can serve a request)."""
    if server.status is ServerStatus.FAILED:
        return TrayState.PROBLEM
    if server.status is not ServerStatus.SERVING:
        return TrayState.PAUSED
    now = now or _now()
    if not any(account.can_serve(now, refusals(account.id) if refusals else None) for account in accounts):
        return TrayState.PROBLEM
    return TrayState.SERVING


class TrayClick(Enum):
    """What a single click on the tray icon does to the window."""

    NOTHING = "nothing"
    HIDE = "hide"
    BRING_TO_FRONT = "bring to front"


def tray_click_action(platform: str, *, visible: bool, minimized: bool, active: bool) -> TrayClick:
    """A tray click toggles the window the way the user sees it, not the way Qt counts it.

    On macOS Qt reports a click on the menu-bar icon just before it opens the menu, so the click itself
    must not touch the window (the menu has "Open Gravity Desk"). Elsewhere a minimised window, or one
    under other windows, is "visible" to Qt but not to the user: the click brings it to the front, and
    only a window the user is looking at (shown, not minimised, active) is hidden."""
    if platform == "darwin":
        return TrayClick.NOTHING
    if visible and not minimized and active:
        return TrayClick.HIDE
    return TrayClick.BRING_TO_FRONT


@dataclass(frozen=True)
class _Seen:
    """What the tray last knew about an account, to tell news from repeats."""

    status: AccountStatus
    exhausted: frozenset[str]


# -- the tray icon -------------------------------------------------------------------------------------


class Tray(QSystemTrayIcon):
    """The tray icon and its menu. Works without a system tray (as in tests); the app shows it where one exists.

    The tray knows the window only as a widget (to read whether the user sees it, and to hide it); what it
    wants shown it asks for by signal, wired by the composition root (gui/app.py connect_tray).

    Signals:
        window_requested(): bring the window to the front.
        accounts_requested(): show the window on its Accounts page.
        quit_requested(): the user chose Quit.
        message_shown(str, str): a notification was shown (title, message); the window repeats it in its
            status bar where the desktop has no tray.
    """

    window_requested = Signal()
    accounts_requested = Signal()
    quit_requested = Signal()
    message_shown = Signal(str, str)

    def __init__(self, controller: AppController, window: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.window = window
        self.state = TrayState.PAUSED
        self._seen = {account.id: self._snapshot(account) for account in self._accounts()}
        self._account_actions: list[QAction] = []
        self._menu = self._build_menu()
        self.setContextMenu(self._menu)
        self.setToolTip("Gravity Desk")

        # accounts_changed comes in bursts (a quota refresh touches every account): one rebuild per burst.
        self._rebuild_timer = QTimer(self, singleShot=True, interval=0)
        self._rebuild_timer.timeout.connect(self.refresh)
        self._countdown_timer = QTimer(self, interval=COUNTDOWN_REFRESH_MS)
        self._countdown_timer.timeout.connect(self.refresh)
        self._countdown_timer.start()

        controller.server_state_changed.connect(self._on_server_state)
        controller.accounts_changed.connect(self._on_account_changed)
        controller.settings_changed.connect(self.refresh)
        controller.notify.connect(self.show_notification)
        self.activated.connect(self._on_activated)
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(self._update_icon)
        self.refresh()

    # -- menu ------------------------------------------------------------------------------------------

    def _build_menu(self) -> QMenu:
        menu = QMenu()
        self._open_action = menu.addAction(app_icon(), self.tr("Open Gravity Desk"), self.open_window)
        bold = QFont(self._open_action.font())
        bold.setBold(True)
        self._open_action.setFont(bold)
        menu.addSeparator()
        self._address_action = menu.addAction("", self._copy_address)
        self._key_action = menu.addAction(self.tr("Copy API key"), self._copy_api_key)
        self._pause_action = menu.addAction(self.tr("Pause server"), self._toggle_server)
        menu.addSeparator()
        menu.addSection(self.tr("Accounts"))
        self._refresh_action = menu.addAction(self.tr("Refresh quotas"), self._refresh_quotas)
        menu.addSeparator()
        menu.addAction(self.tr("Quit Gravity Desk"), self.quit_requested.emit)
        return menu

    def refresh(self) -> None:
        """Bring icon, tooltip and menu up to date with the server and the accounts."""
        state = self.controller.state
        self._update_icon()
        serving = state.status is ServerStatus.SERVING
        self._address_action.setEnabled(serving)
        self._address_action.setText(
            self.tr("Copy address  {url}").format(url=state.url)
            if serving
            else self.tr("Server {state}").format(state=self._status_words(state))
        )
        keys = self.controller.settings.server.api_keys
        self._key_action.setEnabled(bool(keys))
        self._key_action.setText(
            self.tr("Copy API key") if keys else self.tr("No API key needed (auth is off)")
        )
        self._pause_action.setEnabled(state.status is not ServerStatus.STARTING)
        self._pause_action.setText(
            {
                ServerStatus.SERVING: self.tr("Pause server"),
                ServerStatus.PAUSED: self.tr("Resume server"),
                ServerStatus.FAILED: self.tr("Try starting the server again"),
            }.get(state.status, self.tr("Starting…"))
        )
        self._rebuild_account_lines()

    def _rebuild_account_lines(self) -> None:
        for action in self._account_actions:
            self._menu.removeAction(action)
            action.deleteLater()
        now = _now()
        accounts = self._accounts()
        refusals = self.controller.services.pool.refusals
        lines = [account_line(account, now, refusals(account.id)) for account in accounts] or [
            self.tr("No accounts yet — add one…")
        ]
        self._account_actions = []
        for line in lines:
            action = QAction(line, self._menu)
            action.triggered.connect(self._open_accounts)
            self._menu.insertAction(self._refresh_action, action)
            self._account_actions.append(action)
        self._refresh_action.setEnabled(bool(accounts))

    def _update_icon(self) -> None:
        self.state = tray_state(
            self.controller.state, self._accounts(), refusals=self.controller.services.pool.refusals
        )
        self.setIcon(tray_icon(self.state))
        self.setToolTip(
            self.tr("Gravity Desk — {state}").format(state=self._status_words(self.controller.state))
        )

    def _status_words(self, state: ServerState) -> str:
        if state.status is ServerStatus.SERVING:
            if self.state is TrayState.PROBLEM:
                return self.tr("serving on {url}, but no account can answer (open Accounts)").format(
                    url=state.url
                )
            return self.tr("serving on {url}").format(url=state.url)
        if state.status is ServerStatus.FAILED:
            return self.tr("not running: {reason}").format(reason=state.error or self.tr("could not listen"))
        return self.tr("paused") if state.status is ServerStatus.PAUSED else self.tr("starting")

    # -- actions ---------------------------------------------------------------------------------------

    def open_window(self) -> None:
        self.window_requested.emit()

    def _open_accounts(self) -> None:
        self.accounts_requested.emit()

    def _copy_address(self) -> None:
        QGuiApplication.clipboard().setText(self.controller.state.url)

    def _copy_api_key(self) -> None:
        keys = self.controller.settings.server.api_keys
        if keys:
            QGuiApplication.clipboard().setText(keys[0])

    def _toggle_server(self) -> None:
        self._pause_action.setEnabled(False)  # until the new state arrives
        if self.controller.state.status is ServerStatus.SERVING:
            run_task(self.controller.pause())
        else:
            run_task(self.controller.resume())

    def _refresh_quotas(self) -> None:
        self._refresh_action.setEnabled(False)
        task = run_task(self.controller.refresh_quotas())
        task.add_done_callback(lambda _: self._refresh_action.setEnabled(bool(self._accounts())))

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason is QSystemTrayIcon.ActivationReason.DoubleClick:
            self.open_window()
        elif reason is QSystemTrayIcon.ActivationReason.Trigger:
            action = tray_click_action(
                sys.platform,
                visible=self.window.isVisible(),
                minimized=self.window.isMinimized(),
                active=self.window.isActiveWindow(),
            )
            if action is TrayClick.HIDE:
                self.window.hide()
            elif action is TrayClick.BRING_TO_FRONT:
                self.open_window()

    # -- events and notifications ----------------------------------------------------------------------

    def _on_server_state(self, state: ServerState) -> None:
        self.refresh()
        if state.status is ServerStatus.FAILED:
            self.show_notification(
                self.tr("Gravity Desk is not serving"),
                state.error or self.tr("The server could not start."),
                critical=True,
            )

    def _on_account_changed(self, account_id: str) -> None:
        account = self.controller.services.accounts.get(account_id)
        if account is None:
            self._seen.pop(account_id, None)
        else:
            before = self._seen.get(account_id)
            after = self._snapshot(account)
            self._seen[account_id] = after
            if before is not None:  # a new account's state is not news
                self._announce_changes(account, before, after)
        self._rebuild_timer.start()

    def _announce_changes(self, account: Account, before: _Seen, after: _Seen) -> None:
        if after.status is not before.status:
            if after.status is AccountStatus.NEEDS_SIGNIN:
                self.show_notification(
                    self.tr("Sign-in needed"),
                    self.tr("{name} needs to sign in again: open Accounts and choose Sign in again.").format(
                        name=account.name
                    ),
                )
            elif after.status is AccountStatus.BLOCKED:
                if account.status_reason:
                    message = self.tr(
                        "Google refused {name} ({reason}). Open Accounts for details; other accounts keep serving."
                    ).format(name=account.name, reason=account.status_reason)
                else:
                    message = self.tr(
                        "Google refused {name}. Open Accounts for details; other accounts keep serving."
                    ).format(name=account.name)
                self.show_notification(self.tr("Account blocked"), message, critical=True)
        for model in sorted(after.exhausted - before.exhausted):
            quota = account.quotas.get(model)
            if quota is not None and quota.reset_at is not None:
                message = self.tr(
                    "{name} has used up {model} until {time} (in {countdown}). Other accounts take over "
                    "meanwhile."
                ).format(
                    name=account.name,
                    model=model,
                    time=quota.reset_at.astimezone().strftime("%H:%M"),
                    countdown=format_countdown(quota.reset_at),
                )
            else:
                message = self.tr("{name} has used up {model}. Other accounts take over meanwhile.").format(
                    name=account.name, model=model
                )
            self.show_notification(self.tr("Out of quota"), message)

    def show_notification(self, title: str, message: str, *, critical: bool = False) -> None:
        """A desktop notification from the tray (and message_shown, for the window's status bar)."""
        if self.isVisible():
            icon = QSystemTrayIcon.MessageIcon.Critical if critical else QSystemTrayIcon.MessageIcon.Warning
            self.showMessage(title, message, icon, 8000)
        self.message_shown.emit(title, message)

    # -- helpers ---------------------------------------------------------------------------------------

    def _accounts(self) -> list[Account]:
        return self.controller.services.accounts.accounts()

    def _snapshot(self, account: Account) -> _Seen:
        refused = self.controller.services.pool.refusals(account.id)
        return _Seen(account.status, exhausted_models(account, refused=refused))
