"""Handlers and routes of OpenAI's media endpoints (embeddings, images, speech)."""

from __future__ import annotations

from aiohttp import web

from core.media import Media, estimate_tokens
from core.types import LogEntry
from server.embeddings import embed_texts
from server.handling import LOG_ENTRY, SERVICES, read_json
from server.openai_media.translate import (
    SPEECH_FORMATS,
    decode_embeddings,
    decode_images,
    decode_speech,
    encode_embeddings,
    encode_images,
    is_generic_name,
)


def media_of(request: web.Request) -> Media:
    return request.app[SERVICES].media


def served_model(media: Media, requested: str | None, capability: str) -> str:
    """The model for an OpenAI media request: the client's when an account serves it (or it is a name of
    its own), the best model for the job when it is one of OpenAI's generic names (or none)."""
    if requested and is_generic_name(requested, capability) and not media.serves(requested, capability):
        requested = None
    return media.model_for(requested, capability)


async def embeddings(request: web.Request) -> web.Response:
    decoded = decode_embeddings(await read_json(request))
    vectors = await embed_texts(request, decoded.model, decoded.texts, dimensions=decoded.dimensions)
    body = encode_embeddings(vectors, decoded.model, decoded.encoding_format, estimate_tokens(decoded.texts))
    return web.json_response(body)


async def images_generations(request: web.Request) -> web.Response:
    decoded = decode_images(await read_json(request))
    entry: LogEntry = request[LOG_ENTRY]
    entry.client_model = decoded.model or ""
    media = media_of(request)
    model = served_model(media, decoded.model, "images")
    images = await media.generate_images(
        model,
        decoded.prompt,
        count=decoded.count,
        aspect_ratio=decoded.aspect_ratio,
        image_size=decoded.image_size,
        log=entry,
    )
    return web.json_response(encode_images(images, decoded.response_format))


async def audio_speech(request: web.Request) -> web.Response:
    decoded = decode_speech(await read_json(request))
    entry: LogEntry = request[LOG_ENTRY]
    entry.client_model = decoded.model
    media = media_of(request)
    model = served_model(media, decoded.model, "speech")
    speech = await media.speech(
        model, decoded.text, voice=decoded.voice, speakers=decoded.speakers, log=entry
    )
    audio = speech.wav() if decoded.response_format == "wav" else speech.pcm
    return web.Response(body=audio, content_type=SPEECH_FORMATS[decoded.response_format])


def add_routes(app: web.Application) -> None:
    """POST {/v1,}/embeddings, /images/generations and /audio/speech."""
    for prefix in ("/v1", ""):  # some clients are configured without the /v1 part of the base URL
        app.router.add_post(f"{prefix}/embeddings", embeddings)
        app.router.add_post(f"{prefix}/images/generations", images_generations)
        app.router.add_post(f"{prefix}/audio/speech", audio_speech)
