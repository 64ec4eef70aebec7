"""Routes of the OpenAI Responses API: `POST /v1/responses` on the shared generate path, and the same API over
a WebSocket (`GET /v1/responses`, what Codex prefers): one `response.create` message per turn, answered with
the events the HTTP stream sends, one JSON message each."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import replace
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from core.errors import ApiError, invalid_request
from core.gateway import Gateway, GatewayRequest
from core.types import JSON, LogEntry
from server import openai
from server.handling import LOG_ENTRY, SERVICES, generate, read_json, relay
from server.openai_responses.decode import ResponsesOptions, decode
from server.openai_responses.encode import ResponseBuilder, encode
from server.openai_responses.history import ResponseHistory
from server.openai_responses.stream import ResponsesStreamEncoder
from server.protocol import Decoded, compact_json

SOCKET_HISTORY = 64  # turns one socket remembers, whatever their `store`
log = logging.getLogger(__name__)


class OpenSockets:
    """The app's open Responses WebSockets, so that a shutdown closes them (aiohttp's graceful shutdown:
    the runner would otherwise wait for their handlers until its shutdown timeout, then cut them).

    A socket waiting for its next turn is closed at once with 1001 (going away); one in the middle of a
    turn finishes that turn first, as in-flight HTTP requests do, and is closed right after it.
    """

    def __init__(self) -> None:
        self.waiting: set[web.WebSocketResponse] = set()
        self.closing = False

    async def close_all(self) -> None:
        self.closing = True
        await asyncio.gather(*(self._close_if_waiting(socket) for socket in list(self.waiting)))

    async def _close_if_waiting(self, socket: web.WebSocketResponse) -> None:
        if socket in self.waiting:  # not if it took a message meanwhile: it closes after that turn
            await going_away(socket)


async def going_away(socket: web.WebSocketResponse) -> None:
    await socket.close(code=WSCloseCode.GOING_AWAY, message=b"Server shutting down")


HISTORY = web.AppKey("responses_history", ResponseHistory)
SOCKETS = web.AppKey("responses_sockets", OpenSockets)


async def responses(request: web.Request) -> web.StreamResponse:
    if request.method == "GET":
        return await responses_socket(request)
    payload = await read_json(request)
    history = request.app[HISTORY]
    decoded = decode(payload, history.lookup, remember=history.remember)
    if not decoded.options.generate:
        return _prepared_only(decoded)
    return await generate(request, decoded, encode, ResponsesStreamEncoder, payload)


def _prepared_only(decoded: Decoded[ResponsesOptions]) -> web.Response:
    """`generate: false`: the input is remembered under a new response id; no model is asked."""
    builder = ResponseBuilder(decoded)
    events = builder.start() + builder.finish()
    if not decoded.stream:
        return web.json_response(builder.snapshot(), dumps=compact_json)
    body = "".join(f"event: {event['type']}\ndata: {compact_json(event)}\n\n" for event in events)
    return web.Response(body=body.encode(), content_type="text/event-stream")


async def responses_socket(request: web.Request) -> web.StreamResponse:
    """The Responses API over a WebSocket; turns may chain with `previous_response_id` inside the socket."""
    socket = web.WebSocketResponse(
        heartbeat=30.0, max_msg_size=request.app[SERVICES].settings.server.max_body_mb << 20
    )
    if not socket.can_prepare(request).ok:
        raise invalid_request(
            "GET /v1/responses is the Responses API over a WebSocket: send an Upgrade request."
        )
    await socket.prepare(request)
    request[LOG_ENTRY].status = 101  # the socket's own row; each turn gets a row of its own
    turns = ResponseHistory(max_responses=SOCKET_HISTORY)
    sockets = request.app[SOCKETS]
    if sockets.closing:  # upgraded while the server was shutting down
        await going_away(socket)
        return socket
    sockets.waiting.add(socket)
    # A client that hangs up without a close frame (Codex between runs) ends the socket, not a request.
    try:
        with contextlib.suppress(ConnectionResetError):
            async for message in socket:
                sockets.waiting.discard(socket)
                if message.type is WSMsgType.TEXT:
                    await _socket_turn(request, socket, message.data, turns)
                elif message.type is WSMsgType.BINARY:
                    await _send_error(
                        socket, invalid_request("Send response.create messages as text frames.")
                    )
                if sockets.closing:
                    await going_away(socket)
                    break
                sockets.waiting.add(socket)
    finally:
        sockets.waiting.discard(socket)
    return socket


async def _socket_turn(
    request: web.Request, socket: web.WebSocketResponse, text: str, turns: ResponseHistory
) -> None:
    services = request.app[SERVICES]
    history = request.app[HISTORY]
    entry = LogEntry(protocol=openai.PROTOCOL.name, path=request.path, stream=True)
    opening = request.get(LOG_ENTRY)  # the upgrade request's row: it knows which key opened the socket
    if opening is not None:
        entry.key_name, entry.key_id = opening.key_name, opening.key_id
    started = time.perf_counter()
    try:
        payload = _create_payload(text)
        model = payload.get("model")
        entry.client_model = model if isinstance(model, str) else ""
        if services.settings.log.capture_bodies:
            entry.request_body = text[:200_000]
        stored = payload.get("store", True) is not False

        def remember(response_id: str, contents: list[JSON]) -> None:
            turns.remember(response_id, contents)
            if stored:
                history.remember(response_id, contents)

        decoded = decode(payload, lambda response_id: _either(turns, history, response_id), remember=remember)
        # The socket remembers every turn (whatever its `store`: see remember), and always streams.
        decoded = replace(decoded, stream=True, options=replace(decoded.options, store=True))
        if not decoded.options.generate:
            builder = ResponseBuilder(decoded)
            entry.status = 200
            await _send(socket, builder.start() + builder.finish())
            return
        await _stream_turn(services.gateway, socket, decoded, entry, started)
    except ApiError as error:
        entry.status, entry.error = error.status, error.message
        await _send_error(socket, error)
    finally:
        entry.latency_ms = (time.perf_counter() - started) * 1000.0
        services.request_log.record(entry)


def _either(turns: ResponseHistory, history: ResponseHistory, response_id: str) -> list[JSON] | None:
    """This socket's turns first (whatever their `store`), then the responses every client may continue."""
    found = turns.lookup(response_id)
    return found if found is not None else history.lookup(response_id)


def _create_payload(text: str) -> JSON:
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise invalid_request(f"The message is not valid JSON: {exc}") from None
    if not isinstance(message, dict) or message.get("type") != "response.create":
        raise invalid_request("Each message must be a JSON object with type 'response.create'.", "type")
    nested = message.get("response")
    payload: dict[str, Any] = dict(nested) if isinstance(nested, dict) else {}
    payload.update({key: value for key, value in message.items() if key not in ("type", "response")})
    return payload


class _SocketEncoder:
    """The Responses events of one turn, as the socket sends them (one message each): the stream encoder's
    events before they become SSE text."""

    def __init__(self, decoded: Decoded[ResponsesOptions]) -> None:
        self._builder = ResponseBuilder(decoded)

    def start(self) -> list[JSON]:
        return self._builder.start()

    def feed(self, chunk: JSON) -> list[JSON]:
        return self._builder.feed(chunk)

    def finish(self) -> list[JSON]:
        return self._builder.finish()

    def error(self, error: ApiError) -> list[JSON]:
        return self._builder.fail(error)

    @property
    def usage(self) -> tuple[int, int]:
        return self._builder.usage


def _joined(parts: list[list[JSON]]) -> list[JSON]:
    return [event for events in parts for event in events]


async def _stream_turn(
    gateway: Gateway,
    socket: web.WebSocketResponse,
    decoded: Decoded[ResponsesOptions],
    entry: LogEntry,
    started: float,
) -> None:
    call = GatewayRequest(decoded.model, decoded.body, decoded.conversation_key, entry)

    async def send(events: list[JSON]) -> None:
        await _send(socket, events)

    await relay(gateway.stream(call), _SocketEncoder(decoded), _joined, entry, started, begin=send, send=send)


async def _send(socket: web.WebSocketResponse, events: list[JSON]) -> None:
    for event in events:
        await socket.send_str(compact_json(event))


async def _send_error(socket: web.WebSocketResponse, error: ApiError) -> None:
    """A refused turn: an `error` event in OpenAI's error shape; the socket stays open for the next turn."""
    await socket.send_str(compact_json({"type": "error", "status": error.status, **openai.error_body(error)}))


async def _close_sockets(app: web.Application) -> None:
    await app[SOCKETS].close_all()


def add_routes(app: web.Application) -> None:
    app[HISTORY] = ResponseHistory()
    app[SOCKETS] = OpenSockets()
    app.on_shutdown.append(_close_sockets)
    for prefix in ("/v1", ""):  # some clients are configured without the /v1 part of the base URL
        app.router.add_post(f"{prefix}/responses", responses)
        app.router.add_get(f"{prefix}/responses", responses)
