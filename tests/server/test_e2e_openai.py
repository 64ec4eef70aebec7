"""End to end with the official openai SDK: client -> real gateway -> fake Google, and back."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any, Literal

import openai
import pytest
from openai import AsyncOpenAI
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageFunctionToolCall,
)
from pydantic import BaseModel, Field

from core.types import AccountStatus
from server.request_parts import REASONING_BUDGETS
from tests.fake_google import ANY_GENERATE, FUNCTION_NAME, QUOTA_FAULT_RESET_S, Fault, Reply
from tests.helpers import FORBIDDEN_SCHEMA_KEYS, echo_of, schema_keys
from tests.server.conftest import Gateway

MODEL = "gemini-3-flash"
ALICE = "alice@example.com"
BOB = "bob@example.com"

WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
    },
}


# --- helpers --------------------------------------------------------------------------------------------


def function_calls(message: ChatCompletionMessage) -> list[ChatCompletionMessageFunctionToolCall]:
    calls = message.tool_calls or []
    assert all(isinstance(call, ChatCompletionMessageFunctionToolCall) for call in calls)
    return [call for call in calls if isinstance(call, ChatCompletionMessageFunctionToolCall)]


async def collect(stream: openai.AsyncStream[ChatCompletionChunk]) -> list[ChatCompletionChunk]:
    return [chunk async for chunk in stream]


# --- text -----------------------------------------------------------------------------------------------


async def test_text_completion(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    prompt = "hello there, how are you"
    completion = await openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": prompt}]
    )

    (request,) = gateway.sent()
    assert request["contents"] == [{"role": "user", "parts": [{"text": prompt}]}]
    assert gateway.fake.generate_calls()[0].body["model"] == MODEL
    assert isinstance(completion, ChatCompletion)
    assert completion.id.startswith("chatcmpl-") and completion.model == MODEL
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    assert choice.message.content == echo_of(prompt)
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == len(prompt) // 4  # the fake's count
    assert completion.usage.completion_tokens == len(echo_of(prompt).split())
    (row,) = await gateway.log_rows()
    assert (row.status, row.protocol, row.account, row.stream) == (200, "openai", ALICE, False)
    assert (row.tokens_in, row.tokens_out) == (
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
    )


async def test_streaming_text_with_usage(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    prompt = "one two three four"
    stream = await openai_client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = await collect(stream)

    (call,) = gateway.fake.calls("streamGenerateContent")
    assert call.query.get("alt") == "sse"
    assert call.body["request"]["contents"][0]["parts"] == [{"text": prompt}]
    with_choices = [chunk for chunk in chunks if chunk.choices]
    pieces = [chunk.choices[0].delta.content for chunk in with_choices if chunk.choices[0].delta.content]
    assert len(pieces) > 1, "the answer should arrive in several chunks"
    assert "".join(pieces) == echo_of(prompt)
    assert len({chunk.id for chunk in chunks}) == 1
    finishes = [chunk.choices[0].finish_reason for chunk in with_choices if chunk.choices[0].finish_reason]
    assert finishes == ["stop"]
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == [] and usage_chunk.usage is not None
    assert usage_chunk.usage.completion_tokens == len(echo_of(prompt).split())
    assert (
        usage_chunk.usage.total_tokens
        == usage_chunk.usage.prompt_tokens + usage_chunk.usage.completion_tokens
    )
    (row,) = await gateway.log_rows()
    assert row.status == 200 and row.stream and row.ttfb_ms is not None
    assert (row.tokens_in, row.tokens_out) == (
        usage_chunk.usage.prompt_tokens,
        usage_chunk.usage.completion_tokens,
    )


async def test_system_and_developer_messages_become_the_system_instruction(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    completion = await openai_client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "hi"},
        ],
    )

    (request,) = gateway.sent()
    assert [part["text"] for part in request["systemInstruction"]["parts"]] == [
        "Be brief.",
        "Answer in French.",
    ]
    assert [content["role"] for content in request["contents"]] == ["user"]
    assert completion.choices[0].message.content == echo_of("hi")


async def test_image_data_url_becomes_inline_data(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    picture = base64.b64encode(b"\x89PNG\r\n\x1a\n not really a picture").decode()
    await openai_client.chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{picture}"}},
                ],
            }
        ],
    )

    (request,) = gateway.sent()
    parts = request["contents"][0]["parts"]
    assert parts[0] == {"text": "what is this"}
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": picture}}


async def test_generation_settings_are_forwarded(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    await openai_client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=50,
        stop=["END", "###"],
        temperature=0.3,
        top_p=0.5,
        seed=7,
    )

    (request,) = gateway.sent()
    config = request["generationConfig"]
    assert config["maxOutputTokens"] == 50
    assert config["stopSequences"] == ["END", "###"]
    assert config["temperature"] == pytest.approx(0.3) and config["topP"] == pytest.approx(0.5)
    assert config["seed"] == 7


# --- reasoning ------------------------------------------------------------------------------------------


async def test_reasoning_effort_becomes_thinking_and_reasoning_content(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    completion = await openai_client.chat.completions.create(
        model="gemini-3.1-pro-high",
        messages=[{"role": "user", "content": "think first"}],
        reasoning_effort="low",
        max_tokens=100,  # below the thinking budget: the upstream refuses that unless the gateway fixes it
    )

    (request,) = gateway.sent()
    config = request["generationConfig"]
    assert config["thinkingConfig"] == {"thinkingBudget": REASONING_BUDGETS["low"], "includeThoughts": True}
    assert config["maxOutputTokens"] > config["thinkingConfig"]["thinkingBudget"]
    message = completion.choices[0].message
    reasoning = (message.model_extra or {}).get("reasoning_content")
    assert isinstance(reasoning, str) and reasoning
    assert message.content == echo_of("think first")  # the thought is not mixed into the answer
    assert completion.usage is not None and completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == len(reasoning.split())


async def test_streamed_reasoning_comes_before_the_answer(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    stream = await openai_client.chat.completions.create(
        model="gemini-3.1-pro-high",
        messages=[{"role": "user", "content": "think first"}],
        reasoning_effort="medium",
        stream=True,
    )
    kinds = []
    for chunk in await collect(stream):
        delta = chunk.choices[0].delta
        if (delta.model_extra or {}).get("reasoning_content"):
            kinds.append("reasoning")
        if delta.content:
            kinds.append("content")

    assert gateway.sent("streamGenerateContent")[0]["generationConfig"]["thinkingConfig"]["includeThoughts"]
    assert kinds[0] == "reasoning" and "content" in kinds
    assert kinds.index("content") > max(i for i, kind in enumerate(kinds) if kind == "reasoning")


# --- structured output ----------------------------------------------------------------------------------


class Weather(BaseModel):
    city: str
    temperature_c: float


async def test_response_format_json_schema(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    gateway.fake.script(Reply(parts=[{"text": '{"city": "Oslo", "temperature_c": -3.5}'}]))
    completion = await openai_client.chat.completions.parse(
        model=MODEL,
        messages=[{"role": "user", "content": "weather in Oslo as JSON"}],
        response_format=Weather,
    )

    (request,) = gateway.sent()
    config = request["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseJsonSchema"]
    assert set(schema["properties"]) == set(Weather.model_fields)
    assert schema["properties"]["temperature_c"]["type"] == "number"
    assert isinstance(completion.choices[0].message.parsed, Weather)


# --- tools ----------------------------------------------------------------------------------------------


async def test_tool_call_round_trip_reattaches_thought_signatures(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    messages: list[Any] = [{"role": "user", "content": 'Weather? CALL:get_weather{"city": "Paris"}'}]
    first = await openai_client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])

    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = function_calls(choice.message)
    assert call.type == "function" and call.id
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    assert "sig-" not in first.model_dump_json()  # the client never sees the signature

    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"temp_c": 21})},
    ]
    second = await openai_client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])

    _, follow_up = gateway.sent()
    model_turn, answer_turn = follow_up["contents"][1:]
    (call_part,) = model_turn["parts"]
    assert call_part["functionCall"]["id"] == call.id
    assert call_part["thoughtSignature"].startswith("sig-")  # re-attached; the fake checks it is its own
    (response_part,) = answer_turn["parts"]
    assert response_part["functionResponse"]["name"] == "get_weather"
    assert response_part["functionResponse"]["id"] == call.id
    content = second.choices[0].message.content or ""
    assert content.startswith("Echo: get_weather -> ") and '"temp_c":21' in content
    assert second.choices[0].finish_reason == "stop"


async def test_streamed_parallel_tool_calls_round_trip(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    tools = [WEATHER_TOOL, TIME_TOOL]
    messages: list[Any] = [
        {
            "role": "user",
            "content": 'Both please: CALL:get_weather{"city": "Rome"} CALL:get_time{"tz": "CET"}',
        }
    ]
    async with openai_client.chat.completions.stream(model=MODEL, messages=messages, tools=tools) as stream:
        indices = [
            tool_call.index
            async for event in stream
            if event.type == "chunk" and event.chunk.choices
            for tool_call in event.chunk.choices[0].delta.tool_calls or []
        ]
        first = await stream.get_final_completion()

    assert indices == [0, 1]
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = function_calls(choice.message)
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert [json.loads(c.function.arguments) for c in calls] == [{"city": "Rome"}, {"tz": "CET"}]
    assert len({c.id for c in calls}) == 2 and all(c.id for c in calls)

    messages.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.function.name, "arguments": c.function.arguments},
                }
                for c in calls
            ],
        }
    )
    messages += [
        {"role": "tool", "tool_call_id": calls[0].id, "content": "sunny"},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "12:00"},
    ]
    stream2 = await openai_client.chat.completions.create(
        model=MODEL, messages=messages, tools=tools, stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in await collect(stream2) if chunk.choices)

    _, follow_up = gateway.sent("streamGenerateContent")
    call_parts = follow_up["contents"][1]["parts"]
    assert [part["functionCall"]["id"] for part in call_parts] == [c.id for c in calls]
    assert all(part["thoughtSignature"].startswith("sig-") for part in call_parts)
    assert len({part["thoughtSignature"] for part in call_parts}) == 2
    assert text.startswith("Echo: get_weather -> ") and "get_time -> " in text


class Place(BaseModel):
    city: str
    country: str = "FR"


class Forecast(BaseModel):
    place: Place
    unit: Literal["celsius"] = "celsius"
    days: int = Field(default=3, ge=1, le=10)


async def test_pydantic_tool_schema_reaches_the_upstream_cleaned(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    schema = Forecast.model_json_schema()
    raw_keys = set(schema_keys(schema))
    assert {"$defs", "$ref", "const", "default"} <= raw_keys  # the test is only worth it with all of them
    tool: Any = {"type": "function", "function": {"name": "forecast", "parameters": schema}}

    completion = await openai_client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": 'CALL:forecast{"place": {"city": "Lyon"}, "days": 2}'}],
        tools=[tool],
    )

    (request,) = gateway.sent()
    (declaration,) = request["tools"][0]["functionDeclarations"]
    parameters = declaration["parameters"]
    assert not FORBIDDEN_SCHEMA_KEYS & set(schema_keys(parameters))
    assert parameters["properties"]["place"]["properties"]["city"]["type"] == "string"  # $ref inlined
    assert parameters["properties"]["unit"]["enum"] == ["celsius"]  # const as a one-value enum
    (call,) = function_calls(completion.choices[0].message)
    assert call.function.name == "forecast"
    assert json.loads(call.function.arguments) == {"place": {"city": "Lyon"}, "days": 2}


async def test_illegal_function_names_are_mapped_and_mapped_back(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    spaced = "look up the weather"
    long_name = "fetch_" + "very_" * 15 + "long_report"
    assert len(long_name) > 64
    tools: Any = [
        {"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": {}}}}
        for name in (spaced, long_name)
    ]
    # A first turn only to learn what the upstream was told the functions are called.
    await openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], tools=tools
    )
    upstream_names = [d["name"] for d in gateway.sent()[0]["tools"][0]["functionDeclarations"]]
    assert all(FUNCTION_NAME.match(name) for name in upstream_names)
    assert not {spaced, long_name} & set(upstream_names)

    messages: list[Any] = [{"role": "user", "content": " ".join(f"CALL:{name}" for name in upstream_names)}]
    first = await openai_client.chat.completions.create(model=MODEL, messages=messages, tools=tools)
    calls = function_calls(first.choices[0].message)
    assert [c.function.name for c in calls] == [spaced, long_name]

    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages += [{"role": "tool", "tool_call_id": c.id, "content": "done"} for c in calls]
    second = await openai_client.chat.completions.create(model=MODEL, messages=messages, tools=tools)

    follow_up = gateway.sent()[-1]
    model_turn, answer_turn = follow_up["contents"][1:]
    assert [part["functionCall"]["name"] for part in model_turn["parts"]] == upstream_names
    assert all(part["thoughtSignature"].startswith("sig-") for part in model_turn["parts"])
    assert [part["functionResponse"]["name"] for part in answer_turn["parts"]] == upstream_names
    assert second.choices[0].message.content == echo_of(
        " ".join(f'{name} -> {{"result":"done"}}' for name in upstream_names)
    )


# --- models ---------------------------------------------------------------------------------------------


async def test_models_list_and_retrieve(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    await gateway.add_google_account(BOB, models={"gemini-3-flash": 1.0, "gemini-3-flash-lite": 0.5})
    gateway.services.settings.models.update(
        {"team-fast": "gemini-3-flash-lite", "ghost": "not-offered-anywhere"}
    )

    listed = [model.id async for model in openai_client.models.list()]

    offered = set(gateway.fake.accounts[ALICE].models) | set(gateway.fake.accounts[BOB].models)
    assert offered <= set(listed)
    assert "team-fast" in listed and "ghost" not in listed  # an alias only when its target is offered
    assert len(listed) == len(set(listed))
    alias = await openai_client.models.retrieve("team-fast")
    assert alias.id == "team-fast" and alias.object == "model"
    claude = await openai_client.models.retrieve("claude-sonnet-4-5")
    assert claude.owned_by == "anthropic"
    with pytest.raises(openai.NotFoundError) as caught:
        await openai_client.models.retrieve("ghost")
    assert "ghost" in caught.value.message

    completion = await openai_client.chat.completions.create(
        model="team-fast", messages=[{"role": "user", "content": "hi"}]
    )
    (call,) = gateway.fake.generate_calls()
    assert call.body["model"] == "gemini-3-flash-lite" and call.who == BOB
    assert completion.model == "team-fast"


# --- client errors --------------------------------------------------------------------------------------


async def test_n_above_one_is_a_bad_request(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], n=2
        )

    assert caught.value.status_code == 400
    assert caught.value.param == "n" and "n > 1" in caught.value.message
    assert gateway.fake.generate_calls() == []


async def test_unknown_model_is_not_found_with_the_choices(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await openai_client.chat.completions.create(
            model="no-such-model-xyz", messages=[{"role": "user", "content": "hi"}]
        )

    error = caught.value
    assert error.status_code == 404 and error.type == "not_found_error"
    assert "no-such-model-xyz" in error.message
    assert all(model in error.message for model in gateway.fake.accounts[ALICE].models)
    assert gateway.fake.generate_calls() == []
    (row,) = await gateway.log_rows()
    assert row.status == 404 and "no-such-model-xyz" in row.error


# --- rotation and upstream errors -----------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_rate_limit_rotates_to_the_next_account(
    gateway: Gateway, openai_client: AsyncOpenAI, stream: bool
) -> None:
    await gateway.add_google_account(BOB)
    method = "streamGenerateContent"  # non-streaming requests to these models go up as streams too
    fault = gateway.fake.inject(Fault("rate_limit", method=method, times=1, delay="2s"))

    if stream:
        chunks = await collect(
            await openai_client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )
        text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    else:
        completion = await openai_client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )
        text = completion.choices[0].message.content or ""

    assert fault.fired == 1 and text == echo_of("hi")
    limited, served = gateway.fake.calls(method)
    assert limited.who != served.who
    cooldown = gateway.services.pool.cooldown_until(gateway.account(limited.who or "").id, MODEL)
    assert cooldown is not None and cooldown > time.time()
    (row,) = await gateway.log_rows()
    assert row.status == 200 and row.account == served.who


async def test_quota_exhaustion_marks_the_account_and_rotates(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    await gateway.add_google_account(BOB)
    gateway.fake.inject(Fault("quota", method=ANY_GENERATE, model=MODEL, times=1))

    before = time.time()
    completion = await openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    exhausted_call, served_call = gateway.fake.generate_calls()

    assert completion.choices[0].message.content == echo_of("hi")
    assert exhausted_call.who != served_call.who
    quotas = gateway.account(exhausted_call.who or "").quotas
    reset_at = quotas[MODEL].reset_at
    assert quotas[MODEL].exhausted and reset_at is not None
    assert reset_at.timestamp() == pytest.approx(before + QUOTA_FAULT_RESET_S, abs=30)
    assert not quotas["gemini-3.1-pro-high"].exhausted  # other models of that account stay usable
    assert not gateway.account(served_call.who or "").quotas[MODEL].exhausted

    # The next request for that model goes straight to the account that still has quota.
    await openai_client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "again"}])
    assert gateway.fake.generate_calls()[-1].who == served_call.who
    await openai_client.chat.completions.create(
        model="gemini-3.1-pro-high", messages=[{"role": "user", "content": "pro"}]
    )
    assert len(gateway.fake.generate_calls()) == 4


async def test_all_accounts_exhausted_says_when_the_earliest_frees_up(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    await gateway.add_google_account(BOB)
    gateway.fake.set_remaining(ALICE, MODEL, 0.0, reset_in_s=7200)
    gateway.fake.set_remaining(BOB, MODEL, 0.0, reset_in_s=900)

    with pytest.raises(openai.RateLimitError) as caught:
        await openai_client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])

    error = caught.value
    assert error.status_code == 429
    assert re.search(rf"earliest, {re.escape(BOB)}, frees up at .*UTC \(in \d+ s\)", error.message), (
        error.message
    )
    assert int(error.response.headers["retry-after"]) == pytest.approx(900, abs=15)
    assert sorted(call.who or "" for call in gateway.fake.generate_calls()) == [ALICE, BOB]
    assert all(gateway.account(email).quotas[MODEL].exhausted for email in (ALICE, BOB))
    (row,) = await gateway.log_rows()
    assert row.status == 429 and "frees up" in row.error


async def test_forbidden_blocks_the_account_and_rotates(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    await gateway.add_google_account(BOB)
    gateway.fake.inject(Fault("forbidden", method=ANY_GENERATE, times=1))

    completion = await openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    refused, served = gateway.fake.generate_calls()

    assert completion.choices[0].message.content == echo_of("hi")
    assert refused.who != served.who
    blocked = gateway.account(refused.who or "")
    assert blocked.status is AccountStatus.BLOCKED and "verif" in blocked.status_reason.lower()
    assert gateway.account(served.who or "").status is AccountStatus.OK
    await openai_client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "more"}])
    assert gateway.fake.generate_calls()[-1].who == served.who


async def test_upstream_bad_request_is_returned_not_rotated(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    await gateway.add_google_account(BOB)
    gateway.fake.inject(Fault("bad_request", method=ANY_GENERATE, times=1, message="Bad field frobnicate"))

    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])

    assert "Bad field frobnicate" in caught.value.message
    assert len(gateway.fake.generate_calls()) == 1
    assert all(a.status is AccountStatus.OK for a in gateway.services.accounts.accounts())
    (row,) = await gateway.log_rows()
    assert row.status == 400


@pytest.mark.parametrize("kind", ["stream_cut", "stream_error"])
async def test_broken_stream_is_an_error_not_a_normal_end(
    gateway: Gateway, openai_client: AsyncOpenAI, kind: str
) -> None:
    gateway.fake.inject(Fault(kind, after=2))
    stream = await openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "a b c d e f"}], stream=True
    )
    received: list[ChatCompletionChunk] = []

    with pytest.raises(openai.APIError) as caught:
        async for chunk in stream:
            received.append(chunk)

    assert not isinstance(caught.value, openai.APIConnectionError), "the gateway should say what happened"
    assert "broke off" in caught.value.message
    text = "".join(chunk.choices[0].delta.content or "" for chunk in received if chunk.choices)
    assert text and echo_of("a b c d e f").startswith(text) and text != echo_of("a b c d e f")
    assert all(chunk.choices[0].finish_reason is None for chunk in received if chunk.choices)
    assert len(gateway.fake.calls("streamGenerateContent")) == 1
    (row,) = await gateway.log_rows()
    assert row.status >= 500 and "broke off" in row.error


async def test_user_field_keeps_a_conversation_on_one_account(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    await gateway.add_google_account(BOB)
    turns = [
        ("user-1", "first"),
        ("user-1", "second"),
        ("user-2", "third"),
        ("user-2", "fourth"),
        ("user-1", "fifth"),
    ]
    for user, text in turns:
        await openai_client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": text}], user=user
        )

    calls = gateway.fake.generate_calls()
    who = [call.who for call in calls]
    # Without stickiness the pool takes the least recently used account, which alternates.
    assert who[0] == who[1] == who[4] and who[2] == who[3] and who[0] != who[2]
    sessions = [call.body["request"].get("sessionId") for call in calls]
    assert sessions[0] and sessions[0] == sessions[1] == sessions[4] and sessions[2] == sessions[3]
    assert sessions[0] != sessions[2]
