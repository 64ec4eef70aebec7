"""Error types shared by the upstream clients, the account pool, the gateway and every protocol adapter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.redact import redact


class ErrorKind(StrEnum):
    """What an upstream failure means for the account pool (protocol doc §4)."""

    RATE_LIMITED = (
        "rate_limited"  # 429 RATE_LIMIT_EXCEEDED / short retryDelay: cool this account+model briefly
    )
    QUOTA_EXHAUSTED = "quota_exhausted"  # 429 QUOTA_EXHAUSTED: this account+model is out until reset_at
    CAPACITY = "capacity"  # 429 MODEL_CAPACITY_EXHAUSTED / 503: upstream busy, not the account's fault
    UNAUTHENTICATED = "unauthenticated"  # 401: refresh the access token once, then retry
    NEEDS_SIGNIN = "needs_signin"  # invalid_grant on refresh: the account must sign in again
    FORBIDDEN = "forbidden"  # 403: account not allowed; disable it with the reason
    INVALID_REQUEST = "invalid_request"  # 400: the request is wrong; return to client, never rotate
    NOT_FOUND = "not_found"  # 404: unknown model or method
    SERVER = "server"  # 5xx other than capacity
    NETWORK = "network"  # connection failed, timed out, or a stream was cut
    CLIENT_CONFIG = "client_config"  # invalid_client / unauthorized_client: the OAuth client is wrong


@dataclass
class UpstreamError(Exception):
    """A failure answered by (or on the way to) a Google service, already classified."""

    kind: ErrorKind
    status: int  # HTTP status the upstream answered, or 0 for a network failure
    message: str  # safe to show: never contains tokens or keys
    reason: str | None = None  # ErrorInfo.reason, e.g. "QUOTA_EXHAUSTED"
    retry_after: float | None = None  # seconds, from RetryInfo.retryDelay or quotaResetDelay
    reset_at: datetime | None = None  # when a quota frees up, if known
    model: str | None = None

    def __post_init__(self) -> None:
        self.message = redact(
            self.message
        )  # upstream text quotes requests, and requests hold what clients sent

    def __str__(self) -> str:
        return f"{self.kind.value} ({self.status}): {self.message}"


class ApiErrorType(StrEnum):
    """Protocol-neutral error categories each adapter maps onto its own error shape."""

    INVALID_REQUEST = "invalid_request"  # 400
    AUTHENTICATION = "authentication"  # 401
    PERMISSION = "permission"  # 403
    NOT_FOUND = "not_found"  # 404
    TOO_LARGE = "too_large"  # 413
    RATE_LIMIT = "rate_limit"  # 429
    API_ERROR = "api_error"  # 500 / 502
    OVERLOADED = "overloaded"  # 503 / 529


@dataclass
class ApiError(Exception):
    """An error to send to the client: HTTP status, category, and a message safe to show."""

    status: int
    type: ApiErrorType
    message: str
    retry_after: float | None = None  # seconds; sent as Retry-After where the protocol allows
    param: str | None = None  # the request field at fault, when known
    code: str | None = None  # a machine-readable reason where the protocol has one (OpenAI's `code`)
    close_connection: bool = False  # the client's connection cannot carry another request (an unread body)

    def __post_init__(self) -> None:
        # Messages quote what the client sent ("role 'sk-…' is not supported"); whatever that was, the message
        # goes to the client, the server log and the request log, so it is redacted where it is made.
        self.message = redact(self.message)

    def __str__(self) -> str:
        return f"{self.status} {self.type.value}: {self.message}"


def invalid_request(message: str, param: str | None = None, *, code: str | None = None) -> ApiError:
    """Shorthand for the most common client error."""
    return ApiError(400, ApiErrorType.INVALID_REQUEST, message, param=param, code=code)


_KIND_TO_API: dict[ErrorKind, tuple[int, ApiErrorType]] = {
    ErrorKind.RATE_LIMITED: (429, ApiErrorType.RATE_LIMIT),
    ErrorKind.QUOTA_EXHAUSTED: (429, ApiErrorType.RATE_LIMIT),
    ErrorKind.CAPACITY: (503, ApiErrorType.OVERLOADED),
    ErrorKind.UNAUTHENTICATED: (502, ApiErrorType.API_ERROR),
    ErrorKind.NEEDS_SIGNIN: (503, ApiErrorType.OVERLOADED),
    ErrorKind.FORBIDDEN: (503, ApiErrorType.OVERLOADED),
    ErrorKind.INVALID_REQUEST: (400, ApiErrorType.INVALID_REQUEST),
    ErrorKind.NOT_FOUND: (404, ApiErrorType.NOT_FOUND),
    ErrorKind.SERVER: (502, ApiErrorType.API_ERROR),
    ErrorKind.NETWORK: (502, ApiErrorType.API_ERROR),
    ErrorKind.CLIENT_CONFIG: (502, ApiErrorType.API_ERROR),
}


def api_error_from_upstream(error: UpstreamError) -> ApiError:
    """Turn a classified upstream failure into what the client should see."""
    status, api_type = _KIND_TO_API[error.kind]
    return ApiError(status, api_type, f"Upstream: {error.message}", retry_after=error.retry_after)
