"""The Accounts page, tray and Dashboard show 5-hour / weekly quota windows alike; per-account quota protection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from core.types import Account
from gui.controller import AppController
from gui.models.accounts_model import QUOTA, QUOTA_ROLE, STATUS, QuotaBar, clock_time
from gui.pages.accounts import AccountsPage
from gui.pages.dashboard import quota_overview
from gui.tray import lowest_quota
from tests.fake_google import FakeGoogle
from tests.gui.helpers import wait_until

ALICE = "alice@example.com"


@pytest.fixture
async def page(controller: AppController, qtbot: QtBot) -> AsyncIterator[AccountsPage]:
    widget = AccountsPage(controller)
    qtbot.addWidget(widget)
    widget.resize(1100, 500)
    widget.show()
    await wait_until(lambda: widget.model.requests_today.loaded)
    yield widget


def alice(controller: AppController) -> Account:
    account = controller.services.accounts.find(ALICE)
    assert account is not None
    return account


def bars(page: AccountsPage) -> dict[str, QuotaBar]:
    return {bar.group: bar for bar in page.model.data(page.model.index(0, QUOTA), QUOTA_ROLE)}


async def test_an_empty_weekly_window_shows_in_bars_tooltip_status_tray_and_dashboard(
    page: AccountsPage, controller: AppController, fake_google: FakeGoogle
) -> None:
    fake_google.set_window(ALICE, "Gemini", "weekly", 0.0, reset_in_s=2 * 86400 + 1800)
    fake_google.set_window(ALICE, "Claude", "5h", 0.4, reset_in_s=2 * 3600 + 900)
    await controller.services.accounts.refresh_quota(alice(controller).id)
    now = datetime.now(UTC)
    shown = bars(page)
    weekly = shown["Gemini weekly"]
    assert weekly.fraction == 0.0 and weekly.reset_at is not None
    assert weekly.text(now) == f"0% · resets {clock_time(weekly.reset_at, now)} (in 2d 0h)"
    assert shown["Claude 5h"].fraction == pytest.approx(0.4)
    assert shown["Claude 5h"].text(now).endswith("(in 2h 15m)") or shown["Claude 5h"].text(now).endswith(
        "(in 2h 14m)"
    )
    # The window empties every Gemini model although each one's own quota reads 100 %.
    assert alice(controller).quotas["gemini-3.1-pro-high"].remaining_fraction == 1.0
    assert shown["Gemini Pro"].fraction == 0.0 and shown["Gemini Pro"].reset_at == weekly.reset_at
    assert shown["Claude"].fraction == pytest.approx(0.4)
    assert "Gemini 5h" not in shown  # a full window is in the tooltip only
    tooltip = str(page.model.data(page.model.index(0, QUOTA), Qt.ItemDataRole.ToolTipRole))
    assert "Gemini weekly: 0% · resets" in tooltip and "Gemini 5h: 100%" in tooltip
    status = str(page.model.data(page.model.index(0, STATUS), Qt.ItemDataRole.DisplayRole))
    assert status.startswith("Out of quota for 3 models until "), status
    # Tray and Dashboard read the same rule.
    refusals = controller.services.pool.refusals
    assert lowest_quota(alice(controller), now, refusals(alice(controller).id)) == (0.0, weekly.reset_at)
    overview = {s.group: s for s in quota_overview(controller.services.accounts.accounts(), now, refusals)}
    assert overview["Gemini Pro"].accounts_with_quota == 0
    assert overview["Claude"].accounts_with_quota == 1


def protection_menu(menu: QMenu) -> QMenu:
    """The context menu's one submenu (Quota protection)."""
    [submenu] = [sub for action in menu.actions() if isinstance(sub := action.menu(), QMenu)]
    return submenu


async def test_the_context_menu_sets_the_accounts_own_quota_protection(
    page: AccountsPage, controller: AppController, fake_google: FakeGoogle
) -> None:
    controller.settings.quota.reserve_percent = 10.0
    account = alice(controller)
    menu = page.context_menu(account)
    protection = protection_menu(menu)
    texts = [action.text() for action in protection.actions()]
    assert texts[0] == "As in Settings (10%)" and protection.actions()[0].isChecked()
    assert "Off for this account" in texts and "Keep 30% in reserve" in texts
    protection.actions()[texts.index("Keep 30% in reserve")].trigger()
    await wait_until(lambda: account.reserve_percent == 30.0)
    assert controller.services.pool.reserve_fraction(account) == pytest.approx(0.3)
    tooltip = str(page.model.data(page.model.index(0, QUOTA), Qt.ItemDataRole.ToolTipRole))
    assert "Quota protection: 30% of each group kept in reserve (this account's own setting)" in tooltip
    fake_google.set_remaining(ALICE, "gemini-3-flash", 0.25)
    await controller.services.accounts.refresh_quota(account.id)
    assert controller.services.pool.protected(account, "gemini-3-flash")
    again = page.context_menu(account)
    protection = protection_menu(again)
    assert [a.text() for a in protection.actions() if a.isChecked()] == ["Keep 30% in reserve"]
    protection.actions()[0].trigger()  # back to the global value
    await wait_until(lambda: account.reserve_percent is None)
    assert not controller.services.pool.protected(account, "gemini-3-flash")
    assert datetime.now(UTC) - timedelta(minutes=1) < (
        account.quota_updated_at or datetime.min.replace(tzinfo=UTC)
    )
