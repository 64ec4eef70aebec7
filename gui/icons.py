"""The app icon (assets/gravity-desk.svg) and the tray's state icons, drawn with QPainter, light and dark."""

from __future__ import annotations

import sys
from enum import StrEnum
from functools import cache
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QIcon, QPainter, QPalette, QPen, QPixmap

APP_ICON = "gravity-desk.svg"
APP_ICON_PNG_PREFIX = "icons/gravity-desk-"  # packaging/make_icons.py renders the SVG to these
TRAY_FILE_SIZE = 16  # assets/tray/<state>-<light|dark>.png is this size, its @2x twice that
TRAY_SIZES = (16, 22, 24, 32, 48, 64)  # the sizes tray hosts ask for; drawn, not scaled, so lines stay sharp


class TrayState(StrEnum):
    SERVING = "serving"
    PAUSED = "paused"
    PROBLEM = "problem"  # port busy, or no account can serve requests


# The glyph sits on the panel: dark strokes on a light panel, light strokes on a dark one.
_GLYPH_COLOUR = {False: QColor("#1f2937"), True: QColor("#f3f4f6")}
_BADGE_COLOUR = {
    TrayState.SERVING: QColor("#16a34a"),
    TrayState.PAUSED: QColor("#6b7280"),
    TrayState.PROBLEM: QColor("#dc2626"),
}


def assets_dir() -> Path:
    """The assets folder: inside the PyInstaller bundle when frozen, else next to the packages."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "assets"
    return Path(__file__).resolve().parent.parent / "assets"


def asset_path(name: str) -> Path:
    """The path of an asset file; FileNotFoundError names where it was looked for."""
    path = assets_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"missing asset {name} (looked in {path.parent})")
    return path


@cache
def app_icon() -> QIcon:
    """The application icon (window, task bar, about box): the PNG renders in assets/icons when present (they
    need no SVG plugin, which a trimmed bundle may lack), else the SVG itself."""
    pngs = sorted(assets_dir().glob(f"{APP_ICON_PNG_PREFIX}*.png"))
    if not pngs:
        return QIcon(str(asset_path(APP_ICON)))
    icon = QIcon()
    for png in pngs:
        # Naming the size lets Qt load each file only when that size is asked for (startup stays fast).
        size = png.stem.removeprefix(Path(APP_ICON_PNG_PREFIX).name)
        icon.addFile(str(png), QSize(int(size), int(size)) if size.isdigit() else QSize())
    return icon


def system_is_dark() -> bool:
    """Whether the desktop uses a dark colour scheme (the tray panel is then dark too, as a rule)."""
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme()
    if scheme is Qt.ColorScheme.Dark:
        return True
    if scheme is Qt.ColorScheme.Light:
        return False
    # Unknown (older desktops, offscreen): judge by the palette's window colour.
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


# Windows draws the taskbar, where the tray is, in the *system* mode, which may differ from the apps' mode that
# Qt reports: Windows 10's default is a dark taskbar with light apps.
WINDOWS_PERSONALIZE_KEY = r"Software\Microsoft\Windows\CurrentVersion\Themes\Personalize"

if sys.platform == "win32":
    import winreg

    def windows_personalize_value(name: str) -> int | None:
        """A DWORD under HKCU\\...\\Themes\\Personalize; None where absent (before Windows 10 1903)."""
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, WINDOWS_PERSONALIZE_KEY) as key:
                value, _ = winreg.QueryValueEx(key, name)
        except OSError:
            return None
        return value if isinstance(value, int) else None

else:

    def windows_personalize_value(_name: str) -> int | None:
        return None


def tray_panel_is_dark() -> bool:
    """Whether the panel the tray icon sits on (taskbar, menu bar, top bar) is dark."""
    if sys.platform == "win32":
        system_uses_light = windows_personalize_value("SystemUsesLightTheme")
        if system_uses_light is not None:
            return system_uses_light == 0
    return system_is_dark()


def tray_icon(state: TrayState, dark: bool | None = None) -> QIcon:
    """The tray icon for `state`; `dark` picks the variant for a dark panel (default: the panel's own mode)."""
    return _tray_icon(state, tray_panel_is_dark() if dark is None else dark)


@cache
def _tray_icon(state: TrayState, dark: bool) -> QIcon:
    icon = QIcon()
    for size in TRAY_SIZES:
        pixmap = _tray_file_pixmap(state, dark, size)
        icon.addPixmap(pixmap if pixmap is not None else render_tray_pixmap(state, dark, size))
    return icon


def tray_file_name(state: TrayState, dark: bool, size: int) -> str | None:
    """The assets/tray file holding this tray icon, or None for sizes only drawn at run time."""
    scale = {TRAY_FILE_SIZE: "", 2 * TRAY_FILE_SIZE: "@2x"}.get(size)
    if scale is None:
        return None
    return f"tray/{state.value}-{'dark' if dark else 'light'}{scale}.png"


def _tray_file_pixmap(state: TrayState, dark: bool, size: int) -> QPixmap | None:
    """The icon from assets/tray (where a designer may hand-tune pixels), if there and of the right size."""
    name = tray_file_name(state, dark, size)
    if name is None:
        return None
    path = assets_dir() / name
    if not path.is_file():
        return None
    pixmap = QPixmap(str(path))
    # A replaced file of the wrong size would be scaled blurry by the tray: draw that size instead.
    if pixmap.isNull() or pixmap.width() != size or pixmap.height() != size:
        return None
    # Qt gives an "@2x" file a device pixel ratio of 2; this icon is built from device-pixel sizes, as drawn.
    pixmap.setDevicePixelRatio(1.0)
    return pixmap


def render_tray_pixmap(state: TrayState, dark: bool, size: int) -> QPixmap:
    """One size of a tray icon: the planet-and-orbit glyph with a state badge in the lower right corner."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        _draw_glyph(painter, size, _GLYPH_COLOUR[dark])
        _draw_badge(painter, state, size, dark)
    finally:
        painter.end()
    return pixmap


def _draw_glyph(painter: QPainter, size: int, colour: QColor) -> None:
    """Planet and orbit; the orbit's front half passes in front of the planet, separated by a cut-out gap."""
    stroke = max(1.3, size / 13)
    gap = max(1.0, size / 22)
    radius = size * 0.19
    orbit = QRectF(-size * 0.45, -size * 0.2, size * 0.9, size * 0.4)
    painter.save()
    painter.translate(size * 0.45, size * 0.45)
    painter.rotate(-20)
    line = QPen(colour, stroke, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    cut = QPen(Qt.GlobalColor.transparent, stroke + 2 * gap, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(line)
    painter.drawEllipse(orbit)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
    painter.setBrush(QBrush(Qt.GlobalColor.transparent))
    painter.drawEllipse(QPointF(0, 0), radius + gap, radius + gap)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
    painter.setBrush(QBrush(colour))
    painter.drawEllipse(QPointF(0, 0), radius, radius)
    # Qt angles are in 1/16 degree, counter-clockwise from 3 o'clock: 180..360 is the lower (front) half.
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
    painter.setPen(cut)
    painter.drawArc(orbit, 190 * 16, 160 * 16)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
    painter.setPen(line)
    painter.drawArc(orbit, 180 * 16, 180 * 16)
    painter.restore()


def _draw_badge(painter: QPainter, state: TrayState, size: int, dark: bool) -> None:
    radius = size * 0.21
    centre = QPointF(size - radius - 0.5, size - radius - 0.5)
    # A ring in the panel's colour separates the badge from the glyph behind it.
    panel = QColor("#111827") if dark else QColor("#ffffff")
    painter.setPen(QPen(panel, max(1.0, size / 16)))
    painter.setBrush(QBrush(_BADGE_COLOUR[state]))
    painter.drawEllipse(centre, radius, radius)
    mark = QPen(QColor("#ffffff"), max(1.0, size / 16), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    painter.setPen(mark)
    if state is TrayState.PAUSED:
        for dx in (-radius * 0.3, radius * 0.3):
            top = QPointF(centre.x() + dx, centre.y() - radius * 0.45)
            painter.drawLine(top, QPointF(top.x(), centre.y() + radius * 0.45))
    elif state is TrayState.PROBLEM:
        painter.drawLine(
            QPointF(centre.x(), centre.y() - radius * 0.5), QPointF(centre.x(), centre.y() + radius * 0.1)
        )
        painter.drawPoint(QPointF(centre.x(), centre.y() + radius * 0.5))


# -- navigation glyphs (our own, in the theme's text colour) -----------------------------------------------


class PageGlyph(StrEnum):
    ACCOUNTS = "accounts"  # a person
    REQUESTS = "requests"  # a list of rows
    DASHBOARD = "dashboard"  # a bar chart
    SETTINGS = "settings"  # sliders


PAGE_ICON_SIZES = (16, 20, 24, 32, 40, 48)  # 20 px at 100 % up to 48 px at 200 %+


def page_icon(glyph: PageGlyph, colour: QColor) -> QIcon:
    """A navigation icon drawn at each size (crisp at 150 %), in `colour`."""
    icon = QIcon()
    for size in PAGE_ICON_SIZES:
        icon.addPixmap(render_page_pixmap(glyph, colour, size))
    return icon


def render_page_pixmap(glyph: PageGlyph, colour: QColor, size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(colour, max(1.5, size / 12), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        _PAGE_PAINTERS[glyph](painter, size / 24)  # drawn on a 24-unit grid
    finally:
        painter.end()
    return pixmap


def _paint_accounts(painter: QPainter, u: float) -> None:
    painter.drawEllipse(QRectF(8 * u, 3 * u, 8 * u, 8 * u))
    painter.drawArc(QRectF(4 * u, 13 * u, 16 * u, 16 * u), 0, 180 * 16)


def _paint_requests(painter: QPainter, u: float) -> None:
    for row in (6, 12, 18):
        painter.drawPoint(QPointF(4 * u, row * u))
        painter.drawLine(QPointF(8 * u, row * u), QPointF(20 * u, row * u))


def _paint_dashboard(painter: QPainter, u: float) -> None:
    painter.drawLine(QPointF(3 * u, 21 * u), QPointF(21 * u, 21 * u))
    for x, top in ((6, 13), (12, 6), (18, 10)):
        painter.drawLine(QPointF(x * u, 18 * u), QPointF(x * u, top * u))


def _paint_settings(painter: QPainter, u: float) -> None:
    for y, knob in ((6, 15), (12, 8), (18, 13)):
        painter.drawLine(QPointF(3 * u, y * u), QPointF(21 * u, y * u))
        painter.setBrush(painter.pen().color())
        painter.drawEllipse(QPointF(knob * u, y * u), 2.2 * u, 2.2 * u)
        painter.setBrush(Qt.BrushStyle.NoBrush)


_PAGE_PAINTERS = {
    PageGlyph.ACCOUNTS: _paint_accounts,
    PageGlyph.REQUESTS: _paint_requests,
    PageGlyph.DASHBOARD: _paint_dashboard,
    PageGlyph.SETTINGS: _paint_settings,
}
