"""Batches: items that are ready come together, waiting ones come later, errors keep their place, close cancels."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from server.batches import Batches


async def _arrivals(queue: asyncio.Queue[int | None], closed: list[str]) -> AsyncIterator[int]:
    """Yields what is put in the queue (None ends it), like an upstream stream yields what a read brought."""
    try:
        while (item := await queue.get()) is not None:
            yield item
    except asyncio.CancelledError:
        closed.append("cancelled")
        raise
    finally:
        closed.append("closed")


async def test_what_arrived_together_is_one_batch_and_a_later_arrival_the_next() -> None:
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    closed: list[str] = []
    batches = Batches(_arrivals(queue, closed))
    for item in (1, 2, 3):
        queue.put_nowait(item)
    assert await batches.next() == [1, 2, 3]
    later = asyncio.get_running_loop().call_later(0.01, queue.put_nowait, 4)
    assert await batches.next() == [4]
    later.cancel()
    queue.put_nowait(5)
    queue.put_nowait(None)
    assert await batches.next() == [5]
    assert await batches.next() == []
    assert await batches.next() == []
    await batches.aclose()
    assert closed == ["closed"]


async def test_an_error_after_items_comes_after_them() -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        yield 2
        raise ValueError("broke off")

    batches = Batches(failing())
    assert await batches.next() == [1, 2]
    with pytest.raises(ValueError, match="broke off"):
        await batches.next()


async def test_close_cancels_the_read_still_waiting_and_closes_the_iterator() -> None:
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    closed: list[str] = []
    batches = Batches(_arrivals(queue, closed))
    queue.put_nowait(1)
    assert await batches.next() == [1]  # the read of the next item is now started and waiting
    await batches.aclose()
    assert closed == ["cancelled", "closed"]


async def test_the_waiting_read_goes_on_while_the_caller_is_busy() -> None:
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    batches = Batches(_arrivals(queue, []))
    queue.put_nowait(1)
    assert await batches.next() == [1]
    await asyncio.sleep(0)  # the caller writes; meanwhile two more items arrive
    queue.put_nowait(2)
    queue.put_nowait(3)
    assert await batches.next() == [2, 3]
    await batches.aclose()


async def test_cancelling_the_caller_while_it_waits_cancels_the_read() -> None:
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    closed: list[str] = []
    batches = Batches(_arrivals(queue, closed))

    async def consume() -> None:
        while await batches.next():
            pass

    task = asyncio.create_task(consume())
    queue.put_nowait(1)
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed == ["cancelled", "closed"]
