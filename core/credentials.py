"""Access tokens and API keys for accounts: cached, refreshed before expiry, one refresh at a time per account."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from core.config import UpstreamSettings
from core.errors import ErrorKind, UpstreamError
from core.oauth import OAuthClient, TokenSet
from core.secrets import SecretStore
from core.types import Account, AccountKind

log = logging.getLogger(__name__)


class Credentials:
    """Hands out the credential an upstream call needs. Concurrent callers for the same account share one
    refresh. Secrets are read from the store in a worker thread (keyring calls block).

    An access token is refreshed only when less than upstream.token_refresh_margin_s of it is left (or after
    a 401); a new refresh token Google hands out with it replaces the stored one."""

    def __init__(
        self,
        secrets: SecretStore,
        oauth: OAuthClient,
        clock: Callable[[], float] = time.time,
        *,
        upstream: UpstreamSettings | None = None,
    ) -> None:
        self._secrets = secrets
        self._oauth = oauth
        self._clock = clock
        self._upstream = upstream if upstream is not None else UpstreamSettings()
        self._tokens: dict[str, TokenSet] = {}
        self._refreshing: dict[str, asyncio.Task[TokenSet]] = {}
        self._secret_cache: dict[str, str] = {}

    async def secret(self, account: Account) -> str:
        """The account's stored refresh token or API key."""
        if (cached := self._secret_cache.get(account.id)) is not None:
            return cached
        value = await asyncio.to_thread(self._secrets.get, account.id)
        if value is None:
            raise UpstreamError(
                ErrorKind.NEEDS_SIGNIN, 0, f"No stored credential for {account.name}; add it again"
            )
        self._secret_cache[account.id] = value
        return value

    async def credential(self, account: Account) -> str:
        """An access token for a Google account, the API key for an API-key account."""
        if account.kind is AccountKind.API_KEY:
            return await self.secret(account)
        return await self.access_token(account)

    async def access_token(self, account: Account) -> str:
        token = self._tokens.get(account.id)
        margin = max(0.0, self._upstream.token_refresh_margin_s)
        if token is not None and token.expires_at - margin > self._clock():
            return token.access_token
        return (await self._refresh_once(account)).access_token

    def remember(self, account_id: str, token: TokenSet, secret: str | None = None) -> None:
        """Keep a token obtained elsewhere (sign-in, add) so the next request does not refresh again."""
        self._tokens[account_id] = token
        if secret is not None:
            self._secret_cache[account_id] = secret

    def invalidate(self, account_id: str) -> None:
        """Forget the access token (after a 401) so the next call refreshes."""
        self._tokens.pop(account_id, None)

    def forget(self, account_id: str) -> None:
        """Forget everything about an account (removed, or its secret replaced)."""
        self._tokens.pop(account_id, None)
        self._secret_cache.pop(account_id, None)

    async def _refresh_once(self, account: Account) -> TokenSet:
        # The refresh runs as its own task so that a caller who goes away (client disconnect) does not
        # cancel it for the others waiting on the same account.
        task = self._refreshing.get(account.id)
        if task is None:
            task = asyncio.create_task(self._refresh(account))
            self._refreshing[account.id] = task
            task.add_done_callback(lambda done: self._refresh_done(account.id, done))
        return await asyncio.shield(task)

    async def _refresh(self, account: Account) -> TokenSet:
        stored = await self.secret(account)
        token = await self._oauth.refresh(stored)
        self._tokens[account.id] = token
        if token.refresh_token is not None and token.refresh_token != stored:
            await self._keep_rotated(account, token.refresh_token)
        return token

    async def _keep_rotated(self, account: Account, refresh_token: str) -> None:
        """Google rotated the refresh token: the old one may stop working, so the new one is stored at once."""
        self._secret_cache[account.id] = refresh_token
        try:
            await asyncio.to_thread(self._secrets.set, account.id, refresh_token)
        except Exception as exc:  # it still serves from memory; the next rotation tries to store again
            log.warning("Could not store the new refresh token of %s: %s", account.name, type(exc).__name__)

    def _refresh_done(self, account_id: str, task: asyncio.Task[TokenSet]) -> None:
        self._refreshing.pop(account_id, None)
        if not task.cancelled():
            task.exception()  # retrieved here, so an unawaited failure is not reported as "never retrieved"
