"""Secret storage: the OS keyring, or an owner-only file in the data folder when no keyring exists."""

from __future__ import annotations

from pathlib import Path


class SecretStore:
    """Blocking API (keyring talks D-Bus / Keychain): call it from a worker thread, never on the event loop.

    `encrypted` is False when the file fallback is in use, so the app can warn that storage is plain text.
    """

    SERVICE = "gravity-desk"

    def __init__(self, home: Path, *, use_keyring: bool = True) -> None:
        raise NotImplementedError

    @property
    def encrypted(self) -> bool:
        raise NotImplementedError

    @property
    def backend_name(self) -> str:
        raise NotImplementedError

    def get(self, name: str) -> str | None:
        raise NotImplementedError

    def set(self, name: str, value: str) -> None:
        raise NotImplementedError

    def delete(self, name: str) -> None:
        raise NotImplementedError
