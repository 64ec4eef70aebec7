"""Google calling the client version outdated, as the desktop shows it: one banner at the top of the window
naming upstream.client_version with a button to that field, and one tray notification, however many
requests fail; driven by the real gateway against the fake, which answers a stale version with its 200 text."""

from __future__ import annotations

import aiohttp
import shiboken6
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from gui.controller import AppController
from gui.main_window import MainWindow, Page
from gui.pages.settings import SettingsPage
from gui.tasks import cancel_all
from gui.tray import Tray
from tests.gui.conftest import API_KEY
from tests.gui.helpers import SignalRecorder, click, wait_until


async def _chat(controller: AppController) -> int:
    body = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{controller.state.url}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as reply,
    ):
        return reply.status


async def _apply_client_version(page: SettingsPage, version: str, *, replace_selection: bool = False) -> None:
    if not replace_selection:
        page.client_version_edit.clear()
    QTest.keyClicks(page.client_version_edit, version)  # typed over the selection when there is one
    applied = SignalRecorder(page.applied)
    click(page.apply_button)
    await wait_until(lambda: bool(applied.emissions))
    assert applied.emissions == [(True,)] and page.controller.settings.upstream.client_version == version


async def test_a_stale_version_shows_one_banner_and_one_notification_pointing_at_the_setting(
    controller: AppController, window: MainWindow, tray: Tray
) -> None:
    notifications = SignalRecorder(tray.message_shown)
    banner = window.stale_client_banner
    assert not banner.isVisible()
    settings = window.page(Page.SETTINGS)
    assert isinstance(settings, SettingsPage)
    await _apply_client_version(settings, "2.4.0")  # below the fake's floor
    assert [await _chat(controller) for _ in range(3)] == [502, 502, 502]
    await wait_until(banner.isVisible)
    assert "upstream.client_version" in banner.label.text() and "2.4.0" in banner.label.text()
    # The banner is the window's first: above the pages and every other banner.
    parent = banner.parentWidget()
    assert parent is not None
    layout = parent.layout()
    assert layout is not None and layout.indexOf(banner) == 0
    stale = [n for n in notifications.emissions if n[0] == "Client version outdated"]
    assert len(stale) == 1 and "upstream.client_version" in stale[0][1]  # once, not per request

    click(banner.buttons["fixClientVersion"])
    assert window.current_page is Page.SETTINGS
    await wait_until(lambda: QApplication.focusWidget() is settings.client_version_edit)
    assert settings.client_version_edit.selectedText() == "2.4.0"

    await _apply_client_version(settings, "2.9.1", replace_selection=True)
    assert not banner.isVisible()  # the setting it was about changed
    assert await _chat(controller) == 200


async def test_a_window_opened_after_the_refusal_still_shows_it(controller: AppController) -> None:
    controller.settings.upstream.client_version = "2.4.0"
    assert await _chat(controller) == 502
    window = MainWindow(controller)  # e.g. the app started in the tray and the window opens later
    try:
        window.show()
        assert window.stale_client_banner.isVisible()
        click(window.stale_client_banner.buttons["dismissStaleClient"])
        assert not window.stale_client_banner.isVisible()
    finally:
        await cancel_all()
        window.hide()
        shiboken6.delete(window)
