"""Small value types shared across core: accounts, per-model quota, and the Gemini JSON alias."""

from __future__ import annotations

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
    quota_updated_at: datetime | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_used_at: datetime | None = None

    @property
    def name(self) -> str:
        """What people call this account: its e-mail, else its label, else its id."""
        return self.email or self.label or self.id
