"""End to end with the official SDKs: embeddings, images, speech and search grounding through the gateway."""

from __future__ import annotations

import base64
import io
import wave
from typing import Any

import openai
import pytest
from anthropic import AsyncAnthropic
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from openai import AsyncOpenAI

from tests.fake_google import TINY_PNG, Fault, _embedding
from tests.server.conftest import Gateway

pytestmark = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged:DeprecationWarning"
)

EMBEDDING = "gemini-embedding-001"
IMAGEN = "imagen-4.0-generate-001"
TTS = "gemini-2.5-flash-preview-tts"
IMAGE_CHAT = "gemini-3-pro-image-preview"
KEY_MODELS = [EMBEDDING, IMAGEN, TTS, "gemini-2.5-flash"]


def bodies(gateway: Gateway, method: str) -> list[dict[str, Any]]:
    return [call.body for call in gateway.fake.calls(method)]


# --- embeddings -----------------------------------------------------------------------------------------


async def test_openai_embeddings_batch_in_the_sdks_default_base64(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    key = await gateway.add_api_key(KEY_MODELS, "key-a")
    answer = await openai_client.embeddings.create(
        model="text-embedding-3-small", input=["first text", "second"]
    )
    assert [item.index for item in answer.data] == [0, 1]
    expected = [_embedding("first text", 8), _embedding("second", 8)]
    for item, vector in zip(answer.data, expected, strict=True):
        assert item.embedding == pytest.approx(vector, abs=1e-6)
    assert answer.model == "text-embedding-3-small" and answer.usage.prompt_tokens > 0
    (call,) = gateway.fake.calls("batchEmbedContents")
    assert call.who == key and call.model == EMBEDDING
    assert [r["content"]["parts"][0]["text"] for r in call.body["requests"]] == ["first text", "second"]


async def test_openai_embeddings_dimensions_and_float_format(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    await gateway.add_api_key(KEY_MODELS, "key-a")
    answer = await openai_client.embeddings.create(
        model=EMBEDDING, input="one text", dimensions=3, encoding_format="float"
    )
    assert answer.data[0].embedding == pytest.approx(_embedding("one text", 3), abs=1e-6)
    assert bodies(gateway, "batchEmbedContents")[0]["requests"][0]["outputDimensionality"] == 3


async def test_embeddings_without_an_api_key_account_say_one_is_needed(openai_client: AsyncOpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        await openai_client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert caught.value.status_code == 503
    assert "API key" in caught.value.message


async def test_embeddings_refuse_token_arrays(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    await gateway.add_api_key(KEY_MODELS, "key-a")
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.embeddings.create(model=EMBEDDING, input=[[1, 2, 3]])
    assert "token ids" in caught.value.message


async def test_a_rate_limited_key_rotates_to_the_next(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    first = await gateway.add_api_key(KEY_MODELS, "key-a")
    second = await gateway.add_api_key(KEY_MODELS, "key-b")
    fault = gateway.fake.inject(Fault("rate_limit", method="batchEmbedContents", times=1))
    answer = await openai_client.embeddings.create(
        model=EMBEDDING, input="rotate me", encoding_format="float"
    )
    assert answer.data[0].embedding == pytest.approx(_embedding("rotate me", 8), abs=1e-6)
    assert fault.fired == 1
    assert {call.who for call in gateway.fake.calls("batchEmbedContents")} == {first, second}


async def test_gemini_embed_content_passthrough(gateway: Gateway, genai_client: genai.Client) -> None:
    await gateway.add_api_key(KEY_MODELS, "key-a")
    answer = await genai_client.aio.models.embed_content(
        model=EMBEDDING,
        contents=["alpha", "beta"],
        config=types.EmbedContentConfig(output_dimensionality=4),
    )
    assert answer.embeddings is not None
    assert [e.values for e in answer.embeddings] == [
        pytest.approx(_embedding("alpha", 4), abs=1e-6),
        pytest.approx(_embedding("beta", 4), abs=1e-6),
    ]


async def test_gemini_embed_without_api_key_is_a_google_error(genai_client: genai.Client) -> None:
    with pytest.raises(genai_errors.APIError) as caught:
        await genai_client.aio.models.embed_content(model=EMBEDDING, contents="alpha")
    assert caught.value.code == 503 and caught.value.status == "UNAVAILABLE"
    assert "API key" in (caught.value.message or "")


# --- images ---------------------------------------------------------------------------------------------


async def test_openai_images_through_imagen(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    await gateway.add_api_key(KEY_MODELS, "key-a")
    answer = await openai_client.images.generate(model="dall-e-3", prompt="a red fox", n=2, size="1792x1024")
    assert answer.data is not None and len(answer.data) == 2
    assert all(base64.b64decode(item.b64_json or "")[:8] == b"\x89PNG\r\n\x1a\n" for item in answer.data)
    (call,) = gateway.fake.calls("predict")
    assert call.model == IMAGEN
    assert call.body["parameters"] == {"sampleCount": 2, "aspectRatio": "16:9"}
    assert call.body["instances"] == [{"prompt": "a red fox"}]


async def test_openai_images_through_an_image_chat_model(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    await gateway.add_google_account("painter@example.com", models={IMAGE_CHAT: 1.0})
    answer = await openai_client.images.generate(model=IMAGE_CHAT, prompt="a boat", n=2, size="1024x1536")
    assert answer.data is not None and [item.b64_json for item in answer.data] == [TINY_PNG, TINY_PNG]
    calls = gateway.fake.generate_calls()
    assert len(calls) == 2 and {c.model for c in calls} == {IMAGE_CHAT}
    config = calls[0].body["request"]["generationConfig"]
    assert config["responseModalities"] == ["TEXT", "IMAGE"]
    assert config["imageConfig"] == {"aspectRatio": "2:3", "imageSize": "2K"}


async def test_openai_images_refuse_more_than_four(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    await gateway.add_api_key(KEY_MODELS, "key-a")
    with pytest.raises(openai.BadRequestError):
        await openai_client.images.generate(model="dall-e-3", prompt="many", n=5)
    assert gateway.fake.calls("predict") == []


async def test_gemini_predict_passthrough(gateway: Gateway) -> None:
    # google-genai only calls :predict in Vertex mode, so this speaks the Gemini API's shape directly.
    await gateway.add_api_key(KEY_MODELS, "key-a")
    body = {
        "instances": [{"prompt": "a lighthouse"}],
        "parameters": {"sampleCount": 3, "aspectRatio": "9:16"},
    }
    url = f"{gateway.url}/v1beta/models/{IMAGEN}:predict"
    async with gateway.http.post(url, json=body, headers={"x-goog-api-key": gateway.key}) as response:
        assert response.status == 200
        answer = await response.json()
    assert [p["bytesBase64Encoded"] for p in answer["predictions"]] == [TINY_PNG] * 3
    (call,) = gateway.fake.calls("predict")
    assert call.body == body


async def test_gemini_predict_without_api_key_is_a_google_error(gateway: Gateway) -> None:
    body = {"instances": [{"prompt": "a lighthouse"}]}
    url = f"{gateway.url}/v1beta/models/{IMAGEN}:predict"
    async with gateway.http.post(url, json=body, headers={"x-goog-api-key": gateway.key}) as response:
        assert response.status == 503
        error = (await response.json())["error"]
    assert error["status"] == "UNAVAILABLE" and "API key" in error["message"]


async def test_model_name_suffixes_set_the_image_config(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    await gateway.add_google_account("painter@example.com", models={IMAGE_CHAT: 1.0})
    answer = await openai_client.chat.completions.create(
        model=f"{IMAGE_CHAT}-16x9-4k", messages=[{"role": "user", "content": "draw"}]
    )
    content = answer.choices[0].message.content or ""
    assert f"![image](data:image/png;base64,{TINY_PNG})" in content
    (call,) = gateway.fake.generate_calls()
    assert call.model == IMAGE_CHAT
    assert call.body["request"]["generationConfig"]["imageConfig"] == {
        "aspectRatio": "16:9",
        "imageSize": "4K",
    }


async def test_openai_chat_images_as_content_parts(gateway: Gateway) -> None:
    gateway.services.settings.server.image_output = "part"
    await gateway.add_google_account("painter@example.com", models={IMAGE_CHAT: 1.0})
    body = {"model": IMAGE_CHAT, "messages": [{"role": "user", "content": "draw"}]}
    async with gateway.http.post(
        f"{gateway.url}/v1/chat/completions", json=body, headers=gateway.headers()
    ) as r:
        assert r.status == 200
        message = (await r.json())["choices"][0]["message"]
    assert message["content"] == [
        {"type": "text", "text": "Here is your image."},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{TINY_PNG}"}},
    ]


async def test_claude_gets_generated_images_as_image_blocks(gateway: Gateway, claude: AsyncAnthropic) -> None:
    await gateway.add_google_account("painter@example.com", models={IMAGE_CHAT: 1.0})
    message = await claude.messages.create(
        model=IMAGE_CHAT, max_tokens=100, messages=[{"role": "user", "content": "draw"}]
    )
    kinds = [block.type for block in message.content]
    assert kinds == ["text", "image"]
    image: Any = message.content[1].model_dump()  # the SDK's response types have no image block: left raw
    assert image["source"] == {"type": "base64", "media_type": "image/png", "data": TINY_PNG}


# --- speech ---------------------------------------------------------------------------------------------


async def test_openai_speech_is_a_wav_of_the_upstream_pcm(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    await gateway.add_api_key(KEY_MODELS, "key-a")
    response = await openai_client.audio.speech.create(
        model="tts-1", voice="alloy", input="Hello there", response_format="wav"
    )
    audio = await response.aread()
    with wave.open(io.BytesIO(audio)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24_000)
        assert wav.getnframes() == 2400  # the fake's 0.1 s
    (call,) = gateway.fake.generate_calls()
    assert call.model == TTS
    config = call.body["generationConfig"]
    assert config["responseModalities"] == ["AUDIO"]
    assert config["speechConfig"] == {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}}


async def test_openai_speech_two_speakers_and_gemini_voice_names(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    await gateway.add_api_key(KEY_MODELS, "key-a")
    response = await openai_client.audio.speech.create(
        model=TTS,
        voice="puck",
        input="Joe: Hi!\nJane: Hello!",
        response_format="pcm",
        extra_body={"speakers": {"Joe": "Charon", "Jane": "nova"}},
    )
    assert len(await response.aread()) == 4800  # 2400 16-bit samples, no header
    speakers = bodies(gateway, "generateContent")[0]["generationConfig"]["speechConfig"]
    voices = [
        s["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"]
        for s in speakers["multiSpeakerVoiceConfig"]["speakerVoiceConfigs"]
    ]
    assert voices == ["Charon", "Leda"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [({"response_format": "mp3"}, "mp3"), ({"voice": "nobody"}, "Unknown voice")],
)
async def test_openai_speech_refusals(
    gateway: Gateway, openai_client: AsyncOpenAI, params: dict[str, Any], fragment: str
) -> None:
    await gateway.add_api_key(KEY_MODELS, "key-a")
    arguments: dict[str, Any] = {"model": "tts-1", "voice": "alloy", "input": "Hi"} | params
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.audio.speech.create(**arguments)
    assert fragment in caught.value.message
    assert gateway.fake.generate_calls() == []


async def test_gemini_tts_passthrough_with_two_speakers(gateway: Gateway, genai_client: genai.Client) -> None:
    await gateway.add_api_key(KEY_MODELS, "key-a")
    speakers = [
        types.SpeakerVoiceConfig(
            speaker=name,
            voice_config=types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=voice)),
        )
        for name, voice in (("Joe", "Kore"), ("Jane", "Puck"))
    ]
    config = types.GenerateContentConfig(
        response_modalities=["AUDIO"],
        speech_config=types.SpeechConfig(
            multi_speaker_voice_config=types.MultiSpeakerVoiceConfig(speaker_voice_configs=speakers)
        ),
    )
    answer = await genai_client.aio.models.generate_content(
        model=TTS, contents="Joe: Hi\nJane: Hey", config=config
    )
    part = answer.candidates[0].content.parts[0]  # type: ignore[index, union-attr]
    assert part.inline_data is not None and part.inline_data.mime_type.startswith("audio/L16")  # type: ignore[union-attr]
    sent = bodies(gateway, "generateContent")[0]["generationConfig"]["speechConfig"]
    assert [s["speaker"] for s in sent["multiSpeakerVoiceConfig"]["speakerVoiceConfigs"]] == ["Joe", "Jane"]


# --- search grounding -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_openai_search_model_suffix_gives_url_citations(
    gateway: Gateway, openai_client: AsyncOpenAI, stream: bool
) -> None:
    messages: Any = [{"role": "user", "content": "weather in Paris"}]
    if stream:
        chunks = [
            chunk
            async for chunk in await openai_client.chat.completions.create(
                model="gemini-3-flash-search", messages=messages, stream=True
            )
        ]
        content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        annotations = [
            a for c in chunks if c.choices for a in (getattr(c.choices[0].delta, "annotations", None) or [])
        ]
        annotations = [a if isinstance(a, dict) else a.model_dump() for a in annotations]
    else:
        answer = await openai_client.chat.completions.create(model="gemini-3-flash-search", messages=messages)
        content = answer.choices[0].message.content or ""
        annotations = [a.model_dump() for a in answer.choices[0].message.annotations or []]
    assert content == "Echo: weather in Paris"
    cited = annotations[0]["url_citation"]
    assert content[cited["start_index"] : cited["end_index"]] == "weather in Paris"
    assert cited["url"].startswith("https://news.example/")
    assert annotations[1]["url_citation"]["url"].startswith("https://wiki.example/")
    method = "streamGenerateContent"  # non-streaming requests to these models go up as streams too
    (call,) = gateway.fake.calls(method)
    assert call.model == "gemini-3-flash" and call.body["request"]["tools"] == [{"googleSearch": {}}]


async def test_openai_web_search_tool_never_goes_up_with_functions(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    function: Any = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    await openai_client.chat.completions.create(
        model="gemini-3-flash",
        messages=[{"role": "user", "content": "hi"}],
        tools=[{"type": "web_search"}, function],  # type: ignore[list-item]
    )
    tools = bodies(gateway, "streamGenerateContent")[0]["request"]["tools"]
    assert tools == [{"functionDeclarations": [{"name": "lookup", "parameters": {"type": "object"}}]}]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.usefixtures("gateway")
async def test_claude_web_search_tool_gives_citations(claude: AsyncAnthropic, stream: bool) -> None:
    params: Any = {
        "model": "gemini-3-flash",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "news about Lyon"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}],
    }
    if stream:
        async with claude.messages.stream(**params) as events:
            message = await events.get_final_message()
    else:
        message = await claude.messages.create(**params)
    blocks = {block.type: block for block in message.content}
    assert set(blocks) == {"server_tool_use", "web_search_tool_result", "text"}
    results: Any = blocks["web_search_tool_result"]
    assert [r.url.split("/")[2] for r in results.content] == ["news.example", "wiki.example"]
    text: Any = blocks["text"]
    assert text.text == "Echo: news about Lyon"
    assert [(c.cited_text, c.url.split("/")[2]) for c in text.citations] == [
        ("news about Lyon", "news.example")
    ]


@pytest.mark.usefixtures("gateway")
async def test_gemini_google_search_passes_grounding_through(genai_client: genai.Client) -> None:
    answer = await genai_client.aio.models.generate_content(
        model="gemini-3-flash",
        contents="what happened today",
        config=types.GenerateContentConfig(tools=[types.Tool(google_search=types.GoogleSearch())]),
    )
    grounding = answer.candidates[0].grounding_metadata  # type: ignore[index]
    assert grounding is not None and grounding.web_search_queries == ["what happened today"]
    assert len(grounding.grounding_chunks or []) == 2


# --- model lists ----------------------------------------------------------------------------------------


async def test_model_lists_say_what_each_model_can_do(
    gateway: Gateway, openai_client: AsyncOpenAI, genai_client: genai.Client
) -> None:
    await gateway.add_api_key(KEY_MODELS, "key-a")
    listed = {model.id: model.model_dump() for model in (await openai_client.models.list()).data}
    assert listed[EMBEDDING]["capabilities"] == ["embeddings"]
    assert listed[IMAGEN]["capabilities"] == ["images"]
    assert listed[TTS]["capabilities"] == ["speech"]
    assert "chat" in listed["gemini-2.5-flash"]["capabilities"]
    methods = {m.name: m.supported_actions async for m in await genai_client.aio.models.list()}
    assert methods[f"models/{IMAGEN}"] == ["predict"]
    assert methods[f"models/{EMBEDDING}"] == ["embedContent", "batchEmbedContents"]
    assert "generateContent" in (methods[f"models/{TTS}"] or [])
