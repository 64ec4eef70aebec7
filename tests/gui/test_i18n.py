"""Languages: every text in gui/ has a finished Simplified Chinese translation, none bypasses Qt's translation,
the window built in zh_CN shows no English left, and the Settings choice switches the language."""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from PySide6.QtCore import QAbstractItemModel, QLocale, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QSpinBox,
    QTableView,
    QTabWidget,
    QWidget,
)

from core.client_setup import Client
from core.config import load_settings, save_settings
from core.types import LogEntry
from core.update_check import Release
from gui import app as gui_app
from gui.app import AppOptions, RunningApp, main
from gui.controller import AppController
from gui.dialogs.signin import SignInDialog
from gui.i18n import CHINESE, ENGLISH, apply_language, current_language, i18n_dir, resolve_language, translate
from gui.main_window import MainWindow, Page
from gui.models.request_log_model import RequestLogModel
from gui.pages.accounts import AccountsPage
from gui.pages.dashboard import DashboardPage
from gui.pages.requests import RequestsPage
from gui.pages.settings import SettingsPage
from gui.tasks import cancel_all
from gui.tray import Tray
from gui.widgets.chart import TimeChart
from tests.fake_google import FakeGoogle
from tests.gui.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
GUI = ROOT / "gui"

# Words that stay as they are in Chinese: product and company names, protocols, formats and units.
KEPT_WORDS = {
    "gravity", "desk", "google", "gemini", "claude", "code", "openai", "anthropic", "ollama", "antigravity",
    "api", "sdk", "json", "lines", "csv", "python", "powershell", "curl", "url", "http", "https", "ai",
    "studio", "pro", "flash", "ultra", "opus", "sonnet", "haiku", "windows", "macos", "gnome", "keyring",
    "kwallet", "credential", "manager", "keychain", "ms", "utc", "toml", "oauth", "ok", "env", "cli", "codex",
    "opencode",
}  # fmt: skip
# Data, not words: addresses, e-mail addresses, paths and file names, model ids, keys, placeholders.
_DATA = re.compile(
    r"https?://\S+|\bsk-\S*|[\w.+-]+@[\w.…-]*|\S*[/\\]\S*|\b\w+\.\w+\b|\b[\w-]*[\d_-][\w.-]*\b|\{[^}]*\}|<[^>]+>|&\w+;"
)
_WORD = re.compile(r"[A-Za-z]{2,}")


def english_words(text: str) -> list[str]:
    """The English words left in a text once data and kept names are taken out."""
    return [word for word in _WORD.findall(_DATA.sub(" ", text)) if word.lower() not in KEPT_WORDS]


def i18n_script() -> ModuleType:
    """scripts/i18n.py, the tool people run: the test checks with the same code."""
    spec = importlib.util.spec_from_file_location("gravity_desk_i18n_script", ROOT / "scripts" / "i18n.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def chinese() -> Iterator[None]:
    assert apply_language(CHINESE) == CHINESE
    yield
    apply_language(ENGLISH)


# -- the catalogues ---------------------------------------------------------------------------------------


def test_every_text_in_gui_has_a_finished_translation() -> None:
    """lupdate (PySide6's own) extracts every tr()/translate()/QT_TRANSLATE_NOOP text from gui/ into a copy of
    the committed .ts files: a text that is new, changed or left unfinished there fails here."""
    missing = i18n_script().check()
    listing = "\n".join(f"  {item}" for item in missing)
    assert not missing, (
        f"{len(missing)} text(s) in gui/ have no finished translation:\n{listing}\n"
        "Run `.venv/bin/python scripts/i18n.py`, translate them in assets/i18n/gravity_desk_zh_CN.ts (and the "
        "plural forms in gravity_desk_en.ts), run it again and commit the .ts and .qm files."
    )


def test_the_committed_catalogues_are_compiled_from_their_sources(tmp_path: Path) -> None:
    script = i18n_script()
    for language in script.LANGUAGES:
        compiled = tmp_path / f"{language}.qm"
        subprocess.run(
            [str(script.qt_tool("lrelease")), "-silent", str(script.ts_path(language)), "-qm", str(compiled)],
            check=True,
        )
        assert compiled.read_bytes() == script.qm_path(language).read_bytes(), (
            f"{script.qm_path(language).name} is older than its .ts: run `.venv/bin/python scripts/i18n.py`"
        )


def test_the_catalogue_checker_finds_an_unfinished_text(tmp_path: Path) -> None:
    """The completeness test can fail: a message lupdate marks unfinished, or a plural form left empty."""
    ts = tmp_path / "x.ts"
    ts.write_text(
        '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE TS><TS version="2.1" language="zh_CN">'
        "<context><name>Page</name>"
        "<message><source>Done</source><translation>完成</translation></message>"
        '<message><source>New text</source><translation type="unfinished"></translation></message>'
        '<message numerus="yes"><source>%n rows</source><translation><numerusform></numerusform>'
        "</translation></message>"
        "</context></TS>",
        encoding="utf-8",
    )
    missing = i18n_script().untranslated(ts, "zh_CN")
    assert [(item.context, item.source) for item in missing] == [("Page", "New text"), ("Page", "%n rows")]


_TEXT_CALLS = {
    "setText", "setToolTip", "setPlaceholderText", "setWindowTitle", "setInformativeText", "setTitle",
    "addItem", "addItems", "addAction", "addSection", "addTab", "setTabText", "showMessage", "setSuffix",
    "setPrefix", "setSpecialValueText", "setStatusTip", "setLabelText", "setCancelButtonText", "addButton",
    "setHorizontalHeaderLabels", "setNameFilters", "addRow", "setPlainText", "drawText", "show_message",
    "show_notification", "show_error", "ask_to_confirm", "_set_phase", "_show_status", "_fail",
    "QPushButton", "QLabel", "QCheckBox", "QGroupBox", "QAction", "QRadioButton", "QToolButton", "QMessageBox",
    "QProgressDialog", "QFileDialog", "QListWidgetItem", "QTableWidgetItem", "TimeChart", "ChartSeries",
}  # fmt: skip
_NAMES_THAT_STAY = {
    "Gravity Desk",
    "OpenAI",
    "Gemini",
    "Ollama",
    "English",
    "简体中文",
    "AIza…",
}  # AIza: key prefix


def _literal_words(node: ast.AST) -> bool:
    """Whether an argument is (or holds) a literal with English words: text that skips translation."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value not in _NAMES_THAT_STAY and bool(english_words(node.value))
    if isinstance(node, ast.JoinedStr):
        skeleton = "".join(
            str(part.value) if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
        return bool(english_words(str(skeleton)))
    if isinstance(node, ast.List | ast.Tuple):
        return any(_literal_words(element) for element in node.elts)
    if isinstance(node, ast.IfExp):
        return _literal_words(node.body) or _literal_words(node.orelse)
    if isinstance(node, ast.BinOp):
        return _literal_words(node.left) or _literal_words(node.right)
    return False


def untranslated_literals(source: str, filename: str) -> list[str]:
    """Calls in `source` that put literal English on the screen, and tr() calls lupdate cannot read."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        name = getattr(function, "attr", None) or getattr(function, "id", None)
        arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
        where = f"{filename}:{node.lineno}: {ast.unparse(node)[:100]}"
        if (isinstance(function, ast.Attribute) and name == "tr") or name == "QT_TRANSLATE_NOOP":
            # lupdate reads literal contexts and texts only: an f-string or a variable is never translated.
            if not all(isinstance(argument, ast.Constant) for argument in node.args[:2]):
                found.append(where + "  <- context and text must be string literals")
        elif isinstance(function, ast.Name) and name == "translate":
            # translate("Context", CONSTANT) shows a text a QT_TRANSLATE_NOOP table marked for lupdate.
            context, text = [*node.args, None, None][:2]
            if not isinstance(context, ast.Constant) or isinstance(
                text, ast.JoinedStr | ast.Call | ast.BinOp
            ):
                found.append(where + "  <- context and text must be string literals")
        elif name in _TEXT_CALLS and any(_literal_words(argument) for argument in arguments):
            found.append(where)
    return found


def test_no_text_in_gui_bypasses_translation() -> None:
    found = [
        line
        for path in sorted(GUI.rglob("*.py"))
        for line in untranslated_literals(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert not found, "English text shown without self.tr()/translate():\n" + "\n".join(found)


def test_the_bypass_check_finds_literal_english() -> None:
    source = (
        "QPushButton('Sign in')\nlabel.setText(f'Serving on {url}')\nself.tr(f'Hi {name}')\n"
        "QPushButton(self.tr('Sign in'))\nlabel.setText(self.tr('Serving on {url}').format(url=url))\n"
        "translate(context, 'x')\nlabel.setText('127.0.0.1')\ntranslate('Page', LABEL)\n"
        "painter.translate(1, 2)\nlabel.setText(f'<b>{title}</b>')\n"
    )
    assert [line.split(":")[1] for line in untranslated_literals(source, "x.py")] == ["1", "2", "3", "6"]


# -- choosing the language --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "locale", "expected"),
    [
        ("system", QLocale(QLocale.Language.Chinese, QLocale.Country.China), CHINESE),
        ("system", QLocale(QLocale.Language.Chinese, QLocale.Country.Taiwan), CHINESE),
        ("system", QLocale(QLocale.Language.English, QLocale.Country.UnitedStates), ENGLISH),
        ("system", QLocale(QLocale.Language.German, QLocale.Country.Germany), ENGLISH),
        ("en", QLocale(QLocale.Language.Chinese, QLocale.Country.China), ENGLISH),
        ("zh_CN", QLocale(QLocale.Language.English, QLocale.Country.UnitedStates), CHINESE),
    ],
)
def test_the_language_follows_the_system_unless_chosen(choice: str, locale: QLocale, expected: str) -> None:
    assert resolve_language(choice, locale) == expected


@pytest.mark.usefixtures("qapp")
def test_the_catalogues_are_found_where_the_app_looks() -> None:
    assert (i18n_dir() / "gravity_desk_zh_CN.qm").is_file() and (i18n_dir() / "gravity_desk_en.qm").is_file()
    try:
        apply_language(CHINESE)
        assert current_language() == CHINESE
        assert translate("MainWindow", "Accounts") == "账号"
        # Qt's own texts (standard buttons) come with it: qtbase_zh_CN.qm from PySide6.
        box = QMessageBox()
        box.setStandardButtons(QMessageBox.StandardButton.Cancel)
        assert box.button(QMessageBox.StandardButton.Cancel).text() == "取消"
        box.deleteLater()
    finally:
        apply_language(ENGLISH)
    assert translate("MainWindow", "Accounts") == "Accounts"
    with pytest.raises(ValueError, match="unknown language"):
        apply_language("fr")


@pytest.mark.parametrize(
    ("count", "expected"), [(1, "Exported 1 request to x."), (3, "Exported 3 requests to x.")]
)
def test_english_plural_forms(count: int, expected: str) -> None:
    text = translate("RequestsPage", "Exported %n request(s) to {path}.", "", count).format(path="x")
    assert text == expected


# -- the window in Chinese --------------------------------------------------------------------------------


def _model_texts(model: QAbstractItemModel, *, cells: bool) -> Iterator[tuple[str, str]]:
    for section in range(model.columnCount()):
        for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            value = model.headerData(section, Qt.Orientation.Horizontal, role)
            if isinstance(value, str):
                yield "header", value
    if cells:
        for row in range(model.rowCount()):
            for column in range(model.columnCount()):
                for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                    value = model.data(model.index(row, column), role)
                    if isinstance(value, str):
                        yield f"cell {row},{column}", value


def _own_texts(widget: QWidget) -> Iterator[str]:
    """The texts a widget itself shows, by its kind (children are walked separately)."""
    if isinstance(widget, QLabel | QAbstractButton):
        yield widget.text()
    elif isinstance(widget, QGroupBox):
        yield widget.title()
    elif isinstance(widget, QLineEdit):
        yield widget.placeholderText()
    elif isinstance(widget, QComboBox):
        yield from (widget.itemText(i) for i in range(widget.count()))
    elif isinstance(widget, QTabWidget):
        yield from (widget.tabText(i) for i in range(widget.count()))
    elif isinstance(widget, QSpinBox):
        yield widget.suffix() + " " + widget.specialValueText()
    elif isinstance(widget, QPlainTextEdit) and widget.isReadOnly():
        yield widget.toPlainText()
    elif isinstance(widget, QListWidget):
        yield from (widget.item(i).text() for i in range(widget.count()))
    elif isinstance(widget, TimeChart):
        yield " ".join([widget.title, widget.empty_text, *(s.name for s in widget.series)])


def visible_texts(root: QWidget, *, skip: tuple[QWidget, ...] = ()) -> Iterator[tuple[str, str]]:
    """(where, text) for every text a person can see or hover on `root` and its children, hidden ones too
    (they show when their moment comes): labels, buttons, titles, placeholders, items, headers, cells."""
    for widget in [root, *root.findChildren(QWidget)]:
        if any(widget is s or s.isAncestorOf(widget) for s in skip):
            continue
        where = f"{type(widget).__name__}({widget.objectName() or '-'})"
        if widget.isWindow():
            yield where + ".windowTitle", widget.windowTitle()
        yield where + ".toolTip", widget.toolTip()
        yield from ((where, text) for text in _own_texts(widget))
        model = widget.model() if isinstance(widget, QTableView) else None  # lists and combos: above
        if model is not None:
            # Cells of the accounts table are the app's words (states, quota texts); the request log's are data
            # (paths, models, the gateway's own error texts, which clients get in English too).
            cells = not isinstance(model, RequestLogModel)
            for place, text in _model_texts(model, cells=cells):
                yield f"{where}.{place}", text
        for action in widget.actions():
            yield f"{where}.action", action.text()


# Data that reads like English: Google's tier names, the gateway's error texts (clients get them too, in
# English), the key prefix in the API-key placeholder, and English as the name of its language.
DATA_TEXTS: list[str] = ["AIza…", "English"]


def english_left(texts: Iterable[tuple[str, str]]) -> list[str]:
    found = []
    for where, text in texts:
        cleaned = text
        for data in DATA_TEXTS:
            cleaned = cleaned.replace(data, " ")
        if words := english_words(cleaned):
            found.append(f"{where}: {text!r} ({', '.join(words)})")
    return found


def test_english_words_are_found_and_data_is_not() -> None:
    assert english_words("Sign in with Google") == ["Sign", "in", "with"]
    assert english_words("alice@example.com —— 70%（3 小时后重置）") == []  # noqa: RUF001
    assert english_words("正在 http://127.0.0.1:8045 上提供服务") == []
    assert english_words("gemini-3-pro-preview → claude-sonnet-4-5") == []
    assert english_words("复制 API 密钥 sk-gd-…a1b2") == []
    assert english_words("Pause") == ["Pause"]


async def _walk_everything(
    controller: AppController, window: MainWindow, tray: Tray, home: Path
) -> list[str]:
    found: list[str] = []
    dashboard = window.page(Page.DASHBOARD)
    assert isinstance(dashboard, DashboardPage)
    await wait_until(lambda: bool(dashboard.requests_chart.series))
    # The banners and notices that come and go: a stale client version, a newer release.
    controller.stale_client.emit("antigravity/hub/1.0.0 linux/amd64")
    controller.update_available.emit(Release("v9.9.9", "https://example.com/releases"))
    for page in Page:
        window.show_page(page)
        await asyncio.sleep(0.05)
    skip = tuple(dashboard.snippet_views.values())  # code: product names, variables, shell commands
    found += english_left(visible_texts(window, skip=skip))
    menu = tray.contextMenu()
    assert isinstance(menu, QMenu)
    found += english_left(("tray menu", action.text()) for action in menu.actions())
    found += english_left([("tray tooltip", tray.toolTip())])
    snippet_comments = [  # the prose comments; "# export …" is a line of code left commented out
        line
        for view in skip
        for line in view.toPlainText().splitlines()
        if line.lstrip().startswith("#")
        and line.rstrip().endswith((":", "\uff1a"))  # a colon, or a Chinese one
    ]
    assert snippet_comments
    found += english_left(("snippet comment", line.split("#", 1)[1]) for line in snippet_comments)

    accounts = window.page(Page.ACCOUNTS)
    assert isinstance(accounts, AccountsPage)
    accounts.table.selectRow(0)
    accounts.remove_selected()
    assert accounts.remove_box is not None
    found += english_left(visible_texts(accounts.remove_box))
    accounts.remove_box.reject()
    key_dialog = accounts.open_api_key_dialog()
    found += english_left(visible_texts(key_dialog))
    key_dialog.set_busy(True)
    found += english_left(visible_texts(key_dialog))
    key_dialog.reject()
    for hint in (None, "alice@example.com"):
        sign_in = SignInDialog(controller, window, login_hint=hint)
        found += english_left(visible_texts(sign_in))
        sign_in.show()
        await asyncio.sleep(0)
        # Short Chinese words must not fold the instructions into a narrow strip.
        assert sign_in.width() >= 470
        sign_in.hide()
        sign_in.deleteLater()

    requests = window.page(Page.REQUESTS)
    assert isinstance(requests, RequestsPage)
    requests.confirm_clear()
    assert requests.clear_confirmation is not None
    found += english_left(visible_texts(requests.clear_confirmation))
    requests.clear_confirmation.reject()
    requests.table.selectRow(0)
    await asyncio.sleep(0.1)
    detail = requests.detail.toPlainText()
    assert "/v1/chat/completions" in detail
    found += english_left([("request detail", detail)])

    settings = window.page(Page.SETTINGS)
    assert isinstance(settings, SettingsPage)
    settings.keys_list.setCurrentRow(0)
    settings.ask_revoke_selected_key()
    box = settings.findChild(QMessageBox)
    assert box is not None
    found += english_left(visible_texts(box))
    box.reject()

    dashboard.client_home = home
    for client in Client:
        setup = dashboard.open_client_setup(client)
        await asyncio.sleep(0.05)
        diffs = tuple(setup.findChildren(QPlainTextEdit))  # the config file's own text
        found += english_left(visible_texts(setup, skip=diffs))
        setup.reject()
    new_key = settings.generate_key()
    found += english_left(visible_texts(new_key))
    new_key.reject()

    reporter = gui_app.ErrorReporter()
    reporter.show(ValueError("boom"))
    assert reporter.dialog is not None
    found += english_left(
        (where, text) for where, text in visible_texts(reporter.dialog) if "ValueError" not in text
    )
    reporter.show(ValueError("again"))
    found += english_left([("error count", reporter.dialog.text())])
    reporter.close()
    return found


@pytest.mark.usefixtures("chinese")
async def test_the_chinese_window_shows_no_english(controller: AppController, tmp_path: Path) -> None:
    """Main window with every page, the tray menu and the dialogs, built in zh_CN: no English word left
    but names (Google, Gemini, API…) and data (addresses, e-mails, model ids)."""
    controller.settings.ui.language = "zh_CN"
    DATA_TEXTS.extend(
        [account.tier for account in controller.services.accounts.accounts() if account.tier]
        + [key.name for key in controller.services.api_keys.configured()]  # names people give their keys
        + ["upstream quota exhausted"]
    )
    controller.services.request_log.record(
        LogEntry(
            started_at=datetime.now(UTC),
            protocol="openai",
            path="/v1/chat/completions",
            client_model="gpt-4o",
            upstream_model="gemini-3-pro",
            account="alice@example.com",
            status=429,
            latency_ms=812.0,
            ttfb_ms=None,
            stream=True,
            tokens_in=12,
            tokens_out=0,
            error="upstream quota exhausted",
        )
    )
    await asyncio.to_thread(controller.services.request_log.flush)
    window = MainWindow(controller)
    tray = Tray(controller, window)
    window.resize(1120, 720)
    window.show()
    try:
        requests = window.page(Page.REQUESTS)
        assert isinstance(requests, RequestsPage)
        await wait_until(lambda: requests.model.rowCount() > 0)
        found = await _walk_everything(controller, window, tray, tmp_path / "home")
        assert not found, "English left in the zh_CN window:\n" + "\n".join(found)
        assert window.navigation.item(0).text() == "账号"
    finally:
        window.close_to_tray = False
        window.close()
        tray.deleteLater()
        window.deleteLater()
        await cancel_all()


async def test_the_check_sees_english_in_the_window(controller: AppController) -> None:
    """The same walk over the English window finds plenty (so the Chinese test can fail)."""
    window = MainWindow(controller)
    try:
        found = english_left(visible_texts(window))
        assert len(found) > 50 and any("Sign in with Google" in line for line in found)
    finally:
        window.deleteLater()
        await cancel_all()


# -- switching in Settings --------------------------------------------------------------------------------


async def test_choosing_chinese_in_settings_shows_chinese_from_the_next_start(
    fake_google: FakeGoogle, tmp_path: Path
) -> None:
    settings = fake_google.settings(tmp_path)
    save_settings(settings)
    running = await _start(tmp_path)
    page = running.window.page(Page.SETTINGS)
    assert isinstance(page, SettingsPage)
    assert running.window.navigation.item(0).text() == "Accounts"
    assert page.language_note.isHidden()
    page.language_combo.setCurrentIndex(page.language_combo.findData("zh_CN"))
    # Said in the language chosen: whoever picks it may not read the current one.
    assert not page.language_note.isHidden() and "简体中文" in page.language_note.text()
    page.apply_button.click()
    await wait_until(lambda: page.status_label.text() == "Applied and saved.")
    assert tomllib.loads((tmp_path / "config.toml").read_text())["ui"]["language"] == "zh_CN"
    assert load_settings(tmp_path, apply_env=False).ui.language == "zh_CN"
    running.quit()
    assert await asyncio.wait_for(running_task(running), 15) == 0

    again = await _start(tmp_path)
    try:
        window = again.window
        assert [window.navigation.item(i).text() for i in range(4)] == ["账号", "请求日志", "仪表盘", "设置"]
        settings_page = window.page(Page.SETTINGS)
        assert isinstance(settings_page, SettingsPage)
        assert settings_page.apply_button.text() == "应用" and settings_page.language_note.isHidden()
        assert "提供服务" in window.server_label.text()
        # And back: English is listed by its own name.
        combo = settings_page.language_combo
        assert [combo.itemText(i) for i in range(combo.count())] == ["跟随系统", "English", "简体中文"]
        combo.setCurrentIndex(combo.findData("en"))
        assert "English" in settings_page.language_note.text()
    finally:
        again.quit()
        assert await asyncio.wait_for(running_task(again), 15) == 0
        apply_language(ENGLISH)


_TASKS: dict[int, asyncio.Task[int]] = {}


async def _start(home: Path) -> RunningApp:
    started: asyncio.Future[RunningApp] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(main(AppOptions(home=home, use_keyring=False), ready=started.set_result))
    waiting: list[asyncio.Future[Any]] = [started, task]
    done, _ = await asyncio.wait(waiting, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    assert started in done, "the app did not start"
    running = started.result()
    _TASKS[id(running)] = task
    return running


def running_task(running: RunningApp) -> asyncio.Task[int]:
    return _TASKS.pop(id(running))
