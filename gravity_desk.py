"""The `gravity-desk` command: the desktop app by default, `serve` headless, `accounts`, `keys` and `log export`."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import getpass
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, override

from core import log_output
from core.config import ConfigError, Settings, load_settings
from core.errors import UpstreamError
from core.redact import redact_log_handlers

if TYPE_CHECKING:
    from core.accounts import AccountService
    from core.api_keys import ApiKey, ApiKeyRing
    from core.services import Services
    from core.types import Account

log = logging.getLogger("gravity_desk")


class _PrintVersion(argparse.Action):
    """`--version`: the installed package's version, read only when asked (keeps `--help` fast). The
    installers carry the package metadata for it (build.spec), which the update check compares too."""

    def __init__(self, option_strings: list[str], dest: str) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print Gravity Desk's version and exit")

    @override
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from core.update_check import app_version

        print(f"gravity-desk {app_version() or 'unknown (no package metadata)'}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gravity-desk",
        description="Your Google AI accounts behind OpenAI, Claude, Gemini and Ollama APIs on localhost.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")
    parser.add_argument("--version", action=_PrintVersion)
    parser.add_argument("--minimized", action="store_true", help="desktop app: start in the tray, no window")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the gateway without a window")
    serve.add_argument("--host", help="address to listen on (default from config.toml: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default from config.toml: 8045)")

    accounts = commands.add_parser("accounts", help="add, list, label, import or remove accounts")
    actions = accounts.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a Google account (refresh token) or a Gemini API key")
    kind = add.add_mutually_exclusive_group(required=True)
    kind.add_argument(
        "--refresh-token",
        metavar="TOKEN",
        help="a Google OAuth refresh token; '-' asks for it without echo in a terminal, else reads stdin "
        "(a token in the command line is visible to other programs and kept in shell history)",
    )
    kind.add_argument(
        "--api-key", metavar="KEY", help="a Gemini API key ('-': asked for, or read from stdin)"
    )
    add.add_argument("--label", help="a name for an API-key account")
    listing = actions.add_parser("list", help="list accounts with tier, status and quota")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    remove = actions.add_parser("remove", help="remove an account and its stored secret")
    remove.add_argument("account", metavar="ID_OR_EMAIL")
    labelling = actions.add_parser("label", help="name an account in your own words (blank clears it)")
    labelling.add_argument("account", metavar="ID_OR_EMAIL")
    labelling.add_argument("label", metavar="LABEL", help="e.g. work; '' clears the label")
    importing = actions.add_parser(
        "import", help='import a JSON list of {"refresh_token": ..., "email"?: ...}'
    )
    importing.add_argument("file", type=Path)

    keys = commands.add_parser("keys", help="list, add, rename or revoke the API keys clients connect with")
    key_actions = keys.add_subparsers(dest="key_action", required=True)
    key_actions.add_parser("list", help="the keys (masked) with their names and last use")
    adding = key_actions.add_parser("add", help="make a new key for a program; the whole key is shown once")
    adding.add_argument("name", help="who uses it, e.g. 'claude code'")
    renaming = key_actions.add_parser("rename", help="give a key another name")
    renaming.add_argument("key", metavar="NAME_OR_ID")
    renaming.add_argument("name", metavar="NEW_NAME")
    revoking = key_actions.add_parser("revoke", help="stop accepting a key")
    revoking.add_argument("key", metavar="NAME_OR_ID")

    request_log = commands.add_parser("log", help="read the request log")
    log_actions = request_log.add_subparsers(dest="action", required=True)
    export = log_actions.add_parser(
        "export", help="write the request log, newest first, as CSV or JSON Lines"
    )
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="default: csv")
    export.add_argument(
        "--since",
        type=since_argument,
        metavar="WHEN",
        help="only requests started since WHEN: an ISO date or time (2026-12-01, 2026-12-01T08:00Z; "
        "local time without a zone) or a duration back from now (30m, 12h, 7d)",
    )
    export.add_argument("-o", "--output", type=Path, help="the file to write (default: standard output)")

    setup = commands.add_parser(
        "setup-client", help="write this gateway's address and key into an agent CLI's config (with a backup)"
    )
    setup.add_argument("client", choices=["claude", "codex", "gemini", "opencode"])
    setup.add_argument("--undo", action="store_true", help="put back the file from the latest backup")
    setup.add_argument("--dry-run", action="store_true", help="show the change as a diff, write nothing")
    setup.add_argument(
        "--key", metavar="NAME_OR_ID", help="which API key to write (default: the first; see `keys list`)"
    )
    return parser


# Never a secret in the command line (other programs see it, shell history keeps it): '-' asks for it.
ADD_ACCOUNT_HINT = (
    "add one with `gravity-desk accounts add --refresh-token -` or `--api-key -` (the secret is asked for, "
    "not echoed), or sign in from the desktop app's Accounts page."
)

CLI_COMMANDS = frozenset({"serve", "accounts", "keys", "log", "setup-client", "-h", "--help"})
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def since_argument(text: str, now: datetime | None = None) -> datetime:
    """--since: a duration back from now (`90m`, `2h`, `7d`) or an ISO 8601 date or time (local if naive)."""
    value = text.strip()
    unit = _DURATION_UNITS.get(value[-1:].lower())
    if unit is not None and value[:-1].isdigit():
        return (now or datetime.now(UTC)) - timedelta(seconds=int(value[:-1]) * unit)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a duration (30m, 12h, 7d) nor an ISO date or time (2026-12-01T08:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.astimezone()  # naive: the user's local time


def _attach_console(opener: Callable[..., TextIO] = open) -> None:
    """gravity-desk.exe on Windows is a windowed app with no console of its own (gravity-desk-cli.exe is its
    console twin for terminals). Run from a terminal anyway, it borrows that terminal's console for each
    standard stream that has nowhere to go; streams the shell redirected to a file or pipe stay as they are."""
    if sys.platform != "win32" or not getattr(sys, "frozen", False):
        return
    if sys.stdin is not None and sys.stdout is not None and sys.stderr is not None:
        return
    import ctypes

    attach_parent_process = -1
    if not ctypes.windll.kernel32.AttachConsole(attach_parent_process):
        return  # started from Explorer or a shortcut: there is no console to borrow
    if sys.stdout is None:
        sys.stdout = opener("CONOUT$", "w", encoding="utf-8", errors="replace")
    if sys.stderr is None:
        sys.stderr = opener("CONOUT$", "w", encoding="utf-8", errors="replace")
    if sys.stdin is None:  # `accounts add --refresh-token -` reads the token from it
        sys.stdin = opener("CONIN$", encoding="utf-8", errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and CLI_COMMANDS.intersection(sys.argv[1:]):
        _attach_console()
    args = _parser().parse_args(argv)
    # No format here shows a record's caller, thread or process, and finding the caller walks the stack for
    # each line (one access line per request): the logging HOWTO's "Optimization" settings.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    redact_log_handlers()  # no line on stderr may carry a key a client or Google sent, whatever logs it
    _start_log_thread()
    if args.command is None:
        return _run_desktop(args.minimized)
    _take_ctrl_c_back()
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"gravity-desk: {exc}", file=sys.stderr)
        return 2
    if args.command == "log":
        return asyncio.run(_export_log(settings, args))
    if args.command == "keys":
        # config.toml's own keys: a key from GRAVITY_DESK_API_KEY only overrides them while it is set.
        return asyncio.run(_keys(load_settings(apply_env=False), args))
    if args.command == "setup-client":
        return _setup_client_command(settings, args)
    if args.command == "serve":
        try:
            return asyncio.run(_serve(settings, args.host, args.port), loop_factory=_fast_loop_factory())
        except KeyboardInterrupt:
            # Windows (no loop signal handlers): asyncio.run turned Ctrl+C into cancelling _serve, whose
            # `finally` has already stopped the server gracefully; that is a normal stop, not a crash.
            return 0
    try:
        # A secret from stdin is read before the event loop starts: Ctrl+C while it waits then stops at once
        # (asyncio would only cancel the task, which a blocking read does not notice).
        if args.action == "add" and not _read_secrets(args):
            print("gravity-desk: the refresh token or API key is empty", file=sys.stderr)
            return 2
        return asyncio.run(_accounts(settings, args))
    except KeyboardInterrupt:
        print("gravity-desk: interrupted", file=sys.stderr)
        return 130  # the shell's code for "stopped by Ctrl+C"


_log_thread: log_output.LogThread | None = None


def _start_log_thread() -> None:
    """Log lines written from a thread of their own (core.log_output), once per process, written out at exit."""
    global _log_thread
    if _log_thread is None:
        _log_thread = log_output.start()
        atexit.register(_log_thread.stop)


def _log_written() -> None:
    """Let the lines logged so far reach stderr before what is printed next (bounded: stderr may be stuck)."""
    if _log_thread is not None:
        _log_thread.flush()


def _take_ctrl_c_back() -> None:
    """Ctrl+C / SIGINT stops a command even when the parent started it with SIGINT ignored.

    A background job of a non-interactive shell (`gravity-desk serve &` in a script, some CI runners)
    inherits SIGINT ignored. With the loop's signal handlers (Linux, macOS) `serve` stops on SIGINT anyway;
    without them (Windows) asyncio.run only turns SIGINT into a clean stop when Python's own handler is in
    place, so an inherited "ignore" made serve sleep through it and stay listening.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _fast_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it exists (Linux, macOS): the headless server does not share its loop with Qt."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _has_screen() -> bool:
    """False on a Linux/BSD box with no display server (ssh, containers), where Qt cannot open a window."""
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _run_desktop(minimized: bool) -> int:
    if not _has_screen():
        print(
            "gravity-desk: no screen here (neither DISPLAY nor WAYLAND_DISPLAY is set), so the desktop window\n"
            "              cannot open; running the headless server instead (`gravity-desk serve`).",
            file=sys.stderr,
        )
        return main(["serve"])
    try:
        from gui.app import run  # Qt is imported only for the desktop app
    except ImportError as exc:
        print(
            f"gravity-desk: the desktop window cannot start ({exc}); use `gravity-desk serve`.",
            file=sys.stderr,
        )
        return 1
    return int(run(["gravity-desk", "--minimized"] if minimized else ["gravity-desk"]))


async def _start(settings: Settings, *, about_secrets: bool = True) -> Services:
    from core.services import create_services  # deferred: keeps `--help` fast

    services = await create_services(settings)
    if about_secrets and not services.secrets.encrypted:
        log.warning(
            "No system keyring found: account secrets are stored unencrypted in %s (readable by you only)",
            settings.home / "secrets.json",
        )
    return services


@contextlib.asynccontextmanager
async def _opened(settings: Settings, *, about_secrets: bool = True) -> AsyncIterator[Services]:
    """The services for one CLI command, closed when it is done, whatever happened."""
    services = await _start(settings, about_secrets=about_secrets)
    try:
        yield services
    finally:
        await services.close()


async def _serve(settings: Settings, host: str | None, port: int | None) -> int:
    from server.runner import GatewayServer

    # Signal handlers first: a SIGTERM that arrives while the server starts must still stop it cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C still raises KeyboardInterrupt
            loop.add_signal_handler(signum, stop.set)
    services = await _start(settings)
    server = GatewayServer(services)
    result = await server.start(host, port)
    if not result.ok:
        print(f"gravity-desk: {result.error}", file=sys.stderr)
        await services.close()
        return 1
    services.start_background()
    try:  # from here a Ctrl+C (a cancel at any await) stops the running server through the finally
        await asyncio.to_thread(
            _log_written
        )  # the start's warnings before the address, waited for off the loop
        _announce(services, result.url)
        await stop.wait()
    finally:
        # Logged, not printed: a print to a stderr nobody reads would block the stop itself.
        log.info("stopping (finishing requests in flight)...")
        await server.stop()
        await services.close()
    return 0


def _announce(services: Services, url: str) -> None:
    settings = services.settings
    keys = services.api_keys.configured()
    key_hint = (
        ", ".join(f"{key.name} {key.masked}" for key in keys) + f" (full keys in {settings.config_path})"
        if keys
        else "none (auth off)"
    )
    usable = [a for a in services.accounts.accounts() if a.enabled]
    print(f"Gravity Desk listening on {url}", file=sys.stderr)
    print(f"  OpenAI base URL:  {url}/v1      Claude base URL: {url}      Gemini: {url}", file=sys.stderr)
    print(f"  API key: {key_hint}", file=sys.stderr)
    if not usable:
        print(
            f"  No accounts yet: {ADD_ACCOUNT_HINT}",
            file=sys.stderr,
        )
    else:
        print(f"  Accounts: {len(usable)} enabled", file=sys.stderr)


def _read_secrets(args: argparse.Namespace) -> bool:
    """Replace a '-' refresh token or API key by the one typed at a prompt without echo (stdin a terminal)
    or the line read from stdin (a pipe); False when the secret is empty."""
    name = "refresh_token" if args.refresh_token is not None else "api_key"
    value: str = getattr(args, name)
    if value != "-":
        secret = value.strip()
    elif sys.stdin is not None and sys.stdin.isatty():
        # A terminal waiting silently looks hung; the prompt says what to paste, and nothing is echoed.
        what = "Google refresh token" if name == "refresh_token" else "Gemini API key"
        secret = getpass.getpass(f"Paste the {what} (not shown) and press Enter: ").strip()
    else:
        secret = sys.stdin.readline().strip() if sys.stdin is not None else ""
    setattr(args, name, secret)
    return bool(secret)


async def _export_log(settings: Settings, args: argparse.Namespace) -> int:
    from core.log_reader import ExportFormat
    from core.store import LogFilter

    services = await _start(settings)
    log_filter = LogFilter(since=args.since)
    export_format = ExportFormat(args.format)
    try:
        rows = await services.log_reader.export(log_filter, args.output or sys.stdout, export_format)
        sys.stdout.flush()
    except OSError as exc:
        print(
            f"gravity-desk: cannot write {args.output or 'the output'}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    finally:
        await services.close()
    print(f"gravity-desk: exported {rows} request{'' if rows == 1 else 's'}", file=sys.stderr)
    return 0


async def _accounts(settings: Settings, args: argparse.Namespace) -> int:
    async with _opened(settings) as services:
        try:
            return await _account_action(services, args)
        except UpstreamError as exc:
            print(f"gravity-desk: {exc.message}", file=sys.stderr)
            return 1


async def _account_action(services: Services, args: argparse.Namespace) -> int:
    accounts = services.accounts
    if args.action == "add":
        if args.refresh_token is not None:
            account = await accounts.add_google(args.refresh_token)
        else:
            account = await accounts.add_api_key(args.api_key, args.label)
        print(account.name)
        return 0
    if args.action == "list":
        listed = accounts.accounts()
        if args.json:
            print(json.dumps([account_as_json(a) for a in listed], indent=2))
        else:
            print(format_accounts(listed))
        return 0
    if args.action == "remove":
        try:
            removed = await accounts.remove(args.account)
        except KeyError:
            print(f"gravity-desk: no account '{args.account}'", file=sys.stderr)
            return 1
        print(f"removed {removed.name}")
        return 0
    if args.action == "label":
        return await _label_account(accounts, args.account, args.label)
    if args.action == "import":
        return await _import_accounts(accounts, args.file)
    raise AssertionError(args.action)


async def _label_account(accounts: AccountService, id_or_email: str, label: str) -> int:
    account = accounts.find(id_or_email)
    if account is None:
        print(f"gravity-desk: no account '{id_or_email}'", file=sys.stderr)
        return 1
    await accounts.set_label(account.id, label)
    print(f"{account.name}: {account.label or 'no label'}")
    return 0


async def _import_accounts(accounts: AccountService, path: Path) -> int:
    try:
        result = await accounts.import_file(path)
    except (OSError, ValueError) as exc:
        print(f"gravity-desk: cannot import {path}: {exc}", file=sys.stderr)
        return 1
    for email in result.added:
        print(f"added {email}")
    for email in result.updated:
        print(f"updated {email}")
    for who, reason in result.failed:
        print(f"failed {who}: {reason}", file=sys.stderr)
    return 1 if result.failed and not (result.added or result.updated) else 0


KEYS_RESTART_NOTE = (
    "A running Gravity Desk reads the keys when it starts: restart it for this to apply (the desktop app's "
    "Settings page changes them at once)."
)


async def _keys(settings: Settings, args: argparse.Namespace) -> int:
    if os.environ.get("GRAVITY_DESK_API_KEY"):
        print(
            "gravity-desk: GRAVITY_DESK_API_KEY is set, so while it is the server accepts that key only; "
            "these are config.toml's keys.",
            file=sys.stderr,
        )
    async with _opened(settings, about_secrets=False) as services:  # client keys are not account secrets
        try:
            return await _key_action(services, args)
        except ValueError as exc:  # a name with nothing in it
            print(f"gravity-desk: {exc}", file=sys.stderr)
            return 1


async def _key_action(services: Services, args: argparse.Namespace) -> int:
    ring = services.api_keys
    if args.key_action == "list":
        print(format_keys(ring.configured()))
        return 0
    if args.key_action == "add":
        keys_were_off = not ring.required()
        added = ring.add(args.name)
        await _save_keys(services)
        print(added.value)
        print(
            f"Added the key '{added.name}' ({added.masked}). This is the only time it is shown whole: put it "
            f"in the program's settings now. {KEYS_RESTART_NOTE}",
            file=sys.stderr,
        )
        if keys_were_off:
            print("Keys were off (api_keys = []): from now on every client needs one.", file=sys.stderr)
        return 0
    key = _find_key(ring, args.key)
    if key is None:
        return _no_such_key(args.key)
    if args.key_action == "rename":
        ring.rename(key.id, args.name)
        await _save_keys(services)
        renamed = next(k for k in ring.configured() if k.id == key.id)
        print(f"'{key.name}' ({key.masked}) is now '{renamed.name}'. {KEYS_RESTART_NOTE}")
        return 0
    if args.key_action == "revoke":
        if len(ring.configured()) == 1:
            # With no key at all Gravity Desk takes requests without one: that must be a choice, not a slip.
            print(
                f"gravity-desk: '{key.name}' is the only key; without any, requests need none. Add another "
                "first, or set `api_keys = []` under [server] in config.toml to turn keys off.",
                file=sys.stderr,
            )
            return 1
        ring.revoke(key.id)
        await _save_keys(services)
        print(f"revoked '{key.name}' ({key.masked}): requests with it are refused. {KEYS_RESTART_NOTE}")
        return 0
    raise AssertionError(args.key_action)


def _find_key(ring: ApiKeyRing, name_or_id: str) -> ApiKey | None:
    from core.api_keys import clean_name

    try:
        wanted = clean_name(name_or_id).lower()  # as names are stored
    except ValueError:  # nothing in it: no key is called that
        return None
    return next((key for key in ring.configured() if wanted in (key.id, key.name.lower())), None)


def _no_such_key(name_or_id: str) -> int:
    print(f"gravity-desk: no key '{name_or_id}' (`gravity-desk keys list` shows them)", file=sys.stderr)
    return 1


async def _save_keys(services: Services) -> None:
    from core.config import save_settings

    await asyncio.to_thread(save_settings, services.settings)  # the values, in config.toml
    await services.save_api_keys()  # the names and dates, in the database


def format_keys(keys: Sequence[ApiKey]) -> str:
    """One line per key: name, id, the key masked, when it was made and last used."""
    if not keys:
        return (
            "No keys: requests need none (api_keys = [] in config.toml). "
            "`gravity-desk keys add NAME` makes one."
        )
    width = max(len(key.name) for key in keys)
    lines = []
    for key in keys:
        used = key.last_used_at.astimezone().strftime("%Y-%m-%d %H:%M") if key.last_used_at else "never"
        made = key.created_at.astimezone().strftime("%Y-%m-%d")
        lines.append(f"{key.name:<{width}}  {key.id}  {key.masked:<10}  made {made}  last used {used}")
    return "\n".join(lines)


def _setup_client_command(settings: Settings, args: argparse.Namespace) -> int:
    key = settings.server.api_keys[0] if settings.server.api_keys else None
    if args.key is not None:
        key = asyncio.run(_key_value(settings, args.key))
        if key is None:
            return _no_such_key(args.key)
    return setup_client(settings, args.client, key, undo=args.undo, dry_run=args.dry_run, home=Path.home())


async def _key_value(settings: Settings, name_or_id: str) -> str | None:
    """The value of the key of that name or id (names are in the database), None when there is none."""
    async with _opened(settings, about_secrets=False) as services:
        key = _find_key(services.api_keys, name_or_id)
    return key.value if key else None


def setup_client(
    settings: Settings, name: str, key: str | None, *, undo: bool, dry_run: bool, home: Path
) -> int:
    """`setup-client`: the same plan, diff, backup and undo as the Dashboard's buttons (core.client_setup)."""
    from core import client_setup  # deferred: keeps `--help` fast

    client = client_setup.Client(name)
    try:
        if undo:
            path = client_setup.undo(client, home)
            print(f"restored {path} from its backup")
            return 0
        server = settings.server
        host = "127.0.0.1" if server.host in ("", "0.0.0.0", "::") else server.host
        url = f"http://[{host}]:{server.port}" if ":" in host else f"http://{host}:{server.port}"
        connection = client_setup.Connection(url, key)
        change = client_setup.plan(client, connection, home)
        if not change.changes_anything:
            print(f"{change.path} already points {client_setup.CLIENT_NAMES[client]} at Gravity Desk")
            return 0
        print(change.diff(), end="")
        if dry_run:
            return 0
        backup = client_setup.apply(change)
        print(f"wrote {change.path} (the old one is kept as {backup.name}; `--undo` puts it back)")
        return 0
    except (client_setup.SetupError, OSError) as exc:
        print(f"gravity-desk: {exc}", file=sys.stderr)
        return 1


def account_as_json(account: Account) -> dict[str, object]:
    return {
        "id": account.id,
        "kind": account.kind.value,
        "email": account.email,
        "label": account.label,
        "tier": account.tier,
        "enabled": account.enabled,
        "status": account.status.value,
        "status_reason": account.status_reason,
        "quota_updated_at": _iso(account.quota_updated_at),
        "reserve_percent": account.reserve_percent,
        "windows": [
            {
                "group": w.group,
                "window": w.window,
                "remaining_percent": None
                if w.remaining_fraction is None
                else round(w.remaining_fraction * 100, 1),
                "reset_at": _iso(w.reset_at),
                "models": sorted(w.models),
            }
            for w in account.quota_windows
        ],
        "models": {
            name: {
                "remaining_percent": None
                if q.remaining_fraction is None
                else round(q.remaining_fraction * 100, 1),
                "reset_at": _iso(q.reset_at),
            }
            for name, q in sorted(account.quotas.items())
        },
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _until(moment: datetime | None) -> str:
    if moment is None:
        return ""
    seconds = int((moment - datetime.now(UTC)).total_seconds())
    if seconds <= 0:
        return "now"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def _local_reset(moment: datetime | None) -> str:
    """A reset time as people read it: local clock time (with the day when not today) and how long until."""
    if moment is None:
        return ""
    local = moment.astimezone()
    today = datetime.now().astimezone().date()
    clock = local.strftime("%H:%M") if local.date() == today else local.strftime("%a %d %b %H:%M")
    return f"  resets {clock} (in {_until(moment)})"


def format_accounts(accounts: Sequence[Account]) -> str:
    """A human-readable table: one line per account, then one per model with its quota."""
    if not accounts:
        return f"No accounts. {ADD_ACCOUNT_HINT[0].upper()}{ADD_ACCOUNT_HINT[1:]}"
    lines = []
    for account in accounts:
        status = account.status.value + (f" ({account.status_reason})" if account.status_reason else "")
        if not account.enabled:
            status = "disabled"
        lines.append(
            f"{account.id}  {account.name}  [{account.kind.value}]  tier: {account.tier or '-'}  {status}"
        )
        for name, quota in sorted(account.quotas.items()):
            left = "?" if quota.remaining_fraction is None else f"{quota.remaining_fraction * 100:.0f}%"
            reset = f"  resets in {_until(quota.reset_at)}" if quota.reset_at else ""
            lines.append(f"    {name:<34} {left:>5}{reset}")
        for window in account.quota_windows:
            left = "?" if window.remaining_fraction is None else f"{window.remaining_fraction * 100:.0f}%"
            title = f"{window.window} {window.group}"
            lines.append(f"    {title:<34} {left:>5}{_local_reset(window.reset_at)}")
        if account.reserve_percent is not None:
            lines.append(
                f"    quota protection: {account.reserve_percent:.0f}% kept in reserve (own setting)"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
