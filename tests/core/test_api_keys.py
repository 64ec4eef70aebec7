"""Named client API keys: the constant-time lookup, naming of keys from before names existed, one masking."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.api_keys import ApiKeyRing, KeyRecord, constant_time_index, key_id
from core.config import ServerSettings, new_api_key
from core.redact import mask_secret, redact
from core.store import Database


def test_constant_time_index_finds_every_position_and_nothing_else() -> None:
    values = [b"sk-gd-one", b"sk-gd-two", b"sk-gd-three"]
    assert [constant_time_index(v.decode(), values) for v in values] == [0, 1, 2]
    for wrong in (None, "", "sk-gd-one ", "sk-gd-tw", "SK-GD-ONE"):
        assert constant_time_index(wrong, values) == -1
    assert constant_time_index("sk-gd-one", []) == -1


def test_mask_shows_family_and_last_four_only() -> None:
    ours = new_api_key()
    assert mask_secret(ours) == f"gd-…{ours[-4:]}"
    google = "AIza" + "x" * 31 + "a1b2"
    assert mask_secret(google) == "AIza…a1b2"
    assert mask_secret("sk-" + "q" * 30 + "zz99") == "sk-…zz99"
    assert mask_secret("hunter2") == "…"  # short secrets show nothing of themselves
    assert mask_secret("") == "…"
    assert redact(ours) == "[redacted]"  # the value itself never reaches a log


def test_the_key_of_an_earlier_version_is_named_default_and_new_ones_numbered() -> None:
    server = ServerSettings(api_keys=["sk-gd-old-key-0123456789abcdef"])
    ring = ApiKeyRing(server, [])
    assert [key.name for key in ring.configured()] == ["default"]
    server.api_keys.append("sk-gd-hand-added-0123456789abc")  # e.g. written into config.toml by hand
    added = ring.add("editor")
    assert [key.name for key in ring.configured()] == ["default", "key 2", "editor"]
    assert ring.add("editor").name == "editor 2"  # names stay unique
    assert ring.match(added.value) is not None and ring.match(added.value).name == "editor"  # type: ignore[union-attr]
    ring.revoke(added.id)
    assert ring.match(added.value) is None
    assert added.value not in repr(ring.configured())  # values stay out of reprs (logs, tracebacks)


def test_records_survive_a_restart_and_last_use_comes_from_log_batches(tmp_path: Path) -> None:
    from core.types import LogEntry

    db = Database(tmp_path / "db.sqlite3")
    value = new_api_key()
    server = ServerSettings(api_keys=[value])
    ring = ApiKeyRing(server, db.list_api_keys())
    ring.rename(key_id(value), "  my   laptop ")
    db.save_api_keys(ring.records())
    match = ring.match(value)
    assert match is not None
    entries = [
        LogEntry(protocol="openai", path="/v1/models", key_name=match.name, key_id=match.id) for _ in range(3)
    ]
    db.insert_log_entries(entries)
    db.close()

    again = Database(tmp_path / "db.sqlite3")
    (record,) = again.list_api_keys()
    assert record.name == "my laptop" and record.last_used_at == max(e.started_at for e in entries)
    assert [row.key_name for row in again.query_log()] == ["my laptop"] * 3
    raw = (tmp_path / "db.sqlite3").read_bytes() + (tmp_path / "db.sqlite3-wal").read_bytes()
    assert value.encode() not in raw  # the database never holds a usable key
    # A later save (a rename) never moves the recorded last use back.
    again.save_api_keys([KeyRecord(record.id, "renamed", record.created_at)])
    assert again.list_api_keys()[0].last_used_at == record.last_used_at
    again.close()


def test_services_name_an_existing_single_key_default(tmp_path: Path) -> None:
    from core.config import load_settings
    from core.services import create_services

    settings = load_settings(tmp_path, apply_env=False)  # a first start: one generated key, no names yet
    (value,) = settings.server.api_keys

    async def start_and_stop() -> list[KeyRecord]:
        services = await create_services(settings, use_keyring=False)
        try:
            return await asyncio.to_thread(services.db.list_api_keys)
        finally:
            await services.close()

    (record,) = asyncio.run(start_and_stop())
    assert (record.id, record.name) == (key_id(value), "default")
