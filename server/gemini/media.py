"""Gemini's media methods passed through to API-key accounts: :embedContent, :batchEmbedContents, :predict."""

from __future__ import annotations

from aiohttp import web

from core.errors import invalid_request
from core.types import JSON
from server.gemini.translate import normalise_keys, strip_model_prefix
from server.handling import LOG_ENTRY, SERVICES, read_json

MEDIA_METHODS = frozenset({"embedContent", "batchEmbedContents", "predict"})


async def media_method(request: web.Request, model: str, method: str) -> web.Response:
    """One of MEDIA_METHODS on `models/{model}`; the upstream's reply as is, errors in Google's shape."""
    payload = await read_json(request)
    if not isinstance(payload, dict):
        raise invalid_request("The request body must be a JSON object")
    # The SDKs send camelCase; older ones snake_case. Instances and parameters are Imagen's own keys.
    body: JSON = payload if method == "predict" else normalise_keys(payload)
    name = strip_model_prefix(model)
    entry = request[LOG_ENTRY]
    entry.client_model = name
    media = request.app[SERVICES].media
    if method == "embedContent":
        if not isinstance(body.get("content"), dict):
            raise invalid_request("content is required: {parts: [{text}]}", param="content")
        reply = await media.embed_content(name, body, log=entry)
    elif method == "batchEmbedContents":
        reply = await media.batch_embed_contents(name, body, log=entry)
    else:
        if not isinstance(body.get("instances"), list) or not body["instances"]:
            raise invalid_request("instances must be a non-empty list of {prompt}", param="instances")
        reply = await media.predict(name, body, log=entry)
    return web.json_response(reply)
