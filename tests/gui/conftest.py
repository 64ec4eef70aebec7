"""GUI tests run inside the real qasync loop, so Qt events and asyncio tasks both move while a test awaits."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import qasync
import shiboken6
from PySide6.QtWidgets import QApplication

from core.services import create_services
from gui.controller import AppController
from gui.i18n import apply_language
from gui.main_window import MainWindow
from gui.tasks import cancel_all
from gui.tray import Tray
from tests.fake_google import FakeGoogle

API_KEY = "sk-gui-test-key-0123456789"


def _qasync_loop() -> asyncio.AbstractEventLoop:
    app = QApplication.instance() or QApplication([])
    loop: asyncio.AbstractEventLoop = qasync.QEventLoop(app)  # qasync has no type hints
    return loop


def pytest_asyncio_loop_factories() -> dict[str, object]:
    """Every async test in this folder runs in a qasync QEventLoop, as the app itself does."""
    return {"qasync": _qasync_loop}


@pytest.fixture
async def controller(fake_google: FakeGoogle, tmp_path: Path) -> AsyncIterator[AppController]:
    """A controller over real services (SQLite, file secrets) pointed at the fake, with one Google account
    and its server listening on 127.0.0.1, a free port."""
    settings = fake_google.settings(tmp_path)
    settings.server.api_keys = [API_KEY]
    services = await create_services(settings, use_keyring=False)
    account = fake_google.add_google_account("alice@example.com", project_id="proj-alice")
    await services.accounts.add_google(account.refresh_token)
    controller = AppController(services)
    await controller.start_server()
    try:
        yield controller
    finally:
        await controller.shutdown()


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Every test starts with the English catalogue installed, as the app does on an English desktop (its
    plural forms: "1 request", "2 requests"); a test that switches language is switched back."""
    QApplication.instance() or QApplication([])
    apply_language("en")
    yield
    apply_language("en")


@pytest.fixture(autouse=True)
def collect_garbage_in_the_qt_thread() -> Iterator[None]:
    """Cycle collection only here, in the Qt thread, before and after each test: an automatic one during the
    test can start in any thread that allocates (the log writer, its checkpoint thread, to_thread) and
    destroy unreachable Qt objects there, which crashes (seen in test_export_json_lines_and_cancel). The app
    turns automatic collection off for the same reason (gui.gc_guard)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


@pytest.fixture
async def window(controller: AppController) -> AsyncIterator[MainWindow]:
    """The main window, shown (test files with their own `window` fixture override this one)."""
    window = MainWindow(controller)
    window.show()
    yield window
    await cancel_all()
    window.hide()
    shiboken6.delete(window)


@pytest.fixture
def tray(controller: AppController, window: MainWindow) -> Iterator[Tray]:
    tray = Tray(controller, window)
    yield tray
    tray.hide()
    shiboken6.delete(tray)
