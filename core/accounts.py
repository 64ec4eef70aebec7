"""The account service: adds, imports, lists and removes accounts; holds them in memory, persisted in SQLite."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.credentials import Credentials
from core.cloudcode import CloudCodeClient
from core.gemini_api import GeminiApiClient
from core.oauth import OAuthClient, Pkce
from core.secrets import SecretStore
from core.store import Database
from core.types import Account, AccountStatus, ModelQuota


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)  # e-mails
    updated: list[str] = field(default_factory=list)  # e-mails already known: token replaced
    failed: list[tuple[str, str]] = field(default_factory=list)  # (e-mail or "#index", reason)


class AccountService:
    """The one owner of the account list. Every method that changes an account persists it (off the event
    loop) and calls the listeners, so the pool, the CLI and the GUI see the same state.

    Signals (plain callbacks): `add_listener(fn)`, fn(account_id) after any change, removal included.
    """

    def __init__(
        self,
        db: Database,
        secrets: SecretStore,
        credentials: Credentials,
        oauth: OAuthClient,
        cloudcode: CloudCodeClient,
        gemini_api: GeminiApiClient,
    ) -> None:
        raise NotImplementedError

    async def load(self) -> None:
        """Read every account from the database (call once at start)."""
        raise NotImplementedError

    def accounts(self) -> list[Account]:
        """All accounts, in the order they were added (no I/O)."""
        raise NotImplementedError

    def get(self, account_id: str) -> Account | None:
        raise NotImplementedError

    def find(self, id_or_email: str) -> Account | None:
        raise NotImplementedError

    def add_listener(self, listener: Callable[[str], None]) -> None:
        raise NotImplementedError

    async def add_google(self, refresh_token: str) -> Account:
        """Refresh the token, read the e-mail (userinfo), find or onboard the project, read tier and quota,
        then store. An account with the same e-mail is updated in place. A revoked token raises
        UpstreamError(NEEDS_SIGNIN) and stores nothing."""
        raise NotImplementedError

    async def add_google_from_code(self, code: str, redirect_uri: str, pkce: Pkce) -> Account:
        """The browser sign-in's last step: exchange the code, then as add_google."""
        raise NotImplementedError

    async def add_api_key(self, api_key: str, label: str | None = None) -> Account:
        """Check the key by listing its models, then store."""
        raise NotImplementedError

    async def import_file(self, path: Path) -> ImportResult:
        """A JSON list of {"refresh_token": ..., "email"?: ...}; duplicates by e-mail merged."""
        raise NotImplementedError

    async def remove(self, id_or_email: str) -> Account:
        """Delete the account and its secret; KeyError when there is no such account."""
        raise NotImplementedError

    async def set_enabled(self, account_id: str, enabled: bool) -> None:
        raise NotImplementedError

    async def refresh_quota(self, account_id: str) -> Account:
        """Re-read the account's models and quota from the upstream and persist them."""
        raise NotImplementedError

    async def refresh_all_quotas(self) -> None:
        """refresh_quota for every enabled account, concurrently; failures are recorded, not raised."""
        raise NotImplementedError

    async def set_status(self, account_id: str, status: AccountStatus, reason: str = "") -> None:
        """Persist a status change decided by the pool (needs sign-in, blocked, ok)."""
        raise NotImplementedError

    async def set_model_quota(self, account_id: str, quota: ModelQuota) -> None:
        """Persist one model's quota as learnt from an upstream answer (e.g. a QUOTA_EXHAUSTED 429)."""
        raise NotImplementedError

    async def touch(self, account_id: str) -> None:
        """Record that the account just served a request (last_used_at); cheap, batched."""
        raise NotImplementedError
