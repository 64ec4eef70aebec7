"""Who owns what: service creation that fails half way leaves nothing open, and close() runs every cleanup."""

from __future__ import annotations

import gc
import os
import sqlite3
import sys
import threading
from pathlib import Path

import aiohttp
import pytest

from core.config import Settings
from core.pool import AccountPool
from core.services import create_services
from core.store import Database, DatabaseError
from core.types import Account, AccountKind

WRITER_THREAD = "request-log-writer"


def open_sessions() -> list[aiohttp.ClientSession]:
    return [o for o in gc.get_objects() if isinstance(o, aiohttp.ClientSession) and not o.closed]


def open_files_under(folder: Path) -> list[str]:
    """Paths under `folder` this process holds open (Linux: /proc/self/fd)."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            held.append(target)
    return held


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WRITER_THREAD and t.is_alive()]


def damage_an_account_row(settings: Settings) -> None:
    """An account whose stored quotas are not JSON: loading the accounts, the last step, fails."""
    db = Database(settings.database_path)
    db.save_account(Account(id="acct-1", kind=AccountKind.GOOGLE, email="a@example.com"))
    db.close()
    with sqlite3.connect(settings.database_path) as raw:
        raw.execute("UPDATE accounts SET quotas = '{not json'")
    raw.close()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/fd")
async def test_a_failure_half_way_through_creation_leaves_nothing_open(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    settings.home.mkdir()
    damage_an_account_row(settings)
    sessions_before = len(open_sessions())
    assert writer_threads() == []
    assert open_files_under(settings.home) == []

    with pytest.raises(ValueError):  # json.JSONDecodeError, from AccountService.load
        await create_services(settings, use_keyring=False)

    assert writer_threads() == []
    assert len(open_sessions()) == sessions_before
    assert open_files_under(settings.home) == []


async def test_an_unusable_database_path_after_the_folder_was_made_leaves_nothing_open(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path / "home")
    settings.home.mkdir()
    settings.database_path.mkdir()  # a folder where the database file should be: sqlite cannot open it
    sessions_before = len(open_sessions())

    with pytest.raises(sqlite3.Error):
        await create_services(settings, use_keyring=False)

    assert writer_threads() == []
    assert len(open_sessions()) == sessions_before


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/fd")
async def test_close_runs_every_cleanup_even_when_one_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pool's cleanup runs first (last made); a bug there must not keep the rest open.
    async def broken_close(_pool: AccountPool) -> None:
        raise RuntimeError("pool cleanup bug")

    monkeypatch.setattr(AccountPool, "close", broken_close)
    settings = Settings(home=tmp_path / "home")
    services = await create_services(settings, use_keyring=False)
    assert writer_threads() != []
    assert not services.http.closed
    assert open_files_under(settings.home) != []

    with pytest.raises(RuntimeError, match="pool cleanup bug"):
        await services.close()

    assert writer_threads() == []
    assert services.http.closed
    assert open_files_under(settings.home) == []


async def test_a_clean_close_closes_everything(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    services = await create_services(settings, use_keyring=False)
    services.start_background()
    await services.close()
    assert writer_threads() == []
    assert services.http.closed
    with pytest.raises(DatabaseError, match="closed"):
        services.db.list_accounts()
