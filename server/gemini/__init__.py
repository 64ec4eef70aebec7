"""Gemini-protocol adapter: /v1beta/models/{model}:generateContent, :streamGenerateContent and friends."""

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
    "GeminiStreamEncoder",
    "decode",
    "decode_count_tokens",
    "encode",
    "encode_count_tokens",
    "encode_model",
    "encode_models",
    "error_body",
    "normalise_keys",
    "strip_model_prefix",
]
