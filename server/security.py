"""Request guards: where a client puts its API key (compared in constant time by core.api_keys), and the
DNS-rebinding Host check."""

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
