"""The opt-in update check as the desktop shows it: turned on in Settings against a local fake releases
endpoint, a newer version becomes a quiet notice with a link on the Dashboard and one tray notification;
the same version shows nothing."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtTest import QTest

from gui.controller import AppController
from gui.main_window import MainWindow, Page
from gui.pages.dashboard import DashboardPage
from gui.pages.settings import SettingsPage
from gui.tray import Tray
from tests.fake_releases import FakeReleases
from tests.gui.helpers import SignalRecorder, click, wait_until


async def _turn_on(window: MainWindow, url: str) -> None:
    settings = window.page(Page.SETTINGS)
    assert isinstance(settings, SettingsPage)
    assert not settings.check_updates_check.isChecked()  # off by default
    settings.check_updates_check.setChecked(True)
    QTest.keyClicks(settings.releases_url_edit, url)
    applied = SignalRecorder(settings.applied)
    click(settings.apply_button)
    await wait_until(lambda: bool(applied.emissions))
    assert applied.emissions == [(True,)]


@pytest.mark.parametrize(("published", "shown"), [("v99.0.0", True), (None, False)])
async def test_a_newer_release_shows_a_notice_with_its_link(
    controller: AppController,
    window: MainWindow,
    tray: Tray,
    releases: FakeReleases,
    published: str | None,
    shown: bool,
) -> None:
    current = controller.services.updates.current_version
    assert current is not None
    tag = published or f"v{current}"
    releases.body = [{"tag_name": tag, "html_url": f"https://example.invalid/releases/{tag}"}]
    notifications = SignalRecorder(tray.message_shown)
    await _turn_on(window, releases.url)
    assert controller.settings.updates.enabled and controller.settings.updates.releases_url == releases.url
    await controller.services.updates.check()  # what the background task does after start
    assert releases.hits == 1
    dashboard = window.page(Page.DASHBOARD)
    assert isinstance(dashboard, DashboardPage)
    told = [n for n in notifications.emissions if n[0] == "Update available"]
    if shown:
        assert dashboard.update_notice.isVisibleTo(dashboard)
        text = dashboard.update_notice.text()
        assert "v99.0.0" in text and 'href="https://example.invalid/releases/v99.0.0"' in text
        assert dashboard.update_notice.openExternalLinks()
        assert len(told) == 1
        await controller.services.updates.check()  # cached, and not told again
        assert (
            releases.hits == 1
            and len([n for n in notifications.emissions if n[0] == "Update available"]) == 1
        )
        # A Dashboard made later (the window opened from the tray) shows it too.
        later = DashboardPage(controller)
        try:
            assert later.update_notice.isVisibleTo(later)
        finally:
            shiboken6.delete(later)
    else:
        assert not dashboard.update_notice.isVisibleTo(dashboard) and told == []
