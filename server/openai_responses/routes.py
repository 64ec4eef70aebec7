"""Routes of the OpenAI Responses API: one more adapter on the shared generate path."""

from __future__ import annotations

from aiohttp import web

from server import openai
from server.handling import ClientProtocol, generate, read_json
from server.openai_responses.decode import decode
from server.openai_responses.encode import encode
from server.openai_responses.stream import ResponsesStreamEncoder

OPENAI = ClientProtocol("openai", openai.error_body)


async def responses(request: web.Request) -> web.StreamResponse:
    payload = await read_json(request)
    return await generate(request, OPENAI, decode(payload), encode, ResponsesStreamEncoder, payload)


def add_routes(app: web.Application) -> None:
    for prefix in ("/v1", ""):  # some clients are configured without the /v1 part of the base URL
        app.router.add_post(f"{prefix}/responses", responses)
