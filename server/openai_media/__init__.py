"""OpenAI's media endpoints: /v1/embeddings, /v1/images/generations and /v1/audio/speech, served by core.media."""

from server.openai_media.routes import add_routes, media_of

__all__ = ["add_routes", "media_of"]
