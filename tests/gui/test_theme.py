"""Themes: Fusion with our palettes on every platform, and every text pair measured at WCAG AA contrast."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from gui import theme
from gui.theme import DARK, LIGHT, Palette, Tone

MIN_CONTRAST = 4.5  # WCAG AA for normal text
# The backgrounds a coloured text can sit on.
TEXT_BACKGROUNDS = (QPalette.ColorRole.Window, QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase)


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG 2 contrast ratio between two colours (1.0-21.0)."""

    def luminance(colour: QColor) -> float:
        def channel(value: float) -> float:
            return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

        return (
            0.2126 * channel(colour.redF())
            + 0.7152 * channel(colour.greenF())
            + 0.0722 * channel(colour.blueF())
        )

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


R = QPalette.ColorRole


def _pairs(palette: Palette) -> list[tuple[str, str, str]]:
    roles = palette.roles
    pairs = [
        (f"{text.name} on {back.name}", roles[text], roles[back])
        for text in (R.WindowText, R.Text)
        for back in TEXT_BACKGROUNDS
    ]
    pairs += [
        ("ButtonText on Button", roles[R.ButtonText], roles[R.Button]),
        ("HighlightedText on Highlight", roles[R.HighlightedText], roles[R.Highlight]),
        ("ToolTipText on ToolTipBase", roles[R.ToolTipText], roles[R.ToolTipBase]),
        ("PlaceholderText on Base", roles[R.PlaceholderText], roles[R.Base]),
        ("Link on Base", roles[R.Link], roles[R.Base]),
        ("Link on Window", roles[R.Link], roles[R.Window]),
        ("disabled text on Window", palette.disabled_text, roles[R.Window]),
        ("disabled text on Button", palette.disabled_text, roles[R.Button]),
    ]
    pairs += [
        (f"{kind} text on {back.name}", colour, roles[back])
        for kind, colour in palette.tones.items()
        for back in TEXT_BACKGROUNDS
    ]
    pairs += [(f"{kind} banner", b.text, b.background) for kind, b in palette.banners.items()]
    return pairs


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=lambda p: p.name)
def test_every_text_pair_meets_wcag_aa(palette: Palette) -> None:
    low = [
        f"{name}: {contrast_ratio(QColor(fg), QColor(bg)):.2f}"
        for name, fg, bg in _pairs(palette)
        if contrast_ratio(QColor(fg), QColor(bg)) < MIN_CONTRAST
    ]
    assert not low, low


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=lambda p: p.name)
def test_the_quota_bar_track_is_visible(palette: Palette) -> None:
    for back in (R.Base, R.AlternateBase):
        assert contrast_ratio(QColor(palette.bar_track), QColor(palette.roles[back])) >= 1.3
    for fill in palette.bar_fill.values():
        assert contrast_ratio(QColor(fill), QColor(palette.bar_track)) >= 1.3


def test_contrast_ratio_matches_known_values() -> None:
    assert contrast_ratio(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert contrast_ratio(QColor("#777777"), QColor("#ffffff")) == pytest.approx(4.48, abs=0.01)


def test_dark_changes_the_running_app_without_a_platform_theme(qapp: QApplication) -> None:
    changes: list[str] = []
    theme.signals.changed.connect(changes.append)
    try:
        theme.apply_theme("dark")
        assert qapp.style().name().lower() == "fusion"
        window = qapp.palette().color(R.Window)
        assert window.lightness() < 60
        assert theme.tone(Tone.ERROR) == QColor(DARK.tones[Tone.ERROR])
        theme.apply_theme("light")
        assert qapp.palette().color(R.Window).lightness() > 200
        assert changes == ["dark", "light"]
    finally:
        theme.signals.changed.disconnect(changes.append)
        theme.apply_theme("light")
