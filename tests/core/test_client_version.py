"""core.client_version: the updater manifest raises upstream.client_version (never lowers it), off when unreachable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from core.client_version import ClientVersionCheck, manifest_url, parse_manifest_version, version_key
from core.cloudcode import CloudCodeClient
from core.config import UpstreamSettings
from core.upstream_http import UpstreamHTTP


class Manifest:
    """A local stand-in for the vendor's update server on 127.0.0.1 (port 0)."""

    def __init__(self) -> None:
        self.body = "version: 2.9.7\nfiles:\n  - url: Antigravity-2.9.7.zip\nreleaseDate: '2026-11-30'\n"
        self.status = 200
        self.paths: list[str] = []
        self.delay = 0.0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        await asyncio.sleep(self.delay)
        return web.Response(text=self.body, status=self.status)


@pytest.fixture
async def manifest() -> AsyncIterator[Manifest]:
    served = Manifest()
    app = web.Application()
    app.router.add_get("/{name}", served.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    served.url = f"http://{host}:{port}"
    yield served
    await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def test_manifest_parsing_and_version_order() -> None:
    assert parse_manifest_version("version: 2.10.0\npath: x\n") == "2.10.0"
    assert parse_manifest_version("files: []\nversion: '3.0.1'\n") == "3.0.1"
    assert parse_manifest_version('{"version": "2.9.4"}') == "2.9.4"
    assert parse_manifest_version("<html>not found</html>") is None
    assert parse_manifest_version("version: latest") is None
    assert version_key("2.9.10") > version_key("2.9.9") and version_key("2.9") == version_key("2.9.0")
    assert manifest_url("https://x.example/latest-{arch}-{os}.yml", "darwin/arm64").endswith(
        "latest-arm64-darwin.yml"
    )


async def test_a_newer_published_version_raises_the_setting_once_and_the_user_agent_follows(
    manifest: Manifest,
    http: aiohttp.ClientSession,
    upstream_http: UpstreamHTTP,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = UpstreamSettings(version_manifest_url=manifest.url + "/latest-{arch}-{os}.yml")
    client = CloudCodeClient(upstream_http, settings)
    check = ClientVersionCheck(http, settings)
    with caplog.at_level(logging.INFO, logger="core.client_version"):
        assert await check.check_once() == "2.9.7"
        assert await check.check_once() == "2.9.7"
    assert settings.client_version == "2.9.7" and check.published == "2.9.7"
    assert "2.9.7" in client.user_agent  # the next request already names it
    assert sum("raised" in record.getMessage() for record in caplog.records) == 1  # logged once
    assert manifest.paths[0].startswith("/latest-") and "{" not in manifest.paths[0]


async def test_an_older_published_version_never_lowers_it(
    manifest: Manifest, http: aiohttp.ClientSession
) -> None:
    manifest.body = "version: 2.8.0\n"
    settings = UpstreamSettings(version_manifest_url=manifest.url + "/latest.yml", client_version="2.9.1")
    assert await ClientVersionCheck(http, settings).check_once() == "2.8.0"
    assert settings.client_version == "2.9.1"


@pytest.mark.parametrize("fault", ["status", "garbage", "unreachable"])
async def test_an_unreachable_or_empty_manifest_keeps_the_version_and_says_so_once(
    manifest: Manifest, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    url = manifest.url + "/latest.yml"
    if fault == "status":
        manifest.status = 404
    elif fault == "garbage":
        manifest.body = "<html>gone</html>"
    else:
        url = "http://127.0.0.1:9/latest.yml"  # the discard port: nothing listens
    settings = UpstreamSettings(version_manifest_url=url)
    check = ClientVersionCheck(http, settings)
    with caplog.at_level(logging.INFO, logger="core.client_version"):
        assert await check.check_once() is None
        assert await check.check_once() is None
    assert settings.client_version == "2.9.1"
    assert sum("could not be read" in record.getMessage() for record in caplog.records) == 1


async def test_off_when_no_url_and_never_in_the_way_of_a_request(
    manifest: Manifest, http: aiohttp.ClientSession
) -> None:
    settings = UpstreamSettings()
    assert await ClientVersionCheck(http, settings).check_once() is None and manifest.paths == []
    # In the background, a slow manifest does not hold anything: the setting is read as it is meanwhile.
    manifest.delay = 0.5
    settings.version_manifest_url = manifest.url + "/latest.yml"
    check = ClientVersionCheck(http, settings)
    task = asyncio.create_task(check.run_forever())
    await asyncio.sleep(0.05)
    assert settings.client_version == "2.9.1" and not task.done()
    await asyncio.sleep(0.6)
    assert settings.client_version == "2.9.7"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
