"""The OpenAI legacy Completions adapter (`POST /v1/completions`) onto the Gemini-format gateway."""

from server.openai_completions.decode import MAX_PROMPTS, CompletionOptions, decode
from server.openai_completions.encode import CompletionStreamEncoder, encode, encode_many
from server.openai_completions.routes import add_routes, completions

__all__ = [
    "MAX_PROMPTS",
    "CompletionOptions",
    "CompletionStreamEncoder",
    "add_routes",
    "completions",
    "decode",
    "encode",
    "encode_many",
]
