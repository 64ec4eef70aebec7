"""Quota windows (5-hour / weekly), unknown free-tier quota, quota protection and the traffic per account."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.cloudcode import parse_model_catalogue, parse_quota_summary
from core.errors import ApiError
from core.gateway import GatewayRequest
from core.services import Services, create_services
from core.types import JSON, Account, AccountKind, LogEntry, ModelQuota, QuotaWindow
from tests.fake_google import _TIER_NAMES, FakeGoogle, Fault, Recorded

PRO = "gemini-3.1-pro-high"
CLAUDE = "claude-sonnet-4-5"
FLASH = "gemini-3-flash"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
FAMILIES = {"gemini*": "gemini", "claude*": "claude", "gpt*": "gpt"}


def ask(model: str = PRO, text: str = "hello") -> GatewayRequest:
    body: JSON = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    return GatewayRequest(model, body, log=LogEntry("gemini", "/test"))


def generate_calls(fake: FakeGoogle) -> list[Recorded]:
    """Generate calls in order, either method (non-streaming Gemini 3 requests go through the stream)."""
    return [call for call in fake.requests if call.method in ("generateContent", "streamGenerateContent")]


def served_by(fake: FakeGoogle) -> list[str | None]:
    return [call.who for call in generate_calls(fake)]


@pytest.fixture
async def services(fake_google: FakeGoogle, tmp_path: Path) -> AsyncIterator[Services]:
    built = await create_services(fake_google.settings(tmp_path), use_keyring=False)
    yield built
    await built.close()


async def add(services: Services, fake: FakeGoogle, email: str, **options: object) -> Account:
    fake_account = fake.add_google_account(email, **options)  # type: ignore[arg-type]
    return await services.accounts.add_google(fake_account.refresh_token)


# -- reading the summary ------------------------------------------------------------------------------------


def test_summary_groups_take_their_models_from_the_summary_else_by_family() -> None:
    reply: JSON = {
        "groups": [
            {
                "displayName": "Gemini Models",
                "buckets": [
                    {
                        "bucketId": "g-5h",
                        "window": "5h",
                        "remainingFraction": 0.25,
                        "resetTime": "2026-12-03T14:00:00Z",
                    },
                    {"bucketId": "g-w", "window": "weekly", "resetTime": "2026-12-07T00:00:00Z"},
                ],
            },
            {
                "displayName": "Premium",  # no family word: only what it lists
                "models": ["claude-opus-4-6-thinking", {"id": "gpt-oss-120b-medium"}],
                "buckets": [{"window": "weekly", "remainingFraction": 1}],
            },
        ]
    }
    models = [PRO, "gemini-3-flash", CLAUDE, "claude-opus-4-6-thinking", "gpt-oss-120b-medium"]
    five_hour, weekly, premium = parse_quota_summary(reply, models, FAMILIES)
    assert (five_hour.group, five_hour.window, five_hour.remaining_fraction) == ("Gemini Models", "5h", 0.25)
    assert five_hour.models == {PRO, "gemini-3-flash"} == weekly.models
    assert five_hour.reset_at == datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
    assert weekly.remaining_fraction == 0.0  # Google leaves a 0 out: a resetTime alone means spent
    assert premium.models == {"claude-opus-4-6-thinking", "gpt-oss-120b-medium"}
    assert premium.remaining_fraction == 1.0
    # On a free tier the same missing fraction is unknown, in windows and in the per-model quota alike.
    [_, unknown, _] = parse_quota_summary(reply, models, FAMILIES, missing_is_unknown=True)
    assert unknown.remaining_fraction is None and not unknown.used_up(NOW)
    catalogue = {"models": {PRO: {"quotaInfo": {"resetTime": "2026-12-03T14:00:00Z"}}}}
    assert parse_model_catalogue(catalogue).models[PRO].remaining_fraction == 0.0
    assert parse_model_catalogue(catalogue, missing_is_unknown=True).models[PRO].remaining_fraction is None


def test_the_health_rule_counts_an_empty_window_until_its_reset() -> None:
    weekly = QuotaWindow("Gemini Models", "weekly", 0.0, NOW + timedelta(days=2), frozenset({PRO}))
    account = Account(
        id="a",
        kind=AccountKind.GOOGLE,
        quotas={
            PRO: ModelQuota(PRO, remaining_fraction=1.0),
            CLAUDE: ModelQuota(CLAUDE, remaining_fraction=0.5),
        },
        quota_windows=(weekly,),
    )
    assert account.quota_used_up(PRO, NOW)  # though the per-model quota reads 100 %
    assert not account.quota_used_up(CLAUDE, NOW)  # another group
    assert account.used_up_models(NOW) == {PRO}
    assert account.can_serve(NOW)
    assert account.lowest_remaining(PRO, NOW) == 0.0 and account.lowest_remaining(CLAUDE, NOW) == 0.5
    after = NOW + timedelta(days=3)
    assert not account.quota_used_up(PRO, after) and account.lowest_remaining(PRO, after) == 1.0


# -- the gateway against the fake ---------------------------------------------------------------------------


async def test_an_empty_weekly_bucket_sends_its_group_to_another_account(
    services: Services, fake_google: FakeGoogle
) -> None:
    full = await add(services, fake_google, "full@example.com")
    spent_fake = fake_google.add_google_account("spent@example.com")
    fake_google.set_window("spent@example.com", "Gemini", "weekly", 0.0, reset_in_s=2 * 86400)
    spent = await services.accounts.add_google(spent_fake.refresh_token)
    assert spent.quotas[PRO].remaining_fraction == 1.0
    [weekly] = [w for w in spent.quota_windows if w.window == "weekly" and PRO in w.models]
    assert weekly.remaining_fraction == 0.0 and weekly.reset_at is not None
    for n in range(4):
        await services.gateway.generate(ask(PRO, f"question {n}"))  # new conversations: no stickiness
    assert served_by(fake_google) == ["full@example.com"] * 4  # never even tried on the spent account
    assert services.pool.pick(CLAUDE, exclude={full.id}).id == spent.id  # its Claude group is untouched
    await services.gateway.generate(ask(CLAUDE))
    # With only the spent account, the client gets a 429 that says when the window resets.
    await services.accounts.set_enabled(full.id, False)
    with pytest.raises(ApiError) as caught:
        await services.gateway.generate(ask(PRO))
    assert caught.value.status == 429 and caught.value.retry_after is not None
    assert caught.value.retry_after > 86400


async def test_an_account_is_used_again_once_its_window_reset(
    services: Services, fake_google: FakeGoogle
) -> None:
    await add(services, fake_google, "other@example.com", models={PRO: 0.5})
    back_fake = fake_google.add_google_account("back@example.com")
    fake_google.set_window("back@example.com", "Gemini", "5h", 0.0, reset_in_s=1.5)
    await services.accounts.add_google(back_fake.refresh_token)
    await services.gateway.generate(ask(PRO))
    assert served_by(fake_google) == ["other@example.com"]
    await asyncio.sleep(1.6)  # the reset time passed: no new reading needed to use it again
    await services.gateway.generate(ask(PRO, "a new conversation"))  # the same one would stick to its account
    assert served_by(fake_google)[-1] == "back@example.com"  # more left than the other one now


async def test_a_window_spent_since_the_last_reading_is_learnt_from_the_long_rate_limit(
    services: Services, fake_google: FakeGoogle
) -> None:
    await add(services, fake_google, "a@example.com")
    await add(services, fake_google, "b@example.com", models={PRO: 0.5, CLAUDE: 1.0})
    fake_google.set_window("a@example.com", "Gemini", "weekly", 0.0, reset_in_s=3 * 3600)
    await services.gateway.generate(ask(PRO, "first"))
    await services.gateway.generate(ask(PRO, "second"))  # a has more left, but is remembered as spent
    # a refused once (a RATE_LIMIT_EXCEEDED asking for hours) and was not asked again every minute.
    assert served_by(fake_google) == ["a@example.com", "b@example.com", "b@example.com"]
    [account] = [a for a in services.accounts.accounts() if a.email == "a@example.com"]
    until = services.pool.refusals(account.id)[PRO]
    assert timedelta(hours=2.9) < until - datetime.now(UTC) <= timedelta(hours=3)


async def test_one_window_refusal_sends_the_whole_group_elsewhere_until_the_reset(
    services: Services, fake_google: FakeGoogle
) -> None:
    preview = "gemini-3-pro-preview"
    a = await add(services, fake_google, "a@example.com")
    b = await add(
        services, fake_google, "b@example.com", models={PRO: 0.5, FLASH: 0.5, preview: 0.5, CLAUDE: 0.5}
    )
    fake_google.set_window("a@example.com", "Gemini", "weekly", 0.0, reset_in_s=3 * 3600)
    await services.gateway.generate(ask(PRO, "first"))  # a has more left, so it is tried, and refuses
    # The models sharing that window go straight to b: no refused request each to find out.
    await services.gateway.generate(ask(FLASH, "second"))
    await services.gateway.generate(ask(preview, "third"))
    assert served_by(fake_google) == ["a@example.com", "b@example.com", "b@example.com", "b@example.com"]
    refused = services.pool.refusals(a.id)
    assert set(refused) == {PRO, FLASH, preview}  # the Gemini group, which is also what the views show
    for until in refused.values():
        assert timedelta(hours=2.9) < until - datetime.now(UTC) <= timedelta(hours=3)
    # Another group's window is not touched: Claude has more left on a, and a serves it.
    await services.gateway.generate(ask(CLAUDE, "fourth"))
    assert served_by(fake_google)[-1] == "a@example.com"
    # With b gone, a sibling gets the 429 naming the reset, still without a call to a.
    await services.accounts.set_enabled(b.id, False)
    with pytest.raises(ApiError) as caught:
        await services.gateway.generate(ask(FLASH, "fifth"))
    assert caught.value.status == 429 and caught.value.retry_after is not None
    assert caught.value.retry_after > 2.9 * 3600
    assert served_by(fake_google).count("a@example.com") == 2  # the one refusal and the Claude answer


async def test_a_free_tier_entry_without_a_fraction_is_unknown_and_pickable(
    services: Services, fake_google: FakeGoogle
) -> None:
    free = fake_google.add_google_account("free@example.com", tier="free-tier", models={PRO: 1.0})
    fake_google.set_remaining("free@example.com", PRO, None, reset_in_s=3600)
    account = await services.accounts.add_google(free.refresh_token)
    quota = account.quotas[PRO]
    assert quota.remaining_fraction is None and quota.reset_at is not None
    assert not account.quota_used_up(PRO, datetime.now(UTC))
    await services.gateway.generate(ask(PRO))
    assert served_by(fake_google) == ["free@example.com"]


async def test_an_account_without_a_summary_has_no_windows_and_is_not_asked_every_time(
    services: Services, fake_google: FakeGoogle
) -> None:
    plain = fake_google.add_google_account("plain@example.com", quota_summary=False)
    account = await services.accounts.add_google(plain.refresh_token)
    assert account.quota_windows == ()
    await services.accounts.refresh_quota(account.id)
    asked = fake_google.count("retrieveUserQuotaSummary", "plain@example.com")
    assert asked == 2 * len(fake_google.endpoints)  # a 404 tries each endpoint: on sign-in, then this read
    for _ in range(3):
        await services.accounts.refresh_quota(account.id)
    assert fake_google.count("retrieveUserQuotaSummary", "plain@example.com") == asked  # not asked for hours
    assert fake_google.count("fetchAvailableModels", "plain@example.com") == 5


# -- traffic per account ------------------------------------------------------------------------------------


async def test_quota_refreshes_reuse_a_valid_token_and_the_project(
    services: Services, fake_google: FakeGoogle
) -> None:
    account = await add(services, fake_google, "calm@example.com")
    tokens, lookups = (
        fake_google.count("token", account.email),
        fake_google.count("loadCodeAssist", account.email),
    )
    for _ in range(6):
        await services.accounts.refresh_quota(account.id)
    assert fake_google.count("fetchAvailableModels", account.email) == 1 + 6
    assert fake_google.count("retrieveUserQuotaSummary", account.email) == 1 + 6
    assert fake_google.count("token", account.email) == tokens == 1  # the sign-in's token is still valid
    assert fake_google.count("loadCodeAssist", account.email) == lookups == 1
    # Background rounds (not forced) read an account at most once per upstream.quota_refresh_minutes.
    await services.accounts.refresh_all_quotas(force=False)
    assert fake_google.count("fetchAvailableModels", account.email) == 7
    # Near expiry (inside upstream.token_refresh_margin_s) the next read refreshes the token, once.
    services.settings.upstream.token_refresh_margin_s = 3600.0
    await services.accounts.refresh_quota(account.id)
    await asyncio.sleep(0)
    assert fake_google.count("token", account.email) == 2


async def test_a_rotated_refresh_token_is_kept_for_the_next_refresh(
    services: Services, fake_google: FakeGoogle
) -> None:
    email = "rot@example.com"
    account = await add(services, fake_google, email)
    fake_google.rotate_refresh_tokens = True
    fake_google.expire_access_tokens(account.email)
    services.credentials.invalidate(account.id)
    await services.accounts.refresh_quota(account.id)  # refresh 2: Google hands out a new refresh token
    stored = await asyncio.to_thread(services.secrets.get, account.id)
    assert stored == fake_google.accounts[email].refresh_token
    services.credentials.forget(account.id)  # as after a restart: only the store knows the token
    await services.accounts.refresh_quota(account.id)  # refresh 3 works only with the stored new token
    sent = [call.body["refresh_token"] for call in fake_google.calls("token")]
    assert len(sent) == 3 and sent[2] == stored and sent[1] != stored


async def test_a_project_error_looks_the_project_up_again(
    services: Services, fake_google: FakeGoogle
) -> None:
    email = "moved@example.com"
    account = await add(services, fake_google, email)
    fake_google.accounts[email].project_id = "proj-new"  # Google re-provisioned it
    await services.accounts.refresh_quota(account.id)
    assert account.project_id == "proj-new"
    assert fake_google.count("loadCodeAssist", account.email) == 2
    await services.gateway.generate(ask(PRO))
    assert generate_calls(fake_google)[-1].body["project"] == "proj-new"


def as_if_hours_passed(account: Account, hours: float) -> None:
    """Move the account's last readings back in time, as if `hours` had passed since (the time control of the
    polling tests: what the refresh compares with the clock is how old its readings are)."""
    for name in ("tier_read_at", "quota_updated_at"):
        moment = getattr(account, name)
        assert moment is not None
        setattr(account, name, moment - timedelta(hours=hours))


async def test_an_upgraded_tier_shows_after_upstream_tier_refresh_hours_without_a_new_sign_in(
    services: Services, fake_google: FakeGoogle, tmp_path: Path
) -> None:
    account = await add(services, fake_google, "upgrade@example.com", tier="free-tier")
    assert account.tier == _TIER_NAMES["free-tier"]
    lookups = fake_google.count("loadCodeAssist", account.email)
    fake_google.set_tier("upgrade@example.com", "standard-tier")  # the user bought a plan
    # Within the day: background rounds and the window's Refresh read the quota, never the tier.
    as_if_hours_passed(account, 23)
    await services.accounts.refresh_all_quotas(force=False)
    await services.accounts.refresh_quota(account.id)
    assert fake_google.count("fetchAvailableModels", account.email) == 3  # sign-in + two reads
    assert fake_google.count("loadCodeAssist", account.email) == lookups
    assert account.tier == _TIER_NAMES["free-tier"]
    # A day after the last lookup the background round asks again, once, and the new tier is stored.
    as_if_hours_passed(account, 1.5)
    await services.accounts.refresh_all_quotas(force=False)
    assert fake_google.count("loadCodeAssist", account.email) == lookups + 1
    assert (account.tier, account.tier_id) == (_TIER_NAMES["standard-tier"], "standard-tier")
    [stored] = await asyncio.to_thread(services.db.list_accounts)
    assert (stored.tier, stored.tier_id) == (_TIER_NAMES["standard-tier"], "standard-tier")
    assert stored.tier_read_at is not None
    assert abs((datetime.now(UTC) - stored.tier_read_at).total_seconds()) < 60
    as_if_hours_passed(account, 1)
    await services.accounts.refresh_all_quotas(force=False)
    assert fake_google.count("loadCodeAssist", account.email) == lookups + 1
    # The time of the lookup survives a restart: a new start does not ask again before the day is over.
    await services.close()
    reopened = await create_services(fake_google.settings(tmp_path), use_keyring=False)
    try:
        [again] = reopened.accounts.accounts()
        await reopened.accounts.refresh_quota(again.id)
        assert fake_google.count("fetchAvailableModels", account.email) == 6
        assert fake_google.count("loadCodeAssist", account.email) == lookups + 1
        assert again.tier == _TIER_NAMES["standard-tier"]
    finally:
        await reopened.close()


async def test_tier_refresh_hours_zero_never_asks_again(services: Services, fake_google: FakeGoogle) -> None:
    services.settings.upstream.tier_refresh_hours = 0.0
    account = await add(services, fake_google, "never@example.com", tier="free-tier")
    lookups = fake_google.count("loadCodeAssist", account.email)
    fake_google.set_tier("never@example.com", "standard-tier")
    as_if_hours_passed(account, 24 * 30)
    await services.accounts.refresh_all_quotas(force=False)
    account.tier_read_at = None  # even a tier read by a version that kept no time stays as it is
    await services.accounts.refresh_quota(account.id)
    assert fake_google.count("fetchAvailableModels", account.email) == 3
    assert fake_google.count("loadCodeAssist", account.email) == lookups
    assert account.tier == _TIER_NAMES["free-tier"]


async def test_a_failed_tier_lookup_keeps_the_tier_and_the_quota_read_and_asks_next_round(
    services: Services, fake_google: FakeGoogle
) -> None:
    account = await add(services, fake_google, "busy@example.com", tier="free-tier")
    fake_google.set_tier("busy@example.com", "standard-tier")
    fake_google.set_remaining("busy@example.com", PRO, 0.3)
    endpoints = len(fake_google.endpoints)
    fake_google.inject(Fault("server", method="loadCodeAssist", times=endpoints))  # every endpoint: a 500
    as_if_hours_passed(account, 25)
    await services.accounts.refresh_all_quotas(force=False)
    assert account.tier == _TIER_NAMES["free-tier"]
    assert account.quotas[PRO].remaining_fraction == pytest.approx(0.3)  # the quota was still read
    as_if_hours_passed(account, 0.5)  # the next round (10 minutes later, here half an hour)
    await services.accounts.refresh_all_quotas(force=False)
    assert account.tier == _TIER_NAMES["standard-tier"]


# -- quota protection ---------------------------------------------------------------------------------------


async def test_quota_protection_keeps_a_reserve_and_says_which_setting_held_it(
    services: Services, fake_google: FakeGoogle
) -> None:
    low = await add(services, fake_google, "low@example.com", models={PRO: 0.15, CLAUDE: 1.0})
    windowed = fake_google.add_google_account("win@example.com", models={PRO: 1.0})
    fake_google.set_window("win@example.com", "Gemini", "5h", 0.1, reset_in_s=3600)
    win = await services.accounts.add_google(windowed.refresh_token)
    services.settings.quota.reserve_percent = 0.0  # off: both serve
    assert services.pool.pick(PRO).id in {low.id, win.id}
    services.settings.quota.reserve_percent = 20.0
    with pytest.raises(ApiError) as caught:
        await services.gateway.generate(ask(PRO))
    assert caught.value.status == 429
    assert "Quota protection" in caught.value.message and "quota.reserve_percent" in caught.value.message
    assert "low@example.com: 15 % left" in caught.value.message
    assert "win@example.com: 10 % left" in caught.value.message  # the window counts, not the 100 % model
    assert generate_calls(fake_google) == []
    await services.gateway.generate(ask(CLAUDE))  # the other group is above the reserve
    # An account's own reserve overrides the global one (0 = off for that account only).
    await services.accounts.set_reserve_percent(low.id, 0.0)
    await services.gateway.generate(ask(PRO))
    assert served_by(fake_google)[-1] == "low@example.com"
    assert services.pool.protected(win, PRO) and not services.pool.protected(low, PRO)
    stored = {a.id: a for a in await asyncio.to_thread(services.db.list_accounts)}
    assert stored[low.id].reserve_percent == 0.0 and stored[win.id].reserve_percent is None
    with pytest.raises(ValueError, match="between 0 and 100"):
        await services.accounts.set_reserve_percent(win.id, 120.0)
