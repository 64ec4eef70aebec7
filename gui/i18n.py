"""The desktop app's languages: English and Simplified Chinese through Qt's translators, chosen in Settings
(ui.language) or following the system's language; `translate` for text outside QObject methods."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from core.config import LANGUAGES
from gui.icons import assets_dir

log = logging.getLogger(__name__)

CATALOGUE = "gravity_desk"  # assets/i18n/gravity_desk_<language>.ts / .qm
ENGLISH = "en"
CHINESE = "zh_CN"
# The English catalogue holds only plural forms ("%n requests"); the source texts are English already.
TRANSLATED = (ENGLISH, CHINESE)
# Each language's own name, so someone who cannot read the current language still finds theirs.
LANGUAGE_NAMES = {ENGLISH: "English", CHINESE: "简体中文"}

_installed: list[QTranslator] = []
_current = ENGLISH


def translate(context: str, text: str, disambiguation: str | None = None, n: int = -1) -> str:
    """QCoreApplication.translate for module-level code (lupdate finds calls by this name too). Format
    arguments go in after translating (`.format(name=...)`), so a translation may reorder them."""
    return QCoreApplication.translate(context, text, disambiguation, n)


def i18n_dir() -> Path:
    """Where the compiled catalogues are: assets/i18n (in the PyInstaller bundle too)."""
    return assets_dir() / "i18n"


def resolve_language(choice: str, system: QLocale | None = None) -> str:
    """The language to show for a ui.language value: "system" becomes Chinese for any Chinese locale (the
    Simplified script is the one translated; Traditional readers read it better than English), else English."""
    if choice in TRANSLATED:
        return choice
    locale = system if system is not None else QLocale.system()
    if locale.language() is QLocale.Language.Chinese:
        return CHINESE
    # The desktop's preferred UI languages can differ from its formats' locale (LANGUAGE=zh_CN with en_US).
    for name in locale.uiLanguages():
        if name.lower().startswith("zh"):
            return CHINESE
    return ENGLISH


def current_language() -> str:
    """The language the installed translators speak ("en" or "zh_CN")."""
    return _current


def _qt_translations_dirs() -> list[Path]:
    """Qt's own catalogues (qtbase_*.qm: the standard buttons "Cancel", "Yes", the file dialog), in the dev
    venv and in the bundle, where PyInstaller keeps PySide6's folder layout."""
    dirs = [Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath))]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        dirs.append(Path(bundle) / "PySide6" / "Qt" / "translations")
    return dirs


def _load(name: str, folders: list[Path]) -> QTranslator | None:
    for folder in folders:
        translator = QTranslator()
        if translator.load(name, str(folder)):
            return translator
    return None


def apply_language(choice: str) -> str:
    """Install the translators for a ui.language value (replacing earlier ones) and return the language
    shown. Widgets built afterwards speak it; Qt sends LanguageChange to the ones that exist."""
    global _current
    if choice not in LANGUAGES:
        raise ValueError(f"unknown language {choice!r}: one of {', '.join(LANGUAGES)}")
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("apply_language needs a QApplication")
    language = resolve_language(choice)
    for translator in _installed:
        app.removeTranslator(translator)
    _installed.clear()
    ours = _load(f"{CATALOGUE}_{language}", [i18n_dir()])
    if ours is None:
        log.warning("No %s_%s.qm in %s: the window stays in English", CATALOGUE, language, i18n_dir())
    else:
        _installed.append(ours)
    if language != ENGLISH:
        qt_own = _load(f"qtbase_{language}", _qt_translations_dirs())
        if qt_own is not None:
            _installed.append(qt_own)
    for translator in _installed:
        app.installTranslator(translator)
    # Numbers and dates Qt formats (spin boxes, QLocale.toString) follow the language too.
    QLocale.setDefault(
        QLocale(QLocale.Language.Chinese, QLocale.Country.China) if language == CHINESE else QLocale.system()
    )
    _current = language
    return language


def QT_TRANSLATE_NOOP(_context: str, text: str) -> str:
    """Marks a text in a constant table for lupdate (under `context`); translate it where it is shown, with
    `translate(context, text)`. Typed, unlike PySide6's own."""
    return text
