"""Claude adapter: golden request/response pairs, streams fed chunk by chunk, shapes checked by the anthropic SDK."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from aiohttp import web
from anthropic._streaming import SSEDecoder
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, MessageTokensCount, ModelInfo, RawMessageStreamEvent
from anthropic.types.shared import ErrorResponse
from pydantic import TypeAdapter

from core.errors import ApiError, ApiErrorType, invalid_request
from core.gateway import ModelInfo as GatewayModel
from server.anthropic import (
    MessagesStreamEncoder,
    decode,
    decode_count_tokens,
    encode,
    encode_count_tokens,
    encode_models,
    error_body,
)
from server.anthropic.decode import MessagesOptions
from server.protocol import Decoded
from tests.helpers import gemini_chunk, options_as_json

GOLDEN = Path(__file__).parent / "golden" / "anthropic"
DECODE_CASES: dict[str, Any] = json.loads((GOLDEN / "decode.json").read_text(encoding="utf-8"))
ENCODE_CASES: dict[str, Any] = json.loads((GOLDEN / "encode.json").read_text(encoding="utf-8"))
STREAM_EVENT = TypeAdapter(RawMessageStreamEvent)


def decoded_for(model: str = "claude-sonnet-4-5", stop_sequences: Any = ()) -> Decoded[MessagesOptions]:
    return Decoded(model=model, body={}, stream=True, options=MessagesOptions(tuple(stop_sequences)))


def sse_events(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) pairs, parsed by the SDK's own SSE decoder."""
    events = []
    for event in SSEDecoder().iter_bytes(iter([data])):
        assert event.event is not None, "every Claude stream event has an event: line"
        events.append((event.event, event.json()))
    return events


def run_stream(chunks: list[dict[str, Any]], decoded: Decoded[MessagesOptions] | None = None) -> bytes:
    encoder = MessagesStreamEncoder(decoded or decoded_for())
    out = encoder.start()
    for upstream_chunk in chunks:
        out += encoder.feed(upstream_chunk)
    return out + encoder.finish()


def sdk_accumulate(events: list[tuple[str, dict[str, Any]]]) -> Message:
    """Validate every event with the SDK's types and build the final message the way the SDK does."""
    snapshot = None
    json_buffers: dict[int, bytes] = {}
    for name, data in events:
        assert data["type"] == name, "the event: line names the data's type"
        if name == "ping":
            continue
        event = STREAM_EVENT.validate_python(data)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_buffers)
    assert snapshot is not None
    return Message.model_validate(snapshot.to_dict())


def summary(events: list[tuple[str, dict[str, Any]]]) -> list[tuple[Any, ...]]:
    """A compact, readable form of an event list for exact-order assertions."""
    rows: list[tuple[Any, ...]] = []
    for name, data in events:
        if name == "content_block_start":
            rows.append((name, data["index"], data["content_block"]["type"]))
        elif name == "content_block_delta":
            delta = data["delta"]
            value = next(v for k, v in delta.items() if k != "type")
            rows.append((name, data["index"], delta["type"], value))
        elif name == "content_block_stop":
            rows.append((name, data["index"]))
        elif name == "message_delta":
            rows.append((name, data["delta"]["stop_reason"], data["delta"]["stop_sequence"]))
        else:
            rows.append((name,))
    return rows


# --- decode: golden pairs and bad input -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DECODE_CASES))
def test_decode_matches_golden_gemini_request(name: str) -> None:
    case = DECODE_CASES[name]
    decoded = decode(copy.deepcopy(case["claude"]))
    assert decoded.body == case["gemini"]
    assert decoded.model == case["claude"]["model"]
    assert decoded.stream is case["stream"]
    assert decoded.conversation_key == case["conversation_key"]
    assert options_as_json(decoded.options) == case["options"]


def test_count_tokens_needs_no_max_tokens_and_counts_the_same_content() -> None:
    request = copy.deepcopy(DECODE_CASES["tools_thinking_and_results"]["claude"])
    del request["max_tokens"]
    del request["thinking"]
    decoded = decode_count_tokens(request)
    expected = DECODE_CASES["tools_thinking_and_results"]["gemini"]
    assert decoded.body["contents"] == expected["contents"]
    assert decoded.body["tools"] == expected["tools"]
    assert "maxOutputTokens" not in decoded.body.get("generationConfig", {})
    assert decoded.stream is False


def test_encode_count_tokens_has_the_sdk_shape() -> None:
    assert MessageTokensCount.model_validate(encode_count_tokens(1234)).input_tokens == 1234


def _with(path: str, value: Any) -> dict[str, Any]:
    """A valid request with one field (dotted path, list indexes as numbers) replaced or, with ..., removed."""
    request: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    *parents, last = path.split(".")
    target: Any = request
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is ...:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return request


BAD_REQUESTS = [
    pytest.param(_with("model", ...), "model", "model", id="missing-model"),
    pytest.param(_with("model", 7), "model", "model", id="model-not-a-string"),
    pytest.param(_with("max_tokens", ...), "max_tokens", "field required", id="missing-max-tokens"),
    pytest.param(_with("max_tokens", "100"), "max_tokens", "integer", id="max-tokens-string"),
    pytest.param(_with("max_tokens", True), "max_tokens", "integer", id="max-tokens-bool"),
    pytest.param(_with("max_tokens", 0), "max_tokens", "at least 1", id="max-tokens-zero"),
    pytest.param(_with("messages", ...), "messages", "non-empty list", id="missing-messages"),
    pytest.param(_with("messages", []), "messages", "non-empty list", id="empty-messages"),
    pytest.param(_with("messages", "hi"), "messages", "non-empty list", id="messages-string"),
    pytest.param(_with("messages.0", "hi"), "messages.0", "object", id="message-not-object"),
    pytest.param(_with("messages.0.role", "tool"), "messages.0.role", "'user', 'assistant'", id="role-tool"),
    pytest.param(
        _with("messages.0.role", ["user"]), "messages.0.role", "'user', 'assistant'", id="role-list"
    ),
    pytest.param(
        _with("messages.0.role", {"a": 1}), "messages.0.role", "'user', 'assistant'", id="role-object"
    ),
    pytest.param(_with("messages.0.content", ...), "messages.0.content", "required", id="missing-content"),
    pytest.param(_with("messages.0.content", 5), "messages.0.content", "list", id="content-number"),
    pytest.param(
        _with("messages.0.content", [{"type": "text", "text": ""}]), "messages", "empty", id="all-empty"
    ),
    pytest.param(
        _with("messages.0.content", [{"type": "video", "data": "x"}]),
        "messages",
        "empty",
        id="only-unknown-block",
    ),
    pytest.param(
        _with("messages.0.content.0", {"type": 7}), "messages.0.content.0.type", "string", id="block-type-int"
    ),
    pytest.param(
        _with("messages.0.content.0", {"type": "text", "text": 3}),
        "messages.0.content.0.text",
        "string",
        id="text-int",
    ),
    pytest.param(
        _with("messages.0.content.0", {"type": "tool_result", "tool_use_id": "toolu_x", "content": "ok"}),
        "messages.0.content.0.tool_use_id",
        "no earlier tool_use",
        id="orphan-tool-result",
    ),
    pytest.param(
        _with("messages.0.content.0", {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
        "messages.0.content.0",
        "assistant messages",
        id="tool-use-from-user",
    ),
    pytest.param(
        _with("messages.0", {"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "t"}]}),
        "messages.0.content.0",
        "user messages",
        id="tool-result-from-assistant",
    ),
    pytest.param(
        _with(
            "messages.0",
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": []}]},
        ),
        "messages.0.content.0.input",
        "object",
        id="tool-input-list",
    ),
    pytest.param(
        _with("messages.0.content.0", {"type": "image", "source": {"type": "file", "file_id": "file_1"}}),
        "messages.0.content.0.source.type",
        "'base64' or 'url'",
        id="image-file-source",
    ),
    pytest.param(
        _with("messages.0.content.0", {"type": "document", "source": {"type": "file", "file_id": "f"}}),
        "messages.0.content.0.source.type",
        "document sources",
        id="document-file-source",
    ),
    pytest.param(_with("system", [{"text": "x"}, 3]), "system.1", "object", id="system-block-number"),
    pytest.param(_with("system", 3), "system", "list", id="system-number"),
    pytest.param(_with("tools", [{"name": "f"}]), "tools.0.input_schema", "object", id="tool-without-schema"),
    pytest.param(_with("tools", {"name": "f"}), "tools", "list", id="tools-object"),
    pytest.param(
        _with("tool_choice", {"type": "tool", "name": "nope"}),
        "tool_choice.name",
        "no tool named",
        id="choice-unknown",
    ),
    pytest.param(_with("tool_choice", {"type": "sometimes"}), "tool_choice.type", "'auto'", id="choice-type"),
    pytest.param(
        _with("thinking", {"type": "enabled", "budget_tokens": 100}),
        "thinking.budget_tokens",
        "greater than thinking.budget_tokens",
        id="budget-not-below-max",
    ),
    pytest.param(
        _with("thinking", {"type": "enabled"}), "thinking.budget_tokens", "integer", id="budget-missing"
    ),
    pytest.param(_with("thinking", {"type": "deep"}), "thinking.type", "'enabled'", id="thinking-type"),
    pytest.param(_with("temperature", "hot"), "temperature", "number", id="temperature-string"),
    pytest.param(_with("top_p", -0.5), "top_p", "at least 0", id="top-p-negative"),
    pytest.param(_with("top_k", 2.5), "top_k", "integer", id="top-k-float"),
    pytest.param(_with("stop_sequences", "END"), "stop_sequences", "list", id="stop-string"),
    pytest.param(_with("stop_sequences", ["END", 3]), "stop_sequences.1", "string", id="stop-element"),
    pytest.param(_with("stream", "yes"), "stream", "true or false", id="stream-string"),
    pytest.param(_with("metadata", {"user_id": 42}), "metadata.user_id", "string", id="user-id-int"),
]


@pytest.mark.parametrize(("request_body", "param", "fragment"), BAD_REQUESTS)
def test_bad_requests_are_400_invalid_request_naming_the_field(
    request_body: dict[str, Any], param: str, fragment: str
) -> None:
    with pytest.raises(ApiError) as caught:
        decode(request_body)
    error = caught.value
    assert (error.status, error.type, error.param) == (400, ApiErrorType.INVALID_REQUEST, param)
    assert fragment in error.message
    assert ErrorResponse.model_validate(error_body(error)).error.type == "invalid_request_error"


@pytest.mark.parametrize("payload", [[], "text", None, 3])
def test_a_body_that_is_not_an_object_is_refused(payload: object) -> None:
    with pytest.raises(ApiError, match="JSON object"):
        decode(payload)


def test_unknown_top_level_fields_and_server_tools_are_tolerated() -> None:
    request = _with("tools", [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}])
    request["tool_choice"] = {"type": "tool", "name": "web_search"}
    request["context_management"] = {"edits": []}
    request["service_tier"] = "auto"
    decoded = decode(request)
    # Web search runs as Gemini's googleSearch; choosing it by name needs no function config.
    assert decoded.body["tools"] == [{"googleSearch": {}}] and "toolConfig" not in decoded.body


# --- what current Claude Code sends: system messages in `messages`, blocks without a Gemini form -----------


def _conversation(*messages: dict[str, Any], system: Any = None) -> dict[str, Any]:
    request: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": list(messages)}
    if system is not None:
        request["system"] = system
    return request


def test_leading_system_messages_join_the_system_instruction_after_the_system_field() -> None:
    decoded = decode(
        _conversation(
            {"role": "system", "content": "You are terse."},
            {"role": "system", "content": [{"type": "text", "text": "Reply in French."}]},
            {"role": "user", "content": "hi"},
            system=[{"type": "text", "text": "Base prompt", "cache_control": {"type": "ephemeral"}}],
        )
    )
    assert decoded.body["systemInstruction"] == {
        "parts": [{"text": "Base prompt"}, {"text": "You are terse."}, {"text": "Reply in French."}]
    }
    assert decoded.body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_system_messages_mid_conversation_join_the_user_turn_at_their_place() -> None:
    decoded = decode(
        _conversation(
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "answer"},
            {"role": "system", "content": "The user switched to plan mode."},
            {"role": "user", "content": "second"},
        )
    )
    assert "systemInstruction" not in decoded.body
    assert decoded.body["contents"] == [
        {"role": "user", "parts": [{"text": "first"}]},
        {"role": "model", "parts": [{"text": "answer"}]},
        {"role": "user", "parts": [{"text": "The user switched to plan mode."}, {"text": "second"}]},
    ]


def test_a_system_message_between_a_tool_call_and_its_result_keeps_the_result_first() -> None:
    decoded = decode(
        _conversation(
            {"role": "user", "content": "list files"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "ls", "input": {}}],
            },
            {"role": "system", "content": "Reminder: be brief."},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"}],
            },
        )
    )
    last = decoded.body["contents"][-1]
    assert last["role"] == "user"
    assert [next(iter(part)) for part in last["parts"]] == ["functionResponse", "text"]
    assert last["parts"][1] == {"text": "Reminder: be brief."}


def test_blocks_without_a_gemini_form_are_left_out_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="server.anthropic.decode")
    kind = "future_block_kind_for_this_test"
    request = _conversation(
        {"role": "user", "content": [{"type": kind, "x": 1}, {"type": "text", "text": "hi"}]},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "server_tool_use",
                    "id": "srvtoolu_1",
                    "name": "web_search",
                    "input": {"query": "q"},
                },
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                {"type": "text", "text": "found"},
            ],
        },
        {"role": "user", "content": [{"type": kind}, {"type": "text", "text": "thanks"}]},
        system=[{"type": "text", "text": "sys"}, {"type": "image", "source": {}}],
    )
    decoded = decode(request)
    assert decoded.body["contents"] == [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [{"text": "found"}]},
        {"role": "user", "parts": [{"text": "thanks"}]},
    ]
    assert decoded.body["systemInstruction"] == {"parts": [{"text": "sys"}]}
    assert sum(kind in record.getMessage() for record in caplog.records) == 1


def test_search_results_become_text_inside_tool_results_and_messages() -> None:
    search_result = {
        "type": "search_result",
        "source": "https://example.test/doc",
        "title": "Doc",
        "content": [{"type": "text", "text": "The answer is 42."}],
    }
    decoded = decode(
        _conversation(
            {"role": "user", "content": [search_result, {"type": "text", "text": "what is it?"}]},
        )
    )
    assert decoded.body["contents"][0]["parts"][0] == {
        "text": "Doc\nhttps://example.test/doc\nThe answer is 42."
    }


# --- encode: golden pairs, SDK validation, blocked prompts --------------------------------------------------


@pytest.mark.parametrize("name", sorted(ENCODE_CASES))
def test_encode_matches_golden_claude_message(name: str) -> None:
    case = ENCODE_CASES[name]
    message = encode(copy.deepcopy(case["gemini"]), decoded_for(case["model"], **case["options"]))
    if all(block["type"] != "image" for block in message["content"]):
        # Claude never answers with images, so the SDK has no type for our image blocks.
        Message.model_validate(message)
    message_id = message.pop("id")
    assert message_id.startswith("msg_") and len(message_id) > 10
    assert message == case["claude"]


def test_each_message_gets_its_own_id() -> None:
    response = ENCODE_CASES["max_tokens"]["gemini"]
    assert encode(response, decoded_for())["id"] != encode(response, decoded_for())["id"]


def test_a_blocked_prompt_is_a_400_not_assistant_text() -> None:
    blocked = {
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
        "usageMetadata": {"promptTokenCount": 4},
    }
    with pytest.raises(ApiError) as caught:
        encode(blocked, decoded_for())
    assert caught.value.status == 400 and "PROHIBITED_CONTENT" in caught.value.message


def test_an_answer_with_no_candidates_and_no_reason_is_the_upstreams_fault() -> None:
    with pytest.raises(ApiError) as caught:
        encode({"candidates": [], "usageMetadata": {"promptTokenCount": 4}}, decoded_for())
    assert caught.value.status == 502


def test_a_function_call_without_id_still_gets_a_tool_use_id() -> None:
    message = encode(
        gemini_chunk({"functionCall": {"name": "f", "args": {"a": 1}}}, finish="STOP"), decoded_for()
    )
    assert message["content"][0]["id"].startswith("toolu_")
    Message.model_validate(message)


ROUND_TRIP_PARTS = [
    pytest.param([{"text": "plain"}], id="text"),
    pytest.param(
        [
            {"thought": True, "text": "Reasoning.", "thoughtSignature": "sig-1"},
            {"text": "Calling."},
            {"functionCall": {"name": "a", "args": {"x": [1, 2]}, "id": "c1"}, "thoughtSignature": "sig-2"},
            {"functionCall": {"name": "b", "args": {}, "id": "c2"}},
        ],
        id="thought-text-signed-call-plain-call",
    ),
    pytest.param(
        [{"functionCall": {"name": "a", "args": {"q": "s"}, "id": "c9"}, "thoughtSignature": "gemini-3-sig"}],
        id="signed-call-alone",
    ),
    pytest.param(
        [
            {"thought": True, "text": "Unsigned reasoning."},
            {"functionCall": {"name": "a", "args": {}, "id": "c3"}, "thoughtSignature": "sig-3"},
        ],
        id="unsigned-thought-then-signed-call",
    ),
]


@pytest.mark.parametrize("parts", ROUND_TRIP_PARTS)
def test_what_the_client_sends_back_restores_the_upstream_parts(parts: list[dict[str, Any]]) -> None:
    message = encode(gemini_chunk(*copy.deepcopy(parts), finish="STOP"), decoded_for())
    tool_results = [
        {"type": "tool_result", "tool_use_id": block["id"], "content": "done"}
        for block in message["content"]
        if block["type"] == "tool_use"
    ]
    follow_up = [{"role": "user", "content": "go"}, {"role": "assistant", "content": message["content"]}]
    if tool_results:
        follow_up.append({"role": "user", "content": tool_results})
    decoded = decode({"model": "m", "max_tokens": 10, "messages": follow_up})
    model_turn = decoded.body["contents"][1]
    assert model_turn["role"] == "model"
    assert model_turn["parts"] == parts


# --- errors and models -------------------------------------------------------------------------------------

ERROR_TYPES = {
    ApiErrorType.INVALID_REQUEST: "invalid_request_error",
    ApiErrorType.AUTHENTICATION: "authentication_error",
    ApiErrorType.PERMISSION: "permission_error",
    ApiErrorType.NOT_FOUND: "not_found_error",
    ApiErrorType.TOO_LARGE: "request_too_large",
    ApiErrorType.RATE_LIMIT: "rate_limit_error",
    ApiErrorType.API_ERROR: "api_error",
    ApiErrorType.OVERLOADED: "overloaded_error",
}


@pytest.mark.parametrize("api_type", list(ApiErrorType))
def test_error_body_uses_anthropics_error_types(api_type: ApiErrorType) -> None:
    body = error_body(ApiError(418, api_type, "Something is off."))
    assert body == {"type": "error", "error": {"type": ERROR_TYPES[api_type], "message": "Something is off."}}
    if api_type is not ApiErrorType.TOO_LARGE:  # the SDK models no request_too_large object
        assert ErrorResponse.model_validate(body).error.type == ERROR_TYPES[api_type]


def test_models_page_has_the_sdk_shape() -> None:
    models = [
        GatewayModel(id="claude-sonnet-4-5", owned_by="anthropic", display_name="Claude Sonnet 4.5"),
        GatewayModel(id="gemini-2.5-pro", owned_by="google"),
    ]
    page = encode_models(models)
    validated = [ModelInfo.model_validate(entry) for entry in page["data"]]
    assert [(m.id, m.display_name) for m in validated] == [
        ("claude-sonnet-4-5", "Claude Sonnet 4.5"),
        ("gemini-2.5-pro", "gemini-2.5-pro"),
    ]
    assert (page["has_more"], page["first_id"], page["last_id"]) == (
        False,
        "claude-sonnet-4-5",
        "gemini-2.5-pro",
    )
    assert encode_models([]) == {"data": [], "has_more": False, "first_id": None, "last_id": None}


# --- stream: exact events, chunk by chunk ------------------------------------------------------------------


def test_stream_thinking_then_text_then_tool_calls_in_exact_order() -> None:
    chunks = [
        gemini_chunk({"thought": True, "text": "Let me "}, usage={"promptTokenCount": 30}),
        gemini_chunk({"thought": True, "text": "think.", "thoughtSignature": "sig-t"}),
        gemini_chunk({"text": "Sure, "}),
        gemini_chunk({"text": ""}, {"text": "checking."}),
        gemini_chunk(
            {
                "functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "toolu_1"},
                "thoughtSignature": "sig-c",
            },
            {"functionCall": {"name": "get_time", "args": {"zone": "CET"}, "id": "toolu_2"}},
            finish="STOP",
            usage={"promptTokenCount": 30, "candidatesTokenCount": 9, "thoughtsTokenCount": 11},
        ),
    ]
    events = sse_events(run_stream(chunks))
    assert summary(events) == [
        ("message_start",),
        ("ping",),
        ("content_block_start", 0, "thinking"),
        ("content_block_delta", 0, "thinking_delta", "Let me "),
        ("content_block_delta", 0, "thinking_delta", "think."),
        ("content_block_delta", 0, "signature_delta", "sig-t"),
        ("content_block_stop", 0),
        ("content_block_start", 1, "text"),
        ("content_block_delta", 1, "text_delta", "Sure, "),
        ("content_block_delta", 1, "text_delta", "checking."),
        ("content_block_stop", 1),
        ("content_block_start", 2, "thinking"),
        ("content_block_delta", 2, "signature_delta", "sig-c"),
        ("content_block_stop", 2),
        ("content_block_start", 3, "tool_use"),
        ("content_block_delta", 3, "input_json_delta", '{"city":"Paris"}'),
        ("content_block_stop", 3),
        ("content_block_start", 4, "tool_use"),
        ("content_block_delta", 4, "input_json_delta", '{"zone":"CET"}'),
        ("content_block_stop", 4),
        ("message_delta", "tool_use", None),
        ("message_stop",),
    ]
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["input_tokens"] == 30
    assert events[14][1]["content_block"] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "get_weather",
        "input": {},
    }
    assert events[-2][1]["usage"] == {"input_tokens": 30, "output_tokens": 20, "cache_read_input_tokens": 0}

    final = sdk_accumulate(events)
    assert [block.type for block in final.content] == ["thinking", "text", "thinking", "tool_use", "tool_use"]
    assert final.content[3].input == {"city": "Paris"}  # type: ignore[union-attr]
    assert final.content[0].signature == "sig-t"  # type: ignore[union-attr]


def split_into_chunks(parts: list[dict[str, Any]], sizes: list[int]) -> list[dict[str, Any]]:
    chunks, start = [], 0
    for size in sizes:
        chunks.append(gemini_chunk(*parts[start : start + size]))
        start += size
    chunks.append(gemini_chunk(*parts[start:]))
    return chunks


# Claude never streams images, so the SDK cannot accumulate one; test_stream_sends_images_as_whole_blocks covers it.
@pytest.mark.parametrize("name", sorted(set(ENCODE_CASES) - {"generated_image"}))
@pytest.mark.parametrize("sizes", [[], [1, 1, 1, 1, 1], [2, 3]], ids=["one-chunk", "part-per-chunk", "mixed"])
def test_stream_builds_the_same_message_as_the_non_stream_answer(name: str, sizes: list[int]) -> None:
    case = ENCODE_CASES[name]
    response = copy.deepcopy(case["gemini"])
    response = response.get("response", response)
    candidate = response["candidates"][0]
    parts = candidate.get("content", {}).get("parts", [])
    chunks = split_into_chunks(parts, sizes)
    chunks[-1]["candidates"][0]["finishReason"] = candidate["finishReason"]
    if "usageMetadata" in response:
        chunks[-1]["usageMetadata"] = response["usageMetadata"]
    decoded = decoded_for(case["model"], **case["options"])
    final = sdk_accumulate(sse_events(run_stream(chunks, decoded)))
    expected = case["claude"]
    assert [block.to_dict() for block in final.content] == expected["content"]
    assert (final.stop_reason, final.stop_sequence, final.model) == (
        expected["stop_reason"],
        expected["stop_sequence"],
        expected["model"],
    )
    assert final.usage.input_tokens == expected["usage"]["input_tokens"]
    assert final.usage.output_tokens == expected["usage"]["output_tokens"]
    assert final.usage.cache_read_input_tokens == expected["usage"]["cache_read_input_tokens"]


def test_stream_usage_follows_the_upstream_counts() -> None:
    encoder = MessagesStreamEncoder(decoded_for())
    assert encoder.usage == (0, 0)
    encoder.feed(gemini_chunk({"text": "a"}, usage={"promptTokenCount": 40, "cachedContentTokenCount": 10}))
    encoder.feed(
        gemini_chunk(
            {"text": "b"}, usage={"promptTokenCount": 40, "candidatesTokenCount": 2, "thoughtsTokenCount": 3}
        )
    )
    assert encoder.usage == (40, 5)


def test_message_start_waits_for_the_first_chunk_to_know_the_prompt_size() -> None:
    encoder = MessagesStreamEncoder(decoded_for("claude-opus-4-6"), message_id="msg_fixed")
    assert encoder.start() == b""
    events = sse_events(
        encoder.feed(
            gemini_chunk({"text": "Hi"}, usage={"promptTokenCount": 77, "cachedContentTokenCount": 7})
        )
    )
    assert [name for name, _ in events] == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
    ]
    message = events[0][1]["message"]
    assert (message["id"], message["model"]) == ("msg_fixed", "claude-opus-4-6")
    assert (message["usage"]["input_tokens"], message["usage"]["cache_read_input_tokens"]) == (70, 7)


def test_stream_without_chunks_is_still_a_complete_message() -> None:
    events = sse_events(run_stream([]))
    assert summary(events) == [
        ("message_start",),
        ("ping",),
        ("message_delta", "end_turn", None),
        ("message_stop",),
    ]
    assert sdk_accumulate(events).content == []


def test_stream_spots_a_stop_sequence_split_across_chunks() -> None:
    decoded = decoded_for(stop_sequences=["<END>"])
    chunks = [gemini_chunk({"text": "All done <E"}), gemini_chunk({"text": "ND>"}, finish="STOP")]
    events = sse_events(run_stream(chunks, decoded))
    assert summary(events)[-2] == ("message_delta", "stop_sequence", "<END>")


@pytest.mark.parametrize(
    ("finish", "stop_reason"),
    [("MAX_TOKENS", "max_tokens"), ("SAFETY", "refusal"), ("RECITATION", "refusal"), ("OTHER", "end_turn")],
)
def test_stream_stop_reasons(finish: str, stop_reason: str) -> None:
    events = sse_events(run_stream([gemini_chunk({"text": "Partial"}, finish=finish)]))
    assert summary(events)[-2] == ("message_delta", stop_reason, None)


def test_stream_thoughts_after_a_signature_open_a_new_thinking_block() -> None:
    chunks = [
        gemini_chunk({"thought": True, "text": "One.", "thoughtSignature": "s1"}),
        gemini_chunk({"thought": True, "text": "Two."}),
        gemini_chunk(
            {"thought": True, "text": "", "thoughtSignature": "s2"}, {"text": "Answer"}, finish="STOP"
        ),
    ]
    final = sdk_accumulate(sse_events(run_stream(chunks)))
    assert [(b.type, getattr(b, "thinking", None), getattr(b, "signature", None)) for b in final.content] == [
        ("thinking", "One.", "s1"),
        ("thinking", "Two.", "s2"),
        ("text", None, None),
    ]


def test_stream_sends_images_as_whole_blocks() -> None:
    chunks = [
        gemini_chunk(
            {"text": "Look:"}, {"inlineData": {"mimeType": "image/png", "data": "iVBOR"}}, finish="STOP"
        )
    ]
    events = sse_events(run_stream(chunks))
    assert summary(events)[2:7] == [
        ("content_block_start", 0, "text"),
        ("content_block_delta", 0, "text_delta", "Look:"),
        ("content_block_stop", 0),
        ("content_block_start", 1, "image"),
        ("content_block_stop", 1),
    ]
    assert events[5][1]["content_block"]["source"] == {
        "type": "base64",
        "media_type": "image/png",
        "data": "iVBOR",
    }


def test_stream_error_event_ends_the_stream() -> None:
    encoder = MessagesStreamEncoder(decoded_for())
    out = encoder.start() + encoder.feed(gemini_chunk({"text": "Partial answer"}))
    out += encoder.error(ApiError(429, ApiErrorType.RATE_LIMIT, "Every account is rate limited."))
    assert encoder.finish() == b""
    assert encoder.error(invalid_request("again")) == b""
    events = sse_events(out)
    assert events[-1] == (
        "error",
        {"type": "error", "error": {"type": "rate_limit_error", "message": "Every account is rate limited."}},
    )
    assert "message_stop" not in [name for name, _ in events]
    assert ErrorResponse.model_validate(events[-1][1]).error.type == "rate_limit_error"


def test_stream_error_before_any_chunk_is_just_the_error_event() -> None:
    encoder = MessagesStreamEncoder(decoded_for())
    events = sse_events(encoder.error(ApiError(503, ApiErrorType.OVERLOADED, "Busy.")))
    assert [name for name, _ in events] == ["error"]


def test_stream_blocked_prompt_raises_for_the_caller_to_report() -> None:
    encoder = MessagesStreamEncoder(decoded_for())
    with pytest.raises(ApiError) as caught:
        encoder.feed({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 5}})
    assert caught.value.status == 400
    assert [name for name, _ in sse_events(encoder.error(caught.value))] == ["error"]


def test_stream_text_is_json_escaped() -> None:
    tricky = 'quote " backslash \\ newline \n tab \t emoji 🚀 nul \x00 </script>'
    final = sdk_accumulate(sse_events(run_stream([gemini_chunk({"text": tricky}, finish="STOP")])))
    assert final.content[0].text == tricky  # type: ignore[union-attr]


# --- the real anthropic SDK against a loopback server that uses the adapter ------------------------------


class Scripted:
    """What the loopback server answers: Gemini chunks (streamed) or a response, and an optional error."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, Any]] = []
        self.response: dict[str, Any] = {}
        self.error: ApiError | None = None
        self.requests: list[Decoded[MessagesOptions]] = []


async def _messages(request: web.Request) -> web.StreamResponse:
    script: Scripted = request.app[SCRIPT]
    try:
        decoded = decode(await request.json())
    except ApiError as error:
        return web.json_response(error_body(error), status=error.status)
    script.requests.append(decoded)
    if not decoded.stream:
        return web.json_response(encode(script.response, decoded))
    encoder = MessagesStreamEncoder(decoded)
    response = web.StreamResponse(headers={"Content-Type": encoder.content_type})
    await response.prepare(request)
    await response.write(encoder.start())
    for upstream_chunk in script.chunks:
        await response.write(encoder.feed(upstream_chunk))
    await response.write(encoder.error(script.error) if script.error else encoder.finish())
    await response.write_eof()
    return response


async def _models(_request: web.Request) -> web.Response:
    return web.json_response(encode_models([GatewayModel(id="claude-sonnet-4-5", owned_by="anthropic")]))


SCRIPT = web.AppKey("script", Scripted)


@pytest.fixture
async def sdk() -> AsyncIterator[tuple[anthropic.AsyncAnthropic, Scripted]]:
    app = web.Application()
    app[SCRIPT] = Scripted()
    app.router.add_post("/v1/messages", _messages)
    app.router.add_get("/v1/models", _models)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = anthropic.AsyncAnthropic(base_url=f"http://127.0.0.1:{port}", api_key="test-key", max_retries=0)
    try:
        yield client, app[SCRIPT]
    finally:
        await client.close()
        await runner.cleanup()


TOOLS: Any = [
    {
        "name": "get_weather",
        "description": "Weather for a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]


async def test_sdk_streams_thinking_and_a_tool_call_then_sends_them_back(
    sdk: tuple[anthropic.AsyncAnthropic, Scripted],
) -> None:
    client, script = sdk
    script.chunks = [
        gemini_chunk({"thought": True, "text": "Need weather."}, usage={"promptTokenCount": 21}),
        gemini_chunk({"thought": True, "text": "", "thoughtSignature": "sig-thought"}),
        gemini_chunk(
            {
                "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}, "id": "toolu_7"},
                "thoughtSignature": "sig-call",
            },
            finish="STOP",
            usage={"promptTokenCount": 21, "candidatesTokenCount": 6},
        ),
    ]
    messages: Any = [{"role": "user", "content": "Weather in Oslo?"}]
    async with client.messages.stream(
        model="claude-sonnet-4-5-thinking",
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        tools=TOOLS,
        messages=messages,
        metadata={"user_id": "conv-1"},
    ) as stream:
        texts = [event.type async for event in stream]
        final = await stream.get_final_message()
    assert "thinking" in texts and "message_stop" in texts
    assert final.stop_reason == "tool_use"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (21, 6)
    tool_use = final.content[-1]
    assert tool_use.type == "tool_use" and tool_use.input == {"city": "Oslo"} and tool_use.id == "toolu_7"

    first = script.requests[0]
    assert first.stream and first.conversation_key == "conv-1"
    assert first.body["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 1024,
        "includeThoughts": True,
    }

    script.response = gemini_chunk(
        {"text": "It is sunny."}, finish="STOP", usage={"promptTokenCount": 40, "candidatesTokenCount": 4}
    )
    reply = await client.messages.create(
        model="claude-sonnet-4-5-thinking",
        max_tokens=2048,
        tools=TOOLS,
        messages=[
            *messages,
            final.to_param(),
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_7", "content": "Sunny"}],
            },
        ],
    )
    assert reply.content[0].type == "text" and reply.content[0].text == "It is sunny."
    assert reply.stop_reason == "end_turn"
    model_turn, result_turn = script.requests[1].body["contents"][1:]
    assert model_turn["parts"] == [
        {"thought": True, "text": "Need weather.", "thoughtSignature": "sig-thought"},
        {
            "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}, "id": "toolu_7"},
            "thoughtSignature": "sig-call",
        },
    ]
    assert result_turn["parts"] == [
        {"functionResponse": {"name": "get_weather", "id": "toolu_7", "response": {"result": "Sunny"}}}
    ]


async def test_sdk_raises_on_a_stream_error_event(sdk: tuple[anthropic.AsyncAnthropic, Scripted]) -> None:
    client, script = sdk
    script.chunks = [gemini_chunk({"text": "Half"})]
    script.error = ApiError(529, ApiErrorType.OVERLOADED, "Upstream busy.")
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with client.messages.stream(
            model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            async for _ in stream:
                pass
    assert "Upstream busy." in str(caught.value)


async def test_sdk_sees_decode_errors_as_bad_request(sdk: tuple[anthropic.AsyncAnthropic, Scripted]) -> None:
    client, _ = sdk
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(
            model="m",
            max_tokens=10,
            messages=[{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x"}]}],
        )
    assert "no earlier tool_use" in caught.value.message


async def test_sdk_lists_models(sdk: tuple[anthropic.AsyncAnthropic, Scripted]) -> None:
    client, _ = sdk
    page = await client.models.list()
    assert [model.id for model in page.data] == ["claude-sonnet-4-5"]
