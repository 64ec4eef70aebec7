"""The HTTP face as a whole: auth, guards, error shapes per protocol, request log, busy port, shutdown."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest

from core.services import create_services
from core.store import LogFilter
from server.runner import GatewayServer
from tests.server.conftest import Gateway

CHAT = {"model": "gemini-3-flash", "messages": [{"role": "user", "content": "hello there"}]}
CLAUDE = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
GEMINI = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


async def test_health_needs_no_key(gateway: Gateway) -> None:
    async with gateway.http.get(gateway.url + "/healthz") as response:
        assert response.status == 200
        assert (await response.json())["accounts"] == 1


@pytest.mark.parametrize(
    ("path", "body", "headers", "shape"),
    [
        ("/v1/chat/completions", CHAT, {"Authorization": "Bearer wrong"}, "openai"),
        ("/v1/chat/completions", CHAT, {}, "openai"),
        ("/v1/messages", CLAUDE, {"x-api-key": "wrong", "anthropic-version": "2023-06-01"}, "anthropic"),
        ("/v1beta/models/gemini-3-flash:generateContent", GEMINI, {"x-goog-api-key": "wrong"}, "gemini"),
    ],
)
async def test_wrong_key_is_refused_in_the_protocols_shape(
    gateway: Gateway, path: str, body: dict[str, object], headers: dict[str, str], shape: str
) -> None:
    async with gateway.http.post(gateway.url + path, json=body, headers=headers) as response:
        assert response.status == 401
        payload = await response.json()
    if shape == "openai":
        assert payload["error"]["type"] == "authentication_error"
    elif shape == "anthropic":
        assert payload["type"] == "error" and payload["error"]["type"] == "authentication_error"
    else:
        assert payload["error"]["code"] == 401 and payload["error"]["status"] == "UNAUTHENTICATED"
    assert gateway.fake.calls("generateContent") == []


@pytest.mark.parametrize(
    "where",
    ["bearer", "x-api-key", "x-goog-api-key", "query"],
)
async def test_key_accepted_everywhere_sdks_put_it(gateway: Gateway, where: str) -> None:
    headers = {
        "bearer": {"Authorization": f"Bearer {gateway.key}"},
        "x-api-key": {"x-api-key": gateway.key},
        "x-goog-api-key": {"x-goog-api-key": gateway.key},
        "query": {},
    }[where]
    url = gateway.url + "/v1beta/models/gemini-3-flash:generateContent"
    if where == "query":
        url += f"?key={gateway.key}"
    async with gateway.http.post(url, json=GEMINI, headers=headers) as response:
        assert response.status == 200, await response.text()
        parts = (await response.json())["candidates"][0]["content"]["parts"]
        assert "".join(part.get("text", "") for part in parts) == "Echo: hi"


async def test_foreign_host_header_is_refused(gateway: Gateway) -> None:
    headers = gateway.headers(Host="attacker.example:8045")
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions", json=CHAT, headers=headers
    ) as response:
        assert response.status == 403
        assert "loopback" in (await response.json())["error"]["message"]


async def test_no_wildcard_cors(gateway: Gateway) -> None:
    headers = gateway.headers(Origin="https://evil.example")
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions", json=CHAT, headers=headers
    ) as response:
        assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"{not json", "not valid JSON"), (b"", "empty"), (b"[1, 2]", "")],
)
async def test_malformed_body_is_a_400_in_openai_shape(gateway: Gateway, body: bytes, message: str) -> None:
    headers = gateway.headers(**{"Content-Type": "application/json"})
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions", data=body, headers=headers
    ) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert error["type"] == "invalid_request_error" and message in error["message"]


async def test_malformed_body_is_a_400_in_claude_shape(gateway: Gateway) -> None:
    headers = gateway.headers(**{"Content-Type": "application/json", "anthropic-version": "2023-06-01"})
    async with gateway.http.post(gateway.url + "/v1/messages", data=b"{", headers=headers) as response:
        assert response.status == 400
        payload = await response.json()
    assert payload["type"] == "error" and payload["error"]["type"] == "invalid_request_error"


async def test_oversize_body_is_a_413(gateway: Gateway) -> None:
    gateway.services.settings.server.max_body_mb = 1
    server = GatewayServer(gateway.services)
    result = await server.start("127.0.0.1", 0)
    try:
        big = {
            "model": "gemini-3-flash",
            "messages": [{"role": "user", "content": "x" * (2 * 1024 * 1024)}],
        }
        async with gateway.http.post(
            result.url + "/v1/chat/completions", json=big, headers=gateway.headers()
        ) as r:
            assert r.status == 413
            assert "too large" in (await r.json())["error"]["message"]
    finally:
        await server.stop()


async def test_unknown_endpoint_is_a_404_in_shape(gateway: Gateway) -> None:
    async with gateway.http.get(gateway.url + "/v1/nothing-here", headers=gateway.headers()) as response:
        assert response.status == 404
        assert "No such endpoint" in (await response.json())["error"]["message"]


async def test_unknown_gemini_method(gateway: Gateway) -> None:
    url = gateway.url + "/v1beta/models/gemini-3-flash:frobnicate"
    async with gateway.http.post(url, json=GEMINI, headers=gateway.headers()) as response:
        assert response.status == 404
        assert (await response.json())["error"]["status"] == "NOT_FOUND"


async def test_every_request_lands_in_the_log(gateway: Gateway) -> None:
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions", json=CHAT, headers=gateway.headers()
    ) as r:
        assert r.status == 200
    bad = {**CHAT, "model": "no-such-model-anywhere"}
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions", json=bad, headers=gateway.headers()
    ) as r:
        assert r.status >= 400
    await gateway.flush_log()
    rows = await asyncio.to_thread(gateway.services.db.query_log, None)
    assert len(rows) == 2
    failed, ok = rows  # newest first
    assert ok.status == 200 and ok.protocol == "openai" and ok.path == "/v1/chat/completions"
    assert ok.client_model == "gemini-3-flash" and ok.upstream_model == "gemini-3-flash"
    assert ok.account == "alice@example.com" and ok.tokens_in > 0 and ok.tokens_out > 0
    assert ok.latency_ms > 0 and ok.ttfb_ms is not None
    assert failed.status >= 400 and failed.error
    only_errors = await asyncio.to_thread(gateway.services.db.query_log, LogFilter(status="error"))
    assert [row.id for row in only_errors] == [failed.id]


async def test_secrets_never_reach_the_request_log(gateway: Gateway) -> None:
    gateway.services.settings.log.capture_bodies = True
    body = {**CHAT, "messages": [{"role": "user", "content": "my key is sk-live-abcdefghijklmnopqrstuvwx"}]}
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions", json=body, headers=gateway.headers()
    ) as r:
        assert r.status == 200
    await gateway.flush_log()
    (row,) = await asyncio.to_thread(gateway.services.db.query_log, None)
    assert row.request_body and "sk-live-abcdefghijklmnopqrstuvwx" not in row.request_body
    assert gateway.key not in (row.request_body or "") + (row.response_body or "")


async def test_streamed_answers_are_captured_as_the_client_got_them(gateway: Gateway) -> None:
    gateway.services.settings.log.capture_bodies = True
    body = {**CHAT, "stream": True}
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions", json=body, headers=gateway.headers()
    ) as r:
        assert r.status == 200
        streamed = (await r.read()).decode()
    await gateway.flush_log()
    (row,) = await asyncio.to_thread(gateway.services.db.query_log, None)
    assert row.stream and row.request_body
    assert row.response_body == streamed and "data: [DONE]" in row.response_body
    gateway.services.settings.log.capture_bodies = False
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions", json=body, headers=gateway.headers()
    ) as r:
        await r.read()
    await gateway.flush_log()
    newest = (await asyncio.to_thread(gateway.services.db.query_log, None))[0]
    assert newest.response_body is None  # capture off: nothing kept


async def test_busy_port_is_reported_not_raised(gateway: Gateway) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = await GatewayServer(gateway.services).start("127.0.0.1", port)
    assert not result.ok and "already in use" in result.error and str(port) in result.error


async def test_client_disconnect_cancels_the_upstream_stream(gateway: Gateway) -> None:
    from tests.fake_google import Fault

    gateway.fake.inject(Fault("slow", times=1, delay=0.3))
    body = {**CHAT, "stream": True, "messages": [{"role": "user", "content": "one two three four five six"}]}
    response = await gateway.http.post(
        gateway.url + "/v1/chat/completions", json=body, headers=gateway.headers()
    )
    assert response.status == 200
    await response.content.readline()  # the stream is open
    response.close()  # the client goes away mid-stream
    await asyncio.sleep(0.5)
    await gateway.flush_log()
    (row,) = await asyncio.to_thread(gateway.services.db.query_log, None)
    assert row.status == 499 and "disconnected" in row.error
    assert row.latency_ms < 1500  # did not wait for the whole slow stream (6 chunks x 0.3 s)
    assert gateway.fake.streams_cancelled == 1  # the upstream request was hung up, not left running


async def test_graceful_stop_lets_inflight_requests_finish(gateway: Gateway) -> None:
    from tests.fake_google import Fault

    gateway.fake.inject(Fault("slow", times=1, delay=0.1))
    body = {**CHAT, "stream": True}
    pending = asyncio.create_task(
        gateway.http.post(gateway.url + "/v1/chat/completions", json=body, headers=gateway.headers())
    )
    await asyncio.sleep(0.05)
    await gateway.server.stop()
    response = await pending
    text = await response.text()
    assert response.status == 200 and "[DONE]" in text


async def test_serve_restart_on_same_services(tmp_path, fake_google) -> None:  # type: ignore[no-untyped-def]
    settings = fake_google.settings(tmp_path)
    services = await create_services(settings, use_keyring=False)
    try:
        server = GatewayServer(services)
        first = await server.start("127.0.0.1", 0)
        await server.stop()
        again = await server.start("127.0.0.1", first.port)
        assert again.ok, again.error
        async with aiohttp.ClientSession() as http, http.get(again.url + "/healthz") as response:
            assert response.status == 200
        await server.stop()
    finally:
        await services.close()


async def test_refused_and_auxiliary_requests_are_logged_too(gateway: Gateway) -> None:
    async with gateway.http.get(gateway.url + "/v1/models", headers={"Authorization": "Bearer nope"}) as r:
        assert r.status == 401
    body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "count me"}]}
    headers = gateway.headers(**{"anthropic-version": "2023-06-01"})
    async with gateway.http.post(gateway.url + "/v1/messages/count_tokens", json=body, headers=headers) as r:
        assert r.status == 200
    async with gateway.http.get(gateway.url + "/healthz") as r:
        assert r.status == 200
    await gateway.flush_log()
    counted, refused = await asyncio.to_thread(gateway.services.db.query_log, None)
    assert (refused.status, refused.path, refused.protocol) == (401, "/v1/models", "openai")
    assert "API key" in refused.error and "nope" not in refused.error
    assert (counted.status, counted.protocol, counted.client_model) == (200, "anthropic", "claude-sonnet-4-5")


async def test_one_access_line_per_request_without_bodies_or_keys(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="gravity_desk.access")
    headers = {"Authorization": f"Bearer {gateway.key}"}
    async with gateway.http.post(
        gateway.url + "/v1/chat/completions", json=CHAT, headers=headers
    ) as response:
        assert response.status == 200
    refused = {"model": "claude-opus-4-8", "max_tokens": 10, "messages": [{"role": "tool", "content": "x"}]}
    async with gateway.http.post(gateway.url + "/v1/messages", json=refused, headers=headers) as response:
        assert response.status == 400
    lines = [record.getMessage() for record in caplog.records if record.name == "gravity_desk.access"]
    assert len(lines) == 2
    served, decode_refused = lines
    assert served.startswith("POST /v1/chat/completions model=gemini-3-flash upstream=gemini-3-flash ")
    assert "account=alice@example.com status=200 " in served and served.endswith("ms")
    # Refused while decoding: still the model it asked for, and the reason.
    assert decode_refused.startswith(
        "POST /v1/messages model=claude-opus-4-8 upstream=- account=- status=400"
    )
    assert "reason=messages.0.role: must be" in decode_refused
    assert all(gateway.key not in line and "hello there" not in line for line in lines)
