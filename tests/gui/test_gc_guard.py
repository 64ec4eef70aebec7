"""The Qt-thread garbage collector: automatic collection off, cycles collected when its timer checks."""

from __future__ import annotations

import gc
import weakref

import pytest

from gui.gc_guard import QtThreadGarbageCollector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.mark.usefixtures("qapp")
def test_cycles_are_collected_by_the_timer_check_not_automatically() -> None:
    gc.collect()
    gc.enable()  # the GUI tests' autouse fixture turned it off: the collector must turn it off itself
    collector = QtThreadGarbageCollector()
    try:
        assert not gc.isenabled()
        first, second = Node(), Node()
        first.other, second.other = second, first
        alive = weakref.ref(first)
        del first, second
        keep: list[list[object]] = [
            [] for _ in range(gc.get_threshold()[0] * 3)
        ]  # allocations that would trigger a collection
        assert alive() is not None  # nothing collected behind the Qt thread's back
        collector.check()
        assert alive() is None
        del keep
    finally:
        collector.stop()
    assert gc.isenabled()


@pytest.mark.usefixtures("qapp")
def test_check_does_nothing_below_the_threshold() -> None:
    gc.collect()
    collector = QtThreadGarbageCollector()
    try:
        first, second = Node(), Node()
        first.other, second.other = second, first
        alive = weakref.ref(first)
        del first, second
        collector.check()
        assert alive() is not None
    finally:
        collector.stop()
        gc.collect()
