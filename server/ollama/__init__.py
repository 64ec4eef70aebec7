"""The Ollama API adapter: `/api/chat`, `/api/generate`, `/api/embed`, models, and the NDJSON stream encoders."""

from server.ollama.decode import OllamaOptions, decode_chat, decode_embed, decode_generate, model_name
from server.ollama.encode import OLLAMA_VERSION, encode, encode_show, encode_tags, error_body, load_reply
from server.ollama.routes import PROTOCOL, add_routes
from server.ollama.stream import ChatStreamEncoder, GenerateStreamEncoder, stream_encoder

__all__ = [
    "OLLAMA_VERSION",
    "PROTOCOL",
    "ChatStreamEncoder",
    "GenerateStreamEncoder",
    "OllamaOptions",
    "add_routes",
    "decode_chat",
    "decode_embed",
    "decode_generate",
    "encode",
    "encode_show",
    "encode_tags",
    "error_body",
    "load_reply",
    "model_name",
    "stream_encoder",
]
