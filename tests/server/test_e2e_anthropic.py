"""End to end: the official anthropic SDK against the running gateway, in front of the fake Google."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic import AsyncAnthropic
from anthropic.types import (
    AssistantMessageParam,
    Message,
    MessageParam,
    ToolParam,
    ToolResultBlockParam,
    UserMessageParam,
)

from core.services import create_services
from core.types import AccountStatus
from server.runner import GatewayServer
from tests.fake_google import ANY_GENERATE, TINY_PNG, Fault, Reply, prompt_tokens
from tests.helpers import FORBIDDEN_SCHEMA_KEYS, schema_keys
from tests.server.conftest import Gateway

# The SDK warns that Anthropic retires its own claude-sonnet-4-5; the gateway serves Google's, which it is not.
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

FLASH = "gemini-3-flash"
CLAUDE = "claude-sonnet-4-5"
SONNET = "claude-sonnet-4-5"
SONNET_THINKING = "claude-sonnet-4-5-thinking"

WEATHER_TOOL: ToolParam = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


# --- helpers --------------------------------------------------------------------------------------------


def text_of(message: Message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def assistant_turn(message: Message) -> MessageParam:
    """The SDK's answer sent back as the next request's assistant turn, exactly as a client would."""
    return message.to_param()


def tool_result_turn(message: Message, result: str) -> UserMessageParam:
    results: list[ToolResultBlockParam] = [
        {"type": "tool_result", "tool_use_id": block.id, "content": result}
        for block in message.content
        if block.type == "tool_use"
    ]
    return {"role": "user", "content": results}


async def ask(claude: AsyncAnthropic, *, stream: bool, **params: Any) -> tuple[Message, list[str]]:
    """One request, streamed or not; the final message and (for streams) the event types seen."""
    if not stream:
        return await claude.messages.create(**params), []
    events: list[str] = []
    async with claude.messages.stream(**params) as message_stream:
        async for event in message_stream:
            events.append(event.type)
        return await message_stream.get_final_message(), events


# --- plain messages -------------------------------------------------------------------------------------


async def test_create_with_system_string(gateway: Gateway, claude: AsyncAnthropic) -> None:
    message = await claude.messages.create(
        model=FLASH,
        max_tokens=256,
        system="You answer briefly.",
        messages=[{"role": "user", "content": "hello there"}],
        extra_body={"temperature": 0.3},  # this SDK version dropped the parameter; older ones send it
    )

    (sent,) = gateway.sent()
    assert sent["systemInstruction"] == {"parts": [{"text": "You answer briefly."}]}
    assert sent["contents"] == [{"role": "user", "parts": [{"text": "hello there"}]}]
    assert sent["generationConfig"]["maxOutputTokens"] == 256
    assert sent["generationConfig"]["temperature"] == pytest.approx(0.3)
    assert text_of(message) == "Echo: hello there"
    assert message.role == "assistant" and message.model == FLASH and message.id.startswith("msg_")
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens == prompt_tokens(sent)
    assert message.usage.output_tokens == 3  # "Echo:", "hello", "there"

    (row,) = await gateway.log_rows()
    assert (row.protocol, row.path, row.status, row.stream) == ("anthropic", "/v1/messages", 200, False)
    assert row.client_model == FLASH and row.upstream_model == FLASH and row.account == "alice@example.com"
    assert (row.tokens_in, row.tokens_out) == (message.usage.input_tokens, message.usage.output_tokens)


async def test_system_as_blocks_and_multi_turn(gateway: Gateway, claude: AsyncAnthropic) -> None:
    message = await claude.messages.create(
        model=FLASH,
        max_tokens=100,
        system=[{"type": "text", "text": "Rule one."}, {"type": "text", "text": "Rule two."}],
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [{"type": "text", "text": "noted"}]},
            {
                "role": "user",
                "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "part"}],
            },
        ],
    )

    (sent,) = gateway.sent()
    assert sent["systemInstruction"]["parts"] == [{"text": "Rule one."}, {"text": "Rule two."}]
    assert [content["role"] for content in sent["contents"]] == ["user", "model", "user"]
    assert text_of(message) == "Echo: second part"


@pytest.mark.parametrize("stream", [False, True])
async def test_system_messages_inside_messages_as_current_claude_code_sends_them(
    gateway: Gateway, claude: AsyncAnthropic, stream: bool
) -> None:
    # Claude Code 2.1 puts `role: "system"` messages inside `messages` (beta mid-conversation-system).
    messages: list[Any] = [
        {"role": "system", "content": "Environment: linux."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": [{"type": "text", "text": "noted"}]},
        {"role": "system", "content": [{"type": "text", "text": "Plan mode is on."}]},
        {"role": "user", "content": "second"},
    ]
    message, _ = await ask(
        claude,
        stream=stream,
        model=SONNET,
        max_tokens=100,
        system="You are Claude Code.",
        messages=messages,
        extra_headers={"anthropic-beta": "mid-conversation-system-2026-04-07"},
    )

    (sent,) = gateway.sent()
    assert sent["systemInstruction"]["parts"] == [
        {"text": "You are Claude Code."},
        {"text": "Environment: linux."},
    ]
    assert [content["role"] for content in sent["contents"]] == ["user", "model", "user"]
    assert sent["contents"][2]["parts"] == [{"text": "Plan mode is on."}, {"text": "second"}]
    assert text_of(message).startswith("Echo:")
    (row,) = await gateway.log_rows()
    assert row.status == 200


async def test_stream_text(gateway: Gateway, claude: AsyncAnthropic) -> None:
    async with claude.messages.stream(
        model=FLASH, max_tokens=100, messages=[{"role": "user", "content": "one two three"}]
    ) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()

    assert len(pieces) > 1  # it really streamed, word by word
    assert "".join(pieces) == "Echo: one two three" == text_of(final)
    assert final.stop_reason == "end_turn"
    (call,) = gateway.fake.calls("streamGenerateContent")
    assert call.query.get("alt") == "sse"
    assert final.usage.input_tokens == prompt_tokens(call.body["request"])
    assert final.usage.output_tokens == 4
    (row,) = await gateway.log_rows()
    assert row.stream and row.status == 200 and row.ttfb_ms is not None
    assert (row.tokens_in, row.tokens_out) == (final.usage.input_tokens, final.usage.output_tokens)


async def test_count_tokens_asks_the_upstream(gateway: Gateway, claude: AsyncAnthropic) -> None:
    counted = await claude.messages.count_tokens(
        model=SONNET,
        system="Be exact.",
        messages=[{"role": "user", "content": "count every one of these characters please"}],
    )

    (call,) = gateway.fake.calls("countTokens")
    assert call.body["request"]["systemInstruction"] == {"parts": [{"text": "Be exact."}]}
    assert counted.input_tokens == prompt_tokens(call.body["request"]) > 1
    assert gateway.sent() == []  # counting generates nothing


async def test_models_list_and_retrieve(gateway: Gateway, claude: AsyncAnthropic) -> None:
    page = await claude.models.list()
    ids = [model.id async for model in page]
    offered = set(gateway.fake.accounts["alice@example.com"].models)
    assert offered <= set(ids)
    assert all(model.type == "model" for model in page.data)

    model = await claude.models.retrieve(SONNET)
    assert model.id == SONNET and model.display_name
    with pytest.raises(anthropic.NotFoundError):
        await claude.models.retrieve("no-such-model")


# --- tools and thought signatures -----------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", [SONNET, FLASH])
async def test_tool_round_trip_keeps_the_signature(
    gateway: Gateway, claude: AsyncAnthropic, model: str, stream: bool
) -> None:
    question: MessageParam = {
        "role": "user",
        "content": 'What is the weather? CALL:get_weather{"city": "Paris"}',
    }
    first, events = await ask(
        claude, stream=stream, model=model, max_tokens=200, tools=[WEATHER_TOOL], messages=[question]
    )

    assert first.stop_reason == "tool_use"
    (tool_use,) = [block for block in first.content if block.type == "tool_use"]
    assert tool_use.name == "get_weather" and tool_use.input == {"city": "Paris"}
    if model == SONNET:
        assert tool_use.id.startswith("toolu_")  # the upstream's own id, passed through
    else:
        assert tool_use.id  # Gemini gives none: the gateway made one up
    if stream:
        assert events[-1] == "message_stop" and "input_json" in events

    second = await claude.messages.create(
        model=model,
        max_tokens=200,
        tools=[WEATHER_TOOL],
        messages=[question, assistant_turn(first), tool_result_turn(first, "21 C and sunny")],
    )

    # The fake refuses a call it issued that comes back without its signature, so a 200 proves the trip.
    assert text_of(second) == 'Echo: get_weather -> {"result":"21 C and sunny"}'
    assert second.stop_reason == "end_turn"
    first_sent, second_sent = gateway.sent()
    assert first_sent["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    model_turn, answer_turn = second_sent["contents"][1:]
    (call_part,) = [part for part in model_turn["parts"] if "functionCall" in part]
    assert call_part["functionCall"] == {"name": "get_weather", "args": {"city": "Paris"}, "id": tool_use.id}
    assert call_part["thoughtSignature"].startswith("sig-")
    assert answer_turn["parts"][0]["functionResponse"]["id"] == tool_use.id
    assert answer_turn["parts"][0]["functionResponse"]["name"] == "get_weather"


async def test_signature_restored_when_the_client_drops_thinking_blocks(
    gateway: Gateway, claude: AsyncAnthropic
) -> None:
    question: MessageParam = {"role": "user", "content": "CALL:get_weather"}
    first = await claude.messages.create(
        model=FLASH, max_tokens=200, tools=[WEATHER_TOOL], messages=[question]
    )
    only_tool_use: AssistantMessageParam = {
        "role": "assistant",
        "content": [block for block in first.content if block.type == "tool_use"],
    }

    second = await claude.messages.create(
        model=FLASH,
        max_tokens=200,
        tools=[WEATHER_TOOL],
        messages=[question, only_tool_use, tool_result_turn(first, "cold")],
    )

    assert text_of(second) == 'Echo: get_weather -> {"result":"cold"}'
    (call_part,) = gateway.sent()[1]["contents"][1]["parts"]
    assert call_part["thoughtSignature"].startswith("sig-")  # from the gateway's signature cache


@pytest.mark.parametrize("model", [SONNET, FLASH])
async def test_signature_travels_with_the_client_across_a_restart(
    gateway: Gateway, claude: AsyncAnthropic, model: str
) -> None:
    """A restarted gateway has no signature cache: only the blocks the client sends back can carry it."""
    question: MessageParam = {"role": "user", "content": 'CALL:get_weather{"city": "Rome"}'}
    first = await claude.messages.create(
        model=model, max_tokens=200, tools=[WEATHER_TOOL], messages=[question]
    )
    carriers = [block for block in first.content if block.type == "thinking"]
    assert len(carriers) == 1 and carriers[0].thinking == "" and carriers[0].signature.startswith("sig-")

    restarted = await create_services(gateway.services.settings, use_keyring=False)
    server = GatewayServer(restarted, shutdown_timeout=1.0)
    started = await server.start("127.0.0.1", 0)
    client = AsyncAnthropic(base_url=started.url, api_key=gateway.key, max_retries=0, timeout=10.0)
    try:
        second = await client.messages.create(
            model=model,
            max_tokens=200,
            tools=[WEATHER_TOOL],
            messages=[question, assistant_turn(first), tool_result_turn(first, "mild")],
        )
    finally:
        await client.close()
        await server.stop()
        await restarted.close()

    assert text_of(second) == 'Echo: get_weather -> {"result":"mild"}'
    model_parts = gateway.sent()[1]["contents"][1]["parts"]
    assert len(model_parts) == 1  # the carrier block became the call's signature, not a part of its own
    assert model_parts[0]["thoughtSignature"].startswith("sig-")


@pytest.mark.parametrize("stream", [False, True])
async def test_extended_thinking_round_trip(gateway: Gateway, claude: AsyncAnthropic, stream: bool) -> None:
    question: MessageParam = {"role": "user", "content": "Think, then CALL:get_weather"}
    params: dict[str, Any] = {
        "model": SONNET_THINKING,
        "max_tokens": 4096,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "tools": [WEATHER_TOOL],
    }
    first, events = await ask(claude, stream=stream, messages=[question], **params)

    method = "streamGenerateContent"  # non-streaming requests to these models go up as streams too
    (first_sent,) = gateway.sent(method)
    assert first_sent["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 2048,
        "includeThoughts": True,
    }
    assert first_sent["generationConfig"]["maxOutputTokens"] == 4096
    reasoning = [block for block in first.content if block.type == "thinking" and block.thinking]
    assert [block.thinking for block in reasoning] == ["Thinking about it."]
    assert reasoning[0].signature.startswith("sig-")
    assert first.content[-1].type == "tool_use" and first.stop_reason == "tool_use"
    assert first.usage.output_tokens == 3 + 1  # the thought's words plus the call
    if stream:
        assert "thinking" in events and "signature" in events and events[-1] == "message_stop"

    second = await claude.messages.create(
        messages=[question, assistant_turn(first), tool_result_turn(first, "warm")], **params
    )

    assert text_of(second).endswith('Echo: get_weather -> {"result":"warm"}')
    second_sent = gateway.sent()[-1]
    model_parts = second_sent["contents"][1]["parts"]
    assert model_parts[0] == {
        "thought": True,
        "text": "Thinking about it.",
        "thoughtSignature": reasoning[0].signature,
    }
    (call_part,) = [part for part in model_parts if "functionCall" in part]
    assert call_part["thoughtSignature"].startswith("sig-")
    assert call_part["thoughtSignature"] != reasoning[0].signature  # each part keeps its own


async def test_thinking_budget_not_below_max_tokens_is_refused(
    gateway: Gateway, claude: AsyncAnthropic
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await claude.messages.create(
            model=SONNET_THINKING,
            max_tokens=1024,
            thinking={"type": "enabled", "budget_tokens": 1024},
            messages=[{"role": "user", "content": "hi"}],
        )

    assert caught.value.status_code == 400
    assert "budget_tokens" in caught.value.message
    assert gateway.sent() == []  # refused before any account was used


async def test_tool_schema_is_cleaned_for_the_upstream(gateway: Gateway, claude: AsyncAnthropic) -> None:
    tool: ToolParam = {
        "name": "book_trip",
        "description": "Book a trip",
        "input_schema": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$id": "https://example.com/trip.json",
            "type": "object",
            "$defs": {
                "Place": {
                    "type": "object",
                    "properties": {"city": {"type": "string", "examples": ["Oslo"]}},
                    "required": ["city"],
                }
            },
            "properties": {
                "to": {"$ref": "#/$defs/Place"},
                "unit": {"const": "metric"},
                "nights": {"type": "integer", "default": 2},
                "default": {"type": "string", "description": "a property named like a keyword"},
            },
            "required": ["to"],
        },
    }

    message = await claude.messages.create(
        model=FLASH,
        max_tokens=200,
        tools=[tool],
        messages=[{"role": "user", "content": 'CALL:book_trip{"to": {"city": "Oslo"}, "nights": 3}'}],
    )

    (sent,) = gateway.sent()
    parameters = sent["tools"][0]["functionDeclarations"][0]["parameters"]
    assert not FORBIDDEN_SCHEMA_KEYS & set(schema_keys(parameters))
    assert parameters["properties"]["to"]["properties"]["city"]["type"] == "string"  # $ref inlined
    assert parameters["properties"]["unit"]["enum"] == ["metric"]  # const as a one-value enum
    assert "default: 2" in parameters["properties"]["nights"]["description"]  # kept as a hint
    assert "default" in parameters["properties"]  # a property name is not a keyword
    (tool_use,) = [block for block in message.content if block.type == "tool_use"]
    assert tool_use.input == {"to": {"city": "Oslo"}, "nights": 3}


async def test_base64_image_becomes_inline_data(gateway: Gateway, claude: AsyncAnthropic) -> None:
    message = await claude.messages.create(
        model=FLASH,
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": TINY_PNG},
                    },
                    {"type": "text", "text": "what is this"},
                ],
            }
        ],
    )

    (sent,) = gateway.sent()
    assert sent["contents"][0]["parts"][0] == {"inlineData": {"mimeType": "image/png", "data": TINY_PNG}}
    assert text_of(message) == "Echo: what is this"


@pytest.mark.parametrize("stream", [False, True])
async def test_stop_sequences(gateway: Gateway, claude: AsyncAnthropic, stream: bool) -> None:
    gateway.fake.script(Reply(parts=[{"text": "one two "}, {"text": "three ###"}]))

    message, _ = await ask(
        claude,
        stream=stream,
        model=FLASH,
        max_tokens=100,
        stop_sequences=["###", "END"],
        messages=[{"role": "user", "content": "count"}],
    )

    (sent,) = gateway.sent()
    assert sent["generationConfig"]["stopSequences"] == ["###", "END"]
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "###")


async def test_metadata_user_id_keeps_one_account(gateway: Gateway, claude: AsyncAnthropic) -> None:
    await gateway.add_google_account("bob@example.com", project_id="proj-bob")
    for turn in range(4):
        await claude.messages.create(
            model=FLASH,
            max_tokens=50,
            metadata={"user_id": "user-42"},
            messages=[{"role": "user", "content": f"question {turn}"}],
        )
    sticky = {call.who for call in gateway.fake.generate_calls()}
    assert len(sticky) == 1

    # Without the user id the same requests spread over both accounts: stickiness came from user_id.
    for turn in range(4):
        await claude.messages.create(
            model=FLASH, max_tokens=50, messages=[{"role": "user", "content": f"loose {turn}"}]
        )
    loose = {call.who for call in gateway.fake.generate_calls()[4:]}
    assert loose == {"alice@example.com", "bob@example.com"}
    rows = list(reversed(await gateway.log_rows()))  # oldest first
    assert len({row.account for row in rows[:4]}) == 1 and rows[0].account in sticky


# --- errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_every_account_out_of_quota_is_a_rate_limit_error(
    gateway: Gateway, claude: AsyncAnthropic, stream: bool
) -> None:
    await gateway.add_google_account("bob@example.com", project_id="proj-bob")
    for email in ("alice@example.com", "bob@example.com"):
        gateway.fake.set_remaining(email, FLASH, 0.0, reset_in_s=600)

    with pytest.raises(anthropic.RateLimitError) as caught:
        await ask(
            claude, stream=stream, model=FLASH, max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )

    method = "streamGenerateContent"  # non-streaming requests to these models go up as streams too
    assert {call.who for call in gateway.fake.calls(method)} == {"alice@example.com", "bob@example.com"}
    error = caught.value
    assert error.status_code == 429
    assert isinstance(error.body, dict) and error.body["error"]["type"] == "rate_limit_error"
    assert "alice@example.com" in error.message and "bob@example.com" in error.message
    assert "quota" in error.message
    assert int(error.response.headers["retry-after"]) > 0
    (row,) = await gateway.log_rows()
    assert row.status == 429 and "quota" in row.error


@pytest.mark.parametrize("stream", [False, True])
async def test_upstream_busy_everywhere_is_overloaded_and_blames_no_account(
    gateway: Gateway, claude: AsyncAnthropic, stream: bool
) -> None:
    gateway.services.settings.upstream.max_attempts = 2
    gateway.services.settings.upstream.retry_budget_s = 0.3  # bounds the capacity backoff between attempts
    fault = gateway.fake.inject(Fault("capacity", model=FLASH, times=None))

    with pytest.raises(anthropic.APIStatusError) as caught:
        await ask(
            claude, stream=stream, model=FLASH, max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )

    error = caught.value
    assert error.status_code == 503
    assert isinstance(error.body, dict) and error.body["error"]["type"] == "overloaded_error"
    assert fault.fired >= 2  # more than one attempt went upstream
    (account,) = gateway.services.accounts.accounts()
    assert account.status is AccountStatus.OK
    assert gateway.services.pool.cooldown_until(account.id, FLASH) is None
    (row,) = await gateway.log_rows()
    assert row.status == 503 and row.error


async def test_upstream_bad_request_is_not_rotated(gateway: Gateway, claude: AsyncAnthropic) -> None:
    await gateway.add_google_account("bob@example.com", project_id="proj-bob")
    gateway.fake.inject(Fault("bad_request", method=ANY_GENERATE, times=None, message="Bad field xyz"))

    with pytest.raises(anthropic.BadRequestError) as caught:
        await claude.messages.create(model=FLASH, max_tokens=50, messages=[{"role": "user", "content": "hi"}])

    assert "Bad field xyz" in caught.value.message
    assert len(gateway.fake.generate_calls()) == 1  # the other account was not tried
    assert all(account.status is AccountStatus.OK for account in gateway.services.accounts.accounts())


@pytest.mark.parametrize("kind", ["stream_cut", "stream_error"])
async def test_broken_stream_raises_never_ends_normally(
    gateway: Gateway, claude: AsyncAnthropic, kind: str
) -> None:
    gateway.fake.inject(Fault(kind, after=2))
    events: list[str] = []
    text: list[str] = []

    with pytest.raises(anthropic.APIStatusError) as caught:
        async with claude.messages.stream(
            model=FLASH, max_tokens=100, messages=[{"role": "user", "content": "one two three four five"}]
        ) as stream:
            async for event in stream:
                events.append(event.type)
                if event.type == "text":
                    text.append(event.text)

    assert "".join(text) == "Echo: one"  # the two chunks sent before the break
    assert "message_stop" not in events and "message_delta" not in events
    assert isinstance(caught.value.body, dict) and caught.value.body["type"] == "error"
    assert "broke off" in caught.value.message
    (row,) = await gateway.log_rows()
    assert row.status >= 500 and "broke off" in row.error


async def test_wrong_key_is_an_authentication_error(gateway: Gateway) -> None:
    client = AsyncAnthropic(base_url=gateway.url, api_key="sk-wrong", max_retries=0)
    try:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await client.messages.create(
                model=FLASH, max_tokens=50, messages=[{"role": "user", "content": "hi"}]
            )
    finally:
        await client.close()

    assert caught.value.status_code == 401
    assert "sk-wrong" not in caught.value.message
    assert gateway.fake.generate_calls() == []


# --- how clients are configured -------------------------------------------------------------------------


async def test_base_url_from_the_environment(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    # Claude Code style: ANTHROPIC_BASE_URL is the server root (the SDK adds /v1/...), the key a bearer token.
    monkeypatch.setenv("ANTHROPIC_BASE_URL", gateway.url)
    client = AsyncAnthropic(auth_token=gateway.key, max_retries=0)
    try:
        message = await client.messages.create(
            model=SONNET, max_tokens=50, messages=[{"role": "user", "content": "from the env"}]
        )
        # Some tools put the /v1 in the base URL themselves and post to /messages: served as well.
        raw = await client.post(
            "/messages",
            cast_to=Message,
            body={"model": SONNET, "max_tokens": 50, "messages": [{"role": "user", "content": "no prefix"}]},
        )
    finally:
        await client.close()

    assert text_of(message) == "Echo: from the env" and text_of(raw) == "Echo: no prefix"
    assert [call.model for call in gateway.fake.generate_calls()] == [SONNET, SONNET]
    paths = [row.path for row in reversed(await gateway.log_rows())]
    assert paths == ["/v1/messages", "/messages"]


def test_helpers_see_nested_schema_keywords() -> None:
    """The schema walker the cleaning test relies on must find keywords at depth, not property names."""
    schema = {"properties": {"$ref": {"type": "string"}, "a": {"items": {"const": 1}}}}
    assert set(schema_keys(schema)) == {"properties", "type", "items", "const"}


async def test_constrained_and_empty_tool_schemas_reach_a_claude_model(
    gateway: Gateway, claude: AsyncAnthropic
) -> None:
    # What real agents declare: constraints Cloud Code refuses in tool schemas, and a tool with no parameters,
    # which Claude under VALIDATED refuses as an empty object. The fake enforces both rules.
    tools: list[ToolParam] = [
        {
            "name": "search",
            "description": "Search the code",
            "input_schema": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What", "minLength": 3, "pattern": "^a"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 50, "exclusiveMaximum": 51},
                    "paths": {"type": "array", "items": {"type": "string", "format": "uri"}, "maxItems": 4},
                },
                "required": ["query"],
            },
        },
        {"name": "list_files", "description": "List the files", "input_schema": {"type": "object"}},
    ]
    gateway.fake.script(Reply([{"functionCall": {"name": "list_files", "args": {"reason": "to look"}}}]))
    message = await claude.messages.create(
        model=CLAUDE, max_tokens=200, tools=tools, messages=[{"role": "user", "content": "look around"}]
    )
    (call,) = [block for block in message.content if block.type == "tool_use"]
    assert call.name == "list_files" and call.input == {}  # the placeholder's value is not the client's
    (sent,) = gateway.sent()
    search, list_files = sent["tools"][0]["functionDeclarations"]
    query = search["parameters"]["properties"]["query"]
    assert query == {"type": "string", "description": "What (minLength: 3, pattern: ^a)"}
    limit = search["parameters"]["properties"]["limit"]
    assert limit == {"type": "integer", "description": "minimum: 1, maximum: 50, exclusiveMaximum: 51"}
    paths = search["parameters"]["properties"]["paths"]
    assert paths["description"] == "maxItems: 4" and paths["items"]["description"] == "format: uri"
    assert list(list_files["parameters"]["properties"]) == ["reason"]
    assert "required" not in list_files["parameters"]


# --- a conversation that moves between model families --------------------------------------------------


@pytest.mark.parametrize(
    ("first_model", "second_model"), [(SONNET_THINKING, FLASH), (FLASH, SONNET_THINKING)]
)
async def test_a_conversation_moves_between_claude_and_gemini(
    gateway: Gateway, claude: AsyncAnthropic, first_model: str, second_model: str
) -> None:
    # The fake refuses a signature made for the other family (Claude and Gemini 3 both do), so the second
    # turn is served only if the gateway drops what the new family cannot take.
    question: MessageParam = {"role": "user", "content": "Think, then CALL:get_weather"}
    params: dict[str, Any] = {
        "max_tokens": 4096,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "tools": [WEATHER_TOOL],
    }
    first = await claude.messages.create(model=first_model, messages=[question], **params)
    assert first.content[0].type == "thinking" and first.content[-1].type == "tool_use"
    second = await claude.messages.create(
        model=second_model,
        messages=[question, assistant_turn(first), tool_result_turn(first, "warm")],
        **params,
    )
    assert text_of(second).endswith('Echo: get_weather -> {"result":"warm"}')
    model_parts = gateway.sent()[-1]["contents"][1]["parts"]
    assert not any(part.get("thought") for part in model_parts)  # the other model's reasoning is not sent
    (call_part,) = model_parts
    if second_model == FLASH:  # Gemini 3 needs a signature on every call: Google's placeholder
        assert call_part["thoughtSignature"] == "skip_thought_signature_validator"
    else:
        assert "thoughtSignature" not in call_part
    # Back on the first family, its own signatures go along again.
    third = await claude.messages.create(
        model=first_model,
        messages=[question, assistant_turn(first), tool_result_turn(first, "warm")],
        **params,
    )
    assert text_of(third).endswith('Echo: get_weather -> {"result":"warm"}')
    assert gateway.sent()[-1]["contents"][1]["parts"][0]["thought"] is True
