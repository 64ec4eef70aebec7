"""What every route shares: the app's services, the request-log row, JSON bodies, and the generate path."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from core import fast_json
from core.errors import ApiError, ApiErrorType, invalid_request
from core.gateway import GatewayRequest
from core.services import Services
from core.types import JSON, LogEntry
from server.batches import Batches
from server.connections import ConnectionGuard
from server.protocol import Decoded, StreamEncoder, compact_json

SERVICES = web.AppKey("services", Services)
CONNECTIONS = web.AppKey("connections", ConnectionGuard)  # the runner serves each connection through it
# Request-local: the request-log row the middleware records when the request ends, and when it arrived.
LOG_ENTRY = web.RequestKey("log_entry", LogEntry)
STARTED = web.RequestKey("started", float)
CAPTURE_LIMIT = 200_000  # characters of a captured body (request, answer or stream) kept in the log


@dataclass(frozen=True)
class ClientProtocol:
    """How one client protocol is spoken: its name in the request log and its error shape."""

    name: str
    error_body: Callable[[ApiError], JSON]


def error_response(protocol: ClientProtocol, error: ApiError) -> web.Response:
    headers = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(error.retry_after)))
    response = web.json_response(protocol.error_body(error), status=error.status, headers=headers)
    if error.close_connection:
        response.force_close()
    return response


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def _has_lone_surrogate(payload: object) -> bool:
    try:
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or a clear 400."""
    timeout = request.app[SERVICES].settings.server.body_timeout_s
    try:
        # No timer for a body that came whole with its headers (most requests): arming one is most of the cost.
        arriving = timeout > 0 and not request.content.is_eof()
        async with asyncio.timeout(timeout if arriving else None):
            body = await request.read()
    except TimeoutError:
        # A body that trickles in holds a connection open; the answer says so and closes it.
        raise ApiError(
            408,
            ApiErrorType.INVALID_REQUEST,
            f"The request body did not arrive within {timeout:g} s (server.body_timeout_s)",
            close_connection=True,
        ) from None
    if not body:
        raise invalid_request("Request body is empty; expected a JSON object")
    try:
        payload = fast_json.loads(body)
    except RecursionError:
        raise invalid_request("Request body is nested too deeply to be a request.") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, and integers of 4,300+ digits
        raise invalid_request(f"Request body is not valid JSON: {str(exc)[:200]}") from None
    if _SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(payload):
        # Text with half a UTF-16 pair cannot be re-encoded for the upstream or the log: say so here.
        raise invalid_request(
            "Request body has an unpaired UTF-16 surrogate escape (like \\ud800) in a string."
        )
    entry = request.get(LOG_ENTRY)
    model = payload.get("model") if isinstance(payload, dict) else None
    if entry is not None and isinstance(model, str) and not entry.client_model:
        # Known before decoding, so a request refused while decoding is logged with the model it asked for.
        entry.client_model = model[:200].encode("utf-8", "replace").decode("utf-8")
    return payload


async def generate[Options](
    request: web.Request,
    decoded: Decoded[Options],
    encode: Callable[[JSON, Decoded[Options]], JSON],
    new_encoder: Callable[[Decoded[Options]], StreamEncoder],
    payload: object,
) -> web.StreamResponse:
    """The one path every chat-style request takes: gateway, then encode or stream back."""
    services = request.app[SERVICES]
    entry: LogEntry = request[LOG_ENTRY]
    entry.client_model, entry.stream = decoded.model, decoded.stream
    if services.settings.log.capture_bodies:
        entry.request_body = json.dumps(payload, ensure_ascii=False)[:CAPTURE_LIMIT]
    call = GatewayRequest(decoded.model, decoded.body, decoded.conversation_key, entry)
    if decoded.stream:
        return await _stream(request, services, entry, call, decoded, new_encoder)
    answer = encode(await services.gateway.generate(call), decoded)
    entry.ttfb_ms = (time.perf_counter() - request[STARTED]) * 1000.0
    if services.settings.log.capture_bodies:
        entry.response_body = json.dumps(answer, ensure_ascii=False)[:CAPTURE_LIMIT]
    return web.json_response(answer, dumps=compact_json)


class Encoder[T](Protocol):
    """A stream encoder whose output is T: bytes for an HTTP stream (StreamEncoder), messages for a socket."""

    def start(self) -> T: ...

    def feed(self, chunk: JSON) -> T: ...

    def finish(self) -> T: ...

    def error(self, error: ApiError) -> T: ...

    @property
    def usage(self) -> tuple[int, int]: ...


async def relay[T](
    chunks: AsyncIterator[JSON],
    encoder: Encoder[T],
    join: Callable[[list[T]], T],
    entry: LogEntry,
    started: float,
    *,
    begin: Callable[[T], Awaitable[None]],
    send: Callable[[T], Awaitable[None]],
) -> None:
    """The one stream loop (HTTP streams and the Responses WebSocket): the upstream's chunks through the
    encoder to the client, with the request-log row filled in on the way.

    `begin(head)` starts the client's stream with what the start and the first chunks encode to; failover
    happens before the first chunk, and an encoder may refuse that chunk (a blocked prompt), so up to then
    an ApiError still reaches the caller as a proper error. Later failures are the protocol's stream error.
    """
    batches = Batches(chunks)
    try:
        feed = encoder.feed
        head = join([encoder.start(), *[feed(chunk) for chunk in await batches.next()]])
        await begin(head)
        entry.status = 200
        entry.ttfb_ms = (time.perf_counter() - started) * 1000.0
        try:
            # Chunks that arrived together (one upstream read) go out in one write: a write is a system call.
            while batch := await batches.next():
                data = join([feed(chunk) for chunk in batch])
                if data:
                    await send(data)
            tail = encoder.finish()
        except ApiError as error:
            # Mid-stream failure: the status line is gone, so the protocol's stream error event says it.
            entry.status, entry.error = error.status, error.message
            tail = encoder.error(error)
        if tail:
            await send(tail)
        entry.tokens_in, entry.tokens_out = encoder.usage
    finally:
        await batches.aclose()


async def _stream[Options](
    request: web.Request,
    services: Services,
    entry: LogEntry,
    call: GatewayRequest,
    decoded: Decoded[Options],
    new_encoder: Callable[[Decoded[Options]], StreamEncoder],
) -> web.StreamResponse:
    encoder = new_encoder(decoded)
    response = web.StreamResponse(
        status=200,
        headers={
            "Content-Type": encoder.content_type,
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        },
    )
    # With body capture on, the streamed bytes as the client got them (bounded); None keeps the hot path bare.
    captured: bytearray | None = bytearray() if services.settings.log.capture_bodies else None

    async def send(data: bytes) -> None:
        if captured is not None and len(captured) < CAPTURE_LIMIT:
            captured.extend(data[: CAPTURE_LIMIT - len(captured)])
        await response.write(data)

    async def begin(head: bytes) -> None:
        await response.prepare(request)
        if head:
            await send(head)

    await relay(
        services.gateway.stream(call),
        encoder,
        b"".join,
        entry,
        request[STARTED],
        begin=begin,
        send=send,
    )
    if captured is not None:
        entry.response_body = captured.decode("utf-8", "replace")
    await response.write_eof()
    return response
