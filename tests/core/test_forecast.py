"""Quota forecasts from readings over time: the burn rate, resets, and when there is nothing to say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.forecast import QuotaHistory
from core.types import Account, AccountKind, ModelQuota

START = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
PRO = "gemini-3-pro"


def _read(history: QuotaHistory, account: Account, minutes: float, fraction: float) -> None:
    account.quotas[PRO] = ModelQuota(PRO, remaining_fraction=fraction, reset_at=account.quotas[PRO].reset_at)
    account.quota_updated_at = START + timedelta(minutes=minutes)
    history.record(account)


def _account(reset_in: timedelta = timedelta(days=5)) -> Account:
    return Account(
        id="a",
        kind=AccountKind.GOOGLE,
        quotas={PRO: ModelQuota(PRO, remaining_fraction=1.0, reset_at=START + reset_in)},
    )


def test_a_steady_burn_forecasts_when_the_quota_runs_out() -> None:
    history, account = QuotaHistory(), _account()
    for minutes, fraction in ((0, 0.80), (15, 0.75), (30, 0.70), (45, 0.65)):
        _read(history, account, minutes, fraction)
    forecast = history.forecast(account, PRO, START + timedelta(minutes=45))
    assert forecast is not None
    assert abs(forecast.per_hour - 0.20) < 1e-9  # 5 % every 15 minutes
    # 65 % left at 0.20 per hour: 3 h 15 min after the last reading.
    assert forecast.runs_out_at == START + timedelta(minutes=45) + timedelta(hours=3.25)


def test_no_forecast_without_use_or_span_or_when_the_reset_comes_first() -> None:
    history, account = QuotaHistory(), _account()
    _read(history, account, 0, 0.8)
    assert history.forecast(account, PRO, START) is None  # one reading
    _read(history, account, 2, 0.7)
    assert history.forecast(account, PRO, START + timedelta(minutes=2)) is None  # too short a span
    _read(history, account, 30, 0.8)  # went up: a reset, the history starts again
    _read(history, account, 60, 0.8)
    assert history.forecast(account, PRO, START + timedelta(minutes=60)) is None  # no use
    soon = _account(reset_in=timedelta(hours=1))
    for minutes, fraction in ((0, 0.9), (30, 0.8)):
        _read(history, soon, minutes, fraction)
    assert history.forecast(soon, PRO, START + timedelta(minutes=30)) is None  # resets before running out


def test_old_readings_leave_the_window() -> None:
    history, account = QuotaHistory(window=timedelta(hours=1)), _account()
    _read(history, account, 0, 0.9)
    _read(history, account, 30, 0.8)
    assert history.forecast(account, PRO, START + timedelta(minutes=30)) is not None
    assert history.forecast(account, PRO, START + timedelta(hours=3)) is None
