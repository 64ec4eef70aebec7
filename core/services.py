"""The composition root: builds every core service once and hands them to the server and the GUI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp

from core.accounts import AccountService
from core.api_keys import ApiKeyRing
from core.client_version import ClientVersionCheck
from core.cloudcode import CloudCodeClient, CloudCodeUpstream
from core.config import Settings
from core.credentials import Credentials
from core.gateway import Gateway
from core.gemini_api import GeminiApiClient, GeminiApiUpstream
from core.log_reader import RequestLogReader
from core.media import Media
from core.oauth import OAuthClient
from core.pool import AccountPool
from core.private_files import make_private
from core.request_journal import RequestJournal
from core.request_log import RequestLogWriter
from core.secrets import SecretStore
from core.store import Database
from core.transform import SignatureCache
from core.types import AccountKind
from core.update_check import UpdateChecker
from core.upstream import Upstream
from core.upstream_http import UpstreamHTTP

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything the server and the GUI need; built by `create_services`, torn down by `close`.

    What holds a resource (the database, the log thread, the HTTP session, the accounts' and the pool's
    background work) registered its cleanup on `_cleanup` as it was made, so `close` undoes exactly what
    was made, last first, and runs every cleanup even when one fails.
    """

    settings: Settings
    http: aiohttp.ClientSession
    db: Database
    secrets: SecretStore
    request_log: RequestLogWriter
    log_reader: RequestLogReader
    oauth: OAuthClient
    cloudcode: CloudCodeClient
    gemini_api: GeminiApiClient
    credentials: Credentials
    accounts: AccountService
    pool: AccountPool
    gateway: Gateway
    media: Media
    api_keys: ApiKeyRing
    updates: UpdateChecker
    client_version: ClientVersionCheck
    _cleanup: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    _quota_task: asyncio.Task[None] | None = None
    _update_task: asyncio.Task[None] | None = None
    _version_task: asyncio.Task[None] | None = None

    def start_background(self) -> None:
        """Start the periodic quota refresh and the (opt-in) update check (idempotent)."""
        if self._quota_task is None:
            self._quota_task = asyncio.create_task(self._refresh_quotas_forever(), name="quota-refresh")
        if self._update_task is None:
            self._update_task = asyncio.create_task(self.updates.run_forever(), name="update-check")
        if self._version_task is None:  # off (returns at once each round) while the manifest URL is empty
            self._version_task = asyncio.create_task(self.client_version.run_forever(), name="client-version")

    async def _refresh_quotas_forever(self) -> None:
        while True:
            try:
                # Not forced: an account read since (after a quota refusal, from the window) waits its turn.
                await self.accounts.refresh_all_quotas(force=False)
            except Exception:  # a failed round must not end the loop; the next one retries
                log.exception("quota refresh failed")
            # Read each round, so a changed interval applies without a restart.
            await asyncio.sleep(max(60.0, self.settings.upstream.quota_refresh_minutes * 60.0))

    async def save_api_keys(self) -> None:
        """Write the keys' names and dates, and drop those of revoked keys (after a change in Settings)."""
        deleted = self.api_keys.forget_unconfigured()
        await asyncio.to_thread(self.db.save_api_keys, self.api_keys.records(), deleted=deleted)

    async def close(self) -> None:
        """Stop background work, persist what is pending, flush the request log, close connections."""
        for task in (self._quota_task, self._update_task, self._version_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._quota_task = self._update_task = self._version_task = None
        await self._cleanup.aclose()


KEEPALIVE_S = 60.0  # how long an idle upstream connection is kept for the next request


def _http_session(settings: Settings, proxy: str | None) -> aiohttp.ClientSession:
    # OAuth, the client version and update checks (the generation calls use core.upstream_http). Pooled:
    # keep-alive matters more than anything for latency.
    connector = aiohttp.TCPConnector(
        limit=512, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=KEEPALIVE_S
    )
    timeout = aiohttp.ClientTimeout(
        total=None, connect=settings.upstream.connect_timeout_s, sock_read=settings.upstream.request_timeout_s
    )
    # Proxy settings are read once here: trust_env=True would re-read the environment and ~/.netrc on
    # every request, which cost more than the rest of the gateway's work together (measured in bench/).
    return aiohttp.ClientSession(connector=connector, timeout=timeout, proxy=proxy)


def upstream_proxy(proxies: Mapping[str, str] | None = None) -> str | None:
    """The HTTPS proxy from the environment (or Windows' / macOS' system settings), if the clients can use it.

    aiohttp and core.upstream_http speak only to HTTP(S) proxies. A SOCKS-only system proxy (Windows reports it as socks4://) would
    make every upstream call fail, so it is left out with a warning that names no credentials."""
    proxy = (urllib.request.getproxies() if proxies is None else proxies).get("https")
    if not proxy:
        return None
    parts = urllib.parse.urlsplit(proxy)
    if parts.scheme.lower() in ("http", "https"):
        return proxy
    log.warning(
        "Ignoring the system's %s proxy %s: only HTTP proxies are supported; connecting directly",
        parts.scheme or "unknown",
        parts.hostname or "(no host)",
    )
    return None


def make_upstreams(cloudcode: CloudCodeClient, gemini_api: GeminiApiClient) -> dict[AccountKind, Upstream]:
    """The upstream serving each kind of account."""
    return {
        AccountKind.GOOGLE: CloudCodeUpstream(cloudcode),
        AccountKind.API_KEY: GeminiApiUpstream(gemini_api),
    }


async def create_services(settings: Settings, *, use_keyring: bool = True) -> Services:
    """Build and load every service (must run inside the event loop that will use them).

    A failure half way closes what was already opened (log thread, HTTP session, database) and raises.
    """
    async with contextlib.AsyncExitStack() as cleanup:
        settings.home.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(make_private, settings.home)  # existing installs were 0755/0644
        db = await asyncio.to_thread(Database, settings.database_path)
        cleanup.push_async_callback(asyncio.to_thread, db.close)
        await asyncio.to_thread(make_private, settings.home)  # the database and its -wal/-shm, just created
        # Keys configured before they had names (every earlier install's one key) are named now: "default".
        api_keys = ApiKeyRing(settings.server, await asyncio.to_thread(db.list_api_keys))
        await asyncio.to_thread(db.save_api_keys, api_keys.records())
        secrets = await asyncio.to_thread(SecretStore, settings.home, use_keyring=use_keyring)
        proxy = upstream_proxy()
        http = _http_session(settings, proxy)
        cleanup.push_async_callback(http.close)
        upstream_http = UpstreamHTTP(proxy=proxy, keepalive_s=KEEPALIVE_S)
        cleanup.push_async_callback(upstream_http.close)  # owned here: the two clients below share it
        request_log = RequestLogWriter(
            db, settings.log, journal=RequestJournal(settings.request_journal_path)
        )
        await asyncio.to_thread(request_log.start)  # reads the last id, writes what a crash left behind
        cleanup.push_async_callback(asyncio.to_thread, request_log.close)  # flushes what is queued
        oauth = OAuthClient(http, settings.oauth)
        cloudcode = CloudCodeClient(upstream_http, settings.upstream)
        gemini_api = GeminiApiClient(upstream_http, settings.gemini_api, settings.upstream)
        credentials = Credentials(secrets, oauth, upstream=settings.upstream)
        accounts = AccountService(
            db,
            secrets,
            credentials,
            oauth,
            cloudcode,
            gemini_api,
            upstream=settings.upstream,
            quota=settings.quota,
        )
        cleanup.push_async_callback(accounts.close)
        await accounts.load()
        pool = AccountPool(accounts, quota=settings.quota)
        cleanup.push_async_callback(pool.close)
        gateway = Gateway(
            settings, accounts, pool, credentials, make_upstreams(cloudcode, gemini_api), SignatureCache()
        )
        return Services(
            settings=settings,
            http=http,
            db=db,
            secrets=secrets,
            request_log=request_log,
            log_reader=RequestLogReader(db),
            oauth=oauth,
            cloudcode=cloudcode,
            gemini_api=gemini_api,
            credentials=credentials,
            accounts=accounts,
            pool=pool,
            gateway=gateway,
            media=Media(gateway, gemini_api),
            api_keys=api_keys,
            updates=UpdateChecker(settings.updates, http, settings.home),
            client_version=ClientVersionCheck(http, settings.upstream),
            _cleanup=cleanup.pop_all(),
        )
