"""SQLite storage (WAL): account metadata and the request log."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from core.api_keys import KeyRecord
from core.types import Account, AccountKind, AccountStatus, LogEntry, ModelQuota, QuotaWindow

BUSY_TIMEOUT_MS = 5000

# Each migration is a list of statements run in one transaction; PRAGMA user_version counts those applied.
# Append new migrations; never edit one that has shipped.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            email TEXT,
            label TEXT,
            project_id TEXT,
            tier TEXT,
            enabled INTEGER NOT NULL DEFAULT 1,
            status TEXT NOT NULL DEFAULT 'ok',
            status_reason TEXT NOT NULL DEFAULT '',
            quotas TEXT NOT NULL DEFAULT '{}',
            quota_updated_at TEXT,
            created_at TEXT NOT NULL,
            last_used_at TEXT
        )""",
        """CREATE TABLE request_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started_at TEXT NOT NULL,
            protocol TEXT NOT NULL,
            path TEXT NOT NULL,
            client_model TEXT NOT NULL DEFAULT '',
            upstream_model TEXT NOT NULL DEFAULT '',
            account TEXT NOT NULL DEFAULT '',
            status INTEGER NOT NULL DEFAULT 0,
            latency_ms REAL NOT NULL DEFAULT 0,
            ttfb_ms REAL,
            tokens_in INTEGER NOT NULL DEFAULT 0,
            tokens_out INTEGER NOT NULL DEFAULT 0,
            stream INTEGER NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '',
            request_body TEXT,
            response_body TEXT
        )""",
        # Filtered pages are "WHERE x = ? ORDER BY started_at DESC": with started_at second in each index
        # SQLite reads the page straight off the index instead of sorting every matching row.
        "CREATE INDEX request_log_started_at ON request_log (started_at)",
        "CREATE INDEX request_log_status ON request_log (status, started_at)",
        "CREATE INDEX request_log_client_model ON request_log (client_model, started_at)",
        "CREATE INDEX request_log_upstream_model ON request_log (upstream_model, started_at)",
        "CREATE INDEX request_log_account ON request_log (account, started_at)",
        "CREATE INDEX request_log_protocol ON request_log (protocol, started_at)",
    ],
    # The catalogue's retired-id forwards (`deprecatedModelIds`), so they hold before the first re-read.
    ["ALTER TABLE accounts ADD COLUMN model_forwards TEXT NOT NULL DEFAULT '{}'"],
    # Requests counted per account by its id: a name is not unique over time (remove and re-add an account).
    [
        "ALTER TABLE request_log ADD COLUMN account_id TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX request_log_account_id ON request_log (account_id, started_at)",
    ],
    # Named client API keys: the values stay in config.toml (private, like before), their names and dates
    # live here by key id (a hash of the value); each request-log row names the key it came with.
    [
        """CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_used_at TEXT
        )""",
        "ALTER TABLE request_log ADD COLUMN key_name TEXT NOT NULL DEFAULT ''",
    ],
    # 5-hour / weekly quota windows, the tier's id (free tiers read quota differently), quota protection.
    [
        "ALTER TABLE accounts ADD COLUMN quota_windows TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE accounts ADD COLUMN tier_id TEXT",
        "ALTER TABLE accounts ADD COLUMN reserve_percent REAL",
    ],
    # When the tier was last read (loadCodeAssist), so its daily re-read survives restarts.
    ["ALTER TABLE accounts ADD COLUMN tier_read_at TEXT"],
]

_LOG_COLUMNS = """started_at, protocol, path, client_model, upstream_model, account, status, latency_ms,
    ttfb_ms, tokens_in, tokens_out, stream, error, request_body, response_body, account_id, key_name"""
_LOG_PLACEHOLDERS = f"({', '.join('?' * 17)})"
_INSERT_LOG_HEAD = f"INSERT INTO request_log ({_LOG_COLUMNS}) VALUES"
_ROWS_PER_INSERT = 52  # 936 parameters with the id: under the 999 of SQLite builds older than 3.32
# Rows with the ids the request-log writer handed out; one already written (replayed from its journal after
# a crash) is left as it is.
_INSERT_NUMBERED_LOG_HEAD = f"INSERT INTO request_log (id, {_LOG_COLUMNS}) VALUES"
_NUMBERED_LOG_PLACEHOLDERS = f"({', '.join('?' * 18)})"
_LAST_LOG_ID = """SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'request_log'), 0),
    COALESCE((SELECT MAX(id) FROM request_log), 0))"""
_SELECT_LOG = f"SELECT id, {_LOG_COLUMNS} FROM request_log"  # noqa: S608 (constants only)
_NEWEST_FIRST = "ORDER BY started_at DESC, id DESC"
_DELETE_BEYOND_NEWEST = (
    f"DELETE FROM request_log WHERE id IN (SELECT id FROM request_log {_NEWEST_FIRST} LIMIT -1 OFFSET ?)"  # noqa: S608
)
_UPSERT_ACCOUNT = """
    INSERT INTO accounts (id, kind, email, label, project_id, tier, enabled, status, status_reason, quotas,
        quota_updated_at, created_at, last_used_at, model_forwards, quota_windows, tier_id, reserve_percent, tier_read_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET
        kind = excluded.kind, email = excluded.email, label = excluded.label, project_id = excluded.project_id,
        tier = excluded.tier, enabled = excluded.enabled, status = excluded.status,
        status_reason = excluded.status_reason, quotas = excluded.quotas,
        quota_updated_at = excluded.quota_updated_at, created_at = excluded.created_at,
        last_used_at = excluded.last_used_at, model_forwards = excluded.model_forwards,
        quota_windows = excluded.quota_windows, tier_id = excluded.tier_id,
        reserve_percent = excluded.reserve_percent, tier_read_at = excluded.tier_read_at"""


class DatabaseError(Exception):
    """The database cannot be used (e.g. it was written by a newer Gravity Desk)."""


@dataclass
class LogFilter:
    """Request-log query filters; None means no filter."""

    status: str | None = None  # "ok" (<400), "error" (>=400), or an exact code like "429"
    model: str | None = None  # matches client or upstream model
    account: str | None = None
    protocol: str | None = None
    text: str | None = None  # substring of path, models, account or error
    since: datetime | None = None  # started at or after

    def matches(self, entry: LogEntry) -> bool:
        """Whether `entry` is a row query_log would return for this filter (for rows not read from the DB)."""
        if self.since is not None and entry.started_at < _aware(self.since):
            return False
        if self.status and not _status_matches(self.status, entry.status):
            return False
        if self.model and self.model not in (entry.client_model, entry.upstream_model):
            return False
        if self.account and entry.account != self.account:
            return False
        if self.protocol and entry.protocol != self.protocol:
            return False
        if self.text:
            # LIKE ignores the case of ASCII letters only; lower() is the same for every text people type.
            needle = self.text.lower()
            fields = (entry.path, entry.client_model, entry.upstream_model, entry.account, entry.error)
            return any(needle in field.lower() for field in fields)
        return True


def _status_matches(wanted: str, status: int) -> bool:
    wanted = wanted.strip().lower()
    if wanted == "ok":
        return status < 400
    if wanted == "error":
        return status >= 400
    if wanted.isdigit():
        return status == int(wanted)
    raise ValueError(f"status filter must be 'ok', 'error' or a code, not {wanted!r}")


class HistogramBucket(NamedTuple):
    """Request-log totals for one time bucket (a plain tuple: start, requests, errors, tokens in, tokens out)."""

    start: datetime  # UTC, a multiple of the bucket size since the Unix epoch
    requests: int
    errors: int  # status >= 400, as LogFilter(status="error") counts them
    tokens_in: int
    tokens_out: int


# Buckets are counted in whole seconds since the epoch. started_at is fixed-width UTC, so its first 19
# characters are the whole seconds: cutting there keeps SQLite from rounding .9995 s up into the next
# bucket. strftime('%s'), not unixepoch() (SQLite 3.38+), for the older SQLite some Linux Pythons ship.
# The WHERE is a range on the started_at index.
_HISTOGRAM = """
    SELECT (CAST(strftime('%s', substr(started_at, 1, 19)) AS INTEGER) / ?) * ? AS bucket,
        COUNT(*), SUM(status >= 400), SUM(tokens_in), SUM(tokens_out)
    FROM request_log WHERE started_at >= ?
    GROUP BY bucket ORDER BY bucket"""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def to_db_time(value: datetime) -> str:
    """UTC ISO 8601 with a fixed width, so text order is time order (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _optional_time(value: str | None) -> datetime | None:
    return from_db_time(value) if value else None


def _quota_to_json(quota: ModelQuota) -> dict[str, Any]:
    return {
        "display_name": quota.display_name,
        "remaining_fraction": quota.remaining_fraction,
        "reset_at": to_db_time(quota.reset_at) if quota.reset_at else None,
        "max_output_tokens": quota.max_output_tokens,
        "supports_thinking": quota.supports_thinking,
        "supports_images": quota.supports_images,
    }


def _quota_from_json(model: str, raw: dict[str, Any]) -> ModelQuota:
    return ModelQuota(
        model=model,
        display_name=raw.get("display_name") or "",
        remaining_fraction=raw.get("remaining_fraction"),
        reset_at=_optional_time(raw.get("reset_at")),
        max_output_tokens=raw.get("max_output_tokens"),
        supports_thinking=bool(raw.get("supports_thinking")),
        supports_images=bool(raw.get("supports_images")),
    )


def _window_to_json(window: QuotaWindow) -> dict[str, Any]:
    return {
        "group": window.group,
        "window": window.window,
        "remaining_fraction": window.remaining_fraction,
        "reset_at": to_db_time(window.reset_at) if window.reset_at else None,
        "models": sorted(window.models),
        "bucket_id": window.bucket_id,
    }


def _window_from_json(raw: dict[str, Any]) -> QuotaWindow:
    return QuotaWindow(
        group=str(raw.get("group") or ""),
        window=str(raw.get("window") or ""),
        remaining_fraction=raw.get("remaining_fraction"),
        reset_at=_optional_time(raw.get("reset_at")),
        models=frozenset(raw.get("models") or ()),
        bucket_id=str(raw.get("bucket_id") or ""),
    )


def _account_row(account: Account) -> tuple[Any, ...]:
    quotas = {model: _quota_to_json(quota) for model, quota in account.quotas.items()}
    return (
        account.id,
        account.kind.value,
        account.email,
        account.label,
        account.project_id,
        account.tier,
        int(account.enabled),
        account.status.value,
        account.status_reason,
        json.dumps(quotas, sort_keys=True),
        to_db_time(account.quota_updated_at) if account.quota_updated_at else None,
        to_db_time(account.created_at),
        to_db_time(account.last_used_at) if account.last_used_at else None,
        json.dumps(account.model_forwards, sort_keys=True),
        json.dumps([_window_to_json(window) for window in account.quota_windows]),
        account.tier_id,
        account.reserve_percent,
        to_db_time(account.tier_read_at) if account.tier_read_at else None,
    )


def _account_from_row(row: sqlite3.Row) -> Account:
    quotas_raw: dict[str, dict[str, Any]] = json.loads(row["quotas"] or "{}")
    return Account(
        id=row["id"],
        kind=AccountKind(row["kind"]),
        email=row["email"],
        label=row["label"],
        project_id=row["project_id"],
        tier=row["tier"],
        enabled=bool(row["enabled"]),
        status=AccountStatus(row["status"]),
        status_reason=row["status_reason"],
        quotas={model: _quota_from_json(model, raw) for model, raw in quotas_raw.items()},
        quota_updated_at=_optional_time(row["quota_updated_at"]),
        created_at=from_db_time(row["created_at"]),
        last_used_at=_optional_time(row["last_used_at"]),
        model_forwards=json.loads(row["model_forwards"] or "{}"),
        quota_windows=tuple(_window_from_json(raw) for raw in json.loads(row["quota_windows"] or "[]")),
        tier_id=row["tier_id"],
        reserve_percent=row["reserve_percent"],
        tier_read_at=_optional_time(row["tier_read_at"]),
    )


def _log_row(entry: LogEntry) -> tuple[Any, ...]:
    return (
        to_db_time(entry.started_at),
        entry.protocol,
        entry.path,
        entry.client_model,
        entry.upstream_model,
        entry.account,
        entry.status,
        entry.latency_ms,
        entry.ttfb_ms,
        entry.tokens_in,
        entry.tokens_out,
        int(entry.stream),
        entry.error,
        entry.request_body,
        entry.response_body,
        entry.account_id,
        entry.key_name,
    )


def _log_entry_from_row(row: sqlite3.Row) -> LogEntry:
    return LogEntry(
        id=row["id"],
        started_at=from_db_time(row["started_at"]),
        protocol=row["protocol"],
        path=row["path"],
        client_model=row["client_model"],
        upstream_model=row["upstream_model"],
        account=row["account"],
        status=row["status"],
        latency_ms=row["latency_ms"],
        ttfb_ms=row["ttfb_ms"],
        tokens_in=row["tokens_in"],
        tokens_out=row["tokens_out"],
        stream=bool(row["stream"]),
        error=row["error"],
        request_body=row["request_body"],
        response_body=row["response_body"],
        account_id=row["account_id"],
        key_name=row["key_name"],
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(log_filter: LogFilter | None, *, with_model: bool = True) -> tuple[list[str], list[Any]]:
    """SQL conditions (joined with AND) and their parameters for a filter."""
    if log_filter is None:
        return [], []
    clauses: list[str] = []
    params: list[Any] = []
    if log_filter.status:
        status = log_filter.status.strip().lower()
        if status == "ok":
            clauses.append("status < 400")
        elif status == "error":
            clauses.append("status >= 400")
        elif status.isdigit():
            clauses.append("status = ?")
            params.append(int(status))
        else:
            raise ValueError(f"status filter must be 'ok', 'error' or a code, not {log_filter.status!r}")
    if log_filter.model and with_model:
        clauses.append("(client_model = ? OR upstream_model = ?)")
        params += [log_filter.model, log_filter.model]
    if log_filter.account:
        clauses.append("account = ?")
        params.append(log_filter.account)
    if log_filter.protocol:
        clauses.append("protocol = ?")
        params.append(log_filter.protocol)
    if log_filter.since is not None:
        clauses.append("started_at >= ?")
        params.append(to_db_time(log_filter.since))
    if log_filter.text:
        pattern = f"%{_escape_like(log_filter.text)}%"
        fields = ("path", "client_model", "upstream_model", "account", "error")
        clauses.append("(" + " OR ".join(f"{name} LIKE ? ESCAPE '\\'" for name in fields) + ")")
        params += [pattern] * len(fields)
    return clauses, params


def _where(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


def _page_query(log_filter: LogFilter | None, limit: int, offset: int) -> tuple[str, list[Any]]:
    """SQL for one page of the log, newest first.

    A model filter matches client_model OR upstream_model; SQLite answers such an OR by collecting every
    matching row and sorting them all. Instead each side reads only its newest `offset + limit` rows off
    its (model, started_at) index, and the union of the two short lists is sorted.
    """
    if log_filter is None or not log_filter.model:
        clauses, params = _conditions(log_filter)
        return f"{_SELECT_LOG}{_where(clauses)} {_NEWEST_FIRST} LIMIT ? OFFSET ?", [*params, limit, offset]
    clauses, params = _conditions(log_filter, with_model=False)
    branches: list[str] = []
    branch_params: list[Any] = []
    for column in ("client_model", "upstream_model"):
        branches.append(
            f"SELECT * FROM ({_SELECT_LOG}{_where([f'{column} = ?', *clauses])} {_NEWEST_FIRST} LIMIT ?)"  # noqa: S608
        )
        branch_params += [log_filter.model, *params, limit + offset]
    sql = f"{branches[0]} UNION {branches[1]} {_NEWEST_FIRST} LIMIT ? OFFSET ?"
    return sql, [*branch_params, limit, offset]


class Database:
    """Blocking sqlite3 API: call it from a worker thread (asyncio.to_thread), never on the event loop.
    Safe to use from several threads (one connection per thread)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._closed = False
        # Operations in progress, so close() can wait for them: closing a connection while its thread
        # is inside sqlite crashes the interpreter (seen when a cancelled to_thread write was still running).
        self._active = 0
        self._idle = threading.Condition()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate(self._connection())

    @property
    def path(self) -> Path:
        return self._path

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        if self._closed:
            raise DatabaseError("The database is closed")
        # check_same_thread=False only so close() can close every thread's connection; each connection is
        # still used by the one thread that opened it. isolation_level=None: transactions are explicit.
        connection = sqlite3.connect(
            self._path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")  # durable across app crashes; WAL's usual pairing
        with self._connections_lock:
            self._connections.append(connection)
        self._local.connection = connection
        return connection

    @contextmanager
    def _in_use(self) -> Iterator[sqlite3.Connection]:
        with self._idle:
            if self._closed:
                raise DatabaseError("The database is closed")
            self._active += 1
        try:
            yield self._connection()
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _fetch(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._in_use() as connection:
            return connection.execute(sql, params).fetchall()

    @contextmanager
    def _transaction(self, *, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        with self._in_use() as connection:
            yield from self._transaction_on(connection, immediate=immediate)

    def _transaction_on(
        self, connection: sqlite3.Connection, *, immediate: bool
    ) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so two writers wait on busy_timeout instead of deadlocking.
        connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield connection
        except BaseException:
            if connection.in_transaction:  # some errors (e.g. SQLITE_FULL) already rolled it back
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _migrate(self, connection: sqlite3.Connection) -> None:
        with self._transaction(immediate=True):
            version: int = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise DatabaseError(
                    f"{self._path} was written by a newer Gravity Desk (schema {version}); update the app"
                )
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    def list_accounts(self) -> list[Account]:
        """Every account, in the order they were added."""
        rows = self._fetch("SELECT * FROM accounts ORDER BY created_at, rowid")
        return [_account_from_row(row) for row in rows]

    def save_account(self, account: Account) -> None:
        """Insert or update (an update keeps the row, so the order of accounts does not change)."""
        self.save_accounts([account])

    def save_accounts(self, accounts: list[Account]) -> None:
        """save_account for several accounts in one transaction."""
        rows = [_account_row(account) for account in accounts]
        with self._transaction(immediate=True) as connection:
            connection.executemany(_UPSERT_ACCOUNT, rows)

    def delete_account(self, account_id: str) -> None:
        with self._transaction(immediate=True) as connection:
            connection.execute("DELETE FROM accounts WHERE id = ?", (account_id,))

    def list_api_keys(self) -> list[KeyRecord]:
        """The names and dates of the client keys, oldest first."""
        rows = self._fetch("SELECT * FROM api_keys ORDER BY created_at, rowid")
        return [
            KeyRecord(
                row["id"], row["name"], from_db_time(row["created_at"]), _optional_time(row["last_used_at"])
            )
            for row in rows
        ]

    def save_api_keys(self, records: list[KeyRecord], *, deleted: Sequence[str] = ()) -> None:
        """Insert or rename the records and delete those of revoked keys, in one transaction. Last uses are
        the request-log writer's to record, so an update never moves them back."""
        rows = [(record.id, record.name, to_db_time(record.created_at)) for record in records]
        with self._transaction(immediate=True) as connection:
            connection.executemany(
                "INSERT INTO api_keys (id, name, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                rows,
            )
            connection.executemany("DELETE FROM api_keys WHERE id = ?", [(key,) for key in deleted])

    def insert_log_entries(
        self, entries: list[LogEntry], ids: Sequence[int] | None = None, *, replay: bool = False
    ) -> list[int]:
        """Insert in one transaction; the ids the rows got, in order.

        Without `ids` the rows are numbered here and each entry's id is set. With them (the request-log
        writer's, increasing) the rows get those ids — moved above the last one if another writer took them
        meanwhile; with `replay` (entries a crash left in the journal) a row already there is left as it is
        and its entry is not written again.
        """
        if not entries:
            return []
        rows = [_log_row(entry) for entry in entries]
        # A key's last use rides on the batch that logs it: one UPDATE per key per batch, none per request.
        last_use: dict[str, str] = {}
        for entry, row in zip(entries, rows, strict=True):
            if entry.key_id:
                last_use[entry.key_id] = max(last_use.get(entry.key_id, ""), row[0])
        with self._transaction(immediate=True) as connection:
            if ids is None:
                numbered = self._insert_unnumbered(connection, rows)
            else:
                numbered = list(ids)
                if not replay and numbered and numbered[0] <= (floor := self._last_log_id_on(connection)):
                    numbered = list(range(floor + 1, floor + 1 + len(rows)))
                self._insert_numbered(connection, rows, numbered, keep_existing=replay)
            connection.executemany(
                "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                [(moment, key_id, moment) for key_id, moment in last_use.items()],
            )
        # Ids are handed out only once the transaction committed, so a rollback leaves entries untouched.
        if ids is None:
            for entry, row_id in zip(entries, numbered, strict=True):
                entry.id = row_id
        return numbered

    # Many rows per statement: each statement hands the GIL back and waits to get it again, up to a switch
    # interval (5 ms) while the event loop is busy.
    @staticmethod
    def _insert_unnumbered(connection: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> list[int]:
        numbered: list[int] = []
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start : start + _ROWS_PER_INSERT]
            values = ", ".join([_LOG_PLACEHOLDERS] * len(chunk))
            cursor = connection.execute(f"{_INSERT_LOG_HEAD} {values}", [v for row in chunk for v in row])
            last = cursor.lastrowid
            assert last is not None
            # One statement numbers its rows in order (AUTOINCREMENT, no other writer inside BEGIN IMMEDIATE).
            numbered += range(last - len(chunk) + 1, last + 1)
        return numbered

    @staticmethod
    def _insert_numbered(
        connection: sqlite3.Connection, rows: list[tuple[Any, ...]], ids: list[int], *, keep_existing: bool
    ) -> None:
        conflict = " ON CONFLICT(id) DO NOTHING" if keep_existing else ""
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = zip(
                ids[start : start + _ROWS_PER_INSERT], rows[start : start + _ROWS_PER_INSERT], strict=True
            )
            values = [value for row_id, row in chunk for value in (row_id, *row)]
            placeholders = ", ".join([_NUMBERED_LOG_PLACEHOLDERS] * (len(values) // 18))
            connection.execute(f"{_INSERT_NUMBERED_LOG_HEAD} {placeholders}{conflict}", values)

    def last_log_id(self) -> int:
        """The highest request-log id ever handed out (AUTOINCREMENT's own record; pruned rows count)."""
        with self._in_use() as connection:
            return self._last_log_id_on(connection)

    @staticmethod
    def _last_log_id_on(connection: sqlite3.Connection) -> int:
        found = connection.execute(_LAST_LOG_ID).fetchone()
        return int(found[0])

    def query_log(
        self, log_filter: LogFilter | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[LogEntry]:
        """Newest first."""
        sql, params = _page_query(log_filter, limit, offset)
        rows = self._fetch(sql, params)
        return [_log_entry_from_row(row) for row in rows]

    def get_log_entry(self, entry_id: int) -> LogEntry | None:
        found = self._fetch(f"{_SELECT_LOG} WHERE id = ?", (entry_id,))
        row = found[0] if found else None
        return _log_entry_from_row(row) if row is not None else None

    def count_log(self, log_filter: LogFilter | None = None) -> int:
        clauses, params = _conditions(log_filter)
        sql = "SELECT COUNT(*) FROM request_log" + _where(clauses)  # noqa: S608 (constants only)
        count: int = self._fetch(sql, params)[0][0]
        return count

    def log_histogram(self, since: datetime, bucket_seconds: int) -> list[HistogramBucket]:
        """Totals per `bucket_seconds` of the requests started at or after `since`, oldest first.

        Buckets are aligned to multiples of `bucket_seconds` since the epoch (hours start on the hour), and
        only buckets with requests are returned: the caller fills the gaps it wants to draw.
        """
        if bucket_seconds <= 0:
            raise ValueError("bucket_seconds must be positive")
        size = int(bucket_seconds)
        rows = self._fetch(_HISTOGRAM, (size, size, to_db_time(since)))
        return [
            HistogramBucket(datetime.fromtimestamp(row[0], UTC), row[1], row[2], row[3], row[4])
            for row in rows
        ]

    def count_by_account(self, since: datetime) -> tuple[dict[str, int], int]:
        """Requests per account id started at or after `since`, and the newest row id the counts include
        (so a caller can add later rows itself without counting one twice). One read transaction."""
        with self._transaction() as connection:
            newest = connection.execute("SELECT COALESCE(MAX(id), 0) FROM request_log").fetchone()[0]
            rows = connection.execute(
                "SELECT account_id, COUNT(*) FROM request_log"
                " WHERE started_at >= ? AND id <= ? AND account_id != '' GROUP BY account_id",
                (to_db_time(since), newest),
            ).fetchall()
        return {row[0]: row[1] for row in rows}, int(newest)

    def leave_checkpoints_to_others(self) -> None:
        """This thread's commits no longer copy the WAL into the database (SQLite's auto-checkpoint, with
        its fsync): for a thread whose commits must be quick; another thread calls checkpoint()."""
        with self._in_use() as connection:
            connection.execute("PRAGMA wal_autocheckpoint = 0")

    def checkpoint(self) -> None:
        """Copy committed WAL pages into the database without waiting for readers or blocking writers."""
        with self._in_use() as connection:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def prune_log(self, retention_days: int, max_rows: int) -> int:
        """Delete rows older than retention_days and beyond the newest max_rows; returns rows deleted.
        A value <= 0 turns that limit off."""
        deleted = 0
        with self._transaction(immediate=True) as connection:
            if retention_days > 0:
                cutoff = to_db_time(datetime.now(UTC) - timedelta(days=retention_days))
                deleted += connection.execute(
                    "DELETE FROM request_log WHERE started_at < ?", (cutoff,)
                ).rowcount
            if max_rows > 0:
                deleted += connection.execute(_DELETE_BEYOND_NEWEST, (max_rows,)).rowcount
        return deleted

    def clear_log(self) -> None:
        with self._transaction(immediate=True) as connection:
            connection.execute("DELETE FROM request_log")

    def close(self, timeout: float = 10.0) -> None:
        """Wait for operations in progress, then close every thread's connection; later calls raise."""
        with self._idle:
            self._closed = True
            self._idle.wait_for(lambda: self._active == 0, timeout)
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()
