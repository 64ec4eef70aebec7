"""Gateway end to end against the fake Google: failover per fault kind, stickiness, streams, tool-call state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.cloudcode import session_number
from core.errors import ApiError, ApiErrorType
from core.gateway import Gateway, GatewayRequest, conversation_key_of, estimate_tokens
from core.pool import AccountPool
from core.services import Services, create_services, make_upstreams
from core.transform import SignatureCache
from core.types import JSON, Account, AccountStatus, LogEntry
from tests.fake_google import ANY_GENERATE, FakeGoogle, Fault

PRO = "gemini-3.1-pro-high"  # Cloud Code's current models (it serves no 2.5 model any more)
FLASH = "gemini-3-flash"
API_PRO = "gemini-2.5-pro"  # the Gemini API (API keys) still serves 2.5


@dataclass
class Env:
    fake: FakeGoogle
    services: Services
    pool: AccountPool
    gateway: Gateway
    changes: list[str]  # account ids, one per AccountService change notification

    async def changed(self, account_id: str, times: int) -> None:
        """Wait until the account was reported changed `times` times (background work ends with one)."""
        for _ in range(500):
            if self.changes.count(account_id) >= times:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{account_id} changed {self.changes.count(account_id)} times, not {times}")

    async def google(self, email: str, **options: object) -> Account:
        fake_account = self.fake.add_google_account(email, **options)  # type: ignore[arg-type]
        return await self.services.accounts.add_google(fake_account.refresh_token)

    async def api_key(self, **options: object) -> tuple[Account, str]:
        key = self.fake.add_api_key(**options)  # type: ignore[arg-type]
        return await self.services.accounts.add_api_key(key), key

    def account(self, account_id: str) -> Account:
        account = self.services.accounts.get(account_id)
        assert account is not None
        return account

    def generated_by(self) -> list[str | None]:
        """Who answered each generate call (streamed or not) that reached the fake, in order."""
        return [recorded.who for recorded in self.fake.generate_calls()]


@pytest.fixture
async def env(fake_google: FakeGoogle, tmp_path: Path) -> AsyncIterator[Env]:
    settings = fake_google.settings(tmp_path)
    services = await create_services(settings, use_keyring=False)
    # A pool of its own so capacity back-offs stay short in tests.
    pool = AccountPool(services.accounts, capacity_backoff_s=(0.02, 0.1))
    gateway = Gateway(
        settings,
        services.accounts,
        pool,
        services.credentials,
        make_upstreams(services.cloudcode, services.gemini_api),
        SignatureCache(),
    )
    changes: list[str] = []
    services.accounts.add_listener(changes.append)
    yield Env(fake_google, services, pool, gateway, changes)
    await pool.close()
    await services.close()


def ask(text: str, *, model: str = PRO, system: str | None = None, key: str | None = None) -> GatewayRequest:
    body: JSON = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    if system is not None:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    return GatewayRequest(model, body, conversation_key=key, log=LogEntry("gemini", "/test"))


def text_of(response: JSON) -> str:
    return "".join(part.get("text", "") for part in response["candidates"][0]["content"]["parts"])


async def collect(chunks: AsyncIterator[JSON]) -> list[JSON]:
    return [chunk async for chunk in chunks]


# -- success ------------------------------------------------------------------------------------------------


async def test_generate_on_a_google_account_fills_the_log(env: Env) -> None:
    account = await env.google("ann@example.com", project_id="proj-ann")
    request = ask("hello there", system="be brief")
    request.body["generationConfig"] = {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024}}
    response = await env.gateway.generate(request)
    assert "Echo: hello there" in text_of(response)
    [call] = env.fake.generate_calls()
    assert call.who == "ann@example.com"
    assert call.body["project"] == "proj-ann"
    assert call.body["model"] == PRO
    assert call.body["request"]["sessionId"] == session_number(conversation_key_of(request.body) or "")
    usage = response["usageMetadata"]
    assert usage["thoughtsTokenCount"] > 0
    assert request.log is not None
    assert (request.log.account, request.log.upstream_model) == (account.name, PRO)
    assert request.log.tokens_in == usage["promptTokenCount"] > 0
    assert request.log.tokens_out == usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]
    assert env.account(account.id).last_used_at is not None


async def test_generate_on_an_api_key_account(env: Env) -> None:
    account, key = await env.api_key()
    request = ask("hi from a key", model="gpt-4o")  # the best Gemini Pro the key offers: 2.5 Pro
    response = await env.gateway.generate(request)
    assert "Echo: hi from a key" in text_of(response)
    [call] = env.fake.generate_calls()
    assert (call.who, call.service, call.model) == (key, "gemini_api", API_PRO)
    assert request.log is not None and request.log.account == account.name


# -- failover per fault kind --------------------------------------------------------------------------------


async def test_rate_limit_rotates_to_another_account_and_cools_the_first(env: Env) -> None:
    first = await env.google("a@example.com")
    second = await env.google("b@example.com")
    env.fake.inject(Fault("rate_limit", method=ANY_GENERATE, who="a@example.com", delay="20s"))
    request = ask("rotate me")
    await env.gateway.generate(request)
    assert env.generated_by() == ["a@example.com", "b@example.com"]
    assert request.log is not None and request.log.account == second.name
    until = env.pool.cooldown_until(first.id, PRO)
    assert until is not None and 15 < until - time.time() <= 20
    await env.gateway.generate(ask("again"))
    assert env.generated_by()[-1] == "b@example.com"  # a is still cooling down


async def test_quota_rotates_persists_the_reset_time_and_refreshes_quota(env: Env) -> None:
    first = await env.google("a@example.com")
    await env.google("b@example.com")
    models_reads = len(env.fake.calls("fetchAvailableModels"))
    env.fake.inject(Fault("quota", method=ANY_GENERATE, who="a@example.com"))
    env.changes.clear()
    await env.gateway.generate(ask("out of quota"))
    assert env.generated_by() == ["a@example.com", "b@example.com"]
    quota = env.account(first.id).quotas[PRO]
    assert quota.remaining_fraction == 0.0
    assert quota.reset_at is not None
    assert 2.9 * 3600 < (quota.reset_at - datetime.now(UTC)).total_seconds() <= 3 * 3600
    stored = {a.id: a for a in await asyncio.to_thread(env.services.db.list_accounts)}
    assert stored[first.id].quotas[PRO].remaining_fraction == 0.0
    await env.changed(first.id, 1)  # the quota learnt from the 429
    await asyncio.sleep(0.05)
    # The models were read moments ago (on add): no new read before upstream.quota_refresh_minutes passed.
    assert len(env.fake.calls("fetchAvailableModels")) == models_reads


async def test_a_quota_refusal_refreshes_the_quota_once_the_interval_passed(env: Env) -> None:
    first = await env.google("a@example.com")
    await env.google("b@example.com")
    env.services.settings.upstream.quota_refresh_minutes = 0.0  # every reading counts as old
    models_reads = len(env.fake.calls("fetchAvailableModels"))
    env.fake.inject(Fault("quota", method=ANY_GENERATE, who="a@example.com"))
    env.changes.clear()
    await env.gateway.generate(ask("out of quota"))
    await env.changed(first.id, 2)  # the quota learnt from the 429, then the background refresh's result
    assert len(env.fake.calls("fetchAvailableModels")) == models_reads + 1
    assert env.account(first.id).quotas[PRO].remaining_fraction == 0.0  # the upstream agrees


async def test_capacity_waits_and_retries_without_blaming_the_account(env: Env) -> None:
    only = await env.google("a@example.com")
    # Three answers: one per Cloud Code endpoint, so the client's own endpoint fallback runs out.
    env.fake.inject(Fault("capacity", method=ANY_GENERATE, times=3))
    response = await env.gateway.generate(ask("busy?"))
    assert "Echo: busy?" in text_of(response)
    assert env.generated_by() == ["a@example.com"] * 4
    assert env.pool.cooldown_until(only.id, PRO) is None
    assert env.account(only.id).status is AccountStatus.OK


async def test_unauthenticated_refreshes_the_token_and_retries_the_same_account_once(env: Env) -> None:
    await env.google("a@example.com")
    await env.google("b@example.com")
    refreshes = len(env.fake.calls("token"))
    env.fake.inject(Fault("unauthenticated", method=ANY_GENERATE, who="a@example.com"))
    await env.gateway.generate(ask("who am I"))
    assert env.generated_by() == ["a@example.com", "a@example.com"]
    assert len(env.fake.calls("token")) == refreshes + 1


async def test_unauthenticated_twice_rotates(env: Env) -> None:
    await env.google("a@example.com")
    await env.google("b@example.com")
    env.fake.inject(Fault("unauthenticated", method=ANY_GENERATE, who="a@example.com", times=2))
    await env.gateway.generate(ask("still not me"))
    assert env.generated_by() == ["a@example.com", "a@example.com", "b@example.com"]


async def test_revoked_sign_in_marks_the_account_and_rotates(env: Env) -> None:
    first = await env.google("a@example.com")
    await env.google("b@example.com")
    env.fake.revoke(env.fake.accounts["a@example.com"].refresh_token)
    env.fake.expire_access_tokens("a@example.com")
    request = ask("revoked")
    await env.gateway.generate(request)
    assert env.account(first.id).status is AccountStatus.NEEDS_SIGNIN
    assert env.generated_by()[-1] == "b@example.com"
    await env.gateway.generate(ask("next"))
    assert env.generated_by()[-1] == "b@example.com"


async def test_forbidden_blocks_the_account_with_the_reason(env: Env) -> None:
    first = await env.google("a@example.com")
    await env.google("b@example.com")
    env.fake.inject(Fault("forbidden", method=ANY_GENERATE, who="a@example.com"))
    await env.gateway.generate(ask("blocked"))
    assert env.generated_by() == ["a@example.com", "b@example.com"]
    account = env.account(first.id)
    assert account.status is AccountStatus.BLOCKED
    assert "verif" in account.status_reason.lower()


async def test_bad_request_is_returned_without_rotating(env: Env) -> None:
    first = await env.google("a@example.com")
    await env.google("b@example.com")
    env.fake.inject(Fault("bad_request", method=ANY_GENERATE))
    with pytest.raises(ApiError) as caught:
        await env.gateway.generate(ask("wrong"))
    assert (caught.value.status, caught.value.type) == (400, ApiErrorType.INVALID_REQUEST)
    assert len(env.fake.generate_calls()) == 1
    assert env.account(first.id).status is AccountStatus.OK


async def test_a_model_no_account_offers_is_404_before_any_upstream_call(env: Env) -> None:
    await env.api_key()
    await env.api_key()
    with pytest.raises(ApiError) as caught:
        await env.gateway.generate(ask("hi", model="gemini-9-ultra"))
    assert caught.value.status == 404
    assert "gemini-9-ultra" in caught.value.message
    assert env.fake.generate_calls() == []  # the catalogue already says nobody offers it


# -- choosing and giving up ---------------------------------------------------------------------------------


async def test_conversation_stays_on_one_account(env: Env) -> None:
    await env.google("a@example.com")
    await env.google("b@example.com")
    for turn in range(4):
        request = ask("same conversation", system="you are terse")
        request.body["contents"] += [
            {"role": "model", "parts": [{"text": f"answer {turn}"}]},
            {"role": "user", "parts": [{"text": f"follow-up {turn}"}]},
        ][: 2 * min(turn, 1)]
        await env.gateway.generate(request)
    assert len(set(env.generated_by())) == 1
    await env.gateway.generate(ask("another conversation", system="you are terse"))
    await env.gateway.generate(ask("and one more", system="you are chatty"))
    assert len(set(env.generated_by())) == 2  # new conversations spread over the accounts


async def test_all_accounts_exhausted_is_429_with_the_earliest_reset(env: Env) -> None:
    env.fake.add_google_account("a@example.com")
    env.fake.add_google_account("b@example.com")
    env.fake.set_remaining("a@example.com", PRO, 0.0, reset_in_s=1800)
    env.fake.set_remaining("b@example.com", PRO, 0.0, reset_in_s=600)
    for fake_account in env.fake.accounts.values():
        await env.services.accounts.add_google(fake_account.refresh_token)
    with pytest.raises(ApiError) as caught:
        await env.gateway.generate(ask("anyone?"))
    error = caught.value
    assert (error.status, error.type) == (429, ApiErrorType.RATE_LIMIT)
    assert error.retry_after is not None and 590 <= error.retry_after <= 600
    assert "b@example.com" in error.message.split("earliest")[1]
    assert env.fake.generate_calls() == []


async def test_quota_on_every_account_ends_in_429_naming_what_was_tried(env: Env) -> None:
    first = await env.google("a@example.com")
    second = await env.google("b@example.com")
    env.fake.inject(Fault("quota", method=ANY_GENERATE, times=2))
    env.changes.clear()
    with pytest.raises(ApiError) as caught:
        await env.gateway.generate(ask("nothing left"))
    await env.changed(first.id, 1)
    await env.changed(second.id, 1)
    assert caught.value.status == 429
    assert "a@example.com: out of quota" in caught.value.message
    assert "b@example.com: out of quota" in caught.value.message
    assert caught.value.retry_after is not None and caught.value.retry_after > 3600 * 2.9


async def test_a_fault_that_always_fires_ends_within_max_attempts(env: Env) -> None:
    for name in "abcdef":
        await env.google(f"{name}@example.com")
    env.fake.inject(Fault("rate_limit", method=ANY_GENERATE, times=None))
    with pytest.raises(ApiError) as caught:
        await env.gateway.generate(ask("never"))
    assert caught.value.status == 429
    assert len(env.fake.generate_calls()) == env.services.settings.upstream.max_attempts
    assert caught.value.message.count("rate limited") == env.services.settings.upstream.max_attempts


async def test_a_fault_that_always_fires_ends_within_the_time_budget(env: Env) -> None:
    await env.google("a@example.com")
    env.services.settings.upstream.max_attempts = 1000
    env.services.settings.upstream.retry_budget_s = 0.3
    env.fake.inject(Fault("capacity", method=ANY_GENERATE, times=None))
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        await env.gateway.generate(ask("busy forever"))
    assert time.monotonic() - started < 1.5
    assert (caught.value.status, caught.value.type) == (503, ApiErrorType.OVERLOADED)
    assert "upstream busy" in caught.value.message


async def test_no_account_at_all_says_how_to_add_one(env: Env) -> None:
    with pytest.raises(ApiError) as caught:
        await env.gateway.generate(ask("hello?"))
    assert caught.value.status == 503
    assert "accounts add" in caught.value.message


# -- streams ------------------------------------------------------------------------------------------------


async def test_stream_yields_restored_chunks_and_usage(env: Env) -> None:
    await env.google("a@example.com")
    request = ask("one two three")
    chunks = await collect(env.gateway.stream(request))
    assert "".join(text_of(chunk) for chunk in chunks).replace(" ", "") == "Echo:onetwothree"
    assert len(chunks) > 1
    assert request.log is not None
    usage = chunks[-1]["usageMetadata"]
    assert (request.log.tokens_in, request.log.tokens_out) == (
        usage["promptTokenCount"],
        usage["candidatesTokenCount"],
    )
    assert request.log.tokens_out == 4  # "Echo:", "one", "two", "three"


async def test_stream_fails_over_before_the_first_chunk(env: Env) -> None:
    await env.google("a@example.com")
    await env.google("b@example.com")
    env.fake.inject(Fault("rate_limit", method="streamGenerateContent", who="a@example.com"))
    chunks = await collect(env.gateway.stream(ask("stream failover")))
    assert "Echo:" in text_of(chunks[0])
    assert env.generated_by() == ["a@example.com", "b@example.com"]


async def test_stream_cut_mid_way_raises_api_error_after_the_first_chunks(env: Env) -> None:
    await env.google("a@example.com")
    await env.google("b@example.com")
    env.fake.inject(Fault("stream_cut", method="streamGenerateContent", after=2))
    received: list[JSON] = []
    with pytest.raises(ApiError) as caught:
        async for chunk in env.gateway.stream(ask("this answer will break off")):
            received.append(chunk)
    assert len(received) == 2
    assert caught.value.status == 502
    assert "mid-stream" in caught.value.message
    assert len(env.fake.calls("streamGenerateContent")) == 1  # no failover once the answer started


async def test_closing_the_stream_closes_the_upstream_response(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    await env.google("a@example.com")
    env.fake.inject(Fault("slow", method="streamGenerateContent", delay=0.2))
    # Hold every upstream stream the gateway opens: garbage collection cannot close them for it, so only the
    # gateway's own aclose() can hang up on the fake.
    upstreams: list[AsyncIterator[JSON]] = []
    stream_generate = env.services.cloudcode.stream_generate

    def recorded(*args: Any, **kwargs: Any) -> AsyncIterator[JSON]:
        upstreams.append(stream_generate(*args, **kwargs))
        return upstreams[-1]

    monkeypatch.setattr(env.services.cloudcode, "stream_generate", recorded)
    chunks = env.gateway.stream(ask("a slow answer with many words in it"))
    await anext(chunks)
    await chunks.aclose()  # type: ignore[attr-defined]
    for _ in range(50):
        if env.fake.streams_cancelled:
            break
        await asyncio.sleep(0.01)
    assert len(upstreams) == 1
    assert env.fake.streams_cancelled == 1


# -- tool calls, counting, models ---------------------------------------------------------------------------


async def test_function_call_ids_and_thought_signatures_survive_the_next_turn(env: Env) -> None:
    await env.google("a@example.com")
    tools = [
        {
            "functionDeclarations": [
                {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}
            ]
        }
    ]
    first_turn = {"role": "user", "parts": [{"text": "CALL:get_weather please"}]}
    request = GatewayRequest(PRO, {"contents": [first_turn], "tools": tools})
    response = await env.gateway.generate(request)
    [part] = response["candidates"][0]["content"]["parts"]
    call = part["functionCall"]
    assert call["name"] == "get_weather"
    assert call["id"]  # the fake gives Gemini models no id: the gateway made one
    # The client sends the call back the way OpenAI-style clients do: id kept, signature dropped.
    follow_up = {
        "contents": [
            first_turn,
            {"role": "model", "parts": [{"functionCall": call}]},
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "get_weather", "id": call["id"], "response": {"temp": 21}}}
                ],
            },
        ],
        "tools": tools,
    }
    answer = await env.gateway.generate(GatewayRequest(PRO, follow_up))
    assert answer["candidates"]
    sent = env.fake.generate_calls()[-1].body["request"]["contents"][1]["parts"][0]
    assert sent["thoughtSignature"] == part["thoughtSignature"]


async def test_count_tokens_asks_the_upstream_and_estimates_when_it_cannot(env: Env) -> None:
    request = ask("count these words for me please " * 10)
    estimate = estimate_tokens(request.body)
    assert await env.gateway.count_tokens(request) == estimate  # no account yet: local estimate
    await env.google("a@example.com")
    counted = await env.gateway.count_tokens(request)
    assert len(env.fake.calls("countTokens")) == 1
    assert counted > 0
    env.fake.inject(Fault("server", method="countTokens", times=None))
    assert await env.gateway.count_tokens(request) == estimate


async def test_models_lists_offered_models_with_counts_and_offered_aliases(env: Env) -> None:
    env.services.settings.models = {"my-fast": FLASH, "my-ghost": "gemini-0-missing"}
    await env.google("a@example.com", models={PRO: 1.0, FLASH: 1.0, "claude-sonnet-4-5": 1.0})
    await env.api_key(models=[FLASH])
    by_id = {info.id: info for info in env.gateway.models()}
    assert (by_id[PRO].accounts, by_id[FLASH].accounts) == (1, 2)
    assert by_id["claude-sonnet-4-5"].owned_by == "anthropic"
    assert by_id["my-fast"].aliases_for == FLASH
    assert "my-ghost" not in by_id
    assert by_id[PRO].display_name == "Gemini 3.1 Pro (High)"
    await env.api_key(models=[PRO])  # an account change shows up at once
    assert {info.id: info.accounts for info in env.gateway.models()}[PRO] == 2


def test_conversation_key_ignores_later_turns_and_tells_conversations_apart() -> None:
    first: JSON = {
        "systemInstruction": {"parts": [{"text": "sys"}]},
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
    }
    later: JSON = {**first, "contents": [*first["contents"], {"role": "model", "parts": [{"text": "hello"}]}]}
    other: JSON = {**first, "contents": [{"role": "user", "parts": [{"text": "bye"}]}]}
    assert conversation_key_of(first) == conversation_key_of(later)
    assert conversation_key_of(first) != conversation_key_of(other)
    assert conversation_key_of({"contents": []}) is None
