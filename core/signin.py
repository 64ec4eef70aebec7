"""Browser sign-in for Google accounts: a one-shot loopback listener that receives the OAuth code."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import html
import logging
import re
import secrets
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from core.oauth import OAuthClient, Pkce, new_pkce, new_state

log = logging.getLogger(__name__)

CALLBACK_PATH = "/oauth-callback"
DEFAULT_TIMEOUT_S = 300.0  # long enough to pick an account and read the consent screen, short enough to end
READ_TIMEOUT_S = 10.0  # a browser that opens a connection and sends nothing must not hold the listener
MAX_HEADER_LINES = 100
PORT_ATTEMPTS = 5  # the ephemeral port of 127.0.0.1 may be taken on ::1; try a few ports
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class SignInError(Exception):
    """The sign-in did not give a code; the message is safe to show and says what to do."""


class SignInCancelled(SignInError):
    """cancel() was called."""


class SignInDenied(SignInError):
    """The user declined on Google's consent screen (error=access_denied)."""


class SignInTimedOut(SignInError):
    """Nobody came back from the browser in time."""


def _page(title: str, message: str) -> bytes:
    body = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Gravity Desk</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;"
        "color:#222}h1{font-size:1.4em}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return body.encode("utf-8")


def _first(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _error_from_google(error: str) -> SignInError:
    """What an `error=` on the callback means; only a well-formed error code is repeated in the message."""
    if error == "access_denied":
        return SignInDenied(
            "You did not allow Gravity Desk to use this Google account. "
            "Sign in again and choose Allow on Google's page to add it."
        )
    shown = error if _ERROR_CODE.match(error) else "unknown error"
    return SignInError(f"Google ended the sign-in with an error ({shown}). Try signing in again.")


class BrowserSignIn:
    """One browser sign-in: `start()` opens the loopback listener and returns Google's consent URL; the
    browser comes back to `http://localhost:<port>/oauth-callback`; `wait()` returns the code.

    Wrong `state`: the callback gets an error page and the sign-in keeps waiting. A wrong state comes from an
    old tab of an earlier attempt or from some other page poking at the port; neither should end (or be
    able to end) the sign-in the user is doing now. A denied consent with the right state ends it with
    SignInDenied. The listener accepts connections on 127.0.0.1 and, where available, ::1 (browsers resolve
    `localhost` to either), and closes once `wait()` ends.

    Paste fallback (the browser runs on another machine, so its redirect to localhost fails):
    `complete_from_url(text)` takes the address from that browser's address bar, or the bare code.
    """

    def __init__(
        self,
        oauth: OAuthClient,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        login_hint: str | None = None,
        hosts: tuple[str, ...] = ("127.0.0.1", "::1"),
    ) -> None:
        self._oauth = oauth
        self._timeout_s = timeout_s
        self._login_hint = login_hint
        self._hosts = hosts
        self._state = new_state()
        self._pkce: Pkce = new_pkce()
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.StreamWriter] = set()
        self._result: asyncio.Future[str] | None = None
        self._deadline = 0.0  # loop.time() when wait() gives up
        self.port = 0
        self.redirect_uri = ""
        self.url = ""

    @property
    def pkce(self) -> Pkce:
        return self._pkce

    @property
    def finished(self) -> bool:
        return self._result is not None and self._result.done()

    async def start(self) -> str:
        """Listen on a free loopback port; returns the consent URL to open in the browser."""
        if self._result is not None:
            raise RuntimeError("this sign-in was already started")
        loop = asyncio.get_running_loop()
        self._result = loop.create_future()
        await self._listen()
        self._deadline = loop.time() + self._timeout_s
        self.redirect_uri = f"http://localhost:{self.port}{CALLBACK_PATH}"
        self.url = self._oauth.authorization_url(self.redirect_uri, self._state, self._pkce)
        if self._login_hint:
            self.url += "&" + urlencode({"login_hint": self._login_hint})
        return self.url

    async def wait(self) -> str:
        """The authorization code once the browser (or a paste) brings it back.

        Raises SignInDenied, SignInCancelled, SignInTimedOut or SignInError. The listener is closed when
        this returns or raises.
        """
        result = self._require_started()
        try:
            remaining = self._deadline - asyncio.get_running_loop().time()
            try:
                # shield: a timeout must not cancel the future, it is resolved with SignInTimedOut instead.
                return await asyncio.wait_for(asyncio.shield(result), max(remaining, 0.0))
            except TimeoutError:
                minutes = round(self._timeout_s / 60) or 1
                self._resolve_error(
                    SignInTimedOut(
                        f"Nobody came back from the browser within {minutes} minute(s). "
                        "Start the sign-in again and finish it in the browser."
                    )
                )
                return result.result()  # raises what the future holds (a paste may have won the race)
        finally:
            await self.close()

    def cancel(self) -> None:
        """End the sign-in: wait() raises SignInCancelled. Harmless when it already ended."""
        self._resolve_error(SignInCancelled("The sign-in was cancelled."))

    def complete_from_url(self, pasted: str) -> None:
        """Finish with what the user pasted: the full address the browser ended on, or the bare code.

        A paste that cannot be used raises SignInError (the sign-in keeps waiting, so the user can fix it);
        a pasted address carrying a denied consent ends the sign-in as the browser would have.
        """
        self._require_started()
        if self.finished:
            raise SignInError("This sign-in has already finished.")
        text = pasted.strip()
        if not text:
            raise SignInError("Paste the address from the browser's address bar, or the code.")
        if "=" not in text:
            code = unquote(text)
            if any(character.isspace() for character in code):
                raise SignInError("That does not look like a sign-in code; copy the whole address instead.")
            self._resolve_code(code)
            return
        query = urlsplit(text).query if "?" in text else text
        params = parse_qs(query.split("#", 1)[0])
        state = _first(params, "state")
        if state is not None and not secrets.compare_digest(state.encode(), self._state.encode()):
            raise SignInError(
                "That address belongs to a different sign-in attempt. Use the address from the browser "
                "window this sign-in opened."
            )
        error = _first(params, "error")
        if error is not None:
            self._resolve_error(_error_from_google(error))
            return
        found_code = _first(params, "code")
        if not found_code:
            raise SignInError(
                "That address has no sign-in code. After choosing your account and allowing access, copy "
                "the whole address from the browser's address bar (it contains 'code=')."
            )
        self._resolve_code(found_code)

    async def close(self) -> None:
        """Stop listening and drop open connections (wait() calls this; safe to call again)."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for writer in list(self._connections):
            writer.close()
        for server in servers:
            await server.wait_closed()
        if self._result is not None and not self._result.done():
            self.cancel()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- internals ----------------------------------------------------------------------------------

    def _require_started(self) -> asyncio.Future[str]:
        if self._result is None:
            raise RuntimeError("call start() first")
        return self._result

    def _resolve_code(self, code: str) -> None:
        if self._result is not None and not self._result.done():
            self._result.set_result(code)

    def _resolve_error(self, error: SignInError) -> None:
        if self._result is not None and not self._result.done():
            self._result.set_exception(error)
            # Mark the exception as retrieved: nobody may be awaiting a sign-in that was cancelled early.
            self._result.exception()

    async def _listen(self) -> None:
        """Bind the first host on an ephemeral port, then the others on the same port (the redirect names
        one port). A port taken on another host means trying a new one; a host this machine lacks (no IPv6)
        is skipped."""
        first, *others = self._hosts
        for _ in range(PORT_ATTEMPTS):
            try:
                primary = await asyncio.start_server(self._handle, first, 0)
            except OSError as exc:
                raise SignInError(
                    f"Could not open a local port for the sign-in ({exc.strerror or exc}). "
                    "Check that no firewall blocks 127.0.0.1, then try again."
                ) from None
            servers = [primary]
            port = primary.sockets[0].getsockname()[1]
            retry = False
            for host in others:
                try:
                    servers.append(await asyncio.start_server(self._handle, host, port))
                except OSError as exc:
                    if exc.errno == errno.EADDRINUSE:
                        retry = True
                        break
                    log.debug("sign-in listener: %s not available (%s)", host, exc.strerror or exc)
            if not retry:
                self._servers, self.port = servers, port
                return
            for server in servers:
                server.close()
                await server.wait_closed()
        raise SignInError("Could not find a free local port for the sign-in; try again.")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        started = time.monotonic()
        try:
            target = await asyncio.wait_for(self._read_request(reader), READ_TIMEOUT_S)
            if target is None:
                return
            method, path, query = target
            status, page, outcome = self._answer(method, path, query)
            await self._respond(writer, status, page)
            if outcome is not None:
                outcome()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            log.debug("sign-in listener: dropped a connection after %.1f s", time.monotonic() - started)
        finally:
            self._connections.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, str] | None:
        """(method, path, query) of a minimal HTTP/1.x request; the headers are read and ignored."""
        request_line = (await reader.readline()).decode("latin-1").strip()
        if not request_line:
            return None
        for _ in range(MAX_HEADER_LINES):
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
        parts = request_line.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return ("", "", "")
        target = urlsplit(parts[1])
        return parts[0].upper(), target.path, target.query

    def _answer(self, method: str, path: str, query: str) -> tuple[int, bytes, Callable[[], None] | None]:
        """Status, page, and what to do with the sign-in once the page has been sent."""
        if not method:
            return (
                400,
                _page("Bad request", "This address only accepts a browser coming back from Google."),
                None,
            )
        if path != CALLBACK_PATH:
            return 404, _page("Not found", "Nothing here. You can close this tab."), None
        if method != "GET":
            return (
                405,
                _page("Not allowed", "This address only accepts a browser coming back from Google."),
                None,
            )
        if self.finished:
            return (
                200,
                _page("This sign-in is over", "You can close this tab and go back to Gravity Desk."),
                None,
            )
        params = parse_qs(query)
        state = _first(params, "state") or ""
        if not secrets.compare_digest(state.encode(), self._state.encode()):
            # See the class docstring: an outdated or forged callback never ends the current sign-in.
            return (
                400,
                _page(
                    "This sign-in link is out of date",
                    "This page belongs to an earlier sign-in attempt. Close this tab and use the browser "
                    "window Gravity Desk opened most recently.",
                ),
                None,
            )
        error = _first(params, "error")
        if error is not None:
            failure = _error_from_google(error)
            return 200, _page("Sign-in not completed", str(failure)), lambda: self._resolve_error(failure)
        code = _first(params, "code")
        if not code:
            return (
                400,
                _page("No sign-in code", "Google sent no code. Go back to Gravity Desk and sign in again."),
                None,
            )
        return (
            200,
            _page(
                "You are signed in",
                "Gravity Desk received your sign-in. You can close this tab and go back to Gravity Desk.",
            ),
            lambda: self._resolve_code(code),
        )

    @staticmethod
    async def _respond(writer: asyncio.StreamWriter, status: int, page: bytes) -> None:
        reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
        head = (
            f"HTTP/1.1 {status} {reasons.get(status, 'Error')}\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(page)}\r\n"
            "Cache-Control: no-store\r\n"
            "Referrer-Policy: no-referrer\r\n"  # the address holds the code: keep it out of Referer headers
            "Connection: close\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + page)
        await writer.drain()
