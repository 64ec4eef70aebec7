"""The main window: navigation by clicks, banners that say what to do, closing to the tray."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton

from gui.app import show_window_on_reopen
from gui.controller import AppController, ServerStatus
from gui.main_window import MainWindow, Page, keyring_advice
from gui.tasks import cancel_all
from tests.gui.helpers import SignalRecorder, click, next_emission, wait_until


@pytest.fixture
async def window(controller: AppController) -> AsyncIterator[MainWindow]:
    window = MainWindow(controller)
    window.show()
    yield window
    # The pages' own loading tasks must not finish into widgets that are about to go.
    await cancel_all()
    window.close_to_tray = False
    window.hide()
    shiboken6.delete(window)  # now, in the Qt thread


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _click_navigation(window: MainWindow, page: Page) -> None:
    navigation = window.navigation
    rect = navigation.visualItemRect(navigation.item(int(page)))
    click(navigation.viewport(), pos=rect.center())


def _button(banner_parent: MainWindow, name: str) -> QPushButton:
    button = banner_parent.findChild(QPushButton, name)
    assert button is not None, f"no button {name}"
    return button


async def test_navigation_clicks_switch_pages_in_order(window: MainWindow) -> None:
    titles = [window.navigation.item(row).text() for row in range(window.navigation.count())]
    assert titles == ["Accounts", "Requests", "Dashboard", "Settings"]
    for page in (Page.SETTINGS, Page.REQUESTS, Page.ACCOUNTS, Page.DASHBOARD):
        _click_navigation(window, page)
        assert window.pages.currentIndex() == int(page)
        assert window.pages.currentWidget() is window.page(page)
        assert type(window.page(page)).__name__ == f"{page.name.title()}Page"


async def test_status_bar_follows_the_server(window: MainWindow, controller: AppController) -> None:
    url = controller.state.url
    assert url in window.server_label.text()
    window.server_button.click()  # "Pause"
    await wait_until(lambda: controller.state.status is ServerStatus.PAUSED)
    assert url not in window.server_label.text() and "Paused" in window.server_label.text()
    window.server_button.click()  # "Resume"
    await wait_until(lambda: controller.state.status is ServerStatus.SERVING)
    assert controller.state.url in window.server_label.text()


async def test_busy_port_banner_offers_change_port_and_retry(
    window: MainWindow, controller: AppController, busy_port: int
) -> None:
    assert window.port_banner.isHidden()
    controller.settings.server.port = busy_port
    state = await controller.restart_listener()
    assert state.status is ServerStatus.FAILED
    assert not window.port_banner.isHidden()
    assert f"Port {busy_port}" in window.port_banner.label.text()
    assert "Not running" in window.server_label.text()

    click(_button(window, "changePort"))
    assert window.current_page is Page.SETTINGS

    controller.settings.server.port = 0  # what the user would do on the Settings page
    serving = next_emission(controller.server_state_changed)
    click(_button(window, "retry"))
    (new_state,) = await serving
    assert new_state.status is ServerStatus.SERVING
    assert window.port_banner.isHidden()
    assert new_state.url in window.server_label.text()


async def test_no_accounts_banner_leads_to_the_accounts_page(
    window: MainWindow, controller: AppController
) -> None:
    assert window.accounts_banner.isHidden()
    (account,) = controller.services.accounts.accounts()
    await controller.services.accounts.remove(account.id)
    await wait_until(lambda: not window.accounts_banner.isHidden())
    assert "No accounts yet" in window.accounts_banner.label.text()
    window.show_page(Page.DASHBOARD)
    click(_button(window, "addAccount"))
    assert window.current_page is Page.ACCOUNTS


async def test_disabled_only_account_shows_that_nothing_can_answer(
    window: MainWindow, controller: AppController
) -> None:
    (account,) = controller.services.accounts.accounts()
    await controller.services.accounts.set_enabled(account.id, False)
    await wait_until(lambda: not window.accounts_banner.isHidden())
    assert "No account can answer" in window.accounts_banner.label.text()
    await controller.services.accounts.set_enabled(account.id, True)
    await wait_until(window.accounts_banner.isHidden)


async def test_unencrypted_secrets_are_announced_and_can_be_dismissed(
    window: MainWindow, controller: AppController
) -> None:
    # The controller fixture has no keyring: secrets are in the file fallback.
    assert not controller.services.secrets.encrypted
    assert not window.keyring_banner.isHidden()
    assert str(controller.services.secrets.file_path) in window.keyring_banner.label.text()
    click(_button(window, "dismissKeyring"))
    assert window.keyring_banner.isHidden()


async def test_close_hides_to_tray_or_quits_without_one(window: MainWindow) -> None:
    quits = SignalRecorder(window.quit_requested)
    window.close_to_tray = True
    assert not window.close()  # the close event was ignored
    assert not window.isVisible() and quits.emissions == []
    window.bring_to_front()
    assert window.isVisible()
    window.close_to_tray = False
    assert window.close()
    assert quits.emissions == [()]


def test_keyring_advice_names_the_platform_keyring() -> None:
    assert "Credential Manager" in keyring_advice("win32")
    assert "Keychain" in keyring_advice("darwin")
    assert "GNOME Keyring" in keyring_advice("linux")
    for platform in ("win32", "darwin"):
        assert "GNOME" not in keyring_advice(platform) and "KWallet" not in keyring_advice(platform)


async def _press(window: MainWindow, key: QKeySequence.StandardKey) -> None:
    """Types the platform's standard keys for `key` into the active window, as a user would."""
    window.activateWindow()
    await wait_until(window.isActiveWindow)
    QTest.keySequence(window, QKeySequence(key))


async def test_standard_close_keys_hide_the_window_to_the_tray(window: MainWindow) -> None:
    assert window.close_action.shortcuts() == QKeySequence.keyBindings(QKeySequence.StandardKey.Close)
    quits = SignalRecorder(window.quit_requested)
    window.close_to_tray = True
    await _press(window, QKeySequence.StandardKey.Close)
    assert not window.isVisible() and quits.emissions == []


async def test_standard_close_keys_quit_where_there_is_no_tray(window: MainWindow) -> None:
    quits = SignalRecorder(window.quit_requested)
    await _press(window, QKeySequence.StandardKey.Close)
    assert not window.isVisible() and quits.emissions == [()]


async def test_standard_quit_keys_ask_the_app_to_quit(window: MainWindow) -> None:
    # Offscreen Qt uses the Windows key scheme, which (like Windows) binds no keys to Quit; X11 and macOS
    # bind Ctrl+Q / Cmd+Q. So this checks the action carries the platform's binding and quits when fired.
    assert window.quit_action in window.actions()
    assert window.quit_action.shortcuts() == QKeySequence.keyBindings(QKeySequence.StandardKey.Quit)
    quits = SignalRecorder(window.quit_requested)
    window.close_to_tray = True  # quitting is not closing: it quits even where the window hides to the tray
    window.quit_action.trigger()
    assert quits.emissions == [()]


@pytest.mark.parametrize("platform", ["darwin", "linux"])
async def test_reopening_the_running_app_on_macos_shows_the_hidden_window(
    window: MainWindow, platform: str
) -> None:
    # What Qt turns macOS' "reopen" (the app opened again from Finder or Spotlight) into.
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    slot = show_window_on_reopen(app, window, platform)
    try:
        window.hide()
        app.applicationStateChanged.emit(Qt.ApplicationState.ApplicationActive)
        assert window.isVisible() is (platform == "darwin")  # elsewhere the single-instance socket does it
        window.show()
        window.showMinimized()
        app.applicationStateChanged.emit(Qt.ApplicationState.ApplicationActive)
        assert window.isMinimized()  # a window that is there is left as the user put it
    finally:
        if slot is not None:
            app.applicationStateChanged.disconnect(slot)
