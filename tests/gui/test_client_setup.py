"""One-click client setup from the Dashboard, in a temporary home: the diff first (key masked), Apply writes
what really works against the running gateway, Undo puts the file back byte for byte, a file Gravity Desk
cannot read is refused."""

from __future__ import annotations

import json
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import shiboken6
from pytestqt.qtbot import QtBot

from core.client_setup import Client, config_path
from gui.controller import AppController
from gui.dialogs.client_setup import ClientSetupDialog
from gui.pages.dashboard import DashboardPage
from gui.tasks import cancel_all
from tests.gui.conftest import API_KEY
from tests.gui.helpers import SignalRecorder, click, wait_until

CLAUDE_BEFORE = b'{\n  "model": "opus",\n  "env": {\n    "DISABLE_TELEMETRY": "1"\n  }\n}\n'


@pytest.fixture
async def page(controller: AppController, qtbot: QtBot, tmp_path: Path) -> AsyncIterator[DashboardPage]:
    widget = DashboardPage(controller, throttle_ms=50)
    widget.client_home = tmp_path / "home"
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    await cancel_all()
    widget.hide()
    shiboken6.delete(widget)


def _open(page: DashboardPage, client: Client) -> ClientSetupDialog:
    click(page.client_setup_buttons[client])
    dialog = page.client_setup_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


async def _press(dialog: ClientSetupDialog, button: str) -> str:
    done = SignalRecorder(dialog.action_done)
    click(getattr(dialog, button))
    await wait_until(lambda: bool(done.emissions))
    ((text,),) = done.emissions
    return str(text)


async def test_claude_code_setup_shows_the_diff_applies_a_working_config_and_undoes(
    page: DashboardPage,
) -> None:
    path = config_path(Client.CLAUDE, page.client_home)
    path.parent.mkdir(parents=True)
    path.write_bytes(CLAUDE_BEFORE)
    dialog = _open(page, Client.CLAUDE)
    diff = dialog.diff_view.toPlainText()
    assert f'+    "ANTHROPIC_BASE_URL": "{page.url}"' in diff
    assert API_KEY not in diff and f"…{API_KEY[-4:]}" in diff  # masked, as everywhere
    assert path.read_bytes() == CLAUDE_BEFORE  # nothing written before Apply
    assert not dialog.undo_button.isEnabled()

    message = await _press(dialog, "apply_button")
    assert (
        message.startswith("Done") and dialog.undo_button.isEnabled() and not dialog.apply_button.isEnabled()
    )
    env = json.loads(path.read_text())["env"]
    assert env["DISABLE_TELEMETRY"] == "1" and json.loads(path.read_text())["model"] == "opus"
    # What was written really works: the gateway answers with exactly these values.
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            env["ANTHROPIC_BASE_URL"] + "/v1/models",
            headers={
                "Authorization": f"Bearer {env['ANTHROPIC_AUTH_TOKEN']}",
                "anthropic-version": "2023-06-01",
            },
        ) as reply,
    ):
        assert reply.status == 200

    message = await _press(dialog, "undo_button")
    assert message.startswith("Undone")
    assert path.read_bytes() == CLAUDE_BEFORE
    assert dialog.apply_button.isEnabled() and not dialog.undo_button.isEnabled()


async def test_codex_setup_creates_the_file_and_undo_deletes_it(page: DashboardPage) -> None:
    path = config_path(Client.CODEX, page.client_home)
    dialog = _open(page, Client.CODEX)
    assert "will create" in dialog.intro.text() and "--- /dev/null" in dialog.diff_view.toPlainText()
    await _press(dialog, "apply_button")
    written = tomllib.loads(path.read_text())
    provider = written["model_providers"][written["model_provider"]]
    assert provider["base_url"] == page.url + "/v1" and provider["experimental_bearer_token"] == API_KEY
    await _press(dialog, "undo_button")
    assert not path.exists()


async def test_a_malformed_config_is_refused_and_left_alone(page: DashboardPage) -> None:
    path = config_path(Client.OPENCODE, page.client_home)
    path.parent.mkdir(parents=True)
    path.write_text('{\n  // a comment\n  "theme": "x"\n}\n')
    dialog = _open(page, Client.OPENCODE)
    assert not dialog.apply_button.isEnabled()
    assert str(path) in dialog.message.text() and "nothing was changed" in dialog.message.text()
    assert path.read_text() == '{\n  // a comment\n  "theme": "x"\n}\n'
    click(dialog.close_button)
    await wait_until(lambda: page.client_setup_dialog is None)
