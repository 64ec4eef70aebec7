"""OAuth against the fake Google: PKCE, the consent round trip, code exchange, refresh, user info, errors."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from core.config import OAuthSettings, Settings
from core.errors import ErrorKind, UpstreamError
from core.oauth import OAuthClient, Pkce, new_pkce, new_state
from tests.fake_google import FakeGoogle

REDIRECT = "http://127.0.0.1:53682/oauth-callback"
NOW = 1_800_000_000.0


@pytest.fixture
def oauth(http: aiohttp.ClientSession, settings: Settings) -> OAuthClient:
    return OAuthClient(http, settings.oauth, clock=lambda: NOW)


def test_new_pkce_has_a_64_character_verifier_and_its_s256_challenge() -> None:
    pkce = new_pkce()
    assert len(pkce.verifier) == 64
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{64}", pkce.verifier)  # RFC 7636's unreserved characters
    digest = hashlib.sha256(pkce.verifier.encode()).digest()
    assert base64.urlsafe_b64decode(pkce.challenge + "=") == digest
    assert "=" not in pkce.challenge
    assert new_pkce().verifier != pkce.verifier
    assert new_state() != new_state()


def test_authorization_url_has_every_parameter(oauth: OAuthClient, settings: Settings) -> None:
    pkce = Pkce(verifier="v" * 64, challenge="challenge-value")
    url = oauth.authorization_url(REDIRECT, "state-123", pkce)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == settings.oauth.auth_url
    query = {key: values[0] for key, values in parse_qs(parts.query, strict_parsing=True).items()}
    assert query == {
        "client_id": settings.oauth.client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": " ".join(settings.oauth.scopes),
        "access_type": "offline",
        "prompt": "consent",
        "state": "state-123",
        "code_challenge": "challenge-value",
        "code_challenge_method": "S256",
    }
    assert "+" not in parts.query  # spaces in the scope list are %20


def test_authorization_url_keeps_an_existing_query(http: aiohttp.ClientSession) -> None:
    client = OAuthClient(http, OAuthSettings(auth_url="https://example.com/auth?hd=example.com"))
    url = client.authorization_url(REDIRECT, "s", new_pkce())
    assert url.startswith("https://example.com/auth?hd=example.com&client_id=")


async def sign_in(fake: FakeGoogle, oauth: OAuthClient, http: aiohttp.ClientSession, pkce: Pkce) -> str:
    """Play the browser: open the consent page, return the code from the redirect."""
    fake.consent_email = "carol@example.com"
    state = new_state()
    async with http.get(oauth.authorization_url(REDIRECT, state, pkce), allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        location = urlsplit(response.headers["Location"])
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


async def test_full_sign_in_exchange_and_userinfo(
    fake_google: FakeGoogle, oauth: OAuthClient, http: aiohttp.ClientSession
) -> None:
    pkce = new_pkce()
    code = await sign_in(fake_google, oauth, http, pkce)
    tokens = await oauth.exchange_code(code, REDIRECT, pkce)
    assert tokens.refresh_token and tokens.access_token
    assert tokens.expires_at == NOW + 3599
    assert tokens.access_token not in repr(tokens) and tokens.refresh_token not in repr(tokens)
    form = fake_google.calls("token")[0].body
    assert form["grant_type"] == "authorization_code"
    assert form["code_verifier"] == pkce.verifier and form["redirect_uri"] == REDIRECT
    info = await oauth.userinfo(tokens.access_token)
    assert info["email"] == "carol@example.com"
    # The refresh token that came back works.
    refreshed = await oauth.refresh(tokens.refresh_token)
    assert refreshed.access_token != tokens.access_token and refreshed.refresh_token is None


async def test_exchange_with_the_wrong_verifier_needs_a_new_sign_in(
    fake_google: FakeGoogle, oauth: OAuthClient, http: aiohttp.ClientSession
) -> None:
    code = await sign_in(fake_google, oauth, http, new_pkce())
    with pytest.raises(UpstreamError) as caught:
        await oauth.exchange_code(code, REDIRECT, new_pkce())
    assert caught.value.kind is ErrorKind.NEEDS_SIGNIN
    assert caught.value.reason == "invalid_grant"


async def test_refresh_gives_a_token_that_expires_in_an_hour(
    fake_google: FakeGoogle, oauth: OAuthClient
) -> None:
    account = fake_google.add_google_account("dave@example.com")
    tokens = await oauth.refresh(account.refresh_token)
    assert tokens.expires_at == NOW + 3599
    form = fake_google.calls("token")[0].body
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == account.refresh_token
    assert (await oauth.userinfo(tokens.access_token))["email"] == "dave@example.com"


async def test_revoked_refresh_token_needs_a_new_sign_in(fake_google: FakeGoogle, oauth: OAuthClient) -> None:
    account = fake_google.add_google_account("erin@example.com")
    fake_google.revoke(account.refresh_token)
    with pytest.raises(UpstreamError) as caught:
        await oauth.refresh(account.refresh_token)
    error = caught.value
    assert error.kind is ErrorKind.NEEDS_SIGNIN and error.status == 400
    assert "expired or revoked" in error.message
    assert account.refresh_token not in str(error)


async def test_wrong_client_secret_is_a_client_configuration_error(
    fake_google: FakeGoogle, http: aiohttp.ClientSession, settings: Settings
) -> None:
    account = fake_google.add_google_account("frank@example.com")
    settings.oauth.client_secret = "GOCSPX-wrong-secret-value"
    with pytest.raises(UpstreamError) as caught:
        await OAuthClient(http, settings.oauth).refresh(account.refresh_token)
    assert caught.value.kind is ErrorKind.CLIENT_CONFIG
    assert "GOCSPX-wrong-secret-value" not in str(caught.value)


async def test_unreachable_token_endpoint_is_a_network_error(
    http: aiohttp.ClientSession, settings: Settings
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.oauth.token_url = f"http://127.0.0.1:{port}/token"
    with pytest.raises(UpstreamError) as caught:
        await OAuthClient(http, settings.oauth).refresh("1//some-refresh-token-value")
    assert caught.value.kind is ErrorKind.NETWORK
    assert "1//some-refresh-token-value" not in str(caught.value)


async def test_userinfo_with_a_dead_token_is_unauthenticated(oauth: OAuthClient) -> None:
    with pytest.raises(UpstreamError) as caught:
        await oauth.userinfo("ya29.expired-token-value")
    assert caught.value.kind is ErrorKind.UNAUTHENTICATED
    assert "ya29.expired-token-value" not in str(caught.value)
