"""Request guards: where a client puts its API key (compared in constant time by core.api_keys), the
DNS-rebinding Host check, and the checks that keep web pages from driving the API (their Origin, and the
body types a browser sends unasked)."""

from __future__ import annotations

import functools

from aiohttp import web

from core.config import is_loopback_host


@functools.lru_cache(maxsize=256)
def host_header_allowed(host_header: str | None, bind_host: str) -> bool:
    """Refuse requests whose Host is not a loopback name while we listen on loopback only.

    A web page can point its own domain at 127.0.0.1 (DNS rebinding) and then talk to us from the user's
    browser; such requests carry that domain in Host. When the user binds a non-loopback address on
    purpose, clients reach us under other names, and the API key is what protects the server.
    """
    if not is_loopback_host(bind_host):
        return True
    if not host_header:
        return False
    name = host_header
    if name.startswith("["):
        name = name.split("]", 1)[0] + "]"
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    return is_loopback_host(name)


def presented_key(request: web.Request) -> str | None:
    """The client key from any of the places the supported SDKs put it."""
    authorization = request.headers.get("Authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    for header in ("x-api-key", "x-goog-api-key"):
        if value := request.headers.get(header):
            return value.strip()
    # `?key=` is Google's own convention (google-genai may use it); nowhere else does a key belong in a URL,
    # where it ends up in proxies' and browsers' histories.
    if request.path.startswith(("/v1beta/", "/v1alpha/")) or (
        request.path.startswith("/v1/models/") and ":" in request.path
    ):
        return request.query.get("key")
    return None


# Schemes of an Origin a web page can have: anything else (chrome-extension://, moz-extension://, an
# Electron or Tauri app's own scheme) is a program the user installed, not a site they happen to visit.
_WEB_SCHEMES = frozenset({"http", "https", "ws", "wss"})


@functools.lru_cache(maxsize=256)
def origin_allowed(origin: str | None) -> bool:
    """False for a request a web page sent: an http(s) Origin whose host is not loopback, or `null`.

    SDKs and CLIs send no Origin; browsers send one on every cross-site POST and WebSocket. Gravity Desk
    answers no CORS, so no web page could ever read an answer; what this stops is a page *sending* one
    (a "simple" text/plain POST or a WebSocket needs no permission from us). `null` is what sandboxed frames
    and file:// pages send, so a page can always produce it.
    """
    if origin is None:
        return True
    value = origin.strip().lower()
    if value == "null":
        return False
    scheme, separator, rest = value.partition("://")
    if not separator:
        return False
    if scheme not in _WEB_SCHEMES:
        return True
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if host.startswith("["):
        host = host.split("]", 1)[0] + "]"
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return is_loopback_host(host)


# The body types a browser posts to any site without asking it first (a CORS "simple request").
BROWSER_SIMPLE_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})


def sent_like_a_form(content_type: str) -> bool:
    """Whether a POST's Content-Type is one a cross-site form or fetch can send without a preflight."""
    return content_type.split(";", 1)[0].strip().lower() in BROWSER_SIMPLE_TYPES
