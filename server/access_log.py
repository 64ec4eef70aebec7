"""One access line per client request in the server log: what was asked, what served it, how it ended.

No bodies and no keys: the line holds the method, the path, the client's model, the upstream model, the
account, the status, the time taken, and for a refusal its reason, each redacted of credentials (a client
may send a key as its model name). The logger is `gravity_desk.access`; `[log]`-style filtering is the
standard logging configuration's job.
"""

from __future__ import annotations

import logging

from core.redact import redact
from core.types import LogEntry

access_log = logging.getLogger("gravity_desk.access")
_MAX_FIELD = 120  # a client's model name is the client's choice: keep one line one line


def _field(value: str) -> str:
    cleaned = redact(value)
    if not cleaned.isascii():  # a lone surrogate (a client's odd JSON) cannot be written to the log stream
        cleaned = cleaned.encode("utf-8", "replace").decode("utf-8")
    cleaned = cleaned.replace("\n", " ").replace("\r", " ")
    return (cleaned[: _MAX_FIELD - 1] + "…") if len(cleaned) > _MAX_FIELD else (cleaned or "-")


def log_access(method: str, entry: LogEntry) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    line = (
        f"{method} {_field(entry.path)} model={_field(entry.client_model)} "
        f"upstream={_field(entry.upstream_model)} account={_field(entry.account)} "
        f"status={entry.status} {entry.latency_ms:.0f}ms"
    )
    if entry.status >= 400 and entry.error:
        line += f" reason={_field(entry.error)}"
    access_log.info("%s", line)
