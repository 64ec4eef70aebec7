"""Web pages cannot drive the API, with auth off too: a foreign Origin is a 403, a form-like body a 415, in
each protocol's shape and before anything reaches Google; the official SDKs, extensions and localhost pages
still work."""

from __future__ import annotations

import json

import aiohttp
import pytest
from anthropic import AsyncAnthropic
from ollama import AsyncClient
from openai import AsyncOpenAI

from server.security import origin_allowed
from tests.server.conftest import Gateway, close_genai_client, new_genai_client

CHAT = {"model": "gemini-3-flash", "messages": [{"role": "user", "content": "from a page"}]}


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),  # SDKs and CLIs
        ("http://localhost:3000", True),
        ("http://127.0.0.1:8080", True),
        ("http://[::1]:5173", True),
        ("chrome-extension://abcdefghijklmnopabcdefghijklmnop", True),
        ("moz-extension://0d9e1c2a-5b7f-4a8e-9c3d-2f6b1e0a7c4d", True),
        ("app://obsidian.md", True),  # an installed app's own scheme: not a site
        ("https://evil.example", False),
        ("http://localhost.evil.example", False),
        ("http://127.0.0.1.evil.example:8045", False),
        ("https://user@evil.example", False),
        ("null", False),  # sandboxed frames and file:// pages
        ("garbage", False),
    ],
)
def test_which_origins_may_call(origin: str | None, allowed: bool) -> None:
    assert origin_allowed(origin) is allowed


@pytest.fixture
def auth_off(gateway: Gateway) -> Gateway:
    gateway.services.settings.server.api_keys = []  # read per request: no restart needed
    return gateway


async def test_a_cross_site_text_plain_post_is_not_processed_with_auth_off(auth_off: Gateway) -> None:
    gateway = auth_off
    gemini = "/v1beta/models/gemini-3-flash:generateContent"
    gemini_body = '{"contents": [{"role": "user", "parts": [{"text": "from a page"}]}]}'
    ollama_body = (
        '{"model": "gemini-3-flash", "messages": [{"role": "user", "content": "x"}], "stream": false}'
    )
    page = {"Origin": "https://evil.example"}
    text_plain = {"Content-Type": "text/plain;charset=UTF-8"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    cases = [
        # (path, body, headers, status, how the protocol's error shape is recognised)
        ("/v1/chat/completions", CHAT, {**page, **text_plain}, 403, "error.type"),
        ("/v1/chat/completions", CHAT, text_plain, 415, "error.type"),  # an old browser: no Origin
        ("/v1/messages", CHAT, {**form, "anthropic-version": "2023-06-01"}, 415, "type=error"),
        ("/api/chat", ollama_body, {"Content-Type": "multipart/form-data; boundary=x"}, 415, "error:str"),
        (gemini, gemini_body, {**page, **text_plain}, 403, "error.status"),
        (gemini, gemini_body, text_plain, 415, "error.status"),
        (
            "/v1/chat/completions",
            CHAT,
            {"Origin": "null", "Content-Type": "application/json"},
            403,
            "error.type",
        ),
    ]
    for path, body, headers, status, shape in cases:
        data = body if isinstance(body, str) else json.dumps(body)
        async with gateway.http.post(gateway.url + path, data=data, headers=headers) as response:
            answer = await response.json(content_type=None)
            assert response.status == status, (path, headers, answer)
        if shape == "error.type":
            assert answer["error"]["type"] in ("invalid_request_error", "permission_error"), answer
        elif shape == "type=error":
            assert answer["type"] == "error" and answer["error"]["message"], answer
        elif shape == "error:str":
            assert isinstance(answer["error"], str) and "application/json" in answer["error"], answer
        else:
            assert answer["error"]["status"] in ("INVALID_ARGUMENT", "PERMISSION_DENIED"), answer
    assert gateway.sent() == []  # nothing reached Google
    rows = await gateway.log_rows()
    assert sorted(row.status for row in rows) == sorted(case[3] for case in cases)


async def test_a_websocket_from_a_web_page_is_refused(auth_off: Gateway) -> None:
    gateway = auth_off
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        async with gateway.http.ws_connect(
            gateway.url + "/v1/responses", headers={"Origin": "https://evil.example"}
        ):
            pass
    assert caught.value.status == 403
    async with gateway.http.ws_connect(gateway.url + "/v1/responses") as socket:  # a client: no Origin
        assert not socket.closed


async def test_extensions_and_localhost_pages_still_work_with_auth_off(auth_off: Gateway) -> None:
    gateway = auth_off
    for origin in ("chrome-extension://abcdefghijklmnopabcdefghijklmnop", "http://localhost:3000"):
        async with gateway.http.post(
            gateway.url + "/v1/chat/completions", json=CHAT, headers={"Origin": origin}
        ) as response:
            assert response.status == 200, await response.text()


@pytest.mark.filterwarnings(  # google-genai's own session class, as in test_e2e_gemini
    "ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged:DeprecationWarning"
)
async def test_the_official_sdks_still_work_with_auth_off(auth_off: Gateway) -> None:
    gateway = auth_off
    async with AsyncOpenAI(
        base_url=gateway.url + "/v1", api_key="unused", max_retries=0, timeout=10.0
    ) as sdk:
        chat = await sdk.chat.completions.create(
            model="gemini-3-flash", messages=[{"role": "user", "content": "openai"}]
        )
        assert chat.choices[0].message.content == "Echo: openai"
    async with AsyncAnthropic(base_url=gateway.url, api_key="unused", max_retries=0, timeout=10.0) as claude:
        message = await claude.messages.create(
            model="gemini-3-flash", max_tokens=50, messages=[{"role": "user", "content": "anthropic"}]
        )
        assert message.content[0].text == "Echo: anthropic"  # type: ignore[union-attr]
    genai = new_genai_client(gateway.url, "unused")
    try:
        reply = await genai.aio.models.generate_content(model="gemini-3-flash", contents="genai")
        assert reply.text == "Echo: genai"
    finally:
        await close_genai_client(genai)
    async with AsyncClient(host=gateway.url, timeout=10.0) as ollama:
        answer = await ollama.chat(
            model="gemini-3-flash", messages=[{"role": "user", "content": "ollama"}], stream=False
        )
        assert answer.message.content == "Echo: ollama"
    async with gateway.http.post(gateway.url + "/v1/chat/completions", json=CHAT) as response:
        assert response.status == 200  # curl -H 'Content-Type: application/json' and the like


async def test_with_auth_on_a_form_like_body_is_left_to_the_key_check(gateway: Gateway) -> None:
    # The key is what protects then; `curl -d` (form-urlencoded by default) keeps working for those who know it.
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions",
        data=json.dumps(CHAT),
        headers={**gateway.headers(), "Content-Type": "application/x-www-form-urlencoded"},
    ) as response:
        assert response.status == 200
