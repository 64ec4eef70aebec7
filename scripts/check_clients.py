"""The real agent CLIs against the real gateway: Claude Code and Codex, fresh from the npm registry, unpinned.

What it does (CI runs it after `./dev test`; by hand: `./dev check-clients`):
1. installs the current `@anthropic-ai/claude-code` and `@openai/codex` with npm into a cache folder;
2. starts the project's fake Google (bench/fake_server.py) and a real `gravity-desk serve` pointed at it,
   with its own data folder, a free port, an API key and one signed-in account, as a user would set it up;
3. runs each CLI non-interactively with **its default model settings** (no model is named anywhere):
   a plain prompt, then a tool round trip in which the fake's answer calls one of the client's own tools
   (the fake issues a call for every `CALL:name{json}` marker in the prompt); the tool must really run
   (it writes a file) and the client must come back with the final answer;
4. prints the versions it ran and exits non-zero when either client failed, with the client's output and the
   gateway's access log, so the day a new release breaks something is the day CI says so.
Versions are never pinned: the point is to learn when a new release breaks.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"claude": "@anthropic-ai/claude-code", "codex": "@openai/codex"}
CLIENT_TIMEOUT_S = 180.0
API_KEY = "gd-client-check-key"
MARKER_TEXT = "gravity-desk-tool-ran"


class CheckFailed(Exception):
    """One client check went wrong; the message says what and shows the client's output."""


@dataclass
class Gateway:
    url: str
    home: Path
    log_file: Path


def say(message: str) -> None:
    print(f"== client checks: {message}", file=sys.stderr, flush=True)


# --- set-up ---------------------------------------------------------------------------------------------


def install_clients(prefix: Path) -> dict[str, Path]:
    """The CLIs' current releases installed with npm under `prefix`; name -> executable."""
    npm = shutil.which("npm")
    if npm is None:
        raise CheckFailed(
            "npm is not installed: the client checks need Node.js and npm (apt install nodejs npm)"
        )
    prefix.mkdir(parents=True, exist_ok=True)
    wanted = [f"{package}@latest" for package in PACKAGES.values()]
    say(f"npm install {' '.join(wanted)} (into {prefix})")
    done = subprocess.run(  # noqa: S603 (npm from PATH, fixed arguments)
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), *wanted],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise CheckFailed(f"npm install failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return {name: prefix / "node_modules" / ".bin" / name for name in PACKAGES}


def version_of(executable: Path) -> str:
    done = subprocess.run(  # noqa: S603
        [str(executable), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) else "unknown"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running_gateway(work: Path) -> Iterator[Gateway]:
    """The fake Google and `gravity-desk serve` in front of it, both stopped on the way out."""
    fake = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_server"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    server: subprocess.Popen[bytes] | None = None
    try:
        assert fake.stdout is not None
        started = json.loads(fake.stdout.readline())
        home = work / "gravity-desk-home"
        port = free_port()
        _write_settings(home, started["base_url"], port)
        env = {**os.environ, "GRAVITY_DESK_HOME": str(home), "GRAVITY_DESK_KEYRING": "file"}
        added = subprocess.run(
            [sys.executable, "-m", "gravity_desk", "accounts", "add", "--refresh-token", "-"],
            cwd=ROOT,
            env=env,
            input=started["refresh_token"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if added.returncode != 0:
            raise CheckFailed(f"accounts add failed:\n{added.stdout}{added.stderr}")
        log_file = work / "serve.log"
        with log_file.open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "gravity_desk", "serve"], cwd=ROOT, env=env, stdout=log, stderr=log
            )
        url = f"http://127.0.0.1:{port}"
        _wait_until_listening(url, server, log_file)
        yield Gateway(url, home, log_file)
    finally:
        for process in (server, fake):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


def _write_settings(home: Path, base_url: str, port: int) -> None:
    sys.path.insert(0, str(ROOT))
    from core.config import save_settings
    from tests.fake_google import settings_pointed_at

    settings = settings_pointed_at(home, base_url)
    settings.server.port = port
    settings.server.api_keys = [API_KEY]
    settings.log.capture_bodies = True  # the request log then shows what each client really sent
    save_settings(settings)


def _wait_until_listening(url: str, server: subprocess.Popen[bytes], log_file: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CheckFailed(f"gravity-desk serve exited ({server.returncode}):\n{log_file.read_text()}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/healthz", timeout=2):  # noqa: S310
            return  # listening (our own loopback server)
        time.sleep(0.2)
    raise CheckFailed(f"gravity-desk serve did not listen within 30 s:\n{log_file.read_text()}")


# --- running a client -----------------------------------------------------------------------------------


def run_client(name: str, argv: list[str], env: dict[str, str], cwd: Path) -> str:
    """Runs one CLI to its end (no terminal, no input); its output, or CheckFailed with everything it said."""
    say(f"{name}: {' '.join(argv[1:])[:160]}")
    try:
        done = subprocess.run(  # noqa: S603
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        raise CheckFailed(
            f"{name} did not finish within {CLIENT_TIMEOUT_S:.0f} s:\n{_text(expired.stdout)}{_text(expired.stderr)}"
        ) from None
    if done.returncode != 0:
        raise CheckFailed(
            f"{name} exited {done.returncode}:\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done.stdout


def _text(output: str | bytes | None) -> str:
    """What a timed-out child printed: run(text=True) gives str, but the type allows bytes or nothing."""
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def client_env(home: Path) -> dict[str, str]:
    """A clean environment: a fresh HOME (no one's settings), no proxies, nothing phoning home."""
    home.mkdir(parents=True, exist_ok=True)
    keep = ("PATH", "LANG", "TERM", "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "NO_COLOR": "1", "CI": "true"})
    return env


def check_claude_code(claude: Path, gateway: Gateway, work: Path) -> None:
    home, project = work / "claude-home", work / "claude-project"
    project.mkdir(parents=True, exist_ok=True)
    env = client_env(home) | {
        "ANTHROPIC_BASE_URL": gateway.url,
        "ANTHROPIC_API_KEY": API_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
    }
    base = [str(claude), "-p", "--output-format", "json"]
    plain = _claude_result(run_client("claude", [*base, "Say hello to Gravity Desk."], env, project))
    if "Echo:" not in plain:
        raise CheckFailed(f"claude: the plain prompt's answer is not the fake's echo: {plain!r}")

    marker = project / "marker.txt"
    call = json.dumps({"command": f"echo {MARKER_TEXT} > marker.txt", "description": "Write the marker"})
    prompt = f"Please run this for me. CALL:Bash{call}"
    answer = _claude_result(run_client("claude", [*base, "--allowedTools=Bash", prompt], env, project))
    if not marker.is_file() or MARKER_TEXT not in marker.read_text():
        raise CheckFailed(f"claude: the Bash tool call did not run (no {marker.name}); answer: {answer!r}")
    if "Bash ->" not in answer:
        raise CheckFailed(f"claude: no final answer after the tool result: {answer!r}")


def _claude_result(stdout: str) -> str:
    try:
        result = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise CheckFailed(f"claude: output is not its JSON result:\n{stdout}") from None
    if result.get("is_error") or result.get("subtype") != "success":
        raise CheckFailed(f"claude: the run ended in an error: {json.dumps(result)[:2000]}")
    return str(result.get("result", ""))


def check_codex(codex: Path, gateway: Gateway, work: Path) -> None:
    home, project = work / "codex-home", work / "codex-project"
    project.mkdir(parents=True, exist_ok=True)
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    # The provider block a user writes to use a local gateway; no model is named: Codex picks its default.
    (codex_home / "config.toml").write_text(
        'model_provider = "gravity-desk"\n\n'
        "[model_providers.gravity-desk]\n"
        'name = "Gravity Desk"\n'
        f'base_url = "{gateway.url}/v1"\n'
        'env_key = "GRAVITY_DESK_API_KEY"\n'
        'wire_api = "responses"\n'
        # The Responses WebSocket, which Codex prefers where a provider offers it (the gateway does).
        "supports_websockets = true\n",
        encoding="utf-8",
    )
    env = client_env(home) | {"CODEX_HOME": str(codex_home), "GRAVITY_DESK_API_KEY": API_KEY}
    base = [str(codex), "exec", "--skip-git-repo-check", "--color", "never"]
    plain = run_client("codex", [*base, "Say hello to Gravity Desk."], env, project)
    if "Echo:" not in plain:
        raise CheckFailed(f"codex: the plain prompt's answer is not the fake's echo:\n{plain}")

    marker = project / "marker.txt"
    command = f"echo {MARKER_TEXT} > marker.txt"
    # Codex 0.17x declares its tools in an `additional_tools` item: a `functions` namespace whose custom
    # (freeform, JavaScript) tool `exec` reaches the nested tools, among them `exec_command`. The markers ask
    # for that, and for the plain shell tools older and newer releases declare; the fake calls those declared.
    script = (
        f"const done = await tools.exec_command({{cmd: {json.dumps(command)}}}); text(JSON.stringify(done));"
    )
    calls = " ".join(
        f"CALL:{name}{json.dumps(arguments)}"
        for name, arguments in (
            ("functions__exec", {"input": script}),
            ("shell", {"command": ["bash", "-lc", command]}),
            ("exec_command", {"cmd": command}),
            ("shell_command", {"command": command}),
        )
    )
    # No sandbox: the only command that runs is the echo above, in a scratch folder (Linux sandboxes such as
    # Landlock or bubblewrap are not available in every CI container, and that is not what is checked here).
    bypass = "--dangerously-bypass-approvals-and-sandbox"
    answer = run_client("codex", [*base, bypass, f"Please run this for me. {calls}"], env, project)
    if not marker.is_file() or MARKER_TEXT not in marker.read_text():
        raise CheckFailed(f"codex: the shell tool call did not run (no {marker.name}):\n{answer}")
    if "->" not in answer:
        raise CheckFailed(f"codex: no final answer after the tool result:\n{answer}")


# --- main -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache",
        type=Path,
        default=ROOT / ".client-checks",
        help="where npm installs the CLIs (kept between runs)",
    )
    parser.add_argument("--only", choices=sorted(PACKAGES), help="run one client only")
    parser.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (request log, client homes)"
    )
    args = parser.parse_args(argv)
    try:
        executables = install_clients(args.cache)
    except (CheckFailed, subprocess.TimeoutExpired) as failure:
        say(f"FAILED to install the clients: {failure}")
        return 1
    versions = {name: version_of(path) for name, path in executables.items()}
    say("versions: " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    checks = {"claude": check_claude_code, "codex": check_codex}
    failures: list[str] = []
    with contextlib.ExitStack() as cleanup:
        if args.keep is not None:
            work = args.keep.resolve()
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="gd-client-checks-")))
        with running_gateway(work) as gateway:
            for name, check in checks.items():
                if args.only and name != args.only:
                    continue
                try:
                    check(executables[name], gateway, work)
                    say(f"{name} ({versions[name]}): plain prompt and tool round trip OK")
                except CheckFailed as failure:
                    failures.append(f"{name} ({versions[name]}): {failure}")
            if failures:
                say("gateway log:\n" + gateway.log_file.read_text(errors="replace")[-20_000:])
    for failed in failures:
        say(f"FAILED {failed}")
    ran = 1 if args.only else len(checks)
    say(f"{ran - len(failures)} of {ran} clients OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
