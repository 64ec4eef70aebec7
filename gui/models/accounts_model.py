"""Read-only table model of the accounts: status, quota per model group, requests today, last used."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
)

from core.forecast import QuotaHistory
from core.log_reader import RequestLogReader
from core.models import MODEL_GROUPS, model_group
from core.pool import AccountPool
from core.types import Account, AccountKind, AccountStatus, LogEntry, QuotaWindow
from gui.controller import AppController
from gui.i18n import QT_TRANSLATE_NOOP, translate
from gui.tasks import run_task

log = logging.getLogger(__name__)

# Columns.
NAME, KIND, TIER, STATUS, QUOTA, REQUESTS_TODAY, LAST_USED = range(7)
HEADERS = (  # English; header_text() gives them in the current language
    QT_TRANSLATE_NOOP("AccountsModel", "Account"),
    QT_TRANSLATE_NOOP("AccountsModel", "Kind"),
    QT_TRANSLATE_NOOP("AccountsModel", "Tier"),
    QT_TRANSLATE_NOOP("AccountsModel", "Status"),
    QT_TRANSLATE_NOOP("AccountsModel", "Quota"),
    QT_TRANSLATE_NOOP("AccountsModel", "Today"),
    QT_TRANSLATE_NOOP("AccountsModel", "Last used"),
)
HEADER_TOOLTIPS = {
    5: QT_TRANSLATE_NOOP("AccountsModel", "Requests this account served today (since local midnight)")
}
# Model groups whose names are words rather than product names (core.models.MODEL_GROUPS).
_GROUP_WORDS = (QT_TRANSLATE_NOOP("AccountsModel", "Images"), QT_TRANSLATE_NOOP("AccountsModel", "Other"))

# Custom roles.
ACCOUNT_ID_ROLE = Qt.ItemDataRole.UserRole + 1  # str: the account id (every column)
QUOTA_ROLE = Qt.ItemDataRole.UserRole + 2  # list[QuotaBar] (QUOTA column), for the bar delegate
HEALTH_ROLE = Qt.ItemDataRole.UserRole + 3  # Health (STATUS column), for colours and icons
SORT_ROLE = Qt.ItemDataRole.UserRole + 4  # a value that sorts the column sensibly (least quota first, …)

TICK_MS = 5_000  # status texts and countdowns depend on the clock: repaint them this often

_ModelIndex = QModelIndex | QPersistentModelIndex
_KIND_TEXT = {
    AccountKind.GOOGLE: QT_TRANSLATE_NOOP("AccountsModel", "Google account"),
    AccountKind.API_KEY: QT_TRANSLATE_NOOP("AccountsModel", "API key"),
}
_BLOCKED_REASON_CHARS = 80


def header_text(column: int) -> str:
    """A column's header in the current language."""
    return translate("AccountsModel", HEADERS[column])


def group_name(group: str) -> str:
    """A model group's name to show: product names as they are, "Images" and "Other" translated."""
    return translate("AccountsModel", group) if group in _GROUP_WORDS else group


def kind_text(kind: AccountKind) -> str:
    return translate("AccountsModel", _KIND_TEXT[kind]) if kind in _KIND_TEXT else kind.value


class Health(StrEnum):
    """The headline state of an account, worst first in `status_of`."""

    OK = "ok"
    COOLING_DOWN = "cooling_down"
    EXHAUSTED = "exhausted"
    NEEDS_SIGNIN = "needs_signin"
    BLOCKED = "blocked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class QuotaBar:
    """One model group's quota: the least remaining of its models, and when that one resets."""

    group: str
    fraction: float | None  # 0.0-1.0; None when the upstream reports no numbers (API keys)
    reset_at: datetime | None
    models: tuple[str, ...]
    runs_out_at: datetime | None = None  # core/forecast.py: at the recent burn rate, before the reset
    window: str = ""  # "5h", "weekly": a bar of a retrieveUserQuotaSummary bucket, not of a model group

    def text(self, now: datetime) -> str:
        """E.g. "42% · resets in 3h 05m"; "no quota figures" when the upstream gives none."""
        if self.window:
            return window_text(self.fraction, self.reset_at, now)
        if self.fraction is None:
            return translate("AccountsModel", "no quota figures")
        percent = f"{round(self.fraction * 100)}%"
        if self.runs_out_at is not None:
            return translate("AccountsModel", "{percent} · runs out at ~{time}").format(
                percent=percent, time=clock_time(self.runs_out_at, now)
            )
        if self.reset_at is None or self.fraction >= 1.0:
            return percent
        return translate("AccountsModel", "{percent} · resets in {countdown}").format(
            percent=percent, countdown=countdown(self.reset_at, now)
        )

    def short_text(self, now: datetime) -> str:
        """The same for a narrow bar: "42% · 2h 59m"."""
        if self.window:
            return window_text(self.fraction, self.reset_at, now, short=True)
        if self.fraction is None:
            return translate("AccountsModel", "no figures")
        percent = f"{round(self.fraction * 100)}%"
        if self.runs_out_at is not None:
            return translate("AccountsModel", "{percent} · out ~{time}").format(
                percent=percent, time=clock_time(self.runs_out_at, now)
            )
        if self.reset_at is None or self.fraction >= 1.0:
            return percent
        return f"{percent} · {countdown(self.reset_at, now)}"


# -- presentation helpers (pure functions, tested directly) ------------------------------------------------


def window_text(
    fraction: float | None, reset_at: datetime | None, now: datetime, *, short: bool = False
) -> str:
    """A quota window's state: "25% · resets Tue 09:30 (in 2d 3h)"; the reset as local time and relative."""
    percent = translate("AccountsModel", "unknown") if fraction is None else f"{round(fraction * 100)}%"
    if reset_at is None or reset_at <= now:
        return percent
    if short:
        return translate("AccountsModel", "{percent} · {clock}").format(
            percent=percent, clock=clock_time(reset_at, now)
        )
    return translate("AccountsModel", "{percent} · resets {clock} (in {left})").format(
        percent=percent, clock=clock_time(reset_at, now), left=countdown(reset_at, now)
    )


_WINDOW_NAMES = (QT_TRANSLATE_NOOP("AccountsModel", "5h"), QT_TRANSLATE_NOOP("AccountsModel", "weekly"))


def window_name(window: QuotaWindow) -> str:
    """The window as people read it ("5h", "weekly", translated); an unknown one as Google names it."""
    return translate("AccountsModel", window.window) if window.window in _WINDOW_NAMES else window.window


def group_word(window: QuotaWindow) -> str:
    """The group's product word ("Gemini", "Claude"): Google's group names are English sentences."""
    words = window.group.split()
    return words[0] if words else window.group


def window_label(window: QuotaWindow) -> str:
    """A bar's short label: the group's first word and the window, "Gemini weekly", "Claude 5h"."""
    return f"{group_word(window)} {window_name(window)}"


def window_lines(account: Account, now: datetime) -> list[str]:
    """Every 5-hour / weekly window of the account for tooltips: "Gemini weekly: 0% · resets …"."""
    return [
        f"{window_label(window)}: {window_text(window.remaining(now), window.reset_at, now)}"
        for window in account.quota_windows
    ]


def quota_bars(
    account: Account,
    now: datetime,
    refused: Mapping[str, datetime] | None = None,
    history: QuotaHistory | None = None,
) -> list[QuotaBar]:
    """One bar per model group the account offers, in a fixed group order; a model core's health rule calls
    used up (read exhausted, an empty quota window, or refused by the upstream) shows as 0 until it comes back."""
    members: dict[str, list[str]] = {}
    for model in sorted(account.quotas):
        members.setdefault(model_group(model), []).append(model)
    bars: list[QuotaBar] = []
    for group in MODEL_GROUPS:
        models = members.get(group)
        if not models:
            continue
        lowest: tuple[float, datetime | None] | None = None
        lowest_model = ""
        for model in models:
            fraction, reset_at = account.standing(model, now, refused)  # its 5h / weekly windows included
            if fraction is None:
                continue
            if lowest is None or fraction < lowest[0]:
                lowest, lowest_model = (fraction, reset_at), model
        if lowest is None:
            bars.append(QuotaBar(group, None, None, tuple(models)))
            continue
        forecast = history.forecast(account, lowest_model, now) if history and lowest[0] > 0 else None
        runs_out_at = forecast.runs_out_at if forecast is not None else None
        bars.append(QuotaBar(group, lowest[0], lowest[1], tuple(models), runs_out_at))
    # A window gets its own bar once it is no longer full (every one is in the tooltip): a spent weekly
    # bucket must be visible even while each model's own quota still reads 100 %.
    for window in account.quota_windows:
        left = window.remaining(now)
        if left is None or left < 1.0:
            reset_at = None if window.reset_passed(now) else window.reset_at
            bars.append(
                QuotaBar(
                    window_label(window), left, reset_at, tuple(sorted(window.models)), window=window.window
                )
            )
    return bars


def tier_badge(account: Account) -> str:
    """A short tier name for the badge: "Ultra", "Pro", "Free", "API key"; the tooltip has the full one."""
    if account.kind is AccountKind.API_KEY:
        return translate("AccountsModel", "API key")
    tier = (account.tier or "").lower()
    if not tier:
        return translate("AccountsModel", "unknown")
    if "ultra" in tier:
        return "Ultra"
    if "pro" in tier or "standard" in tier or "enterprise" in tier:
        return "Pro"
    if "free" in tier or "individual" in tier or "legacy" in tier:
        return translate("AccountsModel", "Free")
    return account.tier or translate("AccountsModel", "unknown")


def countdown(moment: datetime, now: datetime) -> str:
    """Time left until `moment`: "2d 3h", "3h 05m", "12m", "less than a minute"."""
    seconds = int((moment - now).total_seconds())
    if seconds < 60:
        return translate("AccountsModel", "less than a minute")
    minutes = seconds // 60
    if minutes < 60:
        return translate("AccountsModel", "{minutes}m").format(minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return translate("AccountsModel", "{hours}h {minutes}m").format(hours=hours, minutes=f"{minutes:02d}")
    days, hours = divmod(hours, 24)
    return translate("AccountsModel", "{days}d {hours}h").format(days=days, hours=hours)


def clock_time(moment: datetime, now: datetime, *, seconds: bool = False) -> str:
    """A local time of day, with the weekday or date when it is not today: "14:05", "Tue 09:30"."""
    local, local_now = moment.astimezone(), now.astimezone()
    time_text = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    if local.date() == local_now.date():
        return time_text
    # Weekday and month names from Qt's locale (the app's language), not from the C library's.
    locale = QLocale()
    if abs((local.date() - local_now.date()).days) < 7:
        weekday = locale.dayName(local.isoweekday(), QLocale.FormatType.ShortFormat)
        return translate("AccountsModel", "{weekday} {time}").format(weekday=weekday, time=time_text)
    month = locale.monthName(local.month, QLocale.FormatType.ShortFormat)
    return translate("AccountsModel", "{day} {month} {time}").format(
        day=f"{local.day:02d}", month=month, time=time_text
    )


def last_used_text(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return translate("AccountsModel", "never")
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return translate("AccountsModel", "just now")
    if seconds < 3600:
        return translate("AccountsModel", "%n min ago", "", int(seconds // 60))
    return clock_time(moment, now)


def status_of(account: Account, pool: AccountPool, now: datetime) -> tuple[Health, str, str]:
    """(health, short text, tooltip) — the most serious thing first."""
    if not account.enabled:
        return (
            Health.DISABLED,
            translate("AccountsModel", "Disabled"),
            translate("AccountsModel", "Turned off: the gateway does not use this account."),
        )
    if account.status is AccountStatus.NEEDS_SIGNIN:
        detail = account.status_reason or translate(
            "AccountsModel", "Google no longer accepts this account's sign-in."
        )
        return (
            Health.NEEDS_SIGNIN,
            translate("AccountsModel", "Needs sign-in"),
            translate("AccountsModel", "{detail}\nUse “Sign in again” to fix it.").format(detail=detail),
        )
    if account.status is AccountStatus.BLOCKED:
        reason = account.status_reason or translate("AccountsModel", "Google refused this account")
        short = reason if len(reason) <= _BLOCKED_REASON_CHARS else reason[: _BLOCKED_REASON_CHARS - 1] + "…"
        return Health.BLOCKED, translate("AccountsModel", "Blocked: {reason}").format(reason=short), reason
    refused = pool.refusals(account.id)
    exhausted = {
        model: account.standing(model, now, refused)[1] for model in account.used_up_models(now, refused)
    }
    if exhausted:
        return _exhausted_status(account, exhausted, now)
    cooling = {
        model: until
        for model in account.quotas
        if (until := pool.cooldown_until(account.id, model)) is not None
    }
    if cooling:
        cooled_until = datetime.fromtimestamp(max(cooling.values()), UTC)
        models = ", ".join(sorted(cooling))
        return (
            Health.COOLING_DOWN,
            translate("AccountsModel", "Cooling down until {time}").format(
                time=clock_time(cooled_until, now, seconds=True)
            ),
            translate(
                "AccountsModel",
                "Google asked to slow down for {models} (a short rate limit); other accounts serve meanwhile.",
            ).format(models=models),
        )
    return Health.OK, translate("AccountsModel", "OK"), translate("AccountsModel", "Ready to serve requests.")


def _exhausted_status(
    account: Account, exhausted: dict[str, datetime | None], now: datetime
) -> tuple[Health, str, str]:
    known_resets = [reset for reset in exhausted.values() if reset is not None]
    tooltip = translate("AccountsModel", "Out of quota: {models}").format(
        models=", ".join(
            translate("AccountsModel", "{model} (back {time})").format(
                model=model, time=clock_time(reset, now)
            )
            if reset is not None
            else model
            for model, reset in sorted(exhausted.items())
        )
    )
    until = clock_time(min(known_resets), now) if known_resets else None
    if not account.quotas or set(account.quotas) <= set(exhausted):
        if until is None:
            return Health.EXHAUSTED, translate("AccountsModel", "Out of quota"), tooltip
        return (
            Health.EXHAUSTED,
            translate("AccountsModel", "Out of quota until {time}").format(time=until),
            tooltip,
        )
    which = (
        next(iter(exhausted))
        if len(exhausted) == 1
        else translate("AccountsModel", "%n models", "", len(exhausted))
    )
    if until is None:
        return (
            Health.EXHAUSTED,
            translate("AccountsModel", "Out of quota for {which}").format(which=which),
            tooltip,
        )
    text = translate("AccountsModel", "Out of quota for {which} until {time}").format(which=which, time=until)
    return Health.EXHAUSTED, text, tooltip


def local_midnight(now: datetime) -> datetime:
    local = now.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


class _RequestsToday:
    """Today's request count per account id: loaded once (off the loop), then kept up from live rows."""

    def __init__(self, log: RequestLogReader, on_change: Callable[[], None]) -> None:
        self._log = log
        self._on_change = on_change
        self._counts: Counter[str] = Counter()
        self._day: date = datetime.now().astimezone().date()
        self._boundary: int | None = None  # None while loading
        self._pending: list[LogEntry] = []
        self._generation = 0
        self.loaded = False

    def get(self, account_id: str) -> int:
        return self._counts.get(account_id, 0)

    def reload(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # built before the (qasync) loop runs: start once it does
            QTimer.singleShot(0, self.reload)
            return
        self._generation += 1
        generation = self._generation
        self._day = datetime.now().astimezone().date()
        self._boundary = None
        self.loaded = False
        run_task(self._load(generation))

    def roll_over_if_new_day(self) -> None:
        if datetime.now().astimezone().date() != self._day:
            self._counts = Counter()
            self._pending.clear()
            self.reload()
            self._on_change()

    def add(self, entries: list[LogEntry]) -> bool:
        """Count live rows; True when a count changed."""
        if self._boundary is None:
            self._pending.extend(entries)
            return False
        return self._count(entries)

    async def _load(self, generation: int) -> None:
        since = local_midnight(datetime.now(UTC))
        try:
            # Rows with a higher id than `boundary` are left to the live updates, so none is counted twice.
            by_account, boundary = await self._log.count_by_account(since)
            counts = Counter(by_account)
        except Exception as exc:  # the column stays empty; the app keeps working (e.g. closing at quit)
            log.warning("Could not count today's requests: %s", exc)
            return
        if generation != self._generation:
            return  # a newer reload started meanwhile
        self._counts, self._boundary = counts, boundary
        pending, self._pending = self._pending, []
        self._count(pending)
        self.loaded = True
        self._on_change()

    def _count(self, entries: list[LogEntry]) -> bool:
        assert self._boundary is not None
        since = local_midnight(datetime.now(UTC))
        changed = False
        for entry in entries:
            if entry.id is not None and entry.id <= self._boundary:
                continue  # already in the loaded count
            if entry.account_id and entry.started_at >= since:
                self._counts[entry.account_id] += 1
                changed = True
        return changed


class AccountsModel(QAbstractTableModel):
    """The accounts of `controller.services.accounts`, one row each, in the order they were added.

    Rows follow `controller.accounts_changed` with row inserts, removals and dataChanged (a reset only if
    the order itself changed). Time-dependent cells (status, countdowns, last used) are repainted every
    TICK_MS and when request-log rows arrive (a failed request may have cooled an account down).
    """

    def __init__(self, controller: AppController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self._accounts = controller.services.accounts
        self._pool = controller.services.pool
        self._ids: list[str] = [account.id for account in self._accounts.accounts()]
        self.history = QuotaHistory()  # quota readings over time, for the "runs out at" forecasts
        for account in self._accounts.accounts():
            self.history.record(account)
        self.requests_today = _RequestsToday(controller.services.log_reader, self._requests_changed)
        controller.accounts_changed.connect(self._on_account_changed)
        controller.log_rows_added.connect(self._on_log_rows)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._on_tick)
        self._timer.start()
        self.requests_today.reload()

    # -- Qt model API ---------------------------------------------------------------------------------

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation is Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(HEADERS):
            return header_text(section)
        if horizontal and role == Qt.ItemDataRole.ToolTipRole and section in HEADER_TOOLTIPS:
            return translate("AccountsModel", HEADER_TOOLTIPS[section])
        return None

    def flags(self, index: _ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        account = self.account_at(index.row()) if index.isValid() else None
        if account is None:
            return None
        column = index.column()
        if role == ACCOUNT_ID_ROLE:
            return account.id
        now = datetime.now(UTC)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(account, column, now)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(account, column, now)
        if role == QUOTA_ROLE and column == QUOTA:
            return quota_bars(account, now, self._pool.refusals(account.id), self.history)
        if role == SORT_ROLE:
            return self._sort_key(account, column, now)
        if role == HEALTH_ROLE and column == STATUS:
            return status_of(account, self._pool, now)[0]
        if role == Qt.ItemDataRole.TextAlignmentRole and column == REQUESTS_TODAY:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # -- for the page ---------------------------------------------------------------------------------

    def account_at(self, row: int) -> Account | None:
        if 0 <= row < len(self._ids):
            return self._accounts.get(self._ids[row])
        return None

    def row_of(self, account_id: str) -> int:
        """The row of an account, or -1."""
        try:
            return self._ids.index(account_id)
        except ValueError:
            return -1

    # -- internals ------------------------------------------------------------------------------------

    def _display(self, account: Account, column: int, now: datetime) -> Any:
        if column == NAME:
            # The label too, when the account has one besides its e-mail ("alice@… · work").
            return f"{account.email} · {account.label}" if account.email and account.label else account.name
        if column == KIND:
            return kind_text(account.kind)
        if column == TIER:
            return tier_badge(account)
        if column == STATUS:
            return status_of(account, self._pool, now)[1]
        if column == QUOTA:
            bars = quota_bars(account, now, self._pool.refusals(account.id), self.history)
            return " | ".join(f"{group_name(bar.group)} {bar.text(now)}" for bar in bars) or translate(
                "AccountsModel", "no models yet"
            )
        if column == REQUESTS_TODAY:
            return self.requests_today.get(account.id) if self.requests_today.loaded else "…"
        if column == LAST_USED:
            return last_used_text(account.last_used_at, now)
        return None

    def _sort_key(self, account: Account, column: int, now: datetime) -> Any:
        if column == STATUS:
            return list(Health).index(status_of(account, self._pool, now)[0])
        if column == QUOTA:
            known = [bar.fraction for bar in quota_bars(account, now, self._pool.refusals(account.id))]
            return min((f for f in known if f is not None), default=2.0)  # unknown sorts after full
        if column == REQUESTS_TODAY:
            return self.requests_today.get(account.id)
        if column == LAST_USED:
            return account.last_used_at.timestamp() if account.last_used_at else 0.0
        return str(self._display(account, column, now)).lower()

    def _tooltip(self, account: Account, column: int, now: datetime) -> str | None:
        if column in (NAME, TIER):
            lines = [
                account.name,
                translate("AccountsModel", "{kind}, tier: {tier}").format(
                    kind=kind_text(account.kind), tier=account.tier or "—"
                ),
            ]
            if account.project_id:
                lines.append(
                    translate("AccountsModel", "Project: {project}").format(project=account.project_id)
                )
            return "\n".join(lines)
        if column == STATUS:
            return status_of(account, self._pool, now)[2]
        if column == QUOTA:
            lines = [
                f"{group_name(bar.group)}: {bar.text(now)} ({', '.join(bar.models)})"
                for bar in quota_bars(account, now, self._pool.refusals(account.id), self.history)
            ]
            lines += window_lines(account, now)
            reserve = self._pool.reserve_fraction(account)
            if reserve > 0:
                own = self.tr(" (this account's own setting)") if account.reserve_percent is not None else ""
                lines.append(
                    self.tr("Quota protection: {percent}% of each group kept in reserve{own}").format(
                        percent=round(reserve * 100), own=own
                    )
                )
            if account.quota_updated_at is not None:
                lines.append(
                    translate("AccountsModel", "Checked {when}").format(
                        when=last_used_text(account.quota_updated_at, now)
                    )
                )
            return "\n".join(lines) or None
        if column == LAST_USED and account.last_used_at is not None:
            return account.last_used_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        return None

    def _on_account_changed(self, account_id: str) -> None:
        changed = self._accounts.get(account_id)
        if changed is None:
            self.history.forget(account_id)
        else:
            self.history.record(changed)
        current = [account.id for account in self._accounts.accounts()]
        if current != self._ids:
            self._apply_new_order(current)
        row = self.row_of(account_id)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))

    def _apply_new_order(self, current: list[str]) -> None:
        """Removals and inserts row by row, so views keep their selection and scroll position."""
        present = set(current)
        for account_id in [i for i in self._ids if i not in present]:
            row = self._ids.index(account_id)
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._ids[row]
            self.endRemoveRows()
        known = set(self._ids)
        if [i for i in current if i in known] != self._ids:
            self.beginResetModel()  # reordered: nothing does that today, but stay correct if it happens
            self._ids = list(current)
            self.endResetModel()
            return
        for row, account_id in enumerate(current):
            if row < len(self._ids) and self._ids[row] == account_id:
                continue
            self.beginInsertRows(QModelIndex(), row, row)
            self._ids.insert(row, account_id)
            self.endInsertRows()

    def _on_log_rows(self, entries: list[LogEntry]) -> None:
        if self.requests_today.add(entries):
            self._repaint_columns(REQUESTS_TODAY, REQUESTS_TODAY)
        self._repaint_columns(STATUS, QUOTA)
        self._repaint_columns(LAST_USED, LAST_USED)

    def _requests_changed(self) -> None:
        self._repaint_columns(REQUESTS_TODAY, REQUESTS_TODAY)

    def _on_tick(self) -> None:
        self.requests_today.roll_over_if_new_day()
        self._repaint_columns(STATUS, QUOTA)
        self._repaint_columns(LAST_USED, LAST_USED)

    def _repaint_columns(self, first: int, last: int) -> None:
        if self._ids:
            self.dataChanged.emit(self.index(0, first), self.index(len(self._ids) - 1, last))
