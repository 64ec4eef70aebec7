"""Removes credentials from text before it reaches a log, the request log or an error message."""

from __future__ import annotations

import re

_PATTERNS = [
    re.compile(r"ya29\.[A-Za-z0-9_\-.]+"),  # Google access tokens
    re.compile(r"1//[A-Za-z0-9_\-]{20,}"),  # Google refresh tokens
    re.compile(r"AIza[0-9A-Za-z_\-]{35}"),  # Google API keys
    re.compile(r"sk-[A-Za-z0-9_\-]{16,}"),  # client API keys (ours and OpenAI-style)
    re.compile(r"GOCSPX-[A-Za-z0-9_\-]+"),  # OAuth client secrets
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.~+/=]{8,}"),
    re.compile(
        r'(?i)("?(?:access_token|refresh_token|api_key|apikey|key|client_secret|id_token)"?\s*[:=]\s*"?)'
        r'[^"&\s,}]{6,}'
    ),
]


def redact(text: str) -> str:
    """The text with anything that looks like a credential replaced by '[redacted]'."""
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "[redacted]", text)
        else:
            text = pattern.sub("[redacted]", text)
    return text
