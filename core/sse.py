"""Incremental Server-Sent-Events reader for upstream streams (never buffers a whole stream)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp


async def iter_sse_data(content: aiohttp.StreamReader) -> AsyncIterator[str]:
    """Yield the `data:` payload of each SSE event as it arrives (multi-line data joined with '\\n')."""
    raise NotImplementedError
    yield ""
