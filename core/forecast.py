"""Quota forecasts: from an account's quota readings over time, when a model runs out at the recent burn rate."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.types import Account

FORECAST_WINDOW = timedelta(hours=2)  # only recent use predicts the next hours
MIN_SPAN = timedelta(minutes=5)  # readings closer together than this say nothing about a rate
MAX_READINGS = 64  # per account and model; a refresh every few minutes fills two hours


@dataclass(frozen=True)
class Reading:
    at: datetime
    fraction: float


@dataclass(frozen=True)
class Forecast:
    runs_out_at: datetime  # when the remaining quota reaches 0 at the recent burn rate
    per_hour: float  # share of the quota used per hour


class QuotaHistory:
    """Remembers each (account, model)'s quota readings and forecasts from them.

    A reading that goes *up* means the quota was reset (or topped up): the history before it no longer
    describes the current window, so it is dropped.
    """

    def __init__(self, window: timedelta = FORECAST_WINDOW) -> None:
        self._window = window
        self._readings: dict[tuple[str, str], deque[Reading]] = {}

    def record(self, account: Account) -> None:
        """Note the account's current quota readings (at `account.quota_updated_at`)."""
        at = account.quota_updated_at
        if at is None:
            return
        for model, quota in account.quotas.items():
            if quota.remaining_fraction is None:
                continue
            readings = self._readings.setdefault((account.id, model), deque(maxlen=MAX_READINGS))
            if readings and readings[-1].at >= at:
                continue  # the same reading again (the account changed for another reason)
            if readings and quota.remaining_fraction > readings[-1].fraction:
                readings.clear()  # a reset: the old window's burn says nothing about this one
            readings.append(Reading(at, quota.remaining_fraction))

    def forget(self, account_id: str) -> None:
        for key in [key for key in self._readings if key[0] == account_id]:
            del self._readings[key]

    def forecast(self, account: Account, model: str, now: datetime) -> Forecast | None:
        """When `model` runs out on `account` at the burn rate of the last FORECAST_WINDOW; None when the
        readings show no use, span too little time, or the quota resets before it would run out."""
        readings = [r for r in self._readings.get((account.id, model), ()) if now - r.at <= self._window]
        if len(readings) < 2 or readings[-1].at - readings[0].at < MIN_SPAN:
            return None
        per_hour = _slope_per_hour(readings)
        last = readings[-1]
        if per_hour <= 0 or last.fraction <= 0:
            return None
        runs_out_at = last.at + timedelta(hours=last.fraction / per_hour)
        quota = account.quotas.get(model)
        if quota is not None and quota.reset_at is not None and quota.reset_at <= runs_out_at:
            return None  # it lasts until the reset
        return Forecast(runs_out_at, per_hour)


def _slope_per_hour(readings: list[Reading]) -> float:
    """Quota used per hour: the least-squares slope of fraction over time, sign turned to "used"."""
    start = readings[0].at
    xs = [(r.at - start).total_seconds() / 3600.0 for r in readings]
    ys = [r.fraction for r in readings]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return -slope
