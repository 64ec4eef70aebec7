"""BrowserSignIn against the fake Google: the test plays the browser and follows the consent URL."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from yarl import URL

from core.accounts import AccountService
from core.cloudcode import CloudCodeClient
from core.config import Settings
from core.credentials import Credentials
from core.gemini_api import GeminiApiClient
from core.oauth import OAuthClient
from core.secrets import SecretStore
from core.signin import (
    CALLBACK_PATH,
    BrowserSignIn,
    SignInCancelled,
    SignInDenied,
    SignInError,
    SignInTimedOut,
)
from core.store import Database
from core.types import Account
from core.upstream_http import UpstreamHTTP
from tests.fake_google import FakeGoogle


@dataclass
class Services:
    """The part of the app a sign-in needs, wired as core/services.py wires it."""

    oauth: OAuthClient
    accounts: AccountService


@pytest.fixture
async def services(
    settings: Settings, http: aiohttp.ClientSession, upstream_http: UpstreamHTTP
) -> AsyncIterator[Services]:
    db = await asyncio.to_thread(Database, settings.database_path)
    secrets = SecretStore(settings.home, use_keyring=False)
    oauth = OAuthClient(http, settings.oauth)
    cloudcode = CloudCodeClient(upstream_http, settings.upstream, onboard_poll_s=0.01)
    gemini_api = GeminiApiClient(upstream_http, settings.gemini_api, settings.upstream)
    accounts = AccountService(db, secrets, Credentials(secrets, oauth), oauth, cloudcode, gemini_api)
    await accounts.load()
    try:
        yield Services(oauth, accounts)
    finally:
        await accounts.close()
        await asyncio.to_thread(db.close)


async def follow(http: aiohttp.ClientSession, url: str) -> tuple[int, str, URL]:
    """What a browser does with the consent URL: follow the redirects, read the last page."""
    async with http.get(url, allow_redirects=True) as response:
        return response.status, await response.text(), response.url


async def _add_account(sign_in: BrowserSignIn, services: Services) -> Account:
    """What the sign-in dialog does: wait for the code, then exchange it and add the account."""
    code = await sign_in.wait()
    return await services.accounts.add_google_from_code(code, sign_in.redirect_uri, sign_in.pkce)


async def started(services: Services, timeout_s: float = 60.0) -> BrowserSignIn:
    sign_in = BrowserSignIn(services.oauth, timeout_s=timeout_s)
    await sign_in.start()
    return sign_in


async def test_browser_sign_in_adds_the_account(
    fake_google: FakeGoogle, services: Services, http: aiohttp.ClientSession
) -> None:
    fake_google.consent_email = "new@example.com"
    sign_in = await started(services)
    assert sign_in.redirect_uri == f"http://localhost:{sign_in.port}{CALLBACK_PATH}"
    adding = asyncio.create_task(_add_account(sign_in, services))

    status, page, landed = await follow(http, sign_in.url)

    assert (status, landed.host, landed.port, landed.path) == (200, "localhost", sign_in.port, CALLBACK_PATH)
    assert "close this tab" in page
    account = await adding
    assert account.email == "new@example.com"
    assert services.accounts.find("new@example.com") is account
    # The consent request carried PKCE S256 and asked for offline access, on the redirect the browser used.
    consent = fake_google.calls("auth")[-1].query
    assert consent["code_challenge_method"] == "S256" and consent["access_type"] == "offline"
    assert consent["redirect_uri"] == sign_in.redirect_uri
    # The listener is gone once the sign-in is over.
    with pytest.raises(aiohttp.ClientConnectionError):
        await follow(http, f"http://127.0.0.1:{sign_in.port}{CALLBACK_PATH}")


async def test_listens_on_ipv4_and_ipv6_loopback(services: Services) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    sign_in = await started(services)
    try:
        for host in ("127.0.0.1", "::1"):
            reader, writer = await asyncio.open_connection(host, sign_in.port)
            writer.write(b"GET /favicon.ico HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert (await reader.readline()).startswith(b"HTTP/1.1 404")
            writer.close()
            await writer.wait_closed()
    finally:
        await sign_in.close()


async def test_the_same_email_signs_in_again_in_place(
    fake_google: FakeGoogle, services: Services, http: aiohttp.ClientSession
) -> None:
    first = fake_google.add_google_account("again@example.com", project_id="proj-again")
    known = await services.accounts.add_google(first.refresh_token)
    fake_google.revoke(first.refresh_token)
    fake_google.consent_email = "again@example.com"
    sign_in = await started(services)
    adding = asyncio.create_task(_add_account(sign_in, services))
    await follow(http, sign_in.url)
    account = await adding
    assert account.id == known.id
    assert len(services.accounts.accounts()) == 1
    # The new refresh token is the one stored: a quota refresh works although the first one was revoked.
    await services.accounts.refresh_quota(account.id)


async def test_cancel_ends_the_wait(services: Services) -> None:
    sign_in = await started(services)
    waiting = asyncio.create_task(sign_in.wait())
    await asyncio.sleep(0.01)
    sign_in.cancel()
    with pytest.raises(SignInCancelled):
        await waiting
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", sign_in.port)


async def test_wrong_state_shows_an_error_page_and_keeps_waiting(
    fake_google: FakeGoogle, services: Services, http: aiohttp.ClientSession
) -> None:
    fake_google.consent_email = "late@example.com"
    sign_in = await started(services)
    adding = asyncio.create_task(_add_account(sign_in, services))
    forged = URL(sign_in.redirect_uri).with_query({"code": "forged-code", "state": "not-the-state"})

    status, page, _ = await follow(http, str(forged))

    assert status == 400 and "out of date" in page
    await asyncio.sleep(0.01)
    assert not adding.done()
    # The real browser still completes the sign-in afterwards (a forged code would fail the exchange).
    await follow(http, sign_in.url)
    assert (await adding).email == "late@example.com"
    assert [call.body["code"] for call in fake_google.calls("token")] != ["forged-code"]


async def test_denied_consent_is_a_clear_error(
    fake_google: FakeGoogle, services: Services, http: aiohttp.ClientSession
) -> None:
    fake_google.deny_consent = True
    sign_in = await started(services)
    waiting = asyncio.create_task(sign_in.wait())
    status, page, _ = await follow(http, sign_in.url)
    assert status == 200 and "did not allow" in page
    with pytest.raises(SignInDenied, match="Allow"):
        await waiting
    assert services.accounts.accounts() == []


async def test_times_out(services: Services) -> None:
    sign_in = await started(services, timeout_s=0.05)
    with pytest.raises(SignInTimedOut):
        await sign_in.wait()


async def consent_redirect(http: aiohttp.ClientSession, url: str) -> str:
    """The address a browser on another machine ends on: the redirect it could not follow."""
    async with http.get(url, allow_redirects=False) as response:
        assert response.status == 302
        return response.headers["Location"]


async def test_paste_the_full_address(
    fake_google: FakeGoogle, services: Services, http: aiohttp.ClientSession
) -> None:
    fake_google.consent_email = "remote@example.com"
    sign_in = await started(services)
    adding = asyncio.create_task(_add_account(sign_in, services))
    address = await consent_redirect(http, sign_in.url)

    sign_in.complete_from_url(f"  {address}\n")

    account = await adding
    assert account.email == "remote@example.com"


async def test_paste_the_bare_code(
    fake_google: FakeGoogle, services: Services, http: aiohttp.ClientSession
) -> None:
    fake_google.consent_email = "code@example.com"
    sign_in = await started(services)
    adding = asyncio.create_task(_add_account(sign_in, services))
    code = URL(await consent_redirect(http, sign_in.url)).query["code"]

    sign_in.complete_from_url(code)

    assert (await adding).email == "code@example.com"


@pytest.mark.parametrize(
    ("pasted", "message"),
    [
        ("", "Paste"),
        ("http://localhost:1/oauth-callback?scope=x", "no sign-in code"),
        ("http://localhost:1/oauth-callback?code=abc&state=someone-else", "different sign-in"),
        ("two words", "does not look like"),
    ],
)
async def test_unusable_pastes_keep_the_sign_in_waiting(
    services: Services, pasted: str, message: str
) -> None:
    sign_in = await started(services)
    try:
        with pytest.raises(SignInError, match=message):
            sign_in.complete_from_url(pasted)
        assert not sign_in.finished
    finally:
        await sign_in.close()


async def test_pasted_denial_ends_the_sign_in(
    fake_google: FakeGoogle, services: Services, http: aiohttp.ClientSession
) -> None:
    fake_google.deny_consent = True
    sign_in = await started(services)
    address = await consent_redirect(http, sign_in.url)
    sign_in.complete_from_url(address)
    with pytest.raises(SignInDenied):
        await sign_in.wait()


async def test_login_hint_for_a_second_sign_in(services: Services) -> None:
    sign_in = BrowserSignIn(services.oauth, login_hint="who@example.com")
    url = URL(await sign_in.start())
    try:
        assert url.query["login_hint"] == "who@example.com"
        assert url.query["state"] and url.query["code_challenge"]
    finally:
        await sign_in.close()


async def test_idle_connection_does_not_hold_the_listener(services: Services) -> None:
    """A browser's speculative connection that sends nothing must not keep close() waiting."""
    sign_in = await started(services)
    _, writer = await asyncio.open_connection("127.0.0.1", sign_in.port)
    await asyncio.sleep(0.01)
    sign_in.cancel()
    await asyncio.wait_for(sign_in.close(), 1.0)
    writer.close()
    await writer.wait_closed()
