"""Start at login: real files for the XDG entry and the LaunchAgent, a fake registry for Windows."""

from __future__ import annotations

import configparser
import plistlib
import shlex
import sys
from pathlib import Path

import pytest

from core import autostart
from core.autostart import Autostart, AutostartError, desktop_exec_line, launch_command


def _read_desktop_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_linux_entry_in_xdg_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    linux = Autostart(platform="linux")
    assert not linux.is_enabled()
    linux.enable()
    path = tmp_path / "cfg" / "autostart" / "gravity-desk.desktop"
    assert linux.is_enabled() and linux.location == str(path)
    entry = _read_desktop_entry(path)
    assert entry["Type"] == "Application" and entry["Name"] == "Gravity Desk"
    # Running from source: this interpreter, the gravity_desk.py script of this checkout, --minimized.
    script = Path(autostart.__file__).resolve().parent.parent / "gravity_desk.py"
    assert shlex.split(entry["Exec"]) == [sys.executable, str(script), "--minimized"]
    linux.disable()
    assert not path.exists() and not linux.is_enabled()
    linux.disable()  # nothing to remove: not an error


def test_linux_default_is_dot_config_when_xdg_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    Autostart(platform="linux").enable()
    assert (tmp_path / ".config" / "autostart" / "gravity-desk.desktop").is_file()


def test_linux_entry_hidden_by_the_desktop_counts_as_off(tmp_path: Path) -> None:
    linux = Autostart(platform="linux", config_home=tmp_path)
    linux.enable()
    path = tmp_path / "autostart" / "gravity-desk.desktop"
    path.write_text(path.read_text() + "Hidden=true\n")
    assert not linux.is_enabled()
    linux.enable()  # turning it on again rewrites the entry
    assert linux.is_enabled()


def test_frozen_app_starts_its_own_executable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/Gravity Desk/gravity-desk")
    assert launch_command() == ["/opt/Gravity Desk/gravity-desk", "--minimized"]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            ["/usr/bin/python3", "/app/gravity_desk.py", "--minimized"],
            "/usr/bin/python3 /app/gravity_desk.py --minimized",
        ),
        (["/home/a b/py", "--minimized"], '"/home/a b/py" --minimized'),
        (["/x/100%/py"], "/x/100%%/py"),
        (['/x/"q"$/py'], '"/x/\\\\"q\\\\"\\\\$/py"'),
        (["C:\\Apps\\gd.exe"], '"C:\\\\\\\\Apps\\\\\\\\gd.exe"'),
    ],
)
def test_desktop_exec_quoting(command: list[str], expected: str) -> None:
    assert desktop_exec_line(command) == expected


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "autostart").write_text("a file where the folder should be")
    with pytest.raises(AutostartError, match=r"Could not turn on start at login \(.*autostart"):
        Autostart(platform="linux", config_home=tmp_path).enable()


def test_macos_launch_agent(tmp_path: Path) -> None:
    mac = Autostart(
        platform="darwin", home=tmp_path, command=["/Applications/Gravity Desk.app/x", "--minimized"]
    )
    assert not mac.is_enabled()
    mac.enable()
    path = tmp_path / "Library" / "LaunchAgents" / "io.github.gravity-desk.plist"
    assert mac.is_enabled() and mac.location == str(path)
    agent = plistlib.loads(path.read_bytes())
    assert agent["Label"] == path.stem
    assert agent["ProgramArguments"] == ["/Applications/Gravity Desk.app/x", "--minimized"]
    assert agent["RunAtLoad"] is True
    mac.disable()
    assert not path.exists() and not mac.is_enabled()


@pytest.mark.parametrize(
    "executable",
    [
        "/Volumes/Gravity Desk/Gravity Desk.app/Contents/MacOS/Gravity Desk",  # the mounted .dmg
        "/private/var/folders/x1/T/AppTranslocation/5A1C-77E2/d/Gravity Desk.app/Contents/MacOS/Gravity Desk",
    ],
)
def test_macos_refuses_a_launch_agent_into_a_path_that_goes_away(tmp_path: Path, executable: str) -> None:
    mac = Autostart(platform="darwin", home=tmp_path, command=[executable, "--minimized"])
    with pytest.raises(AutostartError, match="Move Gravity Desk to the Applications folder first"):
        mac.enable()
    assert not mac.is_enabled()
    assert not (tmp_path / "Library" / "LaunchAgents").exists()


class FakeRegistry:
    """The Run values, and Task Manager's StartupApproved flags (REG_BINARY) by value name."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.startup_approved: dict[str, bytes] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)

    def get_startup_approved(self, name: str) -> bytes | None:
        return self.startup_approved.get(name)

    def delete_startup_approved(self, name: str) -> None:
        self.startup_approved.pop(name, None)


# What Task Manager writes: a flag byte, then padding and the time of the change.
TASK_MANAGER_DISABLED = bytes([0x03, 0, 0, 0]) + bytes(range(8))
TASK_MANAGER_ENABLED = bytes([0x02, 0, 0, 0]) + bytes(8)


def test_windows_run_value() -> None:
    registry = FakeRegistry()
    windows = Autostart(
        platform="win32",
        registry=registry,
        command=["C:\\Program Files\\Gravity Desk\\gd.exe", "--minimized"],
    )
    assert not windows.is_enabled()
    windows.enable()
    assert windows.is_enabled()
    assert registry.values == {"Gravity Desk": '"C:\\Program Files\\Gravity Desk\\gd.exe" --minimized'}
    assert windows.location.startswith("HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run")
    windows.disable()
    assert registry.values == {} and not windows.is_enabled()


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in exists only where winreg does not")
def test_windows_backend_without_winreg_says_so() -> None:
    with pytest.raises(AutostartError, match="registry is not available"):
        Autostart(platform="win32").enable()


def _windows(registry: FakeRegistry) -> Autostart:
    return Autostart(platform="win32", registry=registry, command=["C:\\Apps\\gd.exe", "--minimized"])


def test_windows_entry_turned_off_in_task_manager_counts_as_off_until_enabled_again() -> None:
    registry = FakeRegistry()
    windows = _windows(registry)
    windows.enable()
    registry.startup_approved["Gravity Desk"] = TASK_MANAGER_DISABLED  # the user's click in Startup apps
    assert "Gravity Desk" in registry.values and not windows.is_enabled()
    windows.enable()
    assert windows.is_enabled() and registry.startup_approved == {}


def test_windows_entry_approved_in_task_manager_counts_as_on() -> None:
    registry = FakeRegistry()
    windows = _windows(registry)
    windows.enable()
    registry.startup_approved["Gravity Desk"] = TASK_MANAGER_ENABLED
    assert windows.is_enabled()


def test_windows_disable_removes_the_task_manager_flag_too() -> None:
    registry = FakeRegistry()
    windows = _windows(registry)
    windows.enable()
    registry.startup_approved["Gravity Desk"] = TASK_MANAGER_DISABLED
    registry.startup_approved["Other App"] = TASK_MANAGER_DISABLED
    windows.disable()
    assert registry.values == {} and registry.startup_approved == {"Other App": TASK_MANAGER_DISABLED}
    assert not windows.is_enabled()
