"""Model names: map what clients ask for (gpt-4o, claude-3-5-sonnet-…) onto models the upstream serves.

Order of resolution (protocol doc §6): exact user rule, wildcard user rule (most specific first), a name
the accounts serve as is, the built-in table below, then the name unchanged. Matching ignores case and a
`models/` prefix (Gemini clients send `models/gemini-2.5-pro`).

Built-in table (first match wins):

| client model                                                    | served by                              |
|-----------------------------------------------------------------|----------------------------------------|
| gpt-3.5-turbo*, gpt-4o-mini*, gpt-4.1-mini*, gpt-4.1-nano*,      | gemini-2.5-flash                       |
| gpt-5-mini*, gpt-5-nano*                                        |                                        |
| gpt-4*, gpt-4o*, gpt-4.1*, gpt-5*, o1*, o3*, o4*                | gemini-2.5-pro                         |
| claude-*opus*                                                   | newest claude opus available, else the |
|                                                                 | newest claude sonnet, else gemini-2.5-pro |
| claude-*sonnet*                                                 | newest claude sonnet available, else   |
|                                                                 | gemini-2.5-pro                         |
| claude-*haiku*                                                  | gemini-2.5-flash                       |
| gemini-*                                                        | unchanged                              |

"Newest" compares the version numbers in the name (`claude-sonnet-4-5` > `claude-sonnet-4`); a date
suffix only breaks ties. Thinking variants (`…-thinking`) are chosen only when the client's name says
thinking, and used only when no plain variant exists otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from functools import lru_cache

FAST_MODEL = "gemini-2.5-flash"
STRONG_MODEL = "gemini-2.5-pro"

_BUILTIN_PATTERNS: tuple[tuple[str, str], ...] = (
    ("gpt-3.5-turbo*", FAST_MODEL),
    ("gpt-4o-mini*", FAST_MODEL),
    ("gpt-4.1-mini*", FAST_MODEL),
    ("gpt-4.1-nano*", FAST_MODEL),
    ("gpt-5-mini*", FAST_MODEL),
    ("gpt-5-nano*", FAST_MODEL),
    ("gpt-4*", STRONG_MODEL),
    ("gpt-5*", STRONG_MODEL),
    ("o1*", STRONG_MODEL),
    ("o3*", STRONG_MODEL),
    ("o4*", STRONG_MODEL),
    ("claude-*haiku*", FAST_MODEL),
)

# Names listed by /v1/models as aliases; each must resolve through the table above.
_BUILTIN_EXACT_ALIASES: tuple[str, ...] = (
    "gpt-3.5-turbo",
    "gpt-4",
    "gpt-4-turbo",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-5",
    "gpt-5-mini",
    "o1",
    "o3",
    "o4-mini",
    "claude-haiku-4-5",
    "claude-3-5-haiku-latest",
)

_WILDCARD_CHARS = frozenset("*?[")
_NUMBER = re.compile(r"\d+")
_DATE_DIGITS = 6  # 20250929-style suffixes are dates, not versions


def _strip_prefix(name: str) -> str:
    return name[len("models/") :] if name.startswith("models/") else name


def _is_wildcard(pattern: str) -> bool:
    return any(char in _WILDCARD_CHARS for char in pattern)


def _specificity(pattern: str) -> int:
    """More literal characters = more specific (`gpt-4o-*` beats `gpt-*`)."""
    return sum(1 for char in pattern if char not in _WILDCARD_CHARS)


def _version_key(name: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    numbers = [match.group() for match in _NUMBER.finditer(name)]
    versions = tuple(int(n) for n in numbers if len(n) < _DATE_DIGITS)
    dates = tuple(int(n) for n in numbers if len(n) >= _DATE_DIGITS)
    return versions, dates


def _newest(family: str, want_thinking: bool, available: frozenset[str]) -> str | None:
    """The newest available `claude-…<family>…` model, honouring the thinking preference when possible."""
    candidates = [m for m in available if m.lower().startswith("claude-") and family in m.lower()]
    if not candidates:
        return None
    preferred = [m for m in candidates if ("thinking" in m.lower()) == want_thinking]
    pool = preferred or candidates
    return max(pool, key=lambda m: (_version_key(m), m))


@lru_cache(maxsize=64)
def _compiled_rules(rules: tuple[tuple[str, str], ...]) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    exact: dict[str, str] = {}
    wildcards: list[tuple[str, str]] = []
    for pattern, target in rules:
        key = _strip_prefix(pattern.strip()).lower()
        if _is_wildcard(key):
            wildcards.append((key, _strip_prefix(target.strip())))
        else:
            exact.setdefault(key, _strip_prefix(target.strip()))
    wildcards.sort(key=lambda rule: -_specificity(rule[0]))  # stable: equal specificity keeps file order
    return exact, tuple(wildcards)


def _builtin(lowered: str, available: frozenset[str]) -> str | None:
    if lowered.startswith("gemini-"):
        return None
    if fnmatchcase(lowered, "claude-*opus*"):
        thinking = "thinking" in lowered
        return _newest("opus", thinking, available) or _newest("sonnet", thinking, available) or STRONG_MODEL
    if fnmatchcase(lowered, "claude-*sonnet*"):
        return _newest("sonnet", "thinking" in lowered, available) or STRONG_MODEL
    for pattern, target in _BUILTIN_PATTERNS:
        if fnmatchcase(lowered, pattern):
            return target
    return None


@lru_cache(maxsize=4096)
def _resolve(name: str, rules: tuple[tuple[str, str], ...], available: frozenset[str]) -> str:
    lowered = name.lower()
    exact, wildcards = _compiled_rules(rules)
    if lowered in exact:
        return exact[lowered]
    for pattern, target in wildcards:
        if fnmatchcase(lowered, pattern):
            return target
    if name in available:
        return name
    return _builtin(lowered, available) or name


def resolve_model(client_model: str, user_rules: Mapping[str, str], available: Iterable[str]) -> str:
    """Exact user rule, then wildcard user rule (fnmatch, most specific first), then the built-in table
    (gpt-3.5-turbo -> gemini-2.5-flash, gpt-4/gpt-4o -> gemini-2.5-pro, claude-*-sonnet* -> the newest
    claude sonnet in `available`, claude-*-haiku* -> a fast model, ...), then the name unchanged.
    A name that is itself available is served as is (before built-ins, after user rules).
    A `models/` prefix (Gemini clients) is stripped."""
    name = _strip_prefix(client_model.strip())
    return _resolve(name, tuple(user_rules.items()), frozenset(available))


@lru_cache(maxsize=64)
def _aliases(rules: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    aliases = {name: _builtin(name, frozenset()) or name for name in _BUILTIN_EXACT_ALIASES}
    for pattern, target in rules:
        key = _strip_prefix(pattern.strip())
        if not _is_wildcard(key):
            aliases[key] = _strip_prefix(target.strip())
    return tuple(aliases.items())


def model_aliases(user_rules: Mapping[str, str]) -> dict[str, str]:
    """Alias -> upstream model for /v1/models: the built-in exact aliases, then the user's non-wildcard
    rules (which win). Claude sonnet/opus names are not listed: they depend on what accounts offer."""
    return dict(_aliases(tuple(user_rules.items())))


MODEL_GROUPS = ("Gemini Pro", "Gemini Flash", "Claude", "Images", "Other")


def model_group(model: str) -> str:
    """The quota family a model id belongs to, by its name (Antigravity counts quota per family).

    One of MODEL_GROUPS, in the order the window shows them.
    """
    name = model.lower()
    if "claude" in name:
        return "Claude"
    if "image" in name:
        return "Images"
    if "gemini" in name and "flash" in name:
        return "Gemini Flash"
    if "gemini" in name and "pro" in name:
        return "Gemini Pro"
    return "Other"
