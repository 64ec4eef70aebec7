"""The settings page driven by clicks and keys, checked through the real server, the fake Google and disk."""

from __future__ import annotations

import asyncio
import configparser
import shlex
import socket
import tomllib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QMessageBox,
    QProxyStyle,
    QStyle,
    QStyleHintReturn,
    QStyleOption,
    QWidget,
)
from pytestqt.qtbot import QtBot

from core.config import load_settings
from gui.controller import AppController, ServerStatus
from gui.pages.settings import ModelMappingModel, SettingsPage, apply_theme
from tests.fake_google import FakeGoogle
from tests.gui.conftest import API_KEY
from tests.gui.helpers import SignalRecorder, click, wait_until


@pytest.fixture
def xdg_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every Apply syncs the start-at-login entry: keep it away from the real ~/.config."""
    folder = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


@pytest.fixture
async def page(
    controller: AppController,
    qtbot: QtBot,
    xdg_config_home: Path,  # noqa: ARG001 - asked for its effect: autostart writes into a scratch folder
) -> AsyncIterator[SettingsPage]:
    widget = SettingsPage(controller)
    qtbot.addWidget(widget)
    widget.resize(800, 1000)
    widget.show()
    yield widget
    apply_theme("system")


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else is listening on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _saved(controller: AppController) -> dict[str, Any]:
    return tomllib.loads(controller.settings.config_path.read_text(encoding="utf-8"))


async def _click_apply(page: SettingsPage) -> bool:
    recorder = SignalRecorder(page.applied)
    assert page.apply_button.isEnabled()
    click(page.apply_button)
    await wait_until(lambda: bool(recorder.emissions))
    ((ok,),) = recorder.emissions
    return bool(ok)


def _toggle(check: QCheckBox) -> None:
    # A check box only reacts to clicks on its box and label, not on the rest of its (full-width) row.
    click(check, pos=QPoint(8, check.height() // 2))


def _type(edit: QLineEdit, text: str) -> None:
    edit.clear()
    QTest.keyClicks(edit, text)


async def _chat(url: str, key: str, model: str = "gemini-3-flash") -> int:
    body = {"model": model, "messages": [{"role": "user", "content": "hi there"}]}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
        ) as reply,
    ):
        return reply.status


async def _models_status(url: str, key: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"}) as reply,
    ):
        return reply.status


async def test_port_change_restarts_the_listener_in_place(
    page: SettingsPage, controller: AppController
) -> None:
    old_url = controller.state.url
    port = _free_port()
    _type(page.port_edit, str(port))
    assert await _click_apply(page)
    assert controller.state.status is ServerStatus.SERVING
    assert controller.state.url == f"http://127.0.0.1:{port}"
    assert page.server_state_label.text() == f"Serving at http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.get(old_url + "/healthz"):
                pass
    assert _saved(controller)["server"]["port"] == port
    assert not page.apply_button.isEnabled()  # nothing left to apply


async def test_busy_port_shows_the_error_and_keeps_the_form_editable(
    page: SettingsPage, controller: AppController, busy_port: int
) -> None:
    _type(page.port_edit, str(busy_port))
    assert not await _click_apply(page)
    assert controller.state.status is ServerStatus.FAILED
    assert page.listener_error.isVisible()
    assert (
        f"Port {busy_port}" in page.listener_error.text() and "already in use" in page.listener_error.text()
    )
    assert page.port_edit.isEnabled() and page.apply_button.isEnabled()
    # The user picks another port: the listener comes back and the message goes away.
    port = _free_port()
    _type(page.port_edit, str(port))
    assert await _click_apply(page)
    applied = controller.state
    assert applied.status is ServerStatus.SERVING and applied.url.endswith(f":{port}")
    assert not page.listener_error.isVisible()


async def _add_key(page: SettingsPage, name: str) -> str:
    """Add a key through the dialog as a person would: name it, Create, read the key it shows, Close."""
    click(page.generate_key_button)
    dialog = page.new_key_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.name_edit.clear()
    QTest.keyClicks(dialog.name_edit, name)
    click(dialog.create_button)
    shown = dialog.key_field.text()
    assert shown.startswith("sk-gd-") and dialog.key_field.isVisible()  # the whole key, once
    click(dialog.copy_button)
    assert QApplication.clipboard().text() == shown
    click(dialog.close_button)
    await wait_until(lambda: page.new_key_dialog is None)
    return shown


async def test_generate_and_revoke_keys_through_the_real_server(
    page: SettingsPage, controller: AppController
) -> None:
    url = controller.state.url
    assert page.keys_list.count() == 1 and API_KEY not in page.keys_list.item(0).text()  # shown masked
    assert page.keys_list.item(0).text().startswith("default ")  # the one key of before is "default"
    new_key = await _add_key(page, "my editor")
    assert page.keys_list.count() == 2
    assert page.keys_list.item(1).data(Qt.ItemDataRole.UserRole) == new_key
    assert new_key != API_KEY and new_key not in page.keys_list.item(1).text()
    assert page.keys_list.item(1).text().startswith(f"my editor    gd-…{new_key[-4:]}")
    assert await _models_status(url, new_key) == 401  # not applied yet
    assert await _click_apply(page)
    assert await _models_status(url, new_key) == 200

    page.keys_list.setCurrentRow(0)
    click(page.revoke_key_button)
    box = page.findChild(QMessageBox)
    assert box is not None and box.isVisible() and API_KEY not in box.text()
    click(box.button(QMessageBox.StandardButton.Cancel))
    assert page.keys_list.count() == 2  # cancelled: nothing revoked

    click(page.revoke_key_button)
    box = page._confirm_box
    assert box is not None
    click(box.button(QMessageBox.StandardButton.Yes))
    assert page.keys_list.count() == 1
    assert await _models_status(url, API_KEY) == 200  # still valid until applied
    assert await _click_apply(page)
    assert await _models_status(url, API_KEY) == 401
    assert await _models_status(url, new_key) == 200
    assert _saved(controller)["server"]["api_keys"] == [new_key]
    # The names live in the database, without the values; the revoked key's record is gone.
    records = await asyncio.to_thread(controller.services.db.list_api_keys)
    assert [record.name for record in records] == ["my editor"]
    assert new_key not in repr(records)


async def test_named_keys_are_renamed_used_and_logged_by_name(
    page: SettingsPage, controller: AppController
) -> None:
    url = controller.state.url
    second = await _add_key(page, "scripts")
    assert await _click_apply(page)
    page.keys_list.setCurrentRow(0)
    click(page.rename_key_button)
    dialog = page.rename_dialog
    assert dialog is not None and dialog.textValue() == "default"
    dialog.setTextValue("laptop")
    dialog.accept()
    assert page.keys_list.item(0).text().startswith("laptop ")
    assert await _click_apply(page)
    assert await _models_status(url, API_KEY) == 200
    assert await _models_status(url, second) == 200
    await asyncio.to_thread(controller.services.request_log.flush)
    rows = await asyncio.to_thread(controller.services.db.query_log)
    assert [row.key_name for row in rows[:2]] == ["scripts", "laptop"]
    assert all(API_KEY not in repr(row) and second not in repr(row) for row in rows)
    records = {
        record.name: record for record in await asyncio.to_thread(controller.services.db.list_api_keys)
    }
    assert set(records) == {"laptop", "scripts"}
    assert records["laptop"].last_used_at is not None and records["scripts"].last_used_at is not None
    # The list shows the last use (read back from the ring the server updates), never the value.
    page.revert()
    assert "never" not in page.keys_list.item(1).text() and second not in page.keys_list.item(1).text()


async def test_no_keys_warns_that_auth_is_off(page: SettingsPage) -> None:
    assert not page.no_keys_warning.isVisible()
    page.keys_list.setCurrentRow(0)
    click(page.revoke_key_button)
    box = page._confirm_box
    assert box is not None and "last key" in box.text()
    click(box.button(QMessageBox.StandardButton.Yes))
    assert page.no_keys_warning.isVisible() and "authentication is off" in page.no_keys_warning.text()
    click(page.revert_button)
    assert page.keys_list.count() == 1 and not page.no_keys_warning.isVisible()
    assert not page.revert_button.isEnabled()


def _visible_editor[W: (QLineEdit, QComboBox)](page: SettingsPage, kind: type[W]) -> W:
    editors = [w for w in page.mapping_view.viewport().findChildren(kind) if w.isVisible()]
    assert len(editors) == 1, editors
    return editors[0]


async def test_model_mapping_edit_reaches_the_fake_with_the_upstream_model(
    page: SettingsPage, controller: AppController, fake_google: FakeGoogle
) -> None:
    model = page.mapping_model
    click(page.add_rule_button)
    assert model.rowCount() == 1
    pattern_editor = _visible_editor(page, QLineEdit)
    QTest.keyClicks(pattern_editor, "my-team-*")
    QTest.keyClick(pattern_editor, Qt.Key.Key_Return)
    target = model.index(0, ModelMappingModel.UPSTREAM)
    page.mapping_view.setCurrentIndex(target)
    page.mapping_view.edit(target)
    combo = _visible_editor(page, QComboBox)
    offered = [combo.itemText(i) for i in range(combo.count())]
    assert "gemini-3-flash" in offered and "claude-sonnet-4-5" in offered  # what alice's account offers
    combo.setCurrentIndex(offered.index("gemini-3-flash"))
    page.mapping_view.setCurrentIndex(model.index(0, ModelMappingModel.CLIENT))  # moving away commits
    assert model.rules() == [("my-team-*", "gemini-3-flash")]

    assert await _click_apply(page)
    assert await _chat(controller.state.url, API_KEY, model="my-team-coder") == 200
    assert fake_google.generate_calls()[-1].model == "gemini-3-flash"
    assert _saved(controller)["models"] == {"my-team-*": "gemini-3-flash"}

    page.mapping_view.selectRow(0)
    click(page.remove_rule_button)
    assert model.rowCount() == 0
    assert await _click_apply(page)
    assert _saved(controller)["models"] == {}


async def test_half_filled_mapping_row_is_refused(page: SettingsPage) -> None:
    page.mapping_model.add_row("gpt-4o", "")
    click(page.apply_button)
    error = page.findChild(type(page.status_label), "error_models")
    assert error is not None and error.isVisible() and "Row 1" in error.text()


async def test_body_capture_toggle_applies_to_the_next_request(
    page: SettingsPage, controller: AppController
) -> None:
    recorder = SignalRecorder(controller.log_rows_added)
    assert await _chat(controller.state.url, API_KEY) == 200
    await wait_until(lambda: len(recorder.emissions) == 1)
    (([before],),) = recorder.emissions
    assert before.request_body is None and before.response_body is None

    _toggle(page.capture_bodies_check)
    assert await _click_apply(page)
    assert await _chat(controller.state.url, API_KEY) == 200
    await wait_until(lambda: len(recorder.emissions) == 2)
    ([after],) = recorder.emissions[1]
    assert after.request_body is not None and "hi there" in after.request_body
    assert after.response_body is not None and "choices" in after.response_body
    assert _saved(controller)["log"]["capture_bodies"] is True


async def test_every_field_is_saved_to_config_toml(page: SettingsPage, controller: AppController) -> None:
    page.endpoints_edit.setPlainText("https://one.example.com\n\n  https://two.example.com  \n")
    _type(page.client_version_edit, "1.16.2")
    page.quota_refresh_spin.setValue(5)
    page.retention_spin.setValue(7)
    page.max_rows_spin.setValue(50_000)
    _toggle(page.start_minimized_check)
    page.theme_combo.setCurrentIndex(page.theme_combo.findData("dark"))
    page.language_combo.setCurrentIndex(page.language_combo.findData("zh_CN"))
    assert await _click_apply(page)
    saved = _saved(controller)
    assert saved["upstream"]["endpoints"] == ["https://one.example.com", "https://two.example.com"]
    assert saved["upstream"]["client_version"] == "1.16.2"
    assert saved["upstream"]["quota_refresh_minutes"] == 5.0
    assert (saved["log"]["retention_days"], saved["log"]["max_rows"]) == (7, 50_000)
    assert saved["ui"] == {
        "start_minimized": True,
        "start_at_login": False,
        "theme": "dark",
        "language": "zh_CN",
    }
    # The app reads the file back the same way on its next start.
    again = load_settings(controller.settings.home, apply_env=False)
    assert again.ui.theme == "dark" and again.upstream.client_version == "1.16.2"


async def _chat_reply(url: str, key: str, model: str) -> tuple[int, str]:
    body = {"model": model, "messages": [{"role": "user", "content": "anything left?"}]}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
        ) as reply,
    ):
        return reply.status, await reply.text()


async def test_quota_protection_reserve_is_applied_live_and_saved(
    page: SettingsPage, controller: AppController, fake_google: FakeGoogle
) -> None:
    fake_google.set_remaining("alice@example.com", "gemini-3-flash", 0.15)
    await controller.services.accounts.refresh_all_quotas()
    assert page.reserve_spin.value() == 0 and page.reserve_spin.text() == "off"
    page.reserve_spin.lineEdit().selectAll()
    QTest.keyClicks(page.reserve_spin.lineEdit(), "20")
    assert await _click_apply(page)
    assert controller.settings.quota.reserve_percent == 20.0
    assert _saved(controller)["quota"]["reserve_percent"] == 20.0
    status, text = await _chat_reply(controller.state.url, API_KEY, "gemini-3-flash")
    assert status == 429 and "Quota protection" in text and "quota.reserve_percent" in text
    assert (await _chat_reply(controller.state.url, API_KEY, "gemini-3.1-pro-high"))[
        0
    ] == 200  # 100 % left there
    page.reserve_spin.setValue(0)
    assert await _click_apply(page)
    assert (await _chat_reply(controller.state.url, API_KEY, "gemini-3-flash"))[0] == 200


async def test_start_at_login_writes_the_xdg_entry(
    page: SettingsPage, controller: AppController, xdg_config_home: Path
) -> None:
    entry = xdg_config_home / "autostart" / "gravity-desk.desktop"
    _toggle(page.start_at_login_check)
    assert await _click_apply(page)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(entry, encoding="utf-8")
    assert shlex.split(parser["Desktop Entry"]["Exec"])[-1] == "--minimized"
    assert _saved(controller)["ui"]["start_at_login"] is True
    _toggle(page.start_at_login_check)
    assert await _click_apply(page)
    assert not entry.exists() and _saved(controller)["ui"]["start_at_login"] is False


async def test_start_at_login_failure_is_shown_and_not_saved(
    page: SettingsPage, controller: AppController, xdg_config_home: Path
) -> None:
    xdg_config_home.mkdir()
    (xdg_config_home / "autostart").write_text("a file where the folder should be")
    _toggle(page.start_at_login_check)
    assert not await _click_apply(page)
    error = page.findChild(type(page.status_label), "error_start_at_login")
    assert error is not None and error.isVisible() and "Could not turn on start at login" in error.text()
    assert not page.start_at_login_check.isChecked()
    assert (
        controller.settings.ui.start_at_login is False and _saved(controller)["ui"]["start_at_login"] is False
    )


@pytest.mark.parametrize("port", ["70000", "eighty", "-1"])
async def test_port_out_of_range_is_refused_next_to_the_field(
    page: SettingsPage, controller: AppController, port: str
) -> None:
    recorder = SignalRecorder(page.applied)
    url, saved_port = controller.state.url, controller.settings.server.port
    _type(page.port_edit, port)
    click(page.apply_button)
    error = page.findChild(type(page.status_label), "error_port")
    assert error is not None and error.isVisible() and "between 1 and 65535" in error.text()
    assert "fix the fields marked in red" in page.status_label.text()
    assert recorder.emissions == [] and controller.state.url == url
    assert controller.settings.server.port == saved_port
    _type(page.port_edit, str(_free_port()))
    assert await _click_apply(page)
    assert not error.isVisible()


async def test_other_fields_are_validated_too(page: SettingsPage, controller: AppController) -> None:
    _type(page.host_edit, "not a host!")
    page.endpoints_edit.setPlainText("ftp://files.example.com")
    _type(page.client_version_edit, "latest")
    click(page.apply_button)
    for name, fragment in [("host", "not an address"), ("endpoints", "Line 1"), ("client_version", "1.15.8")]:
        label = page.findChild(type(page.status_label), f"error_{name}")
        assert label is not None and label.isVisible() and fragment in label.text(), name
    assert controller.settings.server.host == "127.0.0.1"
    assert controller.settings.upstream.client_version != "latest"


async def test_non_loopback_address_warns(page: SettingsPage) -> None:
    assert not page.host_warning.isVisible()
    _type(page.host_edit, "0.0.0.0")
    assert page.host_warning.isVisible() and "anyone on your network" in page.host_warning.text()
    # The names the server's Host check takes as this computer (core.config.is_loopback_host), no more.
    for loopback in (
        "localhost",
        "::1",
        "127.0.0.2",
        "[::1]",
        "LOCALHOST.",
        "ip6-localhost",
        "app.localhost",
    ):
        _type(page.host_edit, loopback)
        assert not page.host_warning.isVisible(), loopback
    for exposed in ("192.168.1.20", "localhost.example.com", "::"):
        _type(page.host_edit, exposed)
        assert page.host_warning.isVisible(), exposed


async def test_revert_puts_the_saved_values_back(page: SettingsPage, controller: AppController) -> None:
    assert not page.apply_button.isEnabled() and not page.revert_button.isEnabled()
    _type(page.client_version_edit, "9.9.9")
    _toggle(page.capture_bodies_check)
    assert page.apply_button.isEnabled() and page.revert_button.isEnabled()
    click(page.revert_button)
    assert page.client_version_edit.text() == controller.settings.upstream.client_version
    assert not page.capture_bodies_check.isChecked()
    assert not page.apply_button.isEnabled()


class _MacFormStyle(QProxyStyle):
    """The app's style, except that forms keep fields at their size hint, as macOS's style does."""

    def styleHint(
        self,
        hint: QStyle.StyleHint,
        option: QStyleOption | None = None,
        widget: QWidget | None = None,
        returnData: QStyleHintReturn | None = None,
    ) -> int:
        if hint is QStyle.StyleHint.SH_FormLayoutFieldGrowthPolicy:
            return QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint.value
        return super().styleHint(hint, option, widget, returnData)


def use_app_style(widget: QWidget) -> None:
    """Back to the application's style: Qt's setStyle(nullptr), which PySide's type hints do not admit."""
    set_style = cast(Callable[[QStyle | None], None], widget.setStyle)
    set_style(None)


async def test_endpoints_field_takes_the_form_width_under_a_mac_like_style(page: SettingsPage) -> None:
    groups = page.findChildren(QGroupBox)
    mac_style = _MacFormStyle()
    try:
        for group in groups:  # a widget's style does not reach its children, and forms ask their group
            group.setStyle(mac_style)
        page.resize(900, 1000)
        edit = page.endpoints_edit
        await wait_until(lambda: edit.width() > edit.sizeHint().width())
        parent = edit.parentWidget()
        assert parent is not None
        form = parent.layout()
        assert isinstance(form, QFormLayout)
        label = form.labelForField(edit)
        assert label is not None
        # The field reaches the group's right edge: all the width the form can give it.
        assert edit.geometry().right() >= parent.contentsRect().right() - form.contentsMargins().right() - 1
        assert label.geometry().right() < edit.geometry().left()
        longest = max(page.endpoints_edit.toPlainText().splitlines(), key=len)
        assert edit.fontMetrics().horizontalAdvance(longest) < edit.viewport().width()
    finally:
        for group in groups:
            use_app_style(group)  # before mac_style goes


def test_mapping_model_passes_the_model_tester(qtmodeltester: Any) -> None:
    model = ModelMappingModel()
    model.set_rules([("gpt-4*", "gemini-3.1-pro-high"), ("claude-*", "claude-sonnet-4-5")])
    qtmodeltester.check(model)
    model.add_row("o3", "gemini-3.1-pro-high")
    model.remove_rows([0])
    assert model.rules() == [("claude-*", "claude-sonnet-4-5"), ("o3", "gemini-3.1-pro-high")]
    qtmodeltester.check(model)
