"""Routes no one protocol owns: `/healthz`, and the model list whose path OpenAI, Claude and google-genai share."""

from __future__ import annotations

from aiohttp import web

from core.errors import ApiError, ApiErrorType
from core.gateway import ModelInfo
from server import anthropic, gemini, openai
from server.guards import protocol_for
from server.handling import SERVICES


async def health(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    usable = sum(1 for account in services.accounts.accounts() if account.enabled)
    return web.json_response({"name": "Gravity Desk", "status": "ok", "accounts": usable})


async def list_models(request: web.Request) -> web.Response:
    models: list[ModelInfo] = request.app[SERVICES].gateway.models()
    protocol = protocol_for(request)
    if protocol is anthropic.PROTOCOL:
        return web.json_response(anthropic.encode_models(models))
    if protocol is gemini.PROTOCOL:
        return web.json_response(gemini.encode_models(models))
    return web.json_response(openai.encode_models(models))


async def get_model(request: web.Request) -> web.Response:
    protocol = protocol_for(request)
    if protocol is gemini.PROTOCOL:
        return await gemini.gemini_get_model(request)
    name = request.match_info["model"]
    models = [m for m in request.app[SERVICES].gateway.models() if m.id == name]
    if not models:
        raise ApiError(404, ApiErrorType.NOT_FOUND, f"The model '{name}' does not exist")
    body = (anthropic if protocol is anthropic.PROTOCOL else openai).encode_models(models)
    return web.json_response(body["data"][0])


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", health)
    for prefix in ("/v1", ""):  # some clients are configured without the /v1 part of the base URL
        app.router.add_get(f"{prefix}/models", list_models)
        app.router.add_get(f"{prefix}/models/{{model}}", get_model)
