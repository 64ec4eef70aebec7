"""OpenAI media request bodies checked and read, and their answers shaped (embeddings, images, speech)."""

from __future__ import annotations

import base64
import re
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import invalid_request
from core.media import GEMINI_VOICES, MAX_IMAGES, GeneratedImage, aspect_ratio_for, image_size_for
from core.types import JSON
from server.embeddings import GENERIC_EMBEDDING_PREFIXES

MAX_EMBEDDING_INPUTS = 2048  # OpenAI's own limit per request
MAX_SPEECH_CHARS = 4096  # OpenAI's limit on `input`
ENCODING_FORMATS = ("float", "base64")
SPEECH_FORMATS = {"wav": "audio/wav", "pcm": "audio/pcm"}
# Formats OpenAI offers that would need an audio encoder this app does not ship.
UNSUPPORTED_SPEECH_FORMATS = ("mp3", "opus", "aac", "flac")
_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")

# OpenAI's model families per capability: names that mean "whichever model does this" when no account
# serves them as named (text-embedding-3-small, dall-e-3, tts-1, ...).
OPENAI_FAMILIES: dict[str, tuple[str, ...]] = {
    "embeddings": GENERIC_EMBEDDING_PREFIXES,
    "images": ("dall-e", "gpt-image", "chatgpt-image"),
    "speech": ("tts-", "gpt-4o-mini-tts", "gpt-4o-tts"),
}
# OpenAI's voices mapped to a Gemini voice of a similar character (Google's own descriptions: Kore firm,
# Puck upbeat, Charon informative, Fenrir excitable, Aoede breezy, Leda youthful, ...).
OPENAI_VOICES: dict[str, str] = {
    "alloy": "Kore",
    "ash": "Orus",
    "ballad": "Algieba",
    "coral": "Aoede",
    "echo": "Charon",
    "fable": "Puck",
    "onyx": "Fenrir",
    "nova": "Leda",
    "sage": "Sulafat",
    "shimmer": "Zephyr",
    "verse": "Enceladus",
    "marin": "Despina",
    "cedar": "Iapetus",
}


@dataclass(frozen=True)
class EmbeddingsRequest:
    model: str
    texts: list[str]
    dimensions: int | None
    encoding_format: str


@dataclass(frozen=True)
class ImagesRequest:
    model: str | None
    prompt: str
    count: int
    aspect_ratio: str | None
    image_size: str | None
    response_format: str


@dataclass(frozen=True)
class SpeechRequest:
    model: str
    text: str
    voice: str | None  # a Gemini voice (OpenAI's names mapped), None for the default
    speakers: dict[str, str] | None  # speaker name -> Gemini voice
    response_format: str


def is_generic_name(model: str, capability: str) -> bool:
    """Whether an OpenAI model name only means "a model that can do `capability`" (`tts-1`, `dall-e-3`)."""
    return model.lower().removeprefix("models/").startswith(OPENAI_FAMILIES[capability])


def gemini_voice_for(voice: str | None, param: str = "voice") -> str | None:
    """The Gemini voice for an OpenAI voice name or a Gemini one (any case); None for none; 400 otherwise."""
    if not voice:
        return None
    lowered = voice.strip().lower()
    if lowered in OPENAI_VOICES:
        return OPENAI_VOICES[lowered]
    for name in GEMINI_VOICES:
        if name.lower() == lowered:
            return name
    raise invalid_request(
        f"Unknown voice {voice[:40]!r}: use one of OpenAI's ({', '.join(OPENAI_VOICES)}) "
        f"or a Gemini voice ({', '.join(GEMINI_VOICES)}).",
        param,
    )


def _object(payload: object) -> JSON:
    if not isinstance(payload, dict):
        raise invalid_request("Request body must be a JSON object.")
    return payload


def _model(payload: JSON, *, required: bool = True) -> str | None:
    model = payload.get("model")
    if model is None and not required:
        return None
    if not isinstance(model, str) or not model:
        raise invalid_request("'model' is required and must be a non-empty string.", "model")
    return model


def _positive_int(payload: JSON, key: str) -> int | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid_request(f"'{key}' must be a positive integer.", key)
    return value


# --- embeddings -----------------------------------------------------------------------------------------


def decode_embeddings(payload: object) -> EmbeddingsRequest:
    body = _object(payload)
    model = _model(body)
    assert model is not None
    raw = body.get("input")
    if isinstance(raw, str):
        texts = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(item, str) for item in raw):
        texts = list(raw)
    elif isinstance(raw, list) and raw and all(isinstance(item, int | list) for item in raw):
        raise invalid_request(
            "'input' as token ids is not supported: Gemini embeds text. Send strings.", "input"
        )
    else:
        raise invalid_request("'input' must be a string or a non-empty array of strings.", "input")
    if len(texts) > MAX_EMBEDDING_INPUTS:
        raise invalid_request(f"'input' may hold at most {MAX_EMBEDDING_INPUTS} texts.", "input")
    for index, text in enumerate(texts):
        if not text:
            raise invalid_request(f"input[{index}] is empty; every text must have content.", "input")
    encoding_format = body.get("encoding_format") or "float"
    if encoding_format not in ENCODING_FORMATS:
        raise invalid_request("'encoding_format' must be 'float' or 'base64'.", "encoding_format")
    return EmbeddingsRequest(model, texts, _positive_int(body, "dimensions"), encoding_format)


def _base64_floats(vector: Sequence[float]) -> str:
    """OpenAI's base64 encoding: the vector as little-endian float32."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def encode_embeddings(
    vectors: list[list[float]], model: str, encoding_format: str, prompt_tokens: int
) -> JSON:
    data = [
        {
            "object": "embedding",
            "index": index,
            "embedding": _base64_floats(vector) if encoding_format == "base64" else vector,
        }
        for index, vector in enumerate(vectors)
    ]
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


# --- images ---------------------------------------------------------------------------------------------


def decode_images(payload: object) -> ImagesRequest:
    body = _object(payload)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid_request("'prompt' is required and must be a non-empty string.", "prompt")
    count = _positive_int(body, "n") or 1
    if count > MAX_IMAGES:
        raise invalid_request(f"'n' must be between 1 and {MAX_IMAGES}.", "n")
    aspect_ratio = image_size = None
    size = body.get("size")
    if size is not None and size != "auto":
        match = _SIZE.match(size) if isinstance(size, str) else None
        if match is None or int(match.group(1)) == 0 or int(match.group(2)) == 0:
            raise invalid_request(
                "'size' must be 'auto' or WIDTHxHEIGHT, like 1024x1024 or 1792x1024.", "size"
            )
        width, height = int(match.group(1)), int(match.group(2))
        aspect_ratio, image_size = aspect_ratio_for(width, height), image_size_for(width, height)
    response_format = body.get("response_format") or "b64_json"
    if response_format not in ("b64_json", "url"):
        raise invalid_request("'response_format' must be 'b64_json' or 'url'.", "response_format")
    return ImagesRequest(
        _model(body, required=False), prompt, count, aspect_ratio, image_size, response_format
    )


def encode_images(images: list[GeneratedImage], response_format: str) -> JSON:
    """OpenAI's image list; `url` answers carry data URLs (nothing is hosted anywhere)."""
    data = []
    for image in images:
        item: JSON = (
            {"url": f"data:{image.mime_type};base64,{image.data}"}
            if response_format == "url"
            else {"b64_json": image.data}
        )
        if image.revised_prompt:
            item["revised_prompt"] = image.revised_prompt
        data.append(item)
    return {"created": int(time.time()), "data": data}


# --- speech ---------------------------------------------------------------------------------------------


def decode_speech(payload: object) -> SpeechRequest:
    body = _object(payload)
    model = _model(body)
    assert model is not None
    text = body.get("input")
    if not isinstance(text, str) or not text.strip():
        raise invalid_request("'input' is required and must be a non-empty string.", "input")
    if len(text) > MAX_SPEECH_CHARS:
        raise invalid_request(f"'input' may be at most {MAX_SPEECH_CHARS} characters.", "input")
    voice = body.get("voice")
    if isinstance(voice, dict):  # newer SDKs accept {"id": "voice_..."} custom voices
        voice = voice.get("id")
    if voice is not None and not isinstance(voice, str):
        raise invalid_request("'voice' must be a string.", "voice")
    response_format = body.get("response_format") or "wav"  # OpenAI defaults to mp3, which needs an encoder
    if response_format in UNSUPPORTED_SPEECH_FORMATS:
        raise invalid_request(
            f"response_format '{response_format}' is not available: Gravity Desk ships no audio encoder. "
            "Use 'wav' (24 kHz 16-bit mono) or 'pcm' (the same samples without a header).",
            "response_format",
        )
    if response_format not in SPEECH_FORMATS:
        raise invalid_request("'response_format' must be 'wav' or 'pcm'.", "response_format")
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise invalid_request("'instructions' must be a string.", "instructions")
    if instructions and instructions.strip():
        # Gemini TTS takes its direction in the prompt itself ("Say cheerfully: ...").
        text = f"{instructions.strip().rstrip(':')}: {text}"
    return SpeechRequest(
        model, text, gemini_voice_for(voice), _speakers(body.get("speakers")), response_format
    )


def _speakers(raw: object) -> dict[str, str] | None:
    """Gravity Desk's extension for two-speaker speech: {"speaker name": "voice", ...} (at most two)."""
    if raw is None:
        return None
    if (
        not isinstance(raw, dict)
        or not raw
        or len(raw) > 2
        or not all(isinstance(k, str) and k and isinstance(v, str) for k, v in raw.items())
    ):
        raise invalid_request(
            "'speakers' must map one or two speaker names (as they appear in the input) to voices.",
            "speakers",
        )
    return {speaker: gemini_voice_for(voice, "speakers") or "" for speaker, voice in raw.items()}
