"""aiohttp's report of a request it cannot parse, as one short line: its traceback quotes the raw request,
headers and all (`Authorization: Bearer …`), about a kilobyte per bad request. Rate-limited to one line per
`INTERVAL_S`, with a count of the ones left out."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiohttp.http_exceptions import HttpProcessingError

INTERVAL_S = 10.0


class MalformedRequestFilter(logging.Filter):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self._next_at = 0.0
        self._skipped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        now = self._clock()
        if now < self._next_at:
            self._skipped += 1
            return False
        self._next_at = now + INTERVAL_S
        skipped, self._skipped = self._skipped, 0
        more = f" ({skipped} more since the last one)" if skipped else ""
        record.msg = f"Refused a malformed HTTP request: {type(error).__name__} (status {error.code}){more}"
        record.args = ()
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_installed = MalformedRequestFilter()


def reset() -> None:
    """Forget the rate limit (a new window starts now)."""
    _installed._next_at, _installed._skipped = 0.0, 0


def install() -> None:
    """Idempotent: one filter on aiohttp's server logger, whoever starts a server."""
    logger = logging.getLogger("aiohttp.server")
    if _installed not in logger.filters:
        logger.addFilter(_installed)
