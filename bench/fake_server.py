"""Runs the fake Google upstream in its own process for the benchmarks; prints its address as one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from tests.fake_google import FakeGoogle


async def serve(chunk_delay: float) -> None:
    fake = FakeGoogle(record=False, chunk_delay=chunk_delay)
    await fake.start()
    account = fake.add_google_account("bench@example.com", project_id="proj-bench")
    print(json.dumps({"base_url": fake.base_url, "refresh_token": account.refresh_token}), flush=True)
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent hangs up
    finally:
        await fake.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between stream chunks")
    asyncio.run(serve(parser.parse_args().chunk_delay))
