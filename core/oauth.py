"""Google OAuth for installed apps: PKCE authorization URL, code exchange, token refresh, user info."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from core.config import OAuthSettings
from core.types import JSON


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    expires_at: float  # time.time() seconds when the access token stops working
    refresh_token: str | None = None  # only on code exchange


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str  # S256 of the verifier, base64url without padding


def new_pkce() -> Pkce:
    raise NotImplementedError


class OAuthClient:
    """Talks to Google's OAuth endpoints (URLs from settings). Errors raise core.errors.UpstreamError:
    invalid_grant -> ErrorKind.NEEDS_SIGNIN, invalid_client/unauthorized_client -> ErrorKind.CLIENT_CONFIG."""

    def __init__(self, http: aiohttp.ClientSession, settings: OAuthSettings) -> None:
        self._http = http
        self._settings = settings

    def authorization_url(self, redirect_uri: str, state: str, pkce: Pkce) -> str:
        raise NotImplementedError

    async def exchange_code(self, code: str, redirect_uri: str, pkce: Pkce) -> TokenSet:
        raise NotImplementedError

    async def refresh(self, refresh_token: str) -> TokenSet:
        raise NotImplementedError

    async def userinfo(self, access_token: str) -> JSON:
        raise NotImplementedError
