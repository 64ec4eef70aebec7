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


API_KEY = "sk-bench-0123456789abcdef"
MODEL = "gemini-3-flash"  # a current Cloud Code model (the channel serves no 2.5 model any more)


def loop_cpu_seconds(pid: int) -> float:
    """CPU time of a process's main thread (the gateway's event loop), in ns resolution (Linux schedstat)."""
    with open(f"/proc/{pid}/schedstat") as stat:
        return int(stat.read().split()[0]) / 1e9


def process_cpu_seconds(pid: int) -> float:
    """CPU time of all a process's threads (event loop, request-log writer, checkpoints), ns resolution."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Processes:
    """The fake upstream and a gateway from the source tree at `root`, each in a child process, stopped on exit."""

    def __init__(self, chunk_delay: float = 0.0, root: Path = ROOT) -> None:
        self.chunk_delay = chunk_delay  # seconds between the fake's stream chunks (0: as fast as it can)
        self.root = root
        self.home = Path(tempfile.mkdtemp(prefix="gd-bench-"))
        self.env = {**os.environ, "GRAVITY_DESK_HOME": str(self.home), "GRAVITY_DESK_KEYRING": "file"}
        self.env["PYTHONPATH"] = str(root)
        self.children: list[subprocess.Popen[str]] = []
        self.gateway_pid = 0
        # GD_BENCH_PROFILE=FILE profiles the gateway process with cProfile into FILE.
        profile = os.environ.get("GD_BENCH_PROFILE")
        self.profile = ["-m", "cProfile", "-o", profile] if profile else []

    def start_fake(self) -> dict[str, str]:
        fake = subprocess.Popen(
            [sys.executable, "-m", "bench.fake_server", "--chunk-delay", str(self.chunk_delay)],
            cwd=ROOT,
            env={**self.env, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.children.append(fake)
        assert fake.stdout is not None
        info: dict[str, str] = json.loads(fake.stdout.readline())
        return info

    def configure(self, fake: dict[str, str]) -> None:
        """Settings pointed at the fake and one Google account, written by the gateway's own source tree
        (an older tree may not read the settings a newer one writes)."""
        script = (
            "import sys; from core.config import save_settings; from pathlib import Path; "
            "from tests.fake_google import settings_pointed_at; "
            "s = settings_pointed_at(Path(sys.argv[1]), sys.argv[2]); s.server.api_keys = [sys.argv[3]]; "
            "save_settings(s)"
        )
        subprocess.run(
            [sys.executable, "-c", script, str(self.home), fake["base_url"], API_KEY],
            cwd=self.root,
            env=self.env,
            check=True,
        )
        subprocess.run(
            [sys.executable, str(self.root / "gravity_desk.py"), "accounts", "add", "--refresh-token", "-"],
            input=fake["refresh_token"] + "\n",
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )

    def start_gateway(self, cores: set[int] | None = None) -> str:
        """Start `gravity-desk serve` (on the given CPU cores only, when given); its base URL."""
        gateway = subprocess.Popen(
            [sys.executable, *self.profile, str(self.root / "gravity_desk.py"), "serve", "--port", "0"],
            env=self.env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.children.append(gateway)
        self.gateway_pid = gateway.pid
        if cores:
            os.sched_setaffinity(gateway.pid, cores)
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
    """One request of each kind, sent directly to the fake or through one gateway."""

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
        # The call the gateway makes for a whole answer from this model: Cloud Code answers generateContent
        # on current models with an empty reply (upstream.stream_only_models), so it streams and assembles.
        url = f"{self.fake}/sandbox/v1internal:streamGenerateContent?alt=sse"
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

    async def stream_anthropic(self, text: str) -> tuple[float, float, int]:
        body = {
            "model": MODEL,
            "max_tokens": 4096,
            "messages": [{"role": "user", "content": text}],
            "stream": True,
        }
        return await self._stream(f"{self.gateway}/v1/messages", body, self.gateway_headers)

    async def stream_gemini(self, text: str) -> tuple[float, float, int]:
        url = f"{self.gateway}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
        body = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
        return await self._stream(url, body, self.gateway_headers)

    async def stream_responses(self, text: str) -> tuple[float, float, int]:
        body = {"model": MODEL, "input": text, "stream": True, "store": False}
        return await self._stream(f"{self.gateway}/v1/responses", body, self.gateway_headers)

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


# The streaming protocols measured, by the name of their Targets method (stream_<name>).
STREAMS = {
    "OpenAI": "openai",
    "Anthropic": "anthropic",
    "Gemini": "gemini",
    "Ollama": "ollama",
    "Responses": "responses",
}


async def _latencies(call: Callable[[], Awaitable[None]], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000.0)
    return samples


async def _throughput(call: Callable[[], Awaitable[None]], workers: int, seconds: float) -> tuple[float, int]:
    """(requests/s, requests done) of `workers` concurrent callers for `seconds`."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return done / (time.perf_counter() - started), done


Run = tuple[float, float, int]  # (time to first event, total time, events) of one stream
Row = tuple[str, str, list[tuple[str, str]]]  # measure, direct figure, (gateway figure, added) per gateway


async def measure(
    fake_base: str, gateways: list[str], pids: list[int], args: argparse.Namespace
) -> list[Row]:
    """Every measure for every gateway, interleaved request by request, so drift in load hits all alike."""
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
        all_targets = [Targets(http, fake_base, gateway, token) for gateway in gateways]
        for targets in all_targets:  # warm up connections and caches
            for call in (targets.direct, targets.via_gemini, targets.via_openai):
                for _ in range(200):
                    await call()
        return [
            *await _latency_rows(all_targets, args),
            *await _stream_rows(all_targets, pids, args),
            *await _throughput_rows(all_targets, pids, args),
        ]


async def _latency_rows(all_targets: list[Targets], args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    direct: list[float] = []
    gemini: list[list[float]] = [[] for _ in all_targets]
    openai: list[list[float]] = [[] for _ in all_targets]
    for round_number in range(args.requests):
        direct += await _latencies(all_targets[0].direct, 1)
        # The order turns every round: a request that follows another gateway's, on a shared core, waits
        # for that gateway's work after its reply (its log line and row), so each measure takes every place.
        order = list(enumerate(all_targets))
        if round_number % 2:
            order.reverse()
        for index, targets in order:
            pairs = [(gemini, targets.via_gemini), (openai, targets.via_openai)]
            if (round_number // 2) % 2:
                pairs.reverse()
            for samples, call in pairs:
                samples[index] += await _latencies(call, 1)
    for name, samples in (("Gemini passthrough", gemini), ("OpenAI chat", openai)):
        for label, fraction in (("p50", 0.5), ("p99", 0.99)):
            base = _percentile(direct, fraction)
            figures = []
            for per_gateway in samples:
                value = _percentile(per_gateway, fraction)
                figures.append((f"{value:.2f} ms", f"+{value - base:.2f} ms"))
            rows.append((f"latency {label}, non-streaming, {name}", f"{base:.2f} ms", figures))
    return rows


class _StreamRuns:
    """Direct streams and every protocol through every gateway, interleaved, so drift in machine load hits
    them alike; with the CPU time each gateway's event loop spent on each protocol's streams."""

    def __init__(self, all_targets: list[Targets], pids: list[int], protocols: list[str]) -> None:
        self.all_targets, self.pids, self.protocols = all_targets, pids, protocols
        self.direct: list[Run] = []
        self.runs: dict[tuple[str, int], list[Run]] = {}
        self.cpu: dict[tuple[str, int], float] = {}

    async def run(self, text: str, count: int) -> None:
        for _ in range(count):
            self.direct.append(await self.all_targets[0].stream_direct(text))
            for name in self.protocols:
                for index, targets in enumerate(self.all_targets):
                    stream = getattr(targets, f"stream_{STREAMS[name]}")
                    cpu_before = loop_cpu_seconds(self.pids[index])
                    run = await stream(text)
                    spent = loop_cpu_seconds(self.pids[index]) - cpu_before
                    self.cpu[(name, index)] = self.cpu.get((name, index), 0.0) + spent
                    self.runs.setdefault((name, index), []).append(run)


async def _stream_rows(all_targets: list[Targets], pids: list[int], args: argparse.Namespace) -> list[Row]:
    # Time to first event on short answers: during a long burst the processes fight over the cores, and
    # the figure would measure the scheduler rather than the gateway.
    rows: list[Row] = []
    protocols = [name for name in STREAMS if name in args.protocols]
    short = _StreamRuns(all_targets, pids, protocols)
    await short.run("hello world", args.streams)
    d_first = statistics.median(run[0] for run in short.direct) * 1000
    for name in protocols:
        figures = []
        for index in range(len(all_targets)):
            g_first = statistics.median(run[0] for run in short.runs[(name, index)]) * 1000
            figures.append((f"{g_first:.2f} ms", f"+{g_first - d_first:.2f} ms"))
        rows.append((f"time to first event, streaming, {name}", f"{d_first:.2f} ms", figures))
    long = _StreamRuns(all_targets, pids, protocols)
    await long.run(" ".join(f"w{i}" for i in range(args.stream_words)), args.streams)
    d_total = statistics.median(run[1] for run in long.direct)
    events = statistics.median(run[2] for run in long.direct)
    for name in protocols:
        figures = []
        for index in range(len(all_targets)):
            g_total = statistics.median(run[1] for run in long.runs[(name, index)])
            per_event = (g_total - d_total) / events * 1e6
            figures.append((f"{g_total * 1000:.1f} ms", f"+{per_event:.1f} µs/event"))
        rows.append((f"whole stream ({int(events)} events), {name}", f"{d_total * 1000:.1f} ms", figures))
    for name in protocols:
        # What the gateway's event loop spends per event, whatever the scheduler does with the processes.
        figures = [
            (f"{long.cpu[(name, index)] / (args.streams * events) * 1e6:.1f} µs/event", "")
            for index in range(len(all_targets))
        ]
        rows.append((f"gateway event-loop CPU per streamed event, {name}", "", figures))
    return rows


async def _throughput_rows(
    all_targets: list[Targets], pids: list[int], args: argparse.Namespace
) -> list[Row]:
    rows: list[Row] = []
    direct_rates: list[float] = []
    names = ("Gemini", "OpenAI")
    rates: dict[str, list[list[float]]] = {name: [[] for _ in all_targets] for name in names}
    cpu: dict[str, list[list[float]]] = {name: [[] for _ in all_targets] for name in names}
    for _ in range(args.rounds):  # rounds interleave the targets, so a noisy moment hits them alike
        direct_rates.append((await _throughput(all_targets[0].direct, args.concurrency, args.seconds))[0])
        for index, targets in enumerate(all_targets):
            for name, call in zip(names, (targets.via_gemini, targets.via_openai), strict=True):
                before = process_cpu_seconds(pids[index])
                rate, done = await _throughput(call, args.concurrency, args.seconds)
                rates[name][index].append(rate)
                cpu[name][index].append((process_cpu_seconds(pids[index]) - before) / max(done, 1))
    direct_rate = f"{statistics.median(direct_rates):,.0f}" if direct_rates else ""
    for name, rate_runs in rates.items():
        rate_figures = [(f"{statistics.median(runs):,.0f}" if runs else "", "") for runs in rate_runs]
        rows.append((f"requests/s at {args.concurrency} concurrent, {name}", direct_rate, rate_figures))
    for name, cpu_runs in cpu.items():
        # What one request costs the gateway process, whatever else the machine runs meanwhile.
        cpu_figures = [(f"{statistics.median(runs) * 1e6:.0f} µs" if runs else "", "") for runs in cpu_runs]
        rows.append(
            (
                f"gateway CPU per request at {args.concurrency} concurrent (all threads), {name}",
                "",
                cpu_figures,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help="sequential requests per target")
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--stream-words", type=int, default=1000, help="events per long streamed answer")
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs per target (median reported)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each throughput run")
    parser.add_argument(
        "--protocols",
        type=lambda text: text.split(","),
        default=list(STREAMS),
        help=f"streaming protocols to measure, comma-separated (default: {','.join(STREAMS)})",
    )
    parser.add_argument(
        "--base",
        type=Path,
        action="append",
        default=[],
        help="also measure the gateway of another source tree (e.g. a worktree at main), side by side",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="do not put the gateways on a core of their own (the fake and this client on the others)",
    )
    args = parser.parse_args()

    from tests.fake_google import CLIENT_ID, CLIENT_SECRET

    # Unless --no-pin: the gateways on the last core, the fake and this client on the others, so the
    # gateway's figures are not its fight for a core with the processes that measure it.
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    gateway_cores = set(cores[-1:]) if len(cores) > 1 and not args.no_pin else set()
    other_cores = set(cores[:-1]) if gateway_cores else set()
    if other_cores:
        os.sched_setaffinity(0, other_cores)  # inherited by the fake
    roots = [*(path.resolve() for path in args.base), ROOT]
    sides = [Processes(root=root) for root in roots]
    try:
        fake = sides[0].start_fake()
        for side in sides:
            side.configure(fake)
        gateways = [side.start_gateway(gateway_cores) for side in sides]
        args.refresh_token, args.client_id, args.client_secret = (
            fake["refresh_token"],
            CLIENT_ID,
            CLIENT_SECRET,
        )
        pids = [side.gateway_pid for side in sides]
        rows = asyncio.run(measure(fake["base_url"], gateways, pids, args))
    finally:
        for side in sides:
            side.stop()
    pinned = (
        f"gateways pinned to CPU {sorted(gateway_cores)}, fake and client to {sorted(other_cores)}"
        if gateway_cores
        else "not pinned"
    )
    print(f"\nPython {sys.version.split()[0]}, {os.cpu_count()} cores, {pinned}; gateways: ")
    for index, root in enumerate(roots):
        print(f"  {index + 1}. {root}")
    header = "| measure | direct to fake |" + "".join(
        f" gateway {i + 1} | added {i + 1} |" for i in range(len(roots))
    )
    print("\n" + header)
    print("|---|---|" + "---|---|" * len(roots))
    for name, direct_figure, figures in rows:
        print(f"| {name} | {direct_figure} |" + "".join(f" {value} | {added} |" for value, added in figures))


if __name__ == "__main__":
    main()
