"""OpenAI Responses adapter: golden request/response pairs, bad input, and event-by-event streams."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from openai import omit
from openai._models import construct_type
from openai.lib.streaming.responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent

from core.errors import ApiError, ApiErrorType
from server import openai_responses as adapter
from server.protocol import Decoded
from server.request_parts import REASONING_BUDGETS
from tests.helpers import assert_bad_request, golden_cases

GOLDEN = Path(__file__).parent / "golden" / "openai_responses"
ID_PREFIXES = ("resp_", "msg_", "rs_", "fc_")


def _decoded(model: str = "gpt-5", **echo: Any) -> Decoded[adapter.ResponsesOptions]:
    return Decoded(model=model, body={}, stream=True, options=adapter.ResponsesOptions(echo=echo))


def _without_ids(value: Any) -> Any:
    """Generated item ids replaced by `<prefix>` placeholders, so goldens can name what kind of id belongs."""
    if isinstance(value, dict):
        return {key: _without_ids(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_ids(item) for item in value]
    if isinstance(value, str) and value.startswith(ID_PREFIXES):
        return f"<{value.split('_', 1)[0]}>"
    return value


def _chunks(response: dict[str, Any]) -> list[dict[str, Any]]:
    """A whole Gemini response as the stream the upstream would send: a part per chunk, the finish last."""
    candidate = response["candidates"][0]
    parts = candidate["content"]["parts"]
    chunks: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": [part]}, "index": 0}]} for part in parts
    ]
    chunks[-1]["candidates"][0]["finishReason"] = candidate["finishReason"]
    if "usageMetadata" in response:
        chunks[-1]["usageMetadata"] = response["usageMetadata"]
    return chunks


def _events(data: bytes) -> list[dict[str, Any]]:
    """Parse `event:` + `data:` frames, checking the two name the same event type."""
    events = []
    for frame in data.decode().split("\n\n"):
        if not frame:
            continue
        name_line, data_line = frame.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: ")
        event = json.loads(data_line.removeprefix("data: "))
        assert event["type"] == name_line.removeprefix("event: ")
        events.append(event)
    return events


def _stream(
    decoded: Decoded[adapter.ResponsesOptions], chunks: list[Any], *, fail: ApiError | None = None
) -> list[Any]:
    encoder = adapter.ResponsesStreamEncoder(decoded)
    data = encoder.start() + b"".join(encoder.feed(chunk) for chunk in chunks)
    data += encoder.error(fail) if fail else encoder.finish()
    assert encoder.finish() == b"" and encoder.feed(chunks[0] if chunks else {}) == b"", (
        "a closed stream stays shut"
    )
    return _events(data)


def _accumulate(events: list[dict[str, Any]]) -> ResponseStreamState[Any]:
    """Feed events to the SDK's own accumulator (what `client.responses.stream` runs); it raises on bad order."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    for event in events:
        state.handle_event(construct_type(type_=ResponseStreamEvent, value=event))  # type: ignore[arg-type]
    return state


# --- decode ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", golden_cases(GOLDEN, "decode"))
def test_decode_golden(case: dict[str, Any]) -> None:
    request = copy.deepcopy(case["request"])
    decoded = adapter.decode(request)
    assert decoded.body == case["gemini"]
    assert decoded.model == case["request"]["model"]
    assert decoded.stream is case["stream"]
    assert decoded.conversation_key == case["conversation_key"]
    assert request == case["request"], "decode must not change the client's payload"


def test_decode_echoes_settings_with_openai_defaults() -> None:
    echo = adapter.decode({"model": "m", "input": "hi", "temperature": 0.3})
    plain = adapter.decode({"model": "m", "input": "hi"})
    assert echo.options.echo["temperature"] == 0.3
    assert plain.options.echo["temperature"] == 1.0 and plain.options.echo["tool_choice"] == "auto"
    assert plain.options.echo["text"] == {"format": {"type": "text"}}
    assert plain.options.echo["previous_response_id"] is None


@pytest.mark.parametrize("effort", sorted(REASONING_BUDGETS))
def test_reasoning_effort_uses_the_chat_adapters_budgets(effort: str) -> None:
    decoded = adapter.decode({"model": "m", "input": "hi", "reasoning": {"effort": effort}})
    thinking = decoded.body["generationConfig"]["thinkingConfig"]
    assert thinking["thinkingBudget"] == REASONING_BUDGETS[effort]
    assert thinking["includeThoughts"] is (REASONING_BUDGETS[effort] > 0)


def test_summary_alone_asks_for_thoughts_without_a_budget() -> None:
    decoded = adapter.decode({"model": "m", "input": "hi", "reasoning": {"summary": "detailed"}})
    assert decoded.body["generationConfig"] == {"thinkingConfig": {"includeThoughts": True}}


def _item(item: Any) -> dict[str, Any]:
    return {"model": "m", "input": [{"role": "user", "content": "hi"}, item]}


def _part(part: Any) -> dict[str, Any]:
    return {"model": "m", "input": [{"role": "user", "content": [part]}]}


BAD_REQUESTS = [
    pytest.param([1], None, "JSON object", id="not-an-object"),
    pytest.param({"input": "hi"}, "model", "model", id="no-model"),
    pytest.param({"model": "m"}, "input", "input", id="no-input"),
    pytest.param({"model": "m", "input": ""}, "input", "empty", id="empty-string-input"),
    pytest.param({"model": "m", "input": []}, "input", "non-empty", id="empty-list-input"),
    pytest.param(
        {"model": "m", "input": "hi", "previous_response_id": "resp_1"},
        "previous_response_id",
        "whole conversation",
        id="previous-response-id",
    ),
    pytest.param(
        {"model": "m", "input": "hi", "conversation": "conv_1"}, "conversation", "keeps no", id="conversation"
    ),
    pytest.param(
        {"model": "m", "input": "hi", "background": True}, "background", "background", id="background"
    ),
    pytest.param({"model": "m", "input": "hi", "store": "yes"}, "store", "boolean", id="store-not-bool"),
    pytest.param(
        _item({"type": "item_reference", "id": "x"}), "input[1].type", "references", id="item-reference"
    ),
    pytest.param(_item({"type": 3}), "input[1].type", "not supported", id="item-type-number"),
    pytest.param(_item("text"), "input[1]", "object", id="item-not-object"),
    pytest.param(_item({"role": "tool", "content": "x"}), "input[1].role", "tool", id="bad-role"),
    pytest.param(
        _item({"type": "function_call_output", "call_id": "nope", "output": "x"}),
        "input[1].call_id",
        "earlier function_call",
        id="orphan-output",
    ),
    pytest.param(
        _item({"type": "function_call", "call_id": "c", "name": "f", "arguments": "{oops"}),
        "input[1].arguments",
        "not valid JSON",
        id="bad-arguments",
    ),
    pytest.param(
        _item({"type": "function_call", "name": "f"}), "input[1].call_id", "call_id", id="call-no-id"
    ),
    pytest.param(
        _part({"type": "input_image", "file_id": "file-1"}),
        "input[0].content[0].image_url",
        "file ids",
        id="image-file-id",
    ),
    pytest.param(_part({"type": "input_audio"}), "input[0].content[0].type", "input_audio", id="bad-part"),
    pytest.param(
        {"model": "m", "input": [{"role": "assistant", "content": [{"type": "input_image"}]}]},
        "input[0].content[0].type",
        "output_text",
        id="image-in-assistant",
    ),
    pytest.param(
        {"model": "m", "input": "hi", "tools": [{"name": "x"}]},
        "tools[0].type",
        "tool type",
        id="tool-without-type",
    ),
    pytest.param(
        {"model": "m", "input": "hi", "tools": [{"type": "function", "name": "f"}] * 2},
        "tools[1].name",
        "twice",
        id="duplicate-tool",
    ),
    pytest.param(
        {"model": "m", "input": "hi", "tool_choice": {"type": "function", "name": "g"}},
        "tool_choice.name",
        "not in 'tools'",
        id="choice-unknown-function",
    ),
    pytest.param(
        {"model": "m", "input": "hi", "tool_choice": "required"}, "tool_choice", "no tools", id="required"
    ),
    pytest.param(
        {"model": "m", "input": "hi", "reasoning": {"effort": "huge"}},
        "reasoning.effort",
        "huge",
        id="effort",
    ),
    pytest.param(
        {"model": "m", "input": "hi", "reasoning": {"summary": "long"}},
        "reasoning.summary",
        "long",
        id="summary",
    ),
    pytest.param(
        {"model": "m", "input": "hi", "text": {"format": {"type": "json_schema"}}},
        "text.format.schema",
        "JSON Schema",
        id="schema-missing",
    ),
    pytest.param(
        {"model": "m", "input": "hi", "text": {"format": {"type": "xml"}}},
        "text.format.type",
        "xml",
        id="format",
    ),
    pytest.param(
        {"model": "m", "input": "hi", "max_output_tokens": 0}, "max_output_tokens", "1", id="max-tokens"
    ),
    pytest.param({"model": "m", "input": "hi", "temperature": 3}, "temperature", "between", id="temperature"),
]


@pytest.mark.parametrize(("payload", "param", "fragment"), BAD_REQUESTS)
def test_bad_requests_are_400_naming_the_field(payload: Any, param: str | None, fragment: str) -> None:
    assert_bad_request(adapter.decode, payload, param, fragment)


def test_web_search_tool_becomes_google_search_next_to_functions() -> None:
    alone = adapter.decode({"model": "m", "input": "news?", "tools": [{"type": "web_search"}]})
    assert alone.body["tools"] == [{"googleSearch": {}}]
    mixed = adapter.decode(
        {
            "model": "m",
            "input": "hi",
            "tools": [{"type": "web_search_preview"}, {"type": "function", "name": "f"}],
        }
    )
    # Both go to the gateway, whose transform keeps the functions when the upstream refuses the mix.
    assert mixed.body["tools"] == [{"functionDeclarations": [{"name": "f"}]}, {"googleSearch": {}}]


# --- encode ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", golden_cases(GOLDEN, "encode"))
def test_encode_golden(case: dict[str, Any]) -> None:
    answer = adapter.encode(copy.deepcopy(case["gemini"]), _decoded(case["model"]))
    assert _without_ids(_fields(answer, case["expected"])) == case["expected"]
    assert answer["id"].startswith("resp_") and answer["created_at"] > 0
    assert "sig-" not in json.dumps(answer), "thought signatures never reach the client"
    Response.model_validate(answer)  # the SDK's own model accepts it


def _fields(answer: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The fields a golden fixes (ids and times are generated; request settings have their own test)."""
    return {key: answer[key] for key in expected}


def test_encode_repeats_the_request_settings() -> None:
    decoded = adapter.decode(
        {"model": "m", "input": "hi", "instructions": "Be kind.", "max_output_tokens": 64}
    )
    answer = adapter.encode({"candidates": [{"content": {"parts": [{"text": "ok"}]}}]}, decoded)
    assert answer["instructions"] == "Be kind." and answer["max_output_tokens"] == 64
    assert answer["completed_at"] >= answer["created_at"]


def test_encode_blocked_prompt_is_a_400_on_input() -> None:
    with pytest.raises(ApiError) as caught:
        adapter.encode({"promptFeedback": {"blockReason": "SAFETY"}}, _decoded())
    assert (caught.value.status, caught.value.param) == (400, "input")
    assert "SAFETY" in caught.value.message


def test_encode_without_candidates_is_a_502() -> None:
    with pytest.raises(ApiError) as caught:
        adapter.encode({"usageMetadata": {"promptTokenCount": 3}}, _decoded())
    assert caught.value.status == 502


def test_generated_image_becomes_markdown_after_the_text() -> None:
    answer = adapter.encode(
        {
            "candidates": [
                {
                    "content": {
                        "parts": [
                            {"text": "Here:"},
                            {"inlineData": {"mimeType": "image/png", "data": "QUJD"}},
                        ]
                    }
                }
            ]
        },
        _decoded(),
    )
    (message,) = answer["output"]
    assert message["content"][0]["text"] == "Here:\n\n![image](data:image/png;base64,QUJD)"


GROUNDED = {
    "candidates": [
        {
            "content": {"parts": [{"text": "Rain in Paris."}]},
            "finishReason": "STOP",
            "groundingMetadata": {
                "groundingChunks": [
                    {"web": {"uri": "https://a.example/1", "title": "a.example"}},
                    {"web": {"uri": "https://b.example/2", "title": "b.example"}},
                ],
                "groundingSupports": [
                    {"segment": {"startIndex": 8, "endIndex": 14}, "groundingChunkIndices": [0]}
                ],
            },
        }
    ]
}
GROUNDED_ANNOTATIONS = [
    {
        "type": "url_citation",
        "start_index": 8,
        "end_index": 14,
        "url": "https://a.example/1",
        "title": "a.example",
    },
    {
        "type": "url_citation",
        "start_index": 0,
        "end_index": 14,
        "url": "https://b.example/2",
        "title": "b.example",
    },
]


def test_search_sources_become_flat_url_citations() -> None:
    answer = adapter.encode(copy.deepcopy(GROUNDED), _decoded())
    (message,) = answer["output"]
    assert message["content"][0]["annotations"] == GROUNDED_ANNOTATIONS
    Response.model_validate(answer)


def test_streamed_search_sources_are_announced_before_the_text_is_done() -> None:
    chunks = [
        {"candidates": [{"content": {"parts": [{"text": "Rain "}]}}]},
        {"candidates": [{"content": {"parts": [{"text": "in Paris."}]}}]},
        {"candidates": [{**GROUNDED["candidates"][0], "content": {"parts": []}}]},
    ]
    events = _stream(_decoded(), chunks)
    kinds = [event["type"] for event in events]
    added = [event for event in events if event["type"] == "response.output_text.annotation.added"]
    assert [event["annotation"] for event in added] == GROUNDED_ANNOTATIONS
    assert [event["annotation_index"] for event in added] == [0, 1]
    assert kinds.index("response.output_text.annotation.added") < kinds.index("response.output_text.done")
    done = next(event for event in events if event["type"] == "response.output_item.done")
    assert done["item"]["content"][0]["annotations"] == GROUNDED_ANNOTATIONS
    _accumulate(events)


# --- streaming ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", golden_cases(GOLDEN, "encode"))
def test_stream_accumulates_to_the_non_streaming_answer(case: dict[str, Any]) -> None:
    decoded = _decoded(case["model"])
    events = _stream(decoded, _chunks(case["gemini"]))

    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert [event["type"] for event in events[:2]] == ["response.created", "response.in_progress"]
    terminal = events[-1]
    assert terminal["type"] == f"response.{case['expected']['status']}"
    assert sum(event["type"].startswith("response.") and "response" in event for event in events) == 3
    assert _without_ids(_fields(terminal["response"], case["expected"])) == case["expected"]
    state = _accumulate(events)
    if terminal["type"] == "response.completed":
        final = state._completed_response
        assert final is not None and final.id == events[0]["response"]["id"]
        assert [item.model_dump(exclude_none=True) for item in final.output] == terminal["response"]["output"]


def test_stream_text_event_by_event() -> None:
    chunks = [
        {"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]},
        {"candidates": [{"content": {"parts": [{"text": "lo"}]}}]},
        {
            "candidates": [{"content": {"parts": []}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 2},
        },
    ]
    events = _stream(_decoded(), chunks)

    kinds = [event["type"] for event in events]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    added = events[2]
    assert (
        added["output_index"] == 0
        and added["item"]["status"] == "in_progress"
        and added["item"]["content"] == []
    )
    item_id = added["item"]["id"]
    for event in events[3:9]:
        assert event["output_index"] == 0 and event.get("item_id", event.get("item", {}).get("id")) == item_id
    assert [e["delta"] for e in events if e["type"] == "response.output_text.delta"] == ["Hel", "lo"]
    assert all(e["content_index"] == 0 for e in events[3:8])
    assert events[6]["text"] == "Hello" and events[8]["item"]["content"][0]["text"] == "Hello"
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    assert events[0]["response"]["usage"] is None
    assert events[-1]["response"]["usage"]["input_tokens"] == 2


def test_stream_thoughts_then_calls_are_separate_items_in_order() -> None:
    chunks = [
        {
            "candidates": [
                {"content": {"parts": [{"text": "Hmm.", "thought": True, "thoughtSignature": "sig-1"}]}}
            ]
        },
        {
            "candidates": [
                {"content": {"parts": [{"text": "", "thought": True, "thoughtSignature": "sig-2"}]}}
            ]
        },
        {
            "candidates": [
                {
                    "content": {
                        "parts": [
                            {"functionCall": {"name": "a", "args": {"x": 1}, "id": "call_1"}},
                            {"functionCall": {"name": "b", "args": {}, "id": "call_2"}},
                        ]
                    },
                    "finishReason": "STOP",
                }
            ]
        },
    ]
    events = _stream(_decoded(), chunks)

    items = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert [item["type"] for item in items] == ["reasoning", "function_call", "function_call"]
    assert items[0]["summary"] == [{"type": "summary_text", "text": "Hmm."}]
    assert [(i["call_id"], i["name"], i["arguments"]) for i in items[1:]] == [
        ("call_1", "a", '{"x": 1}'),
        ("call_2", "b", "{}"),
    ]
    deltas = [e for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert [(e["output_index"], e["delta"]) for e in deltas] == [(1, '{"x": 1}'), (2, "{}")]
    done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert [e["arguments"] for e in done] == ['{"x": 1}', "{}"] and [e["name"] for e in done] == ["a", "b"]
    assert [e["item_id"] for e in done] == [i["id"] for i in items[1:]]
    summary_deltas = [e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta"]
    assert summary_deltas == ["Hmm."]
    assert "sig-" not in json.dumps(events)
    final = _accumulate(events)._completed_response
    assert final is not None and [item.type for item in final.output] == [
        "reasoning",
        "function_call",
        "function_call",
    ]


def test_stream_failure_is_response_failed_not_completed() -> None:
    chunks = [{"candidates": [{"content": {"parts": [{"text": "Partial"}]}}]}]
    failure = ApiError(502, ApiErrorType.API_ERROR, "The answer broke off mid-stream")
    events = _stream(_decoded(), chunks, fail=failure)

    kinds = [event["type"] for event in events]
    assert "response.completed" not in kinds and kinds[-1] == "response.failed"
    failed = events[-1]["response"]
    assert failed["id"] == events[0]["response"]["id"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "server_error", "message": "The answer broke off mid-stream"}
    (message,) = failed["output"]
    assert message["status"] == "incomplete" and message["content"][0]["text"] == "Partial"
    state = _accumulate(events)
    assert state._completed_response is None


def test_stream_rate_limit_failure_has_the_rate_limit_code() -> None:
    events = _stream(_decoded(), [], fail=ApiError(429, ApiErrorType.RATE_LIMIT, "slow down"))
    assert events[-1]["response"]["error"]["code"] == "rate_limit_exceeded"
    assert events[-1]["response"]["output"] == []


def test_stream_blocked_prompt_raises_before_any_event() -> None:
    encoder = adapter.ResponsesStreamEncoder(_decoded())
    with pytest.raises(ApiError) as caught:
        encoder.feed({"promptFeedback": {"blockReason": "OTHER"}})
    assert caught.value.status == 400


def test_stream_usage_is_the_latest_cumulative_usage() -> None:
    encoder = adapter.ResponsesStreamEncoder(_decoded())
    encoder.start()
    encoder.feed(
        {"candidates": [{"content": {"parts": [{"text": "a"}]}}], "usageMetadata": {"promptTokenCount": 5}}
    )
    encoder.feed(
        {
            "candidates": [{"content": {"parts": [{"text": "b"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2, "thoughtsTokenCount": 3},
        }
    )
    assert encoder.usage == (5, 5)


@pytest.mark.parametrize("reason", ["SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "SPII"])
def test_stream_content_filter_ends_incomplete(reason: str) -> None:
    chunks = [{"candidates": [{"content": {"parts": [{"text": "Some"}]}, "finishReason": reason}]}]
    events = _stream(_decoded(), chunks)
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "content_filter"}
