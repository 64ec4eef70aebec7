"""JSON on the request path: orjson where it gives the same answer, the standard library everywhere else.

A request reads and writes several JSON documents (the client's body, the upstream envelope, every upstream
stream event, every event sent back), and the standard library spends 2-4 µs on each small one; orjson takes
0.3-0.8 µs. Where orjson would answer differently, the standard library does the work, so what is accepted,
refused and written, and every error message, stays as it was:
- parsing: orjson refuses NaN/Infinity, a byte order mark, numbers beyond a double and text with half a
  UTF-16 pair, and it turns integers beyond 64 bits into floats; a document it refuses, or one with a run of
  19+ digits (a possible big integer), is parsed by the standard library;
- writing: orjson refuses integers beyond 64 bits, non-string keys and lone surrogates; those documents are
  written by the standard library (compact, non-ASCII text as is, as before). NaN and Infinity, which only a
  standard-library parse can produce, orjson writes as null where the standard library wrote bare `NaN`
  (which no JSON reader, Google's included, accepts).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_std_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# 19 digits may already be beyond a signed 64-bit integer (9223372036854775807); orjson would make it a float.
_LONG_DIGITS_BYTES = re.compile(rb"\d{19}")
_LONG_DIGITS_TEXT = re.compile(r"\d{19}")


def loads(data: bytes | bytearray | str) -> Any:
    """json.loads, faster; raises what json.loads raises."""
    maybe_big = _LONG_DIGITS_TEXT.search(data) if isinstance(data, str) else _LONG_DIGITS_BYTES.search(data)
    if maybe_big is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the standard library accepts some of what orjson refuses, and words its own errors
    return json.loads(data)


def dumps(value: object) -> bytes:
    """Compact UTF-8 JSON, non-ASCII text as is (json.dumps with ensure_ascii=False and no spaces, encoded)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return _std_compact(value).encode()


def dumps_text(value: object) -> str:
    """The same JSON as text, for building a line or an SSE event around it."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return _std_compact(value)
