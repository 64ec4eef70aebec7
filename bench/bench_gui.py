"""The desktop app under load: UI loop latency with 32 streams through its server; throughput vs headless.

The throughput is compared with the headless `gravity-desk serve`.

Four processes: the fake Google (bench/fake_server.py), the headless gateway, the desktop app (this file with
--child: gui.app.main with its window, tray and Requests page, offscreen) and this driver, which sends the
load. The app measures its own loop: a 10 ms QTimer, and how late each tick comes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_gateway import API_KEY, MODEL, Processes, _percentile  # noqa: E402

TICK_MS = 10


# -- the desktop app (child process) ---------------------------------------------------------------------


class LoopLatency:
    """A 10 ms precise QTimer; each tick records how much later than due it came (ms)."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.samples: list[float] = []
        # The same lateness, capped by the CPU time this process used in that interval: on a shared machine a
        # tick can be late because other processes had the cores; that part is not the app's doing.
        self.own: list[float] = []
        self._last = time.perf_counter()
        self._last_cpu = time.process_time()
        self._timer = QTimer(interval=TICK_MS)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        late = max(0.0, (now - self._last) * 1000.0 - TICK_MS)
        self.samples.append(late)
        self.own.append(min(late, (cpu - self._last_cpu) * 1000.0))
        self._last, self._last_cpu = now, cpu

    def reset(self) -> None:
        self.samples, self.own = [], []

    def report(self) -> dict[str, float]:
        samples, own = self.samples or [0.0], self.own or [0.0]
        return {
            "p50": _percentile(samples, 0.5),
            "p99": _percentile(samples, 0.99),
            "max": max(samples),
            "own_p99": _percentile(own, 0.99),
            "ticks": len(self.samples),
        }


async def _child() -> None:
    from gui.app import AppOptions, RunningApp, main

    latency = LoopLatency()
    loop = asyncio.get_running_loop()
    if slow := os.environ.get("GD_BENCH_SLOW_MS"):  # log every loop callback slower than this
        import logging

        logging.basicConfig(level=logging.WARNING)
        loop.set_debug(True)
        loop.slow_callback_duration = float(slow) / 1000.0
    started: asyncio.Future[RunningApp] = loop.create_future()
    app_task = asyncio.create_task(main(AppOptions(use_keyring=False), ready=started.set_result))
    running = await started
    print(json.dumps({"url": running.controller.state.url}), flush=True)

    def command(line: str) -> None:
        if line == "reset":
            latency.reset()
        elif line == "report":
            print(json.dumps(latency.report()), flush=True)

    def read_commands() -> None:  # stdin is read in a thread: the loop must not block on it
        for line in sys.stdin:
            loop.call_soon_threadsafe(command, line.strip())
        loop.call_soon_threadsafe(running.quit)

    threading.Thread(target=read_commands, daemon=True).start()
    await app_task


def child_main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync

    from gui.app import create_application

    app = create_application(["gravity-desk-bench"])
    asyncio.run(_child(), loop_factory=lambda: qasync.QEventLoop(app))


# -- the driver ------------------------------------------------------------------------------------------


class GuiProcess:
    def __init__(self, home: Path) -> None:
        env = {
            **os.environ,
            "GRAVITY_DESK_HOME": str(home),
            "GRAVITY_DESK_KEYRING": "file",
            "GRAVITY_DESK_PORT": "0",
            "QT_QPA_PLATFORM": "offscreen",
            "PYTHONPATH": str(ROOT),
        }
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = str(self._read()["url"])

    def _read(self) -> dict[str, object]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the desktop app process ended")
        answer: dict[str, object] = json.loads(line)
        return answer

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def latency(self) -> dict[str, float]:
        self.send("report")
        return {key: float(value) for key, value in self._read().items()}  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.terminate()


async def _stream(http: aiohttp.ClientSession, base: str, text: str) -> int:
    body = {"model": MODEL, "messages": [{"role": "user", "content": text}], "stream": True}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    events = 0
    async with http.post(f"{base}/v1/chat/completions", json=body, headers=headers) as response:
        assert response.status == 200, await response.text()
        async for line in response.content:
            if line.startswith(b"data:"):
                events += 1
    return events


async def _load(http: aiohttp.ClientSession, base: str, workers: int, seconds: float, words: int) -> float:
    """Streams per second with `workers` concurrent clients, each streaming one answer after another."""
    text = " ".join(f"w{i}" for i in range(words))
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await _stream(http, base, text)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return done / (time.perf_counter() - started)


async def measure(gui: GuiProcess, headless: str, args: argparse.Namespace) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {
        "gui": [],
        "headless": [],
        "p50": [],
        "p99": [],
        "max": [],
        "own_p99": [],
    }
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        for base in (gui.url, headless):  # warm-up: connections, caches, the first log pages
            await _load(http, base, args.concurrency, 1.0, args.words)
        gui.send("reset")
        await asyncio.sleep(args.seconds)
        idle = gui.latency()
        results["idle_p50"], results["idle_p99"] = [idle["p50"]], [idle["p99"]]
        for _ in range(args.rounds):  # interleaved, so a noisy moment hits both alike
            gui.send("reset")
            results["gui"].append(await _load(http, gui.url, args.concurrency, args.seconds, args.words))
            loaded = gui.latency()
            for key in ("p50", "p99", "max", "own_p99"):
                results[key].append(loaded[key])
            results["headless"].append(
                await _load(http, headless, args.concurrency, args.seconds, args.words)
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--chunk-delay",
        type=float,
        default=0.0,
        help="seconds between the fake's stream chunks (0: as fast as it can, which saturates the CPU)",
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--words", type=int, default=50, help="events per streamed answer")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each load run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.child:
        child_main()
        return

    headless_side, gui_side = Processes(args.chunk_delay), Processes()
    gui: GuiProcess | None = None
    try:
        fake = headless_side.start_fake()
        headless_side.configure(fake)
        gui_side.configure(fake)  # its own data folder: two processes never share one SQLite log
        headless = headless_side.start_gateway()
        gui = GuiProcess(gui_side.home)
        results = asyncio.run(measure(gui, headless, args))
    finally:
        if gui is not None:
            gui.stop()
        headless_side.stop()
        gui_side.stop()

    gui_rate = statistics.median(results["gui"])
    headless_rate = statistics.median(results["headless"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nPython {sys.version.split()[0]}, {os.cpu_count()} cores, load average at the end {load:.1f}; "
        f"{args.concurrency} concurrent streams of {args.words} events, "
        f"a chunk every {args.chunk_delay * 1000:g} ms from the fake; "
        f"{args.rounds} rounds of {args.seconds:g} s (medians)\n"
    )
    print("| measure | value | target |")
    print("|---|---|---|")
    idle = f"{results['idle_p50'][0]:.1f} / {results['idle_p99'][0]:.1f} ms"
    print(f"| UI loop lateness idle, p50 / p99 | {idle} | |")
    print(f"| UI loop lateness under load, p50 | {statistics.median(results['p50']):.1f} ms | |")
    print(f"| UI loop lateness under load, p99 | {statistics.median(results['p99']):.1f} ms | < 50 ms |")
    print(
        f"| UI loop lateness under load, p99, capped by the app's own CPU time "
        f"| {statistics.median(results['own_p99']):.1f} ms | |"
    )
    print(f"| UI loop lateness under load, worst tick | {max(results['max']):.1f} ms | |")
    print(f"| streams/s, headless `gravity-desk serve` (uvloop) | {headless_rate:,.0f} | |")
    print(f"| streams/s, desktop app (qasync, window open) | {gui_rate:,.0f} | |")
    print(f"| desktop / headless | {gui_rate / headless_rate:.0%} | ≥ 70 % |")


if __name__ == "__main__":
    main()
