"""Start at login: an XDG autostart entry (Linux), a LaunchAgent (macOS) or an HKCU Run value (Windows)."""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

APP_TITLE = "Gravity Desk"
DESKTOP_FILE = "gravity-desk.desktop"
LAUNCH_AGENT_LABEL = "io.github.gravity-desk"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
# Task Manager's "Startup apps" switch: it keeps the Run value and writes a REG_BINARY value of the same name
# here, whose first byte is odd when the user turned the app off (0x03) and even when on (0x02).
STARTUP_APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
RUN_VALUE = "Gravity Desk"
MINIMIZED_FLAG = "--minimized"

# A LaunchAgent must not point into these: a mounted disk image goes away when ejected, and macOS runs a
# quarantined app from a randomised read-only copy (App Translocation) that is gone after the next restart.
_MAC_DISK_IMAGE_MOUNTS = "/Volumes/"
_MAC_TRANSLOCATED_COPY = "/AppTranslocation/"

# Characters that make the Desktop Entry spec require an argument to be quoted.
_DESKTOP_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
# Inside a quoted argument these need a backslash before them.
_DESKTOP_QUOTE_ESCAPED = frozenset('"`$\\')


class AutostartError(Exception):
    """The start-at-login entry could not be written or removed; the message says where and why."""


class Registry(Protocol):
    """The registry values the Windows backend touches (the real one wraps winreg; tests pass a fake): a
    string under RUN_KEY, and Task Manager's binary flag of the same name under STARTUP_APPROVED_KEY."""

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...

    def get_startup_approved(self, name: str) -> bytes | None: ...

    def delete_startup_approved(self, name: str) -> None: ...


if sys.platform == "win32":
    import winreg

    def _query_value(key_path: str, name: str) -> object:
        """The value's data, or None when the key or the value does not exist."""
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key_path) as key:
                value, _ = winreg.QueryValueEx(key, name)
        except FileNotFoundError:
            return None
        return value

    def _delete_value(key_path: str, name: str) -> None:
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key_path, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, name)
        except FileNotFoundError:
            pass

    class _WinRegistry:
        """HKEY_CURRENT_USER\\...\\Run and ...\\StartupApproved\\Run through winreg."""

        def get(self, name: str) -> str | None:
            value = _query_value(RUN_KEY, name)
            return None if value is None else str(value)

        def set(self, name: str, value: str) -> None:
            with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)

        def delete(self, name: str) -> None:
            _delete_value(RUN_KEY, name)

        def get_startup_approved(self, name: str) -> bytes | None:
            value = _query_value(STARTUP_APPROVED_KEY, name)
            return value if isinstance(value, bytes) else None  # REG_BINARY comes back as bytes

        def delete_startup_approved(self, name: str) -> None:
            _delete_value(STARTUP_APPROVED_KEY, name)

else:

    def _WinRegistry() -> Registry:  # named like the class it stands in for on Windows
        """Where winreg does not exist, asking for the Windows backend is an error."""
        raise AutostartError("The Windows registry is not available on this system")


def launch_command() -> list[str]:
    """How to start this app at login, minimised: the frozen executable, else this interpreter + the script."""
    if getattr(sys, "frozen", False):
        return [sys.executable, MINIMIZED_FLAG]
    # gravity_desk.py sits next to the core package both in a checkout and in site-packages; a path keeps
    # working whatever the working directory at login is, where `-m` needs the module on sys.path.
    script = Path(__file__).resolve().parent.parent / "gravity_desk.py"
    if script.is_file():
        return [sys.executable, str(script), MINIMIZED_FLAG]
    return [sys.executable, "-m", "gravity_desk", MINIMIZED_FLAG]


def desktop_exec_line(command: Sequence[str]) -> str:
    """`command` as a Desktop Entry Exec value: reserved characters quoted, `%` doubled, backslashes escaped
    twice (once for the quoting rule, once for the string-value rule the spec applies first)."""
    parts = []
    for argument in command:
        if argument and not any(char in _DESKTOP_RESERVED for char in argument):
            quoted = argument
        else:
            escaped = "".join("\\" + c if c in _DESKTOP_QUOTE_ESCAPED else c for c in argument)
            quoted = f'"{escaped}"'
        parts.append(quoted.replace("\\", "\\\\").replace("%", "%%"))
    return " ".join(parts)


def desktop_entry(command: Sequence[str]) -> str:
    """The XDG autostart file's text."""
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        f"Name={APP_TITLE}\n"
        "Comment=Your Google AI accounts behind OpenAI, Claude, Gemini and Ollama APIs on localhost\n"
        f"Exec={desktop_exec_line(command)}\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def launch_agent(command: Sequence[str]) -> bytes:
    """The macOS LaunchAgent plist: runs `command` once when the user logs in."""
    document = {
        "Label": LAUNCH_AGENT_LABEL,
        "ProgramArguments": list(command),
        "RunAtLoad": True,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",  # the graphical session only, not ssh logins
    }
    return plistlib.dumps(document)


class Autostart:
    """Writes, checks and removes this user's start-at-login entry for the current platform.

    Every location can be injected for tests: `config_home` (Linux; default $XDG_CONFIG_HOME or ~/.config,
    read at call time), `home` (macOS), `registry` (Windows) and `command` (default `launch_command()`).
    """

    def __init__(
        self,
        *,
        platform: str | None = None,
        config_home: Path | None = None,
        home: Path | None = None,
        registry: Registry | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        self.platform = platform if platform is not None else sys.platform
        self._config_home = config_home
        self._home = home
        self._registry = registry
        self._command = list(command) if command is not None else None

    @property
    def command(self) -> list[str]:
        return list(self._command) if self._command is not None else launch_command()

    @property
    def location(self) -> str:
        """Where the entry lives, for messages."""
        if self.platform == "win32":
            return f"HKEY_CURRENT_USER\\{RUN_KEY}\\{RUN_VALUE}"
        return str(self._entry_path())

    def is_enabled(self) -> bool:
        if self.platform == "win32":
            registry = self._windows_registry()
            return registry.get(RUN_VALUE) is not None and not _turned_off_in_task_manager(registry)
        path = self._entry_path()
        if not path.is_file():
            return False
        if self.platform == "darwin":
            return True
        # A desktop may "disable" the entry in place rather than delete it.
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = {line.strip().replace(" ", "") for line in text.splitlines()}
        return "Hidden=true" not in lines and "X-GNOME-Autostart-enabled=false" not in lines

    def enable(self) -> None:
        """Create (or refresh, should the app have moved) the entry."""
        command = self.command
        if self.platform == "darwin" and _runs_from_a_vanishing_mac_path(command):
            raise AutostartError(
                "Gravity Desk is running from a disk image or a temporary copy that macOS made of it, which "
                "will not be there at the next login. Move Gravity Desk to the Applications folder first, "
                "open it from there, then turn on start at login."
            )
        try:
            if self.platform == "win32":
                registry = self._windows_registry()
                registry.set(RUN_VALUE, subprocess.list2cmdline(command))
                # Without Task Manager's flag Windows treats the entry as approved: this undoes "Disabled".
                registry.delete_startup_approved(RUN_VALUE)
            elif self.platform == "darwin":
                self._write(self._entry_path(), launch_agent(command))
            else:
                self._write(self._entry_path(), desktop_entry(command).encode("utf-8"))
        except OSError as exc:
            raise AutostartError(
                f"Could not turn on start at login ({self.location}): {exc.strerror or exc}"
            ) from None

    def disable(self) -> None:
        """Remove the entry; nothing happens when there is none."""
        try:
            if self.platform == "win32":
                registry = self._windows_registry()
                registry.delete(RUN_VALUE)
                registry.delete_startup_approved(RUN_VALUE)
            else:
                self._entry_path().unlink(missing_ok=True)
        except OSError as exc:
            raise AutostartError(
                f"Could not turn off start at login ({self.location}): {exc.strerror or exc}"
            ) from None

    def _entry_path(self) -> Path:
        if self.platform == "darwin":
            home = self._home if self._home is not None else Path.home()
            return home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
        config_home = self._config_home
        if config_home is None:
            # The XDG spec says to ignore an empty or relative XDG_CONFIG_HOME.
            configured = os.environ.get("XDG_CONFIG_HOME", "")
            config_home = Path(configured) if os.path.isabs(configured) else Path.home() / ".config"
        return config_home / "autostart" / DESKTOP_FILE

    def _windows_registry(self) -> Registry:
        if self._registry is None:
            self._registry = _WinRegistry()
        return self._registry

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(content)
        temporary.replace(path)


def _turned_off_in_task_manager(registry: Registry) -> bool:
    """Task Manager's flag says "Disabled" (odd first byte); no flag, or an even first byte, means enabled."""
    flag = registry.get_startup_approved(RUN_VALUE)
    if not flag:
        return False
    return flag[0] % 2 == 1


def _runs_from_a_vanishing_mac_path(command: Sequence[str]) -> bool:
    return any(
        argument.startswith(_MAC_DISK_IMAGE_MOUNTS) or _MAC_TRANSLOCATED_COPY in argument
        for argument in command
    )


def is_enabled() -> bool:
    """Whether this user's start-at-login entry exists (current platform, default locations)."""
    return Autostart().is_enabled()


def enable() -> None:
    """Start the app, minimised, when this user logs in."""
    Autostart().enable()


def disable() -> None:
    """Stop starting the app at login."""
    Autostart().disable()
