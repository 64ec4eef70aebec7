"""A yes/cancel question that does not block: open(), never exec() (no nested event loop inside qasync, and a
window-modal sheet on macOS)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget


def ask_to_confirm(
    parent: QWidget, title: str, text: str, confirm_text: str, on_confirm: Callable[[], None]
) -> QMessageBox:
    """Open the question over `parent`; `on_confirm` runs only when the confirming button is pressed (Cancel
    is the default). The box deletes itself once closed: keep the returned box only until `finished`."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    confirm = box.button(QMessageBox.StandardButton.Yes)
    confirm.setText(confirm_text)

    def answered(button: QAbstractButton) -> None:
        if button is confirm:
            on_confirm()

    box.buttonClicked.connect(answered)
    box.finished.connect(box.deleteLater)
    box.open()
    return box
