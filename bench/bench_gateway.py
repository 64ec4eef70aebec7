"""Gateway overhead: the same requests sent to the fake Google directly and through the gateway, side by side.

The fake upstream and the gateway (`gravity-desk serve`) each run in their own process; this process is the
client. Added latency = gateway figure - direct figure, measured in one run on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import save_settings  # noqa: E402
from tests.fake_google import settings_pointed_at  # noqa: E402

API_KEY = "sk-bench-0123456789abcdef"
MODEL = "gemini-2.5-flash"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Processes:
    """The fake upstream and the gateway, each in a child process, stopped on exit."""

    def __init__(self, chunk_delay: float = 0.0) -> None:
        self.chunk_delay = chunk_delay  # seconds between the fake's stream chunks (0: as fast as it can)
        self.home = Path(tempfile.mkdtemp(prefix="gd-bench-"))
        self.env = {**os.environ, "GRAVITY_DESK_HOME": str(self.home), "GRAVITY_DESK_KEYRING": "file"}
        self.env["PYTHONPATH"] = str(ROOT)
        self.children: list[subprocess.Popen[str]] = []
        # GD_BENCH_PROFILE=FILE profiles the gateway process with cProfile into FILE.
        profile = os.environ.get("GD_BENCH_PROFILE")
        self.profile = ["-m", "cProfile", "-o", profile] if profile else []

    def start_fake(self) -> dict[str, str]:
        fake = subprocess.Popen(
            [sys.executable, "-m", "bench.fake_server", "--chunk-delay", str(self.chunk_delay)],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.children.append(fake)
        assert fake.stdout is not None
        info: dict[str, str] = json.loads(fake.stdout.readline())
        return info

    def configure(self, fake: dict[str, str]) -> None:
        settings = settings_pointed_at(self.home, fake["base_url"])
        settings.server.api_keys = [API_KEY]
        save_settings(settings)
        subprocess.run(
            [sys.executable, str(ROOT / "gravity_desk.py"), "accounts", "add", "--refresh-token", "-"],
            input=fake["refresh_token"] + "\n",
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )

    def start_gateway(self) -> str:
        gateway = subprocess.Popen(
            [sys.executable, *self.profile, str(ROOT / "gravity_desk.py"), "serve", "--port", "0"],
            env=self.env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.children.append(gateway)
        assert gateway.stderr is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = gateway.stderr.readline()
            if match := re.search(r"listening on (http://\S+)", line):
                # Keep reading its log (one access line per request): a full pipe would stall the gateway.
                threading.Thread(target=gateway.stderr.read, daemon=True).start()
                return match.group(1)
            if not line and gateway.poll() is not None:
                break
        raise RuntimeError("the gateway did not start")

    def stop(self) -> None:
        for child in self.children:
            if child.stdin:
                with contextlib.suppress(OSError):
                    child.stdin.close()
            child.terminate()
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(10)


class Targets:
    """One request of each kind, sent directly to the fake or through the gateway."""

    def __init__(self, http: aiohttp.ClientSession, fake_base: str, gateway: str, token: str) -> None:
        self.http = http
        self.fake = fake_base
        self.gateway = gateway
        self.fake_headers = {
            "Authorization": f"Bearer {token}",
            "User-Agent": "antigravity/hub/2.9.1 linux/amd64",
        }
        self.gateway_headers = {"Authorization": f"Bearer {API_KEY}"}

    def _envelope(self, text: str) -> dict[str, object]:
        return {
            "project": "proj-bench",
            "model": MODEL,
            "userAgent": "antigravity",
            "requestType": "agent",
            "requestId": f"agent-{uuid.uuid4()}",
            "request": {"contents": [{"role": "user", "parts": [{"text": text}]}]},
        }

    async def direct(self, text: str = "hello world") -> None:
        url = f"{self.fake}/sandbox/v1internal:generateContent"
        async with self.http.post(url, json=self._envelope(text), headers=self.fake_headers) as response:
            assert response.status == 200, await response.text()
            await response.read()

    async def via_gemini(self, text: str = "hello world") -> None:
        url = f"{self.gateway}/v1beta/models/{MODEL}:generateContent"
        body = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
        async with self.http.post(url, json=body, headers=self.gateway_headers) as response:
            assert response.status == 200, await response.text()
            await response.read()

    async def via_openai(self, text: str = "hello world") -> None:
        body = {"model": MODEL, "messages": [{"role": "user", "content": text}]}
        url = f"{self.gateway}/v1/chat/completions"
        async with self.http.post(url, json=body, headers=self.gateway_headers) as response:
            assert response.status == 200, await response.text()
            await response.read()

    async def stream_direct(self, text: str) -> tuple[float, float, int]:
        url = f"{self.fake}/sandbox/v1internal:streamGenerateContent?alt=sse"
        return await self._stream(url, self._envelope(text), self.fake_headers)

    async def stream_openai(self, text: str) -> tuple[float, float, int]:
        body = {"model": MODEL, "messages": [{"role": "user", "content": text}], "stream": True}
        return await self._stream(f"{self.gateway}/v1/chat/completions", body, self.gateway_headers)

    async def stream_ollama(self, text: str) -> tuple[float, float, int]:
        body = {"model": MODEL, "messages": [{"role": "user", "content": text}]}  # Ollama streams by default
        return await self._stream(f"{self.gateway}/api/chat", body, self.gateway_headers, ndjson=True)

    async def _stream(
        self, url: str, body: object, headers: dict[str, str], *, ndjson: bool = False
    ) -> tuple[float, float, int]:
        """(time to first event, total time, events) for one streamed answer (SSE events or NDJSON lines)."""
        started = time.perf_counter()
        first = 0.0
        events = 0
        async with self.http.post(url, json=body, headers=headers) as response:
            assert response.status == 200, await response.text()
            async for line in response.content:
                if line.startswith(b"{" if ndjson else b"data:"):
                    events += 1
                    if events == 1:
                        first = time.perf_counter() - started
        return first, time.perf_counter() - started, events


async def _latencies(call: Callable[[], Awaitable[None]], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000.0)
    return samples


async def _throughput(call: Callable[[], Awaitable[None]], workers: int, seconds: float) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return done / (time.perf_counter() - started)


async def measure(fake_base: str, gateway: str, args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        token_form = {
            "grant_type": "refresh_token",
            "refresh_token": args.refresh_token,
            "client_id": args.client_id,
            "client_secret": args.client_secret,
        }
        async with http.post(f"{fake_base}/token", data=token_form) as response:
            token = (await response.json())["access_token"]
        targets = Targets(http, fake_base, gateway, token)
        for call in (
            targets.direct,
            targets.via_gemini,
            targets.via_openai,
        ):  # warm up connections and caches
            for _ in range(200):
                await call()

        return [
            *await _latency_rows(targets, args),
            *await _stream_rows(targets, args),
            *await _throughput_rows(targets, args),
        ]


Row = tuple[str, str, str, str]


async def _latency_rows(targets: Targets, args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    direct, gemini, openai = [], [], []
    for _ in range(args.requests):  # interleaved, so drift in machine load hits all three alike
        direct += await _latencies(targets.direct, 1)
        gemini += await _latencies(targets.via_gemini, 1)
        openai += await _latencies(targets.via_openai, 1)
    for name, samples in (("Gemini passthrough", gemini), ("OpenAI chat", openai)):
        for label, fraction in (("p50", 0.5), ("p99", 0.99)):
            base = _percentile(direct, fraction)
            value = _percentile(samples, fraction)
            rows.append(
                (
                    f"latency {label}, non-streaming, {name}",
                    f"{base:.2f} ms",
                    f"{value:.2f} ms",
                    f"+{value - base:.2f} ms",
                )
            )
    return rows


async def _stream_rows(targets: Targets, args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    # Time to first event on short answers: during a long burst the three processes fight over two
    # cores, and the figure would measure the scheduler rather than the gateway. Direct, OpenAI and
    # Ollama streams are interleaved, so drift in machine load hits them alike.
    streamers = {"OpenAI": targets.stream_openai, "Ollama": targets.stream_ollama}

    async def interleaved(text: str) -> list[list[tuple[float, float, int]]]:
        runs: list[list[tuple[float, float, int]]] = [[] for _ in range(len(streamers) + 1)]
        for _ in range(args.streams):
            runs[0].append(await targets.stream_direct(text))
            for index, stream in enumerate(streamers.values(), start=1):
                runs[index].append(await stream(text))
        return runs

    direct_short, *gateway_short = await interleaved("hello world")
    d_first = statistics.median(run[0] for run in direct_short) * 1000
    for name, runs in zip(streamers, gateway_short, strict=True):
        g_first = statistics.median(run[0] for run in runs) * 1000
        rows.append(
            (
                f"time to first event, streaming, {name}",
                f"{d_first:.2f} ms",
                f"{g_first:.2f} ms",
                f"+{g_first - d_first:.2f} ms",
            )
        )
    direct_long, *gateway_long = await interleaved(" ".join(f"w{i}" for i in range(args.stream_words)))
    d_total = statistics.median(run[1] for run in direct_long)
    events = statistics.median(run[2] for run in direct_long)
    for name, runs in zip(streamers, gateway_long, strict=True):
        g_total = statistics.median(run[1] for run in runs)
        per_event = (g_total - d_total) / events * 1e6
        rows.append(
            (
                f"whole stream ({int(events)} events), {name}",
                f"{d_total * 1000:.1f} ms",
                f"{g_total * 1000:.1f} ms",
                f"+{per_event:.1f} µs/event",
            )
        )
    return rows


async def _throughput_rows(targets: Targets, args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    targets_by_name = {
        "direct": targets.direct,
        "Gemini": targets.via_gemini,
        "OpenAI": targets.via_openai,
    }
    rates: dict[str, list[float]] = {name: [] for name in targets_by_name}
    for _ in range(args.rounds):  # rounds interleave the targets, so a noisy moment hits them alike
        for name, call in targets_by_name.items():
            rates[name].append(await _throughput(call, args.concurrency, args.seconds))
    for name, values in rates.items():
        rate = statistics.median(values)
        rows.append((f"requests/s at {args.concurrency} concurrent, {name}", "", f"{rate:,.0f}", ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help="sequential requests per target")
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--stream-words", type=int, default=1000, help="events per long streamed answer")
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs per target (median reported)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each throughput run")
    args = parser.parse_args()

    from tests.fake_google import CLIENT_ID, CLIENT_SECRET

    processes = Processes()
    try:
        fake = processes.start_fake()
        processes.configure(fake)
        gateway = processes.start_gateway()
        args.refresh_token, args.client_id, args.client_secret = (
            fake["refresh_token"],
            CLIENT_ID,
            CLIENT_SECRET,
        )
        rows = asyncio.run(measure(fake["base_url"], gateway, args))
    finally:
        processes.stop()
    print(
        f"\nPython {sys.version.split()[0]}, {os.cpu_count()} cores, fake upstream and gateway in separate processes\n"
    )
    print("| measure | direct to fake | through gateway | added |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
