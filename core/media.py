"""Embeddings, image generation and speech on the account pool.

Embeddings (`embedContent` / `batchEmbedContents`), Imagen (`predict`) and TTS are served by Gemini API key
accounts only (Google sign-in accounts have no such methods); every call goes through the gateway's
failover (`Gateway.call_with_failover`), so a 429 on one key moves on to the next, as for chat.

The settings carried in model names (`-search`, `-16x9`, `-4k`) and what a model can do are in core/models.py.
"""

from __future__ import annotations

import asyncio
import base64
import io
import math
import re
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import ApiError, ApiErrorType, invalid_request
from core.gemini_api import GeminiApiClient
from core.models import ASPECT_RATIOS, capabilities_of, is_imagen
from core.types import JSON, Account, AccountKind

if TYPE_CHECKING:  # the gateway imports this module for the suffixes
    from core.gateway import Gateway
    from core.types import LogEntry

API_KEYS_ONLY = frozenset({AccountKind.API_KEY})

MAX_IMAGES = 4  # Imagen's sampleCount limit, and OpenAI's `n` as this gateway serves it
EMBED_BATCH_LIMIT = 100  # batchEmbedContents takes at most 100 requests per call
CHARS_PER_TOKEN = 4

_PCM_RATE = re.compile(r"rate=(\d+)")

# Preferred models when a client names no model of its own (or a generic name its protocol adapter knows).
_PREFERRED: dict[str, tuple[str, ...]] = {
    "embeddings": ("gemini-embedding-001", "text-embedding-004"),
    "images": ("imagen-4.0-generate-001", "imagen-3.0-generate-002"),
    "speech": ("gemini-2.5-flash-preview-tts", "gemini-2.5-pro-preview-tts"),
}
# Gemini's prebuilt TTS voices (any of them may be named directly, in any case).
GEMINI_VOICES = [
    "Zephyr",
    "Puck",
    "Charon",
    "Kore",
    "Fenrir",
    "Leda",
    "Orus",
    "Aoede",
    "Callirrhoe",
    "Autonoe",
    "Enceladus",
    "Iapetus",
    "Umbriel",
    "Algieba",
    "Despina",
    "Erinome",
    "Algenib",
    "Rasalgethi",
    "Laomedeia",
    "Achernar",
    "Alnilam",
    "Schedar",
    "Gacrux",
    "Pulcherrima",
    "Achird",
    "Zubenelgenubi",
    "Vindemiatrix",
    "Sadachbia",
    "Sadaltager",
    "Sulafat",
]
DEFAULT_VOICE = "Kore"


def aspect_ratio_for(width: int, height: int) -> str:
    """The supported aspect ratio nearest to width:height (1792x1024 -> 16:9)."""
    wanted = math.log(width / height)

    def distance(ratio: str) -> float:
        w, h = ratio.split(":")
        return abs(math.log(int(w) / int(h)) - wanted)

    return min(ASPECT_RATIOS, key=distance)


def image_size_for(width: int, height: int) -> str:
    """1K up to 1024 px on the long side, 2K up to 2048, else 4K."""
    longest = max(width, height)
    return "1K" if longest <= 1024 else "2K" if longest <= 2048 else "4K"


# --- results ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedImage:
    data: str  # base64
    mime_type: str = "image/png"
    revised_prompt: str | None = None


@dataclass(frozen=True)
class Speech:
    pcm: bytes  # 16-bit little-endian mono
    sample_rate: int = 24_000

    def wav(self) -> bytes:
        """The PCM wrapped as a WAV file."""
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(self.pcm)
        return buffer.getvalue()


def gemini_voice(voice: str | None) -> str:
    """The Gemini prebuilt voice named (in any case), the default for none; 400 for anything else.

    Protocol adapters map their own voice names first (OpenAI's: server.openai_media)."""
    if not voice:
        return DEFAULT_VOICE
    lowered = voice.strip().lower()
    for name in GEMINI_VOICES:
        if name.lower() == lowered:
            return name
    raise invalid_request(f"Unknown voice {voice[:40]!r}: use a Gemini voice ({', '.join(GEMINI_VOICES)}).")


def speech_config(voice: str | None = None, speakers: dict[str, str] | None = None) -> JSON:
    """Gemini's speechConfig: one prebuilt voice, or up to two named speakers with a voice each."""
    if speakers:
        if len(speakers) > 2:
            raise invalid_request("At most two speakers are supported.")
        return {
            "multiSpeakerVoiceConfig": {
                "speakerVoiceConfigs": [
                    {
                        "speaker": speaker,
                        "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": gemini_voice(v)}},
                    }
                    for speaker, v in speakers.items()
                ]
            }
        }
    return {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": gemini_voice(voice)}}}


def estimate_tokens(texts: Sequence[str]) -> int:
    return max(1, math.ceil(sum(len(text) for text in texts) / CHARS_PER_TOKEN))


# --- the service --------------------------------------------------------------------------------------


class Media:
    """Embeddings, images and speech over the pool; raises core.errors.ApiError for the client.

    Cheap to build: it holds only the gateway (failover, model catalogue) and the Gemini API client.
    """

    def __init__(self, gateway: Gateway, gemini_api: GeminiApiClient) -> None:
        self._gateway = gateway
        self._gemini_api = gemini_api

    def serves(self, requested: str, capability: str) -> bool:
        """Whether the name (as the gateway resolves it) is a model the enabled accounts offer for `capability`."""
        resolved = self._gateway.resolve_model(requested)
        return resolved in self._gateway.offered_models() and capability in capabilities_of(resolved)

    def model_for(self, requested: str | None, capability: str) -> str:
        """The model to use for `capability` ("embeddings", "images", "speech"): the client's (as resolved),
        or for none the best offered model that can do it (protocol adapters pass None for their generic
        names, such as OpenAI's `tts-1`, that no account serves)."""
        if requested:
            return self._gateway.resolve_model(requested)  # the pool says whether anyone offers it
        candidates = [m for m in self._gateway.offered_models() if capability in capabilities_of(m)]
        for preferred in _PREFERRED[capability]:
            if preferred in candidates:
                return preferred
        if capability == "images":  # Imagen first (API keys), then image chat models (any account)
            candidates.sort(key=lambda m: not is_imagen(m))
        if candidates:
            return candidates[0]
        return _PREFERRED[capability][0]  # nothing offers it: the error then names a model that would do

    # -- embeddings

    async def embed(
        self,
        model: str,
        texts: Sequence[str],
        *,
        dimensions: int | None = None,
        task_type: str | None = None,
        log: LogEntry | None = None,
    ) -> list[list[float]]:
        """One vector per text, in order (batchEmbedContents, 100 texts per upstream call)."""
        if not texts:
            raise invalid_request("Nothing to embed: give at least one text.")
        if log is not None:
            log.tokens_in = estimate_tokens(texts)
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH_LIMIT):
            batch = texts[start : start + EMBED_BATCH_LIMIT]

            async def call(_account: Account, key: str, upstream: str, batch: Sequence[str] = batch) -> JSON:
                requests = []
                for text in batch:
                    item: JSON = {"model": f"models/{upstream}", "content": {"parts": [{"text": text}]}}
                    if dimensions is not None:
                        item["outputDimensionality"] = dimensions
                    if task_type is not None:
                        item["taskType"] = task_type
                    requests.append(item)
                return await self._gemini_api.call(
                    key, upstream, "batchEmbedContents", {"requests": requests}
                )

            reply = await self._api_key_call(model, call, log, "Embeddings")
            vectors.extend(_vectors(reply, len(batch)))
        return vectors

    async def embed_content(self, model: str, body: JSON, *, log: LogEntry | None = None) -> JSON:
        """Gemini `embedContent` passed through (`{"content", "outputDimensionality"?, "taskType"?}`)."""

        async def call(_account: Account, key: str, upstream: str) -> JSON:
            return await self._gemini_api.call(
                key, upstream, "embedContent", {**body, "model": f"models/{upstream}"}
            )

        return await self._api_key_call(model, call, log, "Embeddings")

    async def batch_embed_contents(self, model: str, body: JSON, *, log: LogEntry | None = None) -> JSON:
        """Gemini `batchEmbedContents` passed through; each request's `model` becomes the served model."""
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests or not all(isinstance(r, dict) for r in requests):
            raise invalid_request(
                "requests must be a non-empty list of EmbedContentRequest objects", "requests"
            )

        async def call(_account: Account, key: str, upstream: str) -> JSON:
            rewritten = [{**item, "model": f"models/{upstream}"} for item in requests]
            return await self._gemini_api.call(
                key, upstream, "batchEmbedContents", {**body, "requests": rewritten}
            )

        return await self._api_key_call(model, call, log, "Embeddings")

    # -- images

    async def predict(self, model: str, body: JSON, *, log: LogEntry | None = None) -> JSON:
        """Imagen `predict` passed through (`{"instances": [{"prompt"}], "parameters": {...}}`)."""

        async def call(_account: Account, key: str, upstream: str) -> JSON:
            return await self._gemini_api.call(key, upstream, "predict", body)

        return await self._api_key_call(model, call, log, "Image generation with Imagen")

    async def generate_images(
        self,
        model: str,
        prompt: str,
        *,
        count: int = 1,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        log: LogEntry | None = None,
    ) -> list[GeneratedImage]:
        """`count` images: Imagen `predict` on API keys, or that many answers of an image chat model."""
        if not 1 <= count <= MAX_IMAGES:
            raise invalid_request(f"Between 1 and {MAX_IMAGES} images can be made at a time.")
        if not prompt.strip():
            raise invalid_request("The image prompt must not be empty.")
        if is_imagen(self._gateway.resolve_model(model)):
            parameters: JSON = {"sampleCount": count}
            if aspect_ratio:
                parameters["aspectRatio"] = aspect_ratio
            reply = await self.predict(
                model, {"instances": [{"prompt": prompt}], "parameters": parameters}, log=log
            )
            return _predictions(reply)
        image_config: JSON = {}
        if aspect_ratio:
            image_config["aspectRatio"] = aspect_ratio
        if image_size:
            image_config["imageSize"] = image_size
        config: JSON = {"responseModalities": ["TEXT", "IMAGE"]}
        if image_config:
            config["imageConfig"] = image_config
        body: JSON = {"contents": [{"role": "user", "parts": [{"text": prompt}]}], "generationConfig": config}
        # Imported here: core.gateway imports this module.
        from core.gateway import GatewayRequest

        try:
            async with asyncio.TaskGroup() as group:  # one failure cancels the other drawings
                tasks = [
                    group.create_task(self._gateway.generate(GatewayRequest(model, body, log=log)))
                    for _ in range(count)
                ]
        except* ApiError as failed:
            # The client gets the first drawing's error (a 404, a 429, ...), not the task group around it.
            raise failed.exceptions[0] from None
        images = [image for task in tasks for image in _inline_images(task.result())]
        if not images:
            raise ApiError(
                502,
                ApiErrorType.API_ERROR,
                f"{model} answered without an image; try another prompt or model.",
            )
        return images[:count] if len(images) > count else images

    # -- speech

    async def speech(
        self,
        model: str,
        text: str,
        *,
        voice: str | None = None,
        speakers: dict[str, str] | None = None,
        log: LogEntry | None = None,
    ) -> Speech:
        """Text read aloud by a `*-tts` model (generateContent with responseModalities AUDIO)."""
        if not text.strip():
            raise invalid_request("The text to read aloud must not be empty.")
        body: JSON = {
            "contents": [{"role": "user", "parts": [{"text": text}]}],
            "generationConfig": {
                "responseModalities": ["AUDIO"],
                "speechConfig": speech_config(voice, speakers),
            },
        }

        async def call(_account: Account, key: str, upstream: str) -> JSON:
            return await self._gemini_api.generate(key, upstream, body)

        if log is not None:
            log.tokens_in = estimate_tokens([text])
        reply = await self._api_key_call(model, call, log, "Speech")
        return _speech(reply, model)

    async def _api_key_call(self, model: str, call: Any, log: LogEntry | None, purpose: str) -> JSON:
        result: JSON = await self._gateway.call_with_failover(
            model, call, log=log, kinds=API_KEYS_ONLY, purpose=purpose
        )
        return result


# --- reading replies ----------------------------------------------------------------------------------


def _bad_reply(message: str) -> ApiError:
    return ApiError(502, ApiErrorType.API_ERROR, f"Upstream: {message}")


def _vectors(reply: JSON, expected: int) -> list[list[float]]:
    embeddings = reply.get("embeddings")
    if not isinstance(embeddings, list) or len(embeddings) != expected:
        raise _bad_reply(f"expected {expected} embeddings, got {len(embeddings or [])}")
    vectors = []
    for embedding in embeddings:
        values = embedding.get("values") if isinstance(embedding, dict) else None
        if not isinstance(values, list):
            raise _bad_reply("an embedding has no values")
        vectors.append([float(value) for value in values])
    return vectors


def _predictions(reply: JSON) -> list[GeneratedImage]:
    images: list[GeneratedImage] = []
    filtered: list[str] = []
    for prediction in reply.get("predictions") or ():
        if not isinstance(prediction, dict):
            continue
        data = prediction.get("bytesBase64Encoded")
        if isinstance(data, str) and data:
            images.append(
                GeneratedImage(data, str(prediction.get("mimeType") or "image/png"), prediction.get("prompt"))
            )
        elif reason := prediction.get("raiFilteredReason"):
            filtered.append(str(reason))
    if not images:
        why = f": {'; '.join(filtered)}" if filtered else ""
        raise invalid_request(
            f"The upstream returned no image (filtered{why}). Rephrase the prompt.", "prompt"
        )
    return images


def _inline_images(response: JSON) -> list[GeneratedImage]:
    images = []
    for candidate in response.get("candidates") or ():
        for part in (candidate.get("content") or {}).get("parts") or ():
            inline = part.get("inlineData") if isinstance(part, dict) else None
            if isinstance(inline, dict) and str(inline.get("mimeType", "")).startswith("image/"):
                images.append(GeneratedImage(str(inline.get("data") or ""), str(inline["mimeType"])))
    return images


def _speech(reply: JSON, model: str) -> Speech:
    for candidate in reply.get("candidates") or ():
        for part in (candidate.get("content") or {}).get("parts") or ():
            inline = part.get("inlineData") if isinstance(part, dict) else None
            if not isinstance(inline, dict):
                continue
            mime_type = str(inline.get("mimeType") or "").lower()
            if not mime_type.startswith(("audio/l16", "audio/pcm")):
                raise _bad_reply(f"{model} answered with {mime_type or 'no'} audio, not raw PCM")
            rate = _PCM_RATE.search(mime_type)
            try:
                pcm = base64.b64decode(str(inline.get("data") or ""), validate=True)
            except ValueError:
                raise _bad_reply(f"{model} sent audio that is not valid base64") from None
            return Speech(pcm, int(rate.group(1)) if rate else 24_000)
    raise _bad_reply(f"{model} answered without audio")
