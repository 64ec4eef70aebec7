"""The Ollama API routes (`/api/*` and the `/` probe), each one more adapter onto the shared generate path."""

from __future__ import annotations

import json
import time

from aiohttp import web

from core.errors import ApiError, ApiErrorType
from core.media import estimate_tokens
from server.embeddings import embed_texts
from server.handling import LOG_ENTRY, SERVICES, STARTED, ClientProtocol, generate, read_json
from server.ollama.decode import OllamaOptions, decode_chat, decode_embed, decode_generate, model_name
from server.ollama.encode import OLLAMA_VERSION, encode, encode_show, encode_tags, error_body, load_reply
from server.ollama.stream import stream_encoder
from server.protocol import Decoded

PROTOCOL = ClientProtocol("ollama", error_body)

ROOT_TEXT = "Ollama is running"  # what clients probing for an Ollama server look for


async def root(_request: web.Request) -> web.Response:
    return web.Response(text=ROOT_TEXT)


async def version(_request: web.Request) -> web.Response:
    return web.json_response({"version": OLLAMA_VERSION})


async def tags(request: web.Request) -> web.Response:
    return web.json_response(encode_tags(request.app[SERVICES].gateway.models()))


async def running(_request: web.Request) -> web.Response:
    # Nothing runs locally; an empty list is the honest answer and what clients expect from an idle server.
    return web.json_response({"models": []})


async def show(request: web.Request) -> web.Response:
    payload = await read_json(request)
    if not isinstance(payload, dict):
        raise ApiError(400, ApiErrorType.INVALID_REQUEST, "Request body must be a JSON object.")
    # `name` is what older clients send.
    raw = payload.get("model") if payload.get("model") is not None else payload.get("name")
    name = model_name(raw)
    request[LOG_ENTRY].client_model = name
    for model in request.app[SERVICES].gateway.models():
        if model.id == name:
            return web.json_response(encode_show(model))
    raise ApiError(404, ApiErrorType.NOT_FOUND, f"model '{raw}' not found")


async def chat(request: web.Request) -> web.StreamResponse:
    payload = await read_json(request)
    return await _generate(request, decode_chat(payload, started=request[STARTED]), payload)


async def generate_completion(request: web.Request) -> web.StreamResponse:
    payload = await read_json(request)
    return await _generate(request, decode_generate(payload, started=request[STARTED]), payload)


async def _generate(
    request: web.Request, decoded: Decoded[OllamaOptions], payload: object
) -> web.StreamResponse:
    if decoded.options.load:
        # Nothing to generate: Ollama's way of asking to (un)load a model. Models live upstream, so done.
        request[LOG_ENTRY].client_model = decoded.model
        reply = load_reply(decoded)
        if decoded.stream:
            line = json.dumps(reply, ensure_ascii=False) + "\n"
            return web.Response(text=line, content_type="application/x-ndjson")
        return web.json_response(reply)
    return await generate(request, decoded, encode, stream_encoder, payload)


async def embed(request: web.Request) -> web.Response:
    """POST /api/embed: one vector per input, from the API-key accounts' embedding models."""
    model, texts, dimensions = decode_embed(await read_json(request))
    vectors = await embed_texts(request, model, texts, dimensions=dimensions)
    elapsed_ns = max(1, int((time.perf_counter() - request[STARTED]) * 1e9))
    return web.json_response(
        {
            "model": model,
            "embeddings": vectors,
            "total_duration": elapsed_ns,
            "load_duration": 0,
            "prompt_eval_count": estimate_tokens(texts),
        }
    )


async def embeddings(request: web.Request) -> web.Response:
    """POST /api/embeddings, the older single-text form: {"prompt"} -> {"embedding"}."""
    payload = await read_json(request)
    if not isinstance(payload, dict):
        raise ApiError(400, ApiErrorType.INVALID_REQUEST, "Request body must be a JSON object.")
    prompt = payload.get("prompt")
    if not isinstance(prompt, str):
        raise ApiError(400, ApiErrorType.INVALID_REQUEST, "'prompt' must be a string.", param="prompt")
    model = model_name(payload.get("model"))
    if not prompt:
        request[LOG_ENTRY].client_model = model
        return web.json_response({"embedding": []})  # what Ollama answers to an empty prompt
    vectors = await embed_texts(request, model, [prompt])
    return web.json_response({"embedding": vectors[0]})


def add_routes(app: web.Application) -> None:
    """Register the Ollama API; `/` answers the "is Ollama running" probe (health lives at /healthz)."""
    app.router.add_get("/", root)  # also answers HEAD
    app.router.add_get("/api/version", version)
    app.router.add_get("/api/tags", tags)
    app.router.add_get("/api/ps", running)
    app.router.add_post("/api/show", show)
    app.router.add_post("/api/chat", chat)
    app.router.add_post("/api/generate", generate_completion)
    app.router.add_post("/api/embed", embed)
    app.router.add_post("/api/embeddings", embeddings)
