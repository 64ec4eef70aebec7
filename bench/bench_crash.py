"""Crash window of the request log: `kill -9` the gateway under 16-client load, then count the requests the
clients saw answered that have no row in the database, both right after the kill (what SQLite had committed)
and after the gateway's next start (which writes what the crash left in the request-log journal).

The fake upstream and the gateway (`gravity-desk serve`) run in their own processes, as in bench_gateway.py.
Every request names its own model (`crash-<round>-<client>-<n>`, served by a `[models]` wildcard rule), so
each answered request is looked up by name in the request log after the kill. The window is how far back
from the kill the oldest lost answer was received: the traffic a crash loses.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_gateway import API_KEY, MODEL, Processes  # noqa: E402
from core.config import save_settings  # noqa: E402
from tests.fake_google import settings_pointed_at  # noqa: E402


@dataclass
class Round:
    """What one kill found."""

    answered: int
    lost: int
    window_ms: float  # age at the kill of the oldest answered request with no row (0 when none was lost)
    rate_per_ms: float  # answers per millisecond over the last second before the kill
    intact: bool = True
    lost_ages_ms: list[float] = field(default_factory=list)
    uncommitted: int = 0  # answered without a committed row at the kill, before the restart recovered them


def configure(processes: Processes, fake: dict[str, str]) -> None:
    """The bench's account and key, plus the wildcard rule that lets every request carry its own name."""
    processes.configure(fake)
    settings = settings_pointed_at(processes.home, fake["base_url"])
    settings.server.api_keys = [API_KEY]
    settings.models = {"crash-*": MODEL}
    save_settings(settings)


async def load_then_kill(
    url: str, pid: int, tag: str, clients: int, seconds: float
) -> tuple[dict[str, float], float]:
    """Run `clients` clients for `seconds`, SIGKILL the gateway; each answered model name -> answer time."""
    answered: dict[str, float] = {}
    killed = asyncio.Event()
    headers = {"Authorization": f"Bearer {API_KEY}"}

    async def client(http: aiohttp.ClientSession, number: int) -> None:
        sequence = 0
        while not killed.is_set():
            sequence += 1
            name = f"crash-{tag}-{number}-{sequence}"
            body = {"model": name, "messages": [{"role": "user", "content": "hello"}]}
            try:
                async with http.post(url + "/v1/chat/completions", json=body, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        answered[name] = time.perf_counter()
            except (TimeoutError, aiohttp.ClientError):
                if killed.is_set():
                    return
                raise

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as http:
        tasks = [asyncio.create_task(client(http, n)) for n in range(clients)]
        await asyncio.sleep(seconds)
        killed_at = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        killed.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {name: at for name, at in answered.items() if at <= killed_at}, killed_at


def logged_models(database: Path, tag: str) -> tuple[set[str], bool]:
    """The client model names of this round's rows, and whether the database passed its integrity check."""
    with sqlite3.connect(database) as db:
        intact = db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute(
            "SELECT client_model FROM request_log WHERE client_model LIKE ?", (f"crash-{tag}-%",)
        )
        return {row[0] for row in rows}, intact


def one_round(processes: Processes, index: int, clients: int, seconds: float) -> Round:
    url = processes.start_gateway()
    gateway = processes.children[-1]
    tag = f"r{index}"
    answered, killed_at = asyncio.run(load_then_kill(url, gateway.pid, tag, clients, seconds))
    gateway.wait(10)
    processes.children.remove(gateway)
    database = processes.home / "gravity-desk.sqlite3"
    committed, intact = logged_models(database, tag)
    # The next start writes what the journal kept; a clean stop then flushes it.
    processes.start_gateway()
    restarted = processes.children.pop()
    restarted.terminate()
    restarted.wait(30)
    in_db, intact_after = logged_models(database, tag)
    lost = {name: at for name, at in answered.items() if name not in in_db}
    ages = sorted((killed_at - at) * 1000.0 for at in lost.values())
    last_second = sum(1 for at in answered.values() if killed_at - at <= 1.0)
    return Round(
        answered=len(answered),
        lost=len(lost),
        window_ms=ages[-1] if ages else 0.0,
        rate_per_ms=last_second / 1000.0,
        intact=intact and intact_after,
        lost_ages_ms=ages,
        uncommitted=sum(1 for name in answered if name not in committed),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0, help="load before each kill")
    parser.add_argument("--rounds", type=int, default=5, help="kills (a fresh gateway each, same database)")
    args = parser.parse_args()

    processes = Processes()
    rounds: list[Round] = []
    try:
        fake = processes.start_fake()
        configure(processes, fake)
        for index in range(args.rounds):
            rounds.append(one_round(processes, index, args.clients, args.seconds))
            result = rounds[-1]
            print(
                f"round {index + 1}: {result.answered} answered, {result.uncommitted} not yet committed at "
                f"the kill, {result.lost} without a row after the restart "
                f"({result.lost / max(result.answered, 1):.2%}), window {result.window_ms:.1f} ms, "
                f"{result.rate_per_ms * 1000:.0f} answers/s, database "
                + ("intact" if result.intact else "DAMAGED"),
                flush=True,
            )
    finally:
        processes.stop()
    windows = [r.window_ms for r in rounds]
    lost_traffic = [r.lost / r.rate_per_ms if r.rate_per_ms else 0.0 for r in rounds]
    print(
        f"\nPython {sys.version.split()[0]}, {os.cpu_count()} cores, {args.clients} clients, kill -9 under load\n"
    )
    print("| measure | median | worst |")
    print("|---|---|---|")
    print(
        f"| crash window (oldest lost answer, ms before the kill) | {statistics.median(windows):.1f} ms | {max(windows):.1f} ms |"
    )
    print(
        f"| rows lost, as ms of traffic at the rate just before | {statistics.median(lost_traffic):.1f} ms | {max(lost_traffic):.1f} ms |"
    )
    print(
        f"| rows lost per kill | {statistics.median(r.lost for r in rounds):.0f} | {max(r.lost for r in rounds)} |"
    )
    print(
        f"| answered but not yet committed at the kill (journaled) | {statistics.median(r.uncommitted for r in rounds):.0f} | {max(r.uncommitted for r in rounds)} |"
    )
    print(f"| database intact after every kill | {'yes' if all(r.intact for r in rounds) else 'NO'} | |")


if __name__ == "__main__":
    main()
