"""The account service: adds, imports, lists and removes accounts; holds them in memory, persisted in SQLite."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import Any, TypeVar

from core.cloudcode import CloudCodeClient, ModelCatalogue, ProjectInfo, parse_quota_summary
from core.config import QuotaSettings, UpstreamSettings
from core.credentials import Credentials
from core.errors import ErrorKind, UpstreamError
from core.gemini_api import GeminiApiClient
from core.oauth import OAuthClient, Pkce, TokenSet
from core.redact import mask_secret
from core.secrets import SecretStore
from core.store import Database
from core.types import Account, AccountKind, AccountStatus, ModelQuota, QuotaWindow

log = logging.getLogger(__name__)

ACCOUNT_ID_BYTES = 6  # 12 hex characters: short enough to type, plenty for a handful of accounts
TOUCH_PERSIST_S = 5.0  # last_used_at reaches the database at most this often (and on close)
UPSTREAM_CONCURRENCY = 4  # quota refreshes and import sign-ins in flight at once
MAX_LABEL_LENGTH = 40  # a label is a short name beside the e-mail, not a note
NO_SUMMARY_RETRY_S = 6 * 3600.0  # an account without retrieveUserQuotaSummary (404) is asked again this late
# A refresh that is not forced is skipped while the last reading is younger than this share of the interval
# (the periodic loop's own timing jitter must not skip every other round).
REFRESH_AGE_SHARE = 0.9

_T = TypeVar("_T")

# Upstream failures that say something lasting about the account, and the status they earn it.
_STATUS_FOR_ERROR = {
    ErrorKind.NEEDS_SIGNIN: AccountStatus.NEEDS_SIGNIN,
    ErrorKind.FORBIDDEN: AccountStatus.BLOCKED,
}


class ImportFileError(ValueError):
    """The import file cannot be used at all (unreadable, not JSON, not a list); the message says why."""


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)  # e-mails
    updated: list[str] = field(default_factory=list)  # e-mails already known: token replaced
    failed: list[tuple[str, str]] = field(default_factory=list)  # (e-mail or "#index", reason)


@dataclass(frozen=True)
class _GoogleSignIn:
    """What add_google learnt from the upstream, before anything is stored."""

    refresh_token: str
    token: TokenSet
    email: str
    project: ProjectInfo
    catalogue: ModelCatalogue
    windows: tuple[QuotaWindow, ...] = ()


@dataclass(frozen=True)
class _GoogleReading:
    """One read of a Google account's project, catalogue and quota windows."""

    project: ProjectInfo
    catalogue: ModelCatalogue
    windows: tuple[QuotaWindow, ...] | None  # None: not read this time (keep what is known)
    tier_read: bool = False  # loadCodeAssist answered this time (the tier in `project` is fresh)


@dataclass(frozen=True)
class _ImportEntry:
    label: str  # the e-mail given in the file, else "#<1-based index>"
    refresh_token: str


def _now() -> datetime:
    return datetime.now(UTC)


def _new_account_id() -> str:
    return token_hex(ACCOUNT_ID_BYTES)


def _default_api_key_label(api_key: str) -> str:
    return f"API key {mask_secret(api_key)}"


def _failure_reason(error: Exception) -> str:
    """A reason safe to show: UpstreamError messages never hold secrets; other errors are named by type."""
    if isinstance(error, UpstreamError):
        return error.message
    if isinstance(error, ValueError | OSError):
        return str(error)
    return type(error).__name__


def _read_import_file(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # Windows tools often write a BOM; json.loads rejects it
    except (OSError, UnicodeDecodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ImportFileError(f"{path}: cannot be read: {detail}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(document, list):
        raise ImportFileError(
            f'{path}: expected a JSON list of {{"refresh_token": ..., "email": ...}} objects, '
            f"not a JSON {type(document).__name__}"
        )
    return document


def _import_entries(raw_entries: list[Any], failed: list[tuple[str, str]]) -> list[_ImportEntry]:
    """Valid entries in file order, the same e-mail merged (the last token wins); bad ones go to `failed`."""
    by_email: dict[str, tuple[int, _ImportEntry]] = {}
    anonymous: list[tuple[int, _ImportEntry]] = []
    for index, raw in enumerate(raw_entries, start=1):
        where = f"#{index}"
        if not isinstance(raw, dict):
            failed.append((where, "not a JSON object"))
            continue
        email = raw.get("email")
        label = email.strip() if isinstance(email, str) and email.strip() else where
        token = raw.get("refresh_token")
        if not isinstance(token, str) or not token.strip():
            failed.append((label, "no refresh_token"))
            continue
        entry = _ImportEntry(label, token.strip())
        if label == where:
            anonymous.append((index, entry))
        else:
            by_email[label.casefold()] = (index, entry)
    return [entry for _, entry in sorted([*by_email.values(), *anonymous], key=lambda pair: pair[0])]


class AccountService:
    """The one owner of the account list. Every method that changes an account persists it (off the event
    loop) and calls the listeners, so the pool, the CLI and the GUI see the same state.

    Memory is updated before the database, so the pool's next pick sees a change at once. Returned
    Account objects are the live ones: read them, change them only through this service.

    Signals (plain callbacks): `add_listener(fn)`, fn(account_id) after any change, removal included
    (for `touch`, when the batched last_used_at is written).
    """

    def __init__(
        self,
        db: Database,
        secrets: SecretStore,
        credentials: Credentials,
        oauth: OAuthClient,
        cloudcode: CloudCodeClient,
        gemini_api: GeminiApiClient,
        *,
        touch_persist_s: float = TOUCH_PERSIST_S,
        upstream: UpstreamSettings | None = None,
        quota: QuotaSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._upstream = upstream if upstream is not None else UpstreamSettings()
        self._quota = quota if quota is not None else QuotaSettings()
        self._clock = clock
        self._no_summary_at: dict[str, float] = {}  # account id -> clock() of its summary's last 404
        self._db = db
        self._secrets = secrets
        self._credentials = credentials
        self._oauth = oauth
        self._cloudcode = cloudcode
        self._gemini_api = gemini_api
        self._touch_persist_s = touch_persist_s
        self._accounts: dict[str, Account] = {}  # insertion order is the order accounts were added
        self._listeners: list[Callable[[str], None]] = []
        # Database writes run in worker threads; one at a time keeps them in the order they were asked for.
        self._write_lock = asyncio.Lock()
        # Adding is find-or-create by e-mail (or key): two adds of the same account must not both create.
        self._add_lock = asyncio.Lock()
        self._touched: set[str] = set()
        self._touch_persisted_at = time.monotonic()

    # -- reading ------------------------------------------------------------------------------------

    async def load(self) -> None:
        """Read every account from the database (call once at start)."""
        loaded = await asyncio.to_thread(self._db.list_accounts)
        self._accounts = {account.id: account for account in loaded}

    def accounts(self) -> list[Account]:
        """All accounts, in the order they were added (no I/O)."""
        return list(self._accounts.values())

    def get(self, account_id: str) -> Account | None:
        return self._accounts.get(account_id)

    def find(self, id_or_email: str) -> Account | None:
        """By id, else by e-mail or label (case-insensitive)."""
        key = id_or_email.strip()
        if (account := self._accounts.get(key)) is not None:
            return account
        needle = key.casefold()
        for account in self._accounts.values():
            if account.id == needle or (account.email or "").casefold() == needle:
                return account
        for account in self._accounts.values():
            if (account.label or "").casefold() == needle:
                return account
        return None

    def add_listener(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    # -- adding -------------------------------------------------------------------------------------

    async def add_google(self, refresh_token: str) -> Account:
        """Refresh the token, read the e-mail (userinfo), find or onboard the project, read tier and quota,
        then store. An account with the same e-mail is updated in place. A revoked token raises
        UpstreamError(NEEDS_SIGNIN) and stores nothing."""
        refresh_token = refresh_token.strip()
        if not refresh_token:
            raise ValueError("The refresh token is empty")
        token = await self._oauth.refresh(refresh_token)
        account, _ = await self._commit_google(await self._probe_google(refresh_token, token))
        return account

    async def add_google_from_code(self, code: str, redirect_uri: str, pkce: Pkce) -> Account:
        """The browser sign-in's last step: exchange the code, then as add_google."""
        token = await self._oauth.exchange_code(code, redirect_uri, pkce)
        if token.refresh_token is None:
            raise UpstreamError(
                ErrorKind.NEEDS_SIGNIN, 200, "Google gave no refresh token for this sign-in; sign in again"
            )
        account, _ = await self._commit_google(await self._probe_google(token.refresh_token, token))
        return account

    async def add_api_key(self, api_key: str, label: str | None = None) -> Account:
        """Check the key by listing its models, then store. The same key added again updates its account."""
        api_key = api_key.strip()
        if not api_key:
            raise ValueError("The API key is empty")
        catalogue = await self._gemini_api.fetch_models(api_key)
        async with self._add_lock:
            existing = await self._find_api_key(api_key)
            if existing is not None:
                existing.label = label or existing.label
                self._apply_catalogue(existing, catalogue)
                self._clear_problem_status(existing)
                await self._persist(existing)
                self._notify(existing.id)
                return existing
            account = Account(
                id=_new_account_id(),
                kind=AccountKind.API_KEY,
                label=label or _default_api_key_label(api_key),
            )
            self._apply_catalogue(account, catalogue)
            await self._store_new(account, api_key)
            return account

    async def import_file(self, path: Path) -> ImportResult:
        """A JSON list of {"refresh_token": ..., "email"?: ...}; duplicates by e-mail merged.

        A file that cannot be used at all raises ImportFileError (a ValueError); a bad or refused entry
        is reported in `failed` ("#n" counts entries from 1) and the others are still imported.
        """
        raw_entries = await asyncio.to_thread(_read_import_file, path)
        result = ImportResult()
        entries = _import_entries(raw_entries, result.failed)
        # The sign-ins run concurrently; storing runs in file order, so for one account the last entry wins.
        sign_ins = await self._bounded_gather(self._sign_in(entry.refresh_token) for entry in entries)
        for entry, sign_in in zip(entries, sign_ins, strict=True):
            if isinstance(sign_in, Exception):
                result.failed.append((entry.label, _failure_reason(sign_in)))
                continue
            try:
                account, created = await self._commit_google(sign_in)
            except Exception as exc:
                result.failed.append((entry.label, _failure_reason(exc)))
                continue
            name = account.email or account.name
            if created:
                result.added.append(name)
            elif name not in result.added and name not in result.updated:
                result.updated.append(name)
        return result

    # -- changing -----------------------------------------------------------------------------------

    async def remove(self, id_or_email: str) -> Account:
        """Delete the account and its secret; KeyError when there is no such account."""
        account = self.find(id_or_email)
        if account is None:
            raise KeyError(id_or_email)
        del self._accounts[account.id]
        self._touched.discard(account.id)
        async with self._write_lock:
            await asyncio.to_thread(self._db.delete_account, account.id)
        try:
            await asyncio.to_thread(self._secrets.delete, account.id)
        except Exception as exc:  # the account is gone either way; an orphan secret is only untidy
            log.warning("Could not delete the stored secret of %s: %s", account.name, exc)
        self._credentials.forget(account.id)
        self._notify(account.id)
        return account

    async def set_enabled(self, account_id: str, enabled: bool) -> None:
        account = self._require(account_id)
        if account.enabled == enabled:
            return
        account.enabled = enabled
        await self._persist(account)
        self._notify(account.id)

    async def set_label(self, account_id: str, label: str | None) -> None:
        """Names the account in people's own words ("work", "team B"); blank clears it.

        An API-key account without a label keeps showing its key's masked end, which is its name then."""
        account = self._require(account_id)
        cleaned = " ".join((label or "").split())[:MAX_LABEL_LENGTH] or None
        if cleaned is None and account.kind is AccountKind.API_KEY:
            cleaned = account.label  # an API key's label is its only name: never left nameless
        if account.label == cleaned:
            return
        account.label = cleaned
        await self._persist(account)
        self._notify(account.id)

    async def refresh_quota(self, account_id: str, *, force: bool = True) -> Account:
        """Re-read the account's models, quota, quota windows (and, now and then, project and tier) and persist
        them.

        `force=False` (background reads) skips an account read less than upstream.quota_refresh_minutes ago.
        The access token is refreshed only when it is near expiry (upstream.token_refresh_margin_s); the
        project and tier are looked up again when upstream.tier_refresh_hours have passed since the last
        lookup, or when Google refuses the project. A refused sign-in marks the account needs_signin, a 403
        marks it blocked (then the error is raised); a successful refresh clears either.
        """
        account = self._require(account_id)
        if not force and self._read_recently(account):
            return account
        try:
            if account.kind is AccountKind.GOOGLE:
                reading = await self._read_google_quota(account)
                account.project_id = reading.project.project_id
                if reading.tier_read:
                    self._note_tier_change(account, reading.project)
                    account.tier_read_at = _now()
                account.tier = reading.project.tier or account.tier
                account.tier_id = reading.project.tier_id or account.tier_id
                catalogue = reading.catalogue
                if reading.windows is not None:
                    account.quota_windows = reading.windows
            else:
                catalogue = await self._gemini_api.fetch_models(await self._credentials.secret(account))
        except UpstreamError as exc:
            status = _STATUS_FOR_ERROR.get(exc.kind)
            if status is not None and account.id in self._accounts:  # not removed meanwhile
                await self.set_status(account.id, status, exc.message)
            raise
        self._apply_catalogue(account, catalogue)
        self._clear_problem_status(account)
        await self._persist(account)
        self._notify(account.id)
        return account

    async def refresh_all_quotas(self, *, force: bool = True) -> None:
        """refresh_quota for every enabled account, concurrently; failures are recorded, not raised."""
        targets = [account for account in self._accounts.values() if account.enabled]
        results = await self._bounded_gather(
            self.refresh_quota(account.id, force=force) for account in targets
        )
        for account, outcome in zip(targets, results, strict=True):
            if isinstance(outcome, Exception):
                log.warning("Quota refresh of %s failed: %s", account.name, _failure_reason(outcome))

    async def set_reserve_percent(self, account_id: str, percent: float | None) -> None:
        """This account's quota protection (0-100 % of each model group kept in reserve); None = the global
        setting quota.reserve_percent."""
        if percent is not None and not 0.0 <= percent <= 100.0:
            raise ValueError("the reserve is a percentage between 0 and 100")
        account = self._require(account_id)
        if account.reserve_percent == percent:
            return
        account.reserve_percent = percent
        await self._persist(account)
        self._notify(account.id)

    def _read_recently(self, account: Account) -> bool:
        if account.quota_updated_at is None:
            return False
        age_s = (_now() - account.quota_updated_at).total_seconds()
        return 0.0 <= age_s < self._upstream.quota_refresh_minutes * 60.0 * REFRESH_AGE_SHARE

    async def set_status(self, account_id: str, status: AccountStatus, reason: str = "") -> None:
        """Persist a status change decided by the pool (needs sign-in, blocked, ok)."""
        account = self._require(account_id)
        if account.status is status and account.status_reason == reason:
            return
        account.status = status
        account.status_reason = reason
        await self._persist(account)
        self._notify(account.id)

    async def set_model_quota(self, account_id: str, quota: ModelQuota) -> None:
        """Persist one model's quota as learnt from an upstream answer (e.g. a QUOTA_EXHAUSTED 429)."""
        account = self._require(account_id)
        # A new dict rather than an update, so a reader holding the old one never sees it change mid-loop.
        account.quotas = {**account.quotas, quota.model: quota}
        await self._persist(account)
        self._notify(account.id)

    async def touch(self, account_id: str) -> None:
        """Record that the account just served a request (last_used_at); cheap, batched."""
        account = self._accounts.get(account_id)
        if account is None:
            return  # removed while its request ran
        account.last_used_at = _now()
        self._touched.add(account_id)
        if time.monotonic() - self._touch_persisted_at >= self._touch_persist_s:
            await self._persist_touched()

    async def close(self) -> None:
        """Write what is still only in memory (last_used_at of recently used accounts)."""
        await self._persist_touched()

    # -- internals ----------------------------------------------------------------------------------

    def _require(self, account_id: str) -> Account:
        account = self._accounts.get(account_id)
        if account is None:
            raise KeyError(account_id)
        return account

    def _notify(self, account_id: str) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(account_id)
            except Exception:
                log.exception("Account listener %r failed", listener)

    async def _persist(self, account: Account) -> None:
        """Write a snapshot (the live object keeps changing on the loop while the thread writes)."""
        snapshot = copy.deepcopy(account)
        async with self._write_lock:
            # Checked under the lock: a change that raced with remove() must not bring the row back.
            if snapshot.id in self._accounts:
                await asyncio.to_thread(self._db.save_account, snapshot)

    async def _persist_touched(self) -> None:
        touched = [self._accounts[i] for i in self._touched if i in self._accounts]
        self._touched.clear()
        self._touch_persisted_at = time.monotonic()
        if not touched:
            return
        snapshots = copy.deepcopy(touched)
        async with self._write_lock:
            snapshots = [snapshot for snapshot in snapshots if snapshot.id in self._accounts]
            await asyncio.to_thread(self._db.save_accounts, snapshots)
        for snapshot in snapshots:
            self._notify(snapshot.id)

    async def _bounded_gather(self, calls: Iterable[Awaitable[_T]]) -> list[_T | Exception]:
        """Run the calls at most UPSTREAM_CONCURRENCY at a time; each result is its value or its exception."""
        semaphore = asyncio.Semaphore(UPSTREAM_CONCURRENCY)

        async def bounded(call: Awaitable[_T]) -> _T | Exception:
            async with semaphore:
                try:
                    return await call
                except Exception as exc:
                    return exc

        return list(await asyncio.gather(*(bounded(call) for call in calls)))

    async def _sign_in(self, refresh_token: str) -> _GoogleSignIn:
        return await self._probe_google(refresh_token, await self._oauth.refresh(refresh_token))

    async def _probe_google(self, refresh_token: str, token: TokenSet) -> _GoogleSignIn:
        info = await self._oauth.userinfo(token.access_token)
        email = info.get("email")
        if not isinstance(email, str) or not email:
            raise UpstreamError(ErrorKind.SERVER, 200, "Google did not say which e-mail this account has")
        project = await self._cloudcode.discover_project(token.access_token)
        catalogue = await self._fetch_catalogue(token.access_token, project)
        windows = await self._read_windows(None, token.access_token, project, catalogue)
        return _GoogleSignIn(refresh_token, token, email, project, catalogue, windows or ())

    async def _commit_google(self, sign_in: _GoogleSignIn) -> tuple[Account, bool]:
        """Store a signed-in Google account: update the one with the same e-mail, else create it.
        Returns the account and whether it is new."""
        async with self._add_lock:
            existing = self._find_google(sign_in.email)
            if existing is None:
                account = Account(id=_new_account_id(), kind=AccountKind.GOOGLE, email=sign_in.email)
                self._apply_sign_in(account, sign_in)
                await self._store_new(account, sign_in.refresh_token, sign_in.token)
                return account, True
            await asyncio.to_thread(self._secrets.set, existing.id, sign_in.refresh_token)
            self._credentials.forget(existing.id)
            self._credentials.remember(existing.id, sign_in.token, sign_in.refresh_token)
            self._apply_sign_in(existing, sign_in)
            self._clear_problem_status(existing)
            await self._persist(existing)
            self._notify(existing.id)
            return existing, False

    async def _store_new(self, account: Account, secret: str, token: TokenSet | None = None) -> None:
        """Secret first, then the row: a failure on the way leaves neither behind."""
        await asyncio.to_thread(self._secrets.set, account.id, secret)
        self._accounts[account.id] = account
        try:
            await self._persist(account)
        except BaseException:
            self._accounts.pop(account.id, None)
            try:
                await asyncio.to_thread(self._secrets.delete, account.id)
            except Exception as exc:
                log.warning("Could not delete the secret of unsaved account %s: %s", account.name, exc)
            raise
        self._credentials.forget(account.id)
        if token is not None:
            self._credentials.remember(account.id, token, secret)
        self._notify(account.id)

    def _find_google(self, email: str) -> Account | None:
        needle = email.casefold()
        for account in self._accounts.values():
            if account.kind is AccountKind.GOOGLE and (account.email or "").casefold() == needle:
                return account
        return None

    async def _find_api_key(self, api_key: str) -> Account | None:
        for account in list(self._accounts.values()):
            if account.kind is not AccountKind.API_KEY:
                continue
            try:
                if await self._credentials.secret(account) == api_key:
                    return account
            except UpstreamError:
                continue  # its secret is missing: not a match
        return None

    async def _read_google_quota(self, account: Account) -> _GoogleReading:
        token = await self._credentials.access_token(account)  # refreshed only when near expiry
        try:
            return await self._read_project_and_models(account, token)
        except UpstreamError as exc:
            if exc.kind is not ErrorKind.UNAUTHENTICATED:
                raise
        # The token died before its time (revoked, clock skew): one more fresh token, once.
        self._credentials.invalidate(account.id)
        return await self._read_project_and_models(account, await self._credentials.access_token(account))

    async def _read_project_and_models(self, account: Account, access_token: str) -> _GoogleReading:
        known = account.project_id is not None and account.tier_id is not None
        fresh: ProjectInfo | None = None
        if not known:
            fresh = await self._cloudcode.discover_project(access_token)
        elif self._tier_due(account):
            fresh = await self._reread_tier(account, access_token)
        project = fresh or ProjectInfo(str(account.project_id), account.tier, account.tier_id)
        try:
            catalogue = await self._fetch_catalogue(access_token, project)
        except UpstreamError as exc:
            if not known or exc.kind not in (ErrorKind.FORBIDDEN, ErrorKind.NOT_FOUND):
                raise
            # The cached project may be gone (Google re-provisioned it): look it up again, once.
            project = fresh = await self._cloudcode.discover_project(access_token)
            catalogue = await self._fetch_catalogue(access_token, project)
        windows = await self._read_windows(account.id, access_token, project, catalogue)
        return _GoogleReading(project, catalogue, windows, tier_read=fresh is not None)

    def _tier_due(self, account: Account) -> bool:
        """Whether the background refresh should ask loadCodeAssist again (upstream.tier_refresh_hours)."""
        hours = self._upstream.tier_refresh_hours
        if hours <= 0.0:
            return False
        if account.tier_read_at is None:
            return True  # read before the time was kept (an older version): once, then every `hours`
        age_s = (_now() - account.tier_read_at).total_seconds()
        return not 0.0 <= age_s < hours * 3600.0  # a clock set back counts as due, not as years away

    async def _reread_tier(self, account: Account, access_token: str) -> ProjectInfo | None:
        """loadCodeAssist for a known account; None when it failed in a way that must not spoil the quota read
        (the upstream busy or down: the cached tier stays and the next round asks again)."""
        try:
            return await self._cloudcode.discover_project(access_token)
        except UpstreamError as exc:
            if exc.kind not in (ErrorKind.SERVER, ErrorKind.NETWORK, ErrorKind.CAPACITY, ErrorKind.NOT_FOUND):
                raise  # a dead token, a ban: the same answer the quota read would get
            log.warning(
                "Could not re-read the tier of %s (kept %s): %s", account.name, account.tier, exc.message
            )
            return None

    @staticmethod
    def _note_tier_change(account: Account, project: ProjectInfo) -> None:
        if project.tier_id is not None and account.tier_id is not None and project.tier_id != account.tier_id:
            log.info(
                "%s is now on tier %s (was %s)", account.name, project.tier or project.tier_id, account.tier
            )

    def _missing_is_unknown(self, tier_id: str | None) -> bool:
        return tier_id is not None and tier_id in self._quota.unknown_fraction_tiers

    async def _fetch_catalogue(self, access_token: str, project: ProjectInfo) -> ModelCatalogue:
        return await self._cloudcode.fetch_models(
            access_token, project.project_id, missing_is_unknown=self._missing_is_unknown(project.tier_id)
        )

    async def _read_windows(
        self, account_id: str | None, access_token: str, project: ProjectInfo, catalogue: ModelCatalogue
    ) -> tuple[QuotaWindow, ...] | None:
        """The account's 5-hour and weekly windows; () when it has none (404, asked again hours later), None
        when the read failed for another reason (the windows known so far stay)."""
        missing_at = self._no_summary_at.get(account_id or "")
        if missing_at is not None and self._clock() - missing_at < NO_SUMMARY_RETRY_S:
            return ()
        try:
            reply = await self._cloudcode.fetch_quota_summary(access_token, project.project_id)
        except UpstreamError as exc:
            if exc.kind is ErrorKind.NOT_FOUND:
                if account_id is not None:
                    self._no_summary_at[account_id] = self._clock()
                return ()
            log.warning("Could not read the quota windows: %s", exc.message)
            return None
        self._no_summary_at.pop(account_id or "", None)
        return parse_quota_summary(
            reply,
            list(catalogue.models),
            self._quota.model_groups,
            missing_is_unknown=self._missing_is_unknown(project.tier_id),
        )

    @staticmethod
    def _apply_sign_in(account: Account, sign_in: _GoogleSignIn) -> None:
        account.email = sign_in.email
        account.project_id = sign_in.project.project_id
        account.tier = sign_in.project.tier
        account.tier_id = sign_in.project.tier_id
        account.tier_read_at = _now()
        account.quota_windows = sign_in.windows
        AccountService._apply_catalogue(account, sign_in.catalogue)

    @staticmethod
    def _apply_catalogue(account: Account, catalogue: ModelCatalogue) -> None:
        account.quotas = dict(catalogue.models)
        account.model_forwards = dict(catalogue.deprecated)
        account.quota_updated_at = _now()

    @staticmethod
    def _clear_problem_status(account: Account) -> None:
        if account.status is not AccountStatus.OK:
            account.status = AccountStatus.OK
            account.status_reason = ""
