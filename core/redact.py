"""Removes credentials from text before it reaches a log, the request log or an error message, and the one way
every part of the app shows a key to a person (mask_secret)."""

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


# Known key families keep a short head, so "which kind of key" stays visible; our own drop the common "sk-".
_MASK_HEADS = (("sk-gd-", "gd-"), ("AIza", "AIza"), ("sk-", "sk-"))
MASK_TAIL = 4  # characters shown at the end: enough to tell keys apart, far too few to guess the rest


def mask_secret(secret: str) -> str:
    """A key or account secret as shown everywhere (settings, dashboard, tray, CLI): "gd-…a1b2".

    A short secret shows no tail at all: four of eight characters would give half of it away."""
    head = next((shown for prefix, shown in _MASK_HEADS if secret.startswith(prefix)), "")
    tail = secret[-MASK_TAIL:] if len(secret) >= 3 * MASK_TAIL + len(head) else ""
    return f"{head}…{tail}"
