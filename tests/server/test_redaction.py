"""A key-shaped string a client sends in a bad field comes back nowhere: not in the error it gets, not in the
request log (real SQLite, every column), not in the access log."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest

from tests.server.conftest import Gateway

# Shapes the redaction knows (ours, OpenAI/Anthropic-style, a Google API key, access and refresh tokens).
SECRETS = (
    "sk-gd-" + "Q7x9" * 8,
    "sk-ant-api03-" + "Zr4t" * 10,
    "AIzaSy" + "Bq3w" * 8 + "k",
    "ya29.a0AfB_" + "c8Vn" * 10,
    "1//0g" + "dP5m" * 10,
)


def _bad_requests(secret: str) -> list[tuple[str, dict[str, object]]]:
    """One refusal per protocol that quotes the offending field's value in its message."""
    user = [{"role": "user", "content": "x"}]
    return [
        ("/v1/chat/completions", {"model": secret, "messages": user}),
        (
            "/v1/chat/completions",
            {"model": "gemini-3-flash", "messages": [{"role": secret, "content": "x"}]},
        ),
        ("/v1/chat/completions", {"model": "gemini-3-flash", "messages": user, "tool_choice": secret}),
        (
            "/v1/messages",
            {
                "model": "claude-sonnet-4-5",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": secret}}]}],
            },
        ),
        ("/api/chat", {"model": "gemini-3-flash", "messages": [{"role": secret, "content": "x"}]}),
        (
            "/v1beta/models/gemini-3-flash:generateContent",
            {"contents": [{"role": secret, "parts": [{"text": "x"}]}]},
        ),
    ]


@pytest.mark.parametrize("secret", SECRETS, ids=lambda s: s[:6])
async def test_a_key_in_a_bad_field_is_redacted_in_the_answer_the_log_row_and_the_access_log(
    gateway: Gateway, secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    requests = _bad_requests(secret)
    for path, body in requests:
        async with gateway.http.post(gateway.url + path, json=body, headers=gateway.headers()) as response:
            text = await response.text()
            assert 400 <= response.status < 500, (path, text)
            assert secret not in text, (path, text)
            assert "[redacted]" in text, (path, text)  # the message still says which value was wrong
    await gateway.flush_log()
    database = gateway.services.settings.database_path
    rows = await asyncio.to_thread(_all_rows, str(database))
    assert len(rows) == len(requests)
    for row in rows:
        assert row["error"], row  # the row says why it failed...
        for column, value in row.items():
            assert secret not in str(value), (column, value)  # ...and no column holds the key
    assert sum("[redacted]" in str(row["error"]) for row in rows) == len(requests)
    assert secret not in caplog.text
    assert "reason=" in caplog.text  # the access lines were there to be read


def _all_rows(path: str) -> list[dict[str, object]]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM request_log")]


async def test_captured_bodies_are_stored_redacted(gateway: Gateway) -> None:
    gateway.services.settings.log.capture_bodies = True
    secret = SECRETS[0]
    body = {"model": "gemini-3-flash", "messages": [{"role": "user", "content": f"my key is {secret}"}]}
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions", json=body, headers=gateway.headers()
    ) as response:
        assert response.status == 200
        assert secret in await response.text()  # the fake echoes it: the client's own answer is its business
    await gateway.flush_log()
    rows = await asyncio.to_thread(_all_rows, str(gateway.services.settings.database_path))
    (row,) = rows
    assert "my key is [redacted]" in str(row["request_body"])
    assert secret not in str(row["request_body"]) and secret not in str(row["response_body"])
