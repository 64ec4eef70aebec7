"""Turns Google's HTTP error replies and network failures into classified UpstreamErrors (protocol doc §4)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp

from core.errors import ErrorKind, UpstreamError
from core.redact import redact
from core.upstream_http import Disconnected, UpstreamHTTPError

# A 429 that names no reason is a short rate limit when Google asks to wait at most this long, and a spent
# quota when the wait is longer: per-minute limits reset within a minute, daily/5-hour quotas take hours.
RATE_LIMIT_MAX_DELAY_S = 300.0
MAX_MESSAGE_CHARS = 400  # upstream messages are shown in windows and client errors; keep them readable

_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|h|m|s)")
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_VALIDATION_URL = re.compile(
    r"https://[^\s\"'<>\\]*(?:validat|verif|accounts\.google\.com/signin)[^\s\"'<>\\]*"
)
_SAFE_UNTIL_QUERY = re.compile(r"\?.*$")
# Cloud Code refuses an old Antigravity version in User-Agent with a 400. Every request from this app fails
# the same way until the setting changes, so it is a configuration error, not a bad request to pass back.
_STALE_CLIENT = "version of Antigravity is no longer supported"

# Reasons that decide the kind on their own, whatever the HTTP status says.
_REASON_KINDS: dict[str, ErrorKind] = {
    "RATE_LIMIT_EXCEEDED": ErrorKind.RATE_LIMITED,
    "QUOTA_EXHAUSTED": ErrorKind.QUOTA_EXHAUSTED,
    "MODEL_CAPACITY_EXHAUSTED": ErrorKind.CAPACITY,
    # The Gemini API answers a wrong or expired key with 400 INVALID_ARGUMENT; it is the account's fault,
    # not the request's, so the pool must disable that key rather than hand the client a 400.
    "API_KEY_INVALID": ErrorKind.FORBIDDEN,
    "API_KEY_EXPIRED": ErrorKind.FORBIDDEN,
}


def parse_duration(text: str) -> float | None:
    """Seconds in a Go/protobuf duration such as "3.957s", "3h2m1s", "1h" or "500ms"; None if unreadable."""
    text = text.strip()
    if not text:
        return None
    total = 0.0
    position = 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if position != len(text):
        return None
    return total


def parse_rfc3339(text: str) -> datetime | None:
    """An aware datetime from an RFC 3339 timestamp ("2026-01-01T12:00:00.123Z"); None if unreadable."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _error_object(body: bytes) -> dict[str, Any] | None:
    """Google's `error` object from a reply body, accepting `{"error": ...}` and `[{"error": ...}]`."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(document, list) and document:
        document = document[0]
    if not isinstance(document, dict):
        return None
    error = document.get("error")
    if isinstance(error, dict):
        return error
    if isinstance(error, str):
        # OAuth's flat shape: {"error": "invalid_grant", "error_description": "..."}
        return {"status": error, "message": document.get("error_description") or error}
    return None


def _body_text(body: bytes) -> str:
    """A short, readable excerpt of a non-JSON reply (HTML error pages are only named, not shown)."""
    text = body.decode("utf-8", errors="replace").strip()
    if text[:1] == "<":
        return "non-JSON reply (HTML page)"
    return " ".join(text.split())


def _shorten(text: str) -> str:
    text = redact(text)
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _validation_url(error: dict[str, Any], metadata: dict[str, Any], raw: str) -> str | None:
    """The verification link Google puts in some 403s, wherever it is in the body."""
    for key in ("validation_url", "validationUrl", "verification_url", "verificationUrl"):
        value = metadata.get(key) or error.get(key)
        if isinstance(value, str) and value.startswith("http"):
            return value
    match = _VALIDATION_URL.search(raw)
    return match.group(0) if match else None


class _Details:
    """What the `details` list of a Google error says, collected in one pass."""

    def __init__(self, error: dict[str, Any] | None) -> None:
        self.reason: str | None = None
        self.metadata: dict[str, Any] = {}
        self.retry_delay: float | None = None
        self.daily_quota = False
        details = error.get("details") if error else None
        for detail in details if isinstance(details, list) else ():
            if isinstance(detail, dict):
                self._read(detail)

    def _read(self, detail: dict[str, Any]) -> None:
        kind = detail.get("@type")
        if kind == _ERROR_INFO:
            if isinstance(reason := detail.get("reason"), str) and self.reason is None:
                self.reason = reason
            if isinstance(metadata := detail.get("metadata"), dict):
                self.metadata.update(metadata)
        elif kind == _RETRY_INFO:
            delay = detail.get("retryDelay")
            if isinstance(delay, str):
                self.retry_delay = parse_duration(delay)
            elif isinstance(delay, dict):  # the proto form {"seconds": "3", "nanos": 957000000}
                self.retry_delay = (
                    float(delay.get("seconds", 0) or 0) + float(delay.get("nanos", 0) or 0) / 1e9
                )
        elif kind == _QUOTA_FAILURE:
            # The Gemini API names the spent quota instead of a reason: "...PerDay..." will not clear soon.
            for violation in detail.get("violations") or ():
                if isinstance(violation, dict) and "PerDay" in str(violation.get("quotaId", "")):
                    self.daily_quota = True


def _delays(
    details: _Details, retry_after_header: str | None, now: float
) -> tuple[float | None, datetime | None]:
    """The longest wait any part of the reply asks for, and the reset time when one is stated."""
    waits: list[float] = []
    reset_at: datetime | None = None
    if details.retry_delay is not None:
        waits.append(details.retry_delay)
    if isinstance(delay := details.metadata.get("quotaResetDelay"), str) and (
        parsed := parse_duration(delay)
    ):
        waits.append(parsed)
    if isinstance(stamp := details.metadata.get("quotaResetTimeStamp"), str) and (
        when := parse_rfc3339(stamp)
    ):
        reset_at = when
        waits.append(max(0.0, when.timestamp() - now))
    if retry_after_header and retry_after_header.strip().replace(".", "", 1).isdigit():
        waits.append(float(retry_after_header))
    if not waits:
        return None, reset_at
    wait = max(waits)
    return wait, reset_at or datetime.fromtimestamp(now + wait, UTC)


def _kind_for(
    status: int, error_status: str, details: _Details, retry_after: float | None, *, stale_client: bool
) -> ErrorKind:
    if details.reason in _REASON_KINDS:
        return _REASON_KINDS[details.reason]
    if status == 429 or error_status == "RESOURCE_EXHAUSTED":
        if details.daily_quota:
            return ErrorKind.QUOTA_EXHAUSTED
        # No reason: judge by the wait. Without any stated wait it is treated as a brief rate limit (the
        # pool applies its default cooldown) because marking a model exhausted for hours on a guess
        # would hide a usable account.
        if retry_after is not None and retry_after > RATE_LIMIT_MAX_DELAY_S:
            return ErrorKind.QUOTA_EXHAUSTED
        return ErrorKind.RATE_LIMITED
    if status == 400:
        return ErrorKind.CLIENT_CONFIG if stale_client else ErrorKind.INVALID_REQUEST
    if status == 401:
        return ErrorKind.UNAUTHENTICATED
    if status == 403:
        return ErrorKind.FORBIDDEN
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status == 408:
        return ErrorKind.NETWORK
    if status in (503, 529):
        return ErrorKind.CAPACITY
    if status >= 500:
        return ErrorKind.SERVER
    return ErrorKind.INVALID_REQUEST


def classify_http_error(
    status: int,
    body: bytes,
    *,
    model: str | None,
    clock: Callable[[], float] = time.time,
    retry_after_header: str | None = None,
) -> UpstreamError:
    """Classify a non-2xx reply from a Google service. Never raises; the message is safe to show."""
    error = _error_object(body)
    details = _Details(error)
    retry_after, reset_at = _delays(details, retry_after_header, clock())
    error_status = str(error.get("status") or "") if error else ""
    raw_message = error.get("message") if error else None
    message = str(raw_message).strip() if raw_message else (_body_text(body) if body.strip() else "")
    stale_client = _STALE_CLIENT in message
    kind = _kind_for(status, error_status, details, retry_after, stale_client=stale_client)
    if not message:
        message = f"HTTP {status} with an empty body"
    if stale_client:
        message += " (raise upstream.client_version in the settings)"
    shown = _shorten(message)
    if kind is ErrorKind.FORBIDDEN and status == 403:
        url = _validation_url(error or {}, details.metadata, body.decode("utf-8", errors="replace"))
        if url and url not in shown:
            # Appended after shortening: a truncated verification link would be useless.
            shown = f"{shown} (verify the account at {redact(url)})"
    metadata_model = details.metadata.get("model")
    return UpstreamError(
        kind=kind,
        status=status,
        message=shown,
        reason=details.reason or (error_status or None),
        retry_after=retry_after,
        reset_at=reset_at if kind in (ErrorKind.QUOTA_EXHAUSTED, ErrorKind.RATE_LIMITED) else None,
        model=model or (metadata_model if isinstance(metadata_model, str) and metadata_model else None),
    )


def classify_network_error(exc: BaseException, *, model: str | None = None) -> UpstreamError:
    """Classify a failure to reach a service or to finish reading its reply (kind NETWORK, status 0)."""
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError | TimeoutError):
        message = "the upstream did not answer in time"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        message = f"cannot connect to {exc.host}:{exc.port}"
    elif isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError | Disconnected):
        message = "the upstream closed the connection before the reply was complete"
    elif isinstance(exc, UpstreamHTTPError):  # its messages name a host and port at most, never a URL
        message = str(exc)
    else:
        detail = str(exc).strip()
        # Strip query strings: a URL in an exception must not leak whatever parameters it carried.
        detail = _SAFE_UNTIL_QUERY.sub("", detail) if "://" in detail else detail
        message = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return UpstreamError(ErrorKind.NETWORK, 0, _shorten(message), model=model)
