"""The tray: menu content, the state icon, and notifications driven by real requests against the fake."""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import shiboken6
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from core.types import Account, AccountKind, AccountStatus, ModelQuota
from gui.app import connect_tray
from gui.controller import AppController, ServerStatus
from gui.icons import TrayState, render_tray_pixmap, tray_panel_is_dark
from gui.main_window import MainWindow, Page
from gui.tasks import cancel_all
from gui.tray import (
    Tray,
    TrayClick,
    account_line,
    format_countdown,
    lowest_quota,
    tray_click_action,
    tray_state,
)
from tests.fake_google import ANY_GENERATE, FakeGoogle, Fault
from tests.gui.conftest import API_KEY
from tests.gui.helpers import SignalRecorder, wait_until


@pytest.fixture
async def window(controller: AppController) -> AsyncIterator[MainWindow]:
    window = MainWindow(controller)
    yield window
    # The pages' own loading tasks must not finish into widgets that are about to go.
    await cancel_all()
    window.hide()
    shiboken6.delete(window)  # now, in the Qt thread


@pytest.fixture
def tray(controller: AppController, window: MainWindow) -> Iterator[Tray]:
    tray = Tray(controller, window)
    connect_tray(tray, window)
    yield tray
    tray.hide()
    shiboken6.delete(tray)


def _texts(tray: Tray) -> list[str]:
    menu = tray.contextMenu()
    assert menu is not None
    return [action.text() for action in menu.actions() if not action.isSeparator()]


def _action(tray: Tray, starts_with: str) -> QAction:
    menu = tray.contextMenu()
    assert menu is not None
    matches = [action for action in menu.actions() if action.text().startswith(starts_with)]
    assert matches, f"no menu entry starting with {starts_with!r} in {_texts(tray)}"
    return matches[0]


def _shows(tray: Tray, state: TrayState) -> bool:
    """The tray is in `state` and its icon shows it."""
    shown = tray.icon().pixmap(32, 32).toImage()
    return tray.state is state and shown == render_tray_pixmap(state, tray_panel_is_dark(), 32).toImage()


async def _chat(controller: AppController, model: str) -> int:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    async with aiohttp.ClientSession() as http:
        url = controller.state.url + "/v1/chat/completions"
        async with http.post(url, json=body, headers={"Authorization": f"Bearer {API_KEY}"}) as response:
            await response.read()
            return response.status


async def test_menu_lists_address_key_server_accounts_and_quit(tray: Tray, controller: AppController) -> None:
    texts = _texts(tray)
    assert texts[0] == "Open Gravity Desk"
    assert f"Copy address  {controller.state.url}" in texts
    assert "Pause server" in texts and "Refresh quotas" in texts
    assert texts[-1] == "Quit Gravity Desk"
    (line,) = [text for text in texts if text.startswith("alice@…")]
    assert line == "alice@… — 100% (resets 5h)"  # the fake's default quota: full, reset in 5 hours

    _action(tray, "Copy API key").trigger()
    assert QGuiApplication.clipboard().text() == API_KEY
    _action(tray, "Copy address").trigger()
    assert QGuiApplication.clipboard().text() == controller.state.url

    quits = SignalRecorder(tray.quit_requested)
    _action(tray, "Quit").trigger()
    assert quits.emissions == [()]


@pytest.mark.usefixtures("controller")
async def test_account_line_shows_the_lowest_quota_after_refresh(tray: Tray, fake_google: FakeGoogle) -> None:
    fake_google.set_remaining("alice@example.com", "gemini-3.1-pro-high", 0.42, reset_in_s=3 * 3600 - 60)
    fake_google.set_remaining("alice@example.com", "gemini-3-flash", 0.6, reset_in_s=3600)
    _action(tray, "Refresh quotas").trigger()
    await wait_until(lambda: "alice@… — 42% (resets 3h)" in _texts(tray))


async def test_account_line_opens_the_accounts_page(tray: Tray, window: MainWindow) -> None:
    window.show_page(Page.SETTINGS)
    _action(tray, "alice@…").trigger()
    assert window.isVisible() and window.current_page is Page.ACCOUNTS
    window.hide()


TRIGGER = QSystemTrayIcon.ActivationReason.Trigger


async def _shown_and_active(window: MainWindow) -> None:
    window.show()
    window.activateWindow()
    await wait_until(window.isActiveWindow)


async def test_click_hides_the_window_the_user_is_looking_at(tray: Tray, window: MainWindow) -> None:
    await _shown_and_active(window)
    tray.activated.emit(TRIGGER)
    assert not window.isVisible()
    tray.activated.emit(TRIGGER)
    assert window.isVisible()


async def test_click_restores_a_minimised_window_instead_of_hiding_it(tray: Tray, window: MainWindow) -> None:
    window.showMinimized()
    await wait_until(window.isMinimized)
    tray.activated.emit(TRIGGER)
    assert window.isVisible() and not window.isMinimized()


async def test_click_raises_a_window_covered_by_another(tray: Tray, window: MainWindow) -> None:
    await _shown_and_active(window)
    other = QWidget()
    try:
        other.show()
        other.activateWindow()
        await wait_until(lambda: not window.isActiveWindow())
        tray.activated.emit(TRIGGER)
        assert window.isVisible()
        await wait_until(window.isActiveWindow)
    finally:
        other.hide()
        shiboken6.delete(other)


async def test_click_on_macos_leaves_the_window_to_the_menu(
    tray: Tray, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _shown_and_active(window)
    with monkeypatch.context() as patch:  # only around the clicks: the event loop reads sys.platform too
        patch.setattr(sys, "platform", "darwin")
        tray.activated.emit(TRIGGER)
    assert window.isVisible() and not window.isMinimized()

    window.hide()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "platform", "darwin")
        tray.activated.emit(TRIGGER)
    assert not window.isVisible()


def test_tray_click_decision() -> None:
    looking = {"visible": True, "minimized": False, "active": True}
    assert tray_click_action("win32", **looking) is TrayClick.HIDE
    assert tray_click_action("linux", **looking) is TrayClick.HIDE
    assert tray_click_action("win32", **(looking | {"minimized": True})) is TrayClick.BRING_TO_FRONT
    assert tray_click_action("win32", **(looking | {"active": False})) is TrayClick.BRING_TO_FRONT
    assert tray_click_action("linux", **(looking | {"visible": False})) is TrayClick.BRING_TO_FRONT
    for state in (looking, looking | {"visible": False}, looking | {"minimized": True}):
        assert tray_click_action("darwin", **state) is TrayClick.NOTHING


async def test_icon_follows_pause_resume_and_a_port_problem(tray: Tray, controller: AppController) -> None:
    assert _shows(tray, TrayState.SERVING)
    _action(tray, "Pause server").trigger()
    await wait_until(lambda: controller.state.status is ServerStatus.PAUSED)
    assert _shows(tray, TrayState.PAUSED)
    assert "Resume server" in _texts(tray)
    assert not _action(tray, "Server paused").isEnabled()  # no address to copy while paused

    _action(tray, "Resume server").trigger()
    await wait_until(lambda: controller.state.status is ServerStatus.SERVING)
    assert _shows(tray, TrayState.SERVING)

    messages = SignalRecorder(tray.message_shown)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:  # another program on our port
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        controller.settings.server.port = holder.getsockname()[1]
        assert (await controller.restart_listener()).status is ServerStatus.FAILED
    assert _shows(tray, TrayState.PROBLEM)
    assert [title for title, _ in messages.emissions] == ["Gravity Desk is not serving"]
    controller.settings.server.port = 0
    _action(tray, "Try starting the server again").trigger()
    await wait_until(lambda: controller.state.status is ServerStatus.SERVING)
    assert _shows(tray, TrayState.SERVING)


async def test_quota_exhaustion_through_a_real_request_notifies(
    tray: Tray, controller: AppController, fake_google: FakeGoogle
) -> None:
    messages = SignalRecorder(tray.message_shown)
    fake_google.inject(Fault("quota", method=ANY_GENERATE, model="gemini-3-flash"))
    assert await _chat(controller, "gemini-3-flash") == 429
    await wait_until(lambda: any(title == "Out of quota" for title, _ in messages.emissions))
    (message,) = [text for title, text in messages.emissions if title == "Out of quota"]
    assert "alice@example.com" in message and "gemini-3-flash" in message and "(in 3h)" in message
    await wait_until(lambda: "alice@… — 0% (resets 3h)" in _texts(tray))
    # Other models are still there: the account can serve, so the icon stays "serving".
    assert tray.state is TrayState.SERVING
    # The same exhaustion seen again (a quota refresh) is not news.
    count = len(messages.emissions)
    await controller.refresh_quotas()
    assert len(messages.emissions) == count


async def test_revoked_sign_in_notifies_and_shows_a_problem(
    tray: Tray, controller: AppController, fake_google: FakeGoogle
) -> None:
    messages = SignalRecorder(tray.message_shown)
    fake_google.revoke(fake_google.accounts["alice@example.com"].refresh_token)
    await controller.refresh_quotas()
    await wait_until(lambda: tray.state is TrayState.PROBLEM)
    assert _shows(tray, TrayState.PROBLEM)
    assert [title for title, _ in messages.emissions] == ["Sign-in needed"]
    assert "alice@… — needs sign-in" in _texts(tray)


async def test_blocked_account_notifies(tray: Tray, controller: AppController) -> None:
    messages = SignalRecorder(tray.message_shown)
    (account,) = controller.services.accounts.accounts()
    await controller.services.accounts.set_status(account.id, AccountStatus.BLOCKED, "verify your account")
    await wait_until(lambda: bool(messages.emissions))
    ((title, text),) = messages.emissions
    assert title == "Account blocked" and "verify your account" in text


def _account(**quotas: tuple[float | None, timedelta | None]) -> Account:
    now = datetime.now(UTC)
    return Account(
        id="a1",
        kind=AccountKind.GOOGLE,
        email="bob@example.com",
        quotas={
            model: ModelQuota(
                model, remaining_fraction=fraction, reset_at=None if delta is None else now + delta
            )
            for model, (fraction, delta) in quotas.items()
        },
    )


def test_lowest_quota_ignores_quotas_whose_reset_has_passed() -> None:
    account = _account(a=(0.0, timedelta(hours=-1)), b=(0.7, timedelta(hours=2)), c=(0.9, None))
    lowest = lowest_quota(account)
    assert lowest is not None and lowest[0] == 0.7
    assert account_line(account) == "bob@… — 70% (resets 2h)"


def test_account_line_says_what_stops_an_account() -> None:
    account = _account(a=(0.5, None))
    account.enabled = False
    assert account_line(account).endswith("disabled")
    account.enabled = True
    account.status = AccountStatus.BLOCKED
    assert account_line(account).endswith("blocked")
    api_key = Account(id="k", kind=AccountKind.API_KEY, label="AI Studio key")
    assert account_line(api_key) == "AI Studio key — ready"


def test_countdown_units() -> None:
    now = datetime.now(UTC)
    assert format_countdown(now + timedelta(minutes=44, seconds=10), now) == "45m"
    assert format_countdown(now + timedelta(hours=2, minutes=40), now) == "3h"
    assert format_countdown(now + timedelta(days=3, hours=1), now) == "3d"


def test_state_is_a_problem_when_every_model_is_exhausted() -> None:
    from gui.controller import ServerState

    serving = ServerState(ServerStatus.SERVING, url="http://127.0.0.1:1")
    account = _account(a=(0.0, timedelta(hours=1)), b=(0.0, timedelta(hours=2)))
    assert tray_state(serving, [account]) is TrayState.PROBLEM
    account.quotas["b"].reset_at = datetime.now(UTC) - timedelta(seconds=1)
    assert tray_state(serving, [account]) is TrayState.SERVING
    assert tray_state(ServerState(ServerStatus.PAUSED), [account]) is TrayState.PAUSED
