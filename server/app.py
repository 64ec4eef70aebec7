"""The aiohttp application: the guards, and the routes of every protocol package, composed."""

from __future__ import annotations

from aiohttp import web

from core.services import Services
from server import (
    anthropic,
    gemini,
    ollama,
    openai,
    openai_completions,
    openai_media,
    openai_responses,
    shared_routes,
)
from server.connections import ConnectionGuard
from server.guards import guard_middleware
from server.handling import CONNECTIONS, SERVICES

# Every package registers its routes the same way: `add_routes(app)`, the app's services at app[SERVICES].
ROUTES = (
    shared_routes,
    openai,
    anthropic,
    gemini,
    ollama,
    openai_completions,
    openai_responses,
    openai_media,
)


def make_app(services: Services) -> web.Application:
    """The whole HTTP API over the given services."""
    app = web.Application(
        middlewares=[guard_middleware], client_max_size=services.settings.server.max_body_mb * 1024 * 1024
    )
    app[SERVICES] = services
    app[CONNECTIONS] = ConnectionGuard(
        lambda: services.settings.server
    )  # the runner serves connections through it
    for package in ROUTES:
        package.add_routes(app)  # Ollama's include "/" (its "is Ollama running" probe); health is /healthz
    return app
