"""OpenAI media request checks and answer shapes, and search citations in OpenAI's and Claude's forms."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

from core.errors import ApiError
from core.media import GeneratedImage
from server.anthropic.decode import MessagesOptions
from server.anthropic.encode import encode as claude_encode
from server.openai.encode import url_citations
from server.openai_media.translate import (
    OPENAI_VOICES,
    decode_embeddings,
    decode_images,
    decode_speech,
    encode_embeddings,
    encode_images,
    gemini_voice_for,
    is_generic_name,
)
from server.protocol import Decoded
from tests.fake_google import TTS_VOICES


def test_base64_embeddings_are_little_endian_float32() -> None:
    body = encode_embeddings([[0.5, -1.25]], "m", "base64", 3)
    raw = base64.b64decode(body["data"][0]["embedding"])
    assert struct.unpack("<2f", raw) == (0.5, -1.25)
    assert body["usage"] == {"prompt_tokens": 3, "total_tokens": 3}


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": "m", "input": []}, "input"),
        ({"model": "m", "input": ["ok", ""]}, "input"),
        ({"model": "m", "input": [1, 2]}, "input"),
        ({"model": "m", "input": "x", "dimensions": 0}, "dimensions"),
        ({"model": "m", "input": "x", "encoding_format": "int8"}, "encoding_format"),
    ],
)
def test_embedding_requests_refused_with_the_field(payload: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as caught:
        decode_embeddings(payload)
    assert caught.value.status == 400 and caught.value.param == param


def test_image_requests_read_size_and_count() -> None:
    decoded = decode_images({"prompt": "p", "n": 3, "size": "1536x1024"})
    assert (decoded.model, decoded.count, decoded.aspect_ratio, decoded.image_size) == (None, 3, "3:2", "2K")
    assert decode_images({"prompt": "p", "size": "auto"}).aspect_ratio is None
    for bad in ({"prompt": ""}, {"prompt": "p", "n": 5}, {"prompt": "p", "size": "big"}):
        with pytest.raises(ApiError):
            decode_images(bad)
    urls = encode_images([GeneratedImage("QUJD", "image/jpeg")], "url")["data"]
    assert urls == [{"url": "data:image/jpeg;base64,QUJD"}]


def test_speech_requests_default_to_wav_and_fold_instructions_into_the_text() -> None:
    decoded = decode_speech({"model": "tts-1", "input": "Hello", "voice": "nova", "instructions": "Whisper:"})
    assert (decoded.response_format, decoded.text, decoded.voice) == (
        "wav",
        "Whisper: Hello",
        OPENAI_VOICES["nova"],
    )
    with pytest.raises(ApiError, match="encoder"):
        decode_speech({"model": "tts-1", "input": "Hello", "response_format": "opus"})
    with pytest.raises(ApiError):
        decode_speech({"model": "tts-1", "input": "Hi", "speakers": {"a": "Kore", "b": "Puck", "c": "Leda"}})


def test_openai_voices_map_to_voices_gemini_knows() -> None:
    assert set(OPENAI_VOICES.values()) <= TTS_VOICES  # the fake's list is written from Google's documentation
    assert gemini_voice_for("ALLOY") == OPENAI_VOICES["alloy"] and gemini_voice_for("puck") == "Puck"
    assert gemini_voice_for(None) is None
    with pytest.raises(ApiError) as caught:
        gemini_voice_for("robot")
    assert caught.value.status == 400 and caught.value.param == "voice"
    speakers = decode_speech(
        {"model": "tts-1", "input": "Hi", "speakers": {"A": "Kore", "B": "onyx"}}
    ).speakers
    assert speakers == {"A": "Kore", "B": OPENAI_VOICES["onyx"]}


def test_openai_generic_model_names_by_capability() -> None:
    assert is_generic_name("text-embedding-3-large", "embeddings") and is_generic_name("tts-1-hd", "speech")
    assert is_generic_name("dall-e-3", "images") and not is_generic_name("dall-e-3", "speech")
    assert not is_generic_name("gemini-embedding-001", "speech")


GROUNDING = {
    "webSearchQueries": ["café"],
    "groundingChunks": [
        {"web": {"uri": "https://a.example/1", "title": "a"}},
        {"web": {"uri": "https://b.example/2"}},
    ],
    "groundingSupports": [
        # Byte offsets: "Café " is 6 bytes in UTF-8 but 5 characters.
        {"segment": {"startIndex": 6, "endIndex": 11}, "groundingChunkIndices": [0]},
    ],
}


def test_url_citations_convert_byte_offsets_to_characters() -> None:
    content = "Café ouvre à 8h"
    first, second = url_citations(GROUNDING, content)
    span = first["url_citation"]
    assert content[span["start_index"] : span["end_index"]] == "ouvre"
    assert second["url_citation"] == {
        "start_index": 0,
        "end_index": len(content),
        "url": "https://b.example/2",
        "title": "https://b.example/2",
    }
    assert url_citations(None, content) == []


def test_claude_message_carries_the_search_and_its_citations() -> None:
    segment = {"text": "ouvre à 8h", "startIndex": 6, "endIndex": 18}
    grounding = {**GROUNDING, "groundingSupports": [{"segment": segment, "groundingChunkIndices": [0, 1]}]}
    response = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "Café ouvre à 8h"}]},
                "finishReason": "STOP",
                "groundingMetadata": grounding,
            }
        ]
    }
    message = claude_encode(response, Decoded(model="m", body={}, stream=False, options=MessagesOptions()))
    use, result, text = message["content"]
    assert use["type"] == "server_tool_use" and use["input"] == {"query": "café"}
    assert result["tool_use_id"] == use["id"]
    assert [r["url"] for r in result["content"]] == ["https://a.example/1", "https://b.example/2"]
    assert [(c["url"], c["cited_text"]) for c in text["citations"]] == [
        ("https://a.example/1", "ouvre à 8h"),
        ("https://b.example/2", "ouvre à 8h"),
    ]
