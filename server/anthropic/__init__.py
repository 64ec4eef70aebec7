"""The Claude (Anthropic Messages) adapter: requests to Gemini, Gemini answers and streams back to Claude."""

from server.anthropic.decode import MessagesOptions, decode, decode_count_tokens
from server.anthropic.encode import encode, encode_count_tokens, encode_models, error_body
from server.anthropic.routes import PROTOCOL, add_routes
from server.anthropic.stream import MessagesStreamEncoder

__all__ = [
    "PROTOCOL",
    "MessagesOptions",
    "MessagesStreamEncoder",
    "add_routes",
    "decode",
    "decode_count_tokens",
    "encode",
    "encode_count_tokens",
    "encode_models",
    "error_body",
]
