"""core.media: model-name settings, capabilities, voices, WAV framing, and the API-key-only pool calls."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.errors import ApiError
from core.media import (
    GEMINI_VOICES,
    Media,
    Speech,
    aspect_ratio_for,
    gemini_voice,
    image_size_for,
    speech_config,
)
from core.models import apply_model_suffixes, capabilities_of
from core.services import Services, create_services
from tests.fake_google import ANY_GENERATE, TTS_VOICES, FakeGoogle, Fault, _embedding

EMBEDDING = "gemini-embedding-001"
TTS = "gemini-2.5-flash-preview-tts"

# --- suffixes -------------------------------------------------------------------------------------------

BODY = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_search_suffix_adds_google_search_once() -> None:
    model, body = apply_model_suffixes("gemini-2.5-flash-search", {**BODY, "tools": [{"googleSearch": {}}]})
    assert model == "gemini-2.5-flash" and body["tools"] == [{"googleSearch": {}}]
    model, body = apply_model_suffixes("gpt-4o-search-preview", BODY)
    assert model == "gpt-4o" and body["tools"] == [{"googleSearch": {}}]
    assert "tools" not in BODY  # the caller's body is left alone


def test_image_suffixes_in_any_order_and_the_clients_own_settings_win() -> None:
    model, body = apply_model_suffixes("gemini-3-pro-image-preview-4k-16x9", BODY)
    assert model == "gemini-3-pro-image-preview"
    assert body["generationConfig"]["imageConfig"] == {"aspectRatio": "16:9", "imageSize": "4K"}
    own = {**BODY, "generationConfig": {"imageConfig": {"aspectRatio": "1:1"}, "temperature": 0.5}}
    _, body = apply_model_suffixes("gemini-2.5-flash-image-21x9-search", own)
    assert body["generationConfig"] == {"imageConfig": {"aspectRatio": "1:1"}, "temperature": 0.5}
    assert body["tools"] == [{"googleSearch": {}}]


@pytest.mark.parametrize("name", ["gemini-2.5-flash", "gemini-2.5-flash-16x9", "gemini-image-7x3", "-search"])
def test_names_without_a_meaningful_suffix_are_unchanged(name: str) -> None:
    model, body = apply_model_suffixes(name, BODY)
    assert (model, body) == (name, BODY)


@pytest.mark.parametrize(
    ("size", "ratio", "image_size"),
    [
        ((1024, 1024), "1:1", "1K"),
        ((1792, 1024), "16:9", "2K"),
        ((1024, 1536), "2:3", "2K"),
        ((4096, 1755), "21:9", "4K"),
    ],
)
def test_sizes_map_to_the_nearest_ratio(size: tuple[int, int], ratio: str, image_size: str) -> None:
    assert aspect_ratio_for(*size) == ratio and image_size_for(*size) == image_size


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gemini-embedding-001", ("embeddings",)),
        ("imagen-4.0-generate-001", ("images",)),
        ("gemini-2.5-flash-preview-tts", ("speech",)),
        ("gemini-3-pro-image-preview", ("chat", "images")),
        ("models/gemini-2.5-pro", ("chat",)),
    ],
)
def test_capabilities_from_the_model_id(model: str, expected: tuple[str, ...]) -> None:
    assert capabilities_of(model) == expected


# --- voices and audio -----------------------------------------------------------------------------------


def test_gemini_voices_are_the_documented_ones_in_any_case() -> None:
    assert set(GEMINI_VOICES) == TTS_VOICES  # the fake's list is written from Google's documentation
    assert gemini_voice("puck") == "Puck" and gemini_voice(None) == "Kore"
    with pytest.raises(ApiError) as caught:
        gemini_voice("alloy")  # OpenAI's names are the OpenAI adapter's business
    assert caught.value.status == 400 and "Gemini voice" in caught.value.message


def test_speech_config_single_and_two_speakers() -> None:
    assert speech_config("charon") == {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Charon"}}}
    multi = speech_config(speakers={"A": "Kore", "B": "fenrir"})["multiSpeakerVoiceConfig"][
        "speakerVoiceConfigs"
    ]
    assert [(s["speaker"], s["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"]) for s in multi] == [
        ("A", "Kore"),
        ("B", "Fenrir"),
    ]
    with pytest.raises(ApiError):
        speech_config(speakers={"A": "Kore", "B": "Puck", "C": "Leda"})


def test_wav_wraps_the_pcm_samples() -> None:
    pcm = bytes(range(256)) * 4
    with wave.open(io.BytesIO(Speech(pcm, 16_000).wav())) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16_000)
        assert wav.readframes(wav.getnframes()) == pcm


# --- the pool -------------------------------------------------------------------------------------------


@pytest.fixture
async def services(fake_google: FakeGoogle, tmp_path: Path) -> AsyncIterator[Services]:
    built = await create_services(fake_google.settings(tmp_path), use_keyring=False)
    try:
        yield built
    finally:
        await built.close()


def media(services: Services) -> Media:
    return Media(services.gateway, services.gemini_api)


async def test_embed_batches_of_a_hundred(services: Services, fake_google: FakeGoogle) -> None:
    await services.accounts.add_api_key(fake_google.add_api_key(models=[EMBEDDING]), label="k")
    texts = [f"text {n}" for n in range(230)]
    vectors = await media(services).embed(EMBEDDING, texts, dimensions=2)
    assert vectors == [pytest.approx(_embedding(text, 2), abs=1e-6) for text in texts]
    assert [len(call.body["requests"]) for call in fake_google.calls("batchEmbedContents")] == [100, 100, 30]


async def test_google_accounts_are_never_asked_for_embeddings(
    services: Services, fake_google: FakeGoogle
) -> None:
    account = fake_google.add_google_account("g@example.com", models={EMBEDDING: 1.0})
    await services.accounts.add_google(account.refresh_token)
    with pytest.raises(ApiError) as caught:
        await media(services).embed(EMBEDDING, ["x"])
    assert caught.value.status == 503 and "Gemini API key account" in caught.value.message
    assert fake_google.calls("batchEmbedContents") == []


async def test_a_key_without_the_model_is_a_404_naming_what_keys_offer(
    services: Services, fake_google: FakeGoogle
) -> None:
    await services.accounts.add_api_key(fake_google.add_api_key(models=["gemini-2.5-flash"]), label="k")
    with pytest.raises(ApiError) as caught:
        await media(services).predict("imagen-4.0-generate-001", {"instances": [{"prompt": "x"}]})
    assert caught.value.status == 404 and "gemini-2.5-flash" in caught.value.message


async def test_quota_on_every_key_is_a_429_after_trying_each(
    services: Services, fake_google: FakeGoogle
) -> None:
    keys = [fake_google.add_api_key(models=[TTS]) for _ in range(2)]
    for number, key in enumerate(keys):
        await services.accounts.add_api_key(key, label=f"k{number}")
    fake_google.inject(Fault("quota", method=ANY_GENERATE, times=2))
    with pytest.raises(ApiError) as caught:
        await media(services).speech(TTS, "hello", voice="Kore")
    assert caught.value.status == 429
    assert {call.who for call in fake_google.calls("generateContent")} == set(keys)


async def test_model_for_prefers_what_accounts_offer(services: Services, fake_google: FakeGoogle) -> None:
    helper = media(services)
    assert helper.model_for(None, "embeddings") == EMBEDDING  # nothing offered yet: the name that would do
    key = fake_google.add_api_key(
        models=["text-embedding-004", "imagen-3.0-generate-002", "gemini-2.5-pro-preview-tts"]
    )
    await services.accounts.add_api_key(key, label="k")
    assert helper.model_for(None, "embeddings") == "text-embedding-004"
    assert helper.model_for(None, "images") == "imagen-3.0-generate-002"
    assert helper.model_for(None, "speech") == "gemini-2.5-pro-preview-tts"
    assert helper.model_for("my-own-model", "speech") == "my-own-model"
    assert helper.serves("text-embedding-004", "embeddings") and not helper.serves(
        "text-embedding-004", "speech"
    )


async def test_speech_reads_the_pcm_rate(services: Services, fake_google: FakeGoogle) -> None:
    await services.accounts.add_api_key(fake_google.add_api_key(models=[TTS]), label="k")
    speech = await media(services).speech(TTS, "hello", speakers={"A": "Kore", "B": "Puck"})
    assert speech.sample_rate == 24_000 and len(speech.pcm) == 4800
