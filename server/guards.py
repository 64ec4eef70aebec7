"""The guards every request passes (Host check, web pages, API key), its request-log row, and errors in its
protocol's shape."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from core.errors import ApiError, ApiErrorType
from core.services import Services
from core.types import LogEntry
from server import anthropic, gemini, ollama, openai
from server.access_log import log_access
from server.handling import CONNECTIONS, LOG_ENTRY, SERVICES, STARTED, ClientProtocol, error_response
from server.security import host_header_allowed, origin_allowed, presented_key, sent_like_a_form

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PATHS = frozenset({"/", "/healthz"})


def protocol_for(request: web.Request) -> ClientProtocol:
    """Which protocol's error shape a request expects, from its path (and headers where paths are shared)."""
    path = request.path
    if path.startswith("/api/"):
        return ollama.PROTOCOL
    if path.startswith(("/v1beta/", "/v1alpha/")) or (path.startswith("/v1/models/") and ":" in path):
        return gemini.PROTOCOL
    if path.startswith("/v1/models") and "x-goog-api-key" in request.headers:
        return (
            gemini.PROTOCOL
        )  # google-genai's default api_version is v1, whose model list shares OpenAI's path
    if path.startswith("/v1/messages") or "anthropic-version" in request.headers:
        return anthropic.PROTOCOL
    return openai.PROTOCOL


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Host check, API key, the protocol's own error shape for every failure, and the request log; tells
    the connection guard when a request's headers were complete and when it ended."""
    connections = request.app[CONNECTIONS]
    connections.request_started(request.transport)
    try:
        return await _logged(request, handler)
    finally:
        connections.request_finished(request.transport)


async def _logged(request: web.Request, handler: Handler) -> web.StreamResponse:
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
        services.request_log.record(entry)  # now: the crash journal holds the row from here on
        # The access line waits for the loop's next turn, when the answer has gone out (aiohttp writes it in
        # this task step): formatting and queueing it (core/log_output.py's thread writes it) are µs the
        # client does not wait for.
        asyncio.get_running_loop().call_soon(log_access, request.method, entry)


def _admit(request: web.Request, services: Services, entry: LogEntry) -> None:
    """Raise the refusal of a request its handler must not see: wrong Host, a web page, no key, a form body;
    note the key that let it in."""
    if not host_header_allowed(request.host, services.settings.server.host):
        raise ApiError(403, ApiErrorType.PERMISSION, "Requests must address the server by a loopback name")
    origin = request.headers.get("Origin")
    if not origin_allowed(origin):
        raise ApiError(
            403,
            ApiErrorType.PERMISSION,
            f"Requests from web pages are refused (Origin: {origin[:100] if origin else origin}); "
            "SDKs, CLIs, apps, browser extensions and pages on localhost may call Gravity Desk",
        )
    keys = services.api_keys
    if not keys.required():
        if request.method == "POST" and sent_like_a_form(request.headers.get("Content-Type", "")):
            # With auth off nothing else tells a page's form post from a client's request (old browsers
            # send no Origin); every endpoint here takes JSON, and every SDK says so.
            raise ApiError(
                415,
                ApiErrorType.INVALID_REQUEST,
                "Send the body as JSON with Content-Type: application/json (with api_keys = [] Gravity Desk "
                "refuses the form and text/plain bodies a web page could post)",
            )
        return
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


async def _guarded(
    request: web.Request, handler: Handler, services: Services, protocol: ClientProtocol, entry: LogEntry
) -> web.StreamResponse:
    try:
        _admit(request, services, entry)
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
    entry.error = entry.error or error.message
    return error_response(protocol, error)
