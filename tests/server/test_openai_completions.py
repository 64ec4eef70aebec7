"""OpenAI legacy Completions: translation units, then end to end with the official openai SDK."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI
from openai.types import Completion

from core.errors import ApiError, ApiErrorType
from server import openai_completions as adapter
from server.protocol import Decoded
from tests.fake_google import ANY_GENERATE, Fault, Reply
from tests.helpers import assert_bad_request, echo_of
from tests.server.conftest import Gateway

MODEL = "gemini-3-flash"
ALICE = "alice@example.com"


def _decoded(**options: Any) -> Decoded[adapter.CompletionOptions]:
    return Decoded(
        model="gpt-3.5-turbo-instruct", body={}, stream=True, options=adapter.CompletionOptions(**options)
    )


def _events(data: bytes) -> list[Any]:
    frames = [frame.removeprefix("data: ") for frame in data.decode().split("\n\n") if frame]
    return [frame if frame == "[DONE]" else json.loads(frame) for frame in frames]


# --- decode ---------------------------------------------------------------------------------------------


def test_decode_one_prompt_with_settings() -> None:
    payload = {
        "model": "gpt-3.5-turbo-instruct",
        "prompt": "Say this is a test",
        "max_tokens": 7,
        "temperature": 0.5,
        "top_p": 0.8,
        "stop": ["\n", "END"],
        "echo": True,
        "stream": True,
        "stream_options": {"include_usage": True},
        "user": "u-1",
        "suffix": "",
        "best_of": 1,
        "logprobs": None,
    }
    original = json.loads(json.dumps(payload))
    (decoded,) = adapter.decode(payload)

    assert decoded.body == {
        "contents": [{"role": "user", "parts": [{"text": "Say this is a test"}]}],
        "generationConfig": {
            "maxOutputTokens": 7,
            "temperature": 0.5,
            "topP": 0.8,
            "stopSequences": ["\n", "END"],
        },
    }
    assert decoded.stream is True and decoded.conversation_key == "u-1"
    assert decoded.options == adapter.CompletionOptions(0, "Say this is a test", include_usage=True)
    assert payload == original


def test_decode_a_list_of_prompts_gives_one_request_each() -> None:
    decoded = adapter.decode({"model": "m", "prompt": ["one", "two", "three"], "max_tokens": 5})
    assert [d.body["contents"][0]["parts"][0]["text"] for d in decoded] == ["one", "two", "three"]
    assert [d.options.index for d in decoded] == [0, 1, 2]
    assert all(d.body["generationConfig"] == {"maxOutputTokens": 5} for d in decoded)
    assert all(d.options.echo == "" for d in decoded)
    # The generation settings are copied, not shared: the gateway may adjust one request's body.
    assert decoded[0].body["generationConfig"] is not decoded[1].body["generationConfig"]


BAD_REQUESTS = [
    pytest.param("text", None, "JSON object", id="not-an-object"),
    pytest.param({"prompt": "x"}, "model", "model", id="no-model"),
    pytest.param({"model": "m"}, "prompt", "required", id="no-prompt"),
    pytest.param({"model": "m", "prompt": ""}, "prompt", "empty", id="empty-prompt"),
    pytest.param({"model": "m", "prompt": ["a", ""]}, "prompt", "prompt[1]", id="empty-item"),
    pytest.param({"model": "m", "prompt": []}, "prompt", "non-empty", id="empty-list"),
    pytest.param({"model": "m", "prompt": [1, 2, 3]}, "prompt", "Token-array", id="tokens"),
    pytest.param({"model": "m", "prompt": [[1, 2], [3]]}, "prompt", "Token-array", id="token-lists"),
    pytest.param({"model": "m", "prompt": ["a", 1]}, "prompt", "strings", id="mixed"),
    pytest.param({"model": "m", "prompt": ["p"] * 17}, "prompt", "16", id="too-many"),
    pytest.param(
        {"model": "m", "prompt": ["a", "b"], "stream": True}, "prompt", "Streaming several", id="stream-list"
    ),
    pytest.param({"model": "m", "prompt": "a", "suffix": "end"}, "suffix", "insertion", id="suffix"),
    pytest.param({"model": "m", "prompt": "a", "best_of": 3}, "best_of", "best_of", id="best-of"),
    pytest.param({"model": "m", "prompt": "a", "n": 2}, "n", "n > 1", id="n"),
    pytest.param({"model": "m", "prompt": "a", "logprobs": 5}, "logprobs", "logprobs", id="logprobs"),
    pytest.param(
        {"model": "m", "prompt": "a", "logit_bias": {"50256": -100}}, "logit_bias", "logit_bias", id="bias"
    ),
    pytest.param({"model": "m", "prompt": "a", "echo": "yes"}, "echo", "boolean", id="echo-not-bool"),
    pytest.param({"model": "m", "prompt": "a", "max_tokens": 0}, "max_tokens", "at least 1", id="max-tokens"),
    pytest.param({"model": "m", "prompt": "a", "stop": 5}, "stop", "stop", id="stop"),
]


@pytest.mark.parametrize(("payload", "param", "fragment"), BAD_REQUESTS)
def test_bad_requests_are_400_naming_the_field(payload: Any, param: str | None, fragment: str) -> None:
    assert_bad_request(adapter.decode, payload, param, fragment)


# --- encode ---------------------------------------------------------------------------------------------


def test_encode_hides_thoughts_and_maps_finish_and_usage() -> None:
    response = {
        "candidates": [
            {
                "content": {
                    "parts": [{"text": "hmm", "thought": True}, {"text": "This is "}, {"text": "a test"}]
                },
                "finishReason": "MAX_TOKENS",
            }
        ],
        "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 4, "thoughtsTokenCount": 1},
    }
    answer = adapter.encode(response, _decoded(index=0, echo="Say: "))

    assert answer["object"] == "text_completion" and answer["id"].startswith("cmpl-")
    assert answer["model"] == "gpt-3.5-turbo-instruct"
    assert answer["choices"] == [
        {"text": "Say: This is a test", "index": 0, "logprobs": None, "finish_reason": "length"}
    ]
    assert answer["usage"]["prompt_tokens"] == 5 and answer["usage"]["completion_tokens"] == 5
    assert answer["usage"]["total_tokens"] == 10
    Completion.model_validate(answer)


def test_encode_many_keeps_prompt_order_and_sums_usage() -> None:
    responses = [
        {
            "candidates": [{"content": {"parts": [{"text": f"answer {n}"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": n, "candidatesTokenCount": 2 * n},
        }
        for n in (1, 2)
    ]
    answer = adapter.encode_many(responses, [_decoded(index=0), _decoded(index=1)])
    assert [(c["index"], c["text"]) for c in answer["choices"]] == [(0, "answer 1"), (1, "answer 2")]
    assert (answer["usage"]["prompt_tokens"], answer["usage"]["completion_tokens"]) == (3, 6)


def test_encode_blocked_prompt_is_a_400_on_prompt() -> None:
    with pytest.raises(ApiError) as caught:
        adapter.encode({"promptFeedback": {"blockReason": "SAFETY"}}, _decoded())
    assert (caught.value.status, caught.value.param) == (400, "prompt")


def test_stream_chunk_by_chunk_with_echo_and_usage() -> None:
    encoder = adapter.CompletionStreamEncoder(_decoded(index=0, echo="Q: ", include_usage=True))
    data = encoder.start()
    data += encoder.feed({"candidates": [{"content": {"parts": [{"text": "A", "thought": True}]}}]})
    data += encoder.feed({"candidates": [{"content": {"parts": [{"text": "one"}]}}]})
    data += encoder.feed(
        {
            "candidates": [{"content": {"parts": [{"text": " two"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2},
        }
    )
    data += encoder.finish()
    assert encoder.finish() == b""

    events = _events(data)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert len({(c["id"], c["created"]) for c in chunks}) == 1
    assert all(c["object"] == "text_completion" and c["model"] == "gpt-3.5-turbo-instruct" for c in chunks)
    texts = [c["choices"][0]["text"] for c in chunks if c["choices"]]
    assert texts == ["Q: ", "one", " two", ""]
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]] == [None, None, None, "stop"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 5
    assert encoder.usage == (3, 2)


def test_stream_error_is_an_openai_error_event_without_done() -> None:
    encoder = adapter.CompletionStreamEncoder(_decoded(index=0))
    data = encoder.feed({"candidates": [{"content": {"parts": [{"text": "par"}]}}]})
    data += encoder.error(ApiError(502, ApiErrorType.API_ERROR, "broke off"))
    assert encoder.finish() == b""
    events = _events(data)
    assert events[-1] == {
        "error": {"message": "broke off", "type": "server_error", "param": None, "code": None}
    }
    assert "[DONE]" not in events


# --- end to end -----------------------------------------------------------------------------------------


async def test_completion_with_the_sdk(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    prompt = "Say this is a test"
    completion = await openai_client.completions.create(
        model=MODEL, prompt=prompt, max_tokens=50, temperature=0.1
    )

    (request,) = gateway.sent()
    assert request["contents"] == [{"role": "user", "parts": [{"text": prompt}]}]
    assert request["generationConfig"]["maxOutputTokens"] == 50
    assert completion.object == "text_completion" and completion.model == MODEL
    (choice,) = completion.choices
    assert (choice.text, choice.index, choice.finish_reason) == (echo_of(prompt), 0, "stop")
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == len(prompt) // 4
    assert completion.usage.completion_tokens == len(echo_of(prompt).split())
    (row,) = await gateway.log_rows()
    assert (row.status, row.protocol, row.path, row.stream, row.account) == (
        200,
        "openai",
        "/v1/completions",
        False,
        ALICE,
    )


@pytest.mark.usefixtures("gateway")
async def test_completion_echo_prefixes_the_prompt(openai_client: AsyncOpenAI) -> None:
    completion = await openai_client.completions.create(model=MODEL, prompt="ping", echo=True)
    assert completion.choices[0].text == "ping" + echo_of("ping")


async def test_list_of_prompts_gives_one_choice_each_in_order(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    prompts = ["first prompt", "second one", "third"]
    completion = await openai_client.completions.create(model=MODEL, prompt=prompts)

    asked = sorted(request["contents"][0]["parts"][0]["text"] for request in gateway.sent())
    assert asked == sorted(prompts)
    assert [(c.index, c.text) for c in completion.choices] == [(i, echo_of(p)) for i, p in enumerate(prompts)]
    assert completion.usage is not None
    assert completion.usage.completion_tokens == sum(len(echo_of(p).split()) for p in prompts)
    (row,) = await gateway.log_rows()
    assert row.status == 200 and row.tokens_out == completion.usage.completion_tokens


async def test_list_of_prompts_fails_whole_when_one_fails(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    gateway.fake.inject(Fault("bad_request", method=ANY_GENERATE, times=1, message="Bad prompt frobnicate"))
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.completions.create(model=MODEL, prompt=["a", "b"])
    assert "frobnicate" in caught.value.message
    assert len(gateway.fake.generate_calls()) == 2


async def test_streaming_completion_with_usage(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    prompt = "one two three four"
    stream = await openai_client.completions.create(
        model=MODEL, prompt=prompt, stream=True, echo=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]

    text = "".join(chunk.choices[0].text for chunk in chunks if chunk.choices)
    assert text == prompt + echo_of(prompt)
    assert len([chunk for chunk in chunks if chunk.choices]) > 3, "streamed word by word"
    finishes = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices]
    assert finishes[-1] == "stop" and not any(finishes[:-1])
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == len(echo_of(prompt).split())
    assert len(gateway.fake.calls("streamGenerateContent")) == 1
    (row,) = await gateway.log_rows()
    assert row.stream and row.status == 200 and row.tokens_out == chunks[-1].usage.completion_tokens


async def test_thoughts_never_reach_the_completion_text(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    gateway.fake.script(Reply(parts=[{"text": "secret plan", "thought": True}, {"text": "Visible."}]))
    completion = await openai_client.completions.create(model=MODEL, prompt="go")
    assert completion.choices[0].text == "Visible."


async def test_bad_request_reaches_the_sdk_as_400(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.completions.create(model=MODEL, prompt="x", suffix="tail")
    assert caught.value.status_code == 400 and "suffix" in caught.value.message
    body: Any = caught.value.body
    assert body["param"] == "suffix" and body["type"] == "invalid_request_error"
    assert gateway.fake.generate_calls() == []


async def test_every_account_exhausted_is_a_429(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    gateway.fake.inject(Fault("quota", method=ANY_GENERATE, model=MODEL, times=1))
    with pytest.raises(openai.RateLimitError) as caught:
        await openai_client.completions.create(model=MODEL, prompt="x")
    assert caught.value.status_code == 429
    assert caught.value.response.headers.get("retry-after")


async def test_broken_stream_is_an_error_not_a_normal_end(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    gateway.fake.inject(Fault("stream_cut", after=2))
    stream = await openai_client.completions.create(model=MODEL, prompt="a b c d e f", stream=True)
    received = []
    with pytest.raises(openai.APIError) as caught:
        async for chunk in stream:
            received.append(chunk)

    assert not isinstance(caught.value, openai.APIConnectionError)
    assert "broke off" in caught.value.message
    text = "".join(chunk.choices[0].text for chunk in received if chunk.choices)
    assert text and echo_of("a b c d e f").startswith(text) and text != echo_of("a b c d e f")
    assert all(chunk.choices[0].finish_reason is None for chunk in received if chunk.choices)


async def test_route_without_v1_prefix(gateway: Gateway) -> None:
    async with gateway.http.post(
        gateway.url + "/completions", json={"model": MODEL, "prompt": "hey"}, headers=gateway.headers()
    ) as response:
        assert response.status == 200
        body = await response.json()
    assert body["choices"][0]["text"] == echo_of("hey")
