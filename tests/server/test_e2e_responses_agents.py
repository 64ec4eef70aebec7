"""End to end with the openai SDK: what Codex-style agents send to the Responses API today — namespace and
custom (freeform) tools, additional_tools items, previous_response_id, and the Responses WebSocket."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import aiohttp
import openai
import pytest
from openai import AsyncOpenAI
from openai.types.responses import ResponseCustomToolCall, ResponseFunctionToolCall, ResponseInputItemParam
from pydantic import BaseModel

from server.runner import GatewayServer
from tests.helpers import echo_of
from tests.server.conftest import Gateway

MODEL = "gemini-3-flash"
READ_TOOL: Any = {
    "type": "function",
    "name": "read_file",
    "description": "Read a file",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
}
FS_NAMESPACE: Any = {"type": "namespace", "name": "mcp_fs", "description": "Files", "tools": [READ_TOOL]}
APPLY_PATCH: Any = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Apply a patch to files",
    "format": {"type": "grammar", "syntax": "lark", "definition": 'start: "*** Begin Patch" /.+/s'},
}


def as_input_item(item: BaseModel) -> ResponseInputItemParam:
    """An output item sent back as input, as agents do; the SDK types `model_dump()` as a plain dict."""
    return cast(ResponseInputItemParam, item.model_dump(exclude_none=True))


def declared_names(request: dict[str, Any]) -> list[str]:
    return [declaration["name"] for declaration in request["tools"][0]["functionDeclarations"]]


async def test_namespace_tools_are_declared_flat_and_calls_carry_their_namespace(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    first = await openai_client.responses.create(
        model=MODEL, input='read it CALL:mcp_fs__read_file{"path": "a.txt"}', tools=[FS_NAMESPACE]
    )
    (request,) = gateway.sent()
    assert declared_names(request) == ["mcp_fs__read_file"]
    (call,) = first.output
    assert isinstance(call, ResponseFunctionToolCall)
    assert (call.name, call.namespace, json.loads(call.arguments)) == (
        "read_file",
        "mcp_fs",
        {"path": "a.txt"},
    )

    second = await openai_client.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": 'read it CALL:mcp_fs__read_file{"path": "a.txt"}'},
            as_input_item(call),
            {"type": "function_call_output", "call_id": call.call_id, "output": "hello"},
        ],
        tools=[FS_NAMESPACE],
    )
    _, follow_up = gateway.sent()
    assert follow_up["contents"][1]["parts"][0]["functionCall"]["name"] == "mcp_fs__read_file"
    assert second.output_text == 'Echo: mcp_fs__read_file -> {"result":"hello"}'


@pytest.mark.parametrize("stream", [False, True])
async def test_custom_tools_take_free_text_and_answer_with_custom_tool_calls(
    gateway: Gateway, openai_client: AsyncOpenAI, stream: bool
) -> None:
    prompt = 'patch it CALL:apply_patch{"input": "*** Begin Patch\\nadd x"}'
    params: dict[str, Any] = {"model": MODEL, "input": prompt, "tools": [APPLY_PATCH]}
    if stream:
        async with openai_client.responses.stream(**params) as events:
            seen = [event.type async for event in events]
            first = await events.get_final_response()
        assert (
            "response.custom_tool_call_input.delta" in seen and "response.custom_tool_call_input.done" in seen
        )
    else:
        first = await openai_client.responses.create(**params)
    request = gateway.sent()[0]
    (declaration,) = request["tools"][0]["functionDeclarations"]
    assert declaration["name"] == "apply_patch"
    assert declaration["parameters"]["properties"]["input"]["type"] == "string"
    assert "*** Begin Patch" in declaration["parameters"]["properties"]["input"]["description"]  # the grammar
    (call,) = first.output
    assert isinstance(call, ResponseCustomToolCall)
    assert (call.name, call.input) == ("apply_patch", "*** Begin Patch\nadd x")

    second = await openai_client.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": prompt},
            as_input_item(call),
            {"type": "custom_tool_call_output", "call_id": call.call_id, "output": "Done!"},
        ],
        tools=[APPLY_PATCH],
    )
    follow_up = gateway.sent()[-1]
    sent_call = follow_up["contents"][1]["parts"][0]["functionCall"]
    assert sent_call["args"] == {"input": "*** Begin Patch\nadd x"} and sent_call["id"] == call.call_id
    assert second.output_text == 'Echo: apply_patch -> {"result":"Done!"}'


async def test_additional_tools_items_declare_more_tools(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    response = await openai_client.responses.create(
        model=MODEL,
        input=[
            {"type": "additional_tools", "role": "developer", "tools": [READ_TOOL]},
            {"role": "user", "content": 'CALL:read_file{"path": "b"}'},
        ],
        tools=[APPLY_PATCH],
    )
    (request,) = gateway.sent()
    assert declared_names(request) == ["apply_patch", "read_file"]
    (call,) = response.output
    assert isinstance(call, ResponseFunctionToolCall) and call.name == "read_file"


async def test_previous_response_id_continues_a_stored_response(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    first = await openai_client.responses.create(
        model=MODEL, input='CALL:read_file{"path": "c"}', tools=[READ_TOOL], instructions="Be brief."
    )
    (call,) = first.output
    assert isinstance(call, ResponseFunctionToolCall)
    second = await openai_client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "data"}],
        tools=[READ_TOOL],
    )
    assert second.output_text == 'Echo: read_file -> {"result":"data"}'
    assert second.previous_response_id == first.id
    third = await openai_client.responses.create(
        model=MODEL, previous_response_id=second.id, input="and now?"
    )
    _, follow_up, last = gateway.sent()
    # The remembered turns come first, signatures included (the fake refuses unsigned calls it issued).
    assert [content["role"] for content in follow_up["contents"]] == ["user", "model", "user"]
    assert [content["role"] for content in last["contents"]] == ["user", "model", "user", "model", "user"]
    assert "systemInstruction" not in last  # instructions are not carried over, as OpenAI does it
    assert third.output_text == echo_of("and now?")


async def test_an_unknown_or_unstored_previous_response_is_a_clear_400(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    unstored = await openai_client.responses.create(model=MODEL, input="hi", store=False)
    for response_id in ("resp_unknown", unstored.id):
        with pytest.raises(openai.BadRequestError) as caught:
            await openai_client.responses.create(model=MODEL, input="more", previous_response_id=response_id)
        body: Any = caught.value.body
        assert (body["param"], body["code"]) == ("previous_response_id", "previous_response_not_found")
        assert "whole conversation" in body["message"]
    assert len(gateway.sent()) == 1


async def test_responses_over_a_websocket_with_the_sdk(gateway: Gateway, openai_client: AsyncOpenAI) -> None:
    async with openai_client.responses.connect() as connection:
        await connection.response.create(
            model=MODEL, input='CALL:read_file{"path": "d"}', tools=[READ_TOOL], store=False
        )
        first_events = await _until_done(connection)
        assert [event.type for event in first_events[:2]] == ["response.created", "response.in_progress"]
        completed = first_events[-1]
        assert completed.type == "response.completed"
        (call,) = completed.response.output
        assert isinstance(call, ResponseFunctionToolCall)
        # Inside one socket a turn chains on the one before, even with store: false (what Codex does).
        await connection.response.create(
            model=MODEL,
            previous_response_id=completed.response.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "ok"}],
            tools=[READ_TOOL],
            store=False,
        )
        second = (await _until_done(connection))[-1]
        assert second.type == "response.completed"
        assert second.response.output_text == 'Echo: read_file -> {"result":"ok"}'
    rows = await gateway.log_rows()
    assert sorted(row.status for row in rows if row.client_model == MODEL) == [200, 200]
    # store: false: another connection cannot continue it.
    with pytest.raises(openai.BadRequestError):
        await openai_client.responses.create(model=MODEL, input="x", previous_response_id=second.response.id)


async def test_a_refused_socket_turn_is_an_error_event_and_the_socket_stays_open(gateway: Gateway) -> None:
    headers = {"Authorization": f"Bearer {gateway.key}"}
    async with gateway.http.ws_connect(gateway.url + "/v1/responses", headers=headers) as socket:
        await socket.send_str(json.dumps({"type": "response.cancel"}))
        refused = json.loads((await socket.receive()).data)
        assert refused["type"] == "error" and refused["status"] == 400
        assert refused["error"]["type"] == "invalid_request_error"
        await socket.send_str(json.dumps({"type": "response.create", "model": MODEL, "input": []}))
        assert json.loads((await socket.receive()).data)["error"]["param"] == "input"
        await socket.send_str(json.dumps({"type": "response.create", "model": MODEL, "input": "still here"}))
        events = [json.loads((await socket.receive()).data) for _ in range(3)]
        assert events[0]["type"] == "response.created"


async def test_the_websocket_needs_the_api_key(gateway: Gateway) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        async with gateway.http.ws_connect(gateway.url + "/v1/responses"):
            pass
    assert caught.value.status == 401


async def _until_done(connection: Any) -> list[Any]:
    events = []
    async for event in connection:
        events.append(event)
        if event.type in ("response.completed", "response.failed", "response.incomplete", "error"):
            return events
    return events


async def test_generate_false_warms_a_socket_up_without_asking_the_model(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    # Codex opens a socket with `generate: false` and an empty input, then continues from that response.
    async with openai_client.responses.connect() as connection:
        await connection.response.create(
            model=MODEL, input=[], generate=False, store=False, instructions="Be brief."
        )
        warm = (await _until_done(connection))[-1]
        assert warm.type == "response.completed" and warm.response.output == []
        await connection.response.create(
            model=MODEL, input="hello", previous_response_id=warm.response.id, store=False
        )
        answer = (await _until_done(connection))[-1]
    assert answer.response.output_text == echo_of("hello")
    assert len(gateway.sent("streamGenerateContent")) == 1  # the warm-up asked no model


async def test_generate_false_over_http_is_a_response_to_continue(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    warm = await openai_client.responses.create(
        model=MODEL, input="remember me", extra_body={"generate": False}
    )
    assert warm.status == "completed" and warm.output == []
    answer = await openai_client.responses.create(model=MODEL, input="and you?", previous_response_id=warm.id)
    (request,) = gateway.sent()
    # The remembered input and the new one are one user turn (Gemini wants roles to alternate).
    assert request["contents"] == [{"role": "user", "parts": [{"text": "remember me"}, {"text": "and you?"}]}]
    assert answer.output_text.startswith("Echo:")


# --- the WebSocket and the server's shutdown -------------------------------------------------------------

SHUTDOWN_WAIT = 5.0  # far below the server's own shutdown timeout below: only a close can end in time


async def _stopping_server(gateway: Gateway) -> GatewayServer:
    """A second server on the gateway's services that would wait 60 s for open handlers when stopped."""
    server = GatewayServer(gateway.services, shutdown_timeout=60.0)
    result = await server.start("127.0.0.1", 0)
    assert result.ok, result.error
    return server


def _tasks_left(before: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    return {task for task in asyncio.all_tasks() if task not in before and not task.done()} - {
        asyncio.current_task()
    }


async def test_shutdown_closes_an_idle_websocket_with_going_away(gateway: Gateway) -> None:
    before = asyncio.all_tasks()
    server = await _stopping_server(gateway)
    async with gateway.http.ws_connect(server.url + "/v1/responses", headers=gateway.headers()) as socket:
        await socket.send_str(json.dumps({"type": "response.create", "model": MODEL, "input": "hi"}))
        while json.loads((await socket.receive(timeout=SHUTDOWN_WAIT)).data)["type"] != "response.completed":
            pass
        stopping = asyncio.create_task(server.stop())
        closed = await socket.receive(timeout=SHUTDOWN_WAIT)
        assert closed.type is aiohttp.WSMsgType.CLOSE
        assert closed.data == aiohttp.WSCloseCode.GOING_AWAY
        await asyncio.wait_for(stopping, SHUTDOWN_WAIT)
    assert socket.close_code == aiohttp.WSCloseCode.GOING_AWAY
    assert not server.running
    assert not await _listening(server.port)
    assert _tasks_left(before) == set()  # the socket's handler ended; nothing waits on it
    rows = await gateway.log_rows()
    assert sorted(row.status for row in rows) == [101, 200]  # the socket's row and its turn's


async def test_shutdown_lets_a_websocket_turn_finish_then_closes_it(gateway: Gateway) -> None:
    gateway.fake.chunk_delay = 0.2  # a turn that is still streaming when the server is told to stop
    server = await _stopping_server(gateway)
    async with gateway.http.ws_connect(server.url + "/v1/responses", headers=gateway.headers()) as socket:
        await socket.send_str(json.dumps({"type": "response.create", "model": MODEL, "input": "a long one"}))
        first = json.loads((await socket.receive(timeout=SHUTDOWN_WAIT)).data)
        assert first["type"] == "response.created"
        stopping = asyncio.create_task(server.stop())
        events: list[str] = []
        while (message := await socket.receive(timeout=SHUTDOWN_WAIT)).type is aiohttp.WSMsgType.TEXT:
            events.append(json.loads(message.data)["type"])
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert message.data == aiohttp.WSCloseCode.GOING_AWAY
        await asyncio.wait_for(stopping, SHUTDOWN_WAIT)
    assert events[-1] == "response.completed"  # the turn was not cut by the shutdown
    assert gateway.fake.streams_cancelled == 0


async def _listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True
