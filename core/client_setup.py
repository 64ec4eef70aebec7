"""One-click client setup: write the gateway's address and key into the config files of Claude Code, Codex,
Gemini CLI and OpenCode, keeping everything else in them. A change is planned first (shown as a diff),
applied atomically with a timestamped backup next to the file, and undone from that backup.

Where each client reads what (checked against their current documentation, late 2026):
- Claude Code: ~/.claude/settings.json, "env": ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN (sent as Bearer).
- Codex: ~/.codex/config.toml, model_provider = "gravity-desk" and [model_providers.gravity-desk] with
  base_url …/v1, wire_api = "responses" (the only value current releases accept) and the key inline as
  experimental_bearer_token, which the CLI, the desktop app and the IDE extension all read (env_key would
  need the variable exported wherever Codex is started from).
- Gemini CLI: ~/.gemini/.env, GOOGLE_GEMINI_BASE_URL (http is allowed for loopback hosts) and GEMINI_API_KEY.
- OpenCode: ~/.config/opencode/opencode.json, a provider entry using @ai-sdk/openai-compatible with
  options.baseURL …/v1, options.apiKey and the models to offer.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from core.redact import mask_secret

PROVIDER_ID = "gravity-desk"
PROVIDER_NAME = "Gravity Desk"
NO_KEY = "no-key-needed"  # the clients insist on a key even when the gateway's authentication is off
BACKUP_MARK = ".gravity-desk-backup-"
ABSENT_SUFFIX = ".absent"  # a backup saying "there was no file": undo deletes it
DEFAULT_MODELS = ("gemini-2.5-pro", "gemini-2.5-flash", "claude-sonnet-4-5")  # resolved by family


class Client(StrEnum):
    CLAUDE = "claude"
    CODEX = "codex"
    GEMINI = "gemini"
    OPENCODE = "opencode"


CLIENT_NAMES = {
    Client.CLAUDE: "Claude Code",
    Client.CODEX: "Codex",
    Client.GEMINI: "Gemini CLI",
    Client.OPENCODE: "OpenCode",
}


class SetupError(Exception):
    """The change cannot be made (an existing file Gravity Desk cannot read); the message says what to do."""


@dataclass(frozen=True)
class Connection:
    """What the clients are pointed at."""

    base_url: str  # http://127.0.0.1:<port>, no trailing slash
    api_key: str | None  # None: authentication is off
    models: tuple[str, ...] = DEFAULT_MODELS  # offered to clients that list models (OpenCode)

    @property
    def key(self) -> str:
        return self.api_key or NO_KEY


@dataclass(frozen=True)
class PlannedChange:
    """One file's planned content; nothing is written until apply()."""

    client: Client
    path: Path
    before: str | None  # None: the file does not exist yet
    after: str
    secret: str | None  # the key written, masked in diff()

    @property
    def changes_anything(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        """A unified diff of the change, the key masked as everywhere else (core.redact.mask_secret)."""
        before = (self.before or "").splitlines(keepends=True)
        after = self.after.splitlines(keepends=True)
        source = str(self.path) if self.before is not None else "/dev/null"
        lines = difflib.unified_diff(before, after, fromfile=source, tofile=str(self.path))
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        if self.secret and self.secret != NO_KEY:
            text = text.replace(self.secret, mask_secret(self.secret))
        return text


def config_path(client: Client, home: Path) -> Path:
    """The file a client reads, under `home` (the user's home folder; a temporary one in tests)."""
    return {
        Client.CLAUDE: home / ".claude" / "settings.json",
        Client.CODEX: home / ".codex" / "config.toml",
        Client.GEMINI: home / ".gemini" / ".env",
        Client.OPENCODE: home / ".config" / "opencode" / "opencode.json",
    }[client]


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"{path} cannot be read ({exc}); nothing was changed.") from None


def _refuse(path: Path, what: str) -> SetupError:
    return SetupError(
        f"{path} is not {what}, so Gravity Desk leaves it alone (nothing was changed). Fix or move the file, "
        "then try again, or add the settings by hand (the Dashboard's snippets show them)."
    )


def _json_object(path: Path, text: str | None) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise _refuse(path, f"valid JSON ({exc}; comments are not supported here)") from None
    if not isinstance(document, dict):
        raise _refuse(path, "a JSON object")
    return document


def _sub_object(path: Path, document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.setdefault(key, {})
    if not isinstance(value, dict):
        raise _refuse(path, f'a file whose "{key}" is an object')
    return value


def _dump_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _plan_claude(path: Path, text: str | None, connection: Connection) -> str:
    document = _json_object(path, text)
    env = _sub_object(path, document, "env")
    env["ANTHROPIC_BASE_URL"] = connection.base_url
    env["ANTHROPIC_AUTH_TOKEN"] = connection.key
    return _dump_json(document)


def _plan_codex(path: Path, text: str | None, connection: Connection) -> str:
    try:
        document = tomlkit.parse(text or "")
    except TOMLKitError as exc:
        raise _refuse(path, f"valid TOML ({exc})") from None
    document["model_provider"] = PROVIDER_ID
    providers = document.get("model_providers")
    if providers is None:
        providers = tomlkit.table(is_super_table=True)
        document["model_providers"] = providers
    elif not isinstance(providers, dict):
        raise _refuse(path, "a file whose model_providers is a table")
    provider = tomlkit.table()
    provider["name"] = PROVIDER_NAME
    provider["base_url"] = f"{connection.base_url}/v1"
    provider["wire_api"] = "responses"
    provider["experimental_bearer_token"] = connection.key
    provider["supports_websockets"] = (
        True  # Codex then uses the Responses WebSocket, which the gateway serves
    )
    providers[PROVIDER_ID] = provider
    return str(tomlkit.dumps(document))  # tomlkit.dumps is typed Any


_ENV_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def _plan_gemini(path: Path, text: str | None, connection: Connection) -> str:
    wanted = {"GOOGLE_GEMINI_BASE_URL": connection.base_url, "GEMINI_API_KEY": connection.key}
    lines = (text or "").splitlines()
    written: set[str] = set()
    result: list[str] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            result.append(line)
            continue
        match = _ENV_LINE.match(line)
        if match is None:
            raise _refuse(path, f"a .env file (line {number} is not NAME=value)")
        name = match.group(1)
        if name in wanted:
            if name not in written:  # a repeated name: the first place gets the value, the rest goes
                result.append(f"{name}={wanted[name]}")
                written.add(name)
            continue
        result.append(line)
    result += [f"{name}={value}" for name, value in wanted.items() if name not in written]
    return "\n".join(result) + "\n"


def _plan_opencode(path: Path, text: str | None, connection: Connection) -> str:
    document = _json_object(path, text)
    document.setdefault("$schema", "https://opencode.ai/config.json")
    providers = _sub_object(path, document, "provider")
    providers[PROVIDER_ID] = {
        "npm": "@ai-sdk/openai-compatible",
        "name": PROVIDER_NAME,
        "options": {"baseURL": f"{connection.base_url}/v1", "apiKey": connection.key},
        "models": {model: {"name": model} for model in connection.models},
    }
    return _dump_json(document)


_PLANNERS = {
    Client.CLAUDE: _plan_claude,
    Client.CODEX: _plan_codex,
    Client.GEMINI: _plan_gemini,
    Client.OPENCODE: _plan_opencode,
}


def plan(client: Client, connection: Connection, home: Path) -> PlannedChange:
    """What the client's file would hold; SetupError when an existing file cannot be read or understood."""
    path = config_path(client, home)
    before = _read(path)
    after = _PLANNERS[client](path, before, connection)
    return PlannedChange(client, path, before, after, connection.api_key)


def _backups(path: Path) -> list[Path]:
    """This file's backups, oldest first (the timestamp sorts)."""
    if not path.parent.is_dir():
        return []
    prefix = path.name + BACKUP_MARK
    return sorted(candidate for candidate in path.parent.iterdir() if candidate.name.startswith(prefix))


def latest_backup(client: Client, home: Path) -> Path | None:
    backups = _backups(config_path(client, home))
    return backups[-1] if backups else None


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    """A temporary file in the same folder, flushed to disk, then renamed over: never a half-written config."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def apply(change: PlannedChange, *, now: datetime | None = None) -> Path:
    """Back the file up next to it (or note that there was none), then write the planned content.
    Refuses when the file changed since the plan was made. Returns the backup's path."""
    path = change.path
    if _read(path) != change.before:
        raise SetupError(f"{path} changed since the preview was made; nothing was written. Look again.")
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    backup = path.with_name(f"{path.name}{BACKUP_MARK}{stamp}")
    if change.before is None:
        backup = backup.with_name(backup.name + ABSENT_SUFFIX)
        backup.write_bytes(b"")
        mode = 0o600  # it holds the key
    else:
        original = path.read_bytes()
        _write_atomically(backup, original, 0o600)
        mode = path.stat().st_mode & 0o777
    _write_atomically(path, change.after.encode("utf-8"), mode)
    return backup


def undo(client: Client, home: Path) -> Path:
    """Put back the file as it was before the latest apply (delete it when there was none); that backup is
    used up, so a second undo goes one apply further back. Returns the file's path."""
    path = config_path(client, home)
    backup = latest_backup(client, home)
    if backup is None:
        raise SetupError(f"There is no Gravity Desk backup of {path} to restore.")
    if backup.name.endswith(ABSENT_SUFFIX):
        path.unlink(missing_ok=True)
    else:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
        _write_atomically(path, backup.read_bytes(), mode)
    backup.unlink()
    return path
