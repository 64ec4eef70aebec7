"""The Gemini API client against the fake Google: key header, paths, model pages, streaming, errors."""

from __future__ import annotations

import pytest

import core.gemini_api
from core.config import Settings
from core.errors import ErrorKind, UpstreamError
from core.gemini_api import GeminiApiClient
from core.types import JSON
from core.upstream_http import UpstreamHTTP
from tests.fake_google import FakeGoogle, Fault
from tests.helpers import answer_text, ask


@pytest.fixture
def client(upstream_http: UpstreamHTTP, settings: Settings) -> GeminiApiClient:
    return GeminiApiClient(upstream_http, settings.gemini_api, settings.upstream)


@pytest.fixture
def key(fake_google: FakeGoogle) -> str:
    return fake_google.add_api_key()


async def test_generate_sends_the_key_in_the_header_only(
    fake_google: FakeGoogle, client: GeminiApiClient, key: str
) -> None:
    reply = await client.generate(key, "gemini-2.5-flash", ask("hello key"))
    assert answer_text([reply]) == "Echo: hello key"
    call = fake_google.calls("generateContent")[0]
    assert call.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert call.headers["x-goog-api-key"] == key
    assert call.query == {}
    assert "Authorization" not in call.headers
    assert call.body == ask("hello key")


async def test_models_prefix_in_the_model_name_is_accepted(
    fake_google: FakeGoogle, client: GeminiApiClient, key: str
) -> None:
    await client.generate(key, "models/gemini-2.5-pro", ask("hi"))
    assert fake_google.calls("generateContent")[0].path == "/v1beta/models/gemini-2.5-pro:generateContent"


async def test_stream_yields_bare_chunks(fake_google: FakeGoogle, client: GeminiApiClient, key: str) -> None:
    chunks = [chunk async for chunk in client.stream_generate(key, "gemini-2.5-pro", ask("one two three"))]
    assert len(chunks) >= 3
    assert answer_text(chunks) == "Echo: one two three"
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    call = fake_google.calls("streamGenerateContent")[0]
    assert call.query == {"alt": "sse"} and call.headers["x-goog-api-key"] == key


async def test_stream_cut_is_a_network_error(
    fake_google: FakeGoogle, client: GeminiApiClient, key: str
) -> None:
    fake_google.inject(Fault("stream_cut", after=1))
    received: list[JSON] = []
    with pytest.raises(UpstreamError) as caught:
        async for chunk in client.stream_generate(key, "gemini-2.5-pro", ask("a b c d")):
            received.append(chunk)
    assert caught.value.kind is ErrorKind.NETWORK
    assert len(received) == 1


async def test_fetch_models_reads_every_page(
    fake_google: FakeGoogle, client: GeminiApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.0-flash",
        "text-embedding-004",
        "gemini-2.5-flash-tts",
    ]
    api_key = fake_google.add_api_key(names)
    monkeypatch.setattr(core.gemini_api, "MODELS_PAGE_SIZE", 2)
    catalogue = await client.fetch_models(api_key)
    assert set(catalogue.models) == set(names)
    assert all(quota.remaining_fraction is None for quota in catalogue.models.values())
    pro = catalogue.models["gemini-2.5-pro"]
    assert pro.display_name == "Gemini 2.5 Pro" and pro.max_output_tokens == 65_536 and pro.supports_thinking
    assert catalogue.deprecated == {}
    pages = fake_google.calls("listModels")
    assert [page.query.get("pageToken") for page in pages] == [None, "2", "4"]
    assert all(page.headers["x-goog-api-key"] == api_key and "key" not in page.query for page in pages)


@pytest.mark.usefixtures("fake_google")
async def test_invalid_key_is_forbidden_and_never_shown(client: GeminiApiClient) -> None:
    bad_key = "AIza" + "SyNotARealKey-000000000000000000000"  # built at run time: no key-shaped literal
    for call in (client.fetch_models(bad_key), client.generate(bad_key, "gemini-2.5-pro", ask("hi"))):
        with pytest.raises(UpstreamError) as caught:
            await call
        assert caught.value.kind is ErrorKind.FORBIDDEN
        assert caught.value.reason == "API_KEY_INVALID"
        assert bad_key not in str(caught.value)


async def test_quota_and_rate_limits_are_classified(
    fake_google: FakeGoogle, client: GeminiApiClient, key: str
) -> None:
    fake_google.inject(Fault("quota", model="gemini-2.5-pro"))
    with pytest.raises(UpstreamError) as quota:
        await client.generate(key, "gemini-2.5-pro", ask("hi"))
    assert quota.value.kind is ErrorKind.QUOTA_EXHAUSTED and quota.value.reset_at is not None
    fake_google.inject(Fault("rate_limit", model="gemini-2.5-flash", delay="1.5s"))
    with pytest.raises(UpstreamError) as rate:
        await client.generate(key, "gemini-2.5-flash", ask("hi"))
    assert rate.value.kind is ErrorKind.RATE_LIMITED and rate.value.retry_after == pytest.approx(1.5)


async def test_bad_request_is_returned_not_retried(
    fake_google: FakeGoogle, client: GeminiApiClient, key: str
) -> None:
    with pytest.raises(UpstreamError) as caught:
        await client.generate(
            key, "gemini-2.5-pro", {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}
        )
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert len(fake_google.calls("generateContent")) == 1


async def test_count_tokens_includes_the_system_instruction(
    fake_google: FakeGoogle, client: GeminiApiClient, key: str
) -> None:
    short = await client.count_tokens(key, "gemini-2.5-pro", ask("hi"))
    request = ask("hi") | {"systemInstruction": {"parts": [{"text": "Answer in French, politely. " * 20}]}}
    longer = await client.count_tokens(key, "gemini-2.5-pro", request)
    assert longer["totalTokens"] > short["totalTokens"] >= 1
    body = fake_google.calls("countTokens")[1].body
    assert body["generateContentRequest"]["model"] == "models/gemini-2.5-pro"


async def test_other_methods_go_through_call(fake_google: FakeGoogle, client: GeminiApiClient) -> None:
    api_key = fake_google.add_api_key(["text-embedding-004"])
    reply = await client.call(
        api_key,
        "text-embedding-004",
        "batchEmbedContents",
        {
            "requests": [
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": text}]}}
                for text in ("a", "b")
            ]
        },
    )
    first, second = (embedding["values"] for embedding in reply["embeddings"])
    assert first and first != second
