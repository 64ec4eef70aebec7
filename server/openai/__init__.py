"""The OpenAI Chat Completions adapter: decode requests to Gemini, encode Gemini answers and streams back."""

from server.openai.decode import decode
from server.openai.encode import encode, encode_models, error_body
from server.openai.request_parts import REASONING_BUDGETS
from server.openai.stream import ChatStreamEncoder

__all__ = ["REASONING_BUDGETS", "ChatStreamEncoder", "decode", "encode", "encode_models", "error_body"]
