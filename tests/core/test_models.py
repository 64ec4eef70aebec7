"""Tests for core.models: user rules, built-in table, newest-Claude choice and aliases."""

from __future__ import annotations

import timeit

import pytest

from core.models import model_aliases, resolve_model

ACCOUNT_MODELS = [
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-3-pro-preview",
    "claude-sonnet-4",
    "claude-sonnet-4-5",
    "claude-sonnet-4-5-thinking",
    "claude-opus-4-1",
    "claude-opus-4-6-thinking",
]


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        ("gpt-3.5-turbo", "gemini-2.5-flash"),
        ("gpt-3.5-turbo-0125", "gemini-2.5-flash"),
        ("gpt-4o-mini", "gemini-2.5-flash"),
        ("gpt-4o-mini-2024-07-18", "gemini-2.5-flash"),
        ("gpt-4.1-mini", "gemini-2.5-flash"),
        ("gpt-5-mini", "gemini-2.5-flash"),
        ("gpt-4", "gemini-2.5-pro"),
        ("gpt-4o", "gemini-2.5-pro"),
        ("gpt-4o-2024-08-06", "gemini-2.5-pro"),
        ("gpt-4.1", "gemini-2.5-pro"),
        ("gpt-5", "gemini-2.5-pro"),
        ("o1-preview", "gemini-2.5-pro"),
        ("o3", "gemini-2.5-pro"),
        ("o4-mini", "gemini-2.5-pro"),
        ("GPT-4o", "gemini-2.5-pro"),
        ("claude-3-5-haiku-20241022", "gemini-2.5-flash"),
        ("claude-haiku-4-5", "gemini-2.5-flash"),
        ("claude-3-5-sonnet-20241022", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4-5"),
        ("claude-3-7-sonnet-thinking", "claude-sonnet-4-5-thinking"),
        ("claude-opus-4-20250514", "claude-opus-4-1"),
        ("claude-opus-4-6-thinking", "claude-opus-4-6-thinking"),  # available: served as is
        ("claude-3-opus-thinking", "claude-opus-4-6-thinking"),
        ("gemini-2.5-pro", "gemini-2.5-pro"),
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("gemini-9-ultra", "gemini-9-ultra"),  # unknown gemini names pass through
        ("my-own-model", "my-own-model"),
    ],
)
def test_builtin_table(client: str, expected: str) -> None:
    assert resolve_model(client, {}, ACCOUNT_MODELS) == expected


def test_newest_is_by_version_numbers_not_text() -> None:
    available = ["claude-sonnet-4-10", "claude-sonnet-4-9", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"]
    assert resolve_model("claude-3-5-sonnet-latest", {}, available) == "claude-sonnet-4-10"
    dated = ["claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20251101"]
    assert resolve_model("claude-sonnet", {}, dated) == "claude-sonnet-4-5-20251101"


def test_thinking_preference_falls_back() -> None:
    only_thinking = ["claude-sonnet-4-5-thinking"]
    assert resolve_model("claude-3-5-sonnet", {}, only_thinking) == "claude-sonnet-4-5-thinking"
    only_plain = ["claude-sonnet-4-5"]
    assert resolve_model("claude-sonnet-thinking", {}, only_plain) == "claude-sonnet-4-5"


def test_opus_falls_back_to_sonnet_then_gemini() -> None:
    assert resolve_model("claude-opus-4", {}, ["claude-sonnet-4-5", "gemini-2.5-pro"]) == "claude-sonnet-4-5"
    assert resolve_model("claude-opus-4", {}, ["gemini-2.5-pro"]) == "gemini-2.5-pro"
    assert resolve_model("claude-3-5-sonnet", {}, []) == "gemini-2.5-pro"


def test_user_rules_come_first_and_most_specific_wildcard_wins() -> None:
    rules = {
        "gpt-*": "gemini-2.5-flash",
        "gpt-4o*": "gemini-3-pro-preview",
        "gpt-4o-mini": "claude-sonnet-4-5",
        "claude-sonnet-4-5": "gemini-2.5-pro",  # a rule beats "available as is"
        "models/special": "models/gemini-2.5-pro",
    }
    assert resolve_model("gpt-4o-mini", rules, ACCOUNT_MODELS) == "claude-sonnet-4-5"
    assert resolve_model("gpt-4o-2024", rules, ACCOUNT_MODELS) == "gemini-3-pro-preview"
    assert resolve_model("gpt-3.5-turbo", rules, ACCOUNT_MODELS) == "gemini-2.5-flash"
    assert resolve_model("claude-sonnet-4-5", rules, ACCOUNT_MODELS) == "gemini-2.5-pro"
    assert resolve_model("models/special", rules, ACCOUNT_MODELS) == "gemini-2.5-pro"
    assert resolve_model("o3", rules, ACCOUNT_MODELS) == "gemini-2.5-pro"  # no rule: built-in


def test_equal_specificity_keeps_rule_order() -> None:
    rules = {"gpt-?o": "first", "gpt-4?": "second"}
    assert resolve_model("gpt-4o", rules, []) == "first"
    assert resolve_model("gpt-4o", dict(reversed(rules.items())), []) == "second"


def test_changed_rules_and_accounts_are_not_served_from_a_stale_cache() -> None:
    rules = {"x": "gemini-2.5-pro"}
    assert resolve_model("x", rules, []) == "gemini-2.5-pro"
    rules["x"] = "gemini-2.5-flash"
    assert resolve_model("x", rules, []) == "gemini-2.5-flash"
    assert resolve_model("claude-sonnet", {}, ["claude-sonnet-4"]) == "claude-sonnet-4"
    assert resolve_model("claude-sonnet", {}, ["claude-sonnet-4", "claude-sonnet-5"]) == "claude-sonnet-5"


def test_accepts_any_iterable_of_available_models() -> None:
    assert resolve_model("claude-sonnet", {}, (m for m in ACCOUNT_MODELS)) == "claude-sonnet-4-5"


def test_resolution_is_fast() -> None:
    rules = {f"custom-{n}*": "gemini-2.5-pro" for n in range(20)}
    runs = 5000
    seconds = min(
        timeit.repeat(lambda: resolve_model("gpt-4o", rules, ACCOUNT_MODELS), number=runs, repeat=3)
    )
    assert seconds / runs < 50e-6


def test_model_aliases() -> None:
    aliases = model_aliases({"my-fast": "gemini-2.5-flash", "gpt-4o": "gemini-3-pro-preview", "team-*": "x"})
    assert aliases["gpt-3.5-turbo"] == "gemini-2.5-flash"
    assert aliases["gpt-4"] == "gemini-2.5-pro"
    assert aliases["gpt-4o"] == "gemini-3-pro-preview"  # the user's rule wins
    assert aliases["my-fast"] == "gemini-2.5-flash"
    assert not any("*" in name for name in aliases)
    # Every built-in alias agrees with resolve_model.
    for alias, target in model_aliases({}).items():
        assert resolve_model(alias, {}, []) == target
    aliases["gpt-4"] = "mutated"
    assert model_aliases({})["gpt-4"] == "gemini-2.5-pro"
