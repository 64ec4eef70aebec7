"""AccountPool: choosing accounts, reacting to each upstream failure kind, and explaining why none can serve."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from core.accounts import AccountService
from core.cloudcode import CloudCodeClient
from core.config import QuotaSettings, Settings
from core.credentials import Credentials
from core.errors import ApiErrorType, ErrorKind, UpstreamError
from core.gemini_api import GeminiApiClient
from core.oauth import OAuthClient
from core.pool import RATE_LIMIT_DEFAULT_S, RATE_LIMIT_MAX_S, AccountPool, NoAccount, Step
from core.secrets import SecretStore
from core.store import Database
from core.types import Account, AccountKind, AccountStatus, ModelQuota
from core.upstream_http import UpstreamHTTP

START = 1_800_000_000.0  # the injected clock's epoch seconds (2027-01-15)
PRO = "gemini-2.5-pro"
FLASH = "gemini-2.5-flash"
CLOSED = (
    "http://127.0.0.1:9"  # nothing listens: a stray upstream call fails at once, never leaves the machine
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    service: AccountService
    db: Database
    secrets: SecretStore
    settings: Settings
    clock: Clock
    pools: list[AccountPool] = field(default_factory=list)

    async def seed(self, *accounts: Account) -> None:
        for account in accounts:
            await asyncio.to_thread(self.db.save_account, account)
        await self.service.load()

    def pool(self, **options: object) -> AccountPool:
        pool = AccountPool(self.service, self.clock, **options)  # type: ignore[arg-type]
        self.pools.append(pool)  # closed before the database, so no background write outlives it
        return pool

    def get(self, account_id: str) -> Account:
        account = self.service.get(account_id)
        assert account is not None
        return account


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    settings = Settings(home=tmp_path)
    settings.upstream.endpoints = [CLOSED]
    settings.oauth.token_url = f"{CLOSED}/token"
    settings.gemini_api.base_url = CLOSED
    db = await asyncio.to_thread(Database, settings.database_path)
    secrets = SecretStore(tmp_path, use_keyring=False)
    upstream = UpstreamHTTP()
    async with aiohttp.ClientSession() as http:
        oauth = OAuthClient(http, settings.oauth)
        credentials = Credentials(secrets, oauth)
        service = AccountService(
            db,
            secrets,
            credentials,
            oauth,
            CloudCodeClient(upstream, settings.upstream),
            GeminiApiClient(upstream, settings.gemini_api, settings.upstream),
        )
        await service.load()
        env = Env(service, db, secrets, settings, Clock())
        yield env
        for pool in env.pools:
            await pool.close()
        await service.close()
    await upstream.close()
    await asyncio.to_thread(db.close)


def at(seconds_from_start: float) -> datetime:
    return datetime.fromtimestamp(START + seconds_from_start, UTC)


def quotas(**fractions: float | None) -> dict[str, ModelQuota]:
    """quotas(gemini_2_5_pro=0.5) -> {"gemini-2.5-pro": ModelQuota(...)}, reset in 5 h."""
    result = {}
    for key, fraction in fractions.items():
        model = key.replace("_", "-").replace("2-5", "2.5")
        result[model] = ModelQuota(model, remaining_fraction=fraction, reset_at=at(5 * 3600))
    return result


def google(account_id: str, **fractions: float | None) -> Account:
    return Account(
        id=account_id,
        kind=AccountKind.GOOGLE,
        email=f"{account_id}@example.com",
        project_id=f"proj-{account_id}",
        quotas=quotas(**fractions),
    )


def api_key(account_id: str, **fractions: float | None) -> Account:
    return Account(
        id=account_id, kind=AccountKind.API_KEY, label=f"key {account_id}", quotas=quotas(**fractions)
    )


def failure(kind: ErrorKind, status: int = 429, **extra: object) -> UpstreamError:
    return UpstreamError(kind, status, f"{kind.value} from the test", **extra)  # type: ignore[arg-type]


# -- choosing -----------------------------------------------------------------------------------------------


async def test_pick_prefers_most_remaining_quota_for_the_model(env: Env) -> None:
    await env.seed(
        google("a", gemini_2_5_pro=0.2, gemini_2_5_flash=0.9),
        google("b", gemini_2_5_pro=0.7, gemini_2_5_flash=0.1),
    )
    pool = env.pool()
    assert pool.pick(PRO).id == "b"
    assert pool.pick(FLASH).id == "a"


async def test_pick_spreads_equal_accounts_by_least_recently_picked(env: Env) -> None:
    await env.seed(
        google("a", gemini_2_5_pro=0.5), google("b", gemini_2_5_pro=0.5), google("c", gemini_2_5_pro=0.5)
    )
    pool = env.pool()
    first_round = [pool.pick(PRO).id for _ in range(3)]
    assert sorted(first_round) == ["a", "b", "c"]
    assert [pool.pick(PRO).id for _ in range(3)] == first_round


async def test_pick_skips_disabled_signed_out_and_blocked_accounts(env: Env) -> None:
    disabled = google("a", gemini_2_5_pro=1.0)
    disabled.enabled = False
    signed_out = google("b", gemini_2_5_pro=1.0)
    signed_out.status = AccountStatus.NEEDS_SIGNIN
    blocked = google("c", gemini_2_5_pro=1.0)
    blocked.status = AccountStatus.BLOCKED
    await env.seed(disabled, signed_out, blocked, google("d", gemini_2_5_pro=0.1))
    pool = env.pool()
    assert {pool.pick(PRO).id for _ in range(4)} == {"d"}


async def test_account_without_catalogue_may_serve_any_model_but_a_catalogue_limits_it(env: Env) -> None:
    await env.seed(google("a", gemini_2_5_flash=1.0), api_key("k"))
    pool = env.pool()
    assert pool.pick("gemini-3-pro-preview").id == "k"
    assert pool.pick(FLASH, exclude={"k"}).id == "a"


async def test_exhausted_model_is_skipped_until_its_reset_time_passes(env: Env) -> None:
    exhausted = google("a", gemini_2_5_pro=1.0)
    exhausted.quotas[PRO] = ModelQuota(PRO, remaining_fraction=0.0, reset_at=at(600))
    exhausted.quotas[FLASH] = ModelQuota(FLASH, remaining_fraction=0.8)
    await env.seed(exhausted, google("b", gemini_2_5_pro=0.05))
    pool = env.pool()
    assert pool.pick(PRO).id == "b"
    assert pool.pick(FLASH, exclude={"b"}).id == "a"  # other models of the account stay usable
    env.clock.now = START + 601
    assert pool.pick(PRO).id == "a"  # the reset passed: its quota counts as full again


async def test_conversation_sticks_to_its_account_while_it_stays_eligible(env: Env) -> None:
    await env.seed(google("a", gemini_2_5_pro=0.5), google("b", gemini_2_5_pro=0.5))
    pool = env.pool()
    first = pool.pick(PRO, conversation_key="chat-1").id
    assert [pool.pick(PRO, conversation_key="chat-1").id for _ in range(4)] == [first] * 4
    await pool.report_failure(env.get(first), PRO, failure(ErrorKind.RATE_LIMITED, retry_after=10.0))
    moved = pool.pick(PRO, conversation_key="chat-1").id
    assert moved != first
    env.clock.now += 11
    assert pool.pick(PRO, conversation_key="chat-1").id == moved  # stays where it moved to


async def test_sticky_map_is_bounded_least_recently_used_first(env: Env) -> None:
    await env.seed(google("a", gemini_2_5_pro=0.5), google("b", gemini_2_5_pro=0.5))
    for capacity, expect_remembered in ((2, False), (100, True)):
        pool = env.pool(sticky_entries=capacity)
        k1 = pool.pick(PRO, conversation_key="k1").id
        k2 = pool.pick(PRO, conversation_key="k2").id
        pool.pick(PRO, conversation_key="k3")  # same account as k1; k2's account is now least recently picked
        assert k1 != k2
        assert (pool.pick(PRO, conversation_key="k1").id == k1) is expect_remembered


# -- failures -----------------------------------------------------------------------------------------------


async def test_rate_limit_cools_the_account_for_that_model_only(env: Env) -> None:
    await env.seed(google("a", gemini_2_5_pro=1.0, gemini_2_5_flash=1.0), google("b", gemini_2_5_pro=0.1))
    pool = env.pool()
    action = await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.RATE_LIMITED, retry_after=7.5))
    assert action.step is Step.ROTATE
    assert pool.cooldown_until("a", PRO) == START + 7.5
    assert pool.pick(PRO).id == "b"
    assert pool.pick(FLASH).id == "a"
    env.clock.now = START + 7.6
    assert pool.cooldown_until("a", PRO) is None
    assert pool.pick(PRO).id == "a"


async def test_rate_limit_delay_defaults_and_is_capped(env: Env) -> None:
    await env.seed(google("a", gemini_2_5_pro=1.0))
    # With the long-rate-limit rule off, a long delay on a rate limit is only honoured up to the cap.
    pool = env.pool(quota=QuotaSettings(long_rate_limit_s=0.0))
    await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.RATE_LIMITED))
    assert pool.cooldown_until("a", PRO) == START + RATE_LIMIT_DEFAULT_S
    await pool.report_failure(env.get("a"), FLASH, failure(ErrorKind.RATE_LIMITED, retry_after=3600.0))
    assert pool.cooldown_until("a", FLASH) == START + RATE_LIMIT_MAX_S
    assert pool.refusals("a") == {}


async def test_a_rate_limit_of_minutes_counts_as_spent_quota_until_then(env: Env) -> None:
    await env.seed(google("a", gemini_2_5_pro=1.0), google("b", gemini_2_5_pro=0.5))
    pool = env.pool()  # quota.long_rate_limit_s = 60 by default
    await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.RATE_LIMITED, retry_after=59.0))
    assert pool.cooldown_until("a", PRO) == START + 59.0 and pool.refusals("a") == {}
    await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.RATE_LIMITED, retry_after=900.0))
    # Honoured in full, as a quota refusal the views share, and persisted like a QUOTA_EXHAUSTED.
    assert pool.cooldown_until("a", PRO) == START + 900.0
    assert pool.refusals("a") == {PRO: datetime.fromtimestamp(START + 900.0, UTC)}
    assert env.get("a").quotas[PRO].remaining_fraction == 0.0
    assert pool.pick(PRO).id == "b"
    env.clock.now = START + 901.0
    assert pool.pick(PRO).id == "a"  # back after the delay, with more left than b


async def test_quota_exhausted_is_persisted_with_its_reset_time(env: Env) -> None:
    await env.seed(api_key("k", gemini_2_5_pro=None), api_key("j", gemini_2_5_pro=None))
    pool = env.pool()
    reset = at(3 * 3600)
    action = await pool.report_failure(env.get("k"), PRO, failure(ErrorKind.QUOTA_EXHAUSTED, reset_at=reset))
    assert action.step is Step.ROTATE
    assert pool.pick(PRO).id == "j"
    quota = env.get("k").quotas[PRO]
    assert (quota.remaining_fraction, quota.reset_at) == (0.0, reset)
    stored = {account.id: account for account in await asyncio.to_thread(env.db.list_accounts)}
    assert stored["k"].quotas[PRO].remaining_fraction == 0.0
    assert stored["k"].quotas[PRO].reset_at == reset


async def test_quota_exhausted_without_reset_time_assumes_an_hour(env: Env) -> None:
    await env.seed(api_key("k", gemini_2_5_pro=None))
    pool = env.pool()
    await pool.report_failure(env.get("k"), PRO, failure(ErrorKind.QUOTA_EXHAUSTED))
    assert env.get("k").quotas[PRO].reset_at == at(3600)
    with pytest.raises(NoAccount) as caught:
        pool.pick(PRO)
    assert caught.value.retry_after == 3600


async def test_capacity_backs_off_the_model_without_blaming_the_account(env: Env) -> None:
    await env.seed(google("a", gemini_2_5_pro=1.0))
    pool = env.pool(capacity_backoff_s=(1.0, 4.0), rng=lambda: 0.5)  # no jitter: waits 1, 2, 4, 4
    waits = []
    for _ in range(4):
        action = await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.CAPACITY))
        assert action.step is Step.RETRY
        waits.append(action.wait_s)
        env.clock.now += action.wait_s
    assert waits == [1.0, 2.0, 4.0, 4.0]
    assert pool.cooldown_until("a", PRO) is None
    assert pool.pick(PRO).id == "a"
    await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.CAPACITY))
    assert pool.capacity_wait(PRO) == 4.0
    assert pool.capacity_wait(FLASH) == 0.0
    pool.report_success(env.get("a"), PRO)
    assert pool.capacity_wait(PRO) == 0.0
    assert (await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.CAPACITY))).wait_s == 1.0


async def test_capacity_wait_is_jittered_within_bounds(env: Env) -> None:
    await env.seed(google("a", gemini_2_5_pro=1.0))
    for rng_value, expected in ((0.0, 0.75), (1.0, 1.25)):
        pool = env.pool(capacity_backoff_s=(1.0, 4.0), rng=lambda value=rng_value: value)
        assert (await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.CAPACITY))).wait_s == expected


async def test_unauthenticated_retries_the_same_account_once(env: Env) -> None:
    await env.seed(google("a", gemini_2_5_pro=1.0), google("b", gemini_2_5_pro=0.5))
    pool = env.pool()
    error = failure(ErrorKind.UNAUTHENTICATED, 401)
    assert (await pool.report_failure(env.get("a"), PRO, error)).step is Step.RETRY_SAME
    assert (await pool.report_failure(env.get("a"), PRO, error, retried_same=True)).step is Step.ROTATE
    assert pool.pick(PRO).id == "b"  # a is only demoted: b has less quota but no trouble


async def test_needs_signin_and_forbidden_change_the_persisted_status(env: Env) -> None:
    await env.seed(
        google("a", gemini_2_5_pro=1.0), google("b", gemini_2_5_pro=1.0), google("c", gemini_2_5_pro=0.1)
    )
    pool = env.pool()
    signin = await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.NEEDS_SIGNIN, 400))
    forbidden = UpstreamError(ErrorKind.FORBIDDEN, 403, "Verify your account at the validation URL")
    blocked = await pool.report_failure(env.get("b"), PRO, forbidden)
    assert (signin.step, blocked.step) == (Step.ROTATE, Step.ROTATE)
    assert env.get("a").status is AccountStatus.NEEDS_SIGNIN
    assert env.get("b").status is AccountStatus.BLOCKED
    assert "Verify your account" in env.get("b").status_reason
    stored = {account.id: account for account in await asyncio.to_thread(env.db.list_accounts)}
    assert (stored["a"].status, stored["b"].status) == (AccountStatus.NEEDS_SIGNIN, AccountStatus.BLOCKED)
    assert pool.pick(PRO).id == "c"


@pytest.mark.parametrize(("kind", "status"), [(ErrorKind.INVALID_REQUEST, 400), (ErrorKind.NOT_FOUND, 404)])
async def test_request_errors_give_up_without_touching_the_account(
    env: Env, kind: ErrorKind, status: int
) -> None:
    await env.seed(google("a", gemini_2_5_pro=1.0))
    pool = env.pool()
    assert (await pool.report_failure(env.get("a"), PRO, failure(kind, status))).step is Step.GIVE_UP
    assert pool.cooldown_until("a", PRO) is None
    assert env.get("a").status is AccountStatus.OK


@pytest.mark.parametrize(("kind", "status"), [(ErrorKind.SERVER, 500), (ErrorKind.NETWORK, 0)])
async def test_server_and_network_errors_prefer_others_but_never_lock_out(
    env: Env, kind: ErrorKind, status: int
) -> None:
    await env.seed(google("a", gemini_2_5_pro=1.0), google("b", gemini_2_5_pro=0.2))
    pool = env.pool()
    assert (await pool.report_failure(env.get("a"), PRO, failure(kind, status))).step is Step.ROTATE
    assert pool.pick(PRO).id == "b"
    assert pool.pick(PRO, exclude={"b"}).id == "a"  # alone, a troubled account still serves
    pool.report_success(env.get("a"), PRO)
    assert pool.pick(PRO).id == "a"


async def test_quota_on_a_google_account_refreshes_it_in_the_background_until_close(env: Env) -> None:
    # A token endpoint that never answers keeps the background refresh running, so close() must cancel it.
    arrived, release = asyncio.Event(), asyncio.Event()

    async def hang(_request: web.Request) -> web.Response:
        arrived.set()
        await release.wait()
        return web.json_response({"error": "invalid_grant"}, status=400)

    app = web.Application()
    app.router.add_post("/token", hang)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        env.settings.oauth.token_url = f"http://127.0.0.1:{port}/token"
        await env.seed(google("a", gemini_2_5_pro=1.0))
        await asyncio.to_thread(env.secrets.set, "a", "refresh-token-of-a")
        pool = env.pool()
        await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.QUOTA_EXHAUSTED, reset_at=at(60)))
        await asyncio.wait_for(arrived.wait(), 5)
        await asyncio.wait_for(pool.close(), 1)
        assert env.get("a").status is AccountStatus.OK  # a cancelled refresh changes nothing
    finally:
        release.set()
        await runner.cleanup()


# -- nothing can serve --------------------------------------------------------------------------------------


async def test_no_accounts_at_all_says_how_to_add_one(env: Env) -> None:
    with pytest.raises(NoAccount) as caught:
        env.pool().pick(PRO)
    assert caught.value.status == 503
    assert "gravity-desk accounts add" in caught.value.message


async def test_no_usable_account_names_each_one_and_why(env: Env) -> None:
    signed_out = google("a", gemini_2_5_pro=1.0)
    signed_out.status = AccountStatus.NEEDS_SIGNIN
    blocked = google("b", gemini_2_5_pro=1.0)
    blocked.status, blocked.status_reason = AccountStatus.BLOCKED, "verification required"
    await env.seed(signed_out, blocked)
    with pytest.raises(NoAccount) as caught:
        env.pool().pick(PRO)
    error = caught.value
    assert (error.status, error.type) == (503, ApiErrorType.OVERLOADED)
    assert "a@example.com needs to sign in again" in error.message
    assert "b@example.com is blocked: verification required" in error.message


async def test_model_nobody_offers_is_404_listing_what_is_available(env: Env) -> None:
    await env.seed(google("a", gemini_2_5_pro=1.0), api_key("k", gemini_2_5_flash=None))
    with pytest.raises(NoAccount) as caught:
        env.pool().pick("claude-opus-4-6")
    assert (caught.value.status, caught.value.type) == (404, ApiErrorType.NOT_FOUND)
    assert "claude-opus-4-6" in caught.value.message
    assert f"available: {FLASH}, {PRO}" in caught.value.message


async def test_model_offered_only_by_an_unusable_account_says_which_and_why(env: Env) -> None:
    signed_out = google("a", gemini_2_5_flash=1.0)
    signed_out.quotas["claude-sonnet-4-5"] = ModelQuota("claude-sonnet-4-5", remaining_fraction=1.0)
    signed_out.status = AccountStatus.NEEDS_SIGNIN
    await env.seed(signed_out, google("b", gemini_2_5_pro=1.0))
    with pytest.raises(NoAccount) as caught:
        env.pool().pick("claude-sonnet-4-5")
    assert caught.value.status == 503
    assert "a@example.com needs to sign in again" in caught.value.message


async def test_all_limited_is_429_with_the_earliest_time_an_account_frees_up(env: Env) -> None:
    exhausted = google("a", gemini_2_5_pro=1.0)
    exhausted.quotas[PRO] = ModelQuota(PRO, remaining_fraction=0.0, reset_at=at(7200))
    await env.seed(exhausted, google("b", gemini_2_5_pro=1.0), api_key("c", gemini_2_5_pro=1.0))
    pool = env.pool()
    await pool.report_failure(env.get("b"), PRO, failure(ErrorKind.RATE_LIMITED, retry_after=42.0))
    await pool.report_failure(env.get("c"), PRO, failure(ErrorKind.QUOTA_EXHAUSTED, reset_at=at(1800)))
    env.clock.now += 0.5
    with pytest.raises(NoAccount) as caught:
        pool.pick(PRO)
    error = caught.value
    assert (error.status, error.type, error.retry_after) == (429, ApiErrorType.RATE_LIMIT, 42.0)
    assert "b@example.com" in error.message.split("earliest")[1]
    assert at(42).strftime("%Y-%m-%d %H:%M:%S") in error.message
    assert "in 42 s" in error.message


async def test_all_tried_in_this_request_is_503_unless_one_is_limited(env: Env) -> None:
    await env.seed(google("a", gemini_2_5_pro=1.0), google("b", gemini_2_5_pro=1.0))
    pool = env.pool()
    await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.SERVER, 500))
    with pytest.raises(NoAccount) as caught:
        pool.pick(PRO, exclude={"a", "b"})
    assert caught.value.status == 503
    await pool.report_failure(env.get("b"), PRO, failure(ErrorKind.RATE_LIMITED, retry_after=9.0))
    with pytest.raises(NoAccount) as caught:
        pool.pick(PRO, exclude={"a", "b"})
    assert (caught.value.status, caught.value.retry_after) == (429, 9.0)


async def test_close_without_background_work_is_quick(env: Env) -> None:
    pool = env.pool()
    await pool.close()
    await pool.close()


async def test_a_refusal_outlives_a_quota_reading_that_still_says_90_percent(env: Env) -> None:
    # Weekly exhaustion shows only in the quota summary: the per-model reading can still say 90 % while the
    # upstream refuses. The pool's refusal and core's health rule must keep saying "used up" until it ends.
    await env.seed(api_key("a", gemini_2_5_pro=0.9), api_key("b", gemini_2_5_pro=0.9))
    pool = env.pool()  # API keys: no background quota refresh (it would need a credential)
    for account_id in ("a", "b"):
        await pool.report_failure(
            env.get(account_id), PRO, failure(ErrorKind.QUOTA_EXHAUSTED, reset_at=at(3 * 3600))
        )
        await env.service.set_model_quota(account_id, ModelQuota(PRO, remaining_fraction=0.9))
    now = at(60)
    env.clock.now = START + 60
    for account_id in ("a", "b"):
        account, refused = env.get(account_id), pool.refusals(account_id)
        assert account.quotas[PRO].remaining_fraction == 0.9
        assert refused == {PRO: at(3 * 3600)}
        assert account.quota_used_up(PRO, now, refused)
        assert not account.can_serve(now, refused)
        assert account.usable  # signed in and enabled: only the quota is gone
    with pytest.raises(NoAccount):
        pool.pick(PRO)
    env.clock.now = START + 3 * 3600 + 1
    assert pool.refusals("a") == {}
    assert pool.pick(PRO).id in {"a", "b"}


# -- concurrent failures: whatever order they report in, the harder and then the longer cooldown wins -------


async def test_a_soft_failure_after_a_rate_limit_never_makes_the_account_pickable(env: Env) -> None:
    await env.seed(google("a", gemini_2_5_pro=1.0))
    pool = env.pool()
    # A 429 with a short retry, then a 500 from a concurrent request whose soft cooldown would end later.
    await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.RATE_LIMITED, retry_after=2.0))
    await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.SERVER, 500))
    env.clock.now = START + 1.0
    with pytest.raises(NoAccount) as caught:
        pool.pick(PRO)  # still rate limited: a soft cooldown would let it be picked when it is the only one
    assert caught.value.status == 429
    assert pool.cooldown_until("a", PRO) == START + 2.0


async def test_a_short_rate_limit_never_cuts_a_quota_refusal_short(env: Env) -> None:
    await env.seed(api_key("k", gemini_2_5_pro=None))
    pool = env.pool()
    await pool.report_failure(env.get("k"), PRO, failure(ErrorKind.QUOTA_EXHAUSTED, reset_at=at(3600)))
    await pool.report_failure(env.get("k"), PRO, failure(ErrorKind.RATE_LIMITED, retry_after=5.0))
    await pool.report_failure(env.get("k"), PRO, failure(ErrorKind.NETWORK, 0))
    assert pool.cooldown_until("k", PRO) == START + 3600
    assert PRO in pool.refusals("k")  # still a quota refusal for the views
    env.clock.now = START + 10.0
    with pytest.raises(NoAccount):
        pool.pick(PRO)


async def test_a_longer_hard_cooldown_replaces_a_shorter_one_and_a_hard_one_a_soft_one(env: Env) -> None:
    await env.seed(google("a", gemini_2_5_pro=1.0), google("b", gemini_2_5_pro=0.1))
    pool = env.pool()
    await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.SERVER, 500))  # soft, 3 s
    await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.RATE_LIMITED, retry_after=1.0))
    assert pool.cooldown_until("a", PRO) == START + 1.0  # hard beats soft, though it ends sooner
    await pool.report_failure(env.get("a"), PRO, failure(ErrorKind.RATE_LIMITED, retry_after=9.0))
    assert pool.cooldown_until("a", PRO) == START + 9.0
    assert pool.pick(PRO).id == "b"
    env.clock.now = START + 9.5
    assert pool.pick(PRO).id == "a"
