"""Model names: map what clients ask for (gpt-5-codex, claude-opus-4-8, …) onto models the accounts serve.

Client model names move every few weeks, and so does Google's catalogue, so nothing here is a list of
names. Order of resolution:

1. the user's `[models]` rules: exact name, then wildcards (most specific first);
2. a name the enabled accounts offer, as it stands;
3. a retired id the catalogue forwards (`deprecatedModelIds` in `fetchAvailableModels`);
4. the client name's **family**, resolved against what the enabled accounts offer *now*:

| client name                         | served by (first family that has a model)                       |
|-------------------------------------|------------------------------------------------------------------|
| `claude-*opus*`                     | best Claude Opus → best Claude → best Gemini Pro                 |
| `claude-*sonnet*`                   | best Claude Sonnet → best Claude → best Gemini Pro               |
| `claude-*haiku*`                    | best Claude Haiku → best Gemini Flash → best Claude              |
| other `claude-*`                    | best Claude → best Gemini Pro                                    |
| `gpt-*`, `o1…`/`o3…`, `codex*`, `chatgpt*` | best Gemini Pro → best Gemini Flash → best Claude         |
| the same with `mini`/`nano`/`3.5`   | best Gemini Flash → best Gemini Pro                              |
| `gemini-*pro*` / `*flash*` / `*image*` not offered | best of that Gemini family                        |

5. otherwise the name unchanged (the pool then answers 404 listing what is available).

"Best" is computed: the highest version numbers in the name (a date suffix only breaks ties), then the
variant: a `-thinking` one when the client asks for reasoning (a thinking variant's name, or a thinking
budget in the request), otherwise a plain one; then the highest effort tier (`-high` before `-low`). Haiku goes to Flash before other Claude models
because clients use it for quick background work (titles, summaries) that should not spend Opus quota.
Matching ignores case and a `models/` prefix (Gemini clients send `models/gemini-3-flash`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from fnmatch import fnmatchcase
from functools import lru_cache

from core.types import JSON

_WILDCARD_CHARS = frozenset("*?[")
_NUMBER = re.compile(r"\d+")
_DATE_DIGITS = 6  # 20250929-style suffixes are dates, not versions
_NOT_CHAT = ("embedding", "tts", "imagen", "aqa", "live", "audio", "veo", "robotics")
_EFFORT_RANK = {"high": 2, "medium": 1, "low": 0}

Family = Callable[[str], bool]


def _is_claude(name: str, tier: str | None = None) -> bool:
    return "claude" in name and (tier is None or tier in name)


def _is_gemini_chat(name: str, tier: str) -> bool:
    if "gemini" not in name or "image" in name or any(word in name for word in _NOT_CHAT):
        return False
    return tier in name


def _claude(tier: str | None = None) -> Family:
    return lambda name: _is_claude(name, tier)


def _gemini(tier: str) -> Family:
    return lambda name: _is_gemini_chat(name, tier)


def _gemini_image(name: str) -> bool:
    return "gemini" in name and "image" in name


_GEMINI_PRO, _GEMINI_FLASH = _gemini("pro"), _gemini("flash")


def _families_for(lowered: str) -> tuple[Family, ...]:
    """The families a client name may be served by, best first; empty when the name has no family."""
    if "claude" in lowered:
        if "opus" in lowered:
            return _claude("opus"), _claude(), _GEMINI_PRO
        if "sonnet" in lowered:
            return _claude("sonnet"), _claude(), _GEMINI_PRO
        if "haiku" in lowered:
            return _claude("haiku"), _GEMINI_FLASH, _claude()
        return _claude(), _GEMINI_PRO
    if _is_openai_name(lowered):
        if any(word in lowered for word in ("mini", "nano", "3.5", "instant", "lite")):
            return _GEMINI_FLASH, _GEMINI_PRO
        return _GEMINI_PRO, _GEMINI_FLASH, _claude()
    if lowered.startswith("gemini") and not any(word in lowered for word in _NOT_CHAT):
        if "image" in lowered:
            return (_gemini_image,)
        if "flash" in lowered:
            return (_GEMINI_FLASH,)
        if "pro" in lowered:
            return (_GEMINI_PRO,)
    return ()


def _is_openai_name(lowered: str) -> bool:
    return lowered.startswith(("gpt", "chatgpt", "codex")) or re.match(r"o\d", lowered) is not None


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


def _effort(name: str) -> int:
    """`-high` > plain or `-medium` > `-low`: the upstream's effort tiers of one model."""
    return next((rank for word, rank in _EFFORT_RANK.items() if name.endswith(f"-{word}")), 1)


def _best(family: Family, wants_thinking: bool, available: frozenset[str]) -> str | None:
    """The best available model of a family: a variant matching the thinking wish first, then the newest
    version, a released model before a preview, then the highest effort tier."""
    candidates = [model for model in available if family(model.lower())]
    if not candidates:
        return None

    def rank(model: str) -> tuple[bool, tuple[tuple[int, ...], tuple[int, ...]], bool, int, str]:
        lowered = model.lower()
        matches = ("thinking" in lowered) == wants_thinking
        return (matches, _version_key(lowered), "preview" not in lowered, _effort(lowered), model)

    return max(candidates, key=rank)


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


def _by_family(lowered: str, wants_thinking: bool, available: frozenset[str]) -> str | None:
    for family in _families_for(lowered):
        best = _best(family, wants_thinking, available)
        if best is not None:
            return best
    return None


@lru_cache(maxsize=4096)
def _resolve(
    name: str,
    rules: tuple[tuple[str, str], ...],
    available: frozenset[str],
    forwards: tuple[tuple[str, str], ...],
    wants_thinking: bool,
) -> str:
    lowered = name.lower()
    exact, wildcards = _compiled_rules(rules)
    if lowered in exact:
        return exact[lowered]
    for pattern, target in wildcards:
        if fnmatchcase(lowered, pattern):
            return target
    if name in available:
        return name
    forwarded = dict(forwards).get(name)
    if forwarded is not None and forwarded in available:
        return forwarded
    thinking = wants_thinking or "thinking" in lowered
    return _by_family(lowered, thinking, available) or name


def resolve_model(
    client_model: str,
    user_rules: Mapping[str, str],
    available: Iterable[str],
    *,
    wants_thinking: bool = False,
    forwards: Mapping[str, str] | None = None,
) -> str:
    """The upstream model for a client's name: user rules, a name offered as is, a catalogue forward
    (retired id -> replacement), the best model of the name's family among `available`, else the name
    unchanged. `wants_thinking` (the request asks for reasoning) prefers thinking variants."""
    name = _strip_prefix(client_model.strip())
    return _resolve(
        name,
        tuple(user_rules.items()),
        frozenset(available),
        tuple(sorted((forwards or {}).items())),
        wants_thinking,
    )


# Names /v1/models lists beside the real models, each with what its family resolves to right now: the
# defaults of today's clients (Claude Code's aliases, Codex, OpenAI SDK examples). Any other name of a
# family resolves the same way; this list only makes the resolution visible.
FAMILY_ALIASES: tuple[str, ...] = (
    "claude-opus-4-5",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
    "gpt-5",
    "gpt-5-codex",
    "gpt-5-mini",
    "gpt-4o",
    "gpt-4o-mini",
    "o3",
)


def model_aliases(user_rules: Mapping[str, str], available: Iterable[str] = ()) -> dict[str, str]:
    """Alias -> upstream model for /v1/models: the family aliases resolved against `available`, then the
    user's non-wildcard rules (which win). An alias nothing serves, or offered under its own name, is left out."""
    offered = frozenset(available)
    aliases: dict[str, str] = {}
    for name in FAMILY_ALIASES:
        target = None if name in offered else _by_family(name, False, offered)
        if target is not None:
            aliases[name] = target
    for pattern, target in user_rules.items():
        key = _strip_prefix(pattern.strip())
        if not _is_wildcard(key):
            aliases[key] = _strip_prefix(target.strip())
    return aliases


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


# --- what a model can do, and settings carried in its name -------------------------------------------
#
# Model-name suffixes (applied by the gateway to every chat request whose model name is not itself served
# or mapped by a user rule; documented for users in README/docs):
#
# | suffix                         | effect                                                              |
# |--------------------------------|---------------------------------------------------------------------|
# | `-search`, `-search-preview`   | adds the `googleSearch` tool (dropped again when functions are declared) |
# | `-<w>x<h>` on image models     | `generationConfig.imageConfig.aspectRatio` "<w>:<h>" (1x1, 2x3, 3x2, 3x4, 4x3, 4x5, 5x4, 9x16, 16x9, 21x9) |
# | `-1k`, `-2k`, `-4k` on image models | `generationConfig.imageConfig.imageSize` "1K" / "2K" / "4K"      |
#
# Suffixes combine in any order, e.g. `gemini-3-pro-image-preview-16x9-4k`; settings the client sent itself win.

ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
_SEARCH_SUFFIXES = ("-search-preview", "-search")
_RATIO_SUFFIX = re.compile(r"-(\d{1,2})x(\d{1,2})$")
_SIZE_SUFFIX = re.compile(r"-([124])k$", re.IGNORECASE)


def capabilities_of(model: str) -> tuple[str, ...]:
    """ "chat", "embeddings", "images" (generation) and/or "speech", from the model id.

    Image chat models (`gemini-*-image*`) chat *and* draw; Imagen only draws (through `predict`).
    """
    name = model.lower().removeprefix("models/")
    if "embedding" in name:
        return ("embeddings",)
    if name.startswith("imagen"):
        return ("images",)
    if name.endswith("-tts") or "-tts-" in name:
        return ("speech",)
    if "image" in name:
        return ("chat", "images")
    return ("chat",)


def is_imagen(model: str) -> bool:
    return model.lower().removeprefix("models/").startswith("imagen")


def apply_model_suffixes(client_model: str, body: JSON) -> tuple[str, JSON]:
    """(model without its setting suffixes, body with those settings); unchanged when there are none."""
    name = client_model.strip()
    search = False
    image_config: JSON = {}
    while True:
        lowered = name.lower()
        suffix = next((s for s in _SEARCH_SUFFIXES if lowered.endswith(s)), None)
        if suffix is not None and len(name) > len(suffix):
            name, search = name[: -len(suffix)], True
            continue
        if "image" in lowered and (ratio := _RATIO_SUFFIX.search(name)) is not None:
            aspect = f"{int(ratio.group(1))}:{int(ratio.group(2))}"
            if aspect in ASPECT_RATIOS and "aspectRatio" not in image_config:
                image_config["aspectRatio"] = aspect
                name = name[: ratio.start()]
                continue
        size = _SIZE_SUFFIX.search(name) if "image" in lowered else None
        if size is not None and "imageSize" not in image_config:
            image_config["imageSize"] = f"{size.group(1)}K"
            name = name[: size.start()]
            continue
        break
    if not search and not image_config:
        return client_model, body
    new_body = dict(body)
    if search:
        tools = [tool for tool in new_body.get("tools") or () if isinstance(tool, dict)]
        if not any("googleSearch" in tool for tool in tools):
            tools.append({"googleSearch": {}})
        new_body["tools"] = tools
    if image_config:
        config = dict(new_body.get("generationConfig") or {})
        config["imageConfig"] = {**image_config, **(config.get("imageConfig") or {})}
        new_body["generationConfig"] = config
    return name, new_body
