"""Credentials: one refresh at a time per account, refreshed before expiry, failures not cached."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from core.config import Settings
from core.credentials import Credentials
from core.errors import ErrorKind, UpstreamError
from core.oauth import OAuthClient
from core.secrets import SecretStore
from core.types import Account, AccountKind
from tests.fake_google import FakeGoogle


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _refreshes(fake: FakeGoogle) -> int:
    return sum(1 for call in fake.calls("token") if call.body.get("grant_type") == "refresh_token")


@pytest.fixture
def secrets(tmp_path: Path) -> SecretStore:
    return SecretStore(tmp_path, use_keyring=False)


async def _google_account(fake: FakeGoogle, secrets: SecretStore, name: str = "a") -> Account:
    fake_account = fake.add_google_account(f"{name}@example.com")
    account = Account(id=f"id-{name}", kind=AccountKind.GOOGLE, email=fake_account.email)
    await asyncio.to_thread(secrets.set, account.id, fake_account.refresh_token)
    return account


async def test_concurrent_callers_share_one_refresh(
    fake_google: FakeGoogle, http: aiohttp.ClientSession, settings: Settings, secrets: SecretStore
) -> None:
    credentials = Credentials(secrets, OAuthClient(http, settings.oauth))
    alice = await _google_account(fake_google, secrets, "alice")
    bob = await _google_account(fake_google, secrets, "bob")
    tokens = await asyncio.gather(*(credentials.access_token(alice) for _ in range(20)))
    assert len(set(tokens)) == 1
    assert _refreshes(fake_google) == 1
    await credentials.access_token(bob)  # another account refreshes on its own
    assert _refreshes(fake_google) == 2
    assert await credentials.access_token(alice) == tokens[0]  # cached while fresh
    assert _refreshes(fake_google) == 2


async def test_refreshes_shortly_before_expiry_and_after_invalidate(
    fake_google: FakeGoogle, http: aiohttp.ClientSession, settings: Settings, secrets: SecretStore
) -> None:
    clock = Clock(1_000_000.0)
    oauth = OAuthClient(http, settings.oauth, clock=clock)
    settings.upstream.token_refresh_margin_s = 600.0
    credentials = Credentials(secrets, oauth, clock=clock, upstream=settings.upstream)
    account = await _google_account(fake_google, secrets)
    first = await credentials.access_token(account)
    clock.now += 3599 - 600 - 5  # still comfortably valid
    assert await credentials.access_token(account) == first
    clock.now += 10  # inside the early-refresh window: a request must not start with a dying token
    second = await credentials.access_token(account)
    assert second != first and _refreshes(fake_google) == 2
    credentials.invalidate(account.id)  # after a 401
    assert await credentials.access_token(account) != second
    assert _refreshes(fake_google) == 3


async def test_a_cancelled_caller_does_not_cancel_the_refresh_for_others(
    fake_google: FakeGoogle, http: aiohttp.ClientSession, settings: Settings, secrets: SecretStore
) -> None:
    credentials = Credentials(secrets, OAuthClient(http, settings.oauth))
    account = await _google_account(fake_google, secrets)
    impatient = asyncio.create_task(credentials.access_token(account))
    patient = asyncio.create_task(credentials.access_token(account))
    await asyncio.sleep(0)  # both are waiting on the one refresh
    impatient.cancel()
    token = await patient
    assert token and _refreshes(fake_google) == 1
    with pytest.raises(asyncio.CancelledError):
        await impatient


async def test_revoked_token_fails_every_waiter_and_is_not_cached(
    fake_google: FakeGoogle, http: aiohttp.ClientSession, settings: Settings, secrets: SecretStore
) -> None:
    credentials = Credentials(secrets, OAuthClient(http, settings.oauth))
    account = await _google_account(fake_google, secrets)
    refresh_token = await asyncio.to_thread(secrets.get, account.id)
    assert refresh_token
    fake_google.revoke(refresh_token)
    results = await asyncio.gather(
        *(credentials.access_token(account) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, UpstreamError) and r.kind is ErrorKind.NEEDS_SIGNIN for r in results)
    assert _refreshes(fake_google) == 1
    with pytest.raises(UpstreamError):
        await credentials.access_token(account)
    assert _refreshes(fake_google) == 2  # the next request tries again rather than replaying the failure


async def test_api_key_accounts_get_their_key(
    fake_google: FakeGoogle, http: aiohttp.ClientSession, settings: Settings, secrets: SecretStore
) -> None:
    credentials = Credentials(secrets, OAuthClient(http, settings.oauth))
    key = fake_google.add_api_key()
    account = Account(id="id-key", kind=AccountKind.API_KEY, label="studio")
    await asyncio.to_thread(secrets.set, account.id, key)
    assert await credentials.credential(account) == key
    assert _refreshes(fake_google) == 0
    missing = Account(id="id-missing", kind=AccountKind.API_KEY)
    with pytest.raises(UpstreamError) as caught:
        await credentials.credential(missing)
    assert caught.value.kind is ErrorKind.NEEDS_SIGNIN


async def test_a_rotated_refresh_token_is_stored_and_used_next_time(
    fake_google: FakeGoogle, http: aiohttp.ClientSession, settings: Settings, tmp_path: Path
) -> None:
    store = SecretStore(tmp_path, use_keyring=False)
    fake_google.rotate_refresh_tokens = True  # and the fake retires the old token at once
    account = await _google_account(fake_google, store)
    original = await asyncio.to_thread(store.get, account.id)
    first = Credentials(store, OAuthClient(http, settings.oauth))
    await first.access_token(account)
    rotated = await asyncio.to_thread(store.get, account.id)
    assert rotated and rotated != original
    # A fresh process (nothing cached) signs in with what the store holds; the old token would be refused.
    again = Credentials(SecretStore(tmp_path, use_keyring=False), OAuthClient(http, settings.oauth))
    assert await again.access_token(account)
    sent = [call.body["refresh_token"] for call in fake_google.calls("token")]
    assert sent == [original, rotated]
    assert fake_google.count("token", account.email) == 2
