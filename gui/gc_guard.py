"""Keeps Python's cycle collector on the Qt thread, where destroying Qt objects is safe."""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class QtThreadGarbageCollector(QObject):
    """Turns automatic cycle collection off and runs it from a timer in the Qt thread instead.

    Automatic collection runs in whichever thread happens to allocate when a threshold is crossed — in
    this app often a worker thread (the request-log writer, asyncio.to_thread) — and destroying unreachable
    Qt objects there crashes the interpreter. The timer applies the same generation thresholds.
    """

    def __init__(self, parent: QObject | None = None, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        gc.disable()
        self._timer.start()

    def check(self) -> None:
        """Collect the generations whose thresholds were crossed, as the automatic collector would."""
        count0, count1, count2 = gc.get_count()
        threshold0, threshold1, threshold2 = gc.get_threshold()
        if count0 <= threshold0:
            return
        if count1 <= threshold1:
            gc.collect(0)
        elif count2 <= threshold2:
            gc.collect(1)
        else:
            gc.collect(2)

    def stop(self) -> None:
        """Give collection back to Python (at quit)."""
        self._timer.stop()
        gc.enable()
