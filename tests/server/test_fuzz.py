"""A bounded, seeded fuzz of every JSON endpoint: no input gets a 5xx, every refusal is JSON, and the server
still serves a normal request afterwards."""

from __future__ import annotations

import json
import random
from typing import Any

from tests.server.conftest import Gateway

PATHS = (
    "/v1/chat/completions",
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/v1/responses",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/images/generations",
    "/v1/audio/speech",
    "/api/chat",
    "/api/generate",
    "/api/embed",
    "/api/show",
    "/v1beta/models/gemini-2.5-flash:generateContent",
    "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
    "/v1beta/models/gemini-2.5-flash:countTokens",
    "/v1beta/models/gemini-2.5-flash:embedContent",
)
FIELDS = (
    "model", "messages", "input", "prompt", "contents", "max_tokens", "stream", "tools", "tool_choice",
    "system", "role", "content", "parts", "text", "temperature", "previous_response_id", "generationConfig",
)  # fmt: skip
CASES_PER_PATH = 30


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(12 if depth < 3 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63, 10**30, 1.5, float("1e308")])
    if kind == 3:
        return rng.choice(
            ["", "user", "system", "assistant", "model", "tool", "x" * 5000, "\ud800", "gemini-2.5-flash"]
        )
    if kind == 4:
        return "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randrange(20)))
    if kind in (5, 6):
        return rng.choice([[], {}, [None], {"type": None}])
    if kind in (7, 8, 9):
        return {rng.choice(FIELDS): _value(rng, depth + 1) for _ in range(rng.randrange(1, 5))}
    return [_value(rng, depth + 1) for _ in range(rng.randrange(1, 4))]


def _body(rng: random.Random) -> bytes:
    special = rng.randrange(10)
    if special == 0:
        return b"[" * 5000 + b"]" * 5000
    if special == 1:
        return b'{"model": "m", "max_tokens": ' + b"9" * 5000 + b"}"
    if special == 2:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    payload = {rng.choice(FIELDS): _value(rng) for _ in range(rng.randrange(1, 7))}
    if rng.random() < 0.5:
        payload["model"] = rng.choice(["gemini-2.5-flash", "claude-sonnet-4-5", "gpt-5", "nope", "\ud800"])
    return json.dumps(payload).encode()


async def test_no_input_gets_a_server_error(gateway: Gateway) -> None:
    # An API key too, so embeddings, Imagen and speech have an account that can serve them.
    await gateway.add_api_key(
        ["gemini-2.5-flash", "gemini-embedding-001", "imagen-4.0-generate-001"], label="fuzz"
    )
    rng = random.Random(20261202)  # seeded: a failure is reproducible
    headers = {"Authorization": f"Bearer {gateway.key}", "Content-Type": "application/json"}
    failures: list[str] = []
    sent = 0
    for path in PATHS:
        for _ in range(CASES_PER_PATH):
            body = _body(rng)
            async with gateway.http.post(gateway.url + path, data=body, headers=headers) as response:
                sent += 1
                text = await response.text()
                if response.status >= 500:
                    failures.append(f"{path} {response.status} for {body[:120]!r}: {text[:200]}")
                elif response.status >= 400 and not isinstance(json.loads(text), dict):
                    failures.append(f"{path} {response.status} is not a JSON error: {text[:200]}")
    assert not failures, "\n".join(failures[:10])
    assert sent == len(PATHS) * CASES_PER_PATH
    normal = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "still here"}]}
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions", json=normal, headers=headers
    ) as response:
        assert response.status == 200
        assert (await response.json())["choices"][0]["message"]["content"] == "Echo: still here"


async def test_each_input_that_used_to_be_a_500_is_a_400_in_the_protocols_shape(gateway: Gateway) -> None:
    headers = {"Authorization": f"Bearer {gateway.key}", "Content-Type": "application/json"}
    gemini = "/v1beta/models/gemini-2.5-flash:generateContent"
    cases: list[tuple[str, bytes, int, str]] = [
        ("/v1/chat/completions", b"[" * 10_000 + b"]" * 10_000, 400, "nested too deeply"),
        ("/v1/messages", b'{"model": "m", "max_tokens": ' + b"9" * 4400 + b"}", 400, "not valid JSON"),
        ("/v1/messages", b'{"model": "claude\\ud800", "max_tokens": 5, "messages": []}', 400, "surrogate"),
        (
            "/api/chat",
            b'{"model": "m", "messages": [{"role": "user", "content": "hi\\udc00"}]}',
            400,
            "surrogate",
        ),
        (gemini, b'{"contents": [{"role": ["user"], "parts": [{"text": "hi"}]}]}', 400, "role"),
        (gemini, b'{"contents": [{"role": {"a": 1}, "parts": [{"text": "hi"}]}]}', 400, "role"),
        (
            "/v1/images/generations",
            b'{"model": "no-such-image-model", "prompt": "a cat"}',
            404,
            "no-such-image-model",
        ),
    ]
    for path, body, status, fragment in cases:
        async with gateway.http.post(gateway.url + path, data=body, headers=headers) as response:
            text = await response.text()
            assert response.status == status, (path, text)
            assert fragment in text, (path, text)
            error = json.loads(text)["error"]
            assert error  # the protocol's own error object
    # A paired surrogate (an emoji written as escapes) is fine.
    emoji = b'{"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi \\ud83d\\ude00"}]}'
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions", data=emoji, headers=headers
    ) as response:
        assert response.status == 200
    rows = await gateway.log_rows()
    assert len(rows) == len(cases) + 1  # every refusal is in the request log too
