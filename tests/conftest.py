"""Shared fixtures: a started fake Google upstream for every suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fake_google import FakeGoogle


@pytest.fixture
async def fake_google() -> AsyncIterator[FakeGoogle]:
    """A FakeGoogle listening on 127.0.0.1 (a fresh port per test), closed afterwards."""
    fake = FakeGoogle()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
