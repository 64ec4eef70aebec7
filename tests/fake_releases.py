"""A local fake of a releases endpoint (GitHub's releases API shape) on 127.0.0.1, for the update check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web


@dataclass
class FakeReleases:
    """A releases endpoint whose answer a test sets; counts the requests it gets."""

    url: str = ""
    body: Any = None  # JSON-able, or bytes sent as they are
    status: int = 200
    hits: int = 0
    runner: web.AppRunner | None = field(default=None, repr=False)

    async def handle(self, _request: web.Request) -> web.Response:
        self.hits += 1
        if isinstance(self.body, bytes):
            return web.Response(body=self.body, status=self.status, content_type="application/json")
        return web.json_response(self.body, status=self.status)


@pytest.fixture
async def releases() -> AsyncIterator[FakeReleases]:
    fake = FakeReleases()
    app = web.Application()
    app.router.add_get("/repos/us/gravity-desk/releases", fake.handle)
    fake.runner = web.AppRunner(app)
    await fake.runner.setup()
    site = web.TCPSite(fake.runner, "127.0.0.1", 0)
    await site.start()
    port = fake.runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}/repos/us/gravity-desk/releases"
    yield fake
    await fake.runner.cleanup()
