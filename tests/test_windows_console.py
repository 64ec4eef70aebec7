"""gravity-desk.exe on Windows is windowed: run from a terminal it borrows the console only for the standard
streams that have nowhere to go (Windows' AttachConsole and CONOUT$/CONIN$ are stood in for here)."""

from __future__ import annotations

import ctypes
import io
import sys
from types import SimpleNamespace
from typing import Any

import pytest

import gravity_desk


class FakeKernel32:
    def __init__(self, attaches: bool) -> None:
        self.attaches = attaches
        self.calls: list[int] = []

    def AttachConsole(self, process: int) -> bool:  # the Win32 name
        self.calls.append(process)
        return self.attaches


class Console:
    """What `open("CONOUT$")` / `open("CONIN$")` would give: remembers which device each stream came from."""

    def __init__(self) -> None:
        self.opened: list[str] = []

    def __call__(self, name: str, mode: str = "r", **_: Any) -> io.StringIO:
        self.opened.append(f"{name}:{mode}")
        stream = io.StringIO()
        stream.name = name
        return stream


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> FakeKernel32:
    kernel32 = FakeKernel32(attaches=True)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(ctypes, "windll", SimpleNamespace(kernel32=kernel32), raising=False)
    return kernel32


def test_streams_with_nowhere_to_go_get_the_terminals_console(
    windows: FakeKernel32, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("stdin", "stdout", "stderr"):
        monkeypatch.setattr(sys, name, None)
    console = Console()
    gravity_desk._attach_console(console)
    assert windows.calls == [-1]  # ATTACH_PARENT_PROCESS
    assert sorted(console.opened) == ["CONIN$:r", "CONOUT$:w", "CONOUT$:w"]
    assert sys.stdin.name == "CONIN$"  # `accounts add --refresh-token -` reads here


@pytest.mark.usefixtures("windows")
def test_a_redirected_stream_is_left_where_the_shell_sent_it(monkeypatch: pytest.MonkeyPatch) -> None:
    redirected = io.StringIO()  # `gravity-desk.exe accounts list --json > accounts.json`
    monkeypatch.setattr(sys, "stdout", redirected)
    monkeypatch.setattr(sys, "stderr", None)
    monkeypatch.setattr(sys, "stdin", None)
    console = Console()
    gravity_desk._attach_console(console)
    assert sys.stdout is redirected
    assert sorted(console.opened) == ["CONIN$:r", "CONOUT$:w"]


def test_nothing_is_borrowed_when_every_stream_works(windows: FakeKernel32) -> None:
    console = Console()
    gravity_desk._attach_console(console)  # pytest's own streams are all there
    assert windows.calls == [] and console.opened == []


def test_without_a_console_to_attach_to_nothing_changes(
    windows: FakeKernel32, monkeypatch: pytest.MonkeyPatch
) -> None:
    windows.attaches = False  # started from Explorer or a shortcut
    monkeypatch.setattr(sys, "stdout", None)
    console = Console()
    gravity_desk._attach_console(console)
    assert sys.stdout is None and console.opened == []


@pytest.mark.parametrize(
    ("argv", "attaches"),
    [
        (["gravity-desk", "-v", "serve"], True),  # not only when the command comes first
        (["gravity-desk", "accounts", "list"], True),
        (["gravity-desk", "--help"], True),
        (["gravity-desk", "--minimized"], False),  # the desktop app: no console wanted
        (["gravity-desk"], False),
    ],
)
def test_command_line_uses_are_recognised_anywhere_in_the_arguments(argv: list[str], attaches: bool) -> None:
    assert bool(gravity_desk.CLI_COMMANDS.intersection(argv[1:])) is attaches
