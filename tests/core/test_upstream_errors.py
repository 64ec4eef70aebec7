"""Classification of Google's error replies and of network failures (protocol doc §4)."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from core.errors import ErrorKind
from core.upstream_errors import (
    MAX_MESSAGE_CHARS,
    classify_http_error,
    classify_network_error,
    parse_duration,
    parse_rfc3339,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def clock() -> float:
    return NOW.timestamp()


def google_error(code: int, status: str, message: str, *details: dict[str, Any]) -> bytes:
    return json.dumps(
        {"error": {"code": code, "message": message, "status": status, "details": list(details)}}
    ).encode()


def error_info(reason: str, **metadata: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "metadata": metadata}


def retry_info(delay: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("3.957s", 3.957),
        ("3h2m1s", 3 * 3600 + 2 * 60 + 1),
        ("1h", 3600.0),
        ("500ms", 0.5),
        ("1m30.5s", 90.5),
        ("0s", 0.0),
        ("2h0m0s", 7200.0),
        (" 12s ", 12.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "3", "3x", "s", "1h 2m", "-1s", "1h2"])
def test_parse_duration_rejects_what_it_cannot_read(text: str) -> None:
    assert parse_duration(text) is None


def test_parse_rfc3339_with_z_fraction_and_offset() -> None:
    assert parse_rfc3339("2026-03-01T15:00:00Z") == NOW + timedelta(hours=3)
    assert parse_rfc3339("2026-03-01T15:00:00.123456789Z") == NOW + timedelta(hours=3, microseconds=123456)
    assert parse_rfc3339("2026-03-01T14:00:00+02:00") == NOW
    assert parse_rfc3339("not a time") is None


def test_rate_limit_reason_with_retry_delay() -> None:
    body = google_error(
        429, "RESOURCE_EXHAUSTED", "Rate limited", error_info("RATE_LIMIT_EXCEEDED"), retry_info("3.957s")
    )
    error = classify_http_error(429, body, model="gemini-2.5-pro", clock=clock)
    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.status == 429
    assert error.reason == "RATE_LIMIT_EXCEEDED"
    assert error.retry_after == pytest.approx(3.957)
    assert error.reset_at == NOW + timedelta(seconds=3.957)
    assert error.model == "gemini-2.5-pro"
    assert error.message == "Rate limited"


def test_quota_exhausted_with_reset_delay() -> None:
    body = google_error(
        429,
        "RESOURCE_EXHAUSTED",
        "You have exhausted your capacity on this model.",
        error_info("QUOTA_EXHAUSTED", quotaResetDelay="3h2m1s", model="claude-sonnet-4-5"),
    )
    error = classify_http_error(429, body, model=None, clock=clock)
    assert error.kind is ErrorKind.QUOTA_EXHAUSTED
    assert error.retry_after == pytest.approx(10921)
    assert error.reset_at == NOW + timedelta(seconds=10921)
    assert error.model == "claude-sonnet-4-5"  # learnt from the metadata when the caller did not say


def test_quota_reset_timestamp_gives_reset_time_and_wait() -> None:
    body = google_error(
        429,
        "RESOURCE_EXHAUSTED",
        "quota",
        error_info("QUOTA_EXHAUSTED", quotaResetTimeStamp="2026-03-01T17:30:00Z"),
    )
    error = classify_http_error(429, body, model="m", clock=clock)
    assert error.kind is ErrorKind.QUOTA_EXHAUSTED
    assert error.reset_at == NOW + timedelta(hours=5, minutes=30)
    assert error.retry_after == pytest.approx(5.5 * 3600)


def test_capacity_reason_and_503_are_capacity() -> None:
    body = google_error(429, "RESOURCE_EXHAUSTED", "No capacity", error_info("MODEL_CAPACITY_EXHAUSTED"))
    assert classify_http_error(429, body, model="m").kind is ErrorKind.CAPACITY
    assert (
        classify_http_error(503, google_error(503, "UNAVAILABLE", "busy"), model="m").kind
        is ErrorKind.CAPACITY
    )


@pytest.mark.parametrize(
    ("delay", "kind"),
    [("30s", ErrorKind.RATE_LIMITED), ("300s", ErrorKind.RATE_LIMITED), ("301s", ErrorKind.QUOTA_EXHAUSTED)],
)
def test_429_without_reason_is_judged_by_its_delay(delay: str, kind: ErrorKind) -> None:
    body = google_error(429, "RESOURCE_EXHAUSTED", "Resource exhausted", retry_info(delay))
    assert classify_http_error(429, body, model="m", clock=clock).kind is kind


def test_429_without_reason_or_delay_is_a_brief_rate_limit() -> None:
    error = classify_http_error(429, google_error(429, "RESOURCE_EXHAUSTED", "slow down"), model="m")
    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after is None


def test_gemini_api_daily_quota_failure_is_exhausted_quota() -> None:
    quota_failure = {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "quotaValue": "50"}],
    }
    body = google_error(429, "RESOURCE_EXHAUSTED", "quota exceeded", quota_failure, retry_info("20s"))
    error = classify_http_error(429, body, model="gemini-2.5-pro", clock=clock)
    assert error.kind is ErrorKind.QUOTA_EXHAUSTED
    assert error.retry_after == pytest.approx(20)


def test_retry_after_header_is_used_when_the_body_names_no_delay() -> None:
    error = classify_http_error(429, b"", model="m", clock=clock, retry_after_header="12")
    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after == 12


def test_list_wrapped_error_is_read() -> None:
    body = json.dumps([json.loads(google_error(400, "INVALID_ARGUMENT", "Bad field 'x'"))]).encode()
    error = classify_http_error(400, body, model="m")
    assert error.kind is ErrorKind.INVALID_REQUEST
    assert error.message == "Bad field 'x'"
    assert error.reason == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ErrorKind.INVALID_REQUEST),
        (401, ErrorKind.UNAUTHENTICATED),
        (403, ErrorKind.FORBIDDEN),
        (404, ErrorKind.NOT_FOUND),
        (408, ErrorKind.NETWORK),
        (413, ErrorKind.INVALID_REQUEST),
        (500, ErrorKind.SERVER),
        (502, ErrorKind.SERVER),
        (503, ErrorKind.CAPACITY),
        (504, ErrorKind.SERVER),
    ],
)
def test_status_without_details(status: int, kind: ErrorKind) -> None:
    assert classify_http_error(status, b'{"error": {"message": "m"}}', model=None).kind is kind


def test_invalid_api_key_disables_the_key_instead_of_blaming_the_request() -> None:
    body = google_error(400, "INVALID_ARGUMENT", "API key not valid.", error_info("API_KEY_INVALID"))
    error = classify_http_error(400, body, model="m")
    assert error.kind is ErrorKind.FORBIDDEN
    assert error.reason == "API_KEY_INVALID"


def test_forbidden_keeps_the_validation_url_from_metadata() -> None:
    url = "https://accounts.google.com/signin/continue?sarp=1&scc=1&plt=AKgnsbs"
    body = google_error(
        403,
        "PERMISSION_DENIED",
        "Verify your account to continue.",
        error_info("VALIDATION_REQUIRED", validation_url=url),
    )
    error = classify_http_error(403, body, model="m")
    assert error.kind is ErrorKind.FORBIDDEN
    assert "Verify your account to continue." in error.message
    assert url in error.message


def test_forbidden_keeps_a_validation_url_found_only_in_the_text() -> None:
    url = "https://support.google.com/verify?continue=abc"
    long_text = "Please verify. " + "x" * 1000 + f" Go to {url} now."
    error = classify_http_error(403, google_error(403, "PERMISSION_DENIED", long_text), model=None)
    assert url in error.message  # kept whole even though the text around it is cut


def test_non_json_body_becomes_a_short_message() -> None:
    error = classify_http_error(502, b"upstream connect error or disconnect/reset before headers", model=None)
    assert error.kind is ErrorKind.SERVER
    assert error.message == "upstream connect error or disconnect/reset before headers"


def test_html_and_empty_bodies() -> None:
    html = classify_http_error(
        404, b"<!DOCTYPE html><html><body>" + b"x" * 5000 + b"</body></html>", model=None
    )
    assert html.kind is ErrorKind.NOT_FOUND
    assert "<" not in html.message
    empty = classify_http_error(500, b"", model=None)
    assert "500" in empty.message


def test_long_messages_are_truncated() -> None:
    error = classify_http_error(400, google_error(400, "INVALID_ARGUMENT", "y" * 5000), model=None)
    assert len(error.message) <= MAX_MESSAGE_CHARS
    assert error.message.startswith("yyyy")


def test_credentials_in_a_reply_never_reach_the_message() -> None:
    # Built at run time so the source holds nothing shaped like a live credential.
    secret_token = "ya29." + "a0AfH6SMBx-secret-access-token-value"
    api_key = "AIza" + "SyA-1234567890abcdefghijklmnopqrstu"
    body = google_error(401, "UNAUTHENTICATED", f"Token {secret_token} invalid for key {api_key}")
    error = classify_http_error(401, body, model=None)
    assert error.kind is ErrorKind.UNAUTHENTICATED
    assert secret_token not in error.message and api_key not in error.message
    assert secret_token not in str(error)


def test_oauth_flat_error_shape_is_tolerated() -> None:
    body = b'{"error": "invalid_request", "error_description": "Missing required parameter: code"}'
    error = classify_http_error(400, body, model=None)
    assert error.kind is ErrorKind.INVALID_REQUEST
    assert error.message == "Missing required parameter: code"


async def test_connection_refused_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectorError) as caught:
            await http.get(f"http://127.0.0.1:{port}/")
    error = classify_network_error(caught.value, model="m")
    assert error.kind is ErrorKind.NETWORK
    assert error.status == 0
    assert str(port) in error.message
    assert error.model == "m"


def test_timeouts_and_cut_payloads_are_network_errors() -> None:
    assert classify_network_error(TimeoutError()).kind is ErrorKind.NETWORK
    cut = classify_network_error(aiohttp.ClientPayloadError("Response payload is not completed"))
    assert cut.kind is ErrorKind.NETWORK
    assert "closed the connection" in cut.message


def test_network_error_messages_drop_query_strings() -> None:
    exc = aiohttp.InvalidURL(
        "https://example.com/v1beta/models?key=AIza" + "SyA-1234567890abcdefghijklmnopqrstu"
    )
    error = classify_network_error(exc)
    assert "AIza" not in error.message
    assert "example.com" in error.message


def test_stale_client_version_is_a_configuration_error_with_a_hint() -> None:
    body = google_error(
        400, "INVALID_ARGUMENT", "This version of Antigravity is no longer supported. Please update."
    )
    error = classify_http_error(400, body, model="m")
    assert error.kind is ErrorKind.CLIENT_CONFIG
    assert "client_version" in error.message
