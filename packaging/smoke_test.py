"""Install the .deb (built or reused); run the app headless, offscreen and with a keyring; measure it."""

# ruff: noqa: S310, S603, S607 - its job: running dpkg, apt-get and the installed app, calling its loopback URL

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
PACKAGE = "gravity-desk"
INSTALL_DIR = Path("/opt") / PACKAGE
START_TARGET_S = 2.0  # the cold-start goal on a 2-core machine
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
IDLE_SETTLE_S = 1.5  # let start-up work (first quota refresh, GC) finish before reading idle memory
LISTENING = re.compile(r"listening on (http://\S+)")


class SmokeTestError(Exception):
    """A step failed; the message says which and why."""


@dataclass
class Figures:
    """What the run measured, printed at the end (and written as JSON with --json)."""

    bundle_mb: float = 0.0
    deb_mb: float = 0.0
    tarball_mb: float | None = None
    start_s: list[float] = field(default_factory=list)
    gui_start_s: float = 0.0
    headless_rss_mb: float = 0.0
    gui_rss_mb: float = 0.0
    install: str = ""


def say(message: str) -> None:
    print(f"== {message}", file=sys.stderr, flush=True)


def run(command: list[str], what: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command; a failure raises SmokeTestError with its output."""
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise SmokeTestError(
            f"{what} failed (exit {result.returncode}): {' '.join(command)}\n{result.stdout}{result.stderr}"
        )
    return result


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def deb_path() -> Path:
    arch = run(["dpkg", "--print-architecture"], "dpkg --print-architecture").stdout.strip()
    return DIST / f"{PACKAGE}_{project_version()}_{arch}.deb"


# What the .deb is made from: a .deb older than any of these is rebuilt.
BUILD_INPUTS = (
    "gravity_desk.py",
    "core",
    "server",
    "gui",
    "assets",
    "build.spec",
    "pyproject.toml",
    "packaging",
)


def newest_input() -> float:
    newest = 0.0
    for name in BUILD_INPUTS:
        path = ROOT / name
        files = (
            [path]
            if path.is_file()
            else [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        )
        newest = max([newest, *(p.stat().st_mtime for p in files)])
    return newest


def build_or_reuse(mode: str) -> Path:
    """The .deb: rebuilt when asked ("rebuild"), when missing, or ("auto") when older than its inputs."""
    deb = deb_path()
    if deb.is_file() and (mode == "reuse" or (mode == "auto" and deb.stat().st_mtime > newest_input())):
        say(f"reusing {deb.relative_to(ROOT)}")
        return deb
    say("building with packaging/build.sh")
    started = time.monotonic()
    # Build output goes straight to the terminal: a failing build is read there.
    if subprocess.run([str(ROOT / "packaging" / "build.sh")], check=False).returncode != 0:
        raise SmokeTestError("packaging/build.sh failed (see its output above)")
    say(f"build took {time.monotonic() - started:.0f} s")
    if not deb.is_file():
        raise SmokeTestError(f"packaging/build.sh did not produce {deb}")
    return deb


def size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir()) / 1e6


# -- installing ----------------------------------------------------------------------------------------------


def real_install_wanted() -> bool:
    """A real `dpkg -i` changes the machine: only on CI, as root, where the machine is thrown away."""
    return os.environ.get("CI", "").lower() == "true" and os.geteuid() == 0


def missing_depends(deb: Path) -> list[str]:
    depends = run(["dpkg-deb", "-f", str(deb), "Depends"], "reading Depends").stdout
    names = [re.split(r"[\s(:]", item.strip(), maxsplit=1)[0] for item in depends.split(",") if item.strip()]
    missing = []
    for name in names:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True, check=False
        )
        if "install ok installed" not in status.stdout:
            missing.append(name)
    return missing


def apt_install(packages: list[str], what: str) -> None:
    say(f"installing {what}: {' '.join(packages)}")
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(command, capture_output=True, check=False, env=env).returncode != 0:
        run(["apt-get", "update"], "apt-get update", env=env)  # a fresh machine has no package lists yet
        run(command, f"installing {what}", env=env)


def install_depends(deb: Path) -> None:
    missing = missing_depends(deb)
    if missing:
        apt_install(missing, "the package's dependencies")


@contextlib.contextmanager
def installed(deb: Path, figures: Figures) -> Iterator[Path]:
    """Install the package (for real on CI as root, else into a scratch root); yield the launcher's path."""
    if real_install_wanted():
        figures.install = "dpkg -i (CI, root)"
        install_depends(deb)
        say(f"dpkg -i {deb.name}")
        run(["dpkg", "-i", str(deb)], "dpkg -i")
        try:
            yield Path("/usr/bin") / PACKAGE
        finally:
            # --purge: -r and then forgetting the package, which -r alone keeps in the "rc" state
            # because it has maintainer scripts.
            say(f"dpkg --purge {PACKAGE}")
            run(["dpkg", "--purge", PACKAGE], "dpkg --purge")
            leftovers = [p for p in (Path("/usr/bin") / PACKAGE, INSTALL_DIR) if p.exists() or p.is_symlink()]
            if leftovers:
                raise SmokeTestError(f"dpkg --purge left {', '.join(map(str, leftovers))} behind")
        return
    figures.install = "dpkg -x into a scratch root"
    with tempfile.TemporaryDirectory(prefix="gravity-desk-root-") as scratch:
        root = Path(scratch)
        say(f"dpkg -x {deb.name} into {root}")
        run(["dpkg", "-x", str(deb), str(root)], "dpkg -x")
        yield root / "usr" / "bin" / PACKAGE
        say("removing the scratch root")


def check_layout(launcher: Path, deb: Path) -> None:
    """The files the issue names are where a desktop looks for them, and the launcher leads to the app."""
    root = launcher.parent.parent.parent
    expected = [
        root / "usr/share/applications/gravity-desk.desktop",
        root / "usr/share/icons/hicolor/scalable/apps/gravity-desk.svg",
        root / "opt/gravity-desk/gravity-desk",
    ]
    if (ROOT / "assets/icons/gravity-desk-48.png").is_file():
        expected += [root / f"usr/share/icons/hicolor/{n}x{n}/apps/gravity-desk.png" for n in (16, 48, 256)]
    missing = [str(path) for path in expected if not path.is_file()]
    if missing:
        raise SmokeTestError(f"the package lacks {', '.join(missing)}")
    if not launcher.is_symlink() or launcher.resolve() != (root / "opt/gravity-desk/gravity-desk").resolve():
        raise SmokeTestError(f"{launcher} does not lead to /opt/gravity-desk/gravity-desk")
    desktop = (root / "usr/share/applications/gravity-desk.desktop").read_text(encoding="utf-8")
    for line in ("Exec=gravity-desk", "Icon=gravity-desk", "Type=Application"):
        if line not in desktop.splitlines():
            raise SmokeTestError(f"the .desktop entry lacks {line!r}")
    check_service_unit(root / "usr/lib/systemd/user/gravity-desk.service", launcher)
    # The bundle carries the package metadata the update check compares releases with.
    printed = run([str(launcher), "--version"], "gravity-desk --version").stdout.strip()
    if printed != f"gravity-desk {project_version()}":
        raise SmokeTestError(f"gravity-desk --version printed {printed!r}, not the project's version")
    fields = run(["dpkg-deb", "-f", str(deb), "Package", "Version", "Depends"], "dpkg-deb -f").stdout
    for needed in (f"Version: {project_version()}", "libxcb-cursor0", "libxkbcommon-x11-0", "libegl1"):
        if needed not in fields:
            raise SmokeTestError(f"DEBIAN/control lacks {needed!r}")


def check_service_unit(unit: Path, launcher: Path) -> None:
    """The systemd user unit for headless use is installed, and systemd itself finds nothing wrong in it."""
    if not unit.is_file():
        raise SmokeTestError(f"the package lacks {unit}")
    if shutil.which("systemd-analyze") is None:
        return
    with tempfile.TemporaryDirectory(prefix="gd-systemd-") as runtime:
        result = subprocess.run(
            ["systemd-analyze", "verify", str(unit)],
            env=dict(os.environ, XDG_RUNTIME_DIR=runtime),
            capture_output=True,
            text=True,
            check=False,
        )
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    if launcher != Path("/usr/bin") / PACKAGE:
        # Unpacked into a scratch root: the ExecStart path is not there, which is all systemd may say.
        complaints = [line for line in complaints if f"/usr/bin/{PACKAGE} is not executable" not in line]
    if complaints:
        raise SmokeTestError("systemd-analyze verify finds problems in the unit:\n" + "\n".join(complaints))


# -- running the app -----------------------------------------------------------------------------------------


class App:
    """One run of the installed app: its process, the stderr it printed, and its data folder."""

    def __init__(self, launcher: Path, home: Path, args: list[str], gui: bool) -> None:
        self.home = home
        env = {
            k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
        }
        env |= {
            "GRAVITY_DESK_HOME": str(home),
            "GRAVITY_DESK_KEYRING": "file",  # never touch the keyring of whoever runs this
            "XDG_CONFIG_HOME": str(home / "xdg-config"),
            "XDG_CACHE_HOME": str(home / "xdg-cache"),
        }
        if gui:
            env |= {"QT_QPA_PLATFORM": "offscreen", "GRAVITY_DESK_PORT": "0"}
        self.env = env
        self.lines: list[str] = []
        self._listening = threading.Event()
        self.url = ""
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [str(launcher), *args], env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.listening_after = 0.0

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            match = LISTENING.search(line)
            if match and not self._listening.is_set():
                self.listening_after = time.perf_counter() - self.started
                self.url = match.group(1)
                self._listening.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_listening(self) -> float:
        """Seconds from launch to "listening on"; the app's own output in the error when it never says so."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._listening.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self._reader.join(timeout=2)
                state = "exited" if self.process.poll() is not None else "did not start listening"
                raise SmokeTestError(f"the app {state} (exit code {self.process.poll()}):\n{self.output}")
        return self.listening_after

    def rss_mb(self) -> float:
        """Resident memory of the app and any children (one-folder apps run in the launched process itself)."""
        total = 0
        pids = [self.process.pid]
        while pids:
            pid = pids.pop()
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                if rss := re.search(r"VmRSS:\s+(\d+)", status):  # absent once the process is a zombie
                    total += int(rss.group(1))
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pids += [int(child) for child in (task / "children").read_text().split()]
        return total / 1024

    def stop(self, signum: int) -> None:
        """Stop with `signum` and require a clean exit: 0, within STOP_TIMEOUT_S, no traceback."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise SmokeTestError(
                f"the app did not stop within {STOP_TIMEOUT_S:.0f} s:\n{self.output}"
            ) from None
        self._reader.join(timeout=5)
        if code != 0 or "Traceback" in self.output:
            raise SmokeTestError(f"the app stopped with exit code {code}:\n{self.output}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def api_key(home: Path) -> str:
    config = home / "config.toml"
    try:
        keys = tomllib.loads(config.read_text(encoding="utf-8"))["server"]["api_keys"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise SmokeTestError(f"no API key in {config}: {exc}") from None
    if not keys:
        raise SmokeTestError(f"{config} has no API key (the first start should generate one)")
    return str(keys[0])


def get_models(url: str, key: str | None) -> tuple[int, object]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(f"{url}/v1/models", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def check_models(url: str, home: Path) -> None:
    """/v1/models answers an OpenAI model list with the generated key, and refuses a request without it."""
    status, body = get_models(url, api_key(home))
    if status != 200 or not isinstance(body, dict) or body.get("object") != "list":
        raise SmokeTestError(f"GET {url}/v1/models with the key answered {status}: {body!r}")
    status, _ = get_models(url, None)
    if status != 401:
        raise SmokeTestError(f"GET {url}/v1/models without a key answered {status}, not 401")


@contextlib.contextmanager
def launched(launcher: Path, home: Path, args: list[str], *, gui: bool = False) -> Iterator[App]:
    app = App(launcher, home, args, gui)
    try:
        yield app
    finally:
        app.kill()  # only if a failed check left it running; a passing run has stopped it already


def headless(launcher: Path, scratch: Path, runs: int, figures: Figures) -> None:
    say(f"headless: gravity-desk serve --port 0, {runs} starts")
    for number in range(runs):
        home = scratch / f"serve-{number}"  # a first start every time: config, key and database are new
        with launched(launcher, home, ["serve", "--port", "0"]) as app:
            figures.start_s.append(app.wait_listening())
            # Also what makes SIGTERM safe below: `serve` installs its signal handlers just after it
            # prints "listening", before the loop serves its first request.
            check_models(app.url, home)
            if number == 0:
                time.sleep(IDLE_SETTLE_S)
                figures.headless_rss_mb = app.rss_mb()
            app.stop(signal.SIGTERM)
    say(f"  /v1/models answered with the key (401 without); starts: {format_starts(figures.start_s)}")


# -- the system keyring ---------------------------------------------------------------------------------------

KEYRING_TOOLS = {
    "dbus-daemon": "dbus",
    "gnome-keyring-daemon": "gnome-keyring",
    "secret-tool": "libsecret-tools",
}


def keyring_tools_ready() -> bool:
    """gnome-keyring, D-Bus and secret-tool: there already, or installed on CI as root (else the step is skipped)."""
    missing = sorted({package for tool, package in KEYRING_TOOLS.items() if shutil.which(tool) is None})
    if not missing:
        return True
    if not real_install_wanted():
        say(f"keyring: skipped (install {' '.join(missing)} to check the Secret Service)")
        return False
    apt_install(missing, "the keyring check's tools")
    return True


@contextlib.contextmanager
def fake_upstream() -> Iterator[dict[str, str]]:
    """The fake Google of the tests, in a process of its own (bench/fake_server.py); yields its address."""
    fake = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "fake_server.py")],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdin=subprocess.PIPE,  # it serves until this pipe closes
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None
        yield json.loads(fake.stdout.readline())
    finally:
        assert fake.stdin is not None
        fake.stdin.close()
        try:
            fake.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            fake.kill()


def point_at(home: Path, base_url: str) -> None:
    """A config.toml whose sign-in and Cloud Code addresses are the fake's."""
    sys.path.insert(0, str(ROOT))
    from core.config import save_settings
    from tests.fake_google import settings_pointed_at

    save_settings(settings_pointed_at(home, base_url))


@contextlib.contextmanager
def secret_service(scratch: Path) -> Iterator[dict[str, str]]:
    """A private D-Bus session with gnome-keyring's Secret Service unlocked in it; yields the environment."""
    user_home = scratch / "keyring-user"
    user_home.mkdir()
    prefixes = ("DBUS_", "GNOME_KEYRING", "XDG_", "GRAVITY_DESK_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env |= {
        "HOME": str(user_home),
        "XDG_RUNTIME_DIR": str(user_home),
        "XDG_DATA_HOME": str(user_home / "data"),
    }
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert bus.stdout is not None
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        # A new login keyring, created and unlocked with this password (the daemon reads it from stdin).
        unlocked = subprocess.run(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets"],
            input="smoke-test",
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if unlocked.returncode != 0:
            raise SmokeTestError(f"gnome-keyring-daemon did not start: {unlocked.stderr}")
        yield env
    finally:
        bus.terminate()
        bus.wait(timeout=STOP_TIMEOUT_S)


def keyring_check(launcher: Path, scratch: Path) -> None:
    """Accounts added to the installed app go to the desktop's Secret Service, never into its data folder."""
    if not keyring_tools_ready():
        return
    say("keyring: accounts add in a D-Bus session with gnome-keyring")
    home = scratch / "keyring-home"
    with fake_upstream() as fake, secret_service(scratch) as env:
        point_at(home, fake["base_url"])
        env["GRAVITY_DESK_HOME"] = str(home)
        token = fake["refresh_token"]
        added = subprocess.run(
            [str(launcher), "accounts", "add", "--refresh-token", "-"],
            input=token + "\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            check=False,
        )
        if added.returncode != 0:
            raise SmokeTestError(
                f"accounts add failed (exit {added.returncode}):\n{added.stdout}{added.stderr}"
            )
        if "unencrypted" in added.stderr or (home / "secrets.json").exists():
            raise SmokeTestError(f"the app fell back to the secrets file:\n{added.stderr}")
        stored = run(["secret-tool", "search", "--all", "service", "gravity-desk"], "secret-tool", env=env)
        if f"secret = {token}" not in stored.stdout:
            raise SmokeTestError(
                f"the Secret Service holds no gravity-desk item with the token:\n{stored.stdout}"
            )
        leaked = [p.name for p in home.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]
        if leaked:
            raise SmokeTestError(f"the refresh token is in the data folder too: {', '.join(leaked)}")
        listed = run([str(launcher), "accounts", "list"], "accounts list", env=env)
        if "bench@example.com" not in listed.stdout:
            raise SmokeTestError(f"accounts list does not show the account:\n{listed.stdout}")
    say("  the refresh token is in the Secret Service only; accounts list reads it back")


def unpacked_tarball(tarball: Path, scratch: Path) -> None:
    """The .tar.gz, unpacked as a user would (`tar xzf`), answers like the installed .deb."""
    say(f"tarball: {tarball.name}, unpacked and started")
    target = scratch / "tarball"
    target.mkdir()
    run(["tar", "-C", str(target), "-xzf", str(tarball)], "unpacking the .tar.gz")
    launcher = target / PACKAGE / PACKAGE
    if not os.access(launcher, os.X_OK):
        raise SmokeTestError(f"the .tar.gz does not unpack to an executable {PACKAGE}/{PACKAGE}")
    home = scratch / "tarball-home"
    with launched(launcher, home, ["serve", "--port", "0"]) as app:
        app.wait_listening()
        check_models(app.url, home)
        app.stop(signal.SIGTERM)
    say("  /v1/models answered with the key (401 without)")


def desktop(launcher: Path, scratch: Path, figures: Figures) -> None:
    say("desktop app offscreen (QT_QPA_PLATFORM=offscreen)")
    home = scratch / "gui"
    log_file = home / "gravity-desk.log"
    with launched(launcher, home, [], gui=True) as app:
        figures.gui_start_s = app.wait_listening()
        check_models(app.url, home)
        # The single-instance socket answers only once the window's event loop runs: a second launch
        # must hand over to it and exit at once.
        second = subprocess.run(
            [str(launcher)], env=app.env, capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False
        )
        if second.returncode != 0:
            raise SmokeTestError(f"a second launch failed (exit {second.returncode}):\n{second.stderr}")
        log = log_file.read_text(encoding="utf-8") if log_file.is_file() else ""
        if "listening on" not in log or "already running" not in log:
            raise SmokeTestError(f"{log_file} does not show the app up and the hand-over:\n{log}")
        time.sleep(IDLE_SETTLE_S)
        figures.gui_rss_mb = app.rss_mb()
        app.stop(signal.SIGINT)  # Ctrl+C is the desktop app's graceful quit outside the tray
    say(f"  window up, server listening after {figures.gui_start_s:.2f} s; a second launch handed over")


def format_starts(starts: list[float]) -> str:
    if not starts:
        return "-"
    return (
        f"first {starts[0]:.2f} s, median {statistics.median(starts):.2f} s, "
        f"min {min(starts):.2f} s, max {max(starts):.2f} s over {len(starts)} runs"
    )


def report(figures: Figures) -> str:
    lines = [
        f"Gravity Desk {project_version()} smoke test passed ({figures.install}):",
        f"  bundle (/opt/gravity-desk)      {figures.bundle_mb:7.1f} MB",
        f"  .deb                            {figures.deb_mb:7.1f} MB",
    ]
    if figures.tarball_mb is not None:
        lines.append(f"  .tar.gz                         {figures.tarball_mb:7.1f} MB")
    lines += [
        f"  start to 'listening' (serve)    {format_starts(figures.start_s)} (target < {START_TARGET_S:.0f} s)",
        f"  start to 'listening' (desktop)  {figures.gui_start_s:.2f} s (offscreen)",
        f"  idle memory (RSS), headless     {figures.headless_rss_mb:7.1f} MB",
        f"  idle memory (RSS), desktop app  {figures.gui_rss_mb:7.1f} MB (offscreen)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument(
        "--reuse", action="store_true", help="use dist/*.deb as it is, even if sources changed"
    )
    choice.add_argument("--rebuild", action="store_true", help="build even if dist/*.deb is up to date")
    parser.add_argument("--runs", type=int, default=5, help="headless starts to time (default 5)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if sys.platform != "linux" or shutil.which("dpkg-deb") is None:
        print("smoke_test.py: needs Linux with dpkg (Debian, Ubuntu)", file=sys.stderr)
        return 2
    figures = Figures()
    try:
        deb = build_or_reuse("reuse" if args.reuse else "rebuild" if args.rebuild else "auto")
        figures.deb_mb = size_mb(deb)
        tarball = DIST / f"{PACKAGE}-{project_version()}-linux-{os.uname().machine}.tar.gz"
        figures.tarball_mb = size_mb(tarball) if tarball.is_file() else None
        with installed(deb, figures) as launcher, tempfile.TemporaryDirectory(prefix="gd-smoke-") as scratch:
            check_layout(launcher, deb)
            figures.bundle_mb = size_mb(launcher.resolve().parent)
            headless(launcher, Path(scratch), max(1, args.runs), figures)
            desktop(launcher, Path(scratch), figures)
            keyring_check(launcher, Path(scratch))
            if tarball.is_file():
                unpacked_tarball(tarball, Path(scratch))
    except (SmokeTestError, subprocess.TimeoutExpired) as exc:
        print(f"\nsmoke test FAILED: {exc}", file=sys.stderr)
        return 1
    print(report(figures))
    if statistics.median(figures.start_s) >= START_TARGET_S:
        print(f"warning: the median start is over the {START_TARGET_S:.0f} s target", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(figures.__dict__, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
