"""Client setup on real files in a temporary home: other settings kept, the diff masked, backups that undo
byte for byte, a missing file deleted again on undo, and a file Gravity Desk cannot read left untouched."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from core.client_setup import (
    Client,
    Connection,
    SetupError,
    apply,
    config_path,
    latest_backup,
    plan,
    undo,
)

KEY = "sk-gd-" + "k" * 28 + "a1b2"
CONNECTION = Connection("http://127.0.0.1:8123", KEY, ("gemini-2.5-flash", "claude-sonnet-4-5"))

EXISTING = {
    Client.CLAUDE: '{\n  "model": "opus",\n  "env": {"DISABLE_TELEMETRY": "1", "ANTHROPIC_BASE_URL": "x"},\n'
    '  "permissions": {"allow": ["Bash(ls)"]}\n}\n',
    Client.CODEX: '# my settings\nmodel = "gpt-5.5"  # keep me\napproval_policy = "on-request"\n\n'
    '[mcp_servers.docs]\ncommand = "docs-mcp"\nargs = ["--port", "1"]\n\n'
    '[model_providers.other]\nname = "Other"\nbase_url = "https://example.invalid/v1"\n',
    Client.GEMINI: "# mine\nGOOGLE_CLOUD_PROJECT=my-project\nexport GEMINI_API_KEY=old\n",
    Client.OPENCODE: '{"$schema": "https://opencode.ai/config.json", "theme": "tokyonight",\n'
    ' "provider": {"ollama": {"npm": "@ai-sdk/openai-compatible", "options": {"baseURL": "http://x"}}}}\n',
}
MALFORMED = {
    Client.CLAUDE: '{"env": {"A": 1},',
    Client.CODEX: "model = \n[broken",
    Client.GEMINI: "GOOD=1\nthis is not a setting\n",
    Client.OPENCODE: '{\n  // opencode allows comments, we do not\n  "theme": "x"\n}\n',
}


def _write(home: Path, client: Client, text: str) -> Path:
    path = config_path(client, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def _settings(client: Client, text: str) -> dict[str, object]:
    """The file as its client reads it."""
    if client is Client.CODEX:
        return tomllib.loads(text)
    if client is Client.GEMINI:
        lines = [
            line.removeprefix("export ") for line in text.splitlines() if line and not line.startswith("#")
        ]
        return {name: value for name, value in (line.split("=", 1) for line in lines)}
    loaded: dict[str, object] = json.loads(text)
    return loaded


def test_claude_code_gets_base_url_and_token_and_keeps_everything_else(tmp_path: Path) -> None:
    path = _write(tmp_path, Client.CLAUDE, EXISTING[Client.CLAUDE])
    apply(plan(Client.CLAUDE, CONNECTION, tmp_path))
    written = json.loads(path.read_text())
    assert written["env"] == {
        "DISABLE_TELEMETRY": "1",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:8123",
        "ANTHROPIC_AUTH_TOKEN": KEY,
    }
    assert written["model"] == "opus" and written["permissions"] == {"allow": ["Bash(ls)"]}


def test_codex_gets_a_provider_and_keeps_comments_tables_and_other_providers(tmp_path: Path) -> None:
    path = _write(tmp_path, Client.CODEX, EXISTING[Client.CODEX])
    apply(plan(Client.CODEX, CONNECTION, tmp_path))
    text = path.read_text()
    assert "# my settings" in text and 'model = "gpt-5.5"  # keep me' in text  # round-trip, comments too
    written = tomllib.loads(text)
    assert written["model_provider"] == "gravity-desk" and written["approval_policy"] == "on-request"
    assert written["mcp_servers"] == {"docs": {"command": "docs-mcp", "args": ["--port", "1"]}}
    assert written["model_providers"]["other"]["base_url"] == "https://example.invalid/v1"
    provider = written["model_providers"]["gravity-desk"]
    assert provider["base_url"] == "http://127.0.0.1:8123/v1" and provider["wire_api"] == "responses"
    assert provider["experimental_bearer_token"] == KEY


def test_gemini_cli_env_lines_are_replaced_in_place_and_added(tmp_path: Path) -> None:
    path = _write(tmp_path, Client.GEMINI, EXISTING[Client.GEMINI])
    apply(plan(Client.GEMINI, CONNECTION, tmp_path))
    assert path.read_text() == (
        "# mine\nGOOGLE_CLOUD_PROJECT=my-project\nGEMINI_API_KEY=" + KEY + "\n"
        "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8123\n"
    )


def test_opencode_gets_an_openai_compatible_provider_next_to_the_others(tmp_path: Path) -> None:
    path = _write(tmp_path, Client.OPENCODE, EXISTING[Client.OPENCODE])
    apply(plan(Client.OPENCODE, CONNECTION, tmp_path))
    written = json.loads(path.read_text())
    assert written["theme"] == "tokyonight" and "ollama" in written["provider"]
    ours = written["provider"]["gravity-desk"]
    assert ours["npm"] == "@ai-sdk/openai-compatible"
    assert ours["options"] == {"baseURL": "http://127.0.0.1:8123/v1", "apiKey": KEY}
    assert set(ours["models"]) == {"gemini-2.5-flash", "claude-sonnet-4-5"}


@pytest.mark.parametrize("client", list(Client))
def test_the_diff_shows_the_change_with_the_key_masked(tmp_path: Path, client: Client) -> None:
    _write(tmp_path, client, EXISTING[client])
    change = plan(client, CONNECTION, tmp_path)
    diff = change.diff()
    assert diff.startswith("--- ") and "\n+" in diff and "127.0.0.1:8123" in diff
    assert KEY not in diff and "gd-…a1b2" in diff
    assert KEY in change.after  # the file itself gets the real key
    assert config_path(client, tmp_path).read_text() == EXISTING[client]  # planning writes nothing


@pytest.mark.parametrize("client", list(Client))
def test_undo_restores_an_existing_file_byte_for_byte(tmp_path: Path, client: Client) -> None:
    original = EXISTING[client].replace("\n", "\r\n", 1).encode()  # odd line endings survive too
    path = config_path(client, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(original)
    path.chmod(0o640)
    backup = apply(plan(client, CONNECTION, tmp_path))
    assert backup.parent == path.parent and backup.read_bytes() == original
    assert path.read_bytes() != original and (path.stat().st_mode & 0o777) == 0o640
    assert _settings(client, path.read_text()) != _settings(client, original.decode())
    undo(client, tmp_path)
    assert path.read_bytes() == original
    assert latest_backup(client, tmp_path) is None  # used up
    with pytest.raises(SetupError, match="no Gravity Desk backup"):
        undo(client, tmp_path)


@pytest.mark.parametrize("client", list(Client))
def test_undo_deletes_a_file_that_did_not_exist(tmp_path: Path, client: Client) -> None:
    path = config_path(client, tmp_path)
    change = plan(client, CONNECTION, tmp_path)
    assert change.before is None and change.diff().startswith("--- /dev/null")
    apply(change)
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600  # it holds the key
    assert _settings(client, path.read_text())  # readable by its client
    undo(client, tmp_path)
    assert not path.exists()


def test_two_applies_undo_one_at_a_time(tmp_path: Path) -> None:
    path = _write(tmp_path, Client.CLAUDE, EXISTING[Client.CLAUDE])
    apply(plan(Client.CLAUDE, CONNECTION, tmp_path))
    first = path.read_bytes()
    apply(plan(Client.CLAUDE, Connection("http://127.0.0.1:9000", KEY), tmp_path))
    undo(Client.CLAUDE, tmp_path)
    assert path.read_bytes() == first
    undo(Client.CLAUDE, tmp_path)
    assert path.read_text() == EXISTING[Client.CLAUDE]


@pytest.mark.parametrize("client", list(Client))
def test_a_malformed_file_is_refused_and_never_overwritten(tmp_path: Path, client: Client) -> None:
    path = _write(tmp_path, client, MALFORMED[client])
    with pytest.raises(SetupError) as refused:
        plan(client, CONNECTION, tmp_path)
    assert str(path) in str(refused.value) and "nothing was changed" in str(refused.value)
    assert path.read_text() == MALFORMED[client]
    assert latest_backup(client, tmp_path) is None


def test_a_file_changed_after_the_preview_is_not_overwritten(tmp_path: Path) -> None:
    path = _write(tmp_path, Client.CLAUDE, EXISTING[Client.CLAUDE])
    change = plan(Client.CLAUDE, CONNECTION, tmp_path)
    path.write_text('{"edited": true}\n')
    with pytest.raises(SetupError, match="changed since the preview"):
        apply(change)
    assert path.read_text() == '{"edited": true}\n'


def test_without_a_key_the_clients_get_a_placeholder(tmp_path: Path) -> None:
    change = plan(Client.CLAUDE, Connection("http://127.0.0.1:8123", None), tmp_path)
    assert json.loads(change.after)["env"]["ANTHROPIC_AUTH_TOKEN"] == "no-key-needed"
