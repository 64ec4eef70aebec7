"""SecretStore: the owner-only file fallback, and the keyring path with an in-process keyring backend."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import chainer, fail

from core.secrets import SecretStore, SecretStoreError


class DictKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend that keeps passwords in a dict (no OS keyring runs in CI)."""

    priority = -10  # never chosen by keyring's own discovery, only when a test registers it
    viable = False

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring's KeyringBackend.__init__ has no annotations
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.passwords:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.passwords[(service, username)]


class BrokenKeyring(DictKeyring):
    """Looks like a keyring but fails on use, as Secret Service does without a D-Bus session."""

    def get_password(self, _service: str, _username: str) -> str | None:
        raise keyring.errors.InitError("no D-Bus session")


def keyring_backend(kind: type[keyring.backend.KeyringBackend]) -> keyring.backend.KeyringBackend:
    """One of keyring's own backends; their __init__ has no annotations, so calling it directly is untyped."""
    construct: Callable[[], keyring.backend.KeyringBackend] = kind
    return construct()


@pytest.fixture
def registered_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[DictKeyring]:
    monkeypatch.delenv("GRAVITY_DESK_KEYRING", raising=False)
    previous = keyring.get_keyring()
    backend = DictKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_file_store_round_trip_and_persists(tmp_path: Path) -> None:
    store = SecretStore(tmp_path, use_keyring=False)
    assert not store.encrypted
    assert store.get("acct1") is None
    store.set("acct1", "1//refresh-one")
    store.set("acct2", "AIza-key-two")
    store.set("acct1", "1//refresh-one-replaced")
    reopened = SecretStore(tmp_path, use_keyring=False)
    assert reopened.get("acct1") == "1//refresh-one-replaced"
    assert reopened.get("acct2") == "AIza-key-two"
    reopened.delete("acct1")
    reopened.delete("never-stored")  # not an error
    assert SecretStore(tmp_path, use_keyring=False).get("acct1") is None
    on_disk = json.loads((tmp_path / "secrets.json").read_text())
    assert on_disk == {"acct2": "AIza-key-two"}


def test_file_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)  # the most permissive umask: a plain open() would make the file world-readable
    try:
        SecretStore(tmp_path, use_keyring=False).set("acct", "secret-value")
    finally:
        os.umask(previous)
    mode = stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode)
    assert mode == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.json"]  # no temporary left behind


def test_damaged_file_is_reported_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("{not json")
    store = SecretStore(tmp_path, use_keyring=False)
    with pytest.raises(SecretStoreError, match="not valid JSON"):
        store.get("acct")
    with pytest.raises(SecretStoreError):
        store.set("acct", "very-secret-token")
    assert path.read_text() == "{not json"


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    store = SecretStore(tmp_path, use_keyring=False)

    def write(prefix: str) -> None:
        for index in range(20):
            store.set(f"{prefix}{index}", f"value-{prefix}{index}")

    threads = [threading.Thread(target=write, args=(prefix,)) for prefix in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    values = json.loads((tmp_path / "secrets.json").read_text())
    assert len(values) == 80
    assert values["c7"] == "value-c7"


def test_registered_keyring_is_used(registered_keyring: DictKeyring, tmp_path: Path) -> None:
    store = SecretStore(tmp_path)
    assert store.encrypted
    store.set("acct1", "1//refresh")
    assert registered_keyring.passwords == {("gravity-desk", "acct1"): "1//refresh"}
    assert SecretStore(tmp_path).get("acct1") == "1//refresh"
    store.delete("acct1")
    store.delete("acct1")  # already gone: not an error
    assert registered_keyring.passwords == {}
    assert not (tmp_path / "secrets.json").exists()


def test_env_forces_the_file(
    registered_keyring: DictKeyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAVITY_DESK_KEYRING", "file")
    store = SecretStore(tmp_path)
    store.set("acct", "value")
    assert not store.encrypted
    assert registered_keyring.passwords == {}
    assert (tmp_path / "secrets.json").exists()


def test_use_keyring_false_forces_the_file(registered_keyring: DictKeyring, tmp_path: Path) -> None:
    store = SecretStore(tmp_path, use_keyring=False)
    store.set("acct", "value")
    assert not store.encrypted
    assert registered_keyring.passwords == {}


@pytest.mark.parametrize("backend_name", ["fail", "broken", "empty_chainer"])
def test_unusable_keyring_falls_back_to_the_file(
    backend_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRAVITY_DESK_KEYRING", raising=False)
    monkeypatch.setattr(keyring.backend, "get_all_keyring", lambda: [])  # the chainer finds nothing to chain
    backends: dict[str, keyring.backend.KeyringBackend] = {
        "fail": keyring_backend(fail.Keyring),
        "broken": BrokenKeyring(),
        "empty_chainer": keyring_backend(chainer.ChainerBackend),
    }
    store = SecretStore(tmp_path, backend=backends[backend_name])
    assert not store.encrypted
    store.set("acct", "value")
    assert SecretStore(tmp_path, use_keyring=False).get("acct") == "value"


def test_keyring_failure_message_has_no_secret(tmp_path: Path) -> None:
    class RefusingKeyring(DictKeyring):
        def set_password(self, _service: str, _username: str, password: str) -> None:
            raise keyring.errors.PasswordSetError(f"refused {password}")

    store = SecretStore(tmp_path, backend=RefusingKeyring())
    assert store.encrypted
    with pytest.raises(SecretStoreError) as caught:
        store.set("acct", "super-secret-token")
    assert "acct" in str(caught.value)
    assert "super-secret-token" not in str(caught.value)  # a backend's own message may quote the value
