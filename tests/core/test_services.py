"""The shared upstream HTTP session: which system proxy it takes (aiohttp speaks only to HTTP proxies)."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core import services
from core.config import Settings, load_settings
from core.services import create_services, upstream_proxy
from core.types import LogEntry


class RecordingProxy:
    """A plain-HTTP proxy on loopback that answers every request itself and remembers its request line."""

    def __init__(self) -> None:
        self.request_lines: list[str] = []
        self.server: asyncio.Server | None = None
        self.address = ""

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.address = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.request_lines.append(head.split(b"\r\n", 1)[0].decode())
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nvia proxy")
        await writer.drain()
        writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[RecordingProxy]:
    recording = RecordingProxy()
    await recording.start()
    yield recording
    assert recording.server is not None
    recording.server.close()
    await recording.server.wait_closed()


async def test_upstream_calls_go_through_the_systems_http_proxy(
    proxy: RecordingProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = proxy.address
    monkeypatch.setattr(urllib.request, "getproxies", lambda: {"https": address, "http": address})
    session = services._http_session(Settings(home=tmp_path), upstream_proxy())
    try:
        async with session.get("http://upstream.invalid/v1internal:loadCodeAssist") as response:
            assert await response.text() == "via proxy"
    finally:
        await session.close()
    assert proxy.request_lines == ["GET http://upstream.invalid/v1internal:loadCodeAssist HTTP/1.1"]


def test_a_socks_only_system_proxy_is_left_out_with_a_warning_that_names_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # What Python's getproxies() reports on Windows when the system proxy is SOCKS only.
    with caplog.at_level(logging.WARNING, logger="core.services"):
        assert upstream_proxy({"https": "socks4://alice:s3cret@10.1.2.3:1080"}) is None
    assert "socks4" in caplog.text and "10.1.2.3" in caplog.text
    assert "s3cret" not in caplog.text and "alice" not in caplog.text


@pytest.mark.parametrize(
    ("proxies", "expected"),
    [
        ({"https": "http://proxy.corp:3128"}, "http://proxy.corp:3128"),
        ({"https": "HTTPS://proxy.corp:443"}, "HTTPS://proxy.corp:443"),
        ({"http": "http://only-for-http:3128"}, None),  # upstream calls are https
        ({}, None),
    ],
)
def test_http_proxies_are_taken_as_they_are(proxies: dict[str, str], expected: str | None) -> None:
    assert upstream_proxy(proxies) == expected


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
async def test_the_data_folder_and_every_file_in_it_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    (home / "config.toml").write_text("[server]\nport = 0\n", encoding="utf-8")
    (home / "config.toml").chmod(0o644)  # a hand-written file, as an existing install has it
    settings = load_settings(home)
    services = await create_services(settings, use_keyring=False)
    try:
        entry = LogEntry(protocol="openai", path="/v1/x", status=200)
        services.request_log.record(entry)
        await asyncio.to_thread(services.request_log.flush)
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in home.iterdir()}
    finally:
        await services.close()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert modes and all(mode & 0o077 == 0 for mode in modes.values()), modes
    assert {"config.toml", settings.database_path.name} <= modes.keys()
