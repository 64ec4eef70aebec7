"""Tests for the Gemini-protocol adapter: request checks and normalisation, replies, errors, streams."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from core.errors import ApiError, ApiErrorType
from core.gateway import ModelInfo
from server.gemini import (
    GeminiStreamEncoder,
    decode,
    decode_count_tokens,
    encode,
    encode_count_tokens,
    encode_models,
    error_body,
)
from server.protocol import Decoded

# google-genai subclasses aiohttp.ClientSession, which aiohttp warns about; that is the SDK's business.
SDK_WARNING = (
    "ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged:DeprecationWarning"
)

# What google-genai 3.x actually sends for a chat with tools, thinking and an image (captured once from
# the SDK): note the snake_case keys it leaves inside camelCase objects.
SDK_BODY: dict[str, Any] = {
    "contents": [
        {"parts": [{"text": "hi"}], "role": "user"},
        {
            "parts": [
                {
                    "functionCall": {"id": "c1", "args": {"city_name": "Oslo"}, "name": "f"},
                    "thoughtSignature": "c2ln",
                }
            ],
            "role": "model",
        },
        {
            "parts": [
                {"functionResponse": {"id": "c1", "name": "f", "response": {"temp_c": 1}}},
                {"inlineData": {"data": "YWJj", "mime_type": "image/png"}},
            ],
            "role": "user",
        },
    ],
    "systemInstruction": {"parts": [{"text": "be nice"}], "role": "user"},
    "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
    "tools": [
        {
            "functionDeclarations": [
                {
                    "description": "d",
                    "name": "f",
                    "parameters_json_schema": {
                        "type": "object",
                        "properties": {"city_name": {"type": "string", "max_length": 20}},
                    },
                }
            ]
        }
    ],
    "toolConfig": {"functionCallingConfig": {"allowedFunctionNames": ["f"], "mode": "ANY"}},
    "generationConfig": {
        "temperature": 0.5,
        "maxOutputTokens": 100,
        "thinkingConfig": {"include_thoughts": True, "thinking_budget": 50},
    },
}

TEXT_CHUNKS: list[dict[str, Any]] = [
    {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hello"}]}, "index": 0}]},
    {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": " world"},
                        {
                            "functionCall": {"name": "f", "args": {"a": 1}, "id": "call_1"},
                            "thoughtSignature": "sig",
                        },
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 7,
            "candidatesTokenCount": 3,
            "thoughtsTokenCount": 2,
            "totalTokenCount": 12,
        },
    },
]


def decoded(model: str = "gemini-2.5-pro", stream: bool = True) -> Decoded[None]:
    body = {"contents": [{"role": "user", "parts": [{"text": "x"}]}]}
    return Decoded(model=model, body=body, stream=stream, options=None)


def bad_request(payload: Any, **kwargs: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        decode(payload, model=kwargs.pop("model", "gemini-2.5-pro"), stream=False, **kwargs)
    assert caught.value.status == 400
    assert caught.value.type is ApiErrorType.INVALID_REQUEST
    return caught.value


# ------------------------------------------------------------------------------------------ decode


def test_decode_normalises_sdk_keys_and_keeps_client_data() -> None:
    payload = copy.deepcopy(SDK_BODY)
    result = decode(payload, model="models/gemini-2.5-flash", stream=True)
    assert payload == SDK_BODY  # not changed in place
    assert result.model == "gemini-2.5-flash" and result.stream is True
    body = result.body
    assert body["generationConfig"]["thinkingConfig"] == {"includeThoughts": True, "thinkingBudget": 50}
    assert body["contents"][2]["parts"][1]["inlineData"] == {"data": "YWJj", "mimeType": "image/png"}
    declaration = body["tools"][0]["functionDeclarations"][0]
    assert "parameters_json_schema" not in declaration
    # Property names are the client's: only schema keywords change case.
    assert declaration["parametersJsonSchema"]["properties"] == {
        "city_name": {"type": "string", "maxLength": 20}
    }
    assert body["contents"][1]["parts"][0]["functionCall"]["args"] == {"city_name": "Oslo"}
    assert body["contents"][2]["parts"][0]["functionResponse"]["response"] == {"temp_c": 1}
    assert body["contents"][1]["parts"][0]["thoughtSignature"] == "c2ln"
    assert body["systemInstruction"]["parts"] == [{"text": "be nice"}]


def test_decode_prefers_camel_case_and_drops_unknown_top_level_fields() -> None:
    payload = {
        "contents": [{"parts": [{"text": "x"}]}],
        "generation_config": {"temperature": 0.1},
        "generationConfig": {"temperature": 0.9},
        "system_instruction": "short and sweet",
        "model": "models/other",
        "labels": {"team": "a"},
    }
    body = decode(payload, model="gemini-2.5-pro", stream=False).body
    assert body == {
        "contents": [{"role": "user", "parts": [{"text": "x"}]}],  # a missing role means the user
        "systemInstruction": {"parts": [{"text": "short and sweet"}]},
        "generationConfig": {"temperature": 0.9},
    }


@pytest.mark.parametrize(
    ("payload", "param", "words"),
    [
        ([], None, "JSON object"),
        ({}, "contents", "required"),
        ({"contents": []}, "contents", "non-empty"),
        ({"contents": "hi"}, "contents", "non-empty"),
        ({"contents": ["hi"]}, "contents[0]", "object"),
        ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "contents[0].role", "assistant"),
        ({"contents": [{"role": "user"}]}, "contents[0].parts", "list"),
        ({"contents": [{"role": "user", "parts": ["x"]}]}, "contents[0].parts[0]", "object"),
        ({"contents": [{"role": "user", "parts": [{"foo": 1}]}]}, "contents[0].parts[0]", "no data"),
        ({"contents": [{"role": "user", "parts": [{"text": 5}]}]}, "contents[0].parts[0].text", "string"),
        (
            {"contents": [{"role": "model", "parts": [{"functionCall": {"args": {}}}]}]},
            "contents[0].parts[0].functionCall.name",
            "name",
        ),
        (
            {"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "f", "response": [1]}}]}]},
            "contents[0].parts[0].functionResponse.response",
            "object",
        ),
        (
            {"contents": [{"role": "user", "parts": [{"inlineData": {"data": "x"}}]}]},
            "contents[0].parts[0].inlineData",
            "mimeType",
        ),
        ({"contents": [{"parts": [{"text": "x"}]}], "systemInstruction": 3}, "systemInstruction", "parts"),
        ({"contents": [{"parts": [{"text": "x"}]}], "tools": {"a": 1}}, "tools", "list"),
        ({"contents": [{"parts": [{"text": "x"}]}], "tools": ["x"]}, "tools[0]", "object"),
        ({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": []}, "generationConfig", "object"),
        (
            {"contents": [{"parts": [{"text": "x"}]}], "cachedContent": "cachedContents/abc"},
            "cachedContent",
            "not supported",
        ),
    ],
)
def test_decode_rejects_bad_shapes_clearly(payload: Any, param: str | None, words: str) -> None:
    error = bad_request(payload)
    assert error.param == param
    assert words in error.message


def test_decode_needs_a_model_name() -> None:
    bad_request({"contents": [{"parts": [{"text": "x"}]}]}, model="models/")


def test_decode_maps_legacy_function_role_to_user() -> None:
    payload = {
        "contents": [{"role": "function", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}]
    }
    assert decode(payload, model="m", stream=False).body["contents"][0]["role"] == "user"


# ------------------------------------------------------------------------------------------ encode


def test_encode_adds_model_version_only_when_missing() -> None:
    response = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP"}]
    }
    encoded = encode(response, decoded("gemini-2.5-flash"))
    assert encoded["modelVersion"] == "gemini-2.5-flash" and "modelVersion" not in response
    parsed = types.GenerateContentResponse.model_validate(encoded)
    assert parsed.text == "hi" and parsed.model_version == "gemini-2.5-flash"
    upstream = {**response, "modelVersion": "gemini-2.5-flash-001"}
    assert encode(upstream, decoded())["modelVersion"] == "gemini-2.5-flash-001"


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (ApiError(400, ApiErrorType.INVALID_REQUEST, "bad"), 400, "INVALID_ARGUMENT"),
        (ApiError(401, ApiErrorType.AUTHENTICATION, "who"), 401, "UNAUTHENTICATED"),
        (ApiError(403, ApiErrorType.PERMISSION, "no"), 403, "PERMISSION_DENIED"),
        (ApiError(404, ApiErrorType.NOT_FOUND, "gone"), 404, "NOT_FOUND"),
        (ApiError(413, ApiErrorType.TOO_LARGE, "big"), 413, "INVALID_ARGUMENT"),
        (ApiError(429, ApiErrorType.RATE_LIMIT, "slow down"), 429, "RESOURCE_EXHAUSTED"),
        (ApiError(502, ApiErrorType.API_ERROR, "oops"), 502, "INTERNAL"),
        (ApiError(503, ApiErrorType.OVERLOADED, "busy"), 503, "UNAVAILABLE"),
    ],
)
def test_error_body_in_googles_shape(error: ApiError, code: int, status: str) -> None:
    body = error_body(error)
    assert body == {"error": {"code": code, "message": error.message, "status": status}}


def test_error_body_details_for_retry_and_field() -> None:
    body = error_body(ApiError(429, ApiErrorType.RATE_LIMIT, "wait", retry_after=3.5, param="contents"))
    details = body["error"]["details"]
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3.5s"} in details
    violation = next(d for d in details if d["@type"].endswith("BadRequest"))
    assert violation["fieldViolations"] == [{"field": "contents", "description": "wait"}]
    # google-genai recognises a stream error by this exact prefix.
    assert json.dumps(body).startswith('{"error":')


# ------------------------------------------------------------------------------------------ count tokens


def test_count_tokens_accepts_both_forms() -> None:
    contents = [{"role": "user", "parts": [{"text": "count me"}]}]
    plain = decode_count_tokens({"contents": contents}, model="models/gemini-2.5-pro")
    assert plain.model == "gemini-2.5-pro" and plain.body == {"contents": contents} and plain.stream is False
    wrapped = decode_count_tokens(
        {"generate_content_request": {"model": "models/x", "contents": contents, "system_instruction": "s"}},
        model="gemini-2.5-pro",
    )
    assert wrapped.body == {"contents": contents, "systemInstruction": {"parts": [{"text": "s"}]}}
    for payload in ({}, {"contents": contents, "generateContentRequest": {"contents": contents}}, "x"):
        with pytest.raises(ApiError) as caught:
            decode_count_tokens(payload, model="gemini-2.5-pro")
        assert caught.value.status == 400
    assert types.CountTokensResponse.model_validate(encode_count_tokens(42)).total_tokens == 42


# ------------------------------------------------------------------------------------------ models


def test_encode_models_in_googles_list_shape() -> None:
    models = [
        ModelInfo(id="gemini-2.5-pro", owned_by="google", display_name="Gemini 2.5 Pro", accounts=2),
        ModelInfo(id="gpt-4o", owned_by="google", aliases_for="gemini-2.5-pro"),
        ModelInfo(id="text-embedding-004", owned_by="google", capabilities=("embedding",)),
    ]
    listed = encode_models(models)["models"]
    assert [m["name"] for m in listed] == [
        "models/gemini-2.5-pro",
        "models/gpt-4o",
        "models/text-embedding-004",
    ]
    assert listed[0]["displayName"] == "Gemini 2.5 Pro"
    assert listed[0]["supportedGenerationMethods"] == [
        "generateContent",
        "streamGenerateContent",
        "countTokens",
    ]
    assert listed[1]["displayName"] == "gpt-4o" and "gemini-2.5-pro" in listed[1]["description"]
    assert listed[2]["supportedGenerationMethods"] == ["embedContent", "batchEmbedContents"]
    assert encode_models([]) == {"models": []}


# ------------------------------------------------------------------------------------------ streams


def sse_events(data: bytes) -> list[Any]:
    events = data.split(b"\r\n\r\n")
    assert events[-1] == b""
    out = []
    for event in events[:-1]:
        assert event.startswith(b"data: ") and b"\n" not in event
        out.append(json.loads(event[len(b"data: ") :]))
    return out


def test_sse_stream_chunk_by_chunk() -> None:
    encoder = GeminiStreamEncoder(decoded("gemini-2.5-pro"), sse=True)
    assert encoder.content_type == "text/event-stream"
    assert encoder.start() == b""
    assert encoder.usage == (0, 0)
    first = encoder.feed(TEXT_CHUNKS[0])
    assert first.endswith(b"\r\n\r\n") and first.count(b"data: ") == 1
    (event,) = sse_events(first)
    assert event["modelVersion"] == "gemini-2.5-pro"
    assert types.GenerateContentResponse.model_validate(event).text == "Hello"
    (last,) = sse_events(encoder.feed(TEXT_CHUNKS[1]))
    parsed = types.GenerateContentResponse.model_validate(last)
    assert parsed.function_calls is not None and parsed.function_calls[0].args == {"a": 1}
    assert last["candidates"][0]["content"]["parts"][1]["thoughtSignature"] == "sig"
    assert encoder.usage == (7, 5)  # output counts thinking tokens too
    assert encoder.finish() == b""
    assert encoder.feed(TEXT_CHUNKS[0]) == b""  # nothing after the end


def test_sse_stream_error_event() -> None:
    encoder = GeminiStreamEncoder(decoded(), sse=True)
    encoder.start()
    encoder.feed(TEXT_CHUNKS[0])
    data = encoder.error(ApiError(429, ApiErrorType.RATE_LIMIT, "quota gone"))
    (event,) = sse_events(data)
    assert event == {"error": {"code": 429, "message": "quota gone", "status": "RESOURCE_EXHAUSTED"}}
    assert encoder.finish() == b"" and encoder.error(ApiError(500, ApiErrorType.API_ERROR, "again")) == b""


def test_json_array_stream_chunk_by_chunk() -> None:
    encoder = GeminiStreamEncoder(decoded("gemini-2.5-flash"), sse=False)
    assert encoder.content_type == "application/json"
    pieces = [encoder.start()]
    assert pieces[0] == b"["
    for chunk in TEXT_CHUNKS:
        pieces.append(encoder.feed(chunk))
    assert pieces[2].startswith(b",\r\n")
    pieces.append(encoder.finish())
    assert pieces[-1] == b"]"
    chunks = json.loads(b"".join(pieces))
    assert [c["modelVersion"] for c in chunks] == ["gemini-2.5-flash", "gemini-2.5-flash"]
    assert (
        "".join(types.GenerateContentResponse.model_validate(c).text or "" for c in chunks) == "Hello world"
    )


@pytest.mark.parametrize("chunks_before", [0, 1, 2])
def test_json_array_stream_error_is_the_last_element(chunks_before: int) -> None:
    encoder = GeminiStreamEncoder(decoded(), sse=False)
    data = encoder.start() + b"".join(encoder.feed(c) for c in TEXT_CHUNKS[:chunks_before])
    data += encoder.error(ApiError(503, ApiErrorType.OVERLOADED, "busy"))
    data += encoder.finish()
    elements = json.loads(data)
    assert len(elements) == chunks_before + 1
    assert elements[-1]["error"]["status"] == "UNAVAILABLE"


def test_json_array_stream_without_start_or_chunks() -> None:
    encoder = GeminiStreamEncoder(decoded(), sse=False)
    assert json.loads(encoder.finish()) == []
    late = GeminiStreamEncoder(decoded(), sse=False)
    assert json.loads(late.feed(TEXT_CHUNKS[0]) + late.finish())[0]["candidates"]


# ------------------------------------------------------------------------------------------ with google-genai


class ScriptedGemini:
    """A minimal Gemini-protocol server built from the adapter, answering scripted chunks."""

    def __init__(self) -> None:
        self.chunks = TEXT_CHUNKS
        self.fail_after: int | None = None
        self.received: list[Decoded[None]] = []

    async def generate(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["call"].partition(":")
        try:
            if method == "countTokens":
                counted = decode_count_tokens(await request.json(), model=model)
                self.received.append(counted)
                return web.json_response(encode_count_tokens(11))
            result = decode(await request.json(), model=model, stream=method == "streamGenerateContent")
        except ApiError as error:
            return web.json_response(error_body(error), status=error.status)
        self.received.append(result)
        if not result.stream:
            return web.json_response(encode(self.chunks[-1], result))
        encoder = GeminiStreamEncoder(result, sse=request.query.get("alt") == "sse")
        response = web.StreamResponse(headers={"Content-Type": encoder.content_type})
        await response.prepare(request)
        await response.write(encoder.start())
        for index, chunk in enumerate(self.chunks):
            if self.fail_after == index:
                await response.write(
                    encoder.error(ApiError(429, ApiErrorType.RATE_LIMIT, "quota gone", retry_after=2))
                )
                break
            await response.write(encoder.feed(chunk))
        else:
            await response.write(encoder.finish())
        await response.write_eof()
        return response

    async def models(self, _request: web.Request) -> web.Response:
        infos = [ModelInfo(id="gemini-2.5-pro", owned_by="google", display_name="Gemini 2.5 Pro")]
        return web.json_response(encode_models(infos))


@pytest.fixture
async def sdk_and_server() -> AsyncIterator[tuple[genai.Client, ScriptedGemini]]:
    scripted = ScriptedGemini()
    app = web.Application()
    app.router.add_post("/{version}/models/{call}", scripted.generate)
    app.router.add_get("/{version}/models", scripted.models)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = genai.Client(
        api_key="test-key", http_options=types.HttpOptions(base_url=f"http://127.0.0.1:{port}")
    )
    try:
        yield client, scripted
    finally:
        await client.aio.aclose()
        client.close()
        await runner.cleanup()


@pytest.mark.filterwarnings(SDK_WARNING)
async def test_google_genai_reads_the_sse_stream(sdk_and_server: tuple[genai.Client, ScriptedGemini]) -> None:
    client, scripted = sdk_and_server
    config = types.GenerateContentConfig(
        max_output_tokens=100,
        thinking_config=types.ThinkingConfig(thinking_budget=50, include_thoughts=True),
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(name="f", description="d")])],
    )
    stream = await client.aio.models.generate_content_stream(
        model="gemini-2.5-pro", contents="hi", config=config
    )
    received = [chunk async for chunk in stream]
    assert "".join(c.text or "" for c in received) == "Hello world"
    assert received[-1].function_calls is not None and received[-1].function_calls[0].name == "f"
    assert received[-1].usage_metadata is not None and received[-1].usage_metadata.prompt_token_count == 7
    (request,) = scripted.received
    assert request.stream and request.model == "gemini-2.5-pro"
    assert request.body["generationConfig"]["thinkingConfig"] == {
        "includeThoughts": True,
        "thinkingBudget": 50,
    }


@pytest.mark.filterwarnings(SDK_WARNING)
async def test_google_genai_raises_on_a_stream_error(
    sdk_and_server: tuple[genai.Client, ScriptedGemini],
) -> None:
    client, scripted = sdk_and_server
    scripted.fail_after = 1
    stream = await client.aio.models.generate_content_stream(model="gemini-2.5-pro", contents="hi")
    texts: list[str] = []
    with pytest.raises(genai_errors.ClientError) as caught:
        async for chunk in stream:
            texts.append(chunk.text or "")
    assert texts == ["Hello"]
    assert caught.value.code == 429 and caught.value.status == "RESOURCE_EXHAUSTED"


@pytest.mark.filterwarnings(SDK_WARNING)
async def test_google_genai_whole_reply_count_and_models(
    sdk_and_server: tuple[genai.Client, ScriptedGemini],
) -> None:
    client, _ = sdk_and_server
    reply = await client.aio.models.generate_content(model="models/gemini-2.5-pro", contents="hi")
    assert reply.text == " world" and reply.model_version == "gemini-2.5-pro"
    counted = await client.aio.models.count_tokens(model="gemini-2.5-pro", contents="count me")
    assert counted.total_tokens == 11
    listed = [model async for model in await client.aio.models.list()]
    assert [m.name for m in listed] == ["models/gemini-2.5-pro"]
    assert listed[0].display_name == "Gemini 2.5 Pro"
    assert listed[0].supported_actions == ["generateContent", "streamGenerateContent", "countTokens"]


@pytest.mark.filterwarnings(SDK_WARNING)
async def test_google_genai_gets_a_clear_400(sdk_and_server: tuple[genai.Client, ScriptedGemini]) -> None:
    client, _ = sdk_and_server
    bad = [types.Content(role="assistant", parts=[types.Part(text="x")])]
    with pytest.raises(genai_errors.ClientError) as caught:
        await client.aio.models.generate_content(model="gemini-2.5-pro", contents=bad)
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
    assert "contents[0].role" in (caught.value.message or "")
