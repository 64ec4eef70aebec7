"""`gravity-desk setup-client` as users run it (a real subprocess, HOME in a temporary folder): --dry-run
writes nothing, a run writes the key masked in its diff and in full in the file, --undo puts it back."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from core.config import load_settings, save_settings
from tests.helpers import child_process
from tests.test_cli import KEY, ROOT, _env, _run


async def _setup_client(data: Path, home: Path, *args: str) -> tuple[int, str, str]:
    env = _env(data) | {"HOME": str(home), "USERPROFILE": str(home)}
    async with child_process(
        sys.executable,
        str(ROOT / "gravity_desk.py"),
        "setup-client",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    ) as process:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_setup_client_dry_run_apply_and_undo(tmp_path: Path) -> None:
    data, home = tmp_path / "data", tmp_path / "home"
    settings = load_settings(data, apply_env=False)
    settings.server.api_keys, settings.server.port = [KEY], 8123
    save_settings(settings)
    settings_file = home / ".claude" / "settings.json"
    settings_file.parent.mkdir(parents=True)
    before = b'{"model": "opus"}\n'
    settings_file.write_bytes(before)

    code, out, err = await _setup_client(data, home, "claude", "--dry-run")
    assert code == 0, err
    assert '+    "ANTHROPIC_BASE_URL": "http://127.0.0.1:8123"' in out and KEY not in out and KEY[-4:] in out
    assert settings_file.read_bytes() == before

    code, out, err = await _setup_client(data, home, "claude")
    assert code == 0, err
    assert "--undo" in out
    written = json.loads(settings_file.read_text())
    assert written["model"] == "opus" and written["env"]["ANTHROPIC_AUTH_TOKEN"] == KEY

    code, out, err = await _setup_client(data, home, "claude", "--undo")
    assert code == 0, err
    assert settings_file.read_bytes() == before
    code, _out, err = await _setup_client(data, home, "claude", "--undo")
    assert code == 1 and "no Gravity Desk backup" in err


async def test_setup_client_refuses_a_malformed_file(tmp_path: Path) -> None:
    data, home = tmp_path / "data", tmp_path / "home"
    load_settings(data, apply_env=False)
    config = home / ".codex" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("model = [unclosed\n")
    code, _out, err = await _setup_client(data, home, "codex")
    assert code == 1 and str(config) in err and "nothing was changed" in err and "Traceback" not in err
    assert config.read_text() == "model = [unclosed\n"


async def test_setup_client_writes_the_key_named_with_key(tmp_path: Path) -> None:
    data, home = tmp_path / "data", tmp_path / "home"
    settings = load_settings(data, apply_env=False)
    settings.server.api_keys = [KEY]
    save_settings(settings)
    code, out, err = await _run(data, "keys", "add", "claude code")
    assert code == 0, err
    named = out.strip()
    code, _out, err = await _setup_client(data, home, "claude", "--key", "Claude Code")
    assert code == 0, err
    written = json.loads((home / ".claude" / "settings.json").read_text())
    assert written["env"]["ANTHROPIC_AUTH_TOKEN"] == named
    code, _out, err = await _setup_client(data, home, "claude", "--key", "nobody")
    assert code == 1 and "no key 'nobody'" in err
