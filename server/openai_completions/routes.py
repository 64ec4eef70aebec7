"""Routes of the legacy Completions API: one prompt takes the shared generate path, several run concurrently."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from core.gateway import GatewayRequest
from core.types import JSON
from server.handling import LOG_ENTRY, SERVICES, STARTED, generate, read_json
from server.openai_completions.decode import decode
from server.openai_completions.encode import CompletionStreamEncoder, encode, encode_many


async def completions(request: web.Request) -> web.StreamResponse:
    payload = await read_json(request)
    decoded = decode(payload)
    if len(decoded) == 1:
        return await generate(request, decoded[0], encode, CompletionStreamEncoder, payload)
    services = request.app[SERVICES]
    entry = request[LOG_ENTRY]
    entry.client_model, entry.stream = decoded[0].model, False
    capture = services.settings.log.capture_bodies
    if capture:
        entry.request_body = json.dumps(payload, ensure_ascii=False)[:200_000]
    # Every call fills the one log row (model, account); the token counts are summed afterwards.
    calls = [GatewayRequest(d.model, d.body, d.conversation_key, entry) for d in decoded]
    responses = await _all_or_none([services.gateway.generate(call) for call in calls])
    answer = encode_many(responses, decoded)
    entry.tokens_in = answer["usage"]["prompt_tokens"]
    entry.tokens_out = answer["usage"]["completion_tokens"]
    entry.ttfb_ms = (time.perf_counter() - request[STARTED]) * 1000.0
    if capture:
        entry.response_body = json.dumps(answer, ensure_ascii=False)[:200_000]
    return web.json_response(answer)


async def _all_or_none(calls: list[Coroutine[Any, Any, JSON]]) -> list[JSON]:
    """Run the calls concurrently; the first failure cancels the rest (no upstream call is left running)."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def add_routes(app: web.Application) -> None:
    for prefix in ("/v1", ""):  # some clients are configured without the /v1 part of the base URL
        app.router.add_post(f"{prefix}/completions", completions)
