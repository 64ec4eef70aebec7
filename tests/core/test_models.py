"""Tests for core.models: user rules, forwards, resolution by family against the live catalogue, aliases."""

from __future__ import annotations

import timeit

import pytest

from core.models import model_aliases, resolve_model

# A late-2026 Antigravity catalogue: no 2.5 models, effort tiers, thinking-only Opus.
ACCOUNT_MODELS = [
    "gemini-3-flash",
    "gemini-3-pro-low",
    "gemini-3-pro-high",
    "gemini-3.1-pro-low",
    "gemini-3.1-pro-high",
    "gemini-3.1-flash-image",
    "claude-sonnet-4-5",
    "claude-sonnet-4-6",
    "claude-sonnet-4-6-thinking",
    "claude-opus-4-5-thinking",
    "claude-opus-4-6-thinking",
    "gpt-oss-120b-medium",
]
GEMINI_ONLY = ["gemini-3-flash", "gemini-3.1-pro-high", "gemini-3.1-pro-low"]


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        # Names today's clients send, none of which any table lists.
        ("claude-opus-4-8", "claude-opus-4-6-thinking"),  # Opus exists only as a thinking model here
        ("claude-opus-5-20261101", "claude-opus-4-6-thinking"),
        ("claude-sonnet-5", "claude-sonnet-4-6"),
        ("claude-3-5-sonnet-20241022", "claude-sonnet-4-6"),
        ("claude-sonnet-4-6-thinking", "claude-sonnet-4-6-thinking"),  # offered: served as is
        ("claude-sonnet-4-7-thinking", "claude-sonnet-4-6-thinking"),
        ("claude-haiku-4-5-20251001", "gemini-3-flash"),  # no Haiku: quick work goes to Flash
        ("claude-instant", "claude-sonnet-4-6"),
        ("gpt-5-codex", "gemini-3.1-pro-high"),
        ("gpt-6.2-sol", "gemini-3.1-pro-high"),
        ("GPT-4o", "gemini-3.1-pro-high"),
        ("o3", "gemini-3.1-pro-high"),
        ("codex-mini-latest", "gemini-3-flash"),
        ("gpt-5-mini", "gemini-3-flash"),
        ("gpt-3.5-turbo-0125", "gemini-3-flash"),
        ("chatgpt-4o-latest", "gemini-3.1-pro-high"),
        # Retired Gemini names go to the best of their family.
        ("gemini-2.5-pro", "gemini-3.1-pro-high"),
        ("models/gemini-2.5-flash", "gemini-3-flash"),
        ("gemini-2.5-flash-image", "gemini-3.1-flash-image"),
        ("gemini-3-flash", "gemini-3-flash"),
        # No family: unchanged, so the pool answers 404 with what is available.
        ("llama-3-70b", "llama-3-70b"),
        ("gemini-embedding-001", "gemini-embedding-001"),
    ],
)
def test_family_resolution_against_the_catalogue(client: str, expected: str) -> None:
    assert resolve_model(client, {}, ACCOUNT_MODELS) == expected


def test_resolution_follows_what_the_accounts_offer_now() -> None:
    # The same client name lands elsewhere as the catalogue changes: nothing is a fixed list.
    assert (
        resolve_model("claude-opus-4-8", {}, ["claude-opus-4-6-thinking", "claude-opus-5"]) == "claude-opus-5"
    )
    assert resolve_model("claude-opus-4-8", {}, ["claude-sonnet-4-6", *GEMINI_ONLY]) == "claude-sonnet-4-6"
    assert resolve_model("claude-opus-4-8", {}, GEMINI_ONLY) == "gemini-3.1-pro-high"
    assert resolve_model("claude-haiku-4-5", {}, ["claude-haiku-4-5", "gemini-3-flash"]) == "claude-haiku-4-5"
    assert resolve_model("claude-haiku-4-5", {}, ["claude-sonnet-4-6"]) == "claude-sonnet-4-6"
    assert resolve_model("gpt-5", {}, ["gemini-3-flash"]) == "gemini-3-flash"
    assert resolve_model("gpt-5", {}, ["claude-sonnet-4-6"]) == "claude-sonnet-4-6"
    assert resolve_model("gpt-5-mini", {}, ["gemini-3.1-pro-low"]) == "gemini-3.1-pro-low"
    assert resolve_model("gpt-5", {}, []) == "gpt-5"  # nothing offered: unchanged


def test_reasoning_requests_prefer_thinking_variants() -> None:
    assert (
        resolve_model("claude-sonnet-5", {}, ACCOUNT_MODELS, wants_thinking=True)
        == "claude-sonnet-4-6-thinking"
    )
    assert resolve_model("claude-sonnet-5", {}, ACCOUNT_MODELS, wants_thinking=False) == "claude-sonnet-4-6"
    plain_and_thinking = ["gemini-3.1-pro-thinking", "gemini-3.1-pro"]
    assert resolve_model("o3", {}, plain_and_thinking, wants_thinking=True) == "gemini-3.1-pro-thinking"
    assert resolve_model("o3", {}, plain_and_thinking) == "gemini-3.1-pro"


def test_newest_is_by_version_numbers_not_text() -> None:
    available = ["claude-sonnet-4-10", "claude-sonnet-4-9", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"]
    assert resolve_model("claude-3-5-sonnet-latest", {}, available) == "claude-sonnet-4-10"
    dated = ["claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20251101"]
    assert resolve_model("claude-sonnet", {}, dated) == "claude-sonnet-4-5-20251101"
    tiers = ["gemini-3-pro-high", "gemini-3.1-pro-low", "gemini-3.1-pro-preview"]
    assert resolve_model("gpt-5", {}, tiers) == "gemini-3.1-pro-low"  # a newer version beats a higher tier


def test_thinking_preference_falls_back() -> None:
    assert (
        resolve_model("claude-3-5-sonnet", {}, ["claude-sonnet-4-5-thinking"]) == "claude-sonnet-4-5-thinking"
    )
    assert resolve_model("claude-sonnet-thinking", {}, ["claude-sonnet-4-5"]) == "claude-sonnet-4-5"


def test_catalogue_forwards_win_over_family_resolution() -> None:
    forwards = {"claude-sonnet-4": "claude-sonnet-4-5", "gemini-3-pro-preview": "gemini-3-pro-high"}
    assert resolve_model("claude-sonnet-4", {}, ACCOUNT_MODELS, forwards=forwards) == "claude-sonnet-4-5"
    assert resolve_model("gemini-3-pro-preview", {}, ACCOUNT_MODELS, forwards=forwards) == "gemini-3-pro-high"
    # A forward to a model nobody offers is ignored: the family decides.
    assert (
        resolve_model("claude-sonnet-4", {}, ["claude-sonnet-4-6"], forwards=forwards) == "claude-sonnet-4-6"
    )


def test_user_rules_come_first_and_most_specific_wildcard_wins() -> None:
    rules = {
        "gpt-*": "gemini-3-flash",
        "gpt-4o*": "gemini-3-pro-low",
        "gpt-4o-mini": "claude-sonnet-4-5",
        "claude-sonnet-4-5": "gemini-3.1-pro-high",  # a rule beats "available as is"
        "models/special": "models/gemini-3-pro-high",
    }
    assert resolve_model("gpt-4o-mini", rules, ACCOUNT_MODELS) == "claude-sonnet-4-5"
    assert resolve_model("gpt-4o-2024", rules, ACCOUNT_MODELS) == "gemini-3-pro-low"
    assert resolve_model("gpt-3.5-turbo", rules, ACCOUNT_MODELS) == "gemini-3-flash"
    assert resolve_model("claude-sonnet-4-5", rules, ACCOUNT_MODELS) == "gemini-3.1-pro-high"
    assert resolve_model("models/special", rules, ACCOUNT_MODELS) == "gemini-3-pro-high"
    assert resolve_model("o3", rules, ACCOUNT_MODELS) == "gemini-3.1-pro-high"  # no rule: by family


def test_equal_specificity_keeps_rule_order() -> None:
    rules = {"gpt-?o": "first", "gpt-4?": "second"}
    assert resolve_model("gpt-4o", rules, []) == "first"
    assert resolve_model("gpt-4o", dict(reversed(rules.items())), []) == "second"


def test_changed_rules_and_accounts_are_not_served_from_a_stale_cache() -> None:
    rules = {"x": "gemini-3-pro-high"}
    assert resolve_model("x", rules, []) == "gemini-3-pro-high"
    rules["x"] = "gemini-3-flash"
    assert resolve_model("x", rules, []) == "gemini-3-flash"
    assert resolve_model("claude-sonnet", {}, ["claude-sonnet-4"]) == "claude-sonnet-4"
    assert resolve_model("claude-sonnet", {}, ["claude-sonnet-4", "claude-sonnet-5"]) == "claude-sonnet-5"


def test_accepts_any_iterable_of_available_models() -> None:
    assert resolve_model("claude-sonnet", {}, (m for m in ACCOUNT_MODELS)) == "claude-sonnet-4-6"


def test_resolution_is_fast() -> None:
    rules = {f"custom-{n}*": "gemini-3-pro-high" for n in range(20)}
    runs = 5000
    seconds = min(
        timeit.repeat(lambda: resolve_model("gpt-4o", rules, ACCOUNT_MODELS), number=runs, repeat=3)
    )
    assert seconds / runs < 50e-6


def test_model_aliases_show_what_each_family_resolves_to_now() -> None:
    aliases = model_aliases(
        {"my-fast": "gemini-3-flash", "gpt-4o": "gemini-3-pro-low", "team-*": "x"}, ACCOUNT_MODELS
    )
    assert aliases["claude-opus-4-5"] == "claude-opus-4-6-thinking"
    assert aliases["claude-haiku-4-5"] == "gemini-3-flash"
    assert "claude-sonnet-4-5" not in aliases  # offered under its own name
    assert aliases["gpt-5-codex"] == "gemini-3.1-pro-high"
    assert aliases["gpt-4o"] == "gemini-3-pro-low"  # the user's rule wins
    assert aliases["my-fast"] == "gemini-3-flash"
    assert not any("*" in name for name in aliases)
    for alias, target in model_aliases({}, ACCOUNT_MODELS).items():
        assert resolve_model(alias, {}, ACCOUNT_MODELS) == target
    assert model_aliases({}, []) == {}  # nothing offered: no alias points anywhere
