"""The Dashboard: address, key and snippets that really work against the running server, the activity
charts fed from the log, and the quota overview — in the real qasync loop."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

# The snippets import these SDKs: import them here, in the main thread, not for the first time in the
# worker thread that runs a snippet while Qt and the server run (seen to crash the interpreter).
import google.genai
import google.genai.types  # noqa: F401
import openai  # noqa: F401
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QTableWidget
from pytestqt.qtbot import QtBot

from core.models import model_group
from core.store import HistogramBucket
from core.types import Account, AccountKind, AccountStatus, ModelQuota
from gui.controller import AppController
from gui.pages.dashboard import (
    LAST_DAY,
    LAST_HOUR,
    DashboardPage,
    chart_window,
    describe_reset,
    fill_buckets,
    quota_overview,
    snippets,
)
from gui.widgets.chart import ChartSeries, TimeChart, compact_number, nice_ticks
from tests.fake_google import FakeGoogle
from tests.gui.conftest import API_KEY
from tests.gui.helpers import click, wait_until

NOW = datetime(2026, 3, 1, 12, 34, 56, tzinfo=UTC)


def cell(table: QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    assert item is not None, (row, column)
    return item.text()


def clipboard() -> str:
    return QGuiApplication.clipboard().text()


@pytest.fixture
async def page(controller: AppController, qtbot: QtBot) -> DashboardPage:
    widget = DashboardPage(controller, throttle_ms=50)
    qtbot.addWidget(widget)
    widget.resize(900, 900)
    return widget


def run_python(source: str) -> str:
    """Run a snippet as people would paste it (blocking SDK calls: this runs in a worker thread). Its
    print() is collected: swapping sys.stdout under a running Qt app is a global side effect."""
    printed: list[str] = []

    def collect(*args: object) -> None:
        printed.append(" ".join(str(arg) for arg in args))

    exec(compile(source, "<snippet>", "exec"), {"__name__": "__snippet__", "print": collect})
    return "\n".join(printed)


# --- address, key, snippets ----------------------------------------------------------------------------


async def test_copy_buttons_put_the_real_address_and_key_on_the_clipboard(
    page: DashboardPage, controller: AppController
) -> None:
    QGuiApplication.clipboard().clear()
    click(page.copy_url_button)
    assert clipboard() == controller.state.url
    assert "Serving at" in page.server_status.text()

    assert API_KEY not in page.key_field.text()  # masked until Show
    assert all(API_KEY not in view.toPlainText() for view in page.snippet_views.values())
    click(page.copy_key_button)
    assert clipboard() == API_KEY
    click(page.show_key_button)
    assert page.key_field.text() == API_KEY and page.show_key_button.text() == "Hide"
    assert API_KEY in page.snippet_views["curl"].toPlainText()
    click(page.show_key_button)
    assert API_KEY not in page.key_field.text()

    click(page.snippet_copy_buttons["Claude Code"])
    exported = dict(
        line.removeprefix("export ").split("=", 1)
        for line in clipboard().splitlines()
        if line.startswith("export ")
    )
    assert exported == {"ANTHROPIC_BASE_URL": controller.state.url, "ANTHROPIC_AUTH_TOKEN": API_KEY}

    click(page.snippet_copy_buttons["OpenAI (environment)"])
    assert f"export OPENAI_BASE_URL={controller.state.url}/v1" in clipboard().splitlines()


async def test_python_snippets_work_against_the_running_server(
    page: DashboardPage, controller: AppController
) -> None:
    for title in ("OpenAI (Python)", "Gemini (Python)"):
        QGuiApplication.clipboard().clear()
        click(page.snippet_copy_buttons[title])
        printed = await asyncio.to_thread(run_python, clipboard())
        assert printed.strip(), title
    await wait_until(lambda: controller.services.db.count_log() == 2)
    rows = controller.services.db.query_log()
    assert {row.protocol for row in rows} == {"openai", "gemini"}
    assert all(row.status == 200 for row in rows)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
async def test_curl_snippet_works(page: DashboardPage) -> None:
    click(page.snippet_copy_buttons["curl"])
    command = clipboard()
    environment = {"PATH": "/usr/bin:/bin", "NO_PROXY": "*"}
    done = await asyncio.to_thread(
        subprocess.run, ["sh", "-c", command], capture_output=True, text=True, timeout=10, env=environment
    )
    answer = json.loads(done.stdout)
    assert answer["choices"][0]["message"]["content"]


async def test_windows_powershell_snippet_sends_a_request_the_server_answers(
    controller: AppController,
) -> None:
    # No PowerShell here: read the snippet by PowerShell's quoting rules (a double-quoted string ends at the
    # next double quote, backslashes escape nothing; a single-quoted one is literal, '' being one quote), then
    # send what Invoke-RestMethod would send.
    snippet = snippets(controller.state.url, API_KEY, windows=True)["PowerShell"]
    assert "Invoke-RestMethod -Method Post" in snippet
    uri = re.search(r'-Uri "([^"]*)"', snippet)
    token = re.search(r'Authorization = "Bearer ([^"]*)"', snippet)
    body = re.search(r"-Body '((?:[^']|'')*)'", snippet)
    assert uri and token and body and '-ContentType "application/json"' in snippet
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            uri.group(1),
            data=body.group(1).replace("''", "'").encode(),
            headers={"Authorization": f"Bearer {token.group(1)}", "Content-Type": "application/json"},
        ) as response,
    ):
        assert response.status == 200
        assert (await response.json())["choices"][0]["message"]["content"]  # what the last line prints


async def test_with_several_keys_the_chosen_one_is_given_out(
    page: DashboardPage, controller: AppController
) -> None:
    assert page.key_choice.isHidden()  # one key: nothing to choose
    second = controller.services.api_keys.add("claude code")
    controller.settings_changed.emit()
    assert not page.key_choice.isHidden()
    names = [page.key_choice.itemText(index) for index in range(page.key_choice.count())]
    assert names == ["default", "claude code"]
    assert page.api_key == API_KEY  # the first until another is chosen

    page.key_choice.setCurrentIndex(1)
    click(page.copy_key_button)
    assert clipboard() == second.value
    assert page.key_field.text() == second.masked
    assert second.value in page.snippet("curl") and API_KEY not in page.snippet("curl")
    assert page.client_connection().api_key == second.value  # what one-click setup writes

    controller.services.api_keys.rename(second.id, "editor")  # a refill keeps the choice
    controller.settings_changed.emit()
    assert page.key_choice.currentText() == "editor" and page.api_key == second.value
    controller.services.api_keys.revoke(second.id)
    controller.settings_changed.emit()
    assert page.key_choice.isHidden() and page.api_key == API_KEY


async def test_without_a_key_the_page_says_so(page: DashboardPage, controller: AppController) -> None:
    controller.settings.server.api_keys = []
    controller.settings_changed.emit()
    assert "No API key is set" in page.key_hint.text()
    assert not page.copy_key_button.isEnabled()
    assert 'api_key="no-key-needed"' in page.snippet("OpenAI (Python)")


# --- activity ------------------------------------------------------------------------------------------


async def test_charts_get_data_after_requests(page: DashboardPage, controller: AppController) -> None:
    await wait_until(lambda: bool(page.requests_chart.starts))
    assert len(page.requests_chart.starts) == 24
    assert page.requests_chart.total("Succeeded") == 0

    body = {"model": "gemini-3-flash", "messages": [{"role": "user", "content": "hi"}]}
    async with aiohttp.ClientSession() as http:
        url = controller.state.url + "/v1/chat/completions"
        for key in (API_KEY, API_KEY, "sk-wrong"):
            async with http.post(url, json=body, headers={"Authorization": f"Bearer {key}"}) as response:
                await response.read()
    await wait_until(
        lambda: page.requests_chart.total("Succeeded") == 2 and page.requests_chart.total("Failed") == 1
    )
    tokens = sum(row.tokens_in for row in controller.services.db.query_log())
    assert tokens > 0 and page.tokens_chart.total("In") == tokens
    assert "3 requests, 1 failed" in page.activity_summary.text()

    page.hour_button.click()
    await wait_until(lambda: len(page.requests_chart.starts) == 60)
    assert page.requests_chart.total("Succeeded") == 2
    assert page.requests_chart.bucket == timedelta(minutes=1)
    assert page.requests_chart.series[0].values[-1] == 2  # the current minute
    page.requests_chart.resize(600, 200)
    assert not page.requests_chart.grab().isNull()


def test_chart_window_and_gap_filling() -> None:
    day = chart_window(LAST_DAY, NOW)
    assert len(day) == 24
    assert day[-1] == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert day[0] == datetime(2026, 2, 28, 13, tzinfo=UTC)
    hour = chart_window(LAST_HOUR, NOW)
    assert (len(hour), hour[-1], hour[0]) == (
        60,
        datetime(2026, 3, 1, 12, 34, tzinfo=UTC),
        datetime(2026, 3, 1, 11, 35, tzinfo=UTC),
    )
    filled = fill_buckets([HistogramBucket(day[3], 5, 1, 10, 20)], day)
    assert [b.requests for b in filled] == [0, 0, 0, 5] + [0] * 20
    assert filled[0].start == day[0]


async def test_chart_draws_and_explains_a_bucket(qtbot: QtBot) -> None:
    chart = TimeChart("Requests")
    qtbot.addWidget(chart)
    chart.resize(500, 220)
    starts = chart_window(LAST_DAY, NOW)
    values = [float(i % 5) for i in range(24)]
    chart.set_data(starts, [ChartSeries("Succeeded", values, Qt.GlobalColor.green)], LAST_DAY.bucket)  # type: ignore[arg-type]
    image = chart.grab().toImage()
    assert image.width() > 0
    plot_index = chart.bucket_at(chart.width() - 20)
    assert plot_index == 23
    assert chart.bucket_at(0) is None
    assert "Succeeded: 3" in chart.tooltip_text(23)
    with pytest.raises(ValueError, match="one value per bucket"):
        chart.set_data(starts, [ChartSeries("x", [1.0], Qt.GlobalColor.red)], LAST_DAY.bucket)  # type: ignore[arg-type]


def test_axis_numbers() -> None:
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(7) == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert nice_ticks(1) == [0.0, 1.0]
    assert nice_ticks(12_345)[-1] >= 12_345
    assert [compact_number(v) for v in (0, 999, 1000, 1250, 2_000_000, 3.5)] == [
        "0",
        "999",
        "1k",
        "1.2k",
        "2M",
        "3.5",
    ]


# --- quota ---------------------------------------------------------------------------------------------


def account(name: str, quotas: dict[str, tuple[float | None, timedelta | None]], **fields: Any) -> Account:
    return Account(
        id=name,
        kind=AccountKind.GOOGLE,
        email=f"{name}@example.com",
        quotas={
            model: ModelQuota(model, remaining_fraction=fraction, reset_at=NOW + reset if reset else None)
            for model, (fraction, reset) in quotas.items()
        },
        **fields,
    )


def test_quota_overview_per_model_group() -> None:
    accounts = [
        account(
            "a",
            {
                "gemini-3.1-pro-high": (0.0, timedelta(hours=3)),
                "claude-sonnet-4-5": (0.8, timedelta(hours=5)),
            },
        ),
        account("b", {"gemini-3.1-pro-high": (0.3, timedelta(hours=1)), "gemini-3-pro-preview": (0.6, None)}),
        account("c", {"gemini-3-flash": (None, None)}),  # an API key: says nothing about quota
        account("off", {"gemini-3.1-pro-high": (1.0, None)}, enabled=False),
        account("gone", {"gemini-3.1-pro-high": (1.0, None)}, status=AccountStatus.NEEDS_SIGNIN),
        # Its reset passed: the pool serves from it again, so the overview counts it as back (core's rule).
        account("old", {"claude-opus-4": (0.0, -timedelta(minutes=5))}),
    ]
    overview = {s.group: s for s in quota_overview(accounts, NOW)}
    assert set(overview) == {"Gemini Pro", "Claude", "Gemini Flash"}
    pro = overview["Gemini Pro"]
    assert (pro.accounts, pro.accounts_with_quota, pro.best_remaining) == (2, 1, 0.6)
    assert pro.earliest_reset == NOW + timedelta(hours=1)
    claude = overview["Claude"]
    assert (claude.accounts, claude.accounts_with_quota, claude.best_remaining) == (2, 2, 1.0)
    assert claude.earliest_reset == NOW + timedelta(hours=5)
    flash = overview["Gemini Flash"]
    assert (flash.accounts, flash.accounts_with_quota, flash.best_remaining, flash.earliest_reset) == (
        1,
        1,
        None,
        None,
    )
    assert [model_group(m) for m in ("gemini-3-flash-lite", "gemini-3-flash-image", "text-embedding")] == [
        "Gemini Flash",
        "Images",
        "Other",
    ]
    assert describe_reset(NOW + timedelta(hours=2, minutes=5), NOW).startswith("in 2 h 5 min")
    assert describe_reset(None, NOW) == "—"


async def test_quota_table_follows_the_accounts(
    page: DashboardPage, controller: AppController, fake_google: FakeGoogle
) -> None:
    def table() -> dict[str, list[str]]:
        widget = page.quota_table
        return {
            cell(widget, r, 0): [cell(widget, r, c) for c in range(1, 4)] for r in range(widget.rowCount())
        }

    assert set(table()) == {"Claude", "Gemini Flash", "Gemini Pro"}
    assert table()["Gemini Pro"][:2] == ["1 of 1", "100%"]
    fake_google.set_remaining("alice@example.com", "gemini-3.1-pro-high", 0.0, reset_in_s=7200)
    fake_google.set_remaining("alice@example.com", "gemini-3-pro-preview", 0.0, reset_in_s=3600)
    await controller.refresh_quotas()
    await wait_until(lambda: table()["Gemini Pro"][0] == "0 of 1")
    assert table()["Gemini Pro"][1] == "0%"
    assert table()["Gemini Pro"][2].startswith("in 1 h") or table()["Gemini Pro"][2].startswith("in 59 min")
    assert table()["Gemini Flash"][0] == "1 of 1"

    (alice,) = controller.services.accounts.accounts()
    await controller.services.accounts.set_enabled(alice.id, False)
    await wait_until(lambda: page.quota_table.rowCount() == 0)
    assert "No account can be used" in page.quota_hint.text()
