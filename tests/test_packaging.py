"""The installer's inputs: build.spec's exclusions, the .deb's files, and the smoke test run against the dev app."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINUX = ROOT / "packaging" / "linux"
APP_SOURCES = [
    ROOT / "gravity_desk.py",
    *(p for d in ("core", "server", "gui") for p in (ROOT / d).rglob("*.py")),
]
DEV_LAUNCHER = Path(sys.executable).parent / "gravity-desk"  # the venv's console script for the same app


def spec_constant(name: str) -> tuple[str, ...]:
    """A literal tuple assigned at the top of build.spec (read, not run: running needs PyInstaller)."""
    tree = ast.parse((ROOT / "build.spec").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            value = ast.literal_eval(node.value)
            assert isinstance(value, tuple)
            return value
    raise AssertionError(f"build.spec has no {name}")


def qt_modules_the_app_imports() -> set[str]:
    modules: set[str] = set()
    for source in APP_SOURCES:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            modules |= {n.split(".")[1] for n in names if n.startswith("PySide6.Qt")}
    return modules


def left_out(path: str) -> bool:
    """The spec's keep() rule, applied to a bundle path."""
    if any(("/" + path).endswith(part) for part in spec_constant("KEPT_QT_FILES")):
        return False
    return any(part in "/" + path for part in spec_constant("UNUSED_QT_FILES"))


def test_the_bundle_keeps_every_qt_module_the_app_imports() -> None:
    used = qt_modules_the_app_imports()
    assert {"QtCore", "QtGui", "QtWidgets"} <= used  # the scan itself works
    excluded = set(spec_constant("UNUSED_QT_MODULES"))
    assert not used & excluded, f"build.spec leaves out Qt modules the app imports: {used & excluded}"
    for module in used:
        assert not left_out(f"PySide6/Qt/lib/libQt6{module.removeprefix('Qt')}.so.6"), module


@pytest.mark.parametrize(
    "needed",
    [
        "PySide6/Qt/plugins/platforms/libqxcb.so",  # X11 desktops
        "PySide6/Qt/plugins/platforms/libqwayland.so",  # Wayland desktops
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",  # the smoke test and headless CI
        "PySide6/Qt/plugins/iconengines/libqsvgicon.so",  # assets/gravity-desk.svg as the window icon
        "PySide6/Qt/plugins/imageformats/libqsvg.so",
        "PySide6/Qt/plugins/imageformats/libqico.so",
        "PySide6/Qt/plugins/tls/libqopensslbackend.so",
        "PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so",
        "PySide6/Qt/lib/libQt6Svg.so.6",
        "PySide6/Qt/lib/libQt6DBus.so.6",  # the tray (StatusNotifierItem) talks D-Bus
        "PySide6/Qt/lib/libQt6XcbQpa.so.6",
        "PySide6/Qt/lib/libQt6WaylandClient.so.6",
        "assets/gravity-desk.svg",
        "assets/i18n/gravity_desk_zh_CN.qm",  # the Chinese UI (gui/i18n.py)
        "assets/i18n/gravity_desk_en.qm",  # English plural forms
        "PySide6/Qt/translations/qtbase_zh_CN.qm",  # Qt's own buttons and dialogs in Chinese
    ],
)
def test_the_bundle_keeps_what_the_desktop_app_loads(needed: str) -> None:
    assert not left_out(needed)


def test_the_bundle_leaves_out_qml_and_translations() -> None:
    for unused in ("PySide6/Qt/lib/libQt6Qml.so.6", "PySide6/Qt/translations/qtbase_de.qm"):
        assert left_out(unused)


def test_desktop_entry_starts_the_installed_command_with_the_app_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    entry.read(LINUX / "gravity-desk.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert section["Type"] == "Application"
    assert section["Exec"].split()[0] in scripts
    assert (ROOT / "assets" / f"{section['Icon']}.svg").is_file()
    assert section["Categories"].endswith(";")
    assert section["Terminal"] == "false"
    # Wayland and X11 match the window to this entry by the name the app sets with setDesktopFileName().
    app_source = (ROOT / "gui" / "app.py").read_text(encoding="utf-8")
    desktop_name = re.search(r'setDesktopFileName\("([^"]+)"\)', app_source)
    assert desktop_name is not None
    assert section["StartupWMClass"] == desktop_name.group(1)


def test_the_systemd_unit_runs_the_installed_headless_server() -> None:
    unit = configparser.ConfigParser(interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read(LINUX / "gravity-desk.service", encoding="utf-8")
    build = (ROOT / "packaging" / "build.sh").read_text(encoding="utf-8")
    assert 'ln -s "../../opt/$APP/$APP" "$STAGE/usr/bin/$APP"' in build  # the launcher ExecStart names
    assert '"$STAGE/usr/lib/systemd/user/$APP.service"' in build
    assert unit["Service"]["ExecStart"] == "/usr/bin/gravity-desk serve"
    assert unit["Install"]["WantedBy"] == "default.target"  # a user unit: started with the user's manager


def test_control_depends_on_the_libraries_qts_xcb_plugin_loads() -> None:
    control = (LINUX / "control").read_text(encoding="utf-8")
    fields = dict(line.split(": ", 1) for line in control.splitlines() if ": " in line and line[0] != " ")
    depends = {re.split(r"[\s(]", item.strip())[0] for item in fields["Depends"].split(",")}
    xcb_needs = {"libxcb-cursor0", "libxkbcommon-x11-0", "libxcb-icccm4", "libxcb-keysyms1", "libxcb-image0"}
    assert xcb_needs | {"libegl1", "libgl1", "libfontconfig1", "libdbus-1-3"} <= depends
    assert fields["Package"] == "gravity-desk"
    # The Chinese UI needs a CJK font; desktops set to Chinese have one, others are pointed at one.
    assert "fonts-noto-cjk" in fields["Suggests"]
    for placeholder in ("@VERSION@", "@INSTALLED_SIZE@", "@GLIBC@", "@MAINTAINER@"):
        assert placeholder in control  # build.sh fills them in


def fake_tool(folder: Path, name: str, record: Path) -> None:
    tool = folder / name
    tool.write_text(f'#!/bin/sh\necho "{name} $*" >> "{record}"\n', encoding="utf-8")
    tool.chmod(0o755)


@pytest.mark.parametrize("script, action", [("postinst", "configure"), ("postrm", "remove")])
def test_maintainer_scripts_refresh_the_menus_when_the_tools_exist(
    tmp_path: Path, script: str, action: str
) -> None:
    assert os.stat(LINUX / script).st_mode & stat.S_IXUSR
    record = tmp_path / "calls"
    tools = tmp_path / "bin"
    tools.mkdir()
    fake_tool(tools, "update-desktop-database", record)
    fake_tool(tools, "gtk-update-icon-cache", record)
    env = {"PATH": f"{tools}:/usr/bin:/bin"}
    subprocess.run(["/bin/sh", str(LINUX / script), action], env=env, check=True, timeout=60)
    calls = record.read_text(encoding="utf-8").splitlines()
    assert "update-desktop-database --quiet /usr/share/applications" in calls
    has_theme = Path("/usr/share/icons/hicolor/index.theme").is_file()
    assert ("gtk-update-icon-cache --quiet --force /usr/share/icons/hicolor" in calls) == has_theme


@pytest.mark.parametrize("script, action", [("postinst", "configure"), ("postrm", "remove")])
def test_maintainer_scripts_succeed_without_the_tools(tmp_path: Path, script: str, action: str) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = subprocess.run(
        ["/bin/sh", str(LINUX / script), action], env={"PATH": str(empty)}, check=False, timeout=60
    )
    assert result.returncode == 0


@pytest.mark.parametrize("script", ["build.sh", "macos/build.sh"])
def test_build_scripts_are_valid_bash(script: str) -> None:
    subprocess.run(["bash", "-n", str(ROOT / "packaging" / script)], check=True, timeout=60)


WORKFLOW = ROOT / ".github" / "workflows" / "build.yml"


def test_the_ci_workflow_is_valid_for_github_actions() -> None:
    # GitHub's published workflow schema, as vendored by check-jsonschema (no network).
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(WORKFLOW),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,  # subprocess.run kills the child when it runs out, so nothing outlives the test
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_script_the_ci_workflow_runs_exists() -> None:
    scripts = set(re.findall(r"packaging/[\w./-]+\.(?:sh|ps1|py)", WORKFLOW.read_text()))
    assert {"packaging/build.sh", "packaging/windows/build.ps1", "packaging/macos/build.sh"} <= scripts
    for script in scripts:
        assert (ROOT / script).is_file(), script


# -- the smoke test's checks, run against the same app from the dev venv ------------------------------------


@pytest.fixture(scope="module")
def smoke() -> Iterator[ModuleType]:
    # Loaded by path: `packaging` is also the name of a PyPA library installed in the venv.
    name = "gravity_desk_packaging_smoke_test"
    spec = importlib.util.spec_from_file_location(name, ROOT / "packaging" / "smoke_test.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


needs_dev_launcher = pytest.mark.skipif(
    not DEV_LAUNCHER.is_file(), reason="no gravity-desk script in the venv"
)


@needs_dev_launcher
def test_smoke_test_starts_the_headless_app_and_checks_the_key(
    smoke: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smoke, "IDLE_SETTLE_S", 0.1)
    figures = smoke.Figures()
    smoke.headless(DEV_LAUNCHER, tmp_path, 1, figures)
    assert len(figures.start_s) == 1 and 0 < figures.start_s[0] < smoke.START_TIMEOUT_S
    assert figures.headless_rss_mb > 10  # a Python process with aiohttp loaded: read from /proc, not zero
    assert (tmp_path / "serve-0" / "config.toml").is_file()


needs_secret_service = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("dbus-daemon", "gnome-keyring-daemon", "secret-tool")),
    reason="needs dbus, gnome-keyring and libsecret-tools (the packaging smoke test installs them on CI)",
)


@needs_dev_launcher
@needs_secret_service
def test_account_secrets_go_to_a_real_secret_service_not_the_data_folder(
    smoke: ModuleType, tmp_path: Path
) -> None:
    # gnome-keyring in a private D-Bus session; raises SmokeTestError when the secret is anywhere else.
    smoke.keyring_check(DEV_LAUNCHER, tmp_path)


@needs_dev_launcher
def test_smoke_test_fails_when_the_app_runs_without_an_api_key(smoke: ModuleType, tmp_path: Path) -> None:
    home = tmp_path / "open"
    home.mkdir()
    (home / "config.toml").write_text("[server]\napi_keys = []\n", encoding="utf-8")
    with smoke.launched(DEV_LAUNCHER, home, ["serve", "--port", "0"]) as app:
        app.wait_listening()
        # Auth off: the check must not pass just because /v1/models answers.
        with pytest.raises(smoke.SmokeTestError, match="has no API key"):
            smoke.check_models(app.url, home)
        app.stop(signal.SIGTERM)


@needs_dev_launcher
def test_smoke_test_sees_the_desktop_app_come_up_offscreen(
    smoke: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smoke, "IDLE_SETTLE_S", 0.1)
    figures = smoke.Figures()
    smoke.desktop(DEV_LAUNCHER, tmp_path, figures)
    assert 0 < figures.gui_start_s < smoke.START_TIMEOUT_S
    assert figures.gui_rss_mb > 30  # Qt and the window loaded, read from /proc
    log = (tmp_path / "gui" / "gravity-desk.log").read_text(encoding="utf-8")
    assert "already running" in log


def test_smoke_test_reports_an_app_that_exits_at_start(smoke: ModuleType, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\necho 'cannot open the database' >&2\nexit 3\n", encoding="utf-8")
    broken.chmod(0o755)
    with (
        smoke.launched(broken, tmp_path / "home", ["serve"]) as app,
        pytest.raises(smoke.SmokeTestError, match=r"exited \(exit code 3\)[\s\S]*cannot open the database"),
    ):
        app.wait_listening()
