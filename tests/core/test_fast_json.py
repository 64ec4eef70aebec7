"""core.fast_json answers what the standard library answers: same values, same refusals, same bytes."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from core import fast_json

_STD_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _random_document(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return rng.choice([0, 1, -1, 2**31, -(2**63), 2**63 - 1, rng.randrange(-(10**12), 10**12)])
    if kind == 1:
        return rng.choice([True, False, None])
    if kind == 2:
        alphabet = 'aé中\n\t"\\/\u2028\x00\x1f😀 ]}'
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
    if kind == 3:
        return rng.choice(["", "data", "sk-" + "x" * 20])
    if kind == 4:
        return [_random_document(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {f"k{rng.randrange(50)}é": _random_document(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_documents_without_floats_are_written_byte_for_byte_as_the_standard_library_writes_them() -> None:
    rng = random.Random(13)
    for _ in range(3000):
        document = _random_document(rng)
        expected = _STD_COMPACT(document)
        assert fast_json.dumps(document) == expected.encode()
        assert fast_json.dumps_text(document) == expected
        assert fast_json.loads(expected.encode()) == document
        assert fast_json.loads(expected) == document


@pytest.mark.parametrize(
    "text",
    [
        "12345678901234567890123",  # beyond 64 bits: orjson would make it a float
        '{"id": -9223372036854775809}',
        '{"args": {"n": 98765432109876543210}}',
        "NaN",
        "[Infinity, -Infinity]",
        "1e400",
        '{"a": "\\ud800"}',  # half a UTF-16 pair
        '{"a": 1, "a": 2}',
        ' {"x": [1.5, 2e-7, 1e16]} ',
    ],
)
def test_what_orjson_would_read_differently_is_read_as_the_standard_library_reads_it(text: str) -> None:
    expected = json.loads(text)
    for data in (text, text.encode("utf-8", "surrogatepass")):
        value = fast_json.loads(data)
        assert value == expected or (value != value and expected != expected)  # NaN is not equal to itself
        assert type(value) is type(expected)
        if isinstance(expected, dict) and "id" in expected:
            assert value["id"] == -9223372036854775809  # an exact int, not a float


def test_a_byte_order_mark_is_read_past_as_the_standard_library_does() -> None:
    assert fast_json.loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


@pytest.mark.parametrize(
    "data",
    [b"", b"{", b'{"a":1}x', b"[1,]", b'{"a":\x01}', b"\xff\xfe", b'{"a" 1}', b"\xef\xbb\xbf{"],
)
def test_refusals_are_the_standard_librarys_own(data: bytes) -> None:
    with pytest.raises(Exception) as expected:
        json.loads(data)
    with pytest.raises(type(expected.value)) as got:
        fast_json.loads(data)
    assert str(got.value) == str(expected.value)


def test_deep_nesting_orjson_refuses_still_parses_and_too_deep_raises_recursion_error() -> None:
    deep = "[" * 2000 + "]" * 2000  # beyond orjson's limit, within Python's
    assert fast_json.loads(deep) == json.loads(deep)
    with pytest.raises(RecursionError):
        fast_json.loads("[" * 200_000 + "]" * 200_000)


def test_what_orjson_refuses_to_write_is_written_by_the_standard_library() -> None:
    for document in ({"n": 2**70}, {1: "int key"}, {"big": [-(2**64)]}):
        assert fast_json.dumps(document) == _STD_COMPACT(document).encode()
    nested: Any = 0
    for _ in range(600):  # orjson stops at 254 levels
        nested = [nested]
    assert fast_json.dumps(nested) == _STD_COMPACT(nested).encode()
    # Half a UTF-16 pair: as text it is written as before; as bytes it cannot be, as before.
    assert fast_json.dumps_text({"a": "\ud800"}) == _STD_COMPACT({"a": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        fast_json.dumps({"a": "\ud800"})


def test_floats_round_trip() -> None:
    for value in (0.1, 1e-7, 1e16, 123456.789, -0.0, 5e-324, 1.7976931348623157e308):
        assert json.loads(fast_json.dumps([value])) == [value]
