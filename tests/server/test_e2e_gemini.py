"""End to end with the official google-genai SDK: client -> real gateway -> fake Google, and back."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import BaseModel, Field

from core.services import create_services
from core.types import AccountKind, AccountStatus
from server.runner import GatewayServer
from tests.fake_google import ANY_GENERATE, Fault, prompt_tokens
from tests.helpers import FORBIDDEN_SCHEMA_KEYS, echo_of, schema_keys
from tests.server.conftest import Gateway, close_genai_client, new_genai_client

# google-genai subclasses aiohttp.ClientSession, which aiohttp warns about; that is the SDK's business.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged:DeprecationWarning"
)

MODEL = "gemini-3-flash"
API_MODEL = "gemini-2.5-flash"  # API keys still serve 2.5; Cloud Code does not
ALICE = "alice@example.com"
BOB = "bob@example.com"
API_VERSIONS = ["v1beta", None]  # None: the SDK's own default (v1 for the Gemini API today)

WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather in a city",
    parameters_json_schema={
        "type": "object",
        "properties": {"city_name": {"type": "string"}},  # snake_case: client data, never re-cased
        "required": ["city_name"],
    },
)
NO_AUTOMATIC_CALLS = types.AutomaticFunctionCallingConfig(disable=True)
WEATHER_CONFIG = types.GenerateContentConfig(
    tools=[types.Tool(function_declarations=[WEATHER])], automatic_function_calling=NO_AUTOMATIC_CALLS
)


@pytest.fixture(params=API_VERSIONS, ids=["v1beta", "sdk-default"])
async def any_client(gateway: Gateway, request: pytest.FixtureRequest) -> AsyncIterator[genai.Client]:
    """The SDK with api_version v1beta and with its own default, which uses other paths."""
    sdk = new_genai_client(gateway.url, gateway.key, request.param)
    try:
        yield sdk
    finally:
        await close_genai_client(sdk)


# --- helpers --------------------------------------------------------------------------------------------


def version_of(sdk: genai.Client) -> str:
    """The path prefix the SDK actually uses (read back from the genai_client, not assumed)."""
    version = sdk._api_client._http_options.api_version
    assert version
    return version


@contextlib.asynccontextmanager
async def another_gateway(gateway: Gateway, home: Path) -> AsyncIterator[genai.Client]:
    """An SDK client on a second gateway (fresh services, so an empty signature cache) with alice's account:
    what a client sees after Gravity Desk restarts."""
    settings = gateway.fake.settings(home)
    settings.server.api_keys = [gateway.key]
    services = await create_services(settings, use_keyring=False)
    server = GatewayServer(services, shutdown_timeout=1.0)
    try:
        await services.accounts.add_google(gateway.fake.accounts[ALICE].refresh_token)
        result = await server.start("127.0.0.1", 0)
        assert result.ok, result.error
        sdk = new_genai_client(result.url, gateway.key)
        try:
            yield sdk
        finally:
            await close_genai_client(sdk)
    finally:
        await server.stop()
        await services.close()


def declared_schema(declaration: dict[str, Any]) -> dict[str, Any]:
    """A declaration's parameter schema as the upstream got it (either field the upstream knows)."""
    schema = declaration.get("parameters") or declaration.get("parametersJsonSchema")
    assert isinstance(schema, dict)
    return schema


def wire_signature(signature: bytes | None) -> str:
    """A thought signature as it travels in JSON (the SDK holds it decoded, as bytes)."""
    assert signature
    return base64.urlsafe_b64encode(signature).decode()


def parts_of(response: types.GenerateContentResponse) -> list[types.Part]:
    assert response.candidates and response.candidates[0].content
    return response.candidates[0].content.parts or []


async def collect(
    stream: AsyncIterator[types.GenerateContentResponse],
) -> list[types.GenerateContentResponse]:
    return [chunk async for chunk in stream]


# --- text -----------------------------------------------------------------------------------------------


async def test_generate_content(gateway: Gateway, any_client: genai.Client) -> None:
    prompt = "hello there, how are you"
    reply = await any_client.aio.models.generate_content(model=MODEL, contents=prompt)

    (call,) = gateway.fake.generate_calls()
    assert call.who == ALICE and call.body["model"] == MODEL
    assert call.body["request"]["contents"] == [{"role": "user", "parts": [{"text": prompt}]}]
    assert reply.text == echo_of(prompt)
    assert reply.candidates and reply.candidates[0].finish_reason == types.FinishReason.STOP
    assert reply.model_version  # filled in by the upstream or the gateway
    usage = reply.usage_metadata
    assert usage is not None
    assert usage.prompt_token_count == prompt_tokens(call.body["request"])
    assert usage.candidates_token_count == len(echo_of(prompt).split())
    (row,) = await gateway.log_rows()
    assert (row.protocol, row.status, row.account, row.stream) == ("gemini", 200, ALICE, False)
    assert row.path == f"/{version_of(any_client)}/models/{MODEL}:generateContent"
    assert (row.client_model, row.upstream_model) == (MODEL, MODEL)
    assert (row.tokens_in, row.tokens_out) == (usage.prompt_token_count, usage.candidates_token_count)


async def test_generate_content_stream(gateway: Gateway, any_client: genai.Client) -> None:
    prompt = "one two three four"
    chunks = await collect(await any_client.aio.models.generate_content_stream(model=MODEL, contents=prompt))

    (call,) = gateway.fake.calls("streamGenerateContent")
    assert call.query.get("alt") == "sse"
    assert call.body["request"]["contents"][0]["parts"] == [{"text": prompt}]
    texts = [chunk.text for chunk in chunks if chunk.text]
    assert len(texts) > 1, "the answer should arrive in several chunks"
    assert "".join(texts) == echo_of(prompt)
    finishes = [
        c.candidates[0].finish_reason for c in chunks if c.candidates and c.candidates[0].finish_reason
    ]
    assert finishes == [types.FinishReason.STOP]
    last_usage = chunks[-1].usage_metadata
    assert last_usage is not None and last_usage.candidates_token_count == len(echo_of(prompt).split())
    (row,) = await gateway.log_rows()
    assert row.status == 200 and row.stream and row.ttfb_ms is not None
    assert row.path == f"/{version_of(any_client)}/models/{MODEL}:streamGenerateContent"
    assert (row.tokens_in, row.tokens_out) == (
        last_usage.prompt_token_count,
        last_usage.candidates_token_count,
    )


async def test_json_array_stream_without_alt_sse(gateway: Gateway) -> None:
    gateway.fake.chunk_delay = 0.02  # so the pieces cannot all arrive in one read
    prompt = "stream me as an array please"
    url = f"{gateway.url}/v1beta/models/{MODEL}:streamGenerateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    async with gateway.http.post(url, json=body, headers={"x-goog-api-key": gateway.key}) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        pieces = [piece async for piece in response.content.iter_any()]

    assert len(pieces) > 1, "the array should be written element by element, not at the end"
    elements = json.loads(b"".join(pieces))
    assert isinstance(elements, list) and len(elements) > 1
    parsed = [types.GenerateContentResponse.model_validate(element) for element in elements]
    assert "".join(chunk.text or "" for chunk in parsed) == echo_of(prompt)
    (call,) = gateway.fake.calls("streamGenerateContent")
    assert call.query.get("alt") == "sse"  # the gateway always asks the upstream for SSE
    (row,) = await gateway.log_rows()
    assert row.status == 200 and row.stream


async def test_system_instruction(gateway: Gateway, genai_client: genai.Client) -> None:
    config = types.GenerateContentConfig(system_instruction="Be brief and kind.", temperature=0.25)
    reply = await genai_client.aio.models.generate_content(model=MODEL, contents="hi", config=config)

    (request,) = gateway.sent()
    assert [part["text"] for part in request["systemInstruction"]["parts"]] == ["Be brief and kind."]
    assert [content["role"] for content in request["contents"]] == ["user"]
    assert request["generationConfig"]["temperature"] == pytest.approx(0.25)
    assert reply.text == echo_of("hi")
    assert reply.usage_metadata is not None
    assert reply.usage_metadata.prompt_token_count == prompt_tokens(request)  # the system text counts


async def test_count_tokens(gateway: Gateway, any_client: genai.Client) -> None:
    text = "count each one of these"
    assert len(text) % 4, "the upstream's count (floor) must differ from the local estimate (ceil)"
    counted = await any_client.aio.models.count_tokens(model=MODEL, contents=text)

    (call,) = gateway.fake.calls("countTokens")
    inner = call.body["request"]
    assert inner["contents"][0]["parts"] == [{"text": text}]
    assert counted.total_tokens == prompt_tokens(inner)
    assert gateway.fake.generate_calls() == []
    (row,) = await gateway.log_rows()
    assert (row.protocol, row.status, row.client_model, row.upstream_model) == ("gemini", 200, MODEL, MODEL)
    assert row.path == f"/{version_of(any_client)}/models/{MODEL}:countTokens"


async def test_models_list_and_get(gateway: Gateway, any_client: genai.Client) -> None:
    listed = [model async for model in await any_client.aio.models.list()]

    names = [model.name for model in listed]
    assert {f"models/{model}" for model in gateway.fake.accounts[ALICE].models} <= set(names)
    assert len(names) == len(set(names))
    flash = next(model for model in listed if model.name == f"models/{MODEL}")
    assert flash.display_name and flash.supported_actions
    assert "generateContent" in flash.supported_actions
    got = await any_client.aio.models.get(model=MODEL)
    assert got.name == f"models/{MODEL}" and got.display_name == flash.display_name
    with pytest.raises(genai_errors.ClientError) as caught:
        await any_client.aio.models.get(model="no-such-model-xyz")
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"
    assert "no-such-model-xyz" in (caught.value.message or "")


# --- multimodal and thinking ----------------------------------------------------------------------------


async def test_inline_image_bytes(gateway: Gateway, genai_client: genai.Client) -> None:
    picture = (
        b"\x89PNG\r\n\x1a\n\xfb\xff\xfe not really a picture"  # \xfb\xff: '-' and '_' in URL-safe base64
    )
    contents = [types.Part.from_bytes(data=picture, mime_type="image/png"), "what is this"]
    reply = await genai_client.aio.models.generate_content(model=MODEL, contents=contents)

    (request,) = gateway.sent()
    image, text = request["contents"][0]["parts"]
    assert image["inlineData"]["mimeType"] == "image/png"
    assert base64.urlsafe_b64decode(image["inlineData"]["data"]) == picture
    assert text == {"text": "what is this"}
    assert reply.text == echo_of("what is this")


@pytest.mark.parametrize("stream", [False, True])
async def test_thinking_returns_thought_parts(
    gateway: Gateway, genai_client: genai.Client, stream: bool
) -> None:
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=1024),
        max_output_tokens=4096,
    )
    if stream:
        chunks = await collect(
            await genai_client.aio.models.generate_content_stream(
                model="gemini-3.1-pro-high", contents="think first", config=config
            )
        )
        parts = [part for chunk in chunks for part in parts_of(chunk)]
        text = "".join(chunk.text or "" for chunk in chunks)
        usage = chunks[-1].usage_metadata
        assert parts_of(chunks[0])[0].thought, "the thought comes first, in its own chunk"
    else:
        reply = await genai_client.aio.models.generate_content(
            model="gemini-3.1-pro-high", contents="think first", config=config
        )
        parts, text, usage = parts_of(reply), reply.text or "", reply.usage_metadata

    (request,) = gateway.sent()
    assert request["generationConfig"]["thinkingConfig"] == {"includeThoughts": True, "thinkingBudget": 1024}
    assert request["generationConfig"]["maxOutputTokens"] == 4096
    thoughts = [part for part in parts if part.thought]
    assert len(thoughts) == 1 and thoughts[0].text and thoughts[0].thought_signature
    assert text == echo_of("think first")  # the SDK keeps thoughts out of .text: they must be marked
    assert usage is not None and usage.thoughts_token_count == len(thoughts[0].text.split())


# --- function calling -----------------------------------------------------------------------------------


async def test_chat_function_call_round_trip_with_sdk_history(
    gateway: Gateway, genai_client: genai.Client
) -> None:
    chat = genai_client.aio.chats.create(model=MODEL, config=WEATHER_CONFIG)
    first = await chat.send_message('Weather? CALL:get_weather{"city_name": "Paris"}')

    assert first.function_calls is not None
    (call,) = first.function_calls
    assert call.name == "get_weather" and call.args == {"city_name": "Paris"}
    assert call.id, "the fake gives Gemini models' calls no id; the gateway must assign one"
    (call_part,) = parts_of(first)
    signature = wire_signature(call_part.thought_signature)
    assert first.candidates and first.candidates[0].finish_reason == types.FinishReason.STOP
    history = chat.get_history()
    assert [content.role for content in history] == ["user", "model"]
    assert history[1].parts and history[1].parts[0].thought_signature == call_part.thought_signature

    answer = types.Part(
        function_response=types.FunctionResponse(id=call.id, name="get_weather", response={"temp_c": 21})
    )
    second = await chat.send_message(answer)

    first_request, follow_up = gateway.sent()
    (declared,) = first_request["tools"][0]["functionDeclarations"]
    assert declared["name"] == "get_weather"
    assert set(declared_schema(declared)["properties"]) == {"city_name"}
    user_turn, model_turn, answer_turn = follow_up["contents"]
    assert user_turn["parts"][0]["text"].startswith("Weather?")
    (sent_call,) = model_turn["parts"]
    assert sent_call["functionCall"] == {"name": "get_weather", "args": {"city_name": "Paris"}, "id": call.id}
    assert sent_call["thoughtSignature"] == signature  # kept by the SDK, passed through unchanged
    (sent_answer,) = answer_turn["parts"]
    assert sent_answer["functionResponse"]["id"] == call.id
    assert sent_answer["functionResponse"]["response"] == {"temp_c": 21}
    assert second.text == echo_of('get_weather -> {"temp_c":21}')
    assert [content.role for content in chat.get_history()] == ["user", "model", "user", "model"]


async def test_signatures_kept_by_the_sdk_work_after_a_gateway_restart(
    gateway: Gateway, genai_client: genai.Client, tmp_path: Path
) -> None:
    chat = genai_client.aio.chats.create(model=MODEL, config=WEATHER_CONFIG)
    first = await chat.send_message('CALL:get_weather{"city_name": "Rome"}')
    assert first.function_calls is not None
    (call,) = first.function_calls
    (call_part,) = parts_of(first)
    signature = wire_signature(call_part.thought_signature)
    answer = types.Part(
        function_response=types.FunctionResponse(id=call.id, name="get_weather", response={"temp_c": 30})
    )

    history: list[types.ContentOrDict] = list(chat.get_history())
    # Only the SDK's history can carry the signature now: the new gateway's cache has never seen it.
    async with another_gateway(gateway, tmp_path / "restarted") as restarted:
        resumed = restarted.aio.chats.create(model=MODEL, config=WEATHER_CONFIG, history=history)
        second = await resumed.send_message(answer)

    _, follow_up = gateway.sent()
    (sent_call,) = follow_up["contents"][1]["parts"]
    assert sent_call["thoughtSignature"] == signature
    assert second.text == echo_of('get_weather -> {"temp_c":30}')


@pytest.mark.parametrize("keep_id", [True, False], ids=["with-id", "without-id"])
async def test_rebuilt_history_without_signatures_gets_them_back(
    gateway: Gateway, genai_client: genai.Client, keep_id: bool
) -> None:
    prompt = 'Weather? CALL:get_weather{"city_name": "Oslo"}'
    stream = await genai_client.aio.models.generate_content_stream(
        model=MODEL, contents=prompt, config=WEATHER_CONFIG
    )
    chunks = await collect(stream)
    calls = [call for chunk in chunks for call in chunk.function_calls or []]
    (call,) = calls
    assert call.id and call.args == {"city_name": "Oslo"}
    (signature,) = [
        wire_signature(part.thought_signature)
        for chunk in chunks
        for part in parts_of(chunk)
        if part.thought_signature
    ]

    # What a client that stores its own history as plain JSON sends back: no thoughtSignature anywhere.
    function_call: dict[str, Any] = {"name": "get_weather", "args": {"city_name": "Oslo"}}
    function_response: dict[str, Any] = {"name": "get_weather", "response": {"temp_c": -3}}
    if keep_id:
        function_call["id"] = function_response["id"] = call.id
    history: Any = [
        {"role": "user", "parts": [{"text": prompt}]},
        {"role": "model", "parts": [{"functionCall": function_call}]},
        {"role": "user", "parts": [{"functionResponse": function_response}]},
    ]
    reply = await genai_client.aio.models.generate_content(
        model=MODEL, contents=history, config=WEATHER_CONFIG
    )

    follow_up = gateway.sent()[-1]
    (sent_call,) = follow_up["contents"][1]["parts"]
    assert sent_call["thoughtSignature"] == signature  # re-attached from the gateway's cache
    assert ("id" in sent_call["functionCall"]) is keep_id
    assert reply.text == echo_of('get_weather -> {"temp_c":-3}')  # the fake checked the signature


class Place(BaseModel):
    city: str
    country: str = "FR"


class Forecast(BaseModel):
    place: Place
    unit: Literal["celsius"] = "celsius"
    days: int = Field(default=3, ge=1, le=10)


async def test_pydantic_json_schema_with_defs_is_cleaned(
    gateway: Gateway, genai_client: genai.Client
) -> None:
    schema = Forecast.model_json_schema()
    assert {"$defs", "$ref", "const", "default"} <= set(schema_keys(schema))  # worth testing only with all
    declaration = types.FunctionDeclaration(name="forecast", parameters_json_schema=schema)
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[declaration])], automatic_function_calling=NO_AUTOMATIC_CALLS
    )

    reply = await genai_client.aio.models.generate_content(
        model=MODEL, contents='CALL:forecast{"place": {"city": "Lyon"}, "days": 2}', config=config
    )

    (request,) = gateway.sent()
    (sent_declaration,) = request["tools"][0]["functionDeclarations"]
    parameters = declared_schema(sent_declaration)
    assert not FORBIDDEN_SCHEMA_KEYS & set(schema_keys(sent_declaration))
    assert parameters["properties"]["place"]["properties"]["city"]["type"] == "string"  # $ref inlined
    assert parameters["properties"]["unit"]["enum"] == ["celsius"]  # const as a one-value enum
    assert reply.function_calls is not None
    (call,) = reply.function_calls
    assert call.name == "forecast" and call.args == {"place": {"city": "Lyon"}, "days": 2}


# --- API-key accounts -----------------------------------------------------------------------------------


async def test_api_key_account_serves_when_the_google_account_is_disabled(
    gateway: Gateway, genai_client: genai.Client
) -> None:
    key = gateway.fake.add_api_key()
    keyed = await gateway.services.accounts.add_api_key(key)
    assert keyed.kind is AccountKind.API_KEY
    await gateway.services.accounts.set_enabled(gateway.account(ALICE).id, False)

    reply = await genai_client.aio.models.generate_content(model=API_MODEL, contents="via a key")
    chunks = await collect(
        await genai_client.aio.models.generate_content_stream(model=API_MODEL, contents="streamed")
    )
    counted = await genai_client.aio.models.count_tokens(model=API_MODEL, contents="count these words please")

    assert reply.text == echo_of("via a key")
    assert "".join(chunk.text or "" for chunk in chunks) == echo_of("streamed")
    served = [
        gateway.fake.calls(method)[-1]
        for method in ("generateContent", "streamGenerateContent", "countTokens")
    ]
    assert [(call.service, call.who) for call in served] == [("gemini_api", key)] * 3
    generate, stream, count = served
    assert generate.body["contents"] == [{"role": "user", "parts": [{"text": "via a key"}]}]
    assert stream.query.get("alt") == "sse" and API_MODEL in stream.path
    assert counted.total_tokens == prompt_tokens(count.body.get("generateContentRequest", count.body))
    assert not gateway.sent() and not gateway.sent("streamGenerateContent")  # Cloud Code saw none of it
    rows = await gateway.log_rows()
    generated = [row for row in rows if row.path.endswith(("generateContent", "streamGenerateContent"))]
    assert len(generated) == 2 and all(row.status == 200 for row in generated)
    assert all(row.account == keyed.name and key not in row.account for row in generated)


# --- errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_all_accounts_exhausted_is_a_429_saying_when(
    gateway: Gateway, genai_client: genai.Client, stream: bool
) -> None:
    await gateway.add_google_account(BOB)
    gateway.fake.set_remaining(ALICE, MODEL, 0.0, reset_in_s=7200)
    gateway.fake.set_remaining(BOB, MODEL, 0.0, reset_in_s=900)

    with pytest.raises(genai_errors.ClientError) as caught:
        if stream:
            await collect(await genai_client.aio.models.generate_content_stream(model=MODEL, contents="hi"))
        else:
            await genai_client.aio.models.generate_content(model=MODEL, contents="hi")

    error = caught.value
    assert error.code == 429 and error.status == "RESOURCE_EXHAUSTED"
    message = error.message or ""
    assert BOB in message and "frees up" in message, message  # the earliest account and when
    method = "streamGenerateContent"  # non-streaming requests to these models go up as streams too
    assert sorted(call.who or "" for call in gateway.fake.calls(method)) == [ALICE, BOB]
    assert all(gateway.account(email).quotas[MODEL].exhausted for email in (ALICE, BOB))
    (row,) = await gateway.log_rows()
    assert row.status == 429 and "frees up" in row.error


async def test_upstream_bad_request_is_returned_not_rotated(
    gateway: Gateway, genai_client: genai.Client
) -> None:
    await gateway.add_google_account(BOB)
    gateway.fake.inject(Fault("bad_request", method=ANY_GENERATE, times=1, message="Bad field frobnicate"))

    with pytest.raises(genai_errors.ClientError) as caught:
        await genai_client.aio.models.generate_content(model=MODEL, contents="hi")

    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
    assert "Bad field frobnicate" in (caught.value.message or "")
    assert len(gateway.fake.generate_calls()) == 1
    assert all(a.status is AccountStatus.OK for a in gateway.services.accounts.accounts())
    (row,) = await gateway.log_rows()
    assert row.status == 400 and "frobnicate" in row.error


@pytest.mark.parametrize("kind", ["stream_cut", "stream_error"])
async def test_broken_stream_raises_never_ends_cleanly(
    gateway: Gateway, genai_client: genai.Client, kind: str
) -> None:
    prompt = "a b c d e f"
    gateway.fake.inject(Fault(kind, after=2))
    stream = await genai_client.aio.models.generate_content_stream(model=MODEL, contents=prompt)
    received: list[types.GenerateContentResponse] = []

    with pytest.raises(genai_errors.APIError) as caught:
        async for chunk in stream:
            received.append(chunk)

    assert caught.value.code is not None and caught.value.code >= 500
    assert "broke off" in (caught.value.message or "")
    text = "".join(chunk.text or "" for chunk in received)
    assert text and echo_of(prompt).startswith(text) and text != echo_of(prompt)
    assert all(not (c.candidates and c.candidates[0].finish_reason) for c in received)
    assert len(gateway.fake.calls("streamGenerateContent")) == 1
    (row,) = await gateway.log_rows()
    assert row.status >= 500 and "broke off" in row.error


async def test_broken_json_array_stream_ends_with_an_error_element(gateway: Gateway) -> None:
    gateway.fake.inject(Fault("stream_cut", after=2))
    url = f"{gateway.url}/v1beta/models/{MODEL}:streamGenerateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "a b c d e f"}]}]}
    async with gateway.http.post(url, json=body, headers={"x-goog-api-key": gateway.key}) as response:
        assert response.status == 200
        elements = json.loads(await response.read())

    *answers, last = elements
    assert answers and all("candidates" in element for element in answers)
    assert last["error"]["code"] >= 500 and "broke off" in last["error"]["message"]


async def test_unknown_model_is_not_found(gateway: Gateway, any_client: genai.Client) -> None:
    with pytest.raises(genai_errors.ClientError) as caught:
        await any_client.aio.models.generate_content(model="no-such-model-xyz", contents="hi")

    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"
    assert "no-such-model-xyz" in (caught.value.message or "")
    assert gateway.fake.generate_calls() == []
    (row,) = await gateway.log_rows()
    assert row.status == 404 and row.protocol == "gemini"
