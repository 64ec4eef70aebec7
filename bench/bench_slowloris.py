"""Held-open connections: p99 of normal requests while 200 connections each send one byte every 5 s.

The fake upstream and the gateway (`gravity-desk serve`) run in their own processes, as in bench_gateway.py.
First normal OpenAI chat requests alone, then the same while `--held` connections trickle: half send their
request headers one byte at a time, half send complete headers and then their body one byte at a time.
A held connection the gateway closes is opened again at once (an attacker keeps the count up), so the
figures show what the timeouts and the per-client cap leave of such an attack.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_gateway import API_KEY, MODEL, Processes, _percentile  # noqa: E402

BODY = b'{"model": "' + MODEL.encode() + b'", "messages": [{"role": "user", "content": "slow"}]}'


@dataclass
class Held:
    """What happened to the trickling connections."""

    opened: int = 0
    refused: int = 0  # the connect failed, or the gateway closed it before the first byte was answered
    closed_after_s: list[float] = field(default_factory=list)  # how long the gateway let each one trickle
    answered: dict[int, int] = field(default_factory=dict)  # status line code -> count


def _slow_headers(host: str) -> bytes:
    return (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    ).encode()


async def trickle(
    host: str, port: int, slow_body: bool, interval: float, stop: asyncio.Event, held: Held
) -> None:
    """One held connection, reopened whenever the gateway closes it, until `stop`."""
    headers = _slow_headers(f"{host}:{port}")
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            held.refused += 1
            await asyncio.sleep(0.5)
            continue
        held.opened += 1
        opened = time.monotonic()
        pending = BODY if slow_body else headers + BODY
        if slow_body:
            writer.write(headers)
        answer = b""
        try:
            for offset in range(len(pending)):
                writer.write(pending[offset : offset + 1])
                await writer.drain()
                try:
                    chunk = await asyncio.wait_for(reader.read(4096), interval)
                except TimeoutError:
                    if stop.is_set():
                        break
                    continue
                answer += chunk
                if not chunk:
                    break  # the gateway hung up
                answer += await reader.read()  # an error answer: read it to the end, as a client would
                break
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
        if stop.is_set():
            return
        lived = time.monotonic() - opened
        if answer.startswith(b"HTTP/1.1 "):
            code = int(answer[9:12])
            held.answered[code] = held.answered.get(code, 0) + 1
        if lived < 0.2 and not answer:
            held.refused += 1
            await asyncio.sleep(0.5)  # dropped at once (the per-client cap): try again a little later
        else:
            held.closed_after_s.append(lived)


async def normal_requests(url: str, seconds: float, pause: float) -> tuple[list[float], int]:
    """Latencies (ms) of sequential chat requests on one keep-alive connection for `seconds`, and failures."""
    samples: list[float] = []
    failures = 0
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hello"}]}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for _ in range(50):  # warm up
            async with http.post(url + "/v1/chat/completions", json=body, headers=headers) as response:
                await response.read()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                async with http.post(url + "/v1/chat/completions", json=body, headers=headers) as response:
                    await response.read()
                    ok = response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            if ok:
                samples.append((time.perf_counter() - started) * 1000.0)
            else:
                failures += 1
            await asyncio.sleep(pause)
    return samples, failures


async def measure(url: str, args: argparse.Namespace) -> None:
    alone, alone_failed = await normal_requests(url, args.seconds, args.pause)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    stop = asyncio.Event()
    held = Held()
    tricklers = [
        asyncio.create_task(trickle(host, port, index % 2 == 1, args.interval, stop, held))
        for index in range(args.held)
    ]
    await asyncio.sleep(1.0)  # all of them open and trickling
    during, during_failed = await normal_requests(url, args.seconds, args.pause)
    stop.set()
    await asyncio.gather(*tricklers, return_exceptions=True)

    print(
        f"\nPython {sys.version.split()[0]}, {os.cpu_count()} cores, {args.held} held connections, one byte every {args.interval:g} s\n"
    )
    print("| normal requests | p50 | p99 | max | failed |")
    print("|---|---|---|---|---|")
    for name, samples, failed in (
        ("alone", alone, alone_failed),
        (f"with {args.held} held open", during, during_failed),
    ):
        print(
            f"| {name} ({len(samples)}) | {_percentile(samples, 0.5):.2f} ms | {_percentile(samples, 0.99):.2f} ms "
            f"| {max(samples):.1f} ms | {failed} |"
        )
    lived = held.closed_after_s
    closed = (
        f"{len(lived)} closed by the gateway, after {statistics.median(lived):.1f} s (median)"
        if lived
        else "none closed"
    )
    print(
        f"\nheld connections: {held.opened} opened over {args.seconds:.0f} s, {closed}, "
        f"{held.refused} refused at once; answers seen: {held.answered or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--held", type=int, default=200, help="connections held open")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between two bytes of one")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of each phase")
    parser.add_argument("--pause", type=float, default=0.005, help="seconds between two normal requests")
    args = parser.parse_args()
    processes = Processes()
    try:
        fake = processes.start_fake()
        processes.configure(fake)
        url = processes.start_gateway()
        asyncio.run(measure(url, args))
    finally:
        processes.stop()


if __name__ == "__main__":
    main()
