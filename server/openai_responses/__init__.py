"""The OpenAI Responses adapter (`POST /v1/responses`, what Codex-style clients use) onto the Gemini gateway."""

from server.openai_responses.decode import ResponsesOptions, decode
from server.openai_responses.encode import ResponseBuilder, encode, usage_from
from server.openai_responses.routes import add_routes, responses
from server.openai_responses.stream import ResponsesStreamEncoder

__all__ = [
    "ResponseBuilder",
    "ResponsesOptions",
    "ResponsesStreamEncoder",
    "add_routes",
    "decode",
    "encode",
    "responses",
    "usage_from",
]
