"""Several named client keys against the real server: each accepted, a revoked one refused, the request log
names the key (never its value), and every place that shows a key shows it masked the same way."""

from __future__ import annotations

import asyncio

from core.redact import mask_secret
from tests.server.conftest import API_KEY, Gateway


async def _status(gateway: Gateway, key: str) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    async with gateway.http.get(gateway.url + "/v1/models", headers=headers) as response:
        return response.status


async def test_two_named_keys_are_accepted_and_a_revoked_one_refused(gateway: Gateway) -> None:
    ring = gateway.services.api_keys
    ring.rename(ring.configured()[0].id, "editor")
    second = ring.add("batch jobs")
    await gateway.services.save_api_keys()
    assert await _status(gateway, API_KEY) == 200
    assert await _status(gateway, second.value) == 200
    assert await _status(gateway, second.value + "x") == 401
    ring.revoke(second.id)
    await gateway.services.save_api_keys()
    assert await _status(gateway, second.value) == 401
    assert await _status(gateway, API_KEY) == 200

    rows = await gateway.log_rows()  # newest first
    assert [(row.status, row.key_name) for row in rows] == [
        (200, "editor"),
        (401, ""),  # the revoked key
        (401, ""),  # a wrong one
        (200, "batch jobs"),
        (200, "editor"),
    ]
    assert all(second.value not in repr(row) and API_KEY not in repr(row) for row in rows)
    records = await asyncio.to_thread(gateway.services.db.list_api_keys)
    assert [record.name for record in records] == ["editor"] and records[0].last_used_at is not None


async def test_keys_are_masked_alike_in_the_cli_banner(gateway: Gateway, capsys) -> None:  # type: ignore[no-untyped-def]
    from gravity_desk import _announce

    gateway.services.api_keys.add("cli")
    _announce(gateway.services, gateway.url)
    printed = capsys.readouterr().err
    for key in gateway.services.api_keys.configured():
        assert key.value not in printed and f"{key.name} {mask_secret(key.value)}" in printed
