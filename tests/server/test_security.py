"""Guards: loopback Host check against DNS rebinding, constant-time key match, where SDKs put keys."""

from __future__ import annotations

import asyncio

import pytest

from core.config import is_loopback_host
from core.redact import redact
from server import parser_log
from server.security import host_header_allowed
from tests.server.conftest import Gateway


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


def test_the_quick_check_before_the_pattern_misses_nothing_the_pattern_finds() -> None:
    """redact() skips the pattern when no credential head or field word is in the text: on texts built from
    the pattern's own pieces, odd case and the letters (?i) folds (long s, Kelvin sign), it must give the pattern's result."""
    import random

    from core.redact import _CREDENTIAL, _replacement

    pieces = [
        "ya29.", "1//", "AIza", "sk-", "GOCSPX-", "Bearer ", "bEaReR\t", "key", "KEY", "\u212aey", "api_key",
        "apikey", "Access_Token", "refresh_token", "client_secret", "client_\u017fecret", "id_token", "token",
        "secret", '"', "=", ":", " ", ",", "}", "&", "abcdefgh", "0123456789" * 4, "x", "-", "_", ".", "/", "ü",
    ]  # fmt: skip
    generator = random.Random(20261203)
    for _ in range(20_000):
        text = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 12)))
        assert redact(text) == _CREDENTIAL.sub(_replacement, text), text


async def test_a_request_aiohttp_cannot_parse_is_one_short_log_line_without_the_key(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    parser_log.reset()  # another test's bad request may have used this window
    key_line = f"Authorization: Bearer {gateway.key}"
    host, port = gateway.url.removeprefix("http://").rsplit(":", 1)
    malformed = (
        [
            f"POST /v1/chat/completions HTTP/1.1\nHost: localhost\n{key_line}\n\n".encode(),  # bare LF
            f"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nX-A: a\x01b\r\n{key_line}\r\n\r\n".encode(),  # control byte
        ]
        * 3
    )
    for raw in malformed:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(raw)
        await writer.drain()
        assert (await reader.read(20)).startswith(b"HTTP/1.0 400")
        writer.close()
        await writer.wait_closed()
    texts = [record.getMessage() + (record.exc_text or "") for record in caplog.records]
    assert not any(gateway.key in text for text in texts)
    parser_lines = [record for record in caplog.records if record.name == "aiohttp.server"]
    assert len(parser_lines) == 1  # rate-limited: six bad requests, one line
    assert parser_lines[0].exc_info is None and len(parser_lines[0].getMessage()) < 120


async def test_public_paths_check_the_host_and_key_in_the_url_is_for_gemini_routes_only(
    gateway: Gateway,
) -> None:
    for path in ("/", "/healthz"):
        async with gateway.http.get(gateway.url + path, headers={"Host": "evil.example:8045"}) as response:
            assert response.status == 403
        async with gateway.http.get(gateway.url + path) as response:
            assert response.status == 200
    async with gateway.http.get(gateway.url + "/v1beta/models", params={"key": gateway.key}) as response:
        assert response.status == 200
    for path in ("/v1/models", "/api/tags"):
        async with gateway.http.get(gateway.url + path, params={"key": gateway.key}) as response:
            assert response.status == 401, path
