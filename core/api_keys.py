"""Named client API keys. The values stay where the one key always lived (config.toml's server.api_keys, a
private file, or GRAVITY_DESK_API_KEY); each key's name, creation date and last use live in the database,
under the key's id (a hash of the value, so the database never holds a usable key)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from core.config import ServerSettings, new_api_key
from core.redact import mask_secret

DEFAULT_KEY_NAME = "default"  # what the single key of earlier versions is called
KEY_ID_CHARS = 16
MAX_NAME_CHARS = 60


def key_id(value: str) -> str:
    """A key's stable id: the first 64 bits of its SHA-256 (keys carry 144 random bits: not reversible)."""
    return hashlib.sha256(value.encode()).hexdigest()[:KEY_ID_CHARS]


@dataclass(frozen=True)
class KeyRecord:
    """What the database keeps about a key (never its value)."""

    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None = None


@dataclass(frozen=True)
class ApiKey:
    """A configured key with its name and dates."""

    value: str = field(repr=False)
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None

    @property
    def masked(self) -> str:
        return mask_secret(self.value)


@dataclass(frozen=True)
class KeyMatch:
    """The key a request came with: enough for the request log, never the value."""

    id: str
    name: str


def clean_name(name: str) -> str:
    """A name as stored: one line, trimmed, bounded; ValueError when nothing is left."""
    cleaned = " ".join(name.split())[:MAX_NAME_CHARS]
    if not cleaned:
        raise ValueError("A key needs a name (for example the program that uses it).")
    return cleaned


def _unique(name: str, taken: set[str]) -> str:
    if name.lower() not in taken:
        return name
    number = 2
    while f"{name} {number}".lower() in taken:
        number += 1
    return f"{name} {number}"


def constant_time_index(presented: str | None, values: list[bytes]) -> int:
    """The position of `presented` among `values`, or -1. Every value is compared, whatever matched and
    where, and the position is computed without a branch on the comparisons, so timing tells nothing."""
    if presented is None:
        return -1
    candidate = presented.encode()
    found = -1
    for position, value in enumerate(values):
        equal = int(hmac.compare_digest(candidate, value))
        found = equal * position + (1 - equal) * found
    return found


class ApiKeyRing:
    """The keys the server accepts. Values are read live from the server settings (Settings' Apply takes
    effect at the next request); names and dates come from the database records given at start and are
    changed through this object, which says what to write back (records())."""

    def __init__(
        self, server: ServerSettings, records: list[KeyRecord], *, now: datetime | None = None
    ) -> None:
        self._server = server
        self._records: dict[str, KeyRecord] = {record.id: record for record in records}
        self._last_used: dict[str, datetime] = {
            record.id: record.last_used_at for record in records if record.last_used_at is not None
        }
        self._snapshot: tuple[str, ...] = ()
        self._values: list[bytes] = []
        self._matches: list[KeyMatch] = []
        self._name_new_keys(now or datetime.now(UTC))

    # -- reading ----------------------------------------------------------------------------------------

    def required(self) -> bool:
        """Whether requests need a key at all (no keys configured: authentication is off)."""
        return bool(self._server.api_keys)

    def configured(self) -> list[ApiKey]:
        """The configured keys in config order, named."""
        self._name_new_keys(datetime.now(UTC))
        keys = []
        for value in self._server.api_keys:
            record = self._records[key_id(value)]
            keys.append(
                ApiKey(value, record.id, record.name, record.created_at, self._last_used.get(record.id))
            )
        return keys

    def records(self) -> list[KeyRecord]:
        """The records of the configured keys, to save (last uses are saved by the request log)."""
        self._name_new_keys(datetime.now(UTC))
        return [self._records[key_id(value)] for value in self._server.api_keys]

    # -- the hot path -----------------------------------------------------------------------------------

    def match(self, presented: str | None) -> KeyMatch | None:
        """The configured key equal to `presented` (constant time over all of them), else None."""
        self._refresh_snapshot()
        position = constant_time_index(presented, self._values)
        return self._matches[position] if position >= 0 else None

    def mark_used(self, match: KeyMatch, when: datetime | None = None) -> None:
        """Remember a use in memory (the database gets it with the request's log row)."""
        self._last_used[match.id] = when or datetime.now(UTC)

    def _refresh_snapshot(self) -> None:
        current = tuple(self._server.api_keys)
        if current == self._snapshot:
            return
        self._name_new_keys(datetime.now(UTC))
        self._values = [value.encode() for value in current]
        self._matches = [KeyMatch(key_id(value), self._records[key_id(value)].name) for value in current]
        self._snapshot = current

    # -- changes ----------------------------------------------------------------------------------------

    def add(self, name: str, value: str | None = None) -> ApiKey:
        """A new key (generated unless given), named, accepted from now on."""
        value = value or new_api_key()
        taken = {record.name.lower() for record in self.records()}
        record = KeyRecord(key_id(value), _unique(clean_name(name), taken), datetime.now(UTC))
        self._records[record.id] = record
        self._server.api_keys = [*self._server.api_keys, value]
        self._snapshot = ()
        return ApiKey(value, record.id, record.name, record.created_at, None)

    def rename(self, identifier: str, name: str) -> None:
        taken = {record.name.lower() for record in self.records() if record.id != identifier}
        self._records[identifier] = replace(self._records[identifier], name=_unique(clean_name(name), taken))
        self._snapshot = ()

    def set_names(self, names: dict[str, str]) -> None:
        """Name configured keys by value (what Settings' Apply hands over); keys not named keep theirs."""
        now = datetime.now(UTC)
        for value, name in names.items():
            identifier = key_id(value)
            record = self._records.get(identifier)
            cleaned = clean_name(name)
            self._records[identifier] = (
                replace(record, name=cleaned) if record is not None else KeyRecord(identifier, cleaned, now)
            )
        self._snapshot = ()

    def revoke(self, identifier: str) -> None:
        """Stop accepting a key (its record goes with the next save)."""
        self._server.api_keys = [value for value in self._server.api_keys if key_id(value) != identifier]
        self._snapshot = ()  # the record stays until forget_unconfigured(), which says what to delete

    def forget_unconfigured(self) -> list[str]:
        """Drop the records of keys no longer configured; returns their ids (to delete from the database)."""
        configured = {key_id(value) for value in self._server.api_keys}
        gone = [identifier for identifier in self._records if identifier not in configured]
        for identifier in gone:
            del self._records[identifier]
            self._last_used.pop(identifier, None)
        return gone

    def _name_new_keys(self, now: datetime) -> None:
        """Give every configured key without a record one: the first key of an install that had no names
        (every earlier version) is "default", later ones "key 2", "key 3"."""
        for value in self._server.api_keys:
            identifier = key_id(value)
            if identifier in self._records:
                continue
            taken = {record.name.lower() for record in self._records.values()}
            name = DEFAULT_KEY_NAME if not taken else _unique("key", taken | {"key"})
            self._records[identifier] = KeyRecord(identifier, name, now)
