"""Runs the fake Google upstream in its own process for the benchmark; prints its address as one JSON line."""

from __future__ import annotations

import asyncio
import json
import sys

from tests.fake_google import FakeGoogle


async def main() -> None:
    fake = FakeGoogle(record=False)
    await fake.start()
    account = fake.add_google_account("bench@example.com", project_id="proj-bench")
    print(json.dumps({"base_url": fake.base_url, "refresh_token": account.refresh_token}), flush=True)
    try:
        await asyncio.get_running_loop().run_in_executor(
            None, sys.stdin.read
        )  # until the parent closes stdin
    finally:
        await fake.close()


if __name__ == "__main__":
    asyncio.run(main())
