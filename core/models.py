"""Model names: map what clients ask for (gpt-4o, claude-3-5-sonnet-…) onto models the upstream serves."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def resolve_model(client_model: str, user_rules: Mapping[str, str], available: Iterable[str]) -> str:
    """Exact user rule, then wildcard user rule (fnmatch, most specific first), then the built-in table
    (gpt-3.5-turbo -> gemini-2.5-flash, gpt-4/gpt-4o -> gemini-2.5-pro, claude-*-sonnet* -> the newest
    claude sonnet in `available`, claude-*-haiku* -> a fast model, ...), then the name unchanged.
    A name that is itself available is served as is (before built-ins, after user rules).
    A `models/` prefix (Gemini clients) is stripped."""
    raise NotImplementedError
