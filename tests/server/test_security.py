"""Guards: loopback Host check against DNS rebinding, constant-time key match, where SDKs put keys."""

from __future__ import annotations

import pytest

from core.redact import redact
from server.security import host_header_allowed, is_loopback_host, key_matches


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost:8045", True),
        ("127.0.0.1:8045", True),
        ("127.0.0.2", True),
        ("[::1]:8045", True),
        ("LOCALHOST", True),
        ("evil.example.com:8045", False),
        ("127.0.0.1.evil.example", False),
        ("192.168.1.5:8045", False),
        (None, False),
    ],
)
def test_host_guard_on_loopback_bind(host: str | None, allowed: bool) -> None:
    assert host_header_allowed(host, "127.0.0.1") is allowed


def test_host_guard_is_off_when_the_user_binds_a_public_address() -> None:
    assert host_header_allowed("my-desktop.lan:8045", "0.0.0.0")
    assert is_loopback_host("::1") and not is_loopback_host("0.0.0.0")


def test_key_matching() -> None:
    keys = ["sk-one", "sk-two"]
    assert key_matches("sk-two", keys)
    assert not key_matches("sk-three", keys)
    assert not key_matches("", keys)
    assert not key_matches(None, keys)
    assert not key_matches("sk-one ", keys)


def test_redaction_removes_credentials() -> None:
    secret_values = [
        "ya29." + "a0AfB_byC-secret-token",  # built at run time: no credential-shaped literals in the source
        "1//" + "0gSecretRefreshTokenValue123",
        "sk-gd-abcdefghijklmnopqrstuv",
    ]
    text = f"Authorization: Bearer {secret_values[0]} refresh_token={secret_values[1]} key {secret_values[2]}"
    cleaned = redact(text)
    for value in secret_values:
        assert value not in cleaned
    assert "refresh_token=" in cleaned and "Authorization" in cleaned
