"""Adding a named API key: ask for its name, then show the whole key once with a Copy button (afterwards the
app shows it masked). Opened with open(), never exec(): no nested event loop inside qasync."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.api_keys import clean_name
from core.config import new_api_key


class NewKeyDialog(QDialog):
    """Name -> Create -> the new key, shown in full once.

    Signals:
        created(str, str): the key's value and name, when Create is pressed.
    """

    created = Signal(str, str)

    def __init__(self, suggested_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("New API key"))
        self.key: str | None = None
        layout = QVBoxLayout(self)
        self.prompt = QLabel(self.tr("Name the key after the program that will use it:"))
        self.prompt.setWordWrap(True)
        layout.addWidget(self.prompt)
        self.name_edit = QLineEdit(suggested_name)
        self.name_edit.selectAll()
        self.name_edit.textChanged.connect(self._check_name)
        layout.addWidget(self.name_edit)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.key_label = QLabel()
        self.key_label.setWordWrap(True)
        self.key_label.hide()
        layout.addWidget(self.key_label)
        row = QHBoxLayout()
        self.key_field = QLineEdit()
        self.key_field.setReadOnly(True)
        self.key_field.hide()
        self.copy_button = QPushButton(self.tr("Copy"))
        self.copy_button.hide()
        self.copy_button.clicked.connect(self.copy_key)
        row.addWidget(self.key_field, 1)
        row.addWidget(self.copy_button)
        layout.addLayout(row)
        self.buttons = QDialogButtonBox()
        self.create_button = self.buttons.addButton(self.tr("Create"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.hide()
        self.create_button.clicked.connect(self.create_key)
        self.cancel_button.clicked.connect(self.reject)
        self.close_button.clicked.connect(self.accept)
        layout.addWidget(self.buttons)
        self.finished.connect(self.deleteLater)
        self.setMinimumWidth(460)

    def _check_name(self, text: str) -> None:
        self.create_button.setEnabled(bool(text.strip()))

    def create_key(self) -> None:
        try:
            name = clean_name(self.name_edit.text())
        except ValueError:
            self.error_label.setText(self.tr("A key needs a name (for example the program that uses it)."))
            self.error_label.show()
            return
        self.key = new_api_key()
        self.name_edit.setReadOnly(True)
        self.error_label.hide()
        self.key_label.setText(
            self.tr(
                "This is the whole key. It is shown only now: copy it into the program. "
                "Press Apply in Settings to start accepting it."
            )
        )
        self.key_field.setText(self.key)
        for widget in (self.key_label, self.key_field, self.copy_button, self.close_button):
            widget.show()
        self.create_button.hide()
        self.cancel_button.hide()
        self.created.emit(self.key, name)

    def copy_key(self) -> None:
        if self.key:
            QGuiApplication.clipboard().setText(self.key)
            self.copy_button.setText(self.tr("Copied"))
