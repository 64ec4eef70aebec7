"""Text embeddings for every adapter's embeddings route (OpenAI's /v1/embeddings, Ollama's /api/embed)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from core.types import LogEntry
from server.handling import LOG_ENTRY, SERVICES

# Names that only mean "an embedding model": OpenAI's `text-embedding-3-small`, Ollama's `embeddinggemma`.
# When no account serves such a name, the best embedding model the accounts offer answers instead.
GENERIC_EMBEDDING_PREFIXES = ("text-embedding-", "embedding")


def is_generic_embedding_name(model: str) -> bool:
    return model.lower().removeprefix("models/").startswith(GENERIC_EMBEDDING_PREFIXES)


async def embed_texts(
    request: web.Request, model: str, texts: Sequence[str], *, dimensions: int | None = None
) -> list[list[float]]:
    """One vector per text, from the API-key accounts' embedding models.

    The request log row gets the client's model, the account and a token estimate. Raises ApiError.
    """
    entry: LogEntry = request[LOG_ENTRY]
    entry.client_model = model
    media = request.app[SERVICES].media
    requested: str | None = model
    if model and is_generic_embedding_name(model) and not media.serves(model, "embeddings"):
        requested = None
    served = media.model_for(requested, "embeddings")
    return await media.embed(served, texts, dimensions=dimensions, log=entry)
