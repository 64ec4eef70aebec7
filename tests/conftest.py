"""Shared fixtures: a started fake Google upstream, settings pointed at it, and a client session."""

from __future__ import annotations

import os

# Before anything creates a QApplication: GUI tests run without a screen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# ...and in English whatever the developer's desktop speaks: the app follows the system language
# (gui/i18n.py), and the tests read its English texts; tests/gui/test_i18n.py switches on purpose.
os.environ["LANGUAGE"] = "en"
os.environ["LC_MESSAGES"] = "C.UTF-8"
os.environ.pop("LC_ALL", None)

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from core.config import Settings
from core.upstream_http import UpstreamHTTP
from tests.fake_google import FakeGoogle
from tests.fake_releases import releases  # noqa: F401 - the fake releases endpoint, as a fixture everywhere


@pytest.fixture
async def fake_google() -> AsyncIterator[FakeGoogle]:
    """A FakeGoogle listening on 127.0.0.1 (a fresh port per test), closed afterwards."""
    fake = FakeGoogle()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain client session for tests that call the fake (or a client under test) directly."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def upstream_http() -> AsyncIterator[UpstreamHTTP]:
    """The generation calls' HTTP client (Cloud Code, Gemini API), as core/services.py makes it."""
    client = UpstreamHTTP()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def settings(fake_google: FakeGoogle, tmp_path: Path) -> Settings:
    """Gateway settings pointed at the fake, with a temporary data folder."""
    return fake_google.settings(tmp_path)
