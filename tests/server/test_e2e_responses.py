"""End to end with the official openai SDK's `client.responses`: client -> real gateway -> fake Google, and back."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI
from openai.types.responses import (
    Response,
    ResponseFailedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseReasoningItem,
)
from pydantic import BaseModel

from server.request_parts import REASONING_BUDGETS
from tests.fake_google import ANY_GENERATE, Fault, Reply
from tests.helpers import echo_of
from tests.server.conftest import Gateway

MODEL = "gemini-3-flash"
ALICE = "alice@example.com"
WEATHER_TOOL: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}
TIME_TOOL: Any = {
    "type": "function",
    "name": "get_time",
    "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
}


def as_input(items: list[Any]) -> list[Any]:
    """Output items sent back as input, the way a client without server-side state replays them."""
    return [item.model_dump(exclude_none=True) for item in items]


def calls_of(response: Response) -> list[ResponseFunctionToolCall]:
    return [item for item in response.output if isinstance(item, ResponseFunctionToolCall)]


# --- text -----------------------------------------------------------------------------------------------


async def test_string_input(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    prompt = "hello there, how are you"
    response = await openai_client.responses.create(model=MODEL, input=prompt)

    (request,) = gateway.sent()
    assert request["contents"] == [{"role": "user", "parts": [{"text": prompt}]}]
    assert response.object == "response" and response.id.startswith("resp_")
    assert response.status == "completed" and response.model == MODEL
    (message,) = response.output
    assert isinstance(message, ResponseOutputMessage) and message.role == "assistant"
    assert response.output_text == echo_of(prompt)
    assert response.usage is not None
    assert response.usage.input_tokens == len(prompt) // 4
    assert response.usage.output_tokens == len(echo_of(prompt).split())
    (row,) = await gateway.log_rows()
    assert (row.status, row.protocol, row.path, row.account, row.stream) == (
        200,
        "openai",
        "/v1/responses",
        ALICE,
        False,
    )
    assert (row.tokens_in, row.tokens_out) == (response.usage.input_tokens, response.usage.output_tokens)


async def test_item_input_with_instructions_and_image(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    image = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="
    items: Any = [
        {"role": "developer", "content": "Prefer metric units."},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": image, "detail": "auto"},
            ],
        },
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "A logo."}]},
        {"role": "user", "content": [{"type": "input_text", "text": "which colour"}]},
    ]
    response = await openai_client.responses.create(
        model=MODEL,
        instructions="Answer briefly.",
        input=items,
        max_output_tokens=200,
        temperature=0.2,
        store=False,
    )

    (request,) = gateway.sent()
    assert request["systemInstruction"] == {
        "parts": [{"text": "Answer briefly."}, {"text": "Prefer metric units."}]
    }
    assert [content["role"] for content in request["contents"]] == ["user", "model", "user"]
    assert request["contents"][0]["parts"][1] == {
        "inlineData": {"mimeType": "image/png", "data": image.split(",")[1]}
    }
    assert (
        request["generationConfig"]["maxOutputTokens"] == 200
        and request["generationConfig"]["temperature"] == 0.2
    )
    assert response.output_text == echo_of("which colour")
    assert response.instructions == "Answer briefly." and response.max_output_tokens == 200


# --- tools ----------------------------------------------------------------------------------------------


async def test_function_call_round_trip_reattaches_thought_signatures(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    history: list[Any] = [{"role": "user", "content": 'Weather? CALL:get_weather{"city": "Paris"}'}]
    first = await openai_client.responses.create(model=MODEL, input=history, tools=[WEATHER_TOOL])

    (call,) = calls_of(first)
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    assert call.call_id and call.id and call.id != call.call_id and call.status == "completed"
    assert "sig-" not in first.model_dump_json(), "the client never sees the signature"

    history += as_input(first.output)
    history.append(
        {"type": "function_call_output", "call_id": call.call_id, "output": json.dumps({"temp_c": 21})}
    )
    second = await openai_client.responses.create(
        model=MODEL, input=history, tools=[WEATHER_TOOL], store=False
    )

    _, follow_up = gateway.sent()
    model_turn, answer_turn = follow_up["contents"][1:]
    (call_part,) = model_turn["parts"]
    assert call_part["functionCall"]["id"] == call.call_id
    assert call_part["thoughtSignature"].startswith("sig-")  # re-attached; the fake checks it is its own
    (response_part,) = answer_turn["parts"]
    assert response_part["functionResponse"] == {
        "name": "get_weather",
        "id": call.call_id,
        "response": {"result": {"temp_c": 21}},
    }
    assert second.output_text == 'Echo: get_weather -> {"result":{"temp_c":21}}'  # the fake's echo of it
    assert not calls_of(second)


async def test_tool_choice_forces_a_function(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    await openai_client.responses.create(
        model=MODEL,
        input="hi",
        tools=[WEATHER_TOOL, TIME_TOOL],
        tool_choice={"type": "function", "name": "get_time"},
    )
    (request,) = gateway.sent()
    assert request["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}
    }
    names = [d["name"] for d in request["tools"][0]["functionDeclarations"]]
    assert names == ["get_weather", "get_time"]


async def test_streamed_parallel_calls_round_trip(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    tools = [WEATHER_TOOL, TIME_TOOL]
    history: list[Any] = [
        {"role": "user", "content": 'Both: CALL:get_weather{"city": "Rome"} CALL:get_time{"tz": "CET"}'}
    ]
    stream = await openai_client.responses.create(model=MODEL, input=history, tools=tools, stream=True)
    events = [event async for event in stream]

    deltas = [e for e in events if e.type == "response.function_call_arguments.delta"]
    assert [json.loads(e.delta) for e in deltas] == [{"city": "Rome"}, {"tz": "CET"}]
    assert [e.output_index for e in deltas] == [0, 1]
    done = [e.item for e in events if e.type == "response.output_item.done"]
    assert all(isinstance(item, ResponseFunctionToolCall) for item in done)
    calls = [item for item in done if isinstance(item, ResponseFunctionToolCall)]
    assert [e.item_id for e in deltas] == [c.id for c in calls]
    assert events[-1].type == "response.completed"
    assert [item.model_dump() for item in events[-1].response.output] == [c.model_dump() for c in calls]

    history += as_input(calls)
    history += [
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"},
        {"type": "function_call_output", "call_id": calls[1].call_id, "output": "12:00"},
    ]
    async with openai_client.responses.stream(model=MODEL, input=history, tools=tools) as follow_up:
        final = await follow_up.get_final_response()

    _, request = gateway.sent("streamGenerateContent")
    call_parts = request["contents"][1]["parts"]
    assert [part["functionCall"]["id"] for part in call_parts] == [c.call_id for c in calls]
    assert all(part["thoughtSignature"].startswith("sig-") for part in call_parts)
    assert final.output_text == 'Echo: get_weather -> {"result":"sunny"} get_time -> {"result":"12:00"}'


async def test_web_search_tool_grounds_the_answer_with_citations(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    response = await openai_client.responses.create(
        model=MODEL, input="latest news", tools=[{"type": "web_search"}]
    )

    (request,) = gateway.sent()
    assert request["tools"] == [{"googleSearch": {}}]
    (message,) = response.output
    assert isinstance(message, ResponseOutputMessage)
    text = message.content[0]
    assert text.type == "output_text" and text.text == echo_of("latest news")
    citations = [a for a in text.annotations if a.type == "url_citation"]
    assert [c.url.split("?")[0] for c in citations] == [
        "https://news.example/result-1",
        "https://wiki.example/result-2",
    ]
    first = citations[0]
    assert (
        text.text[first.start_index : first.end_index] == "latest news"
    )  # the echoed part, as the fake cites


# --- reasoning and structured output --------------------------------------------------------------------


async def test_reasoning_effort_becomes_a_thinking_budget_and_a_summary(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    response = await openai_client.responses.create(
        model=MODEL, input="think first", reasoning={"effort": "medium", "summary": "auto"}
    )

    (request,) = gateway.sent()
    assert request["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": REASONING_BUDGETS["medium"],
        "includeThoughts": True,
    }
    reasoning, message = response.output
    assert isinstance(reasoning, ResponseReasoningItem) and isinstance(message, ResponseOutputMessage)
    assert [s.text for s in reasoning.summary] == ["Thinking about it."]
    assert response.output_text == echo_of("think first")
    assert response.usage is not None and response.usage.output_tokens_details.reasoning_tokens == 3
    assert response.reasoning is not None and response.reasoning.effort == "medium"


class Weather(BaseModel):
    city: str
    temperature_c: float


async def test_json_schema_output_is_parsed_by_the_sdk(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    gateway.fake.script(Reply(parts=[{"text": '{"city": "Oslo", "temperature_c": -3.5}'}]))
    response = await openai_client.responses.parse(
        model=MODEL, input="Weather in Oslo as JSON", text_format=Weather
    )

    (request,) = gateway.sent()
    config = request["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert set(config["responseJsonSchema"]["properties"]) == set(Weather.model_fields)
    assert response.output_parsed == Weather(city="Oslo", temperature_c=-3.5)


# --- streaming ------------------------------------------------------------------------------------------


async def test_stream_is_accumulated_by_the_sdk(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    prompt = "one two three four"
    async with openai_client.responses.stream(
        model=MODEL, input=prompt, reasoning={"effort": "low"}
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()

    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert kinds.count("response.output_text.delta") == len(echo_of(prompt).split())
    assert "response.reasoning_summary_text.delta" in kinds
    assert final.status == "completed" and final.output_text == echo_of(prompt)
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.usage is not None and final.usage.output_tokens == len(echo_of(prompt).split()) + 3
    (row,) = await gateway.log_rows()
    assert row.stream and row.status == 200 and row.tokens_out == final.usage.output_tokens


async def test_stream_truncated_by_max_tokens_is_incomplete(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    gateway.fake.script(Reply(parts=[{"text": "cut"}, {"text": " short"}], finish_reason="MAX_TOKENS"))
    stream = await openai_client.responses.create(
        model=MODEL, input="long please", max_output_tokens=20, stream=True
    )
    events = [event async for event in stream]
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details is not None
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"
    assert "response.completed" not in [event.type for event in events]


# --- errors ---------------------------------------------------------------------------------------------


async def test_previous_response_id_is_a_clear_400(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.responses.create(model=MODEL, input="more", previous_response_id="resp_123")
    assert caught.value.status_code == 400
    body: Any = caught.value.body
    assert body["type"] == "invalid_request_error" and body["param"] == "previous_response_id"
    assert "whole conversation" in caught.value.message
    assert gateway.fake.generate_calls() == []
    (row,) = await gateway.log_rows()
    assert row.status == 400 and row.protocol == "openai"


async def test_upstream_bad_request_is_a_400(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    gateway.fake.inject(Fault("bad_request", method="streamGenerateContent", message="Bad field frobnicate"))
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.responses.create(model=MODEL, input="x", stream=True)
    assert "frobnicate" in caught.value.message


async def test_every_account_exhausted_is_a_429(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    gateway.fake.inject(Fault("quota", method=ANY_GENERATE, model=MODEL, times=1))
    with pytest.raises(openai.RateLimitError) as caught:
        await openai_client.responses.create(model=MODEL, input="x")
    assert caught.value.status_code == 429
    body: Any = caught.value.body
    assert body["type"] == "rate_limit_error"
    assert caught.value.response.headers.get("retry-after")


async def test_exhausted_before_the_stream_starts_is_a_429_not_a_stream(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    gateway.fake.inject(Fault("quota", method="streamGenerateContent", model=MODEL, times=1))
    with pytest.raises(openai.RateLimitError):
        await openai_client.responses.create(model=MODEL, input="x", stream=True)


@pytest.mark.parametrize("kind", ["stream_cut", "stream_error"])
async def test_broken_stream_ends_with_response_failed(
    gateway: Gateway, openai_client: AsyncOpenAI, kind: str
) -> None:
    gateway.fake.inject(Fault(kind, after=2))
    stream = await openai_client.responses.create(model=MODEL, input="a b c d e f", stream=True)
    events = [event async for event in stream]

    kinds = [event.type for event in events]
    assert kinds[-1] == "response.failed" and "response.completed" not in kinds
    last = events[-1]
    assert isinstance(last, ResponseFailedEvent)
    failed = last.response
    assert failed.status == "failed" and failed.error is not None and "broke off" in failed.error.message
    text = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert text and echo_of("a b c d e f").startswith(text) and text != echo_of("a b c d e f")
    (row,) = await gateway.log_rows()
    assert row.status >= 500 and "broke off" in row.error


async def test_broken_stream_gives_the_sdk_no_final_response(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    gateway.fake.inject(Fault("stream_cut", after=1))
    async with openai_client.responses.stream(model=MODEL, input="a b c d") as stream:
        with pytest.raises(RuntimeError, match=r"response\.completed"):
            await stream.get_final_response()


async def test_prompt_cache_key_keeps_a_conversation_on_one_account(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    await gateway.add_google_account("bob@example.com")
    for key, text in [
        ("c-1", "first"),
        ("c-1", "second"),
        ("c-2", "third"),
        ("c-2", "fourth"),
        ("c-1", "fifth"),
    ]:
        await openai_client.responses.create(model=MODEL, input=text, prompt_cache_key=key)

    who = [call.who for call in gateway.fake.generate_calls()]
    assert who[0] == who[1] == who[4] and who[2] == who[3] and who[0] != who[2]


async def test_route_without_v1_prefix(gateway: Gateway) -> None:
    async with gateway.http.post(
        gateway.url + "/responses", json={"model": MODEL, "input": "hey"}, headers=gateway.headers()
    ) as response:
        assert response.status == 200
        body = await response.json()
    assert body["output"][0]["content"][0]["text"] == echo_of("hey")
