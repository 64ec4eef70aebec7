"""Routes of the Claude Messages API (`POST /v1/messages`, `/v1/messages/count_tokens`)."""

from __future__ import annotations

from aiohttp import web

from core.gateway import GatewayRequest
from server.anthropic.decode import decode, decode_count_tokens
from server.anthropic.encode import encode, encode_count_tokens, error_body
from server.anthropic.stream import MessagesStreamEncoder
from server.handling import LOG_ENTRY, SERVICES, ClientProtocol, generate, read_json

PROTOCOL = ClientProtocol("anthropic", error_body)


async def anthropic_messages(request: web.Request) -> web.StreamResponse:
    payload = await read_json(request)
    decoded = decode(payload)
    return await generate(request, decoded, encode, MessagesStreamEncoder, payload)


async def anthropic_count_tokens(request: web.Request) -> web.Response:
    decoded = decode_count_tokens(await read_json(request))
    request[LOG_ENTRY].client_model = decoded.model
    total = await request.app[SERVICES].gateway.count_tokens(
        GatewayRequest(decoded.model, decoded.body, log=request[LOG_ENTRY])
    )
    return web.json_response(encode_count_tokens(total))


def add_routes(app: web.Application) -> None:
    for prefix in ("/v1", ""):  # some clients are configured without the /v1 part of the base URL
        app.router.add_post(f"{prefix}/messages", anthropic_messages)
        app.router.add_post(f"{prefix}/messages/count_tokens", anthropic_count_tokens)
