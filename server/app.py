"""The aiohttp application: guards and the request log (middleware), and the routes of every protocol."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from core.errors import ApiError, ApiErrorType
from core.gateway import GatewayRequest, ModelInfo
from core.redact import redact
from core.services import Services
from core.types import LogEntry
from server import anthropic, gemini, ollama, openai, openai_completions, openai_media, openai_responses
from server.access_log import log_access
from server.handling import (
    LOG_ENTRY,
    SERVICES,
    STARTED,
    ClientProtocol,
    error_response,
    generate,
    read_json,
)
from server.security import host_header_allowed, presented_key

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


OPENAI = ClientProtocol("openai", openai.error_body)
ANTHROPIC = ClientProtocol("anthropic", anthropic.error_body)
GEMINI = ClientProtocol("gemini", gemini.error_body)


def protocol_for(request: web.Request) -> ClientProtocol:
    """Which protocol's error shape a request expects, from its path (and headers where paths are shared)."""
    path = request.path
    if path.startswith("/api/"):
        return ollama.PROTOCOL
    if path.startswith(("/v1beta/", "/v1alpha/")) or (path.startswith("/v1/models/") and ":" in path):
        return GEMINI
    if path.startswith("/v1/models") and "x-goog-api-key" in request.headers:
        return GEMINI  # google-genai's default api_version is v1, whose model list shares OpenAI's path
    if path.startswith("/v1/messages") or "anthropic-version" in request.headers:
        return ANTHROPIC
    return OPENAI


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Host check, API key, the protocol's own error shape for every failure, and the request log."""
    services = request.app[SERVICES]
    if request.path in PUBLIC_PATHS:
        # No key needed, but the Host check still applies: a DNS-rebinding page must not read them either.
        if not host_header_allowed(request.host, services.settings.server.host):
            return web.json_response(
                {"error": "Requests must address the server by a loopback name"}, status=403
            )
        return await handler(request)
    protocol = protocol_for(request)
    entry = LogEntry(protocol=protocol.name, path=request.path)
    request[LOG_ENTRY] = entry
    request[STARTED] = time.perf_counter()
    try:
        response = await _guarded(request, handler, services, protocol, entry)
        entry.status = entry.status or response.status
        return response
    except (ConnectionResetError, asyncio.CancelledError):
        # Handlers are cancelled when the client goes away (or the server stops mid-request). A WebSocket
        # (status 101) whose client hung up has ended, not failed: its turns have rows of their own.
        if entry.status != 101:
            entry.status, entry.error = 499, entry.error or "client disconnected"
        raise
    finally:
        entry.latency_ms = (time.perf_counter() - request[STARTED]) * 1000.0
        services.request_log.record(entry)
        log_access(request.method, entry)


async def _guarded(
    request: web.Request, handler: Handler, services: Services, protocol: ClientProtocol, entry: LogEntry
) -> web.StreamResponse:
    try:
        if not host_header_allowed(request.host, services.settings.server.host):
            raise ApiError(
                403, ApiErrorType.PERMISSION, "Requests must address the server by a loopback name"
            )
        keys = services.api_keys
        if keys.required():
            match = keys.match(presented_key(request))
            if match is None:
                raise ApiError(
                    401,
                    ApiErrorType.AUTHENTICATION,
                    "Missing or wrong API key: send one of the keys from Gravity Desk's settings "
                    "(Authorization: Bearer, x-api-key or x-goog-api-key)",
                )
            keys.mark_used(match, entry.started_at)
            entry.key_name, entry.key_id = match.name, match.id
        return await handler(request)
    except ApiError as error:
        return _failed(protocol, entry, error)
    except web.HTTPRequestEntityTooLarge as exc:
        limit = services.settings.server.max_body_mb
        message = f"Request body too large (limit {limit} MB): {exc.text}"
        return _failed(protocol, entry, ApiError(413, ApiErrorType.TOO_LARGE, message))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kind = ApiErrorType.NOT_FOUND if exc.status == 404 else ApiErrorType.INVALID_REQUEST
        if exc.status == 405:
            message = f"Method {request.method} is not allowed on {request.path}"
        elif exc.status == 404:
            message = f"No such endpoint: {request.method} {request.path}"
        else:
            message = exc.reason
        return _failed(protocol, entry, ApiError(exc.status, kind, message))
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _failed(
            protocol, entry, ApiError(500, ApiErrorType.API_ERROR, "Internal error in Gravity Desk")
        )


def _failed(protocol: ClientProtocol, entry: LogEntry, error: ApiError) -> web.Response:
    entry.status = error.status
    entry.error = entry.error or redact(error.message)
    return error_response(protocol, error)


PUBLIC_PATHS = frozenset({"/", "/healthz"})


# --- OpenAI ---------------------------------------------------------------------------------------------


async def openai_chat(request: web.Request) -> web.StreamResponse:
    payload = await read_json(request)
    decoded = openai.decode(payload)
    decoded.options["image_output"] = request.app[SERVICES].settings.server.image_output
    return await generate(request, decoded, openai.encode, openai.ChatStreamEncoder, payload)


async def list_models(request: web.Request) -> web.Response:
    models: list[ModelInfo] = request.app[SERVICES].gateway.models()
    protocol = protocol_for(request)
    if protocol is ANTHROPIC:
        return web.json_response(anthropic.encode_models(models))
    if protocol is GEMINI:
        return web.json_response(gemini.encode_models(models))
    return web.json_response(openai.encode_models(models))


async def get_model(request: web.Request) -> web.Response:
    protocol = protocol_for(request)
    if protocol is GEMINI:
        return await gemini_get_model(request)
    name = request.match_info["model"]
    models = [m for m in request.app[SERVICES].gateway.models() if m.id == name]
    if not models:
        raise ApiError(404, ApiErrorType.NOT_FOUND, f"The model '{name}' does not exist")
    body = (anthropic if protocol is ANTHROPIC else openai).encode_models(models)
    return web.json_response(body["data"][0])


# --- Anthropic ------------------------------------------------------------------------------------------


async def anthropic_messages(request: web.Request) -> web.StreamResponse:
    payload = await read_json(request)
    decoded = anthropic.decode(payload)
    return await generate(request, decoded, anthropic.encode, anthropic.MessagesStreamEncoder, payload)


async def anthropic_count_tokens(request: web.Request) -> web.Response:
    decoded = anthropic.decode_count_tokens(await read_json(request))
    request[LOG_ENTRY].client_model = decoded.model
    total = await request.app[SERVICES].gateway.count_tokens(
        GatewayRequest(decoded.model, decoded.body, log=request[LOG_ENTRY])
    )
    return web.json_response(anthropic.encode_count_tokens(total))


# --- Gemini ---------------------------------------------------------------------------------------------


async def gemini_list_models(request: web.Request) -> web.Response:
    return web.json_response(gemini.encode_models(request.app[SERVICES].gateway.models()))


async def gemini_get_model(request: web.Request) -> web.Response:
    name = request.match_info.get("model") or request.match_info["target"]
    models = [m for m in request.app[SERVICES].gateway.models() if m.id == name]
    if not models:
        raise ApiError(404, ApiErrorType.NOT_FOUND, f"models/{name} is not found")
    return web.json_response(gemini.encode_models(models)["models"][0])


async def gemini_method(request: web.Request) -> web.StreamResponse:
    target = request.match_info["target"]
    model, _, method = target.partition(":")
    if method in ("generateContent", "streamGenerateContent"):
        payload = await read_json(request)
        stream = method == "streamGenerateContent"
        decoded = gemini.decode(payload, model=model, stream=stream)
        sse = request.query.get("alt") == "sse"
        return await generate(
            request, decoded, gemini.encode, lambda d: gemini.GeminiStreamEncoder(d, sse=sse), payload
        )
    if method in gemini.MEDIA_METHODS:
        return await gemini.media_method(request, model, method)
    if method == "countTokens":
        decoded = gemini.decode_count_tokens(await read_json(request), model=model)
        request[LOG_ENTRY].client_model = decoded.model
        total = await request.app[SERVICES].gateway.count_tokens(
            GatewayRequest(decoded.model, decoded.body, log=request[LOG_ENTRY])
        )
        return web.json_response(gemini.encode_count_tokens(total))
    if not method:
        return await gemini_get_model(request)
    raise ApiError(404, ApiErrorType.NOT_FOUND, f"Method '{method}' is not supported on models/{model}")


# --- Misc -----------------------------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    usable = sum(1 for account in services.accounts.accounts() if account.enabled)
    return web.json_response({"name": "Gravity Desk", "status": "ok", "accounts": usable})


def make_app(services: Services) -> web.Application:
    """The whole HTTP API over the given services."""
    app = web.Application(
        middlewares=[guard_middleware], client_max_size=services.settings.server.max_body_mb * 1024 * 1024
    )
    app[SERVICES] = services
    app.router.add_get("/healthz", health)
    for prefix in ("/v1", ""):  # some clients are configured without the /v1 part of the base URL
        app.router.add_post(f"{prefix}/chat/completions", openai_chat)
        app.router.add_get(f"{prefix}/models", list_models)
        app.router.add_get(f"{prefix}/models/{{model}}", get_model)
        app.router.add_post(f"{prefix}/messages", anthropic_messages)
        app.router.add_post(f"{prefix}/messages/count_tokens", anthropic_count_tokens)
    for version in ("v1beta", "v1alpha"):
        app.router.add_get(f"/{version}/models", gemini_list_models)
        app.router.add_get(f"/{version}/models/{{model}}", gemini_get_model)
        app.router.add_post(f"/{version}/models/{{target}}", gemini_method)
    app.router.add_post("/v1/models/{target}", gemini_method)  # google-genai with api_version="v1"
    # Further API families (each a package with `add_routes(app)`) are registered below, one line each.
    ollama.add_routes(app)  # also "/" (the Ollama probe); health is /healthz
    openai_completions.add_routes(app)
    openai_responses.add_routes(app)
    openai_media.add_routes(app)
    return app
