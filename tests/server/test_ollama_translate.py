"""Ollama adapter: golden request/response pairs, NDJSON streams fed chunk by chunk, shapes checked by the SDK."""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from ollama import ChatResponse, GenerateResponse, ListResponse, ShowResponse

from core.errors import ApiError, ApiErrorType
from core.gateway import ModelInfo
from server.ollama import (
    ChatStreamEncoder,
    GenerateStreamEncoder,
    decode_chat,
    decode_generate,
    encode,
    encode_show,
    encode_tags,
    error_body,
    load_reply,
    model_name,
    stream_encoder,
)
from server.ollama.decode import OllamaOptions
from server.protocol import Decoded
from tests.helpers import gemini_chunk, options_as_json

GOLDEN = Path(__file__).parent / "golden" / "ollama"
DECODE_CASES: dict[str, Any] = json.loads((GOLDEN / "decode.json").read_text(encoding="utf-8"))
ENCODE_CASES: dict[str, Any] = json.loads((GOLDEN / "encode.json").read_text(encoding="utf-8"))
DURATIONS = ("total_duration", "prompt_eval_duration", "eval_duration")
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def decoded_for(
    kind: str = "chat", model: str = "gemini-2.5-flash", **options: Any
) -> Decoded[OllamaOptions]:
    started = options.pop("started", time.perf_counter())
    return Decoded(model=model, body={}, stream=True, options=OllamaOptions(kind, model, started, **options))


def lines(data: bytes) -> list[dict[str, Any]]:
    """NDJSON: every line one complete JSON object, and nothing else."""
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.decode().split("\n")[:-1]]


def run_stream(chunks: list[dict[str, Any]], decoded: Decoded[OllamaOptions]) -> list[dict[str, Any]]:
    encoder = stream_encoder(decoded)
    out = encoder.start()
    for upstream_chunk in chunks:
        out += encoder.feed(upstream_chunk)
    return lines(out + encoder.finish())


# --- decode ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DECODE_CASES))
def test_decode_matches_golden_gemini_request(name: str) -> None:
    case = DECODE_CASES[name]
    decode = decode_chat if case["kind"] == "chat" else decode_generate
    decoded = decode(copy.deepcopy(case["ollama"]))
    assert decoded.body == case["gemini"]
    assert decoded.model == case["model"]
    assert decoded.stream is case["stream"]
    assert options_as_json(decoded.options, leave_out=("started",)) == case["options"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("gemini-2.5-flash", "gemini-2.5-flash"), ("llama3:latest", "llama3"), ("qwen3:8b", "qwen3:8b")],
)
def test_model_name_strips_only_the_latest_tag(raw: str, expected: str) -> None:
    assert model_name(raw) == expected


BAD_CHAT: list[tuple[dict[str, Any], str]] = [
    ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
    ({"model": "m", "messages": "hi"}, "messages"),
    ({"model": "m", "messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
    ({"model": "m", "messages": [{"content": "hi"}]}, "messages[0].role"),
    ({"model": "m", "messages": [{"role": "user", "content": ["hi"]}]}, "messages[0].content"),
    ({"model": "m", "messages": [{"role": "user", "content": "hi", "images": "abc"}]}, "messages[0].images"),
    ({"model": "m", "messages": [{"role": "user", "images": ["not base64!"]}]}, "messages[0].images[0]"),
    ({"model": "m", "messages": [{"role": "system", "content": "only a system prompt"}]}, "messages"),
    ({"model": "m", "messages": [{"role": "tool", "content": "orphan result"}]}, "messages[0].tool_name"),
    (
        {"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"function": {"arguments": {}}}]}]},
        "messages[0].tool_calls[0].function.name",
    ),
    (
        {
            "model": "m",
            "messages": [
                {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "[1]"}}]}
            ],
        },
        "messages[0].tool_calls[0].function.arguments",
    ),
    ({"model": "m", "messages": [{"role": "user", "content": "hi"}], "options": []}, "options"),
    (
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "options": {"top_k": 1.5}},
        "options.top_k",
    ),
    (
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "options": {"stop": [1]}},
        "options.stop",
    ),
    ({"model": "m", "messages": [{"role": "user", "content": "hi"}], "format": "yaml"}, "format"),
    ({"model": "m", "messages": [{"role": "user", "content": "hi"}], "think": "max"}, "think"),
    ({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": "yes"}, "stream"),
    (
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "web"}]},
        "tools[0].type",
    ),
]


@pytest.mark.parametrize(("payload", "param"), BAD_CHAT)
def test_bad_chat_requests_name_the_field(payload: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as caught:
        decode_chat(payload)
    assert caught.value.status == 400
    assert caught.value.param == param


def test_bad_generate_requests() -> None:
    with pytest.raises(ApiError) as caught:
        decode_generate({"model": "m", "prompt": 42})
    assert caught.value.param == "prompt"
    with pytest.raises(ApiError) as caught:
        decode_generate({"model": "codellama:code", "prompt": "def f(", "suffix": "return x"})
    assert caught.value.message == "codellama:code does not support insert"  # Ollama's own words


def test_an_unknown_tool_call_id_is_kept_and_the_name_taken_from_the_message() -> None:
    decoded = decode_chat(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "tool", "tool_call_id": "call_x", "tool_name": "lookup", "content": "42"},
            ],
        }
    )
    assert decoded.body["contents"][0]["parts"][1] == {
        "functionResponse": {"name": "lookup", "response": {"result": "42"}, "id": "call_x"}
    }


def test_results_without_names_answer_calls_in_order() -> None:
    decoded = decode_chat(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": "go"},
                {
                    "role": "assistant",
                    "tool_calls": [{"function": {"name": "a", "arguments": {}}}, {"function": {"name": "b"}}],
                },
                {"role": "tool", "content": "first"},
                {"role": "tool", "content": "second"},
            ],
        }
    )
    responses = [part["functionResponse"] for part in decoded.body["contents"][2]["parts"]]
    assert [(r["name"], r["id"], r["response"]["result"]) for r in responses] == [
        ("a", "call_1_0", "first"),
        ("b", "call_1_1", "second"),
    ]


# --- encode ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ENCODE_CASES))
def test_encode_matches_golden_ollama_reply(name: str) -> None:
    case = ENCODE_CASES[name]
    reply = encode(copy.deepcopy(case["gemini"]), decoded_for(case["kind"], case["client_model"]))
    (ChatResponse if case["kind"] == "chat" else GenerateResponse).model_validate(reply)
    assert RFC3339_UTC.match(reply.pop("created_at"))
    durations = {key: reply.pop(key) for key in ("total_duration", "eval_duration")}
    assert durations["total_duration"] >= durations["eval_duration"] > 0
    assert reply == case["ollama"]


def test_durations_count_from_when_the_request_arrived() -> None:
    decoded = decoded_for(started=time.perf_counter() - 0.25)
    reply = encode(gemini_chunk({"text": "hi"}, finish="STOP"), decoded)
    assert 0.25e9 <= reply["total_duration"] < 5e9


def test_a_blocked_prompt_is_a_400_not_an_answer() -> None:
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}}
    with pytest.raises(ApiError) as caught:
        encode(blocked, decoded_for())
    assert caught.value.status == 400 and "SAFETY" in caught.value.message
    with pytest.raises(ApiError):
        ChatStreamEncoder(decoded_for()).feed(blocked)


def test_no_candidates_without_a_reason_is_a_502() -> None:
    with pytest.raises(ApiError) as caught:
        encode({"usageMetadata": {}}, decoded_for())
    assert caught.value.status == 502


@pytest.mark.parametrize(
    ("kind", "keep_alive", "reason"), [("chat", False, "load"), ("generate", True, "unload")]
)
def test_load_replies(kind: str, keep_alive: bool, reason: str) -> None:
    reply = load_reply(decoded_for(kind, "llama3:latest", unload=keep_alive))
    parsed = (ChatResponse if kind == "chat" else GenerateResponse).model_validate(reply)
    assert parsed.done is True and parsed.done_reason == reason and parsed.model == "llama3:latest"


def test_errors_have_ollamas_shape() -> None:
    assert error_body(ApiError(404, ApiErrorType.NOT_FOUND, "model 'x' not found")) == {
        "error": "model 'x' not found"
    }
    auth = error_body(ApiError(401, ApiErrorType.AUTHENTICATION, "Missing or wrong API key."))
    assert set(auth) == {"error"} and "OLLAMA_API_KEY" in auth["error"]


# --- models ---------------------------------------------------------------------------------------------

MODELS = [
    ModelInfo(
        id="claude-sonnet-4-5-thinking", owned_by="anthropic", accounts=2, capabilities=("chat", "thinking")
    ),
    ModelInfo(
        id="gemini-2.5-flash",
        owned_by="google",
        display_name="Gemini 2.5 Flash",
        capabilities=("chat", "vision"),
    ),
    ModelInfo(id="gemini-embedding-001", owned_by="google", capabilities=("embeddings",)),
    ModelInfo(id="gpt-4", owned_by="google", aliases_for="gemini-2.5-pro"),
]


def test_tags_have_the_fields_ollama_clients_read() -> None:
    body = encode_tags(MODELS)
    listed = ListResponse.model_validate(body)
    assert [model.model for model in listed.models] == [
        "claude-sonnet-4-5-thinking",
        "gemini-2.5-flash",
        "gemini-embedding-001",
    ]
    for raw, model in zip(body["models"], listed.models, strict=True):
        assert raw["name"] == model.model  # Open WebUI reads `name`
        assert model.details is not None and model.details.family and model.details.format
        assert model.digest is not None and re.fullmatch(r"[0-9a-f]{64}", model.digest)
    assert [raw["capabilities"] for raw in body["models"]] == [
        ["completion", "tools", "thinking"],
        ["completion", "tools", "vision"],
        ["embedding"],
    ]
    assert len({model.digest for model in listed.models}) == 3


def test_show_describes_one_model() -> None:
    shown = ShowResponse.model_validate(encode_show(MODELS[3]))
    assert shown.details is not None
    assert shown.details.family == "gemini" and shown.details.parent_model == "gemini-2.5-pro"
    assert shown.capabilities == ["completion", "tools"]
    assert shown.modelinfo is not None and shown.modelinfo["general.basename"] == "gpt-4"


# --- streams, chunk by chunk ----------------------------------------------------------------------------


def test_chat_stream_text_then_final_line() -> None:
    chunks = [
        gemini_chunk({"text": "Hel"}),
        gemini_chunk({"text": 'lo "you"\n'}),
        gemini_chunk({"text": "!"}, finish="STOP", usage={"promptTokenCount": 9, "candidatesTokenCount": 3}),
    ]
    objects = run_stream(chunks, decoded_for(model="gemini-2.5-flash:latest"))
    parsed = [ChatResponse.model_validate(obj) for obj in objects]
    assert [part.message.content for part in parsed] == ["Hel", 'lo "you"\n', "!", ""]
    assert [part.done for part in parsed] == [False, False, False, True]
    assert all(part.model == "gemini-2.5-flash:latest" for part in parsed)
    assert all(RFC3339_UTC.match(obj["created_at"]) for obj in objects)
    final = objects[-1]
    assert final["done_reason"] == "stop"
    assert (final["prompt_eval_count"], final["eval_count"]) == (9, 3)
    assert all(final[key] > 0 for key in DURATIONS) and final["load_duration"] == 0
    assert set(objects[0]) == {"model", "created_at", "message", "done"}


def test_chat_stream_tool_calls_are_indexed_across_chunks() -> None:
    chunks = [
        gemini_chunk({"text": "Thinking", "thought": True}),
        gemini_chunk({"functionCall": {"name": "a", "args": {"x": 1}, "id": "call_a"}}),
        gemini_chunk(
            {"functionCall": {"name": "b", "args": {}, "id": "call_b"}},
            {"functionCall": {"name": "c", "args": {}, "id": "call_c"}},
            finish="OTHER",
        ),
    ]
    objects = run_stream(chunks, decoded_for())
    parsed = [ChatResponse.model_validate(obj) for obj in objects]
    assert parsed[0].message.thinking == "Thinking" and parsed[0].message.content == ""
    calls = [call for obj in objects for call in obj["message"].get("tool_calls", ())]
    assert [(c["function"]["index"], c["function"]["name"], c["id"]) for c in calls] == [
        (0, "a", "call_a"),
        (1, "b", "call_b"),
        (2, "c", "call_c"),
    ]
    assert objects[-1]["done_reason"] == "stop"


def test_chat_stream_puts_a_picture_on_its_own_paragraph() -> None:
    chunks = [
        gemini_chunk({"text": "Here:"}),
        gemini_chunk({"inlineData": {"mimeType": "image/png", "data": "QUJD"}}),
    ]
    objects = run_stream(chunks, decoded_for())
    assert objects[1]["message"]["content"] == "\n\n![image](data:image/png;base64,QUJD)"


def test_generate_stream_fields() -> None:
    chunks = [
        gemini_chunk({"text": "Hmm", "thought": True}),
        gemini_chunk({"text": "One"}),
        gemini_chunk(
            {"text": " two"}, finish="MAX_TOKENS", usage={"promptTokenCount": 2, "candidatesTokenCount": 2}
        ),
    ]
    objects = run_stream(chunks, decoded_for("generate"))
    parsed = [GenerateResponse.model_validate(obj) for obj in objects]
    assert [(part.thinking, part.response) for part in parsed] == [
        ("Hmm", ""),
        (None, "One"),
        (None, " two"),
        (None, ""),
    ]
    assert objects[-1]["done_reason"] == "length"
    assert isinstance(stream_encoder(decoded_for("generate")), GenerateStreamEncoder)


def test_empty_chunks_write_nothing_and_usage_is_cumulative() -> None:
    encoder = ChatStreamEncoder(decoded_for())
    assert encoder.feed({"usageMetadata": {"promptTokenCount": 5}}) == b""
    assert encoder.feed(gemini_chunk()) == b""
    encoder.feed(gemini_chunk({"text": "a"}, usage={"promptTokenCount": 5, "candidatesTokenCount": 1}))
    encoder.feed(
        gemini_chunk(
            {"text": "b"}, usage={"promptTokenCount": 5, "candidatesTokenCount": 2, "thoughtsTokenCount": 4}
        )
    )
    assert encoder.usage == (5, 6)


def test_a_stream_that_fails_ends_with_an_error_line_and_nothing_after() -> None:
    encoder = ChatStreamEncoder(decoded_for())
    head = encoder.feed(gemini_chunk({"text": "partial"}))
    tail = encoder.error(ApiError(503, ApiErrorType.OVERLOADED, "Upstream busy"))
    assert lines(head + tail)[-1] == {"error": "Upstream busy"}
    assert encoder.finish() == b"" and encoder.feed(gemini_chunk({"text": "late"})) == b""


def test_an_empty_stream_still_finishes_properly() -> None:
    (final,) = run_stream([], decoded_for())
    assert final["done"] is True and final["message"] == {"role": "assistant", "content": ""}
    assert final["prompt_eval_duration"] == 0  # no first chunk: the moment is unknown
