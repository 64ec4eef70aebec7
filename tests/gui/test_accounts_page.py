"""The Accounts page driven by clicks and keys, over real services and the fake Google (the test is the browser)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QFont, QFontMetrics
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox, QStyleOptionViewItem, QWidget
from pytestqt.qtbot import QtBot
from yarl import URL

from core.models import model_group
from core.types import Account, AccountKind, AccountStatus, LogEntry, ModelQuota
from gui.controller import AppController
from gui.models.accounts_model import (
    ACCOUNT_ID_ROLE,
    KIND,
    NAME,
    QUOTA,
    QUOTA_ROLE,
    REQUESTS_TODAY,
    STATUS,
    AccountsModel,
    QuotaBar,
    countdown,
    quota_bars,
)
from gui.pages.accounts import AccountsPage, QuotaDelegate
from tests.fake_google import FakeGoogle, Fault
from tests.gui.conftest import API_KEY
from tests.gui.helpers import SignalRecorder, click, wait_until

ALICE = "alice@example.com"


@pytest.fixture
async def page(controller: AppController, qtbot: QtBot) -> AsyncIterator[AccountsPage]:
    widget = AccountsPage(controller)
    qtbot.addWidget(widget)
    widget.resize(1100, 500)
    widget.show()
    await wait_until(lambda: widget.model.requests_today.loaded)
    yield widget
    if widget.sign_in_dialog is not None and widget.sign_in_dialog.running:
        widget.sign_in_dialog.reject()


@pytest.fixture
def opened_urls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Intercepts the system browser: the URLs the app asked to open."""
    urls: list[str] = []

    def open_url(url: QUrl) -> bool:
        urls.append(bytes(url.toEncoded().data()).decode("ascii"))
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    return urls


def cell(model: AccountsModel, row: int, column: int) -> object:
    return model.data(model.index(row, column))


def row_named(model: AccountsModel, name: str) -> int:
    for row in range(model.rowCount()):
        if cell(model, row, NAME) == name:
            return row
    raise AssertionError(
        f"{name} is not in the table: {[cell(model, r, NAME) for r in range(model.rowCount())]}"
    )


def click_to_open_a_dialog(button: QWidget) -> None:
    """Click a button whose dialog must open without blocking. A blocking dialog (exec(), the static
    QFileDialog/QMessageBox helpers) runs a nested event loop that would hang the test, and no pytest timeout
    can interrupt it: a zero-delay timer, which only that nested loop can run, closes such a dialog so the
    test fails instead."""
    blocking: list[str] = []

    def close_a_blocking_dialog() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QDialog):
            blocking.append(type(dialog).__name__)
            dialog.reject()

    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(close_a_blocking_dialog)
    timer.start(0)
    click(button)
    timer.stop()
    assert not blocking, f"the click ran a nested event loop for a blocking {blocking[0]}"


async def browse(url: str) -> tuple[int, str]:
    """The browser following Google's consent page back to the app's loopback listener."""
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def chat(controller: AppController, model: str) -> int:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            controller.state.url + "/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as response,
    ):
        await response.read()
        return response.status


# -- the model ----------------------------------------------------------------------------------------------


async def test_model_passes_the_model_tester_through_inserts_and_removals(
    page: AccountsPage, fake_google: FakeGoogle, qtmodeltester: object
) -> None:
    model = page.model
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    key = fake_google.add_api_key()
    added = await page.controller.services.accounts.add_api_key(key, "Spare key")
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert model.rowCount() == 2 and cell(model, 1, NAME) == "Spare key" and cell(model, 1, KIND) == "API key"
    assert model.data(model.index(1, STATUS), ACCOUNT_ID_ROLE) == added.id
    await page.controller.services.accounts.remove(ALICE)
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert [cell(model, r, NAME) for r in range(model.rowCount())] == ["Spare key"]


async def test_quota_bars_per_model_group(page: AccountsPage, fake_google: FakeGoogle) -> None:
    fake_google.set_remaining(ALICE, "gemini-3-flash", 0.25, reset_in_s=2 * 3600 + 600)
    account = page.controller.services.accounts.find(ALICE)
    assert account is not None
    await page.controller.services.accounts.refresh_quota(account.id)
    bars: list[QuotaBar] = page.model.data(page.model.index(0, QUOTA), QUOTA_ROLE)
    by_group = {bar.group: bar for bar in bars}
    assert list(by_group) == ["Gemini Pro", "Gemini Flash", "Claude"]
    assert by_group["Gemini Flash"].fraction == pytest.approx(0.25)
    now = datetime.now(UTC)
    assert by_group["Gemini Flash"].text(now) in {"25% · resets in 2h 10m", "25% · resets in 2h 09m"}
    assert by_group["Claude"].models == ("claude-sonnet-4-5", "claude-sonnet-4-5-thinking")
    assert "Gemini Flash 25%" in str(cell(page.model, 0, QUOTA))
    # The delegate draws the bars without errors and makes the row tall enough for three of them.
    assert not page.grab().isNull()
    assert page.table.rowHeight(0) >= 3 * 14


async def test_quota_bars_are_as_tall_as_a_larger_font(page: AccountsPage) -> None:
    # Windows (Segoe UI 9pt) and macOS (13pt) fonts are about 16 px high; 18 px is a large-text setting.
    account = page.controller.services.accounts.find(ALICE)
    assert account is not None
    await page.controller.services.accounts.refresh_quota(account.id)
    index = page.model.index(0, QUOTA)
    bars = len(page.model.data(index, QUOTA_ROLE))
    font = QFont(page.table.font())
    font.setPixelSize(18)
    page.table.setFont(font)
    text_height = QFontMetrics(font).height()

    delegate = page.table.itemDelegate()
    assert isinstance(delegate, QuotaDelegate)
    option = QStyleOptionViewItem()
    option.initFrom(page.table)  # the table's font and metrics, as the view hands them to the delegate
    assert delegate.sizeHint(option, index).height() >= bars * text_height
    await wait_until(lambda: page.table.rowHeight(0) >= bars * text_height)
    assert not page.grab().isNull()


def test_presentation_helpers() -> None:
    assert [
        model_group(m) for m in ("gemini-3.1-pro-high", "gemini-3-flash-lite", "claude-opus-4-6", "gpt-oss")
    ] == [
        "Gemini Pro",
        "Gemini Flash",
        "Claude",
        "Other",
    ]
    assert model_group("gemini-3-pro-image-preview") == "Images"
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert countdown(now + timedelta(seconds=30), now) == "less than a minute"
    assert countdown(now + timedelta(minutes=12, seconds=5), now) == "12m"
    assert countdown(now + timedelta(hours=3, minutes=5), now) == "3h 05m"
    assert countdown(now + timedelta(days=2, hours=3), now) == "2d 3h"
    account = Account(
        id="x",
        kind=AccountKind.GOOGLE,
        quotas={
            "gemini-3.1-pro-high": ModelQuota("gemini-3.1-pro-high", remaining_fraction=0.9),
            "gemini-3-pro-preview": ModelQuota(
                "gemini-3-pro-preview", remaining_fraction=0.0, reset_at=now + timedelta(hours=1)
            ),
            # Exhausted, but its reset has passed: the quota is back and must not drag the group down.
            "gemini-3-flash": ModelQuota(
                "gemini-3-flash", remaining_fraction=0.0, reset_at=now - timedelta(1)
            ),
        },
    )
    bars = {bar.group: bar for bar in quota_bars(account, now)}
    assert bars["Gemini Pro"].fraction == 0.0 and bars["Gemini Pro"].text(now) == "0% · resets in 1h 00m"
    # The pool counts it as back (full) until the next reading: the bar says the same.
    assert bars["Gemini Flash"].fraction == 1.0 and bars["Gemini Flash"].text(now) == "100%"


# -- status texts -----------------------------------------------------------------------------------------


async def test_status_after_a_quota_fault(
    page: AccountsPage, controller: AppController, fake_google: FakeGoogle
) -> None:
    assert cell(page.model, 0, STATUS) == "OK"
    account = controller.services.accounts.find(ALICE)
    assert account is not None
    checked_before = account.quota_updated_at
    # Every reading counts as old, so the refusal is followed by a background re-read at once.
    controller.services.settings.upstream.quota_refresh_minutes = 0.0
    fake_google.inject(Fault("quota", model="gemini-3.1-pro-high", who=ALICE))
    assert await chat(controller, "gemini-3.1-pro-high") == 429
    await wait_until(lambda: str(cell(page.model, 0, STATUS)).startswith("Out of quota"))
    # The pool also re-reads the quota in the background; the status stays after that refresh lands.
    await wait_until(lambda: account.quota_updated_at != checked_before)
    status = str(cell(page.model, 0, STATUS))
    # The fake's quota resets in three hours; the text names the model and that local time.
    # (a reset on another day also names the weekday: the test may run in the evening).
    expected = {
        (datetime.now() + timedelta(hours=3, minutes=delta)).strftime(form)
        for delta in (-1, 0, 1)
        for form in ("%H:%M", "%a %H:%M")
    }
    assert status.removeprefix("Out of quota for gemini-3.1-pro-high until ") in expected, status
    bars = {bar.group: bar for bar in page.model.data(page.model.index(0, QUOTA), QUOTA_ROLE)}
    assert bars["Gemini Pro"].fraction == 0.0


async def test_status_cooling_down_after_a_rate_limit(
    page: AccountsPage, controller: AppController, fake_google: FakeGoogle
) -> None:
    fake_google.inject(Fault("rate_limit", model="gemini-3-flash", who=ALICE, delay="30s"))
    assert await chat(controller, "gemini-3-flash") == 429
    await wait_until(lambda: str(cell(page.model, 0, STATUS)).startswith("Cooling down until "))


async def test_status_after_revoke_and_refresh(page: AccountsPage, fake_google: FakeGoogle) -> None:
    fake_google.revoke(fake_google.accounts[ALICE].refresh_token)
    page.table.selectRow(0)
    assert page.refresh_button.text() == "Refresh quota"
    click(page.refresh_button)
    await wait_until(lambda: cell(page.model, 0, STATUS) == "Needs sign-in")
    await wait_until(lambda: page.refresh_button.isEnabled())
    assert "sign in" in page.message.text().lower()


async def test_blocked_status_shows_the_reason(page: AccountsPage) -> None:
    account = page.controller.services.accounts.find(ALICE)
    assert account is not None
    await page.controller.services.accounts.set_status(
        account.id, AccountStatus.BLOCKED, "verify your account"
    )
    assert cell(page.model, 0, STATUS) == "Blocked: verify your account"


# -- adding ---------------------------------------------------------------------------------------------------


async def test_add_api_key_by_typing(page: AccountsPage, fake_google: FakeGoogle) -> None:
    key = fake_google.add_api_key()
    click(page.add_key_button)
    dialog = page.api_key_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.add_button.isEnabled()
    QTest.keyClicks(dialog.key_edit, "not-a-key")
    click(dialog.add_button)
    await wait_until(lambda: dialog.error_label.isVisible())
    assert "Check the key" in dialog.error_label.text()
    assert page.model.rowCount() == 1

    dialog.key_edit.clear()
    QTest.keyClicks(dialog.key_edit, key)
    QTest.keyClicks(dialog.label_edit, "Work key")
    click(dialog.add_button)
    await wait_until(lambda: page.model.rowCount() == 2)
    await wait_until(lambda: not dialog.isVisible())
    row = row_named(page.model, "Work key")
    assert cell(page.model, row, KIND) == "API key"
    assert page.selected_account() is not None and page.selected_account().label == "Work key"  # type: ignore[union-attr]


async def test_sign_in_with_google_end_to_end(
    page: AccountsPage, fake_google: FakeGoogle, opened_urls: list[str]
) -> None:
    fake_google.consent_email = "bob@example.com"
    click(page.sign_in_button)
    dialog = page.sign_in_dialog
    assert dialog is not None
    await wait_until(lambda: bool(opened_urls))
    assert dialog.isVisible() and dialog.progress.isVisible()
    assert URL(opened_urls[0]).with_query(None) == URL(fake_google.base_url + "/o/oauth2/v2/auth")

    status, text = await browse(opened_urls[0])

    assert status == 200 and "close this tab" in text
    await wait_until(lambda: page.model.rowCount() == 2)
    await wait_until(lambda: not dialog.isVisible())
    assert page.selected_account() is not None and page.selected_account().email == "bob@example.com"  # type: ignore[union-attr]
    assert "bob@example.com" in page.message.text()


async def test_cancel_the_sign_in(
    page: AccountsPage, fake_google: FakeGoogle, opened_urls: list[str]
) -> None:
    fake_google.consent_email = "carol@example.com"
    click(page.sign_in_button)
    dialog = page.sign_in_dialog
    assert dialog is not None
    await wait_until(lambda: bool(opened_urls))
    click(dialog.cancel_button)
    assert not dialog.isVisible()
    await wait_until(lambda: not dialog.running)
    # The loopback listener is closed: the browser coming back finds nobody, and nothing is added.
    with pytest.raises(aiohttp.ClientConnectionError):
        await browse(opened_urls[0])
    await asyncio.sleep(0.05)
    assert page.model.rowCount() == 1


async def test_denied_consent_offers_to_try_again(
    page: AccountsPage, fake_google: FakeGoogle, opened_urls: list[str]
) -> None:
    fake_google.deny_consent = True
    click(page.sign_in_button)
    dialog = page.sign_in_dialog
    assert dialog is not None
    await wait_until(lambda: bool(opened_urls))
    await browse(opened_urls[0])
    await wait_until(lambda: dialog.retry_button.isVisible())
    assert "did not allow" in dialog.status_label.text()
    # Try again opens a new sign-in (a new listener, a new state) that can succeed.
    fake_google.deny_consent = False
    fake_google.consent_email = "dave@example.com"
    click(dialog.retry_button)
    await wait_until(lambda: len(opened_urls) == 2)
    assert URL(opened_urls[1]).query["state"] != URL(opened_urls[0]).query["state"]
    await browse(opened_urls[1])
    await wait_until(lambda: page.model.rowCount() == 2)


async def test_paste_the_address_from_another_machine(
    page: AccountsPage, fake_google: FakeGoogle, opened_urls: list[str]
) -> None:
    fake_google.consent_email = "remote@example.com"
    click(page.sign_in_button)
    dialog = page.sign_in_dialog
    assert dialog is not None
    await wait_until(lambda: bool(opened_urls))
    async with aiohttp.ClientSession() as http, http.get(opened_urls[0], allow_redirects=False) as response:
        final_address = response.headers["Location"]
    click(dialog.paste_toggle)
    assert dialog.paste_edit.isVisible()
    QTest.keyClicks(dialog.paste_edit, "http://localhost:1/oauth-callback?state=other&code=x")
    click(dialog.paste_button)
    assert dialog.paste_error.isVisible() and "different sign-in" in dialog.paste_error.text()
    dialog.paste_edit.clear()
    QTest.keyClicks(dialog.paste_edit, final_address)
    click(dialog.paste_button)
    await wait_until(lambda: page.model.rowCount() == 2)
    row_named(page.model, "remote@example.com")


async def test_sign_in_again_updates_the_account_in_place(
    page: AccountsPage, fake_google: FakeGoogle, opened_urls: list[str]
) -> None:
    fake_google.revoke(fake_google.accounts[ALICE].refresh_token)
    account = page.controller.services.accounts.find(ALICE)
    assert account is not None
    await page.controller.services.accounts.set_status(account.id, AccountStatus.NEEDS_SIGNIN, "revoked")
    page.table.selectRow(0)
    fake_google.consent_email = ALICE
    click(page.resign_button)
    await wait_until(lambda: bool(opened_urls))
    assert URL(opened_urls[0]).query["login_hint"] == ALICE
    await browse(opened_urls[0])
    await wait_until(lambda: cell(page.model, 0, STATUS) == "OK")
    assert page.model.rowCount() == 1 and cell(page.model, 0, NAME) == ALICE


def choose_import_file(page: AccountsPage, path: Path) -> None:
    """Click Import and pick `path` in the page's own file dialog, as a user would."""
    click_to_open_a_dialog(page.import_button)
    dialog = page.import_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.fileMode() is QFileDialog.FileMode.ExistingFile
    assert dialog.nameFilters() == ["JSON files (*.json)", "All files (*)"]
    dialog.selectFile(str(path))
    dialog.accept()
    assert not dialog.isVisible()
    assert page.import_dialog is None


async def test_import_a_json_file(page: AccountsPage, fake_google: FakeGoogle, tmp_path: Path) -> None:
    erin = fake_google.add_google_account("erin@example.com", project_id="proj-erin")
    path = tmp_path / "accounts.json"
    path.write_text(
        json.dumps([{"email": "erin@example.com", "refresh_token": erin.refresh_token}, {"email": "x"}])
    )
    choose_import_file(page, path)
    await wait_until(lambda: page.model.rowCount() == 2)
    await wait_until(lambda: "could not be imported" in page.message.text())
    assert "Added 1: erin@example.com" in page.message.text()
    assert "x: no refresh_token" in page.message.text()


async def test_import_an_unusable_file(page: AccountsPage, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    choose_import_file(page, path)
    await wait_until(lambda: "Nothing was imported" in page.message.text())
    assert "not valid JSON" in page.message.text()


async def test_cancel_the_import(page: AccountsPage) -> None:
    messages = SignalRecorder(page.message_shown)
    click_to_open_a_dialog(page.import_button)
    dialog = page.import_dialog
    assert dialog is not None
    dialog.reject()
    await asyncio.sleep(0.05)
    assert page.import_dialog is None
    assert messages.emissions == [] and page.import_button.isEnabled()
    assert page.model.rowCount() == 1


# -- changing and removing --------------------------------------------------------------------------------------


async def test_enable_and_disable(page: AccountsPage) -> None:
    assert not page.enable_button.isEnabled()  # nothing selected
    page.table.selectRow(0)
    assert page.enable_button.text() == "Disable"
    click(page.enable_button)
    await wait_until(lambda: cell(page.model, 0, STATUS) == "Disabled")
    account = page.controller.services.accounts.find(ALICE)
    assert account is not None and not account.enabled
    await wait_until(lambda: page.enable_button.isEnabled() and page.enable_button.text() == "Enable")
    click(page.enable_button)
    await wait_until(lambda: cell(page.model, 0, STATUS) == "OK")
    assert account.enabled


async def test_label_an_account_and_clear_it(page: AccountsPage) -> None:
    assert not page.label_button.isEnabled()  # nothing selected
    page.table.selectRow(0)
    click_to_open_a_dialog(page.label_button)
    dialog = page.label_dialog
    assert dialog is not None and dialog.isVisible() and ALICE in dialog.labelText()
    dialog.setTextValue("  work   laptop ")
    dialog.accept()
    await wait_until(lambda: cell(page.model, 0, NAME) == f"{ALICE} · work laptop")
    assert page.label_dialog is None
    # The filter finds the account by its label, and the label outlives a reload from the database.
    page.filter_edit.setText("LAPTOP")
    assert page.proxy.rowCount() == 1
    page.filter_edit.setText("no such label")
    assert page.proxy.rowCount() == 0
    page.filter_edit.clear()
    stored = await asyncio.to_thread(page.controller.services.db.list_accounts)
    assert [account.label for account in stored if account.email == ALICE] == ["work laptop"]

    page.table.selectRow(0)
    click_to_open_a_dialog(page.label_button)
    dialog = page.label_dialog
    assert dialog is not None and dialog.textValue() == "work laptop"
    dialog.setTextValue("")
    dialog.accept()
    await wait_until(lambda: cell(page.model, 0, NAME) == ALICE)


def confirm_box(page: AccountsPage) -> QMessageBox:
    """Click Remove… and return the confirmation box it opened (open, not answered yet)."""
    click_to_open_a_dialog(page.remove_button)
    box = page.remove_box
    assert box is not None and box.isVisible()
    return box


async def test_remove_with_confirmation(page: AccountsPage) -> None:
    page.table.selectRow(0)
    box = confirm_box(page)
    assert ALICE in box.text()
    cancel = box.button(QMessageBox.StandardButton.Cancel)
    assert box.defaultButton() is cancel
    cancel.click()
    assert page.remove_box is None and not box.isVisible()
    await asyncio.sleep(0.05)
    assert page.model.rowCount() == 1 and page.controller.services.accounts.find(ALICE) is not None

    box = confirm_box(page)
    remove = box.button(QMessageBox.StandardButton.Yes)
    assert remove.text() == "Remove"
    remove.click()
    assert page.remove_box is None
    await wait_until(lambda: page.model.rowCount() == 0)
    assert page.controller.services.accounts.accounts() == []
    await wait_until(lambda: "Removed alice@example.com." in page.message.text())
    # The empty state invites the first account.
    assert page.stack.currentWidget() is page.empty_panel
    assert page.empty_sign_in_button.isVisible()


# -- requests today -------------------------------------------------------------------------------------------


async def test_requests_today_counts_loaded_and_live_rows(controller: AppController, qtbot: QtBot) -> None:
    db = controller.services.db
    alice = controller.services.accounts.find(ALICE)
    assert alice is not None
    now = datetime.now(UTC)
    midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)

    def row(status: int, started_at: datetime, account_id: str = alice.id, name: str = ALICE) -> LogEntry:
        return LogEntry(
            "openai",
            "/v1/chat/completions",
            account=name,
            account_id=account_id,
            status=status,
            started_at=started_at,
        )

    rows = [
        row(200, midnight - timedelta(minutes=5)),  # yesterday
        row(200, now - timedelta(seconds=5)),
        row(429, now - timedelta(seconds=1)),
        row(200, now, account_id="someone-else", name="someone-else"),
        # The same e-mail under the id of an account removed before this one was added: not this one's.
        row(200, now - timedelta(seconds=2), account_id="removed-alice"),
    ]
    await asyncio.to_thread(db.insert_log_entries, rows)
    page = AccountsPage(controller)
    qtbot.addWidget(page)
    await wait_until(lambda: page.model.requests_today.loaded)
    assert cell(page.model, 0, REQUESTS_TODAY) == 2
    assert await chat(controller, "gemini-3-flash") == 200
    await wait_until(lambda: cell(page.model, 0, REQUESTS_TODAY) == 3)
    assert cell(page.model, 0, REQUESTS_TODAY) == 3  # counted once, not again by the loader


# -- sort and filter --------------------------------------------------------------------------------------


async def test_sort_by_quota_and_filter_by_text(
    page: AccountsPage, controller: AppController, fake_google: FakeGoogle
) -> None:
    from core.types import ModelQuota
    from gui.models.accounts_model import NAME as NAME_COLUMN

    key = await controller.services.accounts.add_api_key(fake_google.add_api_key(), "work key")
    alice = controller.services.accounts.find(ALICE)
    assert alice is not None
    await controller.services.accounts.set_model_quota(
        alice.id, ModelQuota("gemini-3.1-pro-high", remaining_fraction=0.05)
    )
    await wait_until(lambda: page.proxy.rowCount() == 2)

    def shown_names() -> list[str]:
        return [str(page.proxy.index(r, NAME_COLUMN).data()) for r in range(page.proxy.rowCount())]

    page.table.sortByColumn(QUOTA, Qt.SortOrder.AscendingOrder)
    assert shown_names()[0] == ALICE  # least quota first; the key says nothing, so it sorts last
    page.table.sortByColumn(QUOTA, Qt.SortOrder.DescendingOrder)
    assert shown_names()[-1] == ALICE
    page.filter_edit.setText("WORK")
    assert shown_names() == ["work key"]
    page.table.selectRow(0)
    selected = page.selected_account()
    assert selected is not None and selected.id == key.id  # proxy rows map back to the right account
    page.filter_edit.clear()
    assert page.proxy.rowCount() == 2
