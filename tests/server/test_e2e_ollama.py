"""End to end with the official ollama client: AsyncClient -> real gateway -> fake Google, and back."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from ollama import AsyncClient, ChatResponse, GenerateResponse, ResponseError

from core.services import create_services
from server.runner import GatewayServer
from tests.fake_google import TINY_PNG, FakeGoogle, Fault, Reply
from tests.server.conftest import Gateway

MODEL = "gemini-3-flash"
CLAUDE = "claude-sonnet-4-5"

WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(host=gateway.url, headers=gateway.headers(), timeout=10.0) as sdk:
        yield sdk


def prompt_tokens(*texts: str) -> int:
    """The fake's prompt count: characters of all request text / 4, at least 1."""
    return max(1, sum(len(text) for text in texts) // 4)


# --- chat -----------------------------------------------------------------------------------------------


async def test_chat_without_streaming(gateway: Gateway, client: AsyncClient) -> None:
    prompt = "hello there, how are you"
    reply = await client.chat(model=MODEL, messages=[{"role": "user", "content": prompt}], stream=False)

    assert reply.message.role == "assistant"
    assert reply.message.content == f"Echo: {prompt}"
    assert reply.done is True and reply.done_reason == "stop"
    assert reply.model == MODEL
    assert reply.prompt_eval_count == prompt_tokens(prompt)
    assert reply.eval_count == len(f"Echo: {prompt}".split())
    assert reply.total_duration and reply.eval_duration and reply.total_duration >= reply.eval_duration > 0
    (request,) = gateway.sent()
    assert request["contents"] == [{"role": "user", "parts": [{"text": prompt}]}]


async def test_chat_streams_one_object_per_chunk_then_the_final_one(
    gateway: Gateway, client: AsyncClient
) -> None:
    prompt = "tell me a short story about llamas"
    stream = await client.chat(
        model=MODEL,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}],
        stream=True,
    )
    parts: list[ChatResponse] = [part async for part in stream]

    *fragments, final = parts
    assert len(fragments) == len(f"Echo: {prompt}".split())  # the fake streams a word per chunk
    assert all(part.done is False for part in fragments)
    assert "".join(part.message.content or "" for part in fragments) == f"Echo: {prompt}"
    assert final.done is True and final.done_reason == "stop" and final.message.content == ""
    assert final.eval_count == len(fragments)
    assert final.prompt_eval_count == prompt_tokens("Be brief.", prompt)
    assert final.prompt_eval_duration and final.eval_duration and final.total_duration
    assert final.total_duration >= final.prompt_eval_duration + final.eval_duration - 1
    (request,) = gateway.sent("streamGenerateContent")
    assert request["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert gateway.sent("generateContent") == []


async def test_a_latest_tag_is_stripped_and_the_name_echoed(gateway: Gateway, client: AsyncClient) -> None:
    reply = await client.chat(
        model=f"{MODEL}:latest", messages=[{"role": "user", "content": "hi"}], stream=False
    )
    assert reply.model == f"{MODEL}:latest"
    (call,) = gateway.fake.generate_calls()
    assert call.model == MODEL


async def test_options_format_and_think_are_forwarded(gateway: Gateway, client: AsyncClient) -> None:
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}
    reply = await client.chat(
        model=MODEL,
        messages=[{"role": "user", "content": "how old?"}],
        options={
            "temperature": 0.3,
            "top_p": 0.8,
            "top_k": 20,
            "num_predict": 4000,
            "stop": ["END"],
            "seed": 7,
            "num_ctx": 8192,  # local-only options are accepted and ignored
            "mirostat": 1,
        },
        format=schema,
        think=True,
        keep_alive="5m",
        stream=False,
    )
    (request,) = gateway.sent()
    config = request["generationConfig"]
    assert {key: config[key] for key in ("temperature", "topP", "topK", "maxOutputTokens", "seed")} == {
        "temperature": 0.3,
        "topP": 0.8,
        "topK": 20,
        "maxOutputTokens": 4000,
        "seed": 7,
    }
    assert config["stopSequences"] == ["END"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == schema
    assert config["thinkingConfig"]["includeThoughts"] is True
    assert not {"numCtx", "num_ctx", "mirostat"} & set(config)
    assert reply.message.thinking == "Thinking about it."
    assert reply.message.content == "Echo: how old?"


async def test_unlimited_num_predict_and_json_mode(gateway: Gateway, client: AsyncClient) -> None:
    await client.generate(
        model=MODEL, prompt="as json", options={"num_predict": -1}, format="json", stream=False
    )
    (request,) = gateway.sent()
    assert "maxOutputTokens" not in request["generationConfig"]
    assert request["generationConfig"]["responseMimeType"] == "application/json"


@pytest.mark.usefixtures("gateway")
async def test_thinking_streams_in_its_own_field(client: AsyncClient) -> None:
    stream = await client.chat(
        model=MODEL, messages=[{"role": "user", "content": "think first"}], think=True, stream=True
    )
    parts = [part async for part in stream]
    thinking = "".join(part.message.thinking or "" for part in parts)
    content = "".join(part.message.content or "" for part in parts)
    assert thinking == "Thinking about it."
    assert content == "Echo: think first"
    assert parts[-1].eval_count == len(content.split()) + len(thinking.split())


async def test_images_reach_the_upstream_with_their_type(gateway: Gateway, client: AsyncClient) -> None:
    png = base64.b64decode(TINY_PNG)
    await client.chat(
        model=MODEL,
        messages=[{"role": "user", "content": "what is this?", "images": [png]}],
        stream=False,
    )
    await client.generate(model=MODEL, prompt="and this?", images=[TINY_PNG], stream=False)
    chat_request, generate_request = gateway.sent()
    expected = {"inlineData": {"mimeType": "image/png", "data": TINY_PNG}}
    assert chat_request["contents"][0]["parts"] == [{"text": "what is this?"}, expected]
    assert generate_request["contents"][0]["parts"] == [{"text": "and this?"}, expected]


async def test_generated_images_come_back_in_the_message(gateway: Gateway, client: AsyncClient) -> None:
    image_model = "gemini-3-pro-image"
    await gateway.add_google_account("painter@example.com", models={image_model: 1.0})
    reply = await client.chat(model=image_model, messages=[{"role": "user", "content": "draw"}], stream=False)
    text, _, picture = (reply.message.content or "").partition("\n\n")
    assert text == "Here is your image."  # the fake's text before its picture
    assert picture == f"![image](data:image/png;base64,{TINY_PNG})"
    streamed = await client.chat(
        model=image_model, messages=[{"role": "user", "content": "draw"}], stream=True
    )
    assert "".join([part.message.content or "" async for part in streamed]) == reply.message.content
    whole = await client.generate(model=image_model, prompt="draw", stream=False)
    assert whole.image == TINY_PNG and whole.response == text


# --- tools ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [MODEL, CLAUDE])
@pytest.mark.parametrize("stream", [False, True])
async def test_tool_call_round_trip(gateway: Gateway, client: AsyncClient, model: str, stream: bool) -> None:
    messages: list[Any] = [{"role": "user", "content": 'weather? CALL:get_weather{"city": "Paris"}'}]
    if stream:
        parts = [
            p
            async for p in await client.chat(
                model=model, messages=messages, tools=[WEATHER_TOOL], stream=True
            )
        ]
        calls = [call for part in parts for call in part.message.tool_calls or ()]
        assert parts[-1].done_reason == "stop"
    else:
        reply = await client.chat(model=model, messages=messages, tools=[WEATHER_TOOL], stream=False)
        calls = list(reply.message.tool_calls or ())
    assert [(call.function.name, dict(call.function.arguments)) for call in calls] == [
        ("get_weather", {"city": "Paris"})
    ]

    # The client sends the call back without any signature or id, as Ollama clients do; the fake refuses
    # a call without its thought signature (and, on Claude, a result whose id does not match the call).
    messages += [
        {"role": "assistant", "content": "", "tool_calls": [{"function": calls[0].function.model_dump()}]},
        {"role": "tool", "tool_name": "get_weather", "content": '{"temp": 21}'},
    ]
    answer = await client.chat(model=model, messages=messages, tools=[WEATHER_TOOL], stream=False)
    assert answer.message.content == 'Echo: get_weather -> {"result":{"temp":21}}'
    last = gateway.sent()[-1]
    call_part, result_part = last["contents"][1]["parts"][0], last["contents"][2]["parts"][0]
    assert call_part["thoughtSignature"]
    if model == CLAUDE:
        assert call_part["functionCall"]["id"] == result_part["functionResponse"]["id"]


@pytest.mark.usefixtures("gateway")
async def test_parallel_tool_results_are_matched_by_name(client: AsyncClient) -> None:
    time_tool: Any = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
    messages: list[Any] = [{"role": "user", "content": "CALL:get_weather CALL:get_time"}]
    reply = await client.chat(model=CLAUDE, messages=messages, tools=[WEATHER_TOOL, time_tool], stream=False)
    calls = reply.message.tool_calls or []
    assert [call.function.name for call in calls] == ["get_weather", "get_time"]
    messages += [
        {"role": "assistant", "tool_calls": [{"function": call.function.model_dump()} for call in calls]},
        # answered in the other order: tool_name says which call each result belongs to
        {"role": "tool", "tool_name": "get_time", "content": "noon"},
        {"role": "tool", "tool_name": "get_weather", "content": "sunny"},
    ]
    answer = await client.chat(model=CLAUDE, messages=messages, tools=[WEATHER_TOOL, time_tool], stream=False)
    assert answer.message.content == 'Echo: get_time -> {"result":"noon"} get_weather -> {"result":"sunny"}'


# --- generate -------------------------------------------------------------------------------------------


async def test_generate_streaming_and_not(gateway: Gateway, client: AsyncClient) -> None:
    whole = await client.generate(model=MODEL, prompt="why is the sky blue", system="Be terse.", stream=False)
    assert whole.response == "Echo: why is the sky blue"
    assert whole.done and whole.done_reason == "stop"
    assert whole.prompt_eval_count == prompt_tokens("Be terse.", "why is the sky blue")

    parts: list[GenerateResponse] = [
        p async for p in await client.generate(model=MODEL, prompt="one two three", stream=True)
    ]
    assert "".join(part.response or "" for part in parts) == "Echo: one two three"
    assert [part.done for part in parts] == [False] * (len(parts) - 1) + [True]
    assert parts[-1].eval_count == 4
    request = gateway.sent()[0]
    assert request["systemInstruction"] == {"parts": [{"text": "Be terse."}]}


async def test_a_length_stop_is_reported(gateway: Gateway, client: AsyncClient) -> None:
    gateway.fake.script(Reply(parts=[{"text": "cut"}], finish_reason="MAX_TOKENS"))
    reply = await client.generate(model=MODEL, prompt="long", options={"num_predict": 1}, stream=False)
    assert reply.done_reason == "length"


@pytest.mark.parametrize("endpoint", ["chat", "generate"])
@pytest.mark.parametrize("keep_alive", [None, 0])
async def test_nothing_to_generate_loads_or_unloads(
    gateway: Gateway, client: AsyncClient, endpoint: str, keep_alive: int | None
) -> None:
    if endpoint == "chat":
        reply: ChatResponse | GenerateResponse = await client.chat(
            model=MODEL, messages=[], keep_alive=keep_alive, stream=False
        )
    else:
        reply = await client.generate(model=MODEL, keep_alive=keep_alive, stream=False)
    assert reply.done is True
    assert reply.done_reason == ("unload" if keep_alive == 0 else "load")
    assert gateway.fake.generate_calls() == []


# --- models ---------------------------------------------------------------------------------------------


async def test_tags_list_the_accounts_models(gateway: Gateway, client: AsyncClient) -> None:
    listed = await client.list()
    names = {model.model for model in listed.models}
    assert names == set(gateway.fake.accounts["alice@example.com"].models)  # aliases (gpt-4, ...) left out
    for model in listed.models:
        assert model.details is not None and model.details.family
        assert model.digest and len(model.digest) == 64
        assert model.modified_at is not None


async def test_show_says_what_a_model_can_do(client: AsyncClient) -> None:
    shown = await client.show("claude-sonnet-4-5-thinking")
    assert shown.capabilities is not None
    assert {"completion", "tools", "thinking"} <= set(shown.capabilities)
    assert shown.details is not None and shown.details.family == "claude"
    plain = await client.show(f"{MODEL}:latest")
    assert plain.details is not None and plain.details.family == "gemini"
    with pytest.raises(ResponseError) as caught:
        await client.show("llama3:8b")
    assert caught.value.status_code == 404 and "llama3:8b" in caught.value.error


async def test_version_and_running_models(client: AsyncClient, gateway: Gateway) -> None:
    async with gateway.http.get(gateway.url + "/api/version", headers=gateway.headers()) as response:
        version = (await response.json())["version"]
    assert [int(piece) for piece in version.split(".")] >= [0, 9]
    assert (await client.ps()).models == []


async def test_root_answers_the_ollama_probe_without_a_key(gateway: Gateway) -> None:
    for method in ("GET", "HEAD"):
        async with gateway.http.request(method, gateway.url + "/") as response:
            assert response.status == 200
            text = await response.text()
        assert text == ("Ollama is running" if method == "GET" else "")
    async with gateway.http.get(gateway.url + "/healthz") as response:
        assert (await response.json())["status"] == "ok"


# --- errors ---------------------------------------------------------------------------------------------


async def test_missing_key_is_a_401_that_says_what_to_set(gateway: Gateway) -> None:
    async with AsyncClient(host=gateway.url, timeout=10.0) as keyless:
        with pytest.raises(ResponseError) as caught:
            await keyless.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=False)
    assert caught.value.status_code == 401
    assert "OLLAMA_API_KEY" in caught.value.error
    assert gateway.key not in caught.value.error
    assert gateway.fake.generate_calls() == []


async def test_the_api_key_from_the_environment_is_used(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", gateway.key)
    async with AsyncClient(host=gateway.url, timeout=10.0) as sdk:
        assert (await sdk.list()).models


async def test_no_key_needed_when_auth_is_off(fake_google: FakeGoogle, tmp_path: Path) -> None:
    settings = fake_google.settings(tmp_path)  # server.api_keys = []: auth off
    services = await create_services(settings, use_keyring=False)
    account = fake_google.add_google_account("carol@example.com")
    await services.accounts.add_google(account.refresh_token)
    server = GatewayServer(services, shutdown_timeout=1.0)
    started = await server.start("127.0.0.1", 0)
    try:
        async with AsyncClient(host=started.url, timeout=10.0) as sdk:
            reply = await sdk.generate(model=MODEL, prompt="open door", stream=False)
        assert reply.response == "Echo: open door"
    finally:
        await server.stop()
        await services.close()


async def test_bad_requests_are_400s_in_ollamas_shape(gateway: Gateway, client: AsyncClient) -> None:
    with pytest.raises(ResponseError) as caught:
        await client.chat(
            model=MODEL,
            messages=[{"role": "user", "content": "hi"}],
            options={"temperature": "hot"},
            stream=False,
        )
    assert caught.value.status_code == 400 and "options.temperature" in caught.value.error
    async with gateway.http.post(
        gateway.url + "/api/chat", data=b"{not json", headers=gateway.headers()
    ) as response:
        assert response.status == 400
        body = await response.json()
    assert set(body) == {"error"} and "not valid JSON" in body["error"]
    async with gateway.http.get(gateway.url + "/api/nothing", headers=gateway.headers()) as response:
        assert response.status == 404
        assert set(await response.json()) == {"error"}


@pytest.mark.usefixtures("gateway")
async def test_unknown_model_is_a_404(client: AsyncClient) -> None:
    with pytest.raises(ResponseError) as caught:
        await client.chat(model="no-such-model", messages=[{"role": "user", "content": "hi"}], stream=False)
    assert caught.value.status_code == 404


async def test_quota_exhausted_is_a_429_before_streaming(gateway: Gateway, client: AsyncClient) -> None:
    gateway.fake.inject(Fault("quota", times=None))
    with pytest.raises(ResponseError) as caught:
        stream = await client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True)
        async for _ in stream:
            pass
    assert caught.value.status_code == 429
    gateway.fake.clear_faults()


async def test_a_failure_mid_stream_is_an_error_line(gateway: Gateway, client: AsyncClient) -> None:
    gateway.fake.inject(Fault("stream_error", after=2))
    received: list[ChatResponse] = []
    with pytest.raises(ResponseError) as caught:
        async for part in await client.chat(
            model=MODEL, messages=[{"role": "user", "content": "a b c d e"}], stream=True
        ):
            received.append(part)
    assert len(received) == 2 and not any(part.done for part in received)
    assert "broke off" in caught.value.error
    rows = await gateway.log_rows()
    assert rows[0].protocol == "ollama" and rows[0].status != 200 and rows[0].error


async def test_requests_are_logged_as_ollama(gateway: Gateway, client: AsyncClient) -> None:
    await client.chat(model=MODEL, messages=[{"role": "user", "content": "log me please"}], stream=False)
    (row,) = [row for row in await gateway.log_rows() if row.path == "/api/chat"]
    assert row.protocol == "ollama" and row.status == 200
    assert row.client_model == MODEL and row.upstream_model == MODEL
    assert (row.tokens_in, row.tokens_out) == (prompt_tokens("log me please"), 4)


async def test_raw_ndjson_lines(gateway: Gateway) -> None:
    """What non-SDK clients (Open WebUI, curl) read: application/x-ndjson, one JSON object per line."""
    body = {"model": MODEL, "messages": [{"role": "user", "content": "a b"}]}
    async with gateway.http.post(gateway.url + "/api/chat", json=body, headers=gateway.headers()) as response:
        assert response.headers["Content-Type"].startswith("application/x-ndjson")
        lines = [json.loads(line) async for line in response.content if line.strip()]
    assert [line["done"] for line in lines] == [False, False, False, True]
    assert all(line["created_at"].endswith("Z") and line["model"] == MODEL for line in lines)


# --- embeddings -----------------------------------------------------------------------------------------

EMBEDDING_MODEL = "gemini-embedding-001"


async def test_embed_one_or_many_texts(gateway: Gateway, client: AsyncClient) -> None:
    await gateway.add_api_key([EMBEDDING_MODEL], "embeddings")
    one = await client.embed(model=EMBEDDING_MODEL, input="the sky is blue")
    many = await client.embed(
        model=f"{EMBEDDING_MODEL}:latest", input=["grass", "the sky is blue"], dimensions=4
    )
    assert len(one.embeddings) == 1 and len(one.embeddings[0]) == 8  # the fake's default size
    assert [len(vector) for vector in many.embeddings] == [4, 4]
    assert list(many.embeddings[1]) == list(one.embeddings[0])[:4]  # deterministic per text
    assert many.embeddings[0] != many.embeddings[1]
    assert one.prompt_eval_count == 4 and one.total_duration
    (first, second) = gateway.fake.calls("batchEmbedContents")
    assert [r["content"]["parts"][0]["text"] for r in second.body["requests"]] == ["grass", "the sky is blue"]
    assert all(r["outputDimensionality"] == 4 for r in second.body["requests"])
    assert first.model == second.model == EMBEDDING_MODEL


async def test_legacy_embeddings_endpoint(gateway: Gateway, client: AsyncClient) -> None:
    await gateway.add_api_key([EMBEDDING_MODEL], "embeddings")
    legacy = await client.embeddings(model=EMBEDDING_MODEL, prompt="the sky is blue")
    current = await client.embed(model=EMBEDDING_MODEL, input="the sky is blue")
    assert list(legacy.embedding) == list(current.embeddings[0])
    assert list((await client.embeddings(model=EMBEDDING_MODEL, prompt="")).embedding) == []


async def test_embed_without_an_embedding_account_is_an_error(client: AsyncClient) -> None:
    with pytest.raises(ResponseError) as caught:
        await client.embed(model=EMBEDDING_MODEL, input="x")
    assert caught.value.status_code >= 400 and caught.value.error
    with pytest.raises(ResponseError) as caught:
        await client.embed(model=EMBEDDING_MODEL, input=[])
    assert caught.value.status_code == 400
