"""The in-memory history behind previous_response_id: bounded by count and by age."""

from __future__ import annotations

from server.openai_responses.history import ResponseHistory


def test_keeps_the_newest_responses_only() -> None:
    history = ResponseHistory(max_responses=2)
    for number in range(3):
        history.remember(f"resp_{number}", [{"role": "user", "parts": [{"text": str(number)}]}])
    assert history.lookup("resp_0") is None
    assert history.lookup("resp_2") == [{"role": "user", "parts": [{"text": "2"}]}]
    assert len(history) == 2


def test_forgets_responses_older_than_the_age_limit() -> None:
    now = [1000.0]
    history = ResponseHistory(max_age_s=60, clock=lambda: now[0])
    history.remember("resp_old", [])
    now[0] += 59
    assert history.lookup("resp_old") == []  # an empty conversation (generate: false) is still known
    now[0] += 2
    assert history.lookup("resp_old") is None and len(history) == 0
