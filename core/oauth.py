"""Google OAuth for installed apps: PKCE authorization URL, code exchange, token refresh, user info."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp

from core.config import OAuthSettings
from core.errors import ErrorKind, UpstreamError
from core.redact import redact
from core.types import JSON
from core.upstream_errors import classify_http_error, classify_network_error

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=30.0, sock_connect=10.0)
DEFAULT_EXPIRES_IN_S = 3599.0  # Google's usual lifetime, used when a reply leaves expires_in out

# OAuth error codes (RFC 6749 §5.2) that say something about the account or the client, not the call.
_OAUTH_ERROR_KINDS = {
    "invalid_grant": ErrorKind.NEEDS_SIGNIN,
    "invalid_client": ErrorKind.CLIENT_CONFIG,
    "unauthorized_client": ErrorKind.CLIENT_CONFIG,
}


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    expires_at: float  # time.time() seconds when the access token stops working
    refresh_token: str | None = None  # only on code exchange

    def __repr__(self) -> str:  # keeps tokens out of logs and tracebacks that print the object
        return f"TokenSet(access_token=[redacted], expires_at={self.expires_at!r}, refresh_token=[redacted])"


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str  # S256 of the verifier, base64url without padding


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_pkce() -> Pkce:
    """A fresh PKCE pair; 48 random bytes give a 64-character verifier from RFC 7636's unreserved set."""
    verifier = secrets.token_urlsafe(48)
    return Pkce(verifier=verifier, challenge=pkce_challenge(verifier))


def new_state() -> str:
    """A random `state` for one sign-in, checked when the browser comes back."""
    return secrets.token_urlsafe(24)


def _oauth_error(status: int, body: bytes) -> UpstreamError:
    """Classify a refused token or userinfo call; the OAuth codes decide before the HTTP status."""
    try:
        document: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        document = None
    code = document.get("error") if isinstance(document, dict) else None
    if isinstance(code, str) and code in _OAUTH_ERROR_KINDS:
        description = document.get("error_description")
        detail = f"{code}: {description}" if isinstance(description, str) and description else code
        if _OAUTH_ERROR_KINDS[code] is ErrorKind.NEEDS_SIGNIN:
            message = f"Google refused the sign-in ({detail}); sign in to this account again"
        else:
            message = (
                f"Google refused the OAuth client ({detail}); check the client id and secret in the settings"
            )
        return UpstreamError(_OAUTH_ERROR_KINDS[code], status, redact(message)[:400], reason=code)
    return classify_http_error(status, body, model=None)


class OAuthClient:
    """Talks to Google's OAuth endpoints (URLs from settings). Errors raise core.errors.UpstreamError:
    invalid_grant -> ErrorKind.NEEDS_SIGNIN, invalid_client/unauthorized_client -> ErrorKind.CLIENT_CONFIG."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        settings: OAuthSettings,
        *,
        clock: Callable[[], float] = time.time,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._http = http
        self._settings = settings
        self._clock = clock
        self._timeout = timeout

    def authorization_url(self, redirect_uri: str, state: str, pkce: Pkce) -> str:
        """The consent page to open in the browser; it comes back to redirect_uri with `code` and `state`."""
        params = {
            "client_id": self._settings.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(self._settings.scopes),
            "access_type": "offline",  # ask for a refresh token
            "prompt": "consent",  # ...every time, not only on the first consent
            "state": state,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
        }
        separator = "&" if "?" in self._settings.auth_url else "?"
        return self._settings.auth_url + separator + urlencode(params, quote_via=quote)

    async def exchange_code(self, code: str, redirect_uri: str, pkce: Pkce) -> TokenSet:
        """The last step of a browser sign-in: the code for an access token and a refresh token."""
        return await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": pkce.verifier,
            }
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        """A fresh access token; a revoked or expired refresh token raises UpstreamError(NEEDS_SIGNIN)."""
        return await self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def userinfo(self, access_token: str) -> JSON:
        """`{"id", "email", "name", "picture"}` of the signed-in account."""
        headers = {"Authorization": "Bearer " + access_token, "Accept": "application/json"}
        status, body = await self._send("GET", self._settings.userinfo_url, headers=headers)
        if status != 200:
            raise _oauth_error(status, body)
        return self._json_object(body, status)

    async def _token_request(self, form: dict[str, str]) -> TokenSet:
        form = {**form, "client_id": self._settings.client_id, "client_secret": self._settings.client_secret}
        status, body = await self._send("POST", self._settings.token_url, data=form)
        if status != 200:
            raise _oauth_error(status, body)
        reply = self._json_object(body, status)
        access_token = reply.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise UpstreamError(ErrorKind.SERVER, status, "Google's token reply has no access token")
        expires_in = reply.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else DEFAULT_EXPIRES_IN_S
        refresh_token = reply.get("refresh_token")
        return TokenSet(
            access_token=access_token,
            expires_at=self._clock() + lifetime,
            refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
        )

    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        try:
            async with self._http.request(
                method, url, headers=headers, data=data, timeout=self._timeout
            ) as response:
                return response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise classify_network_error(exc) from None

    @staticmethod
    def _json_object(body: bytes, status: int) -> JSON:
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            document = None
        if not isinstance(document, dict):
            raise UpstreamError(
                ErrorKind.SERVER, status, "Google's OAuth service sent a reply that is not JSON"
            )
        return document
