"""The start-up path in the real qasync loop: single instance, config errors, error dialogs, a request."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from PySide6.QtCore import QAbstractItemModel
from PySide6.QtWidgets import QAbstractButton, QApplication, QMessageBox, QWidget

from core.config import CONFIG_FILE, save_settings
from core.store import Database
from gui import app as gui_app
from gui.app import AppOptions, RunningApp, main, parse_options
from gui.controller import ServerStatus
from gui.main_window import Page
from gui.single_instance import SingleInstance, instance_key
from gui.tasks import run_task
from tests.fake_google import FakeGoogle
from tests.gui.conftest import API_KEY
from tests.gui.helpers import SignalRecorder, next_emission, wait_until


@pytest.fixture(autouse=True)
def no_dialogs_left() -> Iterator[None]:
    """A dialog left open by a failed test must not be found (and clicked) by the next one."""
    yield
    gui_app.error_reporter().close()
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox):
            widget.close()


def _visible_message_box() -> QMessageBox | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox) and widget.isVisible():
            return widget
    return None


def _button(box: QMessageBox, text: str) -> QAbstractButton:
    (button,) = [b for b in box.buttons() if b.text() == text]
    return button


def _requests_model(page: QWidget) -> QAbstractItemModel | None:
    """The Requests page's table model, once the page has one (another engineer is building it)."""
    model = getattr(page, "model", None)
    if isinstance(model, QAbstractItemModel):
        return model
    return next(iter(page.findChildren(QAbstractItemModel)), None)


async def _start(home: Path) -> tuple[asyncio.Task[int], RunningApp]:
    started: asyncio.Future[RunningApp] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(main(AppOptions(home=home, use_keyring=False), ready=started.set_result))
    waiting: list[asyncio.Future[Any]] = [started, task]
    done, _ = await asyncio.wait(waiting, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    assert started in done, "the app did not start"
    return task, started.result()


def test_second_instance_asks_the_first_to_show(tmp_path: Path, qapp: QApplication) -> None:
    key = instance_key(tmp_path)
    assert key == instance_key(tmp_path / ".") and key != instance_key(tmp_path / "other")
    first = SingleInstance(key)
    second = SingleInstance(key)
    try:
        assert first.acquire()
        shows = SignalRecorder(first.show_requested)
        assert not second.acquire()
        # The request travels through the first instance's event loop.
        for _ in range(100):
            qapp.processEvents()
            if shows.emissions:
                break
        assert shows.emissions == [()]
    finally:
        first.close()
        second.close()
    third = SingleInstance(key)  # once the first is gone, a new launch is the first again
    assert third.acquire()
    third.close()


async def test_run_exits_at_once_when_already_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAVITY_DESK_HOME", str(tmp_path))
    running = SingleInstance(instance_key(tmp_path))
    assert running.acquire()
    try:
        shown = next_emission(running.show_requested)
        assert gui_app.run(["gravity-desk", "--minimized"]) == 0
        await shown
    finally:
        running.close()
    assert (tmp_path / gui_app.LOG_FILE).exists()


def test_options() -> None:
    assert parse_options(["--minimized"]).minimized
    assert not parse_options(["-platform", "offscreen"]).minimized


async def test_app_serves_a_request_and_its_row_reaches_the_requests_page(
    fake_google: FakeGoogle, tmp_path: Path
) -> None:
    settings = fake_google.settings(tmp_path)
    settings.server.api_keys = [API_KEY]
    save_settings(settings)
    task, running = await _start(tmp_path)
    try:
        assert running.controller.state.status is ServerStatus.SERVING
        assert running.window.isVisible()  # not started minimised
        assert not running.window.accounts_banner.isHidden()  # no account yet: the window says so
        alice = fake_google.add_google_account("alice@example.com", project_id="proj-alice")
        await running.services.accounts.add_google(alice.refresh_token)
        await wait_until(running.window.accounts_banner.isHidden)

        rows = SignalRecorder(running.controller.log_rows_added)
        model = _requests_model(running.window.page(Page.REQUESTS))
        before = model.rowCount() if model is not None else 0
        url = running.controller.state.url + "/v1/chat/completions"
        body = {"model": "gemini-3-flash", "messages": [{"role": "user", "content": "hello app"}]}
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, json=body, headers={"Authorization": f"Bearer {API_KEY}"}) as response,
        ):
            assert response.status == 200
            reply = await response.json()
        assert reply["choices"][0]["message"]["content"] == "Echo: hello app"
        await wait_until(lambda: bool(rows.emissions))
        ((logged,),) = rows.emissions
        assert [(row.status, row.account, row.client_model) for row in logged] == [
            (200, "alice@example.com", "gemini-3-flash")
        ]
        if model is not None:
            await wait_until(lambda: model.rowCount() == before + 1)
    finally:
        running.window.close()  # offscreen there is no tray: closing the window quits
    assert await asyncio.wait_for(task, 15) == 0
    # Shut down for real: the listener is gone and the log row was flushed to the database.
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(running.controller.state.url + "/healthz")
    database = Database(settings.database_path)
    try:
        assert database.count_log() == 1
    finally:
        database.close()


async def test_broken_config_shows_the_file_and_can_be_retried(
    fake_google: FakeGoogle, tmp_path: Path
) -> None:
    settings = fake_google.settings(tmp_path)
    save_settings(settings)
    good = (tmp_path / CONFIG_FILE).read_text()
    assert "port = 0\n" in good
    (tmp_path / CONFIG_FILE).write_text(good.replace("port = 0\n", "port = 'eighty'\n", 1))
    started: asyncio.Future[RunningApp] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(main(AppOptions(home=tmp_path, use_keyring=False), ready=started.set_result))
    await wait_until(lambda: _visible_message_box() is not None)
    box = _visible_message_box()
    assert box is not None
    assert "server.port" in box.informativeText() and str(tmp_path / CONFIG_FILE) in box.informativeText()
    assert {b.text() for b in box.buttons()} == {"Open folder", "Try again", "Quit"}

    (tmp_path / CONFIG_FILE).write_text(good)  # the user fixes the file
    _button(box, "Try again").click()
    running = await asyncio.wait_for(started, 15)
    assert running.controller.state.status is ServerStatus.SERVING
    running.quit()
    assert await asyncio.wait_for(task, 15) == 0


async def test_broken_config_quit_exits_without_starting(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text("[server\n")
    task = asyncio.create_task(main(AppOptions(home=tmp_path, use_keyring=False)))
    await wait_until(lambda: _visible_message_box() is not None)
    box = _visible_message_box()
    assert box is not None and "not valid TOML" in box.informativeText()
    _button(box, "Quit").click()
    assert await asyncio.wait_for(task, 5) == 2
    assert not (tmp_path / "gravity-desk.sqlite3").exists()


async def test_unhandled_exception_goes_to_a_dialog_and_the_log_file(tmp_path: Path) -> None:
    handler = gui_app.install_log_file(tmp_path)
    try:
        try:
            raise ValueError("something odd in a slot")
        except ValueError:
            gui_app.excepthook(*sys.exc_info())
        handler.flush()
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    box = _visible_message_box()
    assert box is not None
    assert "ValueError: something odd in a slot" in box.informativeText()
    assert "test_app.py" in box.detailedText()  # the traceback is in the details
    logged = (tmp_path / gui_app.LOG_FILE).read_text()
    assert "Unhandled exception" in logged and "something odd in a slot" in logged


async def test_a_failed_background_task_shows_one_dialog_for_a_burst() -> None:
    gui_app._report_task_errors()

    async def fails(number: int) -> None:
        raise RuntimeError(f"task {number} broke")

    for number in range(3):
        run_task(fails(number))
    await wait_until(lambda: gui_app.error_reporter().count == 3)
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
    assert len(boxes) == 1
    assert "task 0 broke" in boxes[0].informativeText()
    assert "task 2 broke" in boxes[0].detailedText()


async def test_unusable_data_folder_is_explained_not_a_traceback(
    fake_google: FakeGoogle, tmp_path: Path
) -> None:
    settings = fake_google.settings(tmp_path)
    save_settings(settings)
    settings.database_path.mkdir()  # a folder where the database file should be: SQLite cannot open it
    task = asyncio.create_task(main(AppOptions(home=tmp_path, use_keyring=False)))
    await wait_until(lambda: _visible_message_box() is not None)
    box = _visible_message_box()
    assert box is not None and box.windowTitle() == "Gravity Desk cannot start"
    assert str(tmp_path) in box.informativeText()
    box.button(QMessageBox.StandardButton.Close).click()
    assert await asyncio.wait_for(task, 5) == 1


async def test_a_window_that_cannot_be_built_leaves_no_service_open(
    fake_google: FakeGoogle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_settings(fake_google.settings(tmp_path))

    def broken_window(*_args: object) -> QWidget:
        raise RuntimeError("window bug")

    monkeypatch.setattr(gui_app, "MainWindow", broken_window)
    with pytest.raises(RuntimeError, match="window bug"):
        await main(AppOptions(home=tmp_path, use_keyring=False))
    # The services were closed: the log writer's thread has ended (it runs until close()).
    assert [t for t in threading.enumerate() if t.name == "request-log-writer"] == []


def test_on_windows_a_second_launch_hands_the_foreground_over_before_asking(
    tmp_path: Path, qapp: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []

    class User32:
        def AllowSetForegroundWindow(self, process: int) -> bool:  # the Win32 name
            events.append(f"allow {process}")
            return True

    key = instance_key(tmp_path)
    first = SingleInstance(key)
    second = SingleInstance(key)
    try:
        assert first.acquire()
        first.show_requested.connect(lambda: events.append("show"))
        monkeypatch.setattr(sys, "platform", "win32")
        monkeypatch.setattr(ctypes, "windll", SimpleNamespace(user32=User32()), raising=False)
        assert not second.acquire()
        monkeypatch.undo()
        for _ in range(100):
            qapp.processEvents()
            if "show" in events:
                break
        # The running instance may only raise its window if the new launch gave it the right first.
        assert events == ["allow -1", "show"]
    finally:
        first.close()
        second.close()
