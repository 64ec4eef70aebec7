"""The account health rule on the core types: when a model's quota is used up and when an account can serve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.types import Account, AccountKind, AccountStatus, ModelQuota

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _account(**fractions: tuple[float | None, timedelta | None]) -> Account:
    return Account(
        id="a",
        kind=AccountKind.GOOGLE,
        quotas={
            model: ModelQuota(model, remaining_fraction=f, reset_at=None if d is None else NOW + d)
            for model, (f, d) in fractions.items()
        },
    )


def test_a_model_is_used_up_until_its_reset_time() -> None:
    account = _account(pro=(0.0, HOUR), flash=(0.0, -HOUR), lite=(0.0, None), free=(None, HOUR))
    assert account.quota_used_up("pro", NOW)
    assert not account.quota_used_up("flash", NOW)  # the reset passed: the quota is back
    assert account.quota_used_up("lite", NOW)  # no reset time known: used up until a reading says more
    assert not account.quota_used_up("free", NOW)  # a reset time without a fraction is unknown, not 0
    assert account.used_up_models(NOW) == {"pro", "lite"}
    assert account.quotas["flash"].remaining(NOW) == 1.0
    assert account.quotas["free"].remaining(NOW) is None


def test_a_refusal_counts_even_when_the_reading_says_otherwise() -> None:
    account = _account(pro=(0.9, HOUR), flash=(0.5, HOUR))
    refused = {"pro": NOW + 3 * HOUR, "flash": NOW - HOUR}
    assert account.used_up_models(NOW, refused) == {"pro"}
    assert account.can_serve(NOW, refused)
    refused["flash"] = NOW + HOUR
    assert not account.can_serve(NOW, refused)


def test_only_enabled_signed_in_accounts_are_usable() -> None:
    account = _account(pro=(0.5, None))
    assert account.usable and account.can_serve(NOW)
    account.status = AccountStatus.NEEDS_SIGNIN
    assert not account.usable and not account.can_serve(NOW)
    account.status, account.enabled = AccountStatus.OK, False
    assert not account.can_serve(NOW)
    assert Account(id="k", kind=AccountKind.API_KEY).can_serve(NOW)  # an unread catalogue may serve
