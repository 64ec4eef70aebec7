"""Small value types shared across core: accounts, per-model quota and quota windows, the request-log entry,
the Gemini JSON alias."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

JSON = dict[str, Any]
"""A decoded JSON object. Gemini's GenerateContentRequest/Response are the gateway's internal language."""


class AccountKind(StrEnum):
    GOOGLE = "google"  # OAuth refresh token -> Cloud Code v1internal
    API_KEY = "api_key"  # Gemini API key -> generativelanguage v1beta


class AccountStatus(StrEnum):
    """The persistent state of an account; short cooldowns live in the pool, in memory."""

    OK = "ok"
    NEEDS_SIGNIN = "needs_signin"  # refresh token revoked or expired (invalid_grant)
    BLOCKED = "blocked"  # 403 from the upstream; status_reason says why


@dataclass
class ModelQuota:
    """One model an account offers and how much of it is left."""

    model: str
    display_name: str = ""
    remaining_fraction: float | None = None  # 0.0-1.0; None when the upstream does not say (API keys)
    reset_at: datetime | None = None
    max_output_tokens: int | None = None
    supports_thinking: bool = False
    supports_images: bool = False

    @property
    def exhausted(self) -> bool:
        return self.remaining_fraction is not None and self.remaining_fraction <= 0.0

    def reset_passed(self, now: datetime) -> bool:
        return self.reset_at is not None and self.reset_at <= now

    def used_up(self, now: datetime) -> bool:
        """The account health rule for one model: read as exhausted, and its reset time not reached yet."""
        return self.exhausted and not self.reset_passed(now)

    def remaining(self, now: datetime) -> float | None:
        """What is left now: None when unknown; once the reset time passed the quota is back (1.0) until
        the next quota reading says how much."""
        if self.remaining_fraction is None:
            return None
        return 1.0 if self.reset_passed(now) else self.remaining_fraction


@dataclass(frozen=True)
class QuotaWindow:
    """One bucket of `retrieveUserQuotaSummary`: how much of a model group's 5-hour or weekly limit is left.

    `models` are the catalogue models the bucket's group covers, resolved when the summary is read (from the
    summary itself where it lists them, else by family, setting quota.model_groups)."""

    group: str  # the group's displayName, e.g. "Gemini Models", "Claude and GPT models"
    window: str  # as the upstream names it: "5h", "weekly", ...
    remaining_fraction: float | None = None  # 0.0-1.0; None when the bucket gives no fraction (unknown)
    reset_at: datetime | None = None
    models: frozenset[str] = frozenset()
    bucket_id: str = ""

    def reset_passed(self, now: datetime) -> bool:
        return self.reset_at is not None and self.reset_at <= now

    def used_up(self, now: datetime) -> bool:
        """Empty until its reset: a bucket at 0 whose reset time is still ahead (or unknown)."""
        return (
            self.remaining_fraction is not None
            and self.remaining_fraction <= 0.0
            and not self.reset_passed(now)
        )

    def remaining(self, now: datetime) -> float | None:
        """What is left now: None when unknown; 1.0 once the reset passed, until the next reading."""
        if self.remaining_fraction is None:
            return None
        return 1.0 if self.reset_passed(now) else self.remaining_fraction

    def covers(self, model: str) -> bool:
        return model in self.models


@dataclass
class Account:
    """An account's metadata (its secret lives in the keyring, under the account id)."""

    id: str
    kind: AccountKind
    email: str | None = None
    label: str | None = None
    project_id: str | None = None
    tier: str | None = None
    enabled: bool = True
    status: AccountStatus = AccountStatus.OK
    status_reason: str = ""
    quotas: dict[str, ModelQuota] = field(default_factory=dict)
    # Retired model id -> replacement (`deprecatedModelIds`), re-read with the catalogue.
    model_forwards: dict[str, str] = field(default_factory=dict)
    # 5-hour and weekly buckets per model group (`retrieveUserQuotaSummary`), re-read with the catalogue.
    quota_windows: tuple[QuotaWindow, ...] = ()
    tier_id: str | None = None  # the upstream's tier id ("free-tier", "standard-tier"); `tier` is its name
    tier_read_at: datetime | None = None  # loadCodeAssist's last answer (re-read per tier_refresh_hours)
    # Quota protection for this account: keep this percentage of each model group in reserve; None = the
    # global setting quota.reserve_percent, 0 = off.
    reserve_percent: float | None = None
    quota_updated_at: datetime | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_used_at: datetime | None = None

    @property
    def usable(self) -> bool:
        """The account health rule's first half: turned on, signed in and not blocked."""
        return self.enabled and self.status is AccountStatus.OK

    def quota_used_up(self, model: str, now: datetime, refused: Mapping[str, datetime] | None = None) -> bool:
        """Whether `model` is used up on this account now: its quota reads exhausted, or the upstream refused
        it for quota until a time still ahead (`refused`, the pool's memory: a refusal can outlive a quota
        reading that still says 90 %)."""
        refused_until = (refused or {}).get(model)
        if refused_until is not None and refused_until > now:
            return True
        if any(window.used_up(now) for window in self.windows_for(model)):
            return True  # weekly exhaustion shows only here: the per-model quota can still read 100 %
        quota = self.quotas.get(model)
        return quota is not None and quota.used_up(now)

    def windows_for(self, model: str) -> tuple[QuotaWindow, ...]:
        """The 5-hour / weekly buckets whose group covers `model`."""
        return tuple(window for window in self.quota_windows if window.covers(model))

    def lowest_remaining(self, model: str, now: datetime) -> float | None:
        """The least that is left of `model` now, over its own quota and every window covering it; None when
        none of them says (API keys, unknown free-tier entries, an unread catalogue)."""
        readings = [window.remaining(now) for window in self.windows_for(model)]
        quota = self.quotas.get(model)
        if quota is not None:
            readings.append(quota.remaining(now))
        known = [reading for reading in readings if reading is not None]
        return min(known) if known else None

    def standing(
        self, model: str, now: datetime, refused: Mapping[str, datetime] | None = None
    ) -> tuple[float | None, datetime | None]:
        """What the health rule says is left of `model` now and when that comes back, for every view: a used-up
        model is (0, its refusal's end, else its empty window's reset, else its quota's reset); otherwise the
        least-left reading of its own quota and its windows, with that reading's reset (None once passed).
        (None, None) when nothing says (API keys, unknown free-tier quota)."""
        quota = self.quotas.get(model)
        if self.quota_used_up(model, now, refused):
            refused_until = (refused or {}).get(model)
            if refused_until is not None and refused_until > now:
                return 0.0, refused_until
            return 0.0, self.window_reset_at(model, now) or (quota.reset_at if quota is not None else None)
        readings: list[tuple[float, datetime | None]] = []
        for reading in (quota, *self.windows_for(model)):
            if reading is None:
                continue
            left = reading.remaining(now)
            if left is not None:
                readings.append((left, None if reading.reset_passed(now) else reading.reset_at))
        if not readings:
            return None, None
        return min(readings, key=lambda item: item[0])

    def window_reset_at(self, model: str, now: datetime) -> datetime | None:
        """When the latest used-up window covering `model` resets (None when none is used up)."""
        resets = [w.reset_at for w in self.windows_for(model) if w.used_up(now) and w.reset_at is not None]
        return max(resets) if resets else None

    def used_up_models(self, now: datetime, refused: Mapping[str, datetime] | None = None) -> frozenset[str]:
        """Every model `quota_used_up` says is used up now (refused models the catalogue lacks included)."""
        models = set(self.quotas) | {m for m, until in (refused or {}).items() if until > now}
        return frozenset(m for m in models if self.quota_used_up(m, now, refused))

    def can_serve(self, now: datetime, refused: Mapping[str, datetime] | None = None) -> bool:
        """The account health rule: usable, and some model not used up (an unread catalogue may serve)."""
        if not self.usable:
            return False
        if not self.quotas:
            return True
        return len(self.used_up_models(now, refused) & set(self.quotas)) < len(self.quotas)

    @property
    def name(self) -> str:
        """What people call this account: its e-mail, else its label, else its id."""
        return self.email or self.label or self.id


@dataclass
class LogEntry:
    """Filled in as a request goes through the server and gateway; recorded once when it ends."""

    protocol: str  # "openai", "anthropic", "gemini", "ollama"
    path: str
    client_model: str = ""
    upstream_model: str = ""
    account: str = ""  # account e-mail or label, never a secret
    status: int = 0
    latency_ms: float = 0.0
    ttfb_ms: float | None = None  # time to first byte sent to the client
    tokens_in: int = 0
    tokens_out: int = 0
    stream: bool = False
    error: str = ""  # redacted of credentials by the request-log writer, like every text column
    request_body: str | None = None  # only with body capture on
    response_body: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: int | None = None  # set by the store once written
    account_id: str = ""  # the serving account's id (names repeat when an account is removed and re-added)
    key_name: str = ""  # the name of the client API key the request came with, never its value
    key_id: str = ""  # that key's id (a hash, not stored in the row): its last use is recorded with the row
