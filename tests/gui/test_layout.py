"""The window's face at the sizes people use: columns that fit, a window that fits the screen, our own icons,
errors in local time and hours, and the sign-in dialog's instructions above its progress bar."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import shiboken6
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QColor, QFontMetrics, QPalette
from PySide6.QtWidgets import QScrollArea

from core.store import HistogramBucket
from gui import theme
from gui.controller import AppController
from gui.i18n import apply_language
from gui.icons import PageGlyph, render_page_pixmap
from gui.main_window import MIN_HEIGHT, MIN_WIDTH, MainWindow, Page, fitted_size
from gui.models.accounts_model import QUOTA
from gui.models.request_log_model import friendly_error, wait_text
from gui.pages.accounts import QUOTA_MIN_WIDTH, AccountsPage, column_widths
from gui.pages.dashboard import LAST_DAY, DashboardPage, chart_window
from gui.pages.requests import STATUS_CHOICES
from gui.tasks import cancel_all
from tests.gui.helpers import wait_until


@pytest.fixture
async def window(controller: AppController) -> AsyncIterator[MainWindow]:
    window = MainWindow(controller)
    window.show()
    yield window
    await cancel_all()  # the pages' loading tasks must not finish into widgets about to go
    window.close_to_tray = False
    window.hide()
    shiboken6.delete(window)


@pytest.mark.parametrize("size", [QSize(1120, 720), QSize(820, 520)], ids=["default", "minimum"])
async def test_accounts_columns_fit_and_keep_room_for_the_bars(window: MainWindow, size: QSize) -> None:
    window.resize(size)
    window.show_page(Page.ACCOUNTS)
    page = window.pages.currentWidget()
    assert isinstance(page, AccountsPage)
    table = page.table
    await wait_until(lambda: table.viewport().width() < size.width() - 150)
    await asyncio.sleep(0.05)
    visible = [c for c in range(page.model.columnCount()) if not table.isColumnHidden(c)]
    right_edge = max(table.columnViewportPosition(c) + table.columnWidth(c) for c in visible)
    assert right_edge <= table.viewport().width() + 1, "the last column runs off screen"
    assert table.columnWidth(QUOTA) >= QUOTA_MIN_WIDTH
    for button in (page.sign_in_button, page.remove_button, page.refresh_button, page.resign_button):
        assert button.width() >= button.sizeHint().width(), f"{button.text()} is truncated"


def test_column_widths_drop_the_tier_first_when_narrow(window: MainWindow) -> None:
    metrics = QFontMetrics(window.font())
    assert column_widths(900, metrics)[2] > 0
    narrow = column_widths(560, metrics)
    assert narrow[2] == 0
    assert 560 - sum(narrow.values()) >= QUOTA_MIN_WIDTH


def test_the_window_fits_the_free_screen_area_at_150_percent() -> None:
    # A 1600x1000 screen at 150 % is 1067x667 scaled pixels, minus a panel.
    size = fitted_size(QRect(0, 0, 1067, 640))
    assert size.width() <= 1067 and size.height() <= 640
    assert (size.width(), size.height()) >= (MIN_WIDTH, MIN_HEIGHT)
    assert fitted_size(QRect(0, 0, 2560, 1400)) == QSize(1120, 720)


def test_navigation_icons_are_ours_in_the_theme_text_colour() -> None:
    colour = QColor(theme.DARK.roles[QPalette.ColorRole.WindowText])
    for glyph in PageGlyph:
        image = render_page_pixmap(glyph, colour, 24).toImage()
        painted = [
            image.pixelColor(x, y)
            for x in range(24)
            for y in range(24)
            if image.pixelColor(x, y).alpha() > 200
        ]
        assert len(painted) > 20, glyph
        assert all(abs(p.red() - colour.red()) < 3 for p in painted)


def test_errors_read_in_local_time_and_hours() -> None:
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    error = f"The earliest, a@x, frees up at {moment:%Y-%m-%d %H:%M:%S} UTC (in 10790 s)."
    text = friendly_error(error)
    assert "UTC" not in text and "10790" not in text
    assert "(in 3 h 0 min)" in text
    assert moment.astimezone().strftime("%H:%M") in text
    assert wait_text(40) == "40 s" and wait_text(720) == "12 min"


def test_status_filter_offers_502() -> None:
    assert "502" in [value for _, value in STATUS_CHOICES]


def test_quota_bars_carry_the_forecast() -> None:
    from core.forecast import QuotaHistory
    from core.types import Account, AccountKind, ModelQuota
    from gui.models.accounts_model import clock_time, quota_bars

    start = datetime.now(UTC) - timedelta(minutes=30)
    account = Account(id="a", kind=AccountKind.GOOGLE)
    history = QuotaHistory()
    for minutes, fraction in ((0, 0.9), (15, 0.8), (30, 0.7)):
        reset = start + timedelta(days=6)
        account.quotas = {
            "gemini-3.1-pro-high": ModelQuota(
                "gemini-3.1-pro-high", remaining_fraction=fraction, reset_at=reset
            )
        }
        account.quota_updated_at = start + timedelta(minutes=minutes)
        history.record(account)
    now = start + timedelta(minutes=30)
    (bar,) = quota_bars(account, now, None, history)
    assert bar.runs_out_at == now + timedelta(hours=1.75)  # 70 % left at 40 % an hour
    assert bar.text(now) == f"70% · runs out at ~{clock_time(bar.runs_out_at, now)}"
    (plain,) = quota_bars(account, now)
    assert plain.runs_out_at is None and "resets in" in plain.text(now)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_no_page_scrolls_sideways_at_the_minimum_size(controller: AppController, language: str) -> None:
    # A label that does not wrap (the Dashboard's activity summary, in Chinese) widened the page by one pixel
    # past the window's minimum width: a horizontal scroll bar under everything.
    apply_language(language)
    theme.apply_theme("light")  # Fusion, as the app always has: the platform's style sizes widgets otherwise
    window = MainWindow(controller)
    window.resize(MIN_WIDTH, MIN_HEIGHT)
    window.show()
    try:
        for page in Page:
            window.show_page(page)
            await asyncio.sleep(0.3)  # the page's own loading first
            shown = window.pages.currentWidget()
            assert shown is not None
            if isinstance(shown, DashboardPage):  # a busy day: the longest summary the page writes
                starts = chart_window(LAST_DAY, datetime.now(UTC))
                busy = [HistogramBucket(start, 12_345, 1_234, 9_876_543, 8_765_432) for start in starts]
                shown._draw(starts, busy, LAST_DAY)
                await asyncio.sleep(0.05)  # the layout takes in the new text
            for scroll in shown.findChildren(QScrollArea):
                content = scroll.widget()
                if content is not None and scroll.isVisible():
                    needed, room = content.minimumSizeHint().width(), scroll.viewport().width()
                    assert needed <= room, f"{page.name} needs {needed} px, has {room} ({language})"
    finally:
        await cancel_all()
        window.close_to_tray = False
        window.hide()
        shiboken6.delete(window)
        apply_language("en")
