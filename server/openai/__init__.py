"""The OpenAI Chat Completions adapter: decode requests to Gemini, encode Gemini answers and streams back."""

from server.openai.decode import ChatOptions, decode
from server.openai.encode import encode, encode_models, error_body
from server.openai.routes import PROTOCOL, add_routes
from server.openai.stream import ChatStreamEncoder

__all__ = [
    "PROTOCOL",
    "ChatOptions",
    "ChatStreamEncoder",
    "add_routes",
    "decode",
    "encode",
    "encode_models",
    "error_body",
]
