"""Routes of the Gemini API (`/v1beta`, `/v1alpha` and google-genai's `/v1` model methods)."""

from __future__ import annotations

from aiohttp import web

from core.errors import ApiError, ApiErrorType
from core.gateway import GatewayRequest
from server.gemini.media import MEDIA_METHODS, media_method
from server.gemini.stream import GeminiStreamEncoder
from server.gemini.translate import (
    decode,
    decode_count_tokens,
    encode,
    encode_count_tokens,
    encode_models,
    error_body,
)
from server.handling import LOG_ENTRY, SERVICES, ClientProtocol, generate, read_json

PROTOCOL = ClientProtocol("gemini", error_body)


async def gemini_list_models(request: web.Request) -> web.Response:
    return web.json_response(encode_models(request.app[SERVICES].gateway.models()))


async def gemini_get_model(request: web.Request) -> web.Response:
    name = request.match_info.get("model") or request.match_info["target"]
    models = [m for m in request.app[SERVICES].gateway.models() if m.id == name]
    if not models:
        raise ApiError(404, ApiErrorType.NOT_FOUND, f"models/{name} is not found")
    return web.json_response(encode_models(models)["models"][0])


async def gemini_method(request: web.Request) -> web.StreamResponse:
    target = request.match_info["target"]
    model, _, method = target.partition(":")
    if method in ("generateContent", "streamGenerateContent"):
        payload = await read_json(request)
        stream = method == "streamGenerateContent"
        decoded = decode(payload, model=model, stream=stream)
        sse = request.query.get("alt") == "sse"
        return await generate(request, decoded, encode, lambda d: GeminiStreamEncoder(d, sse=sse), payload)
    if method in MEDIA_METHODS:
        return await media_method(request, model, method)
    if method == "countTokens":
        decoded = decode_count_tokens(await read_json(request), model=model)
        request[LOG_ENTRY].client_model = decoded.model
        total = await request.app[SERVICES].gateway.count_tokens(
            GatewayRequest(decoded.model, decoded.body, log=request[LOG_ENTRY])
        )
        return web.json_response(encode_count_tokens(total))
    if not method:
        return await gemini_get_model(request)
    raise ApiError(404, ApiErrorType.NOT_FOUND, f"Method '{method}' is not supported on models/{model}")


def add_routes(app: web.Application) -> None:
    for version in ("v1beta", "v1alpha"):
        app.router.add_get(f"/{version}/models", gemini_list_models)
        app.router.add_get(f"/{version}/models/{{model}}", gemini_get_model)
        app.router.add_post(f"/{version}/models/{{target}}", gemini_method)
    app.router.add_post("/v1/models/{target}", gemini_method)  # google-genai with api_version="v1"
