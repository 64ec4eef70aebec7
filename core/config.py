"""Settings: config.toml in the data folder, defaults for every key, and the few environment overrides."""

from __future__ import annotations

import functools
import ipaddress
import os
import secrets
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

APP_NAME = "gravity-desk"
# How OpenAI chat shows a generated image: markdown text with a data URL, or an image_url content part.
IMAGE_OUTPUTS = ("markdown", "part")

# --- the rules for server.host and server.port, shared by the config file, the server and the Settings page
PORT_MIN, PORT_MAX = 0, 65535  # 0: the system picks a free port (tests and scripts use it)
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def port_in_range(port: int) -> bool:
    return PORT_MIN <= port <= PORT_MAX


@functools.lru_cache(maxsize=256)
def is_loopback_host(host: str) -> bool:
    """Whether a host name or address means this computer only: the loopback names (and *.localhost),
    127.0.0.0/8 and ::1, written with or without brackets or a trailing dot, in any case."""
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and "]" in name:
        name = name[1 : name.index("]")]
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


CONFIG_FILE = "config.toml"

# Google's "installed application" client used by Antigravity. Google documents that such a client's
# secret is not confidential; it is a setting so another flavour can be added as data.
DEFAULT_CLIENT_ID = "1071006060591-tmhssin2h21lcre235vtolojh4g403ep.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "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"
DEFAULT_SCOPES = [
    "openid",
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
    "https://www.googleapis.com/auth/cclog",
    "https://www.googleapis.com/auth/experimentsandconfigs",
]


class ConfigError(Exception):
    """config.toml could not be read or has a wrong value; the message names the file and line."""


def data_dir() -> Path:
    """The data folder: $GRAVITY_DESK_HOME, else the platform's user data dir for gravity-desk."""
    override = os.environ.get("GRAVITY_DESK_HOME")
    path = (
        Path(override).expanduser()
        if override
        else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    )
    return path


@dataclass
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8045
    api_keys: list[str] = field(default_factory=list)
    max_body_mb: int = 64  # admits a few large base64 images; bigger bodies get a 413 in the protocol's shape
    image_output: str = "markdown"  # generated images in OpenAI chat: "markdown" (data-URL image) or "part"
    # Connections that hold the server open (one byte every few seconds): a request's headers must be complete
    # this many seconds after the connection opens (or its first byte on a kept-alive one), its body this many
    # seconds after the headers; 0 turns a limit off. Local clients send both in well under a millisecond.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    max_connections_per_client: int = (
        128  # open at once from one address (on loopback: every local app); 0 = no cap
    )


@dataclass
class UpstreamSettings:
    endpoints: list[str] = field(
        default_factory=lambda: [
            "https://daily-cloudcode-pa.sandbox.googleapis.com",
            "https://daily-cloudcode-pa.googleapis.com",
            "https://cloudcode-pa.googleapis.com",
        ]
    )
    # The Antigravity version Gravity Desk names in its User-Agent. Google answers an outdated one with a
    # normal-looking reply saying it is "no longer supported" (peers report 2.9.1 as the floor in late 2026).
    client_version: str = "2.9.1"
    # The whole User-Agent: {version} is client_version, {os}/{arch} this machine (linux/amd64, darwin/arm64).
    user_agent: str = "antigravity/hub/{version} {os}/{arch}"
    # Headers sent on every Cloud Code call besides Content-Type, Authorization and User-Agent (peers dropped
    # X-Goog-Api-Client and Client-Metadata in 2026: none by default).
    extra_headers: dict[str, str] = field(default_factory=dict)
    # The vendor's published updater manifest (e.g. a latest-{arch}-{os}.yml with a `version:` line), read in
    # the background every version_check_hours to raise client_version when a newer one is published (never
    # lower). Empty: off. Unreachable or without a version: the configured client_version stays.
    version_manifest_url: str = ""
    version_check_hours: float = 6.0
    # Models whose non-streaming answers Cloud Code leaves empty (reported for Claude, Gemini 3 and image
    # models): their non-streaming requests are sent as streams and assembled. Wildcards, any case.
    stream_only_models: list[str] = field(default_factory=lambda: ["claude-*", "gemini-3*", "*image*"])
    request_timeout_s: float = 300.0  # whole non-streaming call, or the gap between two stream events
    connect_timeout_s: float = 10.0
    max_attempts: int = 4  # accounts tried for one client request before giving up
    retry_budget_s: float = 30.0  # total time spent failing over before giving up
    # Models, quota and quota windows are read at most this often per account (and on demand in the window).
    quota_refresh_minutes: float = 10.0
    # An access token is refreshed only when it has less than this left (Google's live about an hour; peers
    # refresh 15-50 minutes early). Not on every quota read: frequent refreshes are tied to verification prompts.
    token_refresh_margin_s: float = 900.0
    # The account's tier (loadCodeAssist: free, Pro, Ultra...) is re-read by the background refresh at most this
    # often, so an upgrade shows without a new sign-in; 0 = never (only at sign-in and after a project error).
    tier_refresh_hours: float = 24.0


@dataclass
class OAuthSettings:
    auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    token_url: str = "https://oauth2.googleapis.com/token"
    userinfo_url: str = "https://www.googleapis.com/oauth2/v2/userinfo"
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    scopes: list[str] = field(default_factory=lambda: list(DEFAULT_SCOPES))


@dataclass
class GeminiApiSettings:
    base_url: str = "https://generativelanguage.googleapis.com"


@dataclass
class LogSettings:
    retention_days: int = 30
    max_rows: int = 200_000
    capture_bodies: bool = False


@dataclass
class UpdateSettings:
    enabled: bool = False  # opt-in: nothing is fetched until the user turns it on
    # A releases JSON in GitHub's API shape (a release object, or a list of them), e.g.
    # https://api.github.com/repos/OWNER/gravity-desk/releases/latest
    releases_url: str = ""
    interval_hours: float = 24.0  # checked at most this often; the answer is cached in the data folder


THEMES = ("system", "light", "dark")
LANGUAGES = ("system", "en", "zh_CN")  # "system" follows the desktop's language (English when not translated)


@dataclass
class QuotaSettings:
    # Quota protection: keep this percentage of each model group in reserve on every account (0 = off); an
    # account's own value (Accounts window, context menu) overrides it.
    reserve_percent: float = 0.0
    # A 429 RATE_LIMIT_EXCEEDED asking to wait at least this long is treated as spent quota until then.
    long_rate_limit_s: float = 60.0
    # Where retrieveUserQuotaSummary does not list a group's models: model name pattern -> a word of the
    # group's name ("Gemini Models", "Claude and GPT models").
    model_groups: dict[str, str] = field(
        default_factory=lambda: {"gemini*": "gemini", "claude*": "claude", "gpt*": "gpt"}
    )
    # Tiers (upstream ids) where a model's resetTime without a remainingFraction means "unknown", not spent.
    unknown_fraction_tiers: list[str] = field(default_factory=lambda: ["free-tier"])


@dataclass
class UiSettings:
    start_minimized: bool = False  # start in the tray without showing the window
    start_at_login: bool = False  # mirrors the OS autostart entry (core.autostart) the app writes
    theme: str = "system"  # one of THEMES; "system" follows the desktop's light/dark setting
    language: str = "system"  # one of LANGUAGES: the desktop app's language


@dataclass
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    upstream: UpstreamSettings = field(default_factory=UpstreamSettings)
    oauth: OAuthSettings = field(default_factory=OAuthSettings)
    gemini_api: GeminiApiSettings = field(default_factory=GeminiApiSettings)
    log: LogSettings = field(default_factory=LogSettings)
    ui: UiSettings = field(default_factory=UiSettings)
    updates: UpdateSettings = field(default_factory=UpdateSettings)
    quota: QuotaSettings = field(default_factory=QuotaSettings)
    models: dict[str, str] = field(default_factory=dict)  # client model (wildcards allowed) -> upstream model
    home: Path = field(default_factory=data_dir)
    # server field -> (value in the file, value from the environment): saving writes the file's value back
    # for fields the environment still decides, so an env override never ends up in config.toml.
    env_overrides: dict[str, tuple[Any, Any]] = field(default_factory=dict, repr=False)

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_FILE

    @property
    def database_path(self) -> Path:
        return self.home / "gravity-desk.sqlite3"

    @property
    def request_journal_path(self) -> Path:
        """The request log's crash journal (core/request_journal.py): entries not yet in the database."""
        return self.home / "request-log-pending"


_SECTIONS: dict[str, type] = {
    "server": ServerSettings,
    "upstream": UpstreamSettings,
    "oauth": OAuthSettings,
    "gemini_api": GeminiApiSettings,
    "log": LogSettings,
    "ui": UiSettings,
    "updates": UpdateSettings,
    "quota": QuotaSettings,
}


def new_api_key() -> str:
    """A fresh client API key."""
    return "sk-gd-" + secrets.token_urlsafe(24)


def _line_of(text: str, section: str, key: str | None) -> int | None:
    """Best-effort line number of `key` inside `[section]`, for error messages."""
    current = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            current = line.strip("[]").strip()
            if key is None and current == section:
                return number
        elif current == section and key is not None and line.split("=", 1)[0].strip().strip('"') == key:
            return number
    return None


def _check_type(value: Any, expected: Any, where: str) -> None:
    origin = getattr(expected, "__origin__", None)
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
            raise ValueError(f"{where} must be a table of strings")
        return
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValueError(f"{where} must be a list of strings")
        return
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where} must be a number")
        return
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where} must be a whole number")
        return
    if not isinstance(value, expected):
        raise ValueError(f"{where} must be a {expected.__name__}")


def _build_section(cls: type, raw: Any, name: str, text: str, path: Path) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    instance = cls()
    hints = {f: t for f, t in cls.__annotations__.items()}
    types = {
        "str": str,
        "int": int,
        "float": float,
        "bool": bool,
        "list[str]": list[str],
        "dict[str, str]": dict[str, str],
    }
    for key, value in raw.items():
        if key not in hints:
            line = _line_of(text, name, key)
            where = f"{path}, line {line}" if line else str(path)
            raise ConfigError(f"{where}: unknown setting '{key}' in [{name}]")
        expected = types[hints[key]] if isinstance(hints[key], str) else hints[key]
        try:
            _check_type(value, expected, f"{name}.{key}")
        except ValueError as exc:
            line = _line_of(text, name, key)
            where = f"{path}, line {line}" if line else str(path)
            raise ConfigError(f"{where}: {exc}") from None
        setattr(instance, key, float(value) if expected is float else value)
    return instance


def _check_quota(quota: QuotaSettings, text: str, path: Path) -> None:
    if not 0.0 <= quota.reserve_percent <= 100.0:
        line = _line_of(text, "quota", "reserve_percent")
        where = f"{path}, line {line}" if line else str(path)
        raise ConfigError(f"{where}: quota.reserve_percent must be between 0 and 100")


def _parse(text: str, path: Path, home: Path) -> Settings:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already says "(at line N, column M)".
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    settings = Settings(home=home)
    for name, value in raw.items():
        if name == "models":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                line = _line_of(text, "models", None)
                where = f"{path}, line {line}" if line else str(path)
                raise ConfigError(
                    f"{where}: [models] maps client model names to upstream model names (strings)"
                )
            settings.models = dict(value)
        elif name in _SECTIONS:
            setattr(settings, name, _build_section(_SECTIONS[name], value, name, text, path))
        else:
            line = _line_of(text, name, None)
            where = f"{path}, line {line}" if line else str(path)
            raise ConfigError(f"{where}: unknown section [{name}]")
    if not port_in_range(settings.server.port):
        raise ConfigError(f"{path}: server.port must be between {PORT_MIN} and {PORT_MAX}")
    for key in ("header_timeout_s", "body_timeout_s", "max_connections_per_client"):
        if getattr(settings.server, key) < 0:
            line = _line_of(text, "server", key)
            where = f"{path}, line {line}" if line else str(path)
            raise ConfigError(f"{where}: server.{key} must be 0 (no limit) or more")
    if settings.server.image_output not in IMAGE_OUTPUTS:
        line = _line_of(text, "server", "image_output")
        where = f"{path}, line {line}" if line else str(path)
        raise ConfigError(f"{where}: server.image_output must be one of {', '.join(IMAGE_OUTPUTS)}")
    if settings.ui.theme not in THEMES:
        line = _line_of(text, "ui", "theme")
        where = f"{path}, line {line}" if line else str(path)
        raise ConfigError(f"{where}: ui.theme must be one of {', '.join(repr(t) for t in THEMES)}")
    if settings.ui.language not in LANGUAGES:
        line = _line_of(text, "ui", "language")
        where = f"{path}, line {line}" if line else str(path)
        raise ConfigError(f"{where}: ui.language must be one of {', '.join(repr(t) for t in LANGUAGES)}")
    _check_quota(settings.quota, text, path)
    return settings


def _to_toml(settings: Settings) -> dict[str, Any]:
    document: dict[str, Any] = {name: asdict(getattr(settings, name)) for name in _SECTIONS}
    document["models"] = dict(settings.models)
    for name, (file_value, env_value) in settings.env_overrides.items():
        if document["server"][name] == env_value:  # unchanged since start: the environment's, not the user's
            document["server"][name] = file_value
    return document


def save_settings(settings: Settings) -> None:
    """Write config.toml atomically (a crash mid-write leaves the old file)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    temporary = settings.config_path.with_suffix(".toml.tmp")
    with temporary.open("w", encoding="utf-8") as file:
        file.write(tomli_w.dumps(_to_toml(settings)))
        file.flush()
        os.fsync(file.fileno())  # on disk before the rename: a power cut must not leave an empty config.toml
    os.chmod(temporary, 0o600)  # it holds the client API keys
    temporary.replace(settings.config_path)


def _apply_env(settings: Settings) -> None:
    overrides: dict[str, Any] = {}
    if host := os.environ.get("GRAVITY_DESK_HOST"):
        overrides["host"] = host
    if port := os.environ.get("GRAVITY_DESK_PORT"):
        if not port.isdigit() or not port_in_range(int(port)):
            raise ConfigError(f"GRAVITY_DESK_PORT must be a port number, not {port!r}")
        overrides["port"] = int(port)
    if key := os.environ.get("GRAVITY_DESK_API_KEY"):
        overrides["api_keys"] = [key]
    for name, value in overrides.items():
        settings.env_overrides[name] = (getattr(settings.server, name), value)
        setattr(settings.server, name, value)


def _has_api_keys_setting(text: str) -> bool:
    server = tomllib.loads(text).get("server", {})
    return isinstance(server, dict) and "api_keys" in server


def _insert_api_keys(path: Path, text: str, keys: list[str]) -> None:
    """Add a generated key to a hand-written file without rewriting (and losing the comments of) the rest:
    a missing `api_keys` means "not chosen yet", and the safe default is auth on; `[]` turns it off."""
    line = f"api_keys = {tomli_w.dumps({'k': keys}).split('=', 1)[1].strip()}  # generated; [] turns auth off"
    lines = text.splitlines()
    for index, raw in enumerate(lines):
        if raw.strip() == "[server]":
            lines.insert(index + 1, line)
            break
    else:
        lines += ["", "[server]", line]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_settings(home: Path | None = None, *, apply_env: bool = True) -> Settings:
    """Read config.toml from the data folder, creating it with defaults (and a fresh API key) on first start."""
    home = home if home is not None else data_dir()
    path = home / CONFIG_FILE
    if path.exists():
        try:
            # utf-8-sig: Windows PowerShell 5.1 (`Set-Content -Encoding UTF8`) and Notepad's "UTF-8 with BOM"
            # start the file with a byte-order mark, which tomllib rejects. Dropping it here also keeps it out
            # of the text _insert_api_keys writes back, so a patched file never has a BOM in the middle.
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot be read: {exc}") from None
        settings = _parse(text, path, home)
        if not _has_api_keys_setting(text):
            settings.server.api_keys = [new_api_key()]
            _insert_api_keys(path, text, settings.server.api_keys)
    else:
        settings = Settings(home=home)
        settings.server.api_keys = [new_api_key()]
        settings.models = {}
        save_settings(settings)
    if apply_env:
        _apply_env(settings)
    return settings
