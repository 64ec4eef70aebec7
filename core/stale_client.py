"""Google's answer to an outdated client identity: a normal-looking 200 whose text says the version is no longer
supported. It is a configuration problem, never the assistant's answer, and never the account's fault."""

from __future__ import annotations

from core.errors import ApiError, ApiErrorType
from core.types import JSON

STALE_CLIENT_TEXT = "this version of antigravity is no longer supported"


def reply_text(response: JSON) -> str | None:
    """The plain (non-thought) text of a reply or stream chunk; None when it holds anything but text."""
    candidates = response.get("candidates")
    if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
        return ""
    parts = (candidates[0].get("content") or {}).get("parts") or []
    texts: list[str] = []
    for part in parts:
        if not isinstance(part, dict) or part.get("thought"):
            continue
        if set(part) - {"text", "thoughtSignature"}:
            return None  # a call, an image, ...: a real answer
        texts.append(str(part.get("text", "")))
    return "".join(texts)


def says_stale(text: str) -> bool:
    return STALE_CLIENT_TEXT in text.lower()


def could_still_say_stale(text: str) -> bool:
    """Whether streamed text so far may be the start of the stale-client message (so wait for more)."""
    start = text.lstrip().lower()
    # Nothing said yet (a thought, an empty chunk) is no reason to hold a stream back: the message comes first.
    return 0 < len(start) < len(STALE_CLIENT_TEXT) and STALE_CLIENT_TEXT.startswith(start)


def stale_client_error(user_agent: str) -> ApiError:
    return ApiError(
        502,
        ApiErrorType.API_ERROR,
        "Google answered that this Antigravity client version is no longer supported, so nothing was generated "
        f"(Gravity Desk identified itself as {user_agent!r}). Raise upstream.client_version in config.toml or "
        "in Settings → Google connection, or check upstream.user_agent; your accounts are fine.",
    )
