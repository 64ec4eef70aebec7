"""Tests for core.transform: schema cleaning, function names, thought signatures and request fix-ups."""

from __future__ import annotations

import copy
import json
import re
import timeit
from collections.abc import Iterator
from typing import Any, Literal, Optional

import aiohttp
import pytest
from pydantic import BaseModel, Field

from core.transform import (
    NameMap,
    SignatureCache,
    clean_schema,
    prepare_request,
    restore_response,
)
from core.types import JSON
from tests.fake_google import FUNCTION_NAME, FakeGoogle, Rejected, validate_request

# The schema keywords clean_schema may send upstream: it copies these and drops everything else (some are
# folded into the description first).
SCHEMA_KEYS = frozenset(
    {
        "type",
        "description",
        "properties",
        "required",
        "items",
        "enum",
        "nullable",
        "anyOf",
        "oneOf",
        "allOf",
        "additionalProperties",
        "format",
        "minimum",
        "maximum",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "pattern",
        "title",
    }
)
FORBIDDEN = {"const", "$ref", "$defs", "definitions", "$schema", "$id", "default", "examples"}
REQUEST_FIELDS = frozenset({"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"})
CALL_ID = re.compile(r"^fc-[0-9a-f]{24}$")  # neutral: no protocol's own id shape


def schema_nodes(schema: Any) -> Iterator[dict[str, Any]]:
    """Every schema object inside `schema` (property maps are walked by value, not as schemas)."""
    if not isinstance(schema, dict):
        return
    yield schema
    for name in ("items", "additionalProperties"):
        yield from schema_nodes(schema.get(name))
    for name in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(name) or []:
            yield from schema_nodes(branch)
    for sub in (schema.get("properties") or {}).values():
        yield from schema_nodes(sub)


def assert_upstream_schema(schema: dict[str, Any]) -> None:
    for node in schema_nodes(schema):
        assert set(node) <= SCHEMA_KEYS, set(node) - SCHEMA_KEYS
        assert not set(node) & FORBIDDEN


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


# ------------------------------------------------------------------------------------------ clean_schema


class Address(BaseModel):
    street: str
    zip: Optional[str] = None  # noqa: UP045 - pydantic's Optional spelling is what clients generate


class Node(BaseModel):
    name: str
    children: list[Node] = []


class Person(BaseModel):
    kind: Literal["person"] = "person"
    age: int | None = Field(default=None, description="Age in years", examples=[30])
    home: Address
    work: Address | None = Field(None, description="Work address")
    tree: Node
    tags: list[str] = Field(default_factory=list)


def test_pydantic_schema_is_inlined_and_cleaned() -> None:
    raw = Person.model_json_schema()
    assert "$defs" in raw  # the fixture really uses references
    cleaned = clean_schema(raw)
    assert_upstream_schema(cleaned)
    props = cleaned["properties"]
    assert props["home"]["type"] == "object"
    assert props["home"]["properties"]["street"] == {"type": "string", "title": "Street"}
    assert props["home"]["required"] == ["street"]
    assert props["home"]["properties"]["zip"]["nullable"] is True
    assert props["home"]["properties"]["zip"]["type"] == "string"
    # Optional[Address] with a description: the address itself, nullable, described by the field.
    assert props["work"]["nullable"] is True
    assert props["work"]["description"] == "Work address"
    assert set(props["work"]["properties"]) == {"street", "zip"}
    assert props["age"]["type"] == "integer"
    assert props["age"]["nullable"] is True
    assert "Age in years" in props["age"]["description"] and "30" in props["age"]["description"]
    assert props["kind"]["enum"] == ["person"]
    assert "person" in props["kind"]["description"]  # the default, folded in
    assert cleaned["required"] == ["home", "tree"]


def test_recursive_reference_is_cut_off() -> None:
    cleaned = clean_schema(Node.model_json_schema())
    depth = 0
    node = cleaned
    while "properties" in node:
        assert node["type"] == "object"
        node = node["properties"]["children"]["items"]
        depth += 1
    assert node == {"type": "object"}
    assert 1 <= depth <= 4


def test_mutual_recursion_terminates() -> None:
    schema = {
        "$ref": "#/definitions/A",
        "definitions": {
            "A": {
                "type": "object",
                "properties": {"b": {"$ref": "#/definitions/B"}, "a": {"$ref": "#/definitions/A"}},
            },
            "B": {
                "type": "object",
                "properties": {"a": {"$ref": "#/definitions/A"}, "b": {"$ref": "#/definitions/B"}},
            },
        },
    }
    cleaned = clean_schema(schema)
    assert_upstream_schema(cleaned)
    assert len(json.dumps(cleaned)) < 100_000


def test_refs_with_siblings_pointer_escapes_and_unknown_targets() -> None:
    schema = {
        "type": "object",
        "properties": {
            "x": {"$ref": "#/$defs/a~1b", "description": "outer wins"},
            "y": {"$ref": "#/$defs/missing", "description": "kept"},
            "z": {"$ref": "https://example.com/schema.json"},
            "w": {"allOf": [{"$ref": "#/$defs/a~1b"}], "description": "wrapped"},
        },
        "$defs": {"a/b": {"type": "string", "description": "inner", "minLength": 2}},
    }
    cleaned = clean_schema(schema)["properties"]
    assert cleaned["x"] == {"type": "string", "description": "outer wins", "minLength": 2}
    assert cleaned["y"] == {"type": "object", "description": "kept"}
    assert cleaned["z"] == {"type": "object"}
    assert cleaned["w"]["description"] == "wrapped" and cleaned["w"]["type"] == "string"


def test_const_enum_and_nullable_forms() -> None:
    schema = {
        "type": "object",
        "properties": {
            "mode": {"const": "fast"},
            "level": {"type": "integer", "const": 3},
            "size": {"type": "integer", "enum": [1, 2, None]},
            "flag": {"enum": ["on", 2, True]},
            "name": {"type": ["string", "null"]},
            "either": {"type": ["string", "integer"]},
            "choice": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
            "nothing": {"oneOf": [{"type": "null"}, {"type": "boolean"}]},
        },
    }
    cleaned = clean_schema(schema)["properties"]
    assert cleaned["mode"] == {"type": "string", "enum": ["fast"]}
    # Gemini accepts enums only on strings: other types keep their type and get the values as a hint.
    assert cleaned["level"]["type"] == "integer" and "enum" not in cleaned["level"]
    assert "3" in cleaned["level"]["description"]
    assert cleaned["size"]["nullable"] is True and "enum" not in cleaned["size"]
    assert cleaned["flag"] == {"type": "string", "enum": ["on", "2", "true"]}
    assert cleaned["name"] == {"type": "string", "nullable": True}
    assert cleaned["either"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert cleaned["choice"] == {"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": True}
    assert cleaned["nothing"] == {"type": "boolean", "nullable": True}


def test_unknown_keys_dropped_and_hints_folded() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:x",
        "type": "object",
        "additionalProperties": False,
        "propertyNames": {"pattern": "^[a-z]+$"},
        "x-internal": True,
        "properties": {
            "url": {"type": "string", "format": "uri", "examples": ["https://a.example"]},
            "when": {"type": "string", "format": "date-time"},
            "count": {
                "type": "integer",
                "format": "int64",
                "minimum": 1,
                "exclusiveMaximum": 10,
                "default": 5,
            },
            "list": {"type": "array", "items": True, "minItems": 1, "uniqueItems": True},
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]},
            "map": {"type": "object", "additionalProperties": {"type": "integer", "default": 0}},
        },
        "required": ["url", "ghost", "count"],
    }
    original = copy.deepcopy(schema)
    cleaned = clean_schema(schema)
    assert schema == original  # the input is never changed
    assert_upstream_schema(cleaned)
    assert cleaned["required"] == ["url", "count"]
    assert cleaned["additionalProperties"] is False
    props = cleaned["properties"]
    assert "format" not in props["url"] and "uri" in props["url"]["description"]
    assert "https://a.example" in props["url"]["description"]
    assert props["when"]["format"] == "date-time"
    assert props["count"]["format"] == "int64" and props["count"]["minimum"] == 1
    assert "5" in props["count"]["description"] and "less than 10" in props["count"]["description"]
    assert props["list"] == {"type": "array", "items": {}, "minItems": 1}
    assert props["pair"]["items"] == {"anyOf": [{"type": "string"}, {"type": "number"}]}
    assert props["map"]["additionalProperties"]["type"] == "integer"


def test_missing_types_are_inferred() -> None:
    cleaned = clean_schema({"properties": {"a": {"items": {"type": "string"}}, "b": {"enum": ["x"]}}})
    assert cleaned["type"] == "object"
    assert cleaned["properties"]["a"]["type"] == "array"
    assert cleaned["properties"]["b"]["type"] == "string"


# ------------------------------------------------------------------------------------------ names


def declaration(name: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "description": f"tool {name}", "parameters": {"type": "object", **schema}}


def test_function_names_fixed_consistently_and_restored() -> None:
    long_a = "a" * 80
    long_b = "a" * 70
    names = ["my tool!", "my_tool_", "1st", long_a, long_b, "ok.name:v-1", "über"]
    body = {
        "contents": [
            user("hi"),
            {
                "role": "model",
                "parts": [{"functionCall": {"name": "my tool!", "args": {"q": 1}, "id": "c1"}}],
            },
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": "my tool!", "id": "c1", "response": {"r": 2}}}],
            },
        ],
        "tools": [{"functionDeclarations": [declaration(n) for n in names]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["my tool!", "1st"]}},
    }
    original = copy.deepcopy(body)
    prepared, name_map = prepare_request(body, SignatureCache(), "conv")
    assert body == original
    upstream = [d["name"] for d in prepared["tools"][0]["functionDeclarations"]]
    assert all(FUNCTION_NAME.match(n) for n in upstream)
    assert len(set(upstream)) == len(names)
    # Legal names are untouched; the illegal "my tool!" may not steal the legal "my_tool_".
    assert upstream[1] == "my_tool_" and upstream[5] == "ok.name:v-1"
    assert upstream[0] != "my_tool_"
    assert len(upstream[3]) == 64 and len(upstream[4]) == 64 and upstream[3] != upstream[4]
    assert prepared["contents"][1]["parts"][0]["functionCall"]["name"] == upstream[0]
    assert prepared["contents"][2]["parts"][0]["functionResponse"]["name"] == upstream[0]
    assert prepared["toolConfig"]["functionCallingConfig"]["allowedFunctionNames"] == [
        upstream[0],
        upstream[2],
    ]
    validate_request(prepared, REQUEST_FIELDS, "gemini-2.5-pro", None)
    for client_name, upstream_name in zip(names, upstream, strict=True):
        reply = {
            "candidates": [
                {"content": {"role": "model", "parts": [{"functionCall": {"name": upstream_name}}]}}
            ]
        }
        restored = restore_response(reply, name_map, SignatureCache(), "conv")
        assert restored["candidates"][0]["content"]["parts"][0]["functionCall"]["name"] == client_name


def test_same_names_give_same_upstream_names_across_requests() -> None:
    body = {
        "contents": [user("x")],
        "tools": [{"functionDeclarations": [declaration("a b"), declaration("c d")]}],
    }
    first = prepare_request(body, SignatureCache(), None)[1]
    second = prepare_request(copy.deepcopy(body), SignatureCache(), None)[1]
    assert first.to_upstream == second.to_upstream == {"a b": "a_b", "c d": "c_d"}


def test_duplicate_declarations_dropped_and_json_schema_cleaned() -> None:
    body = {
        "contents": [user("x")],
        "tools": [
            {"functionDeclarations": [declaration("f", properties={"a": {"type": "string"}})]},
            {
                "functionDeclarations": [
                    declaration("f"),
                    {
                        "name": "g",
                        "parametersJsonSchema": {"type": "object", "properties": {"v": {"const": 1}}},
                    },
                ]
            },
        ],
    }
    prepared, _ = prepare_request(body, SignatureCache(), None)
    declarations = [d for tool in prepared["tools"] for d in tool["functionDeclarations"]]
    assert [d["name"] for d in declarations] == ["f", "g"]
    assert declarations[0]["parameters"]["properties"] == {"a": {"type": "string"}}
    assert "parametersJsonSchema" not in declarations[1]
    assert declarations[1]["parameters"]["properties"]["v"] == {"type": "string", "enum": ["1"]}
    validate_request(prepared, REQUEST_FIELDS, "gemini-2.5-pro", None)


def test_messy_request_fails_the_fake_rules_raw_and_passes_prepared() -> None:
    body = {
        "contents": [
            user("hello"),
            {"role": "model", "parts": []},
            {"role": "user", "parts": [{"text": ""}, {"text": "again"}]},
        ],
        "tools": [
            {"googleSearch": {}},
            {"functionDeclarations": [{"name": "lookup-person!", "parameters": Person.model_json_schema()}]},
        ],
        "generationConfig": {"maxOutputTokens": 1024, "thinkingConfig": {"thinkingBudget": 8192}},
    }
    with pytest.raises(Rejected):
        validate_request(body, REQUEST_FIELDS, "gemini-2.5-pro", None)
    prepared, _ = prepare_request(body, SignatureCache(), None)
    validate_request(prepared, REQUEST_FIELDS, "gemini-2.5-pro", None)
    assert prepared["contents"] == [user("hello"), user("again")]
    assert all("googleSearch" not in tool for tool in prepared["tools"])


# ------------------------------------------------------------------------------------------ request fix-ups


def test_search_tools_kept_without_functions() -> None:
    body = {"contents": [user("x")], "tools": [{"googleSearch": {}}, {"urlContext": {}}]}
    prepared, _ = prepare_request(body, SignatureCache(), None)
    assert prepared["tools"] == [{"googleSearch": {}}, {"urlContext": {}}]


def test_search_dropped_from_the_same_tool_as_functions() -> None:
    body = {
        "contents": [user("x")],
        "tools": [{"googleSearch": {}, "functionDeclarations": [declaration("f")]}],
    }
    prepared, _ = prepare_request(body, SignatureCache(), None)
    assert list(prepared["tools"][0]) == ["functionDeclarations"]


@pytest.mark.parametrize(
    ("budget", "max_tokens", "want_max", "want_budget"),
    [
        (8192, 1024, 8192 + 4096, 8192),  # raised to budget + headroom
        (8192, 8192, 8192 + 4096, 8192),  # equal is not enough
        (1000, 2000, 2000, 1000),  # already fine
        (0, 100, 100, 0),  # thinking off
        (-1, 100, 100, -1),  # dynamic budget
        (62_000, 1000, 64_000, 64_000 - 4096),  # near the cap: the budget shrinks instead
        (100_000, 100_000, 100_000, 100_000 - 4096),  # the client's own large limit is kept
    ],
)
def test_thinking_budget_below_max_output(
    budget: int, max_tokens: int, want_max: int, want_budget: int
) -> None:
    config = {
        "maxOutputTokens": max_tokens,
        "thinkingConfig": {"thinkingBudget": budget, "includeThoughts": True},
    }
    body: JSON = {"contents": [user("x")], "generationConfig": config}
    prepared, _ = prepare_request(body, SignatureCache(), None)
    out = prepared["generationConfig"]
    assert (out["maxOutputTokens"], out["thinkingConfig"]["thinkingBudget"]) == (want_max, want_budget)
    assert out["thinkingConfig"]["includeThoughts"] is True
    assert body["generationConfig"]["maxOutputTokens"] == max_tokens
    validate_request(prepared, REQUEST_FIELDS, "gemini-2.5-pro", None)


def test_budget_without_max_output_is_left_alone() -> None:
    body = {"contents": [user("x")], "generationConfig": {"thinkingConfig": {"thinkingBudget": 4096}}}
    prepared, _ = prepare_request(body, SignatureCache(), None)
    assert prepared["generationConfig"] == {"thinkingConfig": {"thinkingBudget": 4096}}


def test_response_schema_is_cleaned() -> None:
    body = {"contents": [user("x")], "generationConfig": {"responseSchema": Address.model_json_schema()}}
    prepared, _ = prepare_request(body, SignatureCache(), None)
    assert_upstream_schema(prepared["generationConfig"]["responseSchema"])


def test_empty_parts_and_turns_dropped_but_signatures_kept() -> None:
    body = {
        "contents": [
            user("q"),
            {"role": "model", "parts": [{"text": ""}, {"thought": True, "text": ""}, {}]},
            user("q2"),
            {
                "role": "model",
                "parts": [{"text": "a"}, {"text": "", "thoughtSignature": "s1"}, {"thoughtSignature": "s2"}],
            },
            user("q3"),
        ]
    }
    prepared, _ = prepare_request(body, SignatureCache(), None)
    assert prepared["contents"] == [
        user("q"),
        user("q2"),
        {
            "role": "model",
            "parts": [
                {"text": "a"},
                {"text": "", "thoughtSignature": "s1"},
                {"thoughtSignature": "s2", "text": ""},
            ],
        },
        user("q3"),
    ]
    validate_request(prepared, REQUEST_FIELDS, "gemini-2.5-pro", None)


# ------------------------------------------------------------------------------------------ signatures


def model_call(
    name: str, args: dict[str, Any], call_id: str | None = None, signature: str | None = None
) -> dict[str, Any]:
    call: dict[str, Any] = {"name": name, "args": args}
    if call_id:
        call["id"] = call_id
    part: dict[str, Any] = {"functionCall": call}
    if signature:
        part["thoughtSignature"] = signature
    return {"role": "model", "parts": [part]}


def reply_with(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"candidates": [{"content": {"role": "model", "parts": list(parts)}, "index": 0}]}


def test_restore_gives_ids_and_remembers_signatures() -> None:
    cache = SignatureCache()
    chunk = reply_with(
        {"text": "let me look"},
        {"functionCall": {"name": "f", "args": {"b": 1, "a": [2]}}, "thoughtSignature": "sig-1"},
    )
    original = copy.deepcopy(chunk)
    restored = restore_response(chunk, NameMap(), cache, "conv-1")
    assert chunk == original
    call = restored["candidates"][0]["content"]["parts"][1]["functionCall"]
    assert CALL_ID.match(call["id"])
    assert restored["candidates"][0]["content"]["parts"][1]["thoughtSignature"] == "sig-1"
    assert restored["candidates"][0]["content"]["parts"][0] is chunk["candidates"][0]["content"]["parts"][0]
    # Found again by id, and (for clients that drop ids) by conversation + name + args in any key order.
    assert cache.lookup(None, {"id": call["id"], "name": "x"}) == "sig-1"
    assert cache.lookup("conv-1", {"name": "f", "args": {"a": [2], "b": 1}}) == "sig-1"
    assert cache.lookup("conv-2", {"name": "f", "args": {"a": [2], "b": 1}}) is None
    assert cache.lookup("conv-1", {"name": "f", "args": {"a": [3], "b": 1}}) is None


def test_restore_keeps_existing_ids_and_fresh_ids_differ() -> None:
    chunk = reply_with(
        {"functionCall": {"name": "f", "id": "given"}},
        {"functionCall": {"name": "f"}},
        {"functionCall": {"name": "f"}},
    )
    parts = restore_response(chunk, NameMap(), SignatureCache(), None)["candidates"][0]["content"]["parts"]
    ids = [p["functionCall"]["id"] for p in parts]
    assert ids[0] == "given" and len(set(ids)) == 3


def test_text_chunk_is_returned_untouched_and_fast() -> None:
    chunk = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "Hello"}]}, "index": 0}],
        "usageMetadata": {"promptTokenCount": 3},
        "modelVersion": "gemini-2.5-pro",
    }
    names, cache = NameMap(), SignatureCache()
    assert restore_response(chunk, names, cache, "k") is chunk
    assert restore_response({"usageMetadata": {}}, names, cache, "k") == {"usageMetadata": {}}
    runs = 20_000
    seconds = min(timeit.repeat(lambda: restore_response(chunk, names, cache, "k"), number=runs, repeat=3))
    assert seconds / runs < 10e-6  # a few microseconds; generous for slow CI machines


def test_signatures_reattached_in_model_turns_only() -> None:
    cache = SignatureCache()
    cache.remember("conv", {"name": "f", "args": {"x": 1}, "id": "call_1"}, "sig-by-id")
    cache.remember("conv", {"name": "g", "args": {"y": 2}}, "sig-by-args")
    body = {
        "contents": [
            user("q"),
            {
                "role": "model",
                "parts": [
                    {"functionCall": {"name": "f", "args": {"x": 99}, "id": "call_1"}},
                    {"functionCall": {"name": "g", "args": {"y": 2}}},
                    {"functionCall": {"name": "h", "args": {}}},
                    {"functionCall": {"name": "g", "args": {"y": 2}}, "thoughtSignature": "client-kept"},
                ],
            },
            {"role": "user", "parts": [{"functionCall": {"name": "g", "args": {"y": 2}}}]},
        ]
    }
    original = copy.deepcopy(body)
    prepared, _ = prepare_request(body, cache, "conv")
    assert body == original
    parts = prepared["contents"][1]["parts"]
    assert parts[0]["thoughtSignature"] == "sig-by-id"
    assert parts[1]["thoughtSignature"] == "sig-by-args"
    assert "thoughtSignature" not in parts[2]  # unknown: sent without (documented)
    assert parts[3]["thoughtSignature"] == "client-kept"
    assert "thoughtSignature" not in prepared["contents"][2]["parts"][0]
    other, _ = prepare_request(body, cache, "other-conversation")
    assert "thoughtSignature" not in other["contents"][1]["parts"][1]


def test_signatures_survive_renamed_functions() -> None:
    cache = SignatureCache()
    tools = [{"functionDeclarations": [declaration("get weather")]}]
    _, names = prepare_request({"contents": [user("x")], "tools": tools}, cache, "c")
    upstream_name = names.to_upstream["get weather"]
    reply = reply_with(
        {"functionCall": {"name": upstream_name, "args": {"city": "Oslo"}}, "thoughtSignature": "s"}
    )
    restore_response(reply, names, cache, "c")
    follow_up = {"contents": [user("x"), model_call("get weather", {"city": "Oslo"})], "tools": tools}
    prepared, _ = prepare_request(follow_up, cache, "c")
    part = prepared["contents"][1]["parts"][0]
    assert part == {
        "functionCall": {"name": upstream_name, "args": {"city": "Oslo"}},
        "thoughtSignature": "s",
    }


def test_signature_cache_is_bounded_lru() -> None:
    cache = SignatureCache(max_entries=4)
    for number in range(3):
        cache.remember(None, {"name": f"f{number}", "id": f"id{number}"}, f"s{number}")  # two keys each
    assert len(cache) == 4
    assert cache.lookup(None, {"id": "id0"}) is None  # evicted, oldest first
    assert cache.lookup(None, {"id": "id2"}) == "s2"
    cache.lookup(None, {"id": "id1"})  # recently used: survives the next insert
    cache.remember(None, {"name": "g", "id": "id9"}, "s9")
    assert cache.lookup(None, {"id": "id1"}) == "s1"
    assert cache.lookup(None, {"id": "id9"}) == "s9"


def test_signature_cache_expires() -> None:
    now = [1000.0]
    cache = SignatureCache(ttl_s=60, clock=lambda: now[0])
    cache.remember("c", {"name": "f", "args": {}, "id": "a"}, "sig")
    now[0] += 59
    assert cache.lookup("c", {"name": "f", "id": "a"}) == "sig"
    now[0] += 2
    assert cache.lookup("c", {"name": "f", "id": "a"}) is None
    assert cache.lookup("c", {"name": "f", "args": {}}) is None
    cache.remember("c", {"name": "g"}, "new")  # expired entries at the head are cleared
    assert len(cache) == 1


# ------------------------------------------------------------------------------------------ against the fake


async def test_round_trip_through_the_fake_upstream(fake_google: FakeGoogle) -> None:
    """A function call issued by the (fake) upstream goes back without its signature, as OpenAI-style
    clients send it; the cache puts it back and the upstream accepts the next turn."""
    key = fake_google.add_api_key()
    url = f"{fake_google.base_url}/v1beta/models/gemini-2.5-flash:generateContent"
    tools = [{"functionDeclarations": [declaration("get weather", properties={"city": {"type": "string"}})]}]
    cache = SignatureCache()
    async with aiohttp.ClientSession(headers={"x-goog-api-key": key}) as http:
        first = {"contents": [user("CALL:get_weather please")], "tools": tools}
        async with http.post(url, json=first) as raw_reply:
            assert raw_reply.status == 400  # the illegal name, as the client sent it
        prepared, names = prepare_request(first, cache, "chat-1")
        async with http.post(url, json=prepared) as reply:
            assert reply.status == 200, await reply.text()
            answer = restore_response(await reply.json(), names, cache, "chat-1")
        call = answer["candidates"][0]["content"]["parts"][0]["functionCall"]
        assert call["name"] == "get weather" and CALL_ID.match(call["id"])

        # The client answers the call and drops the signature (as OpenAI clients do).
        follow_up = {
            "contents": [
                user("CALL:get_weather please"),
                {"role": "model", "parts": [{"functionCall": call}]},
                {
                    "role": "user",
                    "parts": [
                        {"functionResponse": {"name": "get weather", "id": call["id"], "response": {"t": 20}}}
                    ],
                },
            ],
            "tools": tools,
        }
        unsigned, _ = prepare_request(follow_up, SignatureCache(), "chat-1")
        async with http.post(url, json=unsigned) as refused:
            assert refused.status == 400
            assert "thought_signature" in (await refused.json())["error"]["message"]
        signed, _ = prepare_request(follow_up, cache, "chat-1")
        async with http.post(url, json=signed) as accepted:
            assert accepted.status == 200, await accepted.text()


def test_foreign_thoughts_are_dropped_and_unknown_signatures_kept() -> None:
    from core.transform import drop_foreign_thoughts

    cache = SignatureCache()
    cache.remember_origin("g-sig", "gemini")
    cache.remember_origin("c-sig", "claude")
    body: dict[str, Any] = {
        "contents": [
            {"role": "user", "parts": [{"text": "hi"}]},
            {
                "role": "model",
                "parts": [
                    {"thought": True, "text": "gemini thinks", "thoughtSignature": "g-sig"},
                    {"thought": True, "text": "claude thinks", "thoughtSignature": "c-sig"},
                    {"thought": True, "text": "unsigned"},
                    {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "g-sig"},
                    {"functionCall": {"name": "g", "args": {}}, "thoughtSignature": "who-knows"},
                ],
            },
        ]
    }
    original = copy.deepcopy(body)
    for_claude = drop_foreign_thoughts(body, "claude", cache)["contents"][1]["parts"]
    assert for_claude == [
        {"thought": True, "text": "claude thinks", "thoughtSignature": "c-sig"},
        {"functionCall": {"name": "f", "args": {}}},
        {"functionCall": {"name": "g", "args": {}}, "thoughtSignature": "who-knows"},
    ]
    for_gemini = drop_foreign_thoughts(body, "gemini", cache)["contents"][1]["parts"]
    assert [p.get("text") or p["functionCall"]["name"] for p in for_gemini] == [
        "gemini thinks",
        "unsigned",
        "f",
        "g",
    ]
    assert body == original
    assert drop_foreign_thoughts(original, "gemini", SignatureCache()) is original  # nothing known: as it was
