"""Refreshes the translation sources from gui/ and compiles them: `python scripts/i18n.py` (`./dev i18n`).

lupdate (PySide6's own, from the venv) reads every tr()/translate()/QT_TRANSLATE_NOOP text in gui/ into
assets/i18n/gravity_desk_zh_CN.ts (all texts) and gravity_desk_en.ts (only the plural forms: the English
source says "%n request(s)"); new texts arrive there unfinished. Translate them (Qt Linguist:
`.venv/bin/pyside6-linguist assets/i18n/gravity_desk_zh_CN.ts`, or any text editor), then run this again:
lrelease compiles each .ts into the .qm the app loads. `--check` changes nothing and fails when a text in
gui/ has no finished translation, listing them (tests/gui/test_i18n.py runs the same check).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "gui"
I18N = ROOT / "assets" / "i18n"
CATALOGUE = "gravity_desk"
# language -> whether its catalogue holds every text (False: plural forms only)
LANGUAGES = {"zh_CN": True, "en": False}


@dataclass(frozen=True)
class Untranslated:
    language: str
    context: str
    source: str

    def __str__(self) -> str:
        return f"[{self.language}] {self.context}: {self.source!r}"


def qt_tool(name: str) -> Path:
    """lupdate / lrelease as shipped inside the PySide6(-Essentials) wheel."""
    import PySide6

    folder = Path(PySide6.__file__).resolve().parent
    for candidate in (folder / name, folder / f"{name}.exe", folder / "Qt" / "libexec" / name):
        if candidate.is_file():
            return candidate
    found = shutil.which(f"pyside6-{name}")
    if found:
        return Path(found)
    raise SystemExit(f"{name} not found in {folder}: reinstall PySide6-Essentials (./dev setup)")


def ts_path(language: str, folder: Path = I18N) -> Path:
    return folder / f"{CATALOGUE}_{language}.ts"


def qm_path(language: str, folder: Path = I18N) -> Path:
    return folder / f"{CATALOGUE}_{language}.qm"


def source_files() -> list[Path]:
    return sorted(path for path in SOURCES.rglob("*.py") if "__pycache__" not in path.parts)


def update_ts(folder: Path = I18N) -> None:
    """Merge the texts of gui/ into each .ts in `folder` (new ones unfinished, vanished ones dropped)."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = [str(path) for path in source_files()]
    for language, everything in LANGUAGES.items():
        command = [
            str(qt_tool("lupdate")),
            "-silent",
            "-no-obsolete",
            "-locations",
            "none",  # line numbers would make every edit of gui/ a change (and a merge conflict) here
            "-target-language",
            language,
            *([] if everything else ["-pluralonly"]),
            *sources,
            "-ts",
            str(ts_path(language, folder)),
        ]
        subprocess.run(command, check=True)  # noqa: S603 - our own tool, our own file names


def release(folder: Path = I18N) -> None:
    for language in LANGUAGES:
        command = [str(qt_tool("lrelease")), "-silent", str(ts_path(language, folder)), "-qm"]
        subprocess.run([*command, str(qm_path(language, folder))], check=True)  # noqa: S603 - as above


def untranslated(ts_file: Path, language: str) -> list[Untranslated]:
    """Messages of a .ts with no finished translation (unfinished, empty, or a plural form left empty)."""
    missing = []
    root = ElementTree.parse(ts_file).getroot()  # noqa: S314 - the repository's own .ts files
    for context in root.iter("context"):
        name = context.findtext("name", "")
        for message in context.iter("message"):
            translation = message.find("translation")
            kind = translation.get("type") if translation is not None else "unfinished"
            if kind in ("vanished", "obsolete"):
                continue
            forms = [] if translation is None else list(translation.iter("numerusform"))
            texts = (
                [form.text for form in forms]
                if forms
                else [None if translation is None else translation.text]
            )
            if kind == "unfinished" or not all(text and text.strip() for text in texts):
                missing.append(Untranslated(language, name, message.findtext("source", "")))
    return missing


def check() -> list[Untranslated]:
    """Extract gui/ into copies of the committed .ts files and list what has no finished translation."""
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        for language in LANGUAGES:
            if ts_path(language).is_file():
                shutil.copy(ts_path(language), ts_path(language, folder))
        update_ts(folder)
        return [item for language in LANGUAGES for item in untranslated(ts_path(language, folder), language)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; fail on untranslated texts")
    options = parser.parse_args(argv)
    if options.check:
        missing = check()
        for item in missing:
            print(item)
        print(f"{len(missing)} untranslated text(s)" if missing else "every text is translated")
        return 1 if missing else 0
    update_ts()
    release()
    missing = [item for language in LANGUAGES for item in untranslated(ts_path(language), language)]
    for item in missing:
        print(item)
    print(f"updated {I18N.relative_to(ROOT)}; {len(missing)} text(s) still to translate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
