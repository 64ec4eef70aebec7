"""Google's reply to an outdated client identity (a 200 whose text says so) never reaches a client as an answer."""

from __future__ import annotations

import anthropic
import openai
import pytest
from anthropic import AsyncAnthropic
from openai import AsyncOpenAI

from core.stale_client import could_still_say_stale, reply_text, says_stale
from core.types import AccountStatus
from tests.fake_google import STALE_CLIENT_REPLY
from tests.server.conftest import Gateway

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")


@pytest.mark.parametrize("stream", [False, True])
async def test_a_stale_version_is_a_configuration_error_not_an_answer(
    gateway: Gateway, openai_client: AsyncOpenAI, claude: AsyncAnthropic, stream: bool
) -> None:
    seen: list[str] = []
    gateway.services.gateway.add_stale_client_listener(seen.append)
    gateway.services.settings.upstream.client_version = "2.4.0"  # below the fake's floor
    with pytest.raises(openai.APIStatusError) as caught:
        if stream:
            async for _ in await openai_client.chat.completions.create(
                model="gemini-3-flash", messages=[{"role": "user", "content": "hi"}], stream=True
            ):
                pass
        else:
            await openai_client.chat.completions.create(
                model="gemini-3-flash", messages=[{"role": "user", "content": "hi"}]
            )
    assert caught.value.status_code == 502
    assert (
        "upstream.client_version" in caught.value.message and "antigravity/hub/2.4.0" in caught.value.message
    )
    with pytest.raises(anthropic.APIStatusError) as refused:
        await claude.messages.create(
            model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": "x"}]
        )
    assert refused.value.status_code == 502
    # Not the account's fault: it stays usable, and raising the version fixes it at once.
    account = gateway.account("alice@example.com")
    assert account.status is AccountStatus.OK
    assert seen and seen[0].startswith("antigravity/hub/2.4.0 ")
    gateway.services.settings.upstream.client_version = "2.9.1"
    answer = await openai_client.chat.completions.create(
        model="gemini-3-flash", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "Echo: hi"
    rows = await gateway.log_rows()
    assert sorted(row.status for row in rows) == [200, 502, 502]


def test_the_stale_text_is_recognised_whole_and_as_it_streams() -> None:
    whole = {"candidates": [{"content": {"parts": [{"text": STALE_CLIENT_REPLY}]}}]}
    assert says_stale(reply_text(whole) or "")
    assert could_still_say_stale("This ") and could_still_say_stale("  this version of")
    assert (
        not could_still_say_stale("")
        and not could_still_say_stale("Thistle")
        and not could_still_say_stale("Echo: this version")
    )
    call = {"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": {}}}]}}]}
    assert reply_text(call) is None
