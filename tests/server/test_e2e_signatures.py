"""Thought signatures the gateway never saw (a restart, a rewritten or imported history): Gemini 3 gets Google's
documented placeholder instead of a refusal; other models get the call as it is."""

from __future__ import annotations

from typing import Any

import pytest
from openai import AsyncOpenAI

from core.transform import SKIP_SIGNATURE
from tests.server.conftest import Gateway

IMPORTED: list[Any] = [
    {"role": "user", "content": "weather?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_imported_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": "{}"},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_imported_1", "content": "sunny"},
]
TOOLS: Any = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


@pytest.mark.parametrize(
    ("model", "signature"), [("gemini-3-pro-preview", SKIP_SIGNATURE), ("claude-sonnet-4-5", None)]
)
async def test_an_unsigned_call_from_an_imported_history(
    gateway: Gateway, openai_client: AsyncOpenAI, model: str, signature: str | None
) -> None:
    answer = await openai_client.chat.completions.create(model=model, messages=IMPORTED, tools=TOOLS)
    assert answer.choices[0].message.content == 'Echo: get_weather -> {"result":"sunny"}'
    (sent,) = gateway.sent()
    (call_part,) = sent["contents"][1]["parts"]
    assert call_part.get("thoughtSignature") == signature


@pytest.mark.usefixtures("gateway")
async def test_the_fake_refuses_an_unsigned_gemini_3_call() -> None:
    # The rule the placeholder answers: without it the upstream says no (checked against the fake directly).
    from tests.fake_google import (
        _check_signatures,
        _SignatureBook,
    )  # the fake's own rule, not production code

    contents = [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]}]
    with pytest.raises(Exception, match="thought_signature"):
        _check_signatures(contents, _SignatureBook(), "gemini-3-flash")
    _check_signatures(contents, _SignatureBook(), "gemini-2.5-flash")  # API keys still serve 2.5: no rule
