"""Where the server listens: 127.0.0.1 and ::1 together, and what a failed bind says on each platform."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket

import aiohttp
import pytest

from server.runner import GatewayServer, _describe_bind_error
from tests.server.conftest import Gateway


def _ipv6_loopback_works() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6_loopback = pytest.mark.skipif(not _ipv6_loopback_works(), reason="this machine has no ::1")


async def _connects(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=5.0)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


@needs_ipv6_loopback
async def test_loopback_server_also_answers_on_ipv6_loopback_until_stopped(gateway: Gateway) -> None:
    # Windows and macOS resolve `localhost` to ::1 first; the README's http://localhost:8045 must work there.
    port = gateway.server.port
    assert gateway.url == f"http://127.0.0.1:{port}"
    url = f"http://[::1]:{port}/v1/models"
    async with gateway.http.get(url, headers=gateway.headers()) as response:
        assert response.status == 200
        assert (await response.json())["data"]
    await gateway.server.stop()
    assert not await _connects("127.0.0.1", port)
    assert not await _connects("::1", port)


@needs_ipv6_loopback
async def test_a_taken_ipv6_loopback_port_does_not_stop_the_ipv4_start(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    server = GatewayServer(gateway.services, shutdown_timeout=1.0)
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as blocker:
        blocker.bind(("::1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with caplog.at_level(logging.INFO, logger="server.runner"):
            result = await server.start("127.0.0.1", port)
        try:
            assert result.ok, result.error
            assert result.url == f"http://127.0.0.1:{port}"
            assert any("[::1]" in record.getMessage() for record in caplog.records)  # tried, and said so
            async with (
                aiohttp.ClientSession() as http,
                http.get(result.url + "/v1/models", headers=gateway.headers()) as response,
            ):
                assert response.status == 200
        finally:
            await server.stop()
    assert not await _connects("127.0.0.1", port)


async def test_a_non_loopback_host_gets_no_ipv6_loopback_site(gateway: Gateway) -> None:
    server = GatewayServer(gateway.services, shutdown_timeout=1.0)
    result = await server.start("127.0.0.2", 0)  # a loopback address, but not the default one
    try:
        assert result.ok, result.error
        assert not await _connects("::1", result.port)
    finally:
        await server.stop()


def test_access_denied_on_windows_means_a_reserved_port() -> None:
    # Hyper-V and WSL reserve port ranges on Windows; binding inside one fails with EACCES at any port number.
    denied = OSError(errno.EACCES, "An attempt was made to access a socket in a way forbidden")
    message = _describe_bind_error(denied, "127.0.0.1", 8045, platform="win32")
    assert "8045" in message and "reserved" in message
    assert "netsh int ipv4 show excludedportrange protocol=tcp" in message
    assert "above 1024" not in message


def test_access_denied_elsewhere_means_a_privileged_port() -> None:
    denied = OSError(errno.EACCES, "Permission denied")
    for platform in ("linux", "darwin"):
        message = _describe_bind_error(denied, "127.0.0.1", 80, platform=platform)
        assert "above 1024" in message and "netsh" not in message
