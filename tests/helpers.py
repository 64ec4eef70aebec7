"""Small helpers the test modules share: request and answer shapes, schema keywords, golden-file cases, and
child processes that never outlive their test."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.errors import ApiError, ApiErrorType
from core.types import JSON

# JSON Schema keywords the upstream refuses in function parameters; none may reach it.
FORBIDDEN_SCHEMA_KEYS = {"const", "$ref", "$defs", "definitions", "$schema", "$id", "default", "examples"}


def ask(text: str) -> JSON:
    """A Gemini request with one user turn holding `text`."""
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


def answer_text(responses: list[JSON]) -> str:
    """All the text of Gemini responses (a whole answer, or the chunks of a stream), joined."""
    return "".join(
        part.get("text", "")
        for response in responses
        for candidate in response.get("candidates", [])
        for part in candidate["content"]["parts"]
    )


def echo_of(text: str) -> str:
    """What the fake answers to a last user turn holding only `text`."""
    return f"Echo: {text}"


def schema_keys(node: Any) -> Iterator[str]:
    """Every schema keyword at any depth (property names are data, not keywords)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            if key == "properties" and isinstance(value, dict):
                for sub in value.values():
                    yield from schema_keys(sub)
            else:
                yield from schema_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from schema_keys(item)


def golden_cases(folder: Path, prefix: str) -> list[Any]:
    """The golden files `<prefix>_*.json` of a folder as pytest params, each named by its file."""
    files = sorted(folder.glob(f"{prefix}_*.json"))
    assert files, f"no {prefix} fixtures in {folder}"
    return [pytest.param(json.loads(path.read_text()), id=path.stem) for path in files]


def gemini_chunk(*parts: JSON, finish: str | None = None, usage: dict[str, int] | None = None) -> JSON:
    """One Gemini stream chunk: a candidate with `parts`, and its finishReason and usageMetadata when given."""
    candidate: JSON = {"content": {"role": "model", "parts": list(parts)}}
    if finish:
        candidate["finishReason"] = finish
    chunk: JSON = {"candidates": [candidate]}
    if usage:
        chunk["usageMetadata"] = usage
    return chunk


def assert_bad_request(
    decode: Callable[[Any], object], payload: Any, param: str | None, fragment: str
) -> None:
    """`decode(payload)` must refuse with a 400 invalid_request naming `param`, its message holding `fragment`."""
    with pytest.raises(ApiError) as caught:
        decode(payload)
    error = caught.value
    assert (error.status, error.type) == (400, ApiErrorType.INVALID_REQUEST)
    assert error.param == param
    assert fragment in error.message


@contextlib.asynccontextmanager
async def child_process(*command: str, **options: Any) -> AsyncIterator[asyncio.subprocess.Process]:
    """`asyncio.create_subprocess_exec(*command, **options)` in a process group of its own, killed with all it
    started when the block ends, pass or fail: a failed assertion must not leave a server listening."""
    process = await asyncio.create_subprocess_exec(*command, start_new_session=True, **options)
    try:
        yield process
    finally:
        kill_process_group(process.pid)
        if process.returncode is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 10)


def kill_process_group(pid: int) -> None:
    """SIGKILL to the group led by `pid` (started with start_new_session), if any of it is still there."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def options_as_json(options: object, *, leave_out: tuple[str, ...] = ()) -> JSON:
    """A protocol's options dataclass as the JSON the golden files write (tuples as lists)."""
    assert dataclasses.is_dataclass(options) and not isinstance(options, type)
    fields = dataclasses.asdict(options)
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in fields.items()
        if key not in leave_out
    }
