"""The desktop app's start-up: one instance, Qt and asyncio in one qasync loop, server, window and tray."""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.handlers
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import qasync
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon, QWidget

from core.config import ConfigError, Settings, data_dir, load_settings
from core.redact import RedactingFilter
from core.services import Services, create_services
from gui import tasks
from gui.controller import AppController, ServerStatus
from gui.gc_guard import QtThreadGarbageCollector
from gui.i18n import apply_language, translate
from gui.icons import app_icon
from gui.main_window import MainWindow, Page
from gui.single_instance import SingleInstance, instance_key
from gui.tray import Tray

log = logging.getLogger(__name__)

APP_NAME = "Gravity Desk"
LOG_FILE = "gravity-desk.log"
LOG_FILE_BYTES = 2_000_000
LOG_FILE_BACKUPS = 3
SIGNAL_POLL_MS = 250  # Python runs its signal handlers only between bytecodes; Qt's loop must let it in


@dataclass
class AppOptions:
    """What a launch asks for (command line, or a test)."""

    minimized: bool = False
    home: Path | None = None  # the data folder; None: $GRAVITY_DESK_HOME or the platform's
    use_keyring: bool = True


@dataclass
class RunningApp:
    """The app once started: what a test (or the `ready` callback) may drive."""

    settings: Settings
    services: Services
    controller: AppController
    window: MainWindow
    tray: Tray
    stop: asyncio.Event

    def quit(self) -> None:
        """Ask the app to shut down (the tray's Quit does this)."""
        self.stop.set()


def parse_options(argv: Sequence[str]) -> AppOptions:
    parser = argparse.ArgumentParser(prog="gravity-desk", add_help=False)
    parser.add_argument("--minimized", action="store_true")
    known, _ = parser.parse_known_args(list(argv))  # Qt's own options (-style, ...) pass through
    return AppOptions(minimized=known.minimized)


def run(argv: Sequence[str] | None = None) -> int:
    """`gravity-desk` with no command: the desktop app. Returns the process exit code."""
    argv = list(sys.argv if argv is None else argv)
    options = parse_options(argv[1:])
    app = create_application(argv)
    collector = QtThreadGarbageCollector(app)
    home = options.home or data_dir()
    log_handler = install_log_file(home)
    instance = SingleInstance(instance_key(home))
    previous_hook = sys.excepthook
    try:
        if not instance.acquire():
            log.info("Gravity Desk is already running for %s; asked it to show its window", home)
            return 0
        sys.excepthook = excepthook
        return asyncio.run(main(options, instance=instance), loop_factory=lambda: qasync.QEventLoop(app))
    finally:
        collector.stop()
        sys.excepthook = previous_hook
        instance.close()
        logging.getLogger().removeHandler(log_handler)
        log_handler.close()


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(list(argv or [APP_NAME]))
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setDesktopFileName("gravity-desk")
    app.setWindowIcon(app_icon())
    # Qt's own quit-on-last-window would stop the loop under the server's feet; the app quits itself,
    # gracefully: on the tray's Quit, or on closing the window where there is no tray.
    app.setQuitOnLastWindowClosed(False)
    return app


def install_log_file(home: Path) -> logging.Handler:
    """Log INFO and up (and every unhandled exception) to <data folder>/gravity-desk.log, rotating."""
    home.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        home / LOG_FILE, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())  # the file keeps no key a client or Google sent
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


async def main(
    options: AppOptions,
    *,
    instance: SingleInstance | None = None,
    ready: Callable[[RunningApp], None] | None = None,
) -> int:
    """Run the app inside the running qasync loop until Quit; the exit code."""
    app = create_application()
    _report_task_errors()
    apply_language("system")  # a broken config.toml is explained in the desktop's language
    settings = await _load_settings_or_explain(options.home)
    if settings is None:
        return 2
    apply_language(settings.ui.language)
    _apply_theme(settings)
    try:
        services = await create_services(settings, use_keyring=options.use_keyring)
    except Exception as exc:  # a locked or damaged database, an unwritable folder: say so, do not crash
        log.exception("Could not start the services")
        await explain_start_failure(exc, settings.home)
        return 1
    if not services.secrets.encrypted:
        log.warning(
            "No system keyring: account secrets are stored unencrypted in %s", services.secrets.file_path
        )
    controller = AppController(services)
    window = MainWindow(controller)
    tray = Tray(controller, window)
    connect_tray(tray, window)
    stop = asyncio.Event()
    running = RunningApp(settings, services, controller, window, tray, stop)
    has_tray = QSystemTrayIcon.isSystemTrayAvailable()
    window.close_to_tray = has_tray
    tray.setVisible(has_tray)
    tray.quit_requested.connect(stop.set)
    window.quit_requested.connect(stop.set)
    # The session ends (log-out) or something called QApplication.quit().
    app.aboutToQuit.connect(stop.set)
    if not has_tray:
        tray.message_shown.connect(window.show_status_message)
    if instance is not None:
        instance.show_requested.connect(window.bring_to_front)
    show_window_on_reopen(app, window)
    restore_sigint = _quit_on_sigint(stop)
    try:
        state = await controller.start_server()
        services.start_background()
        start_minimized = options.minimized or bool(
            getattr(getattr(settings, "ui", None), "start_minimized", False)
        )
        # Hidden only where the tray can bring it back, and never while there is a problem to show.
        if not (start_minimized and has_tray) or state.status is ServerStatus.FAILED:
            window.bring_to_front()
        if ready is not None:
            ready(running)
        await stop.wait()
    finally:
        restore_sigint()
        app.aboutToQuit.disconnect(stop.set)
        window.close_to_tray = False
        window.hide()
        tray.hide()
        # Page tasks use the services: end them before the services close.
        await tasks.cancel_all()
        await controller.shutdown()
        error_reporter().close()
        window.deleteLater()
        tray.deleteLater()
    return 0


def _apply_theme(settings: Settings) -> None:
    """The saved light/dark choice, before the first window shows (the Settings page owns the switch)."""
    from gui.pages import settings as settings_page

    apply_theme = getattr(settings_page, "apply_theme", None)
    theme = getattr(getattr(settings, "ui", None), "theme", None)
    if callable(apply_theme) and isinstance(theme, str):
        apply_theme(theme)


async def _load_settings_or_explain(home: Path | None) -> Settings | None:
    """Settings, or None when the user chose Quit after seeing what is wrong with config.toml."""
    while True:
        try:
            return await asyncio.to_thread(load_settings, home)
        except ConfigError as exc:
            folder = home or data_dir()
            choice = await ask_config_error(str(exc), folder)
            if choice == "quit":
                return None


async def ask_config_error(message: str, folder: Path, parent: QWidget | None = None) -> str:
    """Show what is wrong with config.toml; "open" opens the folder (and asks again), "retry" or "quit"."""
    while True:
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle(translate("App", "Gravity Desk cannot read its settings"))
        box.setText(translate("App", "The settings file has a mistake, so Gravity Desk cannot start."))
        box.setInformativeText(
            translate(
                "App",
                "{message}\n\nFix the file (or delete it to start over with defaults), then choose Try again.\n"
                "Settings file: {path}",
            ).format(message=message, path=folder / "config.toml")
        )
        open_button = box.addButton(translate("App", "Open folder"), QMessageBox.ButtonRole.ActionRole)
        retry_button = box.addButton(translate("App", "Try again"), QMessageBox.ButtonRole.AcceptRole)
        quit_button = box.addButton(translate("App", "Quit"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(retry_button)
        await dialog_finished(box)
        clicked = box.clickedButton()
        box.deleteLater()
        if clicked is open_button:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
            continue
        return "quit" if clicked is quit_button or clicked is None else "retry"


async def explain_start_failure(error: Exception, folder: Path) -> None:
    """Gravity Desk cannot open its data (database, secrets): what happened, where, and what to try."""
    box = QMessageBox()
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(translate("App", "Gravity Desk cannot start"))
    box.setText(translate("App", "Gravity Desk could not open its data folder."))
    box.setInformativeText(
        translate(
            "App",
            "{error}\n\nData folder: {folder}\n\nCheck that the folder is writable and "
            "that no other copy of Gravity Desk uses it, then start Gravity Desk again.",
        ).format(error=f"{type(error).__name__}: {error}", folder=folder)
    )
    box.setDetailedText("".join(traceback.format_exception(error)))
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    await dialog_finished(box)
    box.deleteLater()


async def dialog_finished(dialog: QMessageBox) -> int:
    """Show a dialog and wait for it without a nested event loop (exec() inside qasync re-enters the loop)."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(result: int) -> None:
        if not future.done():
            future.set_result(result)

    dialog.finished.connect(finished)
    dialog.open()
    return await future


def _quit_on_sigint(stop: asyncio.Event) -> Callable[[], None]:
    """Ctrl+C in the terminal quits gracefully instead of raising KeyboardInterrupt inside a Qt slot."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGINT)
    loop = asyncio.get_running_loop()
    signal.signal(signal.SIGINT, lambda *_: loop.call_soon_threadsafe(stop.set))
    poll = QTimer(interval=SIGNAL_POLL_MS)
    poll.timeout.connect(lambda: None)
    poll.start()

    def restore() -> None:
        poll.stop()
        signal.signal(signal.SIGINT, previous)

    return restore


def connect_tray(tray: Tray, window: MainWindow) -> None:
    """What the tray asks the window for: to come to the front, or to show the Accounts page."""
    tray.window_requested.connect(window.bring_to_front)

    def show_accounts() -> None:
        window.show_page(Page.ACCOUNTS)
        window.bring_to_front()

    tray.accounts_requested.connect(show_accounts)


def show_window_on_reopen(
    app: QApplication, window: MainWindow, platform: str = sys.platform
) -> Callable[[Qt.ApplicationState], None] | None:
    """macOS starts no second process when someone opens the running app again (Finder, Spotlight,
    Launchpad): it sends the running one a "reopen", which Qt passes on as the application becoming active.
    With no Dock icon (LSUIElement) that is the only sign; a hidden window comes back, a shown one is left
    as it is. Elsewhere a second launch reaches the single-instance socket instead."""
    if platform != "darwin":
        return None

    def on_state(state: Qt.ApplicationState) -> None:
        if state is Qt.ApplicationState.ApplicationActive and not window.isVisible():
            window.bring_to_front()

    app.applicationStateChanged.connect(on_state)
    return on_state  # the connected slot, for whoever wants to disconnect it


# -- unhandled errors -------------------------------------------------------------------------------------


class ErrorReporter:
    """Shows unexpected exceptions in a dialog with details, one dialog at a time (the log has them too)."""

    def __init__(self) -> None:
        self.dialog: QMessageBox | None = None
        self.count = 0

    def show(self, error: BaseException) -> None:
        summary = f"{type(error).__name__}: {error}"
        details = "".join(traceback.format_exception(error))
        if self.dialog is not None and self.dialog.isVisible():
            # A burst of errors: one dialog that collects them, not a stack of windows.
            self.count += 1
            self.dialog.setDetailedText(self.dialog.detailedText() + "\n\n" + details)
            self.dialog.setText(
                translate(
                    "App", "%n unexpected errors happened inside Gravity Desk. The first:", "", self.count
                )
            )
            return
        self.count = 1
        box = QMessageBox()
        box.setObjectName("errorDialog")
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle(translate("App", "Gravity Desk: unexpected error"))
        box.setText(translate("App", "Something went wrong inside Gravity Desk."))
        box.setInformativeText(
            translate(
                "App",
                "{summary}\n\nThe app keeps running. If this happens again, restart Gravity Desk; if it still "
                "happens, report it with the log file ({log_file} in the data folder).",
            ).format(summary=summary, log_file=LOG_FILE)
        )
        box.setDetailedText(details)
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.open()
        self.dialog = box

    def close(self) -> None:
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None


_reporter: ErrorReporter | None = None
_reporting_task_errors = False


def error_reporter() -> ErrorReporter:
    global _reporter
    if _reporter is None:
        _reporter = ErrorReporter()
    return _reporter


def _show_task_error(error: BaseException) -> None:
    # gui.tasks has already logged it (with its traceback): only the dialog is left to do.
    if QApplication.instance() is not None:
        error_reporter().show(error)


def _report_task_errors() -> None:
    """Register the dialog with gui.tasks once per process (its registry has no removal)."""
    global _reporting_task_errors
    if not _reporting_task_errors:
        tasks.on_task_error(_show_task_error)
        _reporting_task_errors = True


def excepthook(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    """sys.excepthook: exceptions escaping Qt slots land here; they go to the log file and a dialog."""
    if issubclass(kind, KeyboardInterrupt) or QApplication.instance() is None:
        sys.__excepthook__(kind, error, trace)
        return
    log.error("Unhandled exception", exc_info=(kind, error, trace))
    error_reporter().show(error.with_traceback(trace))
