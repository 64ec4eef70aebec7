"""Upstream calls per hour per Google account with default settings, on a time scale (1 h in 2 s).

Runs the real AccountService and Credentials against the fake Google with every time setting (token lifetime,
refresh interval, token margin, tier re-read) divided by SCALE, drives the periodic refresh as the app's loop
does, and counts each endpoint per account over more than two simulated days, so the daily tier re-read
(loadCodeAssist) shows. Prints what the README's polling table expects beside each figure.
`.venv/bin/python bench/bench_polling.py`
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import UpstreamSettings
from core.services import create_services
from tests.fake_google import FakeGoogle

SCALE = 1800.0  # one simulated hour = 2 s
HOURS = 49  # two daily tier re-reads per account (the sign-in's own lookup is not counted)
ACCOUNTS = 3
# Per account and hour with default settings, as the README's "How often each Google account is polled" says.
EXPECTED = {
    "token": "~1.3",  # tokens live ~1 h and are renewed 15 min early
    "loadCodeAssist": "~0.04",  # once per upstream.tier_refresh_hours (24)
    "fetchAvailableModels": "6",  # every upstream.quota_refresh_minutes (10)
    "retrieveUserQuotaSummary": "6",  # with each models read
}
METHODS = tuple(EXPECTED)


async def main() -> None:
    defaults = UpstreamSettings()
    async with FakeGoogle(access_token_ttl=3599 / SCALE, record=False) as fake:
        settings = fake.settings(Path(tempfile.mkdtemp()))
        settings.upstream.quota_refresh_minutes = defaults.quota_refresh_minutes / SCALE
        settings.upstream.token_refresh_margin_s = defaults.token_refresh_margin_s / SCALE
        settings.upstream.tier_refresh_hours = defaults.tier_refresh_hours / SCALE
        services = await create_services(settings, use_keyring=False)
        try:
            emails = [f"user{n}@example.com" for n in range(ACCOUNTS)]
            for email in emails:
                await services.accounts.add_google(fake.add_google_account(email).refresh_token)
            before = {(m, e): fake.count(m, e) for m in METHODS for e in emails}
            interval = settings.upstream.quota_refresh_minutes * 60.0
            end = time.monotonic() + HOURS * 3600 / SCALE
            while time.monotonic() < end:  # the app's loop: a round, then a sleep of one interval
                await services.accounts.refresh_all_quotas(force=False)
                await asyncio.sleep(interval)
        finally:
            await services.close()
    print(f"calls per hour per Google account, default settings ({HOURS} h simulated, {ACCOUNTS} accounts):")
    print(f"  {'call':<26} {'measured':>8}  expected")
    total = 0.0
    for method in METHODS:
        per_hour = sum(fake.count(method, e) - before[(method, e)] for e in emails) / ACCOUNTS / HOURS
        total += per_hour
        print(f"  {method:<26} {per_hour:8.2f}  {EXPECTED[method]}")
    print(f"  {'total':<26} {total:8.2f}  ~13.3")


if __name__ == "__main__":
    asyncio.run(main())
