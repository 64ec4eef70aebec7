"""The update check against a local fake releases server (aiohttp on 127.0.0.1): a newer version is told,
the same or an older one is not, a server that is down or answers garbage is logged once and crashes
nothing, it is off by default, and a day's answer is cached."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.config import UpdateSettings
from core.update_check import Release, UpdateChecker, app_version, newest_release, parse_version
from tests.fake_releases import FakeReleases


def _release(tag: str, **extra: Any) -> dict[str, Any]:
    return {"tag_name": tag, "html_url": f"https://example.invalid/releases/{tag}", **extra}


async def _checker(tmp_path: Path, url: str, current: str = "1.2.0") -> tuple[UpdateChecker, list[Release]]:
    http = aiohttp.ClientSession()
    checker = UpdateChecker(
        UpdateSettings(enabled=True, releases_url=url), http, tmp_path, current_version=current
    )
    told: list[Release] = []
    checker.add_listener(told.append)
    return checker, told


async def test_a_newer_release_is_told_once_with_its_page(tmp_path: Path, releases: FakeReleases) -> None:
    releases.body = [
        _release("v1.3.0-rc1", prerelease=True),
        _release("v1.2.5"),
        _release("v1.10.0"),
        _release("v2.0.0", draft=True),
    ]
    checker, told = await _checker(tmp_path, releases.url)
    try:
        found = await checker.check()
        assert found == Release("v1.10.0", "https://example.invalid/releases/v1.10.0")  # 1.10 > 1.2.5 > 1.2
        assert told == [found] and checker.available == found
        later = datetime.now(UTC) + timedelta(hours=1)
        assert await checker.check(now=later) == found
        assert releases.hits == 1  # a day's answer is cached (in the data folder)
        assert told == [found]  # and told once
        assert await checker.check(now=datetime.now(UTC) + timedelta(hours=25)) == found
        assert releases.hits == 2  # due again after a day
    finally:
        await checker._http.close()


@pytest.mark.parametrize("published", ["v1.2.0", "1.2", "v1.1.9", "v0.9.0"])
async def test_the_same_or_an_older_release_is_not_told(
    tmp_path: Path, releases: FakeReleases, published: str
) -> None:
    releases.body = _release(published)  # GitHub's releases/latest: one object
    checker, told = await _checker(tmp_path, releases.url)
    try:
        assert await checker.check() is None and told == [] and releases.hits == 1
    finally:
        await checker._http.close()


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b"<html>not json"),
        (200, b'{"message": "no tag"}'),
        (404, {"message": "Not Found"}),
        (200, b"\xff\xfe"),
    ],
)
async def test_garbage_is_no_update_and_no_crash(
    tmp_path: Path, releases: FakeReleases, status: int, body: Any
) -> None:
    releases.status, releases.body = status, body
    checker, told = await _checker(tmp_path, releases.url)
    try:
        assert await checker.check() is None and told == []
    finally:
        await checker._http.close()


async def test_a_server_that_is_down_is_logged_once(
    tmp_path: Path, releases: FakeReleases, caplog: pytest.LogCaptureFixture
) -> None:
    url = releases.url
    assert releases.runner is not None
    await releases.runner.cleanup()  # nothing listens there any more
    checker, told = await _checker(tmp_path, url)
    caplog.set_level(logging.DEBUG, logger="core.update_check")
    try:
        for hours in (0, 25, 50):
            assert await checker.check(now=datetime.now(UTC) + timedelta(hours=hours)) is None
    finally:
        await checker._http.close()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "updates.releases_url" in warnings[0].getMessage() and told == []


async def test_off_by_default_nothing_is_fetched(tmp_path: Path, releases: FakeReleases) -> None:
    releases.body = _release("v9.0.0")
    async with aiohttp.ClientSession() as http:
        settings = UpdateSettings(releases_url=releases.url)
        assert settings.enabled is False
        checker = UpdateChecker(settings, http, tmp_path, current_version="1.0.0")
        assert await checker.check() is None
        assert releases.hits == 0
        settings.enabled = True  # turned on in Settings: applies at the next round, no restart
        assert await checker.check() == Release("v9.0.0", "https://example.invalid/releases/v9.0.0")


def test_versions_and_the_running_one() -> None:
    assert parse_version("v1.2.3") == (1, 2, 3) and parse_version("nightly") is None
    unsafe = newest_release({"tag_name": "v1.0.0", "html_url": "javascript:alert(1)"}, "https://f/x")
    assert unsafe is not None and unsafe.url == "https://f/x"
    assert (
        app_version() is not None and parse_version(app_version() or "") is not None
    )  # gravity-desk is installed
