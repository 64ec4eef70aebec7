"""Routes of the Chat Completions API (`POST /v1/chat/completions`) on the shared generate path."""

from __future__ import annotations

from aiohttp import web

from server.handling import SERVICES, ClientProtocol, generate, read_json
from server.openai.decode import decode
from server.openai.encode import encode, error_body
from server.openai.stream import ChatStreamEncoder

PROTOCOL = ClientProtocol("openai", error_body)  # also the legacy completions' and the Responses API's


async def openai_chat(request: web.Request) -> web.StreamResponse:
    payload = await read_json(request)
    decoded = decode(payload, image_output=request.app[SERVICES].settings.server.image_output)
    return await generate(request, decoded, encode, ChatStreamEncoder, payload)


def add_routes(app: web.Application) -> None:
    for prefix in ("/v1", ""):  # some clients are configured without the /v1 part of the base URL
        app.router.add_post(f"{prefix}/chat/completions", openai_chat)
