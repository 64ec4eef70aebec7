"""A running gateway (real services, real aiohttp server on loopback) in front of the fake Google, and the
official SDK clients pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from anthropic import AsyncAnthropic
from google import genai
from google.genai import types
from openai import AsyncOpenAI

from core.services import Services, create_services
from core.types import Account, LogEntry
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
        await asyncio.to_thread(self.services.request_log.flush)

    async def log_rows(self) -> list[LogEntry]:
        """Every request-log row, newest first."""
        await self.flush_log()
        return await asyncio.to_thread(self.services.db.query_log, None)

    def sent(self, method: str | None = None) -> list[dict[str, Any]]:
        """The Gemini requests the fake's Cloud Code side received for one method, or for either generate
        method when none is given (unwrapped from the envelope)."""
        calls = self.fake.calls(method) if method else self.fake.generate_calls()
        return [call.body["request"] for call in calls if call.service == "cloudcode"]

    async def add_google_account(
        self, email: str, project_id: str | None = "", models: dict[str, float] | None = None
    ) -> Account:
        """Another Google account, known to the fake (with `models` and their remaining quota fractions when
        given) and signed in to the gateway."""
        fake_account = self.fake.add_google_account(email, project_id=project_id, models=models)
        return await self.services.accounts.add_google(fake_account.refresh_token)

    async def add_api_key(self, models: list[str], label: str) -> str:
        """A Gemini API key for `models`, known to the fake and added to the gateway; the key."""
        key = self.fake.add_api_key(models=models)
        await self.services.accounts.add_api_key(key, label=label)
        return key

    def account(self, email: str) -> Account:
        found = self.services.accounts.find(email)
        assert found is not None
        return found


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


# --- SDK clients on the gateway: no retries, so every failure surfaces; a short timeout --------------------


@pytest.fixture
async def openai_client(gateway: Gateway) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(
        base_url=gateway.url + "/v1", api_key=gateway.key, max_retries=0, timeout=10.0
    ) as sdk:
        yield sdk


@pytest.fixture
async def claude(gateway: Gateway) -> AsyncIterator[AsyncAnthropic]:
    async with AsyncAnthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0, timeout=10.0) as sdk:
        yield sdk


def new_genai_client(url: str, key: str, api_version: str | None = "v1beta") -> genai.Client:
    """A google-genai client on a gateway; api_version None is the SDK's own default (other paths)."""
    options = types.HttpOptions(
        base_url=url,
        api_version=api_version,
        timeout=10_000,  # milliseconds
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    return genai.Client(api_key=key, http_options=options)


async def close_genai_client(sdk: genai.Client) -> None:
    await sdk.aio.aclose()
    sdk.close()


@pytest.fixture
async def genai_client(gateway: Gateway) -> AsyncIterator[genai.Client]:
    sdk = new_genai_client(gateway.url, gateway.key)
    try:
        yield sdk
    finally:
        await close_genai_client(sdk)
