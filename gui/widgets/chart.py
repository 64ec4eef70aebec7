"""A small time chart drawn with QPainter: stacked bars and lines over time buckets, with axes and tooltips."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import override

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QHelpEvent, QHideEvent, QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from gui.i18n import translate


class SeriesKind(StrEnum):
    BAR = "bar"  # bars of every BAR series are stacked, in the order given
    LINE = "line"  # drawn over the bars, on the same axis


@dataclass(frozen=True)
class ChartSeries:
    name: str
    values: list[float]
    color: QColor
    kind: SeriesKind = SeriesKind.BAR

    @property
    def total(self) -> float:
        return sum(self.values)


def compact_number(value: float) -> str:
    """1234 -> "1.2k", 5_600_000 -> "5.6M": axis labels stay short."""
    magnitude = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            text = f"{value / limit:.1f}".removesuffix(".0")
            return text + suffix
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def nice_ticks(maximum: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least `maximum` (steps of 1, 2 or 5 times a power of ten)."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw_step = maximum / count
    power = 10 ** math.floor(math.log10(raw_step))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw_step)
    step = max(step, 1.0)  # counts: no 0.5 requests
    top = math.ceil(maximum / step) * step
    return [i * step for i in range(round(top / step) + 1)]


class TimeChart(QWidget):
    """Values per time bucket (requests per hour, tokens per minute…) as stacked bars plus optional lines.

    `set_data(starts, series, bucket)`; the y axis gets round ticks, the x axis the bucket times (local
    time), a legend sits on top, and hovering a bucket shows its values.
    """

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.starts: list[datetime] = []
        self.series: list[ChartSeries] = []
        self.bucket = timedelta(hours=1)
        self.empty_text = self.tr("No requests in this period")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)

    def sizeHint(self) -> QSize:
        return QSize(480, 200)

    def minimumSizeHint(self) -> QSize:
        return QSize(240, 140)

    def set_data(self, starts: list[datetime], series: list[ChartSeries], bucket: timedelta) -> None:
        if any(len(s.values) != len(starts) for s in series):
            raise ValueError("every series needs one value per bucket")
        self.starts, self.series, self.bucket = list(starts), list(series), bucket
        self.update()

    def total(self, name: str) -> float:
        """The sum of one series (0 when there is no such series)."""
        return sum(s.total for s in self.series if s.name == name)

    # --- geometry -----------------------------------------------------------------------------------------

    def _maximum(self) -> float:
        stacked = [
            sum(s.values[i] for s in self.series if s.kind is SeriesKind.BAR) for i in range(len(self.starts))
        ]
        lines = [v for s in self.series if s.kind is SeriesKind.LINE for v in s.values]
        return max([0.0, *stacked, *lines])

    def _plot_rect(self, ticks: list[float]) -> QRectF:
        metrics = self.fontMetrics()
        label_width = max(metrics.horizontalAdvance(compact_number(t)) for t in ticks)
        top = metrics.height() * (2 if self.title else 1) + 8
        return QRectF(
            label_width + 10,
            top,
            max(1.0, self.width() - label_width - 18),
            max(1.0, self.height() - top - metrics.height() - 10),
        )

    def bucket_at(self, x: float) -> int | None:
        """The bucket under x (widget coordinates), if any."""
        if not self.starts:
            return None
        plot = self._plot_rect(nice_ticks(self._maximum()))
        if not plot.left() <= x < plot.right():
            return None
        return min(len(self.starts) - 1, int((x - plot.left()) / (plot.width() / len(self.starts))))

    # --- painting -----------------------------------------------------------------------------------------

    @override
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        palette = self.palette()
        text_colour = palette.color(QPalette.ColorRole.WindowText)
        grid_colour = QColor(text_colour)
        grid_colour.setAlpha(40)
        metrics = self.fontMetrics()
        ticks = nice_ticks(self._maximum())
        plot = self._plot_rect(ticks)
        top_value = ticks[-1]

        painter.setPen(text_colour)
        y = metrics.ascent() + 2
        if self.title:
            font = painter.font()
            font.setBold(True)
            painter.setFont(font)
            painter.drawText(QPointF(plot.left(), y), self.title)
            font.setBold(False)
            painter.setFont(font)
            y += metrics.height()
        self._paint_legend(painter, plot.left(), y, text_colour)

        for tick in ticks:  # y axis: grid lines and labels
            ty = plot.bottom() - plot.height() * tick / top_value
            painter.setPen(QPen(grid_colour, 1))
            painter.drawLine(QPointF(plot.left(), ty), QPointF(plot.right(), ty))
            painter.setPen(text_colour)
            label = compact_number(tick)
            painter.drawText(
                QPointF(plot.left() - 6 - metrics.horizontalAdvance(label), ty + metrics.ascent() / 2 - 1),
                label,
            )
        if not self.starts or self._maximum() == 0:
            painter.setPen(text_colour)
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, self.empty_text)
            self._paint_time_labels(painter, plot, text_colour)
            return

        slot = plot.width() / len(self.starts)
        bar_width = max(1.0, slot * 0.72)
        for index in range(len(self.starts)):  # stacked bars
            base = plot.bottom()
            for series in self.series:
                if series.kind is not SeriesKind.BAR or series.values[index] <= 0:
                    continue
                height = plot.height() * series.values[index] / top_value
                left = plot.left() + slot * index + (slot - bar_width) / 2
                painter.fillRect(QRectF(left, base - height, bar_width, height), series.color)
                base -= height
        for series in self.series:  # lines over the bars
            if series.kind is not SeriesKind.LINE:
                continue
            points = QPolygonF(
                [
                    QPointF(plot.left() + slot * (i + 0.5), plot.bottom() - plot.height() * v / top_value)
                    for i, v in enumerate(series.values)
                ]
            )
            painter.setPen(QPen(series.color, 2))
            painter.drawPolyline(points)
        self._paint_time_labels(painter, plot, text_colour)

    def _paint_legend(self, painter: QPainter, x: float, baseline: float, text_colour: QColor) -> None:
        metrics = self.fontMetrics()
        box = metrics.ascent() - 2
        for series in self.series:
            painter.fillRect(QRectF(x, baseline - box, box, box), series.color)
            x += box + 4
            painter.setPen(text_colour)
            painter.drawText(QPointF(x, baseline), series.name)
            x += metrics.horizontalAdvance(series.name) + 14

    def _paint_time_labels(self, painter: QPainter, plot: QRectF, text_colour: QColor) -> None:
        if not self.starts:
            return
        metrics = self.fontMetrics()
        slot = plot.width() / len(self.starts)
        label_width = metrics.horizontalAdvance("00:00") * 1.6
        every = max(1, math.ceil(label_width / slot))
        painter.setPen(text_colour)
        baseline = plot.bottom() + metrics.ascent() + 4
        for index in range(0, len(self.starts), every):
            label = self.starts[index].astimezone().strftime("%H:%M")
            centre = plot.left() + slot * (index + 0.5)
            painter.drawText(QPointF(centre - metrics.horizontalAdvance(label) / 2, baseline), label)

    # --- tooltips -----------------------------------------------------------------------------------------

    def tooltip_text(self, index: int) -> str:
        start = self.starts[index].astimezone()
        end = start + self.bucket
        lines = [
            translate("TimeChart", "{start} to {end}").format(start=f"{start:%H:%M}", end=f"{end:%H:%M}")
        ]
        lines += [f"{s.name}: {s.values[index]:,.0f}" for s in self.series]
        return "\n".join(lines)

    def hideEvent(self, event: QHideEvent) -> None:
        # Qt's tooltip outlives the widget it explains; one left showing for a deleted chart crashes later.
        QToolTip.hideText()
        super().hideEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = self.bucket_at(event.pos().x())
            if index is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.tooltip_text(index), self)
            return True
        return super().event(event)
