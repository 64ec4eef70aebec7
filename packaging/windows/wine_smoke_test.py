"""Compile the Inno Setup script with the real compiler under Wine, then install and uninstall the setup .exe.

Linux has no Windows build of the app (PyInstaller does not cross-compile), so the setup .exe wraps a stand-in:
Wine's own ping.exe copied as gravity-desk.exe, which keeps running like the app does. Everything the installer
itself does is real and checked: the [Code] section compiles, files land in Program Files, the Start-menu and
desktop shortcuts, the start-at-sign-in value equals what core/autostart.py writes, the uninstall entry, closing
the running app before uninstalling, removing a start-at-sign-in value only when it starts this copy, keeping
the user's data, and deleting it with /DELETEUSERDATA.

Wine 8 cannot expand {autopf} for a per-user install (it lacks FOLDERID_UserProgramFiles), so the installs here
are all-users ones (/ALLUSERS); the per-user default differs only in folders and is covered by smoke_test.ps1 on
Windows. Credential Manager clean-up (PowerShell + cmdkey) does not exist in Wine and is not checked.

    .venv/bin/python packaging/windows/wine_smoke_test.py [--install-tools] [--keep]

--install-tools installs what is missing: Wine (with 32-bit support: the Inno Setup compiler and the setup .exe
are 32-bit programs) and Xvfb from apt when root, and Inno Setup 6 from the npm registry (the `innosetup`
package ships ISCC.exe) into build/innosetup/. Exit codes: 0 passed, 1 a check failed, 3 the tools are missing.
"""

# ruff: noqa: S603, S607 - its job: running wine, apt-get, npm and Xvfb

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path, PureWindowsPath

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.autostart import MINIMIZED_FLAG, RUN_KEY, RUN_VALUE, STARTUP_APPROVED_KEY  # noqa: E402 - after the path is set

ISS = ROOT / "packaging" / "windows" / "gravity-desk.iss"
INNOSETUP_NPM = "innosetup@6.4.1"
INNOSETUP_DIR = ROOT / "build" / "innosetup"
ISCC = INNOSETUP_DIR / "node_modules" / "innosetup" / "bin" / "ISCC.exe"
APP_ID = "{01F5C6F8-2FC4-41DC-9CD1-D9DAD14C6A04}"  # gravity-desk.iss AppId
APP_DIR = PureWindowsPath(r"C:\Program Files\Gravity Desk")
APP_EXE = APP_DIR / "gravity-desk.exe"
CLI_EXE = APP_DIR / "gravity-desk-cli.exe"  # the console twin build.spec makes on Windows
UNINSTALLER = APP_DIR / "unins000.exe"
START_MENU_LINK = PureWindowsPath(r"C:\ProgramData\Microsoft\Windows\Start Menu\Programs\Gravity Desk.lnk")
DESKTOP_LINK = PureWindowsPath(r"C:\users\Public\Desktop\Gravity Desk.lnk")
UNINSTALL_KEY = rf"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\{APP_ID}_is1"
HKCU_RUN_KEY = rf"HKCU\{RUN_KEY}"
HKCU_STARTUP_APPROVED_KEY = rf"HKCU\{STARTUP_APPROVED_KEY}"
# The 64-bit registry view, which the setup (64-bit install mode) writes to; `wine reg` alone may be 32-bit.
REG_64 = ("/reg:64",)
STEP_TIMEOUT_S = 120.0
TOOLS_MISSING = 3


class CheckFailed(Exception):
    """A check failed; the message says which and what was seen."""


class ToolsMissing(Exception):
    """Wine, Xvfb or the Inno Setup compiler is not there (and could not be installed)."""


def say(message: str) -> None:
    print(f"== {message}", file=sys.stderr, flush=True)


def check(condition: bool, message: str, seen: object = None) -> None:
    if not condition:
        raise CheckFailed(message if seen is None else f"{message}; seen: {seen!r}")
    print(f"ok: {message}", flush=True)


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


# ---------------------------------------------------------------------------------------------------- tools


def install_tools() -> None:
    """Install Wine (64- and 32-bit), Xvfb and the Inno Setup compiler where they are missing."""
    if not (shutil.which("wine") and shutil.which("Xvfb")):
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise ToolsMissing(
                "wine and Xvfb are missing; install them (Debian: wine wine32:i386 wine64 xvfb)"
            )
        apt_install_wine()
    if not ISCC.exists():
        if not shutil.which("npm"):
            raise ToolsMissing("npm is missing: it fetches the Inno Setup compiler (npm package innosetup)")
        say(f"npm install {INNOSETUP_NPM} into {INNOSETUP_DIR.relative_to(ROOT)}")
        INNOSETUP_DIR.mkdir(parents=True, exist_ok=True)
        npm = ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(INNOSETUP_DIR)]
        result = subprocess.run([*npm, INNOSETUP_NPM], capture_output=True, text=True, check=False)
        if result.returncode != 0 or not ISCC.exists():
            raise ToolsMissing(f"npm could not install {INNOSETUP_NPM}: {result.stderr.strip()[-800:]}")


def apt_install_wine() -> None:
    say("apt-get install wine (64- and 32-bit) and xvfb")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    packages = ["wine", "wine64", "wine32:i386", "xvfb"]
    subprocess.run(["dpkg", "--add-architecture", "i386"], check=True)
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"]
    result = subprocess.run([*install, *packages], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        # The 32-bit libraries must have the very versions of their 64-bit twins; when a mirror's security
        # index for i386 lags behind the amd64 one (seen here), taking both from the release itself matches them.
        codename = os_release().get("VERSION_CODENAME", "")
        if codename:
            result = subprocess.run(
                [*install, "-t", codename, *packages], env=env, capture_output=True, text=True, check=False
            )
    if result.returncode != 0:
        raise ToolsMissing(f"apt-get could not install Wine: {result.stdout[-600:]}{result.stderr[-600:]}")


def os_release() -> dict[str, str]:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return {}
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key: value.strip('"') for key, value in pairs}


def require_tools() -> None:
    missing = [name for name in ("wine", "wineserver", "Xvfb") if not shutil.which(name)]
    if missing:
        raise ToolsMissing(f"not installed: {', '.join(missing)} (--install-tools installs them when root)")
    if not ISCC.exists():
        raise ToolsMissing(f"no Inno Setup compiler at {ISCC.relative_to(ROOT)} (--install-tools fetches it)")


@contextlib.contextmanager
def virtual_screen() -> Iterator[str]:
    """A private Xvfb: Inno Setup creates (hidden) windows even when silent, and Wine needs a screen for them."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise ToolsMissing("Xvfb did not start")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


# ---------------------------------------------------------------------------------------------------- wine


class Wine:
    """A throw-away Wine prefix set to report Windows 10 (the installer's MinVersion)."""

    def __init__(self, prefix: Path, display: str) -> None:
        self.prefix = prefix
        self.env = {
            **os.environ,
            "WINEPREFIX": str(prefix),
            "WINEDEBUG": "-all",
            "DISPLAY": display,
            # No Mono/Gecko prompts; no Linux menu entries or file associations for the test's shortcuts.
            "WINEDLLOVERRIDES": "mscoree,mshtml=;winemenubuilder.exe=d",
        }

    def run(self, *args: str, timeout: float = STEP_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["wine", *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["wine", *args], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def boot(self) -> None:
        started = time.monotonic()
        subprocess.run(["wineboot", "--init"], env=self.env, capture_output=True, timeout=300, check=True)
        self.run("winecfg", "/v", "win10")
        check(
            self.reg_query(r"HKLM\Software\Microsoft\Windows NT\CurrentVersion", "CurrentMajorVersionNumber")
            in ("0xa", "10"),
            "the Wine prefix reports Windows 10",
        )
        say(f"Wine prefix ready in {time.monotonic() - started:.1f} s")

    def stop(self) -> None:
        subprocess.run(["wineserver", "-k"], env=self.env, capture_output=True, timeout=60, check=False)

    def host_path(self, path: PureWindowsPath) -> Path:
        """Where a C:\\ path of the prefix is on this machine."""
        if path.drive.upper() != "C:":
            raise ValueError(f"not on C: {path}")
        return self.prefix / "drive_c" / Path(*path.parts[1:])

    @staticmethod
    def windows_path(path: Path) -> str:
        """A path of this machine as Wine programs see it (drive Z: is the root)."""
        return "Z:" + str(path.resolve()).replace("/", "\\")

    def reg_query(self, key: str, value: str) -> str | None:
        result = self.run("reg", "query", key, "/v", value, *REG_64)
        if result.returncode != 0:
            return None
        for line in result.stdout.splitlines():
            match = re.match(rf"\s+{re.escape(value)}\s+REG_\w+\s+(.*)$", line.rstrip("\r"))
            if match:
                return match.group(1)
        return None

    def reg_key_exists(self, key: str) -> bool:
        return self.run("reg", "query", key, *REG_64).returncode == 0

    def reg_set(self, key: str, value: str, data: str, kind: str = "REG_SZ") -> None:
        result = self.run("reg", "add", key, "/v", value, "/t", kind, "/d", data, "/f", *REG_64)
        if result.returncode != 0:
            raise CheckFailed(f"reg add {key} {value} failed: {result.stdout}{result.stderr}")


# ---------------------------------------------------------------------------------------------------- steps


def make_stand_in(wine: Wine, folder: Path) -> Path:
    """dist\\gravity-desk\\ as PyInstaller lays it out on Windows (the windowed app and its console twin), with a
    long-running program standing in for both."""
    app = folder / "gravity-desk"
    internal = app / "_internal"
    internal.mkdir(parents=True)
    ping = wine.host_path(PureWindowsPath(r"C:\windows\system32\ping.exe"))
    for executable in (APP_EXE, CLI_EXE):
        shutil.copyfile(ping, app / executable.name)
    shutil.copytree(ROOT / "assets", internal / "assets")
    (internal / "a file with spaces.txt").write_text("stand-in for the frozen app's files\n")
    return app


def compile_setup(wine: Wine, source: Path, output: Path) -> Path:
    version = project_version()
    numeric = re.match(r"\d+(\.\d+){0,3}", version)
    started = time.monotonic()
    result = wine.run(
        Wine.windows_path(ISCC),
        "/Qp",
        f"/DAppVersion={version}",
        f"/DNumericVersion={numeric.group(0) if numeric else '0'}",
        f"/DSourceDir={Wine.windows_path(source)}",
        f"/O{Wine.windows_path(output)}",
        Wine.windows_path(ISS),
    )
    setup = output / f"gravity-desk-{version}-setup.exe"
    check(
        result.returncode == 0 and setup.exists(),
        "Inno Setup compiles gravity-desk.iss (its [Code] included)",
        result.stdout[-1500:] + result.stderr[-1500:],
    )
    say(f"compiled in {time.monotonic() - started:.1f} s: {setup.name}, {setup.stat().st_size / 1e6:.1f} MB")
    return setup


def run_logged(wine: Wine, program: str, args: list[str], log: Path) -> str:
    """Run the setup or the uninstaller silently and wait until its log is closed; return the log."""
    log.unlink(missing_ok=True)
    result = wine.run(
        program, "/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART", *args, f"/LOG={wine.windows_path(log)}"
    )
    # The uninstaller returns once its second phase (a copy run from %TEMP%) has started; that copy does the work.
    deadline = time.monotonic() + STEP_TIMEOUT_S
    text = ""
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8-sig", errors="replace") if log.exists() else ""
        if "Log closed." in text:
            break
        time.sleep(0.2)
    else:
        raise CheckFailed(f"{PureWindowsPath(program).name} did not finish; its log so far:\n{text}")
    if result.returncode != 0:
        raise CheckFailed(f"{PureWindowsPath(program).name} exited with {result.returncode}:\n{text}")
    return text


def install(wine: Wine, setup: Path, log: Path, tasks: str) -> str:
    return run_logged(wine, Wine.windows_path(setup), ["/ALLUSERS", f"/TASKS={tasks}"], log)


def uninstall(wine: Wine, log: Path, *extra: str) -> str:
    return run_logged(wine, str(UNINSTALLER), list(extra), log)


def autostart_command(exe: PureWindowsPath) -> str:
    """The start-at-sign-in value as core/autostart.py writes it for a frozen app."""
    return subprocess.list2cmdline([str(exe), MINIMIZED_FLAG])


def data_dir(wine: Wine) -> Path:
    """The app's data folder in the prefix: platformdirs' user data folder, %LOCALAPPDATA%\\gravity-desk."""
    return wine.prefix / "drive_c" / "users" / getpass.getuser() / "AppData" / "Local" / "gravity-desk"


def check_installed(wine: Wine, stand_in: Path, *, desktop_icon: bool) -> None:
    installed = wine.host_path(APP_EXE)
    check(
        installed.exists() and installed.read_bytes() == (stand_in / "gravity-desk.exe").read_bytes(),
        f"the app is installed as {APP_EXE}",
    )
    check(wine.host_path(CLI_EXE).exists(), f"its console twin as {CLI_EXE}")
    internal = wine.host_path(APP_DIR / "_internal")
    expected = sorted(p.relative_to(stand_in / "_internal") for p in (stand_in / "_internal").rglob("*"))
    found = sorted(p.relative_to(internal) for p in internal.rglob("*")) if internal.exists() else []
    check(found == expected, "every bundled file and folder is installed", set(expected) ^ set(found))
    link = wine.host_path(START_MENU_LINK)
    check(link.exists() and b"gravity-desk.exe" in link.read_bytes(), "a Start-menu shortcut to the app")
    check(
        wine.host_path(DESKTOP_LINK).exists() == desktop_icon,
        f"a desktop shortcut only when asked for ({desktop_icon})",
    )
    check(wine.reg_query(UNINSTALL_KEY, "DisplayName") == "Gravity Desk", "an entry in Apps & features")
    version = wine.reg_query(UNINSTALL_KEY, "DisplayVersion")
    check(version == project_version(), "the entry carries pyproject.toml's version", version)


def check_removed(wine: Wine) -> None:
    check(not wine.host_path(APP_DIR).exists(), f"uninstalling removes {APP_DIR}")
    check(
        not wine.host_path(START_MENU_LINK).exists() and not wine.host_path(DESKTOP_LINK).exists(),
        "uninstalling removes the shortcuts",
    )
    check(not wine.reg_key_exists(UNINSTALL_KEY), "uninstalling removes the Apps & features entry")


def wait_running(process: subprocess.Popen[bytes], executable: PureWindowsPath) -> None:
    deadline = time.monotonic() + 30
    pattern = re.escape(f"{executable.parent.name}\\{executable.name}")
    while time.monotonic() < deadline:
        listed = subprocess.run(["pgrep", "-f", pattern], capture_output=True, check=False)
        if listed.returncode == 0:
            return
        if process.poll() is not None:
            raise CheckFailed(f"the stand-in app exited with {process.returncode}")
        time.sleep(0.2)
    raise CheckFailed("the stand-in app did not start")


def scenario(wine: Wine, work: Path) -> None:
    stand_in = make_stand_in(wine, work / "dist")
    setup = compile_setup(wine, stand_in, work / "output")
    log = work / "setup.log"
    data = data_dir(wine)
    marker = data / "config.toml"

    say("install for all users with both tasks")
    install(wine, setup, log, "desktopicon,startup")
    check_installed(wine, stand_in, desktop_icon=True)
    run_value = wine.reg_query(HKCU_RUN_KEY, RUN_VALUE)
    check(
        run_value == autostart_command(APP_EXE),
        "the start-at-sign-in task writes what the app's Settings write",
        run_value,
    )
    data.mkdir(parents=True, exist_ok=True)
    marker.write_text("[server]\nport = 8045\n")

    say("run the same setup again: an upgrade in place remembers the chosen tasks")
    run_logged(wine, Wine.windows_path(setup), ["/ALLUSERS"], log)
    check_installed(wine, stand_in, desktop_icon=True)
    check(not wine.host_path(APP_DIR / "unins001.exe").exists(), "one uninstaller, not a second install")
    check(wine.reg_query(HKCU_RUN_KEY, RUN_VALUE) == run_value, "the start-at-sign-in value is still there")
    check(marker.exists(), "the user's data is untouched by an upgrade")

    say("uninstall while the app and its console twin run")
    running = {
        exe: wine.start(str(exe), "-n", "3600", "127.0.0.1") for exe in (APP_EXE, CLI_EXE)
    }  # ping waits
    try:
        for exe, process in running.items():
            wait_running(process, exe)
        text = uninstall(wine, log)
        check("is running: closing it" in text, "the uninstaller sees the running app", text[-800:])
        for exe, process in running.items():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            check(process.poll() is not None, f"the uninstaller closes the running {exe.name}")
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
    check_removed(wine)
    check(wine.reg_query(HKCU_RUN_KEY, RUN_VALUE) is None, "uninstalling removes the start-at-sign-in value")
    check(marker.exists(), "a silent uninstall keeps the user's data")

    say("reinstall without tasks; a start-at-sign-in value for another copy survives the uninstall")
    install(wine, setup, log, "")
    check_installed(wine, stand_in, desktop_icon=False)
    check(wine.reg_query(HKCU_RUN_KEY, RUN_VALUE) is None, "no start-at-sign-in value unless asked for")
    other = autostart_command(PureWindowsPath(r"C:\Tools\Gravity Desk\gravity-desk.exe"))
    wine.reg_set(HKCU_RUN_KEY, RUN_VALUE, other)
    uninstall(wine, log)
    check_removed(wine)
    check(wine.reg_query(HKCU_RUN_KEY, RUN_VALUE) == other, "a value that starts another copy is kept")

    say("reinstall; the app's Settings turn on start at sign-in; uninstall with /DELETEUSERDATA")
    install(wine, setup, log, "")
    wine.reg_set(HKCU_RUN_KEY, RUN_VALUE, autostart_command(APP_EXE))
    # Task Manager's "Startup apps" flag for it (03 = turned off there), which goes with the value.
    wine.reg_set(HKCU_STARTUP_APPROVED_KEY, RUN_VALUE, "030000000000000000000000", kind="REG_BINARY")
    check(wine.reg_query(HKCU_STARTUP_APPROVED_KEY, RUN_VALUE) is not None, "Task Manager's flag is set")
    text = uninstall(wine, log, "/DELETEUSERDATA")
    check_removed(wine)
    check(wine.reg_query(HKCU_RUN_KEY, RUN_VALUE) is None, "a value written by the app's Settings is removed")
    check(
        wine.reg_query(HKCU_STARTUP_APPROVED_KEY, RUN_VALUE) is None, "and so is Task Manager's flag for it"
    )
    check(not data.exists(), "/DELETEUSERDATA deletes the data folder", text[-800:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--install-tools", action="store_true", help="install Wine, Xvfb and Inno Setup if missing"
    )
    parser.add_argument("--keep", action="store_true", help="keep the Wine prefix and files (path printed)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        if args.install_tools:
            install_tools()
        require_tools()
    except ToolsMissing as error:
        print(f"Windows installer check not run: {error}", file=sys.stderr)
        return TOOLS_MISSING
    work = Path(tempfile.mkdtemp(prefix="gravity-desk-wine-"))
    try:
        with virtual_screen() as display:
            wine = Wine(work / "prefix", display)
            try:
                wine.boot()
                scenario(wine, work)
            finally:
                wine.stop()
    except (CheckFailed, subprocess.SubprocessError, ToolsMissing) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    say(f"Windows installer check passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
