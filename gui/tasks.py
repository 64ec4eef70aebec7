"""Runs coroutines from Qt slots: keeps a reference until they finish and reports their failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

_running: set[asyncio.Task[Any]] = set()
_error_handlers: list[Callable[[BaseException], None]] = []


def on_task_error(handler: Callable[[BaseException], None]) -> None:
    """Register who hears about a background task that failed (the app shows a dialog)."""
    _error_handlers.append(handler)


def run_task[T](
    coroutine: Coroutine[Any, Any, T], *, done: Callable[[T], None] | None = None
) -> asyncio.Task[T]:
    """Start `coroutine` on the running (qasync) loop from a slot; `done(result)` runs in the Qt thread.

    Slots stay thin: disable a button, run_task(core call, done=update view). An exception is logged and
    passed to the registered error handlers instead of vanishing with an unreferenced task.
    """
    task = asyncio.ensure_future(coroutine)
    _running.add(task)

    def finished(task: asyncio.Task[T]) -> None:
        _running.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("background task failed", exc_info=error)
            for handler in tuple(_error_handlers):
                handler(error)
        elif done is not None:
            done(task.result())

    task.add_done_callback(finished)
    return task


async def cancel_all() -> None:
    """Cancel what is still running (at quit)."""
    tasks = list(_running)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
