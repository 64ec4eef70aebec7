"""One Gravity Desk per user and data folder: a second launch asks the running one to show its window."""

from __future__ import annotations

import getpass
import hashlib
import logging
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

SHOW_MESSAGE = b"show\n"
CONNECT_TIMEOUT_MS = 500  # a live instance accepts at once; a hung one must not hang the new launch long
ASFW_ANY = -1  # AllowSetForegroundWindow: any process may take the foreground


def instance_key(home: Path) -> str:
    """The local-socket name for this user and data folder (two data folders may run side by side)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers): the folder alone still separates users
        user = ""
    digest = hashlib.sha256(f"{user}\0{home.expanduser().resolve()}".encode()).hexdigest()[:16]
    return f"gravity-desk-{digest}"


def hand_over_the_foreground() -> None:
    """Windows lets only the process the user just started bring a window to the front; a launch that finds
    Gravity Desk running passes that right on before asking it to show its window, else Windows would only
    flash its taskbar button. Elsewhere there is nothing to hand over."""
    if sys.platform != "win32":
        return
    import ctypes

    if not ctypes.windll.user32.AllowSetForegroundWindow(ASFW_ANY):
        log.debug("AllowSetForegroundWindow refused (this launch is not in the foreground itself)")


class SingleInstance(QObject):
    """Either the first instance (listening for "show" requests) or a later one (which asked and must exit).

    `acquire()` blocks for at most CONNECT_TIMEOUT_MS: call it before the event loop starts.

    Signals:
        show_requested(): another launch asked this instance to bring its window forward.
    """

    show_requested = Signal()

    def __init__(self, key: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self._server: QLocalServer | None = None
        self._buffers: dict[QLocalSocket, bytes] = {}

    def acquire(self) -> bool:
        """True for the first instance (now listening); False after asking the running one to show itself."""
        if self._ask_running_instance():
            return False
        # Nobody answered: a socket file left by a crashed instance would make listen() fail on Unix.
        QLocalServer.removeServer(self.key)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.key):
            # Still usable as the only instance; a second launch just cannot reach this one.
            log.warning("Single-instance listener %s failed: %s", self.key, server.errorString())
            server.deleteLater()
            return True
        server.newConnection.connect(self._accept)
        self._server = server
        return True

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def _ask_running_instance(self) -> bool:
        socket = QLocalSocket()
        socket.connectToServer(self.key)
        if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
            return False
        hand_over_the_foreground()
        socket.write(SHOW_MESSAGE)
        socket.flush()
        socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        if socket.state() is not QLocalSocket.LocalSocketState.UnconnectedState:
            socket.waitForDisconnected(CONNECT_TIMEOUT_MS)
        return True

    def _accept(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(lambda s=socket: self._closed(s))
            if socket.bytesAvailable():  # the message may have arrived with the connection
                self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        if socket not in self._buffers:
            return
        self._buffers[socket] += bytes(socket.readAll().data())
        if self._buffers[socket].startswith(SHOW_MESSAGE):
            self._finish(socket)
            self.show_requested.emit()

    def _closed(self, socket: QLocalSocket) -> None:
        self._read(socket)  # the sender writes and hangs up at once: what it wrote may still be unread
        self._finish(socket)

    def _finish(self, socket: QLocalSocket) -> None:
        if self._buffers.pop(socket, None) is not None:
            # No deleteLater(): a deferred delete still pending when the server (its parent) is destroyed
            # crashes PySide ("shared QObject was deleted directly"); the server frees them when it goes.
            socket.disconnectFromServer()
