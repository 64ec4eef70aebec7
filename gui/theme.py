"""Light and dark themes that look the same on every platform: Qt's Fusion style with our own palettes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")


class Tone(StrEnum):
    """What a coloured text says; each theme has one readable colour per tone."""

    OK = "ok"
    WARNING = "warning"
    ERROR = "error"
    MUTED = "muted"
    INFO = "info"


@dataclass(frozen=True)
class BannerColours:
    background: str
    border: str
    text: str


@dataclass(frozen=True)
class Palette:
    """One theme: the Qt palette roles we set, the text tones, the quota-bar colours and the banners."""

    name: str
    roles: dict[QPalette.ColorRole, str]
    disabled_text: str
    tones: dict[Tone, str]
    bar_track: str  # the empty part of a quota bar: must stand out from Base and AlternateBase
    bar_fill: dict[Tone, str]  # OK / WARNING / ERROR bar fills
    banners: dict[Tone, BannerColours]  # INFO / WARNING / ERROR


_R = QPalette.ColorRole

LIGHT = Palette(
    name="light",
    roles={
        _R.Window: "#f3f4f6",
        _R.WindowText: "#1f2328",
        _R.Base: "#ffffff",
        _R.AlternateBase: "#f1f3f5",
        _R.Text: "#1f2328",
        _R.Button: "#e8eaed",
        _R.ButtonText: "#1f2328",
        _R.BrightText: "#ffffff",
        _R.Highlight: "#1558b0",
        _R.HighlightedText: "#ffffff",
        _R.ToolTipBase: "#ffffff",
        _R.ToolTipText: "#1f2328",
        _R.PlaceholderText: "#5f6368",
        _R.Link: "#0b57d0",
        _R.LinkVisited: "#6a1b9a",
        _R.Light: "#ffffff",
        _R.Midlight: "#e3e5e8",
        _R.Mid: "#b8bcc2",
        _R.Dark: "#8a8f96",
        _R.Shadow: "#5f6368",
    },
    disabled_text="#575c63",
    tones={
        Tone.OK: "#1b6e2e",
        Tone.WARNING: "#8a4b00",
        Tone.ERROR: "#b3261e",
        Tone.MUTED: "#5a5f66",
        Tone.INFO: "#174ea6",
    },
    bar_track="#c9cdd2",
    bar_fill={Tone.OK: "#2e9e4f", Tone.WARNING: "#e08600", Tone.ERROR: "#d93025"},
    banners={
        Tone.INFO: BannerColours("#e8f0fe", "#1d4ed8", "#174ea6"),
        Tone.WARNING: BannerColours("#fef7e0", "#b45309", "#6f3c02"),
        Tone.ERROR: BannerColours("#fce8e6", "#c5221f", "#8c1d18"),
    },
)

DARK = Palette(
    name="dark",
    roles={
        _R.Window: "#1f2023",
        _R.WindowText: "#e4e5e7",
        _R.Base: "#27292d",
        _R.AlternateBase: "#2e3035",
        _R.Text: "#e4e5e7",
        _R.Button: "#34373c",
        _R.ButtonText: "#e4e5e7",
        _R.BrightText: "#ffffff",
        _R.Highlight: "#2f63c4",
        _R.HighlightedText: "#ffffff",
        _R.ToolTipBase: "#34373c",
        _R.ToolTipText: "#e4e5e7",
        _R.PlaceholderText: "#a3a7ae",
        _R.Link: "#8ab4f8",
        _R.LinkVisited: "#d7aefb",
        _R.Light: "#4a4e55",
        _R.Midlight: "#3d4046",
        _R.Mid: "#5c6069",
        _R.Dark: "#17181a",
        _R.Shadow: "#0d0e0f",
    },
    disabled_text="#a6aab1",
    tones={
        Tone.OK: "#7fd192",
        Tone.WARNING: "#f5bf5b",
        Tone.ERROR: "#f59b93",
        Tone.MUTED: "#a3a7ae",
        Tone.INFO: "#9cc0fa",
    },
    bar_track="#4a4e56",
    bar_fill={Tone.OK: "#4caf68", Tone.WARNING: "#e0a030", Tone.ERROR: "#e5534b"},
    banners={
        Tone.INFO: BannerColours("#1d2a44", "#5b8def", "#c6dafc"),
        Tone.WARNING: BannerColours("#3a2c12", "#d6a13a", "#f8dfa8"),
        Tone.ERROR: BannerColours("#3d1f1d", "#e5534b", "#fbcdc9"),
    },
)


class _ThemeSignals(QObject):
    changed = Signal(str)  # the applied theme's name ("light" or "dark"), for widgets with style sheets


signals = _ThemeSignals()
_current: Palette = LIGHT


def current() -> Palette:
    return _current


def resolve(choice: str) -> Palette:
    """The palette for a setting: "light", "dark", or "system" (the desktop's scheme; light when unknown)."""
    if choice == "dark":
        return DARK
    if choice == "light":
        return LIGHT
    scheme = QGuiApplication.styleHints().colorScheme()
    return DARK if scheme is Qt.ColorScheme.Dark else LIGHT


def qpalette(theme: Palette) -> QPalette:
    palette = QPalette()
    for role, colour in theme.roles.items():
        palette.setColor(role, QColor(colour))
    for role in (_R.WindowText, _R.Text, _R.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(theme.disabled_text))
    return palette


def apply_theme(choice: str) -> Palette:
    """Fusion plus the chosen palette on the running application, on every platform.

    A platform theme (GTK, Windows, macOS) is not asked: on a plain X11 desktop it ignores a dark request.
    """
    global _current
    theme = resolve(choice)
    app = QApplication.instance()
    if isinstance(app, QApplication):
        if app.style().name().lower() != "fusion":
            app.setStyle("Fusion")
        app.setPalette(qpalette(theme))
    changed = theme is not _current
    _current = theme
    if changed:
        signals.changed.emit(theme.name)
    return theme


def tone(kind: Tone) -> QColor:
    return QColor(_current.tones[kind])


def tone_style(kind: Tone) -> str:
    """A style sheet for a label in this tone."""
    return f"color: {_current.tones[kind]};"


def bar_fill(fraction: float) -> QColor:
    kind = Tone.ERROR if fraction < 0.2 else Tone.WARNING if fraction < 0.5 else Tone.OK
    return QColor(_current.bar_fill[kind])


def bar_track() -> QColor:
    return QColor(_current.bar_track)
