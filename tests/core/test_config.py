"""Settings: defaults written on first start, environment overrides, clear errors for broken files."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from core.config import ConfigError, load_settings, save_settings


def test_first_start_writes_defaults_with_a_fresh_key(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, apply_env=False)
    text = (tmp_path / "config.toml").read_text()
    assert "[server]" in text and "[upstream]" in text and "[oauth]" in text and "[gemini_api]" in text
    assert settings.server.host == "127.0.0.1" and settings.server.port == 8045
    assert len(settings.server.api_keys) == 1 and settings.server.api_keys[0] in text
    assert stat.S_IMODE(os.stat(tmp_path / "config.toml").st_mode) == 0o600
    again = load_settings(tmp_path, apply_env=False)
    assert again.server.api_keys == settings.server.api_keys  # not regenerated on the next start
    other = load_settings(tmp_path / "other", apply_env=False)
    assert other.server.api_keys != settings.server.api_keys


def test_every_key_is_optional_and_models_are_read(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[server]\nport = 9000\n[models]\n"gpt-4*" = "gemini-2.5-pro"\n')
    settings = load_settings(tmp_path, apply_env=False)
    assert settings.server.port == 9000
    assert len(settings.server.api_keys) == 1  # not chosen yet: a key is generated, auth stays on
    text = (tmp_path / "config.toml").read_text()
    assert text.startswith("[server]\napi_keys = ") and settings.server.api_keys[0] in text
    assert load_settings(tmp_path, apply_env=False).server.api_keys == settings.server.api_keys
    (tmp_path / "config.toml").write_text("# mine\n[server]\napi_keys = []\n")
    assert load_settings(tmp_path, apply_env=False).server.api_keys == []  # [] turns auth off
    assert settings.models == {"gpt-4*": "gemini-2.5-pro"}
    assert settings.upstream.endpoints[-1] == "https://cloudcode-pa.googleapis.com"


def test_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAVITY_DESK_HOST", "0.0.0.0")
    monkeypatch.setenv("GRAVITY_DESK_PORT", "9123")
    monkeypatch.setenv("GRAVITY_DESK_API_KEY", "sk-from-env")
    settings = load_settings(tmp_path)
    assert (settings.server.host, settings.server.port, settings.server.api_keys) == (
        "0.0.0.0",
        9123,
        ["sk-from-env"],
    )
    monkeypatch.setenv("GRAVITY_DESK_PORT", "eighty")
    with pytest.raises(ConfigError, match="GRAVITY_DESK_PORT"):
        load_settings(tmp_path)


def test_home_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAVITY_DESK_HOME", str(tmp_path / "home"))
    settings = load_settings()
    assert settings.config_path == tmp_path / "home" / "config.toml"
    assert settings.config_path.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[server\nport = 1\n", r"line 1"),
        ('[server]\nhost = "x"\nport = "8045"\n', r"line 3: server.port must be a whole number"),
        ("[server]\nprot = 8045\n", r"line 2: unknown setting 'prot' in \[server\]"),
        ("[sever]\nport = 1\n", r"line 1: unknown section \[sever\]"),
        ('[upstream]\nendpoints = "https://x"\n', r"line 2: upstream.endpoints must be a list of strings"),
        ("[server]\nport = 70000\n", r"server.port must be between 0 and 65535"),
        ('[ui]\nstart_minimized = "yes"\n', r"line 2: ui.start_minimized must be a bool"),
        ('[ui]\n\ntheme = "purple"\n', r"line 3: ui.theme must be one of 'system', 'light', 'dark'"),
        ('[ui]\nlanguage = "fr"\n', r"line 2: ui.language must be one of 'system', 'en', 'zh_CN'"),
    ],
)
def test_broken_file_names_the_line(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_settings(tmp_path, apply_env=False)
    assert str(tmp_path / "config.toml") in str(caught.value)


def test_ui_section_defaults_are_written_on_first_start(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, apply_env=False)
    written = tomllib.loads((tmp_path / "config.toml").read_text())
    assert written["ui"] == {
        "start_minimized": False,
        "start_at_login": False,
        "theme": "system",
        "language": "system",
    }
    assert (settings.ui.start_minimized, settings.ui.start_at_login, settings.ui.theme) == (
        False,
        False,
        "system",
    )


def test_ui_section_is_read_and_round_trips(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[ui]\nstart_minimized = true\ntheme = "dark"\n')
    settings = load_settings(tmp_path, apply_env=False)
    assert settings.ui.start_minimized is True and settings.ui.theme == "dark"
    assert settings.ui.start_at_login is False  # a key left out keeps its default
    settings.ui.start_at_login = True
    settings.ui.theme = "light"
    settings.ui.language = "zh_CN"
    save_settings(settings)
    again = load_settings(tmp_path, apply_env=False)
    assert (again.ui.start_minimized, again.ui.start_at_login, again.ui.theme) == (True, True, "light")
    assert again.ui.language == "zh_CN"


def test_file_without_ui_section_still_loads(tmp_path: Path) -> None:
    # Files written before [ui] existed must keep working.
    (tmp_path / "config.toml").write_text("[server]\napi_keys = []\n")
    settings = load_settings(tmp_path, apply_env=False)
    assert settings.ui.theme == "system" and settings.ui.start_minimized is False


def test_environment_overrides_are_never_written_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.config import save_settings

    first = load_settings(tmp_path, apply_env=False)
    monkeypatch.setenv("GRAVITY_DESK_API_KEY", "sk-from-env-secret")
    monkeypatch.setenv("GRAVITY_DESK_PORT", "9999")
    settings = load_settings(tmp_path)
    settings.server.port = 9100  # the user changes the port in the window: that is theirs to keep
    settings.log.retention_days = 7
    save_settings(settings)
    text = (tmp_path / "config.toml").read_text()
    assert "sk-from-env-secret" not in text
    monkeypatch.delenv("GRAVITY_DESK_API_KEY")
    monkeypatch.delenv("GRAVITY_DESK_PORT")
    again = load_settings(tmp_path)
    assert again.server.api_keys == first.server.api_keys
    assert again.server.port == 9100 and again.log.retention_days == 7


UTF8_BOM = b"\xef\xbb\xbf"


def test_a_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    # What Windows PowerShell 5.1's `Set-Content -Encoding UTF8` and Notepad's "UTF-8 with BOM" write.
    (tmp_path / "config.toml").write_bytes(
        UTF8_BOM + b"# mine\r\n[server]\r\nport = 9100\r\napi_keys = []\r\n"
    )
    settings = load_settings(tmp_path, apply_env=False)
    assert (settings.server.port, settings.server.api_keys) == (9100, [])


def test_a_generated_key_goes_into_a_file_with_a_byte_order_mark_once(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(UTF8_BOM + b"[server]\r\nport = 9100\r\n")
    settings = load_settings(tmp_path, apply_env=False)
    assert settings.server.port == 9100 and len(settings.server.api_keys) == 1
    patched = path.read_bytes()
    assert UTF8_BOM not in patched  # neither doubled nor left in the middle
    assert patched.decode("utf-8").splitlines().count("[server]") == 1
    again = load_settings(tmp_path, apply_env=False)
    assert (again.server.port, again.server.api_keys) == (9100, settings.server.api_keys)


def test_connection_limits_have_sane_defaults_and_refuse_negative_values(tmp_path: Path) -> None:
    server = load_settings(tmp_path).server
    assert 0 < server.header_timeout_s <= 30 and 0 < server.body_timeout_s <= 300
    assert server.max_connections_per_client >= 32  # an agent's parallel requests fit
    (tmp_path / "config.toml").write_text(
        "[server]\nheader_timeout_s = 2.5\nmax_connections_per_client = 0\n"
    )
    loaded = load_settings(tmp_path).server
    assert (loaded.header_timeout_s, loaded.max_connections_per_client) == (2.5, 0)
    (tmp_path / "config.toml").write_text("[server]\n\nbody_timeout_s = -1\n")
    with pytest.raises(ConfigError, match=r"line 3: server.body_timeout_s must be 0 \(no limit\) or more"):
        load_settings(tmp_path)
