"""End to end: today's client model names, resolved by family against what the accounts offer, via the SDKs."""

from __future__ import annotations

import anthropic
import openai
import pytest
from anthropic import AsyncAnthropic
from openai import AsyncOpenAI

from tests.server.conftest import Gateway

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

LATE_2026 = {
    "gemini-3-flash": 1.0,
    "gemini-3.1-pro-low": 1.0,
    "gemini-3.1-pro-high": 1.0,
    "claude-sonnet-4-6": 1.0,
    "claude-sonnet-4-6-thinking": 1.0,
    "claude-opus-4-6-thinking": 1.0,
}


async def only_late_2026_accounts(gateway: Gateway) -> None:
    """The fixture's account off; one account with a late-2026 catalogue on."""
    await gateway.services.accounts.set_enabled(gateway.account("alice@example.com").id, False)
    await gateway.add_google_account("bob@example.com", models=LATE_2026)


@pytest.mark.parametrize(
    ("client_model", "served_by"),
    [
        ("gpt-5-codex", "gemini-3.1-pro-high"),
        ("gpt-6.2-sol", "gemini-3.1-pro-high"),
        ("gpt-5-mini", "gemini-3-flash"),
    ],
)
async def test_openai_names_go_to_the_best_gemini_of_their_family(
    gateway: Gateway, openai_client: AsyncOpenAI, client_model: str, served_by: str
) -> None:
    await only_late_2026_accounts(gateway)
    answer = await openai_client.chat.completions.create(
        model=client_model, messages=[{"role": "user", "content": "hello"}]
    )
    assert answer.choices[0].message.content == "Echo: hello"
    (call,) = gateway.fake.generate_calls()
    assert call.body["model"] == served_by
    (row,) = await gateway.log_rows()
    assert (row.client_model, row.upstream_model) == (client_model, served_by)


async def test_a_reasoning_request_prefers_a_thinking_variant(
    gateway: Gateway, claude: AsyncAnthropic
) -> None:
    await only_late_2026_accounts(gateway)
    await claude.messages.create(
        model="claude-sonnet-5",
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "think"}],
    )
    await claude.messages.create(
        model="claude-sonnet-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )
    assert [call.body["model"] for call in gateway.fake.generate_calls()] == [
        "claude-sonnet-4-6-thinking",
        "claude-sonnet-4-6",
    ]


async def test_claude_code_default_names_reach_claude_models(
    gateway: Gateway, claude: AsyncAnthropic
) -> None:
    await only_late_2026_accounts(gateway)
    for name in ("claude-opus-4-8", "claude-haiku-4-5-20251001"):
        message = await claude.messages.create(
            model=name, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
        assert message.model == name  # the client sees its own name back
    assert [call.body["model"] for call in gateway.fake.generate_calls()] == [
        "claude-opus-4-6-thinking",
        "gemini-3-flash",  # no Haiku offered: quick work goes to Flash, not to Opus quota
    ]


async def test_models_list_shows_what_each_family_alias_resolves_to(
    gateway: Gateway, openai_client: AsyncOpenAI, claude: AsyncAnthropic
) -> None:
    await only_late_2026_accounts(gateway)
    listed = {model.id: model for model in (await openai_client.models.list()).data}
    assert "gemini-3-pro-preview" not in listed  # the disabled account's catalogue is not offered
    assert {"gemini-3.1-pro-high", "claude-opus-4-6-thinking"} <= listed.keys()
    raw = await gateway.http.get(
        gateway.url + "/v1/models", headers={"Authorization": f"Bearer {gateway.key}"}
    )
    aliases = {entry["id"]: entry.get("served_by") for entry in (await raw.json())["data"]}
    assert aliases["gpt-5-codex"] == "gemini-3.1-pro-high"
    assert aliases["claude-opus-4-5"] == "claude-opus-4-6-thinking"
    claude_page = (await claude.models.list()).model_dump()["data"]
    assert {"id": "claude-haiku-4-5", "served_by": "gemini-3-flash"}.items() <= next(
        entry for entry in claude_page if entry["id"] == "claude-haiku-4-5"
    ).items()


async def test_a_name_nothing_can_serve_is_a_404_listing_what_is_available(
    gateway: Gateway, openai_client: AsyncOpenAI, claude: AsyncAnthropic
) -> None:
    await only_late_2026_accounts(gateway)
    with pytest.raises(openai.NotFoundError) as caught:
        await openai_client.chat.completions.create(
            model="llama-3-70b", messages=[{"role": "user", "content": "x"}]
        )
    assert "llama-3-70b" in caught.value.message and "gemini-3-flash" in caught.value.message
    with pytest.raises(anthropic.NotFoundError) as refused:
        await claude.messages.create(
            model="mistral-large", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    assert refused.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert "claude-sonnet-4-6" in refused.value.message


# --- two catalogues: Cloud Code (no 2.5 models any more) and the Gemini API (API keys, still 2.5) --------

API_ONLY = "gemini-2.5-flash"  # the Gemini API serves it; Cloud Code retired it (forwarded to gemini-3-flash)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_model_only_api_keys_serve_goes_to_the_api_key_account(
    gateway: Gateway, openai_client: AsyncOpenAI, stream: bool
) -> None:
    key = await gateway.add_api_key([API_ONLY], "studio")
    for _ in range(3):  # every time, not by luck of the rotation
        if stream:
            chunks = await openai_client.chat.completions.create(
                model=API_ONLY, messages=[{"role": "user", "content": "hello"}], stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
        else:
            answer = await openai_client.chat.completions.create(
                model=API_ONLY, messages=[{"role": "user", "content": "hello"}]
            )
            text = answer.choices[0].message.content or ""
        assert text == "Echo: hello"
    method = "streamGenerateContent" if stream else "generateContent"
    served = gateway.fake.calls(method)
    assert [(call.service, call.who, call.model) for call in served] == [("gemini_api", key, API_ONLY)] * 3
    assert all(call.service != "cloudcode" for call in gateway.fake.requests if call.method == method)


async def test_an_exhausted_api_key_does_not_send_its_model_to_cloud_code(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    key = await gateway.add_api_key([API_ONLY], "studio")
    gateway.fake.set_remaining(key, API_ONLY, 0.0, reset_in_s=3600)
    with pytest.raises(openai.RateLimitError):
        await openai_client.chat.completions.create(
            model=API_ONLY, messages=[{"role": "user", "content": "x"}]
        )
    assert not gateway.sent()  # the Google account was never asked for a model its channel retired


async def test_with_only_google_accounts_a_retired_id_follows_the_catalogue_forward(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    answer = await openai_client.chat.completions.create(
        model=API_ONLY, messages=[{"role": "user", "content": "hello"}]
    )
    assert answer.choices[0].message.content == "Echo: hello"
    (call,) = gateway.fake.generate_calls()
    assert (call.service, call.model) == ("cloudcode", "gemini-3-flash")  # deprecatedModelIds says so


async def test_with_only_google_accounts_an_api_key_only_model_is_a_404_naming_what_is_offered(
    gateway: Gateway, openai_client: AsyncOpenAI, claude: AsyncAnthropic
) -> None:
    # A 2.5 model with no replacement on Cloud Code and no family there (the Gemini API's computer-use model).
    only_keys = "gemini-2.5-computer-use-preview-10-2025"
    with pytest.raises(openai.NotFoundError) as caught:
        await openai_client.chat.completions.create(
            model=only_keys, messages=[{"role": "user", "content": "x"}]
        )
    message = caught.value.message
    assert only_keys in message and "gemini-3-flash" in message and "claude-sonnet-4-5" in message
    with pytest.raises(anthropic.NotFoundError) as refused:
        await claude.messages.create(
            model=only_keys, max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    assert refused.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert not gateway.sent()  # nothing went up


async def test_built_in_aliases_resolve_against_each_live_catalogue(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    # Google account only: gpt-4o goes to Cloud Code's current Pro, never to a retired 2.5 id.
    await openai_client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "a"}])
    assert gateway.fake.generate_calls()[-1].model == "gemini-3.1-pro-high"
    # An API key with only 2.5 models, the Google account off: the alias follows the key's catalogue.
    key = await gateway.add_api_key(["gemini-2.5-pro", API_ONLY], "studio")
    await gateway.services.accounts.set_enabled(gateway.account("alice@example.com").id, False)
    await openai_client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "b"}])
    last = gateway.fake.generate_calls()[-1]
    assert (last.service, last.who, last.model) == ("gemini_api", key, "gemini-2.5-pro")
