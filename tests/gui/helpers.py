"""Async waits and typed input for GUI tests. Under qasync, qtbot.wait_signal/waitUntil start a nested Qt
event loop inside an asyncio callback, which re-enters the loop and hangs later tests; these helpers await
instead. `click` is QTest's mouse click (what qtbot.mouseClick forwards to, untyped) with types."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPoint, Qt, SignalInstance
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget


async def next_emission(signal: SignalInstance, timeout: float = 5.0) -> tuple[Any, ...]:
    """The arguments of the signal's next emission (connect before triggering what emits it)."""
    future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def received(*args: Any) -> None:
        if not future.done():
            future.set_result(args)

    signal.connect(received)
    try:
        return await asyncio.wait_for(future, timeout)
    finally:
        signal.disconnect(received)


class SignalRecorder:
    """Records every emission of a signal from the moment it is created."""

    def __init__(self, signal: SignalInstance) -> None:
        self.emissions: list[tuple[Any, ...]] = []
        signal.connect(lambda *args: self.emissions.append(args))


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> None:
    """Await (letting Qt and asyncio run) until predicate() is true; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


def click(widget: QWidget | None, pos: QPoint | None = None) -> None:
    """A left click on the widget (at its centre unless `pos` is given); the widget must exist."""
    assert widget is not None, "no widget to click"
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos or QPoint())
