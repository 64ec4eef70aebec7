"""OpenAI Chat Completions adapter: golden request/response pairs, bad input, and chunk-by-chunk streams."""

from __future__ import annotations

import copy
import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types import Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.shared import ErrorObject

from core.errors import ApiError, ApiErrorType
from core.gateway import ModelInfo
from server import openai as adapter
from server.protocol import Decoded
from tests.helpers import assert_bad_request, gemini_chunk, golden_cases, options_as_json

GOLDEN = Path(__file__).parent / "golden" / "openai"


def _decoded(model: str = "gpt-4o", include_usage: bool = False) -> Decoded[adapter.ChatOptions]:
    return Decoded(model=model, body={}, stream=True, options=adapter.ChatOptions(include_usage))


# --- decode ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", golden_cases(GOLDEN, "decode"))
def test_decode_golden(case: dict[str, Any]) -> None:
    request = copy.deepcopy(case["request"])
    decoded = adapter.decode(request)
    assert decoded.body == case["gemini"]
    assert decoded.model == case["request"]["model"]
    assert decoded.stream is case["stream"]
    assert decoded.conversation_key == case["conversation_key"]
    assert options_as_json(decoded.options, leave_out=("image_output",)) == case["options"]
    assert request == case["request"], "decode must not change the client's payload"


def test_decode_roles_are_only_user_and_model_and_never_empty() -> None:
    decoded = adapter.decode(json.loads((GOLDEN / "decode_tool_round_trip.json").read_text())["request"])
    roles = [content["role"] for content in decoded.body["contents"]]
    assert set(roles) <= {"user", "model"}
    assert all(a != b for a, b in itertools.pairwise(roles)), "same-role turns must be merged"
    assert all(content["parts"] for content in decoded.body["contents"])


def _request(**fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], **fields}


def _with_message(message: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}, message]}


def _with_user_part(part: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": [part]}]}


def _with_call(arguments: Any) -> dict[str, Any]:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    return _with_message({"role": "assistant", "tool_calls": [call]})


BAD_REQUESTS = [
    pytest.param([1, 2], None, "JSON object", id="not-an-object"),
    pytest.param({"messages": [{"role": "user", "content": "hi"}]}, "model", "model", id="no-model"),
    pytest.param({"model": 3, "messages": []}, "model", "model", id="model-not-string"),
    pytest.param({"model": "m"}, "messages", "messages", id="no-messages"),
    pytest.param({"model": "m", "messages": []}, "messages", "non-empty", id="empty-messages"),
    pytest.param({"model": "m", "messages": "hi"}, "messages", "array", id="messages-not-list"),
    pytest.param(
        {"model": "m", "messages": [{"role": "system", "content": "only rules"}]},
        "messages",
        "at least one",
        id="only-system",
    ),
    pytest.param(_with_message("hello"), "messages[1]", "object", id="message-not-object"),
    pytest.param(
        _with_message({"role": "robot", "content": "x"}), "messages[1].role", "robot", id="unknown-role"
    ),
    pytest.param(_with_message({"content": "x"}), "messages[1].role", "required", id="missing-role"),
    pytest.param(_with_message({"role": "user"}), "messages[1].content", "required", id="user-no-content"),
    pytest.param(
        _with_message({"role": "user", "content": 5}), "messages[1].content", "string", id="content-type"
    ),
    pytest.param(_with_user_part("text"), "messages[0].content[0]", "object", id="part-not-object"),
    pytest.param(
        _with_user_part({"type": "video"}), "messages[0].content[0].type", "video", id="unknown-part"
    ),
    pytest.param(
        _with_user_part({"type": "text", "text": 1}), "messages[0].content[0].text", "string", id="text"
    ),
    pytest.param(
        _with_message(
            {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://a/b"}}]}
        ),
        "messages[1].content[0].type",
        "not allowed",
        id="image-in-system",
    ),
    pytest.param(
        _with_user_part({"type": "image_url", "image_url": {}}),
        "messages[0].content[0].image_url.url",
        "non-empty",
        id="image-no-url",
    ),
    pytest.param(
        _with_user_part({"type": "image_url", "image_url": {"url": "ftp://host/cat.png"}}),
        "messages[0].content[0].image_url.url",
        "data URL",
        id="image-ftp",
    ),
    pytest.param(
        _with_user_part({"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}),
        "messages[0].content[0].image_url.url",
        "base64",
        id="image-not-base64",
    ),
    pytest.param(
        _with_user_part({"type": "image_url", "image_url": {"url": "data:;base64,AAAA"}}),
        "messages[0].content[0].image_url.url",
        "MIME",
        id="image-no-mime",
    ),
    pytest.param(
        _with_user_part({"type": "image_url", "image_url": {"url": "data:image/png;base64,"}}),
        "messages[0].content[0].image_url.url",
        "no data",
        id="image-empty-data",
    ),
    pytest.param(
        _with_user_part({"type": "file", "file": {"file_id": "file-1"}}),
        "messages[0].content[0].file.file_data",
        "file ids",
        id="file-id",
    ),
    pytest.param(
        _with_user_part({"type": "input_audio", "input_audio": {"format": "wav"}}),
        "messages[0].content[0].input_audio.data",
        "string",
        id="audio-no-data",
    ),
    pytest.param(
        _with_call("{not json"), "messages[1].tool_calls[0].function.arguments", "not valid JSON", id="args"
    ),
    pytest.param(
        _with_call("[1]"), "messages[1].tool_calls[0].function.arguments", "JSON object", id="args-list"
    ),
    pytest.param(
        _with_call(5), "messages[1].tool_calls[0].function.arguments", "JSON string", id="args-number"
    ),
    pytest.param(
        _with_message({"role": "assistant", "tool_calls": {"id": "c"}}),
        "messages[1].tool_calls",
        "array",
        id="tool-calls-not-list",
    ),
    pytest.param(
        _with_message({"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {}}]}),
        "messages[1].tool_calls[0].function.name",
        "non-empty",
        id="call-no-name",
    ),
    pytest.param(
        _with_message({"role": "tool", "content": "42"}),
        "messages[1].tool_call_id",
        "required",
        id="tool-no-id",
    ),
    pytest.param(
        _with_message({"role": "tool", "tool_call_id": "call_zzz", "content": "42"}),
        "messages[1].tool_call_id",
        "call_zzz",
        id="tool-unknown-id",
    ),
    pytest.param(_request(n=2), "n", "n > 1 is not supported", id="n-2"),
    pytest.param(_request(n=0), "n", "must be 1", id="n-0"),
    pytest.param(_request(n=True), "n", "must be 1", id="n-bool"),
    pytest.param(_request(tools={"type": "function"}), "tools", "array", id="tools-not-list"),
    pytest.param(
        _request(tools=[{"type": "code_interpreter"}]), "tools[0].type", "code_interpreter", id="tool-type"
    ),
    pytest.param(
        _request(tools=[{"type": "function"}]), "tools[0].function", "object", id="tool-no-function"
    ),
    pytest.param(
        _request(tools=[{"type": "function", "function": {"name": ""}}]),
        "tools[0].function.name",
        "",
        id="tool-name",
    ),
    pytest.param(
        _request(tools=[{"type": "function", "function": {"name": "f", "parameters": "object"}}]),
        "tools[0].function.parameters",
        "JSON Schema",
        id="tool-parameters",
    ),
    pytest.param(
        _request(tools=[{"type": "function", "function": {"name": "f"}}] * 2),
        "tools[1].function.name",
        "twice",
        id="tool-duplicate",
    ),
    pytest.param(_request(tool_choice="always"), "tool_choice", "always", id="tool-choice-word"),
    pytest.param(_request(tool_choice="required"), "tool_choice", "no tools", id="required-without-tools"),
    pytest.param(
        _request(
            tools=[{"type": "function", "function": {"name": "f"}}],
            tool_choice={"type": "function", "function": {"name": "g"}},
        ),
        "tool_choice.function.name",
        "'g'",
        id="tool-choice-unknown-function",
    ),
    pytest.param(_request(tool_choice=["auto"]), "tool_choice", "must be", id="tool-choice-type"),
    pytest.param(_request(max_tokens=0), "max_tokens", "at least 1", id="max-tokens-zero"),
    pytest.param(
        _request(max_completion_tokens="5"), "max_completion_tokens", "integer", id="max-tokens-str"
    ),
    pytest.param(_request(temperature=3), "temperature", "between 0 and 2", id="temperature-range"),
    pytest.param(_request(temperature="hot"), "temperature", "number", id="temperature-type"),
    pytest.param(_request(top_p=True), "top_p", "number", id="top-p-bool"),
    pytest.param(_request(stop=[1]), "stop", "strings", id="stop-type"),
    pytest.param(_request(seed=1.5), "seed", "integer", id="seed-type"),
    pytest.param(
        _request(response_format={"type": "xml"}), "response_format.type", "json_schema", id="format"
    ),
    pytest.param(_request(response_format="json"), "response_format", "object", id="format-not-object"),
    pytest.param(
        _request(response_format={"type": "json_schema", "json_schema": {"name": "x"}}),
        "response_format.json_schema",
        "schema",
        id="format-no-schema",
    ),
    pytest.param(_request(reasoning_effort="extreme"), "reasoning_effort", "extreme", id="effort"),
    pytest.param(_request(stream="yes"), "stream", "boolean", id="stream-type"),
    pytest.param(_request(stream_options=True), "stream_options", "object", id="stream-options-type"),
    pytest.param(
        _request(stream_options={"include_usage": "yes"}),
        "stream_options.include_usage",
        "boolean",
        id="include-usage-type",
    ),
    pytest.param(_request(user=42), "user", "string", id="user-type"),
]


@pytest.mark.parametrize(("payload", "param", "fragment"), BAD_REQUESTS)
def test_decode_rejects_bad_input(payload: Any, param: str | None, fragment: str) -> None:
    assert_bad_request(adapter.decode, payload, param, fragment)


def test_bad_image_url_is_not_echoed_in_the_error() -> None:
    url = "ftp://files.example.com/cat.png?token=sk-very-secret-value"
    with pytest.raises(ApiError) as caught:
        adapter.decode(_with_user_part({"type": "image_url", "image_url": {"url": url}}))
    assert "sk-very-secret-value" not in caught.value.message


def test_long_bad_values_are_cut_short_in_errors() -> None:
    with pytest.raises(ApiError) as caught:
        adapter.decode(_with_message({"role": "x" * 10_000, "content": "hi"}))
    assert len(caught.value.message) < 200


@pytest.mark.parametrize(
    ("effort", "budget"),
    [("minimal", 512), ("low", 1024), ("medium", 8192), ("high", 24576), ("xhigh", 24576)],
)
def test_reasoning_effort_sets_a_thinking_budget_and_asks_for_thoughts(effort: str, budget: int) -> None:
    config = adapter.decode(_request(reasoning_effort=effort)).body["generationConfig"]
    assert config == {"thinkingConfig": {"thinkingBudget": budget, "includeThoughts": True}}


@pytest.mark.parametrize(("choice", "mode"), [("none", "NONE"), ("auto", "AUTO"), ("required", "ANY")])
def test_tool_choice_words_map_to_calling_modes(choice: str, mode: str) -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    body = adapter.decode(_request(tools=tools, tool_choice=choice)).body
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": mode}}


def test_tool_choice_without_tools_is_dropped_for_none_and_auto() -> None:
    for choice in ("none", "auto"):
        body = adapter.decode(_request(tool_choice=choice)).body
        assert "toolConfig" not in body and "tools" not in body


def test_tool_message_falls_back_to_its_name_for_unknown_ids() -> None:
    body = adapter.decode(
        _with_message({"role": "tool", "tool_call_id": "gone", "name": "lookup", "content": "7"})
    ).body
    assert body["contents"][-1]["parts"][-1] == {
        "functionResponse": {"name": "lookup", "id": "gone", "response": {"result": "7"}}
    }


def test_minimal_request_has_only_contents_and_defaults() -> None:
    decoded = adapter.decode({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert decoded.body == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    assert (decoded.stream, decoded.conversation_key, decoded.options) == (False, None, adapter.ChatOptions())


# --- encode ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", golden_cases(GOLDEN, "encode"))
def test_encode_golden(case: dict[str, Any]) -> None:
    before = time.time()
    body = adapter.encode(copy.deepcopy(case["gemini"]), _decoded(case["model"]))
    completion = ChatCompletion.model_validate(body)  # fails on any shape the SDK would not accept
    assert completion.id.startswith("chatcmpl-") and len(completion.id) > len("chatcmpl-") + 8
    assert int(before) <= completion.created <= time.time() + 1
    body.pop("id"), body.pop("created")
    assert body == case["expected"]


def test_encode_gives_each_response_its_own_id() -> None:
    response = {"candidates": [{"content": {"parts": [{"text": "hi"}]}, "finishReason": "STOP"}]}
    first = adapter.encode(response, _decoded())
    second = adapter.encode(response, _decoded())
    assert first["id"] != second["id"]


def test_encode_keeps_function_call_arguments_round_trippable() -> None:
    args = {"path": "C:\\temp\\ünï.txt", "nested": {"list": [1, None, True], "quote": 'say "hi"'}}
    response = {
        "candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": args, "id": "c"}}]}}]
    }
    completion = ChatCompletion.model_validate(adapter.encode(response, _decoded()))
    calls = completion.choices[0].message.tool_calls
    assert calls is not None and len(calls) == 1
    assert json.loads(calls[0].function.arguments) == args  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("gemini", "openai"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("OTHER", "stop"),
        (None, "stop"),
    ],
)
def test_encode_maps_finish_reasons(gemini: str | None, openai: str) -> None:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": "x"}]}}
    if gemini:
        candidate["finishReason"] = gemini
    completion = ChatCompletion.model_validate(adapter.encode({"candidates": [candidate]}, _decoded()))
    assert completion.choices[0].finish_reason == openai


def test_encode_safety_stop_without_content_is_a_filtered_empty_answer() -> None:
    response = {"candidates": [{"finishReason": "SAFETY", "safetyRatings": []}]}
    completion = ChatCompletion.model_validate(adapter.encode(response, _decoded()))
    assert completion.choices[0].finish_reason == "content_filter"
    assert completion.choices[0].message.content == ""


def test_encode_blocked_prompt_is_a_400_not_an_assistant_message() -> None:
    response = {
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT", "blockReasonMessage": "Not allowed here."},
        "usageMetadata": {"promptTokenCount": 4},
    }
    with pytest.raises(ApiError) as caught:
        adapter.encode(response, _decoded())
    assert (caught.value.status, caught.value.type) == (400, ApiErrorType.INVALID_REQUEST)
    assert "PROHIBITED_CONTENT" in caught.value.message and "Not allowed here." in caught.value.message


def test_encode_empty_response_without_a_reason_is_an_upstream_error() -> None:
    with pytest.raises(ApiError) as caught:
        adapter.encode({"candidates": []}, _decoded())
    assert caught.value.status == 502


# --- stream ---------------------------------------------------------------------------------------------


def _events(data: bytes) -> list[Any]:
    """Split SSE bytes into events: parsed JSON objects, or the string "[DONE]"."""
    text = data.decode()
    if not text:
        return []
    assert text.endswith("\n\n")
    events: list[Any] = []
    for block in text[:-2].split("\n\n"):
        assert block.startswith("data: ") and "\n" not in block, block
        payload = block[len("data: ") :]
        events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def _chunks(data: bytes) -> list[dict[str, Any]]:
    """Events that must be chat.completion.chunk objects; each is checked against the SDK's type."""
    events = _events(data)
    for event in events:
        assert event != "[DONE]"
        ChatCompletionChunk.model_validate(event)
    return events


def _deltas(data: bytes) -> list[Any]:
    return [(event["choices"][0]["delta"], event["choices"][0]["finish_reason"]) for event in _chunks(data)]


ROLE = {"role": "assistant", "content": ""}


def test_stream_text_event_by_event() -> None:
    encoder = adapter.ChatStreamEncoder(_decoded("my-model"))
    assert encoder.content_type == "text/event-stream"
    assert encoder.start() == b""

    first = encoder.feed(gemini_chunk({"text": "Hel"}))
    assert _deltas(first) == [(ROLE, None), ({"content": "Hel"}, None)]
    assert _deltas(encoder.feed(gemini_chunk({"text": "lo"}))) == [({"content": "lo"}, None)]
    last = encoder.feed(
        gemini_chunk({"text": "!"}, finish="STOP", usage={"promptTokenCount": 3, "candidatesTokenCount": 2})
    )
    assert _deltas(last) == [({"content": "!"}, None)]
    tail = encoder.finish()
    events = _events(tail)
    assert events[-1] == "[DONE]" and len(events) == 2
    assert _deltas(tail.rsplit(b"data: [DONE]", 1)[0]) == [({}, "stop")]

    every = _events(first) + _events(last) + events[:-1]
    assert {event["id"] for event in every} == {every[0]["id"]}
    assert every[0]["id"].startswith("chatcmpl-")
    assert {(event["object"], event["model"], event["created"]) for event in every} == {
        ("chat.completion.chunk", "my-model", every[0]["created"])
    }
    assert encoder.usage == (3, 2)
    assert encoder.finish() == b"", "finish twice must not end the stream twice"


def test_stream_thoughts_become_reasoning_content() -> None:
    encoder = adapter.ChatStreamEncoder(_decoded())
    data = encoder.feed(gemini_chunk({"thought": True, "text": "Hmm. "}))
    data += encoder.feed(gemini_chunk({"thought": True, "thoughtSignature": "sig-only"}))
    data += encoder.feed(gemini_chunk({"text": "Yes.", "thoughtSignature": "sig-2"}, finish="STOP"))
    assert _deltas(data) == [
        (ROLE, None),
        ({"reasoning_content": "Hmm. "}, None),
        ({"content": "Yes."}, None),
    ]


def test_stream_parallel_tool_calls_are_indexed_in_order() -> None:
    encoder = adapter.ChatStreamEncoder(_decoded(include_usage=True))
    data = encoder.feed(gemini_chunk({"text": "Checking both."}))
    data += encoder.feed(
        gemini_chunk(
            {
                "functionCall": {"name": "weather", "args": {"city": "Paris"}, "id": "call_1"},
                "thoughtSignature": "s",
            },
            {"functionCall": {"name": "weather", "args": {"city": "Rome"}, "id": "call_2"}},
        )
    )
    data += encoder.feed(
        gemini_chunk(finish="STOP", usage={"promptTokenCount": 20, "candidatesTokenCount": 9})
    )
    body = data + encoder.finish()
    assert body.endswith(b"data: [DONE]\n\n")
    chunks = _chunks(body.rsplit(b"data: [DONE]", 1)[0])

    calls = [chunk["choices"][0]["delta"]["tool_calls"] for chunk in chunks[2:4]]
    assert calls == [
        [
            {
                "index": 0,
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
            }
        ],
        [
            {
                "index": 1,
                "id": "call_2",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Rome"}'},
            }
        ],
    ]
    assert chunks[4]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[5]["choices"] == [] and chunks[5]["usage"]["total_tokens"] == 29

    # The SDK's own accumulator rebuilds the whole answer from our chunks.
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    final = state.get_final_completion()
    message = final.choices[0].message
    assert message.content == "Checking both."
    assert message.tool_calls is not None
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls] == [
        ("call_1", "weather", {"city": "Paris"}),
        ("call_2", "weather", {"city": "Rome"}),
    ]
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.usage is not None and final.usage.prompt_tokens == 20


def test_stream_usage_chunk_reports_the_latest_cumulative_usage() -> None:
    encoder = adapter.ChatStreamEncoder(_decoded(include_usage=True))
    encoder.feed(gemini_chunk({"text": "a"}, usage={"promptTokenCount": 7, "candidatesTokenCount": 1}))
    assert encoder.usage == (7, 1)
    final_usage = {
        "promptTokenCount": 7,
        "candidatesTokenCount": 5,
        "thoughtsTokenCount": 11,
        "cachedContentTokenCount": 4,
    }
    encoder.feed(gemini_chunk({"text": "b"}, finish="MAX_TOKENS", usage=final_usage))
    events = _events(encoder.finish())
    assert events[-1] == "[DONE]"
    finish_chunk, usage_chunk = events[:-1]
    assert finish_chunk["choices"] == [{"index": 0, "delta": {}, "finish_reason": "length"}]
    parsed = ChatCompletionChunk.model_validate(usage_chunk)
    assert parsed.choices == []
    assert usage_chunk["usage"] == {
        "prompt_tokens": 7,
        "completion_tokens": 16,
        "total_tokens": 23,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 11},
    }
    assert encoder.usage == (7, 16)


def test_stream_without_include_usage_sends_no_usage_chunk() -> None:
    encoder = adapter.ChatStreamEncoder(_decoded(include_usage=False))
    encoder.feed(
        gemini_chunk({"text": "a"}, finish="STOP", usage={"promptTokenCount": 1, "candidatesTokenCount": 1})
    )
    events = _events(encoder.finish())
    assert len(events) == 2 and events[1] == "[DONE]"
    assert "usage" not in events[0]


def test_stream_error_event_ends_the_stream_without_done() -> None:
    encoder = adapter.ChatStreamEncoder(_decoded(include_usage=True))
    encoder.feed(gemini_chunk({"text": "partial"}))
    data = encoder.error(
        ApiError(429, ApiErrorType.RATE_LIMIT, "All accounts are rate limited", retry_after=3)
    )
    events = _events(data)
    assert len(events) == 1 and b"[DONE]" not in data
    assert events[0] == {
        "error": {
            "message": "All accounts are rate limited",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    ErrorObject.model_validate(events[0]["error"])
    assert encoder.finish() == b"" and encoder.feed(gemini_chunk({"text": "late"})) == b""


def test_stream_finish_with_no_chunks_still_sends_a_whole_answer() -> None:
    encoder = adapter.ChatStreamEncoder(_decoded())
    data = encoder.finish()
    assert data.endswith(b"data: [DONE]\n\n")
    assert _deltas(data.rsplit(b"data: [DONE]", 1)[0]) == [(ROLE, None), ({}, "stop")]
    assert encoder.usage == (0, 0)


@pytest.mark.parametrize(
    ("gemini", "openai"), [("SAFETY", "content_filter"), ("RECITATION", "content_filter")]
)
def test_stream_filtered_answer_ends_with_content_filter(gemini: str, openai: str) -> None:
    encoder = adapter.ChatStreamEncoder(_decoded())
    data = encoder.feed(gemini_chunk({"text": "Once upon"})) + encoder.feed(
        {"candidates": [{"finishReason": gemini}]}
    )
    assert _deltas(data) == [(ROLE, None), ({"content": "Once upon"}, None)]
    tail = encoder.finish()
    assert _deltas(tail.rsplit(b"data: [DONE]", 1)[0]) == [({}, openai)]


def test_stream_images_become_markdown_on_their_own_paragraph() -> None:
    encoder = adapter.ChatStreamEncoder(_decoded())
    data = encoder.feed(gemini_chunk({"text": "Your cat:"}))
    data += encoder.feed(gemini_chunk({"inlineData": {"mimeType": "image/png", "data": "AAAA"}}))
    assert _deltas(data)[2] == ({"content": "\n\n![image](data:image/png;base64,AAAA)"}, None)


def test_stream_blocked_prompt_raises_for_the_server_to_report() -> None:
    encoder = adapter.ChatStreamEncoder(_decoded())
    with pytest.raises(ApiError) as caught:
        encoder.feed({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}})
    assert caught.value.status == 400 and "SAFETY" in caught.value.message


def test_stream_usage_only_chunk_emits_nothing_but_the_role() -> None:
    encoder = adapter.ChatStreamEncoder(_decoded())
    assert _deltas(encoder.feed({"usageMetadata": {"promptTokenCount": 2}})) == [(ROLE, None)]
    assert encoder.feed({"usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 4}}) == b""
    assert encoder.usage == (2, 4)


def test_stream_escapes_model_names_and_text_safely() -> None:
    encoder = adapter.ChatStreamEncoder(_decoded('we"ird\nmodel'))
    data = encoder.feed(gemini_chunk({"text": 'line1\n\ndata: [DONE]\n\n"quoted" é'}))
    chunks = _chunks(data)
    assert chunks[0]["model"] == 'we"ird\nmodel'
    assert chunks[1]["choices"][0]["delta"]["content"] == 'line1\n\ndata: [DONE]\n\n"quoted" é'


# --- errors and models ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_type", "status", "openai_type", "code"),
    [
        (ApiErrorType.INVALID_REQUEST, 400, "invalid_request_error", None),
        (ApiErrorType.AUTHENTICATION, 401, "authentication_error", "invalid_api_key"),
        (ApiErrorType.PERMISSION, 403, "permission_error", None),
        (ApiErrorType.NOT_FOUND, 404, "not_found_error", None),
        (ApiErrorType.TOO_LARGE, 413, "invalid_request_error", "request_too_large"),
        (ApiErrorType.RATE_LIMIT, 429, "rate_limit_error", "rate_limit_exceeded"),
        (ApiErrorType.API_ERROR, 502, "server_error", None),
        (ApiErrorType.OVERLOADED, 503, "server_error", "service_unavailable"),
    ],
)
def test_error_body_uses_openai_types(
    api_type: ApiErrorType, status: int, openai_type: str, code: str | None
) -> None:
    body = adapter.error_body(ApiError(status, api_type, "Something specific went wrong", param="messages"))
    assert set(body) == {"error"}
    error = ErrorObject.model_validate(body["error"])
    assert (error.type, error.code, error.param) == (openai_type, code, "messages")
    assert error.message == "Something specific went wrong"


def test_error_body_marks_exhausted_quota_apart_from_rate_limits() -> None:
    body = adapter.error_body(
        ApiError(429, ApiErrorType.RATE_LIMIT, "Upstream: Quota exhausted for gemini-2.5-pro")
    )
    assert body["error"]["code"] == "insufficient_quota"


def test_encode_models_lists_every_model_in_openai_shape() -> None:
    models = [
        ModelInfo(id="gemini-2.5-pro", owned_by="google", accounts=2),
        ModelInfo(id="claude-sonnet-4-5", owned_by="anthropic"),
        ModelInfo(id="gpt-4o", owned_by="google", aliases_for="gemini-2.5-pro"),
    ]
    body = adapter.encode_models(models)
    assert body["object"] == "list"
    parsed = [Model.model_validate(item) for item in body["data"]]
    assert [(m.id, m.owned_by, m.object) for m in parsed] == [
        ("gemini-2.5-pro", "google", "model"),
        ("claude-sonnet-4-5", "anthropic", "model"),
        ("gpt-4o", "google", "model"),
    ]
    assert len({m.created for m in parsed}) == 1 and parsed[0].created > 0
    assert adapter.encode_models([]) == {"object": "list", "data": []}
