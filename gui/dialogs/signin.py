"""The "Sign in with Google" dialog: opens the browser, waits for it with a Cancel button, offers a paste box."""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.errors import UpstreamError
from core.signin import DEFAULT_TIMEOUT_S, BrowserSignIn, SignInCancelled, SignInError
from gui import theme
from gui.controller import AppController
from gui.tasks import run_task

log = logging.getLogger(__name__)

MIN_TEXT_WIDTH = 456  # the dialog is then 480 px wide with its margins


class SignInDialog(QDialog):
    """Runs one BrowserSignIn and then adds the account; Cancel (or closing) stops either step.

    Open it with `start()` (non-blocking: the dialog is window-modal and the work runs on the event loop).
    `login_hint` pre-selects the e-mail on Google's page for a "Sign in again".

    Signals:
        signed_in(Account): the account was added, or updated when its e-mail was known.
    """

    signed_in = Signal(object)

    def __init__(
        self,
        controller: AppController,
        parent: QWidget | None = None,
        *,
        login_hint: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._login_hint = login_hint
        self._timeout_s = timeout_s
        self._sign_in: BrowserSignIn | None = None
        self._task: asyncio.Task[None] | None = None
        self.consent_url = ""
        self.setWindowTitle(
            self.tr("Sign in again with Google") if login_hint else self.tr("Sign in with Google")
        )
        self._build()

    def _build(self) -> None:
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.headline.setFont(font)
        self.status_label = QLabel()
        # The layout's SetMinimumSize (below) replaces a minimum width set on the dialog: the text column
        # holds it instead, or the wrapped lines fold into a narrow strip (short Chinese words most of all).
        self.status_label.setMinimumWidth(MIN_TEXT_WIDTH)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy indicator: nobody knows how long the user takes in the browser
        self.progress.setTextVisible(False)

        self.open_again_button = QPushButton(self.tr("Open the browser again"))
        self.open_again_button.clicked.connect(self._open_browser)
        self.copy_link_button = QPushButton(self.tr("Copy link"))
        self.copy_link_button.setToolTip(
            self.tr("Copy Google's sign-in address, to open it in a browser yourself")
        )
        self.copy_link_button.clicked.connect(self._copy_link)
        link_row = QHBoxLayout()
        link_row.addWidget(self.open_again_button)
        link_row.addWidget(self.copy_link_button)
        link_row.addStretch(1)

        self.paste_toggle = QPushButton(self.tr("Browser on another machine? Paste the address here"))
        self.paste_toggle.setFlat(True)
        self.paste_toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self.paste_toggle.clicked.connect(self._show_paste_box)
        self.paste_box = QWidget()
        paste_layout = QVBoxLayout(self.paste_box)
        paste_layout.setContentsMargins(0, 0, 0, 0)
        paste_help = QLabel(
            self.tr(
                "Open the link (Copy link) in the browser on the other machine and sign in. It ends on a page "
                "that does not load; copy the whole address from its address bar and paste it here."
            )
        )
        paste_help.setWordWrap(True)
        self.paste_edit = QLineEdit()
        self.paste_edit.setPlaceholderText("http://localhost:…/oauth-callback?code=…")
        self.paste_edit.returnPressed.connect(self._submit_paste)
        self.paste_button = QPushButton(self.tr("Continue"))
        self.paste_button.clicked.connect(self._submit_paste)
        paste_row = QHBoxLayout()
        paste_row.addWidget(self.paste_edit, 1)
        paste_row.addWidget(self.paste_button)
        self.paste_error = QLabel()
        self.paste_error.setWordWrap(True)
        self.paste_error.setStyleSheet(theme.tone_style(theme.Tone.ERROR))
        self.paste_error.hide()
        paste_layout.addWidget(paste_help)
        paste_layout.addLayout(paste_row)
        paste_layout.addWidget(self.paste_error)
        self.paste_box.hide()

        self.retry_button = QPushButton(self.tr("Try again"))
        self.retry_button.clicked.connect(self._begin)
        self.retry_button.hide()
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        # Word-wrapped labels need height for their width: never let the dialog be shorter than that, or the
        # second instruction line hides under the progress bar.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        layout.addWidget(self.headline)
        layout.addWidget(self.status_label)
        layout.addWidget(self.progress)
        layout.addLayout(link_row)
        layout.addWidget(self.paste_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.paste_box)
        layout.addStretch(1)
        layout.addLayout(buttons)

    # -- public ---------------------------------------------------------------------------------------

    def start(self) -> None:
        """Show the dialog and begin: listen, open the browser, wait."""
        self.open()
        self._begin()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def reject(self) -> None:
        """Cancel, Escape or the window's close button: stop the sign-in, then close."""
        self._stop()
        super().reject()

    # -- steps ----------------------------------------------------------------------------------------

    def _begin(self) -> None:
        if self.running:
            return
        self._set_phase(self.tr("Starting the sign-in…"), "")
        self.retry_button.hide()
        self.progress.show()
        self._sign_in = BrowserSignIn(
            self._controller.services.oauth, login_hint=self._login_hint, timeout_s=self._timeout_s
        )
        self._task = run_task(self._run(self._sign_in))

    async def _run(self, sign_in: BrowserSignIn) -> None:
        try:
            try:
                self.consent_url = await sign_in.start()
                self._set_phase(
                    self.tr("Continue in your browser"),
                    self.tr(
                        "Your browser shows Google's sign-in page. Choose your account and allow access; "
                        "this window continues by itself when you are done."
                    ),
                )
                self._open_browser()
                code = await sign_in.wait()
                self._set_phase(
                    self.tr("Adding the account…"),
                    self.tr("Google accepted the sign-in. Reading the account's details…"),
                )
                self._enable_browser_actions(False)
                account = await self._controller.services.accounts.add_google_from_code(
                    code, sign_in.redirect_uri, sign_in.pkce
                )
            finally:
                await sign_in.close()
        except SignInCancelled:
            return
        except SignInError as exc:
            self._fail(str(exc))
            return
        except UpstreamError as exc:
            self._fail(
                self.tr("Google did not accept the sign-in: {reason}\nTry again in a moment.").format(
                    reason=exc.message
                )
            )
            return
        self._task = None
        self.signed_in.emit(account)
        self.accept()

    def _stop(self) -> None:
        if self._sign_in is not None:
            self._sign_in.cancel()
        if self._task is not None and not self._task.done():
            self._task.cancel()  # also stops the code exchange once the browser came back
        self._task = None

    def _fail(self, message: str) -> None:
        self._set_phase(self.tr("The sign-in did not finish"), message)
        self.progress.hide()
        self._enable_browser_actions(False)
        self.paste_toggle.hide()
        self.paste_box.hide()
        self.retry_button.show()
        self.retry_button.setDefault(True)

    # -- slots ----------------------------------------------------------------------------------------

    def _open_browser(self) -> None:
        if not self.consent_url:
            return
        self._enable_browser_actions(True)
        self.paste_toggle.show()
        if not QDesktopServices.openUrl(QUrl.fromEncoded(self.consent_url.encode("ascii"))):
            self.status_label.setText(
                self.tr(
                    "Gravity Desk could not open a browser. Press “Copy link”, open the link in a browser and "
                    "sign in there; this window continues by itself."
                )
            )

    def _copy_link(self) -> None:
        if self.consent_url:
            QGuiApplication.clipboard().setText(self.consent_url)
            self.copy_link_button.setText(self.tr("Link copied"))

    def _show_paste_box(self) -> None:
        self.paste_box.setVisible(not self.paste_box.isVisible())
        if self.paste_box.isVisible():
            self.paste_edit.setFocus()
        self.adjustSize()  # the box's wrapped help text needs the height it did not have while hidden

    def _submit_paste(self) -> None:
        if self._sign_in is None or not self.running:
            return
        try:
            self._sign_in.complete_from_url(self.paste_edit.text())
        except SignInError as exc:
            self.paste_error.setText(str(exc))
            self.paste_error.show()
            return
        self.paste_error.hide()

    def _set_phase(self, headline: str, detail: str) -> None:
        self.headline.setText(headline)
        self.status_label.setText(detail)
        self.status_label.setVisible(bool(detail))
        layout = self.layout()
        if layout is not None:
            layout.activate()  # re-measure the wrapped lines now, not at the next show

    def _enable_browser_actions(self, enabled: bool) -> None:
        self.open_again_button.setEnabled(enabled)
        self.copy_link_button.setEnabled(enabled)
        self.paste_button.setEnabled(enabled)
        self.paste_edit.setEnabled(enabled)
