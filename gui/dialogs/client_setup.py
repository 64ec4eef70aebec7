"""Set up one client (Claude Code, Codex, Gemini CLI, OpenCode): the planned change as a diff first, then
Apply (with a backup) or Undo (from the latest backup). Opened with open(): no nested event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core import client_setup
from core.client_setup import CLIENT_NAMES, Client, Connection, PlannedChange, SetupError
from gui.tasks import run_task


class ClientSetupDialog(QDialog):
    """Preview, apply and undo the gateway's settings in one client's config file.

    Signals:
        action_done(str): Apply or Undo finished; the text says what happened (or why nothing did).
    """

    action_done = Signal(str)

    def __init__(
        self, client: Client, connection: Connection, home: Path, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.client = client
        self.connection = connection
        self.home = home
        self.change: PlannedChange | None = None
        name = CLIENT_NAMES[client]
        self.setWindowTitle(self.tr("Set up {client}").format(client=name))
        layout = QVBoxLayout(self)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        self.diff_view = QPlainTextEdit()
        self.diff_view.setReadOnly(True)
        self.diff_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.diff_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.diff_view, 1)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox()
        self.apply_button = QPushButton(self.tr("Apply"))
        self.undo_button = QPushButton(self.tr("Undo last change"))
        self.undo_button.setToolTip(
            self.tr("Put back the file as it was before Gravity Desk last changed it")
        )
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.undo_button, QDialogButtonBox.ButtonRole.ResetRole)
        buttons.addButton(self.apply_button, QDialogButtonBox.ButtonRole.ApplyRole)
        self.apply_button.clicked.connect(self.apply)
        self.undo_button.clicked.connect(self.undo)
        self.close_button.clicked.connect(self.accept)
        layout.addWidget(buttons)
        self.finished.connect(self.deleteLater)
        self.resize(760, 520)
        self.refresh()

    def refresh(self) -> None:
        """Plan again from the file as it is now, and show the diff (or why there is none)."""
        path = client_setup.config_path(self.client, self.home)
        name = CLIENT_NAMES[self.client]
        self.undo_button.setEnabled(client_setup.latest_backup(self.client, self.home) is not None)
        try:
            self.change = client_setup.plan(self.client, self.connection, self.home)
        except SetupError as exc:
            self.change = None
            self.intro.setText(
                self.tr("{client} reads its settings from {path}.").format(client=name, path=path)
            )
            self.diff_view.setPlainText("")
            self.message.setText(str(exc))
            self.apply_button.setEnabled(False)
            return
        if not self.change.changes_anything:
            self.intro.setText(
                self.tr("{path} already points {client} at Gravity Desk.").format(path=path, client=name)
            )
            self.diff_view.setPlainText("")
            self.apply_button.setEnabled(False)
            return
        created = self.change.before is None
        self.intro.setText(
            (
                self.tr("Gravity Desk will create {path} for {client}:")
                if created
                else self.tr("Gravity Desk will change {path} for {client} (the rest of the file stays):")
            ).format(path=path, client=name)
        )
        self.diff_view.setPlainText(self.change.diff())
        self.apply_button.setEnabled(True)

    def apply(self) -> None:
        change = self.change
        if change is None:
            return
        self._busy()
        run_task(self._apply(change))

    async def _apply(self, change: PlannedChange) -> None:
        try:
            backup = await asyncio.to_thread(client_setup.apply, change)
        except (SetupError, OSError) as exc:
            text = str(exc)
        else:
            text = self.tr(
                "Done: restart {client} to use Gravity Desk. The old file is kept as {backup}."
            ).format(client=CLIENT_NAMES[self.client], backup=backup.name)
        self._finish(text)

    def undo(self) -> None:
        self._busy()
        run_task(self._undo())

    async def _undo(self) -> None:
        try:
            path = await asyncio.to_thread(client_setup.undo, self.client, self.home)
        except (SetupError, OSError) as exc:
            text = str(exc)
        else:
            text = self.tr("Undone: {path} is as it was before.").format(path=path)
        self._finish(text)

    def _busy(self) -> None:
        self.apply_button.setEnabled(False)
        self.undo_button.setEnabled(False)

    def _finish(self, text: str) -> None:
        self.refresh()
        self.message.setText(text)
        self.action_done.emit(text)
