"""A running gateway (real services, real aiohttp server on loopback) in front of the fake Google."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from core.services import Services, create_services
from server.runner import GatewayServer
from tests.fake_google import FakeGoogle

API_KEY = "sk-test-gateway-key-0123456789"


@dataclass
class Gateway:
    """What a test needs to talk to the gateway and to look behind it."""

    url: str
    key: str
    services: Services
    fake: FakeGoogle
    server: GatewayServer
    http: aiohttp.ClientSession

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", **extra}

    async def flush_log(self) -> None:
        import asyncio

        await asyncio.to_thread(self.services.request_log.flush)


@pytest.fixture
async def gateway(fake_google: FakeGoogle, tmp_path: Path) -> AsyncIterator[Gateway]:
    settings = fake_google.settings(tmp_path)
    settings.server.api_keys = [API_KEY]
    services = await create_services(settings, use_keyring=False)
    account = fake_google.add_google_account("alice@example.com", project_id="proj-alice")
    await services.accounts.add_google(account.refresh_token)
    server = GatewayServer(services, shutdown_timeout=1.0)
    result = await server.start("127.0.0.1", 0)
    assert result.ok, result.error
    async with aiohttp.ClientSession() as http:
        yield Gateway(result.url, API_KEY, services, fake_google, server, http)
    await server.stop()
    await services.close()
