"""Recent responses remembered in memory, so `previous_response_id` can continue them (bounded, no disk)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from core.types import JSON

MAX_RESPONSES = 512
MAX_AGE_S = 3600.0


class ResponseHistory:
    """Response id -> the Gemini conversation (contents) it ended with: the newest `max_responses`, for at
    most `max_age_s` seconds. Only responses made with `store: true` are kept (OpenAI's default)."""

    def __init__(
        self,
        max_responses: int = MAX_RESPONSES,
        max_age_s: float = MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[str, tuple[float, list[JSON]]] = OrderedDict()
        self._max_responses = max_responses
        self._max_age_s = max_age_s
        self._clock = clock

    def remember(self, response_id: str, contents: list[JSON]) -> None:
        self._entries[response_id] = (self._clock(), contents)
        self._entries.move_to_end(response_id)
        while len(self._entries) > self._max_responses:
            self._entries.popitem(last=False)

    def lookup(self, response_id: str) -> list[JSON] | None:
        entry = self._entries.get(response_id)
        if entry is None:
            return None
        saved_at, contents = entry
        if self._clock() - saved_at > self._max_age_s:
            del self._entries[response_id]
            return None
        return contents

    def __len__(self) -> int:
        return len(self._entries)
