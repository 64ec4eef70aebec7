"""The account pool: picks a healthy account for each request and decides what to do when one fails."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from core.accounts import AccountService
from core.config import QuotaSettings
from core.errors import ApiError, ApiErrorType, ErrorKind, UpstreamError
from core.types import Account, AccountKind, AccountStatus, ModelQuota

log = logging.getLogger(__name__)

STICKY_MAX_ENTRIES = 10_000
RATE_LIMIT_DEFAULT_S = 5.0  # when a 429 RATE_LIMIT_EXCEEDED names no retryDelay
RATE_LIMIT_MAX_S = 60.0  # a longer delay on a rate limit (not a quota) is not worth honouring in full
QUOTA_DEFAULT_S = (
    3600.0  # QUOTA_EXHAUSTED without a reset time: assume an hour, a background refresh corrects it
)
TROUBLE_COOLDOWN_S = 3.0  # after a 5xx / network error: prefer other accounts for a moment
CAPACITY_BACKOFF_S = (0.5, 2.0)  # first and largest wait after MODEL_CAPACITY_EXHAUSTED, per model
NAMES_IN_MESSAGE = 5  # an error message lists at most this many accounts


class Step(StrEnum):
    """What the gateway does after a failed attempt."""

    ROTATE = "rotate"  # try another account (exclude this one for the rest of the request)
    RETRY_SAME = "retry_same"  # invalidate the access token and try the same account once more
    RETRY = (
        "retry"  # the upstream was busy: wait `Action.wait_s`, then pick again (any account, this one too)
    )
    GIVE_UP = "give_up"  # the request itself is wrong: return the error to the client, never rotate


@dataclass(frozen=True)
class Action:
    step: Step
    wait_s: float = 0.0  # only for Step.RETRY: the model's global backoff left when the action was decided


class NoAccount(ApiError):
    """No account can serve the request now; the message says why and what the user can do."""


@dataclass(frozen=True)
class _Cooldown:
    until: float  # clock() seconds
    hard: bool  # hard: the upstream said wait (rate limit, quota); soft: only prefer other accounts
    kind: ErrorKind


class AccountPool:
    """Chooses accounts and keeps the short-lived, in-memory view of their health (cooldowns, backoffs).

    Persistent state (status, quota) belongs to AccountService; the pool only asks it to change. Accounts
    are read from `accounts.accounts()` on every pick, so a change there is seen at once.
    """

    def __init__(
        self,
        accounts: AccountService,
        clock: Callable[[], float] = time.time,
        *,
        capacity_backoff_s: tuple[float, float] = CAPACITY_BACKOFF_S,
        rng: Callable[[], float] = random.random,
        sticky_entries: int = STICKY_MAX_ENTRIES,
        quota: QuotaSettings | None = None,
    ) -> None:
        self._accounts = accounts
        self._quota = quota if quota is not None else QuotaSettings()
        self._clock = clock
        self._capacity_backoff_s = capacity_backoff_s
        self._rng = rng
        self._sticky_entries = sticky_entries
        self._cooldowns: dict[tuple[str, str], _Cooldown] = {}
        self._sticky: OrderedDict[str, str] = OrderedDict()
        # account id -> sequence number of its last pick, for the least-recently-picked tie-break
        self._picked_seq: dict[str, int] = {}
        self._seq = 0
        self._capacity_until: dict[str, float] = {}  # model -> clock() until which callers should wait
        self._capacity_failures: dict[str, int] = {}  # model -> consecutive capacity failures
        self._quota_refreshes: dict[str, asyncio.Task[None]] = {}  # account id -> background refresh

    # -- choosing ---------------------------------------------------------------------------------------

    def pick(
        self, model: str, *, conversation_key: str | None = None, exclude: Iterable[str] = ()
    ) -> Account:
        """The account to serve `model` now; raises NoAccount (429, 503 or 404) when none can."""
        now = self._clock()
        excluded = exclude if isinstance(exclude, set | frozenset) else set(exclude)
        all_accounts = self._accounts.accounts()
        best: Account | None = None
        best_key: tuple[bool, float, int] = (False, 0.0, 0)
        sticky_id = self._sticky.get(conversation_key) if conversation_key is not None else None
        protected: list[Account] = []
        for account in all_accounts:
            if account.id in excluded or not account.usable or not _offers(account, model):
                continue
            cooldown = self._active_cooldown(account.id, model, now)
            if (cooldown is not None and cooldown.hard) or _exhausted(account, model, now):
                continue
            if self._protected(account, model, now):
                protected.append(account)
                continue
            not_troubled = cooldown is None
            if account.id == sticky_id and not_troubled:
                best = account
                break
            # Higher is better: accounts without recent trouble, then more quota left, then least recently used.
            key = (not_troubled, _remaining(account, model, now), -self._picked_seq.get(account.id, 0))
            if best is None or key > best_key:
                best, best_key = account, key
        if best is None:
            if protected:
                raise self._held_by_protection(model, protected, now)
            raise self._no_account(model, all_accounts, excluded, now)
        self._seq += 1
        self._picked_seq[best.id] = self._seq
        if conversation_key is not None:
            self._remember_sticky(conversation_key, best.id)
        return best

    def capacity_wait(self, model: str) -> float:
        """Seconds every request for `model` should still wait after the upstream said it is busy."""
        until = self._capacity_until.get(model)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            del self._capacity_until[model]
            return 0.0
        return left

    def cooldown_until(self, account_id: str, model: str) -> float | None:
        """When the pool's cooldown of (account, model) ends (clock() seconds), or None; for views and tests."""
        cooldown = self._active_cooldown(account_id, model, self._clock())
        return cooldown.until if cooldown is not None else None

    def refusals(self, account_id: str) -> dict[str, datetime]:
        """Models the upstream refused this account for quota, with the time the refusal ends: the pool's
        part of the account health rule (`Account.quota_used_up`), for views that must agree with picks."""
        now = self._clock()
        return {
            model: datetime.fromtimestamp(cooldown.until, UTC)
            for (cooled_id, model), cooldown in self._cooldowns.items()
            if cooled_id == account_id and cooldown.kind is ErrorKind.QUOTA_EXHAUSTED and cooldown.until > now
        }

    # -- feedback ---------------------------------------------------------------------------------------

    def report_success(self, account: Account, model: str) -> None:
        """The account served the model: forget a soft cooldown and the model's capacity backoff."""
        cooldown = self._cooldowns.get((account.id, model))
        if cooldown is not None and not cooldown.hard:
            del self._cooldowns[(account.id, model)]
        self._capacity_failures.pop(model, None)
        self._capacity_until.pop(model, None)

    async def report_failure(
        self, account: Account, model: str, error: UpstreamError, *, retried_same: bool = False
    ) -> Action:
        """Record what the failure says about the account and tell the gateway what to do next.

        `retried_same`: this account already got its one re-authenticated retry in this request. Status and
        quota changes are awaited (AccountService updates memory first) so the next pick already sees them.
        The caller invalidates the access token on Step.RETRY_SAME (it owns the credentials).
        """
        now = self._clock()
        kind = error.kind
        if kind is ErrorKind.RATE_LIMITED and (error.retry_after or 0.0) >= self._quota.long_rate_limit_s > 0:
            # A "rate limit" asking for minutes behaves like spent quota: retrying every minute wastes the account.
            # It is how an empty 5-hour or weekly window refuses, and the window is shared: the model's whole
            # group is out on this account until then, not only the model that asked.
            await self._mark_exhausted(account, model, error, now, whole_window=True)
            return Action(Step.ROTATE)
        if kind is ErrorKind.RATE_LIMITED:
            delay = min(
                error.retry_after if error.retry_after is not None else RATE_LIMIT_DEFAULT_S, RATE_LIMIT_MAX_S
            )
            self._cool(account.id, model, now + max(delay, 0.0), hard=True, kind=kind)
            return Action(Step.ROTATE)
        if kind is ErrorKind.QUOTA_EXHAUSTED:
            await self._mark_exhausted(account, model, error, now)
            return Action(Step.ROTATE)
        if kind is ErrorKind.CAPACITY:
            return Action(Step.RETRY, self._back_off_model(model, now))
        if kind is ErrorKind.UNAUTHENTICATED and not retried_same:
            return Action(Step.RETRY_SAME)
        if kind is ErrorKind.NEEDS_SIGNIN:
            await self._set_status(account, AccountStatus.NEEDS_SIGNIN, error.message)
            return Action(Step.ROTATE)
        if kind is ErrorKind.FORBIDDEN:
            await self._set_status(account, AccountStatus.BLOCKED, error.message)
            return Action(Step.ROTATE)
        if kind in (ErrorKind.INVALID_REQUEST, ErrorKind.NOT_FOUND):
            return Action(Step.GIVE_UP)
        # SERVER, NETWORK, CLIENT_CONFIG, a second UNAUTHENTICATED: nothing proves the account is bad, so
        # only prefer the others for a moment.
        self._cool(account.id, model, now + TROUBLE_COOLDOWN_S, hard=False, kind=kind)
        return Action(Step.ROTATE)

    async def close(self) -> None:
        """Cancel the background quota refreshes still running."""
        tasks = list(self._quota_refreshes.values())
        self._quota_refreshes.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def reserve_fraction(self, account: Account) -> float:
        """Quota protection for this account: the share of each model group kept in reserve (0 = off)."""
        percent = (
            account.reserve_percent if account.reserve_percent is not None else self._quota.reserve_percent
        )
        return min(1.0, max(0.0, percent / 100.0))

    def protected(self, account: Account, model: str) -> bool:
        """Whether quota protection keeps `model` off this account now; for views and tests."""
        return self._protected(account, model, self._clock())

    # -- internals --------------------------------------------------------------------------------------

    def _protected(self, account: Account, model: str, now: float) -> bool:
        reserve = self.reserve_fraction(account)
        if reserve <= 0.0:
            return False
        left = account.lowest_remaining(model, datetime.fromtimestamp(now, UTC))
        return left is not None and left <= reserve

    def _held_by_protection(self, model: str, protected: list[Account], now: float) -> NoAccount:
        moment = datetime.fromtimestamp(now, UTC)
        held = []
        for account in protected:
            left = account.lowest_remaining(model, moment) or 0.0
            own = " (its own setting)" if account.reserve_percent is not None else ""
            held.append(
                f"{account.name}: {left * 100:.0f} % left, {self.reserve_fraction(account) * 100:.0f} % kept{own}"
            )
        return NoAccount(
            429,
            ApiErrorType.RATE_LIMIT,
            f"Quota protection held back every account that could serve {model} ({_list(held)}). "
            "Lower quota.reserve_percent (Settings > Quota protection; 0 turns it off) or the account's own "
            "reserve in the Accounts window to use the reserve.",
        )

    def _active_cooldown(self, account_id: str, model: str, now: float) -> _Cooldown | None:
        cooldown = self._cooldowns.get((account_id, model))
        if cooldown is None:
            return None
        if cooldown.until <= now:
            del self._cooldowns[(account_id, model)]
            return None
        return cooldown

    def _cool(self, account_id: str, model: str, until: float, *, hard: bool, kind: ErrorKind) -> None:
        """Cool (account, model) unless a harder or longer cooldown is already running.

        Concurrent requests report in any order: a 500 (soft) landing after a 429 (hard) must not make the
        account pickable again, nor a 5 s rate limit cut short an hour's quota refusal. Hard beats soft, then
        the later end wins, and its kind goes with it (views read QUOTA_EXHAUSTED as a refusal).
        """
        cooldown = _Cooldown(until, hard, kind)
        current = self._active_cooldown(account_id, model, self._clock())
        if current is None or (cooldown.hard, cooldown.until) > (current.hard, current.until):
            self._cooldowns[(account_id, model)] = cooldown

    def _remember_sticky(self, conversation_key: str, account_id: str) -> None:
        self._sticky[conversation_key] = account_id
        self._sticky.move_to_end(conversation_key)
        if len(self._sticky) > self._sticky_entries:
            self._sticky.popitem(last=False)

    def _back_off_model(self, model: str, now: float) -> float:
        failures = self._capacity_failures.get(model, 0) + 1
        self._capacity_failures[model] = failures
        first, largest = self._capacity_backoff_s
        base = min(first * 2 ** (failures - 1), largest)
        wait = base * (0.75 + 0.5 * self._rng())  # jitter, so waiting requests do not return in step
        self._capacity_until[model] = max(self._capacity_until.get(model, 0.0), now + wait)
        return self._capacity_until[model] - now

    async def _mark_exhausted(
        self, account: Account, model: str, error: UpstreamError, now: float, *, whole_window: bool = False
    ) -> None:
        """Cool the model (with `whole_window`, every model sharing a quota window with it) until the reset the
        refusal names, and record the model's quota as spent."""
        if error.reset_at is not None:
            reset_ts = error.reset_at.timestamp()
        elif error.retry_after is not None:
            reset_ts = now + error.retry_after
        else:
            reset_ts = now + QUOTA_DEFAULT_S
        # Kept in the pool too: an API-key account's quota refresh cannot report the exhaustion (the API
        # has no quota numbers), and the persisted copy lands a moment later.
        for refused in window_siblings(account, model) if whole_window else (model,):
            self._cool(account.id, refused, reset_ts, hard=True, kind=ErrorKind.QUOTA_EXHAUSTED)
        known = account.quotas.get(model)
        reset_at = datetime.fromtimestamp(reset_ts, UTC)
        quota = (
            dataclasses.replace(known, remaining_fraction=0.0, reset_at=reset_at)
            if known is not None
            else ModelQuota(model, remaining_fraction=0.0, reset_at=reset_at)
        )
        try:
            await self._accounts.set_model_quota(account.id, quota)
        except Exception:
            log.exception("Could not record the exhausted quota of %s for %s", account.name, model)
        if account.kind is AccountKind.GOOGLE:
            self._refresh_quota_later(account)

    def _refresh_quota_later(self, account: Account) -> None:
        if account.id in self._quota_refreshes:
            return
        task = asyncio.create_task(self._refresh_quota(account))
        self._quota_refreshes[account.id] = task
        task.add_done_callback(lambda _: self._quota_refreshes.pop(account.id, None))

    async def _refresh_quota(self, account: Account) -> None:
        try:
            await self._accounts.refresh_quota(account.id, force=False)  # at most once per interval
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a background refresh only improves the picture; never fail loudly
            log.warning("Quota refresh of %s failed: %s", account.name, exc)

    async def _set_status(self, account: Account, status: AccountStatus, reason: str) -> None:
        try:
            await self._accounts.set_status(account.id, status, reason)
        except Exception:  # the request still rotates away from it; the next failure tries to record it again
            log.exception("Could not record status %s for %s", status.value, account.name)

    def _no_account(
        self, model: str, all_accounts: list[Account], excluded: set[str] | frozenset[str], now: float
    ) -> NoAccount:
        if not all_accounts:
            return NoAccount(
                503,
                ApiErrorType.OVERLOADED,
                "No accounts yet: add one in the Accounts window or with `gravity-desk accounts add "
                "--refresh-token -` (asks for the token).",
            )
        usable = [account for account in all_accounts if account.usable]
        if not usable:
            return NoAccount(
                503,
                ApiErrorType.OVERLOADED,
                "No account can be used: " + _list(_why_unusable(account) for account in all_accounts) + ".",
            )
        offering = [account for account in usable if _offers(account, model)]
        if not offering:
            return self._model_not_offered(model, all_accounts, usable)
        # Every offering account that is not excluded is limited (else it had been picked); excluded ones
        # count too when they were limited while being tried, so the answer says when to come back.
        limited = [
            (self._free_at(account, model, now), account)
            for account in offering
            if account.id not in excluded or self._limited(account, model, now)
        ]
        if not limited:
            return NoAccount(
                503,
                ApiErrorType.OVERLOADED,
                f"Every account that offers {model} was already tried for this request: "
                f"{_list(account.name for account in offering)}.",
            )
        return _all_limited(model, limited, now)

    def _limited(self, account: Account, model: str, now: float) -> bool:
        cooldown = self._active_cooldown(account.id, model, now)
        return (cooldown is not None and cooldown.hard) or _exhausted(account, model, now)

    def _free_at(self, account: Account, model: str, now: float) -> float | None:
        """When a rate-limited or exhausted account is usable again; None when nobody knows."""
        times: list[float] = []
        cooldown = self._active_cooldown(account.id, model, now)
        if cooldown is not None and cooldown.hard:
            times.append(cooldown.until)
        if _exhausted(account, model, now):
            moment = datetime.fromtimestamp(now, UTC)
            quota = account.quotas.get(model)
            if quota is not None and quota.used_up(moment):
                if quota.reset_at is None:
                    return None
                times.append(quota.reset_at.timestamp())
            window_reset = account.window_reset_at(model, moment)
            if window_reset is not None:
                times.append(window_reset.timestamp())
            elif any(window.used_up(moment) for window in account.windows_for(model)):
                return None
        return max(times) if times else now

    def _model_not_offered(self, model: str, all_accounts: list[Account], usable: list[Account]) -> NoAccount:
        unusable_offering = [a for a in all_accounts if not a.usable and model in a.quotas]
        if unusable_offering:
            return NoAccount(
                503,
                ApiErrorType.OVERLOADED,
                f"{model} is offered only by accounts that cannot be used now: "
                + _list(_why_unusable(account) for account in unusable_offering)
                + ".",
            )
        available = sorted({name for account in usable for name in account.quotas})
        return NoAccount(
            404,
            ApiErrorType.NOT_FOUND,
            f"Model {model} is not offered by any account; available: {', '.join(available) or 'none'}.",
        )


def window_siblings(account: Account, model: str) -> list[str]:
    """`model` and every model a 5-hour or weekly window of this account covers together with it (the group's
    models in the catalogue: the summary's own lists, else quota.model_groups); just `model` without windows."""
    siblings = {model}
    for window in account.windows_for(model):
        siblings |= window.models
    return sorted(siblings)


def _offers(account: Account, model: str) -> bool:
    # An account whose catalogue was never read may well offer the model: let the upstream decide.
    return not account.quotas or model in account.quotas


def _exhausted(account: Account, model: str, now: float) -> bool:
    return account.quota_used_up(model, datetime.fromtimestamp(now, UTC))


def _remaining(account: Account, model: str, now: float) -> float:
    remaining = account.lowest_remaining(model, datetime.fromtimestamp(now, UTC))
    # API keys and unread catalogues report nothing: assume fresh rather than starve them.
    return 1.0 if remaining is None else remaining


def _why_unusable(account: Account) -> str:
    if not account.enabled:
        return f"{account.name} is disabled"
    if account.status is AccountStatus.NEEDS_SIGNIN:
        return f"{account.name} needs to sign in again (`gravity-desk accounts add` or the Accounts window)"
    if account.status is AccountStatus.BLOCKED:
        reason = f": {account.status_reason}" if account.status_reason else ""
        return f"{account.name} is blocked{reason}"
    return f"{account.name} is usable"


def _list(items: Iterable[str]) -> str:
    names = list(items)
    shown = "; ".join(names[:NAMES_IN_MESSAGE])
    if len(names) > NAMES_IN_MESSAGE:
        shown += f"; and {len(names) - NAMES_IN_MESSAGE} more"
    return shown


def _all_limited(model: str, limited: list[tuple[float | None, Account]], now: float) -> NoAccount:
    known = [(free_at, account) for free_at, account in limited if free_at is not None]
    names = _list(account.name for _, account in limited)
    if not known:
        return NoAccount(
            429,
            ApiErrorType.RATE_LIMIT,
            f"Every account that offers {model} is out of quota and no reset time is known ({names}); "
            "refresh the quota in the Accounts window or add another account.",
        )
    free_at, earliest = min(known, key=lambda item: item[0])
    seconds = max(1, math.ceil(free_at - now))
    when = datetime.fromtimestamp(free_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return NoAccount(
        429,
        ApiErrorType.RATE_LIMIT,
        f"Every account that offers {model} is rate-limited or out of quota ({names}). "
        f"The earliest, {earliest.name}, frees up at {when} (in {seconds} s).",
        retry_after=float(seconds),
    )
