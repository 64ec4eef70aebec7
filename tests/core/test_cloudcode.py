"""The Cloud Code client against the fake Google: envelope, headers, endpoint fallback, streaming, discovery."""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from core.cloudcode import (
    CloudCodeClient,
    CloudCodeUpstream,
    assemble_stream,
    parse_model_catalogue,
    platform_tag,
    render_user_agent,
    session_number,
)
from core.config import Settings
from core.errors import ErrorKind, UpstreamError
from core.oauth import OAuthClient
from core.types import JSON, Account, AccountKind
from core.upstream_http import UpstreamHTTP
from tests.fake_google import EMPTY_NON_STREAM_MODELS, FakeAccount, FakeGoogle, Fault
from tests.helpers import answer_text, ask

EMAIL = "alice@example.com"
PROJECT = "proj-alice"
# Built at run time so the source holds nothing shaped like a live Google token.
FAKE_ACCESS_TOKEN = "ya29." + "not-a-live-token-at-all"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def client(upstream_http: UpstreamHTTP, settings: Settings) -> CloudCodeClient:
    return CloudCodeClient(upstream_http, settings.upstream, onboard_poll_s=0.01)


@pytest.fixture
def account(fake_google: FakeGoogle) -> FakeAccount:
    # These tests are about the client's own calls (envelope, headers, fallback): the fake answers its
    # generateContent in full. Sending stream-only models as streams is CloudCodeUpstream's job (tested below).
    fake_google.empty_non_stream_models = ()
    return fake_google.add_google_account(EMAIL, project_id=PROJECT)


@pytest.fixture
async def token(http: aiohttp.ClientSession, settings: Settings, account: FakeAccount) -> str:
    return (await OAuthClient(http, settings.oauth).refresh(account.refresh_token)).access_token


async def collect(stream: AsyncIterator[JSON]) -> list[JSON]:
    return [chunk async for chunk in stream]


# ---------------------------------------------------------------------------------------- request shape


@pytest.mark.parametrize(
    ("system", "machine", "tag"),
    [
        ("win32", "AMD64", "windows/amd64"),
        ("darwin", "arm64", "darwin/arm64"),
        ("darwin", "x86_64", "darwin/amd64"),
        ("linux", "x86_64", "linux/amd64"),
        ("linux", "aarch64", "linux/arm64"),
        ("linux", "i686", "linux/386"),
    ],
)
def test_platform_tag_uses_go_names(system: str, machine: str, tag: str) -> None:
    assert platform_tag(system, machine) == tag


async def test_generate_sends_envelope_and_headers_and_unwraps(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    request = ask("hello there")
    reply = await client.generate(token, PROJECT, "gemini-3.1-pro-high", request, session_id="conv-42")
    assert answer_text([reply]) == "Echo: hello there"
    assert "traceId" not in reply and reply["candidates"][0]["finishReason"] == "STOP"
    assert "sessionId" not in request  # the caller's request is left as it was

    call = fake_google.calls("generateContent")[0]
    assert call.endpoint == "sandbox" and call.path.endswith("/v1internal:generateContent")
    assert call.headers["Authorization"] == f"Bearer {token}"
    assert call.headers["Content-Type"] == "application/json"
    assert re.fullmatch(
        r"antigravity/hub/2\.9\.1 (windows|darwin|linux)/(amd64|arm64|386)", call.headers["User-Agent"]
    )
    # Late-2026 peers send nothing more: the old fingerprint headers are off unless configured.
    assert "X-Goog-Api-Client" not in call.headers and "Client-Metadata" not in call.headers
    body = call.body
    assert body["project"] == PROJECT and body["model"] == "gemini-3.1-pro-high"
    assert body["userAgent"] == "antigravity"
    assert re.fullmatch(r"agent-[0-9a-f-]{36}", body["requestId"])
    assert body["request"]["sessionId"] == session_number("conv-42")  # a signed 64-bit decimal, as peers send
    assert -(2**63) <= int(body["request"]["sessionId"]) < 2**63 and session_number(
        "conv-43"
    ) != session_number("conv-42")
    assert body["requestType"] == "agent"
    assert body["request"]["contents"] == request["contents"]


async def test_request_ids_are_unique_and_session_id_is_optional(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    await client.generate(token, PROJECT, "gemini-3-flash", ask("one"))
    await client.generate(token, PROJECT, "gemini-3-flash", ask("two"))
    first, second = (call.body for call in fake_google.calls("generateContent"))
    assert first["requestId"] != second["requestId"]
    assert "sessionId" not in first["request"]


async def test_settings_changes_apply_to_the_next_request(
    fake_google: FakeGoogle, client: CloudCodeClient, settings: Settings, token: str
) -> None:
    await client.generate(token, PROJECT, "gemini-3-flash", ask("hi"))
    settings.upstream.client_version = "3.0.2"
    settings.upstream.endpoints = fake_google.endpoints[2:]
    settings.upstream.extra_headers = {"X-Goog-Api-Client": "gl-node/22"}
    await client.generate(token, PROJECT, "gemini-3-flash", ask("hi"))
    settings.upstream.user_agent = "antigravity/hub/{version} {os}/{arch} extra"
    await client.generate(token, PROJECT, "gemini-3-flash", ask("hi"))
    later, last = fake_google.calls("generateContent")[1:]
    assert later.headers["User-Agent"].startswith("antigravity/hub/3.0.2 ")
    assert later.headers["X-Goog-Api-Client"] == "gl-node/22"
    assert later.endpoint == "prod"
    assert last.headers["User-Agent"].endswith(" extra")


def test_user_agent_template_fills_version_os_and_arch() -> None:
    assert render_user_agent("antigravity/hub/{version} {os}/{arch}", "2.9.1", "darwin/arm64") == (
        "antigravity/hub/2.9.1 darwin/arm64"
    )
    assert render_user_agent("x/{version} {unknown}", "1", "linux/amd64") == "x/1 {unknown}"


async def test_stale_client_version_is_a_configuration_error(
    fake_google: FakeGoogle, client: CloudCodeClient, settings: Settings, token: str
) -> None:
    settings.upstream.client_version = "1.0.0"  # the fake wants at least 2.9.0
    with pytest.raises(UpstreamError) as caught:
        await client.discover_project(token)
    assert caught.value.kind is ErrorKind.CLIENT_CONFIG
    assert "client_version" in caught.value.message
    assert len(fake_google.calls("loadCodeAssist")) == 1  # every endpoint would say the same


# ---------------------------------------------------------------------------------------- endpoint fallback


@pytest.mark.parametrize("kind", ["server", "unavailable", "not_found", "capacity"])
async def test_generate_falls_back_to_the_next_endpoint(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str, kind: str
) -> None:
    fake_google.inject(Fault(kind, endpoint="sandbox"))
    reply = await client.generate(token, PROJECT, "gemini-3.1-pro-high", ask("fallback works"))
    assert answer_text([reply]) == "Echo: fallback works"
    assert [call.endpoint for call in fake_google.calls("generateContent")] == ["sandbox", "daily"]


async def test_unreachable_endpoint_falls_back(
    fake_google: FakeGoogle, client: CloudCodeClient, settings: Settings, token: str
) -> None:
    settings.upstream.endpoints = [f"http://127.0.0.1:{free_port()}", *fake_google.endpoints]
    reply = await client.generate(token, PROJECT, "gemini-3.1-pro-high", ask("still here"))
    assert answer_text([reply]) == "Echo: still here"
    assert [call.endpoint for call in fake_google.calls("generateContent")] == ["sandbox"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("bad_request", ErrorKind.INVALID_REQUEST),
        ("forbidden", ErrorKind.FORBIDDEN),
        ("rate_limit", ErrorKind.RATE_LIMITED),
        ("quota", ErrorKind.QUOTA_EXHAUSTED),
        ("unauthenticated", ErrorKind.UNAUTHENTICATED),
    ],
)
async def test_no_fallback_when_the_request_or_account_is_at_fault(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str, kind: str, expected: ErrorKind
) -> None:
    fake_google.inject(Fault(kind, endpoint="sandbox"))
    with pytest.raises(UpstreamError) as caught:
        await client.generate(token, PROJECT, "gemini-3.1-pro-high", ask("hi"))
    assert caught.value.kind is expected
    assert caught.value.model == "gemini-3.1-pro-high"
    assert [call.endpoint for call in fake_google.calls("generateContent")] == ["sandbox"]


async def test_forbidden_carries_the_validation_url(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    url = "https://accounts.google.com/signin/continue?fake=verify-123"
    fake_google.inject(Fault("forbidden", validation_url=url))
    with pytest.raises(UpstreamError) as caught:
        await client.generate(token, PROJECT, "gemini-3.1-pro-high", ask("hi"))
    assert url in caught.value.message
    assert token not in caught.value.message


async def test_quota_error_says_when_the_model_is_back(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    fake_google.inject(Fault("quota", model="gemini-3.1-pro-high"))
    with pytest.raises(UpstreamError) as caught:
        await client.generate(token, PROJECT, "gemini-3.1-pro-high", ask("hi"))
    error = caught.value
    assert error.reset_at is not None
    expected = datetime.now(UTC) + timedelta(hours=3)
    assert abs((error.reset_at - expected).total_seconds()) < 60
    assert error.retry_after is not None and 3 * 3600 - 60 < error.retry_after <= 3 * 3600 + 1


async def test_all_endpoints_failing_raises_the_last_error(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    fake_google.inject(Fault("server", times=3))
    with pytest.raises(UpstreamError) as caught:
        await client.generate(token, PROJECT, "gemini-3.1-pro-high", ask("hi"))
    assert caught.value.kind is ErrorKind.SERVER
    assert [call.endpoint for call in fake_google.calls("generateContent")] == ["sandbox", "daily", "prod"]


async def test_unknown_model_is_not_found_after_trying_every_endpoint(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    with pytest.raises(UpstreamError) as caught:
        await client.generate(token, PROJECT, "no-such-model", ask("hi"))
    assert caught.value.kind is ErrorKind.NOT_FOUND
    assert len(fake_google.calls("generateContent")) == 3


async def test_invalid_access_token_is_unauthenticated(
    fake_google: FakeGoogle, client: CloudCodeClient
) -> None:
    with pytest.raises(UpstreamError) as caught:
        await client.generate(FAKE_ACCESS_TOKEN, PROJECT, "gemini-3.1-pro-high", ask("hi"))
    assert caught.value.kind is ErrorKind.UNAUTHENTICATED
    assert FAKE_ACCESS_TOKEN not in caught.value.message
    assert len(fake_google.calls("generateContent")) == 1


# ---------------------------------------------------------------------------------------- streaming


async def test_stream_yields_unwrapped_chunks(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    chunks = await collect(
        client.stream_generate(
            token, PROJECT, "gemini-3.1-pro-high", ask("one two three four"), session_id="s-1"
        )
    )
    assert len(chunks) >= 4  # a word per chunk
    assert answer_text(chunks) == "Echo: one two three four"
    assert all("response" not in chunk and "traceId" not in chunk for chunk in chunks)
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert "usageMetadata" in chunks[-1]
    call = fake_google.calls("streamGenerateContent")[0]
    assert call.query == {"alt": "sse"}
    assert call.headers["Accept"] == "text/event-stream"
    assert call.body["request"]["sessionId"] == session_number("s-1")


async def test_stream_falls_back_before_the_first_chunk(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    fake_google.inject(Fault("unavailable", method="streamGenerateContent", endpoint="sandbox"))
    chunks = await collect(
        client.stream_generate(token, PROJECT, "gemini-3.1-pro-high", ask("served by daily"))
    )
    assert answer_text(chunks) == "Echo: served by daily"
    assert [call.endpoint for call in fake_google.calls("streamGenerateContent")] == ["sandbox", "daily"]


async def test_stream_does_not_fall_back_on_bad_request(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    fake_google.inject(Fault("bad_request", method="streamGenerateContent", endpoint="sandbox"))
    with pytest.raises(UpstreamError) as caught:
        await collect(client.stream_generate(token, PROJECT, "gemini-3.1-pro-high", ask("hi")))
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert len(fake_google.calls("streamGenerateContent")) == 1


async def test_stream_cut_mid_answer_is_a_network_error_without_fallback(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    fake_google.inject(Fault("stream_cut", after=2))
    received: list[JSON] = []
    with pytest.raises(UpstreamError) as caught:
        async for chunk in client.stream_generate(token, PROJECT, "gemini-3.1-pro-high", ask("a b c d e f")):
            received.append(chunk)
    assert caught.value.kind is ErrorKind.NETWORK
    assert len(received) == 2
    assert len(fake_google.calls("streamGenerateContent")) == 1  # chunks were out: no second try


async def test_stream_cut_before_any_chunk_falls_back(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    fake_google.inject(Fault("stream_cut", endpoint="sandbox", after=0))
    chunks = await collect(client.stream_generate(token, PROJECT, "gemini-3.1-pro-high", ask("second try")))
    assert answer_text(chunks) == "Echo: second try"
    assert [call.endpoint for call in fake_google.calls("streamGenerateContent")] == ["sandbox", "daily"]


async def test_error_event_inside_the_stream_is_raised(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    fake_google.inject(Fault("stream_error", after=1, status=503, message="Stream interrupted"))
    received: list[JSON] = []
    with pytest.raises(UpstreamError) as caught:
        async for chunk in client.stream_generate(token, PROJECT, "gemini-3.1-pro-high", ask("a b c d")):
            received.append(chunk)
    assert caught.value.kind is ErrorKind.CAPACITY
    assert "Stream interrupted" in caught.value.message
    assert len(received) == 1


async def test_slow_stream_is_delivered_incrementally(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    fake_google.inject(Fault("slow", delay=0.15))
    started = time.monotonic()
    arrivals: list[float] = []
    async for _ in client.stream_generate(token, PROJECT, "gemini-3.1-pro-high", ask("w1 w2 w3 w4")):
        arrivals.append(time.monotonic() - started)
    assert len(arrivals) >= 5  # "Echo:" and four words
    # The fake waits 0.15 s before each chunk: the first must arrive long before the last was even sent.
    assert arrivals[0] < arrivals[-1] - 0.4
    assert all(later > earlier for earlier, later in itertools.pairwise(arrivals))


async def test_stream_idle_timeout_is_a_network_error(
    fake_google: FakeGoogle, client: CloudCodeClient, settings: Settings, token: str
) -> None:
    settings.upstream.request_timeout_s = 0.1
    fake_google.inject(Fault("slow", delay=0.45, times=3))
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        await collect(client.stream_generate(token, PROJECT, "gemini-3.1-pro-high", ask("hi")))
    assert caught.value.kind is ErrorKind.NETWORK
    assert time.monotonic() - started < 1.2
    assert (
        len(fake_google.calls("streamGenerateContent")) == 3
    )  # silent before any chunk: each endpoint tried


async def test_closing_a_stream_early_hangs_up_on_the_upstream(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    fake_google.inject(Fault("slow", delay=0.1))
    stream = client.stream_generate(token, PROJECT, "gemini-3.1-pro-high", ask("a b c d e f g h"))
    assert await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    for _ in range(50):
        if fake_google.streams_cancelled:
            break
        await asyncio.sleep(0.01)
    assert fake_google.streams_cancelled == 1


# ---------------------------------------------------------------------------------------- project, models, tokens


async def test_discover_project_of_an_onboarded_account(client: CloudCodeClient, token: str) -> None:
    info = await client.discover_project(token)
    assert info.project_id == PROJECT
    assert info.tier == "Gemini Code Assist Standard"


async def test_paid_tier_is_shown_first(
    fake_google: FakeGoogle, http: aiohttp.ClientSession, settings: Settings, client: CloudCodeClient
) -> None:
    paid = fake_google.add_google_account("bob@example.com", project_id="proj-bob", paid_tier="standard-tier")
    access = (await OAuthClient(http, settings.oauth).refresh(paid.refresh_token)).access_token
    info = await client.discover_project(access)
    assert info == type(info)("proj-bob", "Gemini Code Assist Standard", "standard-tier")


async def test_discover_project_onboards_a_new_account(
    fake_google: FakeGoogle, http: aiohttp.ClientSession, settings: Settings, client: CloudCodeClient
) -> None:
    fake_google.empty_non_stream_models = ()  # the client's own generateContent, answered in full
    fresh = fake_google.add_google_account("new@example.com", project_id=None)
    access = (await OAuthClient(http, settings.oauth).refresh(fresh.refresh_token)).access_token
    info = await client.discover_project(access)
    assert fresh.project_id is not None and info.project_id == fresh.project_id
    assert info.tier == "Gemini Code Assist for individuals"
    onboard_calls = fake_google.calls("onboardUser")
    assert len(onboard_calls) == 2  # the operation is done on the second poll
    assert all(call.body["tierId"] == "free-tier" for call in onboard_calls)
    # The project works for generation right away.
    reply = await client.generate(access, info.project_id, "gemini-3-flash", ask("ready"))
    assert answer_text([reply]) == "Echo: ready"


async def test_fetch_models_reads_quota_and_renames(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    fake_google.set_remaining(EMAIL, "gemini-3-flash", 0.4, reset_in_s=1200)
    fake_google.set_remaining(EMAIL, "claude-sonnet-4-5", 0.0, reset_in_s=600)
    catalogue = await client.fetch_models(token, PROJECT)
    assert set(catalogue.models) == {
        "gemini-3.1-pro-high",
        "gemini-3-flash",
        "gemini-3-pro-preview",
        "claude-sonnet-4-5",
        "claude-sonnet-4-5-thinking",
    }
    flash = catalogue.models["gemini-3-flash"]
    assert flash.remaining_fraction == pytest.approx(0.4)
    assert flash.reset_at is not None
    assert abs((flash.reset_at - datetime.now(UTC)).total_seconds() - 1200) < 5
    claude = catalogue.models["claude-sonnet-4-5"]
    assert claude.remaining_fraction == 0.0 and claude.exhausted  # the fake leaves the fraction out
    pro = catalogue.models["gemini-3.1-pro-high"]
    assert pro.remaining_fraction == 1.0 and pro.display_name == "Gemini 3.1 Pro (High)"
    assert pro.max_output_tokens == 65_536 and pro.supports_thinking and pro.supports_images
    assert not catalogue.models["claude-sonnet-4-5"].supports_thinking
    assert catalogue.deprecated["claude-sonnet-4"] == "claude-sonnet-4-5"
    # The channel retired the 2.5 models: they are not listed, only forwarded to their replacements.
    assert not any(model.startswith("gemini-2.5") for model in catalogue.models)
    assert catalogue.deprecated["gemini-2.5-flash"] == "gemini-3-flash"
    assert fake_google.calls("fetchAvailableModels")[0].body == {"project": PROJECT}


def test_parse_model_catalogue_tolerates_odd_entries() -> None:
    catalogue = parse_model_catalogue(
        {
            "models": {
                "m-no-quota": {},
                "m-reset-only": {"quotaInfo": {"resetTime": "2026-01-01T00:00:00Z"}},
                "m-over": {"quotaInfo": {"remainingFraction": 1.5}},
                "broken": "not an object",
            },
            "deprecatedModelIds": {"old": "new", "older": {"newModelId": "newer"}, "bad": {}},
        }
    )
    assert catalogue.models["m-no-quota"].remaining_fraction is None
    assert catalogue.models["m-reset-only"].remaining_fraction == 0.0
    assert catalogue.models["m-reset-only"].reset_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert catalogue.models["m-over"].remaining_fraction == 1.0
    assert "broken" not in catalogue.models
    assert catalogue.deprecated == {"old": "new", "older": "newer"}
    assert parse_model_catalogue({}).models == {}


async def test_count_tokens_counts_the_whole_request(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    short = await client.count_tokens(token, "gemini-3.1-pro-high", ask("hi"))
    request = ask("hi") | {
        "systemInstruction": {"parts": [{"text": "You are a very careful assistant. " * 20}]}
    }
    longer = await client.count_tokens(token, "gemini-3.1-pro-high", request)
    assert set(short) == {"totalTokens"}
    assert longer["totalTokens"] > short["totalTokens"] >= 1
    assert fake_google.calls("countTokens")[0].body["request"]["model"] == "models/gemini-3.1-pro-high"


async def test_claude_tools_are_validated_and_image_models_are_image_gen(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str
) -> None:
    parameters = {"type": "object", "properties": {"q": {"type": "string"}}}
    tools = [{"functionDeclarations": [{"name": "f", "parameters": parameters}]}]
    await client.generate(token, PROJECT, "claude-sonnet-4-5", {**ask("hi"), "tools": tools})
    await client.generate(token, PROJECT, "gemini-3.1-pro-high", {**ask("hi"), "tools": tools})
    claude, gemini = fake_google.calls("generateContent")
    assert claude.body["request"]["toolConfig"] == {"functionCallingConfig": {"mode": "VALIDATED"}}
    assert "toolConfig" not in gemini.body["request"]
    assert {claude.body["requestType"], gemini.body["requestType"]} == {"agent"}


# --- CloudCodeUpstream: non-streaming requests to stream-only models -------------------------------------


async def test_stream_only_models_are_streamed_and_assembled(
    fake_google: FakeGoogle, client: CloudCodeClient, token: str, settings: Settings
) -> None:
    fake_google.empty_non_stream_models = (
        EMPTY_NON_STREAM_MODELS  # as Google does: generateContent answers empty
    )
    account = Account(id="a", kind=AccountKind.GOOGLE, email=EMAIL, project_id=PROJECT)
    upstream = CloudCodeUpstream(client)
    empty = await client.generate(token, PROJECT, "claude-sonnet-4-5", ask("one two three"))
    assert empty["candidates"][0]["content"]["parts"] == [{"text": ""}]  # what a plain generateContent gets
    reply = await upstream.generate(
        account, token, "claude-sonnet-4-5", ask("one two three"), session_id=None
    )
    assert reply["candidates"][0]["content"]["parts"] == [{"text": "Echo: one two three"}]
    assert reply["candidates"][0]["finishReason"] == "STOP" and reply["usageMetadata"]["totalTokenCount"] > 0
    assert [call.method for call in fake_google.generate_calls()] == [
        "generateContent",
        "streamGenerateContent",
    ]
    settings.upstream.stream_only_models = []  # the setting decides, read on every request
    await upstream.generate(account, token, "claude-sonnet-4-5", ask("hi"), session_id=None)
    assert fake_google.generate_calls()[-1].method == "generateContent"


def test_assemble_joins_texts_keeps_signatures_and_calls_in_order() -> None:
    chunks: list[JSON] = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hm", "thought": True}]}}]},
        {"candidates": [{"content": {"parts": [{"text": ".", "thought": True, "thoughtSignature": "s1"}]}}]},
        {"candidates": [{"content": {"parts": [{"text": "Hel"}]}}], "modelVersion": "m"},
        {"candidates": [{"content": {"parts": [{"text": "lo"}]}}]},
        {"candidates": [{"content": {"parts": [{"functionCall": {"name": "f"}, "thoughtSignature": "s2"}]}}]},
        {
            "candidates": [{"content": {"parts": [{"text": ""}]}, "finishReason": "STOP"}],
            "usageMetadata": {"totalTokenCount": 9},
        },
    ]
    whole = assemble_stream(chunks)
    assert whole["candidates"][0]["content"]["parts"] == [
        {"text": "Hm.", "thought": True, "thoughtSignature": "s1"},
        {"text": "Hello"},
        {"functionCall": {"name": "f"}, "thoughtSignature": "s2"},
    ]
    assert whole["candidates"][0]["finishReason"] == "STOP" and whole["usageMetadata"] == {
        "totalTokenCount": 9
    }
    assert whole["modelVersion"] == "m"
    blocked = assemble_stream([{"promptFeedback": {"blockReason": "SAFETY"}}])
    assert blocked == {"promptFeedback": {"blockReason": "SAFETY"}}
