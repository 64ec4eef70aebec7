"""Gemini-protocol adapter: /v1beta/models/{model}:generateContent, :streamGenerateContent and friends."""

from server.gemini.media import MEDIA_METHODS, media_method
from server.gemini.routes import PROTOCOL, add_routes, gemini_get_model
from server.gemini.stream import GeminiStreamEncoder
from server.gemini.translate import (
    decode,
    decode_count_tokens,
    encode,
    encode_count_tokens,
    encode_model,
    encode_models,
    error_body,
    normalise_keys,
    strip_model_prefix,
)

__all__ = [
    "MEDIA_METHODS",
    "PROTOCOL",
    "GeminiStreamEncoder",
    "add_routes",
    "decode",
    "decode_count_tokens",
    "encode",
    "encode_count_tokens",
    "encode_model",
    "encode_models",
    "error_body",
    "gemini_get_model",
    "media_method",
    "normalise_keys",
    "strip_model_prefix",
]
