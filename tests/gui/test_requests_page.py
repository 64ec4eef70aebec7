"""The Requests page and its model: paging over 100k rows, live rows from real requests, filters, details,
clear and export — in the real qasync loop."""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from core.log_reader import RequestLogReader
from core.store import Database, LogFilter
from core.types import LogEntry
from gui.controller import AppController
from gui.models.request_log_model import (
    COL_ERROR,
    COL_MODEL,
    COL_STATUS,
    ENTRY_ROLE,
    PAGE_SIZE,
    RequestLogModel,
)
from gui.pages.requests import BODIES_OFF, RequestsPage
from tests.gui.conftest import API_KEY
from tests.gui.helpers import SignalRecorder, click, next_emission, wait_until

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def make_entries(count: int, start: datetime = T0, step_s: float = 1.0) -> list[LogEntry]:
    """Oldest first; every 7th fails with 429 on account b, every 3rd is Claude, the rest OpenAI."""
    entries = []
    for i in range(count):
        failed = i % 7 == 0
        entries.append(
            LogEntry(
                protocol="anthropic" if i % 3 == 0 else "openai",
                path="/v1/messages" if i % 3 == 0 else "/v1/chat/completions",
                client_model="claude-sonnet-4-5" if i % 3 == 0 else "gpt-4o",
                upstream_model="claude-sonnet-4-5" if i % 3 == 0 else "gemini-3.1-pro-high",
                account="b@example.com" if failed else "a@example.com",
                status=429 if failed else 200,
                latency_ms=100.0 + i % 50,
                ttfb_ms=20.0,
                tokens_in=i % 100,
                tokens_out=i % 10,
                error=f"quota exhausted #{i}" if failed else "",
                started_at=start + timedelta(seconds=i * step_s),
            )
        )
    return entries


def ids(model: RequestLogModel) -> list[int | None]:
    return [model.entry(row).id for row in range(model.rowCount())]


def expected_ids(db: Database, log_filter: LogFilter | None, count: int) -> list[int | None]:
    return [entry.id for entry in db.query_log(log_filter, limit=count)]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "log.sqlite3")
    yield database
    database.close()


async def loaded(model: RequestLogModel) -> None:
    await wait_until(lambda: not model.busy)


async def chat(controller: AppController, model: str = "gemini-3-flash", text: str = "hi") -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            controller.state.url + "/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as response,
    ):
        assert response.status == 200
        result: dict[str, Any] = await response.json()
        return result


# --- the model on its own -------------------------------------------------------------------------------


@pytest.mark.qt_log_level_fail("WARNING")
async def test_model_passes_the_model_tester_through_pages_live_rows_and_filters(
    db: Database, qtmodeltester: Any
) -> None:
    db.insert_log_entries(make_entries(PAGE_SIZE * 2 + 50))
    model = RequestLogModel(RequestLogReader(db))
    model.reload()
    await loaded(model)
    assert ids(model) == expected_ids(db, None, PAGE_SIZE)
    # The Python tester asserts (the C++ one only warns); it stays connected for what follows and checks
    # the model after every change. It calls fetchMore once; the rest is paged in here.
    qtmodeltester.check(model, force_py=True)
    await loaded(model)
    assert model.rowCount() == 2 * PAGE_SIZE and model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())  # a second call while the page is read is ignored
    await loaded(model)
    assert not model.canFetchMore(QModelIndex())
    assert ids(model) == expected_ids(db, None, PAGE_SIZE * 2 + 50)

    newest = make_entries(3, start=T0 + timedelta(days=1))
    middle = make_entries(1, start=T0 + timedelta(seconds=100.5))  # ran long: finished after newer ones
    db.insert_log_entries(newest + middle)
    model.add_live_entries(newest + middle)
    model.add_live_entries(newest)  # delivered twice: no duplicates
    assert ids(model) == expected_ids(db, None, 1000)

    assert model.set_filter(LogFilter(status="error"))
    assert not model.set_filter(LogFilter(status="error"))  # the same filter: no reload
    await loaded(model)
    assert ids(model) == expected_ids(db, LogFilter(status="error"), 1000)
    assert all(model.entry(row).status == 429 for row in range(model.rowCount()))

    ok_row = make_entries(1, start=T0 + timedelta(days=2))[0]
    ok_row.status, ok_row.error = 200, ""
    failed_row = make_entries(1, start=T0 + timedelta(days=2, seconds=1))[0]
    db.insert_log_entries([ok_row, failed_row])
    model.add_live_entries([ok_row, failed_row])
    assert model.entry(0).id == failed_row.id and ok_row.id not in ids(model)


async def test_cells_show_what_people_read(db: Database) -> None:
    (entry,) = make_entries(1)
    db.insert_log_entries([entry])
    model = RequestLogModel(RequestLogReader(db))
    model.reload()
    await loaded(model)

    def cell(column: int, role: Qt.ItemDataRole = Qt.ItemDataRole.DisplayRole) -> Any:
        return model.data(model.index(0, column), role)

    assert cell(COL_MODEL) == "claude-sonnet-4-5"  # asked for = served: named once
    assert cell(COL_STATUS) == "429"
    assert cell(COL_ERROR) == "quota exhausted #0"
    assert cell(COL_STATUS, Qt.ItemDataRole.ForegroundRole) is not None
    assert model.data(model.index(0, 0), ENTRY_ROLE).id == entry.id
    assert model.data(model.index(1, 0)) is None


# --- the page over 100,000 rows ------------------------------------------------------------------------


async def test_100k_rows_page_lazily_filter_quickly_and_scroll(
    controller: AppController, qtbot: QtBot
) -> None:
    db = controller.services.db
    db.insert_log_entries(make_entries(100_000))
    page = RequestsPage(controller)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    await loaded(page.model)
    assert page.model.rowCount() == PAGE_SIZE
    assert ids(page.model)[:3] == expected_ids(db, None, 3)

    page.table.scrollToBottom()  # the view asks for the next page
    await wait_until(lambda: page.model.rowCount() >= 2 * PAGE_SIZE and not page.model.busy)
    assert ids(page.model) == expected_ids(db, None, page.model.rowCount())

    began = time.perf_counter()
    page.status_combo.setCurrentIndex(page.status_combo.findData("error"))
    await next_emission(page.model.filter_applied)
    assert time.perf_counter() - began < 1.0
    assert page.model.rowCount() == PAGE_SIZE
    assert ids(page.model) == expected_ids(db, LogFilter(status="error"), PAGE_SIZE)

    page.model_combo.setCurrentIndex(
        page.model_combo.findData("gemini-3.1-pro-high")
    )  # filled from rows seen
    await next_emission(page.model.filter_applied)
    wanted = LogFilter(status="error", model="gemini-3.1-pro-high")
    assert ids(page.model) == expected_ids(db, wanted, PAGE_SIZE)

    began = time.perf_counter()
    QTest.keyClicks(page.search, "#99995")  # typed: one reload after the debounce
    await next_emission(page.model.filter_applied)
    assert time.perf_counter() - began < 1.0
    assert [page.model.entry(r).error for r in range(page.model.rowCount())] == ["quota exhausted #99995"]
    assert page.model.log_filter == LogFilter(status="error", model="gemini-3.1-pro-high", text="#99995")

    page.search.clear()
    page.status_combo.setCurrentIndex(0)
    page.model_combo.setCurrentIndex(0)
    await wait_until(lambda: page.model.log_filter == LogFilter() and not page.model.busy)
    page.table.scrollToBottom()
    await wait_until(lambda: page.model.rowCount() >= 2 * PAGE_SIZE and not page.model.busy)


# --- live rows, filters, details -----------------------------------------------------------------------


async def test_live_rows_from_real_requests_appear_on_top(controller: AppController, qtbot: QtBot) -> None:
    page = RequestsPage(controller)
    qtbot.addWidget(page)
    await loaded(page.model)
    assert page.model.rowCount() == 0
    assert "No requests yet" in page.status_label.text()

    await chat(controller, "gemini-3-flash")
    await wait_until(lambda: page.model.rowCount() == 1)
    await chat(controller, "gpt-4o")
    await wait_until(lambda: page.model.rowCount() == 2)
    first, second = page.model.entry(1), page.model.entry(0)
    assert (first.client_model, second.client_model) == ("gemini-3-flash", "gpt-4o")
    # gpt-4o is served by the best Gemini Pro the fake account offers.
    assert second.upstream_model == "gemini-3.1-pro-high" and second.account == "alice@example.com"
    assert page.model.data(page.model.index(0, COL_MODEL)) == "gpt-4o → gemini-3.1-pro-high"
    assert page.status_label.text() == ""

    # Only rows matching the filter come in live.
    page.protocol_combo.setCurrentIndex(page.protocol_combo.findData("anthropic"))
    await next_emission(page.model.filter_applied)
    assert page.model.rowCount() == 0
    assert page.status_label.text() == "No requests match these filters."
    await chat(controller, "gemini-3-flash")
    await wait_until(lambda: controller.services.db.count_log() == 3)
    await wait_until(lambda: not page.model.busy)
    assert page.model.rowCount() == 0
    page.protocol_combo.setCurrentIndex(page.protocol_combo.findData("openai"))
    await next_emission(page.model.filter_applied)
    assert page.model.rowCount() == 3
    account_choices = [page.account_combo.itemText(i) for i in range(page.account_combo.count())]
    assert account_choices == ["All accounts", "alice@example.com"]


@pytest.mark.parametrize("at_the_end", [False, True])
@pytest.mark.parametrize(
    "mode", [QAbstractItemView.ScrollMode.ScrollPerItem, QAbstractItemView.ScrollMode.ScrollPerPixel]
)
async def test_rows_arriving_on_top_keep_what_someone_scrolled_to(
    controller: AppController, qtbot: QtBot, mode: QAbstractItemView.ScrollMode, at_the_end: bool
) -> None:
    # Per pixel is what macOS's style picks; per item is the default elsewhere.
    db = controller.services.db
    db.insert_log_entries(make_entries(150))
    page = RequestsPage(controller)
    qtbot.addWidget(page)
    page.table.setVerticalScrollMode(mode)
    page.resize(1000, 600)
    page.show()
    await loaded(page.model)
    if at_the_end:  # all 150 rows are loaded: the scroll bar is at its maximum
        page.table.scrollToBottom()
    else:
        page.table.scrollTo(page.model.index(60, 0), QAbstractItemView.ScrollHint.PositionAtTop)
    await wait_until(lambda: page.table.rowAt(0) > 0)
    reading = page.model.entry(page.table.rowAt(0)).id

    newer = make_entries(5, start=T0 + timedelta(days=1))
    db.insert_log_entries(newer)  # gives them ids
    page.model.add_live_entries(newer)
    await wait_until(lambda: page.model.rowCount() == 155)
    for _ in range(3):  # let the view lay itself out again
        await asyncio.sleep(0.02)
    assert page.model.entry(page.table.rowAt(0)).id == reading

    # At the very top the view follows the newest rows instead.
    page.table.scrollToTop()
    await wait_until(lambda: page.table.verticalScrollBar().value() == 0)
    newest = make_entries(2, start=T0 + timedelta(days=2))
    db.insert_log_entries(newest)
    page.model.add_live_entries(newest)
    await wait_until(lambda: page.model.rowCount() == 157)
    await asyncio.sleep(0.05)
    assert page.table.rowAt(0) == 0
    assert page.model.entry(0).id == newest[-1].id


async def test_detail_pane_shows_timings_tokens_error_and_bodies(
    controller: AppController, qtbot: QtBot
) -> None:
    page = RequestsPage(controller)
    qtbot.addWidget(page)
    await loaded(page.model)
    await chat(controller, "gemini-3-flash", "without bodies")
    await wait_until(lambda: page.model.rowCount() == 1)
    page.table.selectRow(0)
    text = page.detail.toPlainText()
    entry = page.model.entry(0)
    assert "/v1/chat/completions" in text and "alice@example.com" in text
    assert f"{entry.tokens_in:,} in, {entry.tokens_out:,} out" in text and entry.tokens_in > 0
    assert BODIES_OFF in text

    controller.settings.log.capture_bodies = True
    answer = await chat(controller, "gemini-3-flash", "please keep this body")
    await wait_until(lambda: page.model.rowCount() == 2)
    page.table.selectRow(0)
    reply_text = answer["choices"][0]["message"]["content"]
    await wait_until(lambda: "please keep this body" in page.detail.toPlainText())
    assert reply_text in page.detail.toPlainText()
    assert API_KEY not in page.detail.toPlainText()

    failed = LogEntry(
        protocol="openai", path="/v1/chat/completions", status=503, error="No account can serve"
    )
    controller.services.db.insert_log_entries([failed])
    page.model.add_live_entries([failed])
    page.table.selectRow(0)
    assert "Error\nNo account can serve" in page.detail.toPlainText()


# --- clear and export ----------------------------------------------------------------------------------


async def test_clear_asks_first(controller: AppController, qtbot: QtBot) -> None:
    db = controller.services.db
    db.insert_log_entries(make_entries(30))
    page = RequestsPage(controller)
    qtbot.addWidget(page)
    await loaded(page.model)

    click(page.clear_button)
    box = page.clear_confirmation
    assert box is not None and box.isVisible()
    click(box.button(QMessageBox.StandardButton.Cancel))
    await wait_until(lambda: page.clear_confirmation is None)
    assert db.count_log() == 30 and page.model.rowCount() == 30

    click(page.clear_button)
    box = page.clear_confirmation
    assert box is not None
    said = SignalRecorder(page.status_message)
    click(box.button(QMessageBox.StandardButton.Yes))
    await wait_until(lambda: page.model.rowCount() == 0 and not page.model.busy)
    assert db.count_log() == 0
    assert ("The request log was cleared.",) in said.emissions
    assert "No requests yet" in page.status_label.text()


async def test_export_csv_through_the_file_dialog(
    controller: AppController, qtbot: QtBot, tmp_path: Path
) -> None:
    db = controller.services.db
    db.insert_log_entries(make_entries(2500))
    page = RequestsPage(controller)
    qtbot.addWidget(page)
    page.status_combo.setCurrentIndex(page.status_combo.findData("error"))
    await wait_until(lambda: page.model.log_filter.status == "error" and not page.model.busy)

    click(page.export_button)
    dialog = page.export_dialog
    assert dialog is not None
    target = tmp_path / "errors.csv"
    dialog.selectFile(str(target))
    dialog.accept()
    assert page.export_task is not None
    await page.export_task
    with target.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    wanted = db.query_log(LogFilter(status="error"), limit=10_000)
    assert len(rows) == len(wanted) == 358  # every 7th of 2500
    assert [int(row["id"]) for row in rows] == [entry.id for entry in wanted]
    assert {row["status"] for row in rows} == {"429"}
    assert rows[0]["error"] == wanted[0].error
    assert "Exported 358 requests" in page.status_label.text()
    assert page.export_button.isEnabled()


async def test_export_json_lines_and_cancel(controller: AppController, qtbot: QtBot, tmp_path: Path) -> None:
    db = controller.services.db
    db.insert_log_entries(make_entries(1200))
    page = RequestsPage(controller)
    qtbot.addWidget(page)
    await loaded(page.model)

    target = tmp_path / "all.jsonl"
    await page.start_export(target)
    lines = target.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == [e.id for e in db.query_log(limit=2000)]
    assert records[0]["started_at"] == db.query_log(limit=1)[0].started_at.isoformat()

    cancelled = tmp_path / "cancelled.jsonl"
    task = page.start_export(cancelled)
    assert page.progress_dialog is not None
    cancel_button = page.progress_dialog.findChild(QPushButton)
    assert cancel_button is not None and cancel_button.text() == "Cancel"
    click(cancel_button)
    await task
    assert not cancelled.exists()
    assert "cancelled" in page.status_label.text()

    unwritable = tmp_path / "no-such-folder" / "x.csv"
    await page.start_export(unwritable)
    assert "Choose another folder" in page.status_label.text()
