"""Removes credentials from text before it reaches a log, the request log or an error message, and the one way
every part of the app shows a key to a person (mask_secret)."""

from __future__ import annotations

import logging
import re

# One pass over the text (it runs on every request-log row): each alternative is one credential shape; the
# two with a `keep` group keep their prefix ("Bearer ", "api_key=") and lose only the value.
_CREDENTIAL = re.compile(
    "|".join(
        [
            r"ya29\.[A-Za-z0-9_\-.]+",  # Google access tokens
            r"1//[A-Za-z0-9_\-]{20,}",  # Google refresh tokens
            r"AIza[0-9A-Za-z_\-]{35}",  # Google API keys
            r"sk-[A-Za-z0-9_\-]{16,}",  # client API keys (ours, OpenAI- and Anthropic-style)
            r"GOCSPX-[A-Za-z0-9_\-]+",  # OAuth client secrets
            r"(?P<bearer>(?i:bearer\s+))[A-Za-z0-9_\-.~+/=]{8,}",
            r'(?P<field>(?i:"?(?:access_token|refresh_token|api_key|apikey|key|client_secret|id_token)"?\s*[:=]\s*"?))'
            r'[^"&\s,}]{6,}',
        ]
    )
)


def _replacement(match: re.Match[str]) -> str:
    return (match.group("bearer") or match.group("field") or "") + "[redacted]"


# Every alternative above needs one of these: the literal heads as written, the case-blind words (bearer and
# the field names) after casefold(), which folds the way the pattern's (?i:) matches (long s, Kelvin sign). Most texts
# hold none, and two substring searches cost a fraction of the seven-way pattern tried at every position.
_CASED_HEADS = ("ya29.", "1//", "AIza", "sk-", "GOCSPX-")
_CASELESS_WORDS = ("bearer", "key", "token", "secret")


def redact(text: str) -> str:
    """The text with anything that looks like a credential replaced by '[redacted]'."""
    if not any(head in text for head in _CASED_HEADS):
        folded = text.casefold()
        if not any(word in folded for word in _CASELESS_WORDS):
            return text
    return _CREDENTIAL.sub(_replacement, text)


class RedactingFilter(logging.Filter):
    """Redacts each record a handler emits, message and traceback, whatever logger it came from.

    Log lines quote what clients and upstreams sent (a block type, an error text); this is the net under
    every one of them, on the handlers the app installs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def redact_log_handlers(logger: logging.Logger | None = None) -> None:
    """Put one RedactingFilter on each handler of `logger` (the root logger by default); idempotent."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())


# Known key families keep a short head, so "which kind of key" stays visible; our own drop the common "sk-".
_MASK_HEADS = (("sk-gd-", "gd-"), ("AIza", "AIza"), ("sk-", "sk-"))
MASK_TAIL = 4  # characters shown at the end: enough to tell keys apart, far too few to guess the rest


def mask_secret(secret: str) -> str:
    """A key or account secret as shown everywhere (settings, dashboard, tray, CLI): "gd-…a1b2".

    A short secret shows no tail at all: four of eight characters would give half of it away."""
    head = next((shown for prefix, shown in _MASK_HEADS if secret.startswith(prefix)), "")
    tail = secret[-MASK_TAIL:] if len(secret) >= 3 * MASK_TAIL + len(head) else ""
    return f"{head}…{tail}"
