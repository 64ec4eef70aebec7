"""Reads an async iterator a batch at a time: every item that is ready now, so a stream's writes are batched."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Generator
from typing import Any


class _Started[T]:
    """An awaitable whose first step already ran and stopped at `waiting`: awaiting it runs the rest.

    This is what `await` (`yield from`) does with the rest of an awaitable, spelled out, because the first
    step ran outside an await to find out whether the item was ready.
    """

    __slots__ = ("_steps", "_waiting")

    def __init__(self, steps: Generator[Any, Any, T], waiting: Any) -> None:
        self._steps = steps
        self._waiting = waiting

    def __await__(self) -> Generator[Any, Any, T]:
        steps, waiting = self._steps, self._waiting
        while True:
            try:
                sent = yield waiting
            except GeneratorExit:
                steps.close()
                raise
            except BaseException as error:  # passed on to the awaitable, as `await` does
                try:
                    waiting = steps.throw(error)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
            else:
                try:
                    waiting = steps.send(sent)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]

    def cancel(self) -> _Started[T] | None:
        """Throw CancelledError into the waiting read; what is left to await of its clean-up, if anything."""
        try:
            waiting = self._steps.throw(asyncio.CancelledError())
        except BaseException:  # the read ended (cancelled, failed or done): nothing left
            return None
        return _Started(self._steps, waiting)


class Batches[T]:
    """`await batches.next()` returns the next item and every further item that is ready without waiting
    (an upstream read that brought many SSE events), so the caller writes them to its client at once.

    An empty list means the iterator ended. An error raised after some items were read is raised by the
    following call, so the items that came before it are handled first. The read that would have waited is
    left started, and goes on while the caller writes; `aclose()` cancels it and closes the iterator.
    """

    def __init__(self, items: AsyncIterator[T]) -> None:
        self._items = items
        self._pending: _Started[T] | None = None
        self._error: BaseException | None = None
        self._ended = False

    async def next(self) -> list[T]:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._ended:
            return []
        pending, self._pending = self._pending, None
        try:
            first = await (pending if pending is not None else anext(self._items))
        except StopAsyncIteration:
            self._ended = True
            return []
        batch = [first]
        while True:
            steps = anext(self._items).__await__()
            try:
                waiting = steps.send(None)
            except StopIteration as done:
                batch.append(done.value)
                continue
            except StopAsyncIteration:
                self._ended = True
            except Exception as error:  # raised by the next call, after this batch
                self._error = error
            else:
                self._pending = _Started(steps, waiting)
            return batch

    async def aclose(self) -> None:
        """Cancel a read still under way (the client left, or the stream failed), then close the iterator."""
        pending, self._pending = self._pending, None
        rest = pending.cancel() if pending is not None else None
        if rest is not None:
            # A read cancelled on purpose ends in an error (CancelledError, mostly): nothing to report.
            with contextlib.suppress(BaseException):
                await rest
        await self._items.aclose()  # type: ignore[attr-defined]
