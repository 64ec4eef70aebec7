"""Secret storage: the OS keyring, or an owner-only file in the data folder when no keyring exists."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from pathlib import Path

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

log = logging.getLogger(__name__)

SECRETS_FILE = "secrets.json"
KEYRING_ENV = "GRAVITY_DESK_KEYRING"  # "file" forces the file fallback (headless boxes, tests)
_PROBE_NAME = "__gravity-desk-probe__"


class SecretStoreError(Exception):
    """The secret storage cannot be read or written; the message never contains a secret."""


def _usable_keyring(backend: KeyringBackend) -> bool:
    """Whether `backend` can really store secrets: not a fail/null stand-in, not an empty chain, and it answers a
    read without raising (a Secret Service with no D-Bus session raises here, not at import)."""
    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend) and not chainer.ChainerBackend.backends:
        return False
    try:
        backend.get_password(SecretStore.SERVICE, _PROBE_NAME)
    except Exception as exc:  # any backend failure means "not usable", whatever its type
        log.info("Keyring backend %s is not usable (%s); using the secrets file", _describe(backend), exc)
        return False
    return True


def _describe(backend: KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


class SecretStore:
    """Blocking API (keyring talks D-Bus / Keychain): call it from a worker thread, never on the event loop.

    `encrypted` is False when the file fallback is in use, so the app can warn that storage is plain text.
    """

    SERVICE = "gravity-desk"

    def __init__(
        self, home: Path, *, use_keyring: bool = True, backend: KeyringBackend | None = None
    ) -> None:
        """`backend` overrides the keyring found by `keyring.get_keyring()`."""
        self._file = home / SECRETS_FILE
        self._lock = threading.Lock()  # serialises read-modify-write of the file between threads
        self._keyring: KeyringBackend | None = None
        if use_keyring and os.environ.get(KEYRING_ENV, "").strip().lower() != "file":
            candidate = backend if backend is not None else keyring.get_keyring()
            if _usable_keyring(candidate):
                self._keyring = candidate

    @property
    def encrypted(self) -> bool:
        return self._keyring is not None

    @property
    def file_path(self) -> Path:
        """Where the file fallback keeps secrets (used only when `encrypted` is False)."""
        return self._file

    def get(self, name: str) -> str | None:
        if self._keyring is not None:
            try:
                return self._keyring.get_password(self.SERVICE, name)
            except (
                Exception
            ) as exc:  # backends raise their own types (D-Bus, Keychain), not only KeyringError
                raise SecretStoreError(
                    f"Cannot read the secret of {name} from the keyring ({type(exc).__name__})"
                ) from None
        with self._lock:
            return self._read_file().get(name)

    def set(self, name: str, value: str) -> None:
        if self._keyring is not None:
            try:
                self._keyring.set_password(self.SERVICE, name, value)
            except (
                Exception
            ) as exc:  # backends raise their own types (D-Bus, Keychain), not only KeyringError
                raise SecretStoreError(
                    f"Cannot store the secret of {name} in the keyring ({type(exc).__name__})"
                ) from None
            return
        with self._lock:
            values = self._read_file()
            values[name] = value
            self._write_file(values)

    def delete(self, name: str) -> None:
        """Remove a secret; a missing one is not an error."""
        if self._keyring is not None:
            try:
                self._keyring.delete_password(self.SERVICE, name)
            except keyring.errors.PasswordDeleteError:
                pass  # already gone
            except (
                Exception
            ) as exc:  # backends raise their own types (D-Bus, Keychain), not only KeyringError
                raise SecretStoreError(
                    f"Cannot delete the secret of {name} from the keyring ({type(exc).__name__})"
                ) from None
            return
        with self._lock:
            values = self._read_file()
            if values.pop(name, None) is not None:
                self._write_file(values)

    def _read_file(self) -> dict[str, str]:
        try:
            text = self._file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SecretStoreError(f"{self._file}: cannot be read: {exc.strerror}") from None
        try:
            values = json.loads(text)
        except json.JSONDecodeError:
            # Never overwrite a damaged file: it may be the only copy of someone's tokens.
            raise SecretStoreError(f"{self._file}: is not valid JSON; fix or remove it") from None
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise SecretStoreError(f"{self._file}: must be a JSON object of strings")
        return values

    def _write_file(self, values: dict[str, str]) -> None:
        """Write atomically: a temporary file created owner-only (whatever the umask), then renamed."""
        self._file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._file.with_name(f".{self._file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        data = json.dumps(values, indent=2, sort_keys=True).encode("utf-8")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                if hasattr(os, "fchmod"):  # not on Windows before 3.13, where the mode bits mean little
                    os.fchmod(handle.fileno(), 0o600)  # a leftover temporary may have had other bits
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self._file)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise SecretStoreError(f"{self._file}: cannot be written: {exc.strerror}") from None
