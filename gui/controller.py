"""The desktop app's bridge to core: owns the services and the server, turns their events into Qt signals."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QObject, Signal

from core.config import Settings, save_settings
from core.services import Services
from core.types import LogEntry
from core.update_check import Release
from server.runner import GatewayServer

log = logging.getLogger(__name__)


class ServerStatus(StrEnum):
    STARTING = "starting"
    SERVING = "serving"
    PAUSED = "paused"
    FAILED = "failed"  # could not listen (port busy, bad address): `error` says why


@dataclass(frozen=True)
class ServerState:
    status: ServerStatus
    url: str = ""
    error: str = ""


class AppController(QObject):
    """One per app. Pages and the tray talk to core only through it (and through `services` for reads).

    Signals:
        server_state_changed(ServerState): the listener started, paused, resumed or failed.
        accounts_changed(str): an account was added, changed or removed (its id).
        log_rows_added(list[LogEntry]): request-log rows just written (delivered in the Qt thread).
        settings_changed(): settings were saved.
        notify(str, str): something the user should hear about (title, message), e.g. an account ran out.
        update_available(Release): a newer Gravity Desk is published (the opt-in update check found it).
        stale_client(str): Google called the client identity outdated (the user agent sent); emitted once
            per user agent, so a raised version that is outdated too is told again.
    """

    server_state_changed = Signal(object)
    accounts_changed = Signal(str)
    log_rows_added = Signal(list)
    settings_changed = Signal()
    notify = Signal(str, str)
    stale_client = Signal(str)
    update_available = Signal(object)

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.server = GatewayServer(services)
        self.state = ServerState(ServerStatus.STARTING)
        # Both callbacks may fire outside the Qt thread (the log writer has its own thread); emitting a
        # signal from there is safe: Qt queues it to the receivers' thread.
        services.accounts.add_listener(self.accounts_changed.emit)
        services.request_log.add_listener(self._on_log_rows)
        self._stale_agents_told: set[str] = set()
        services.gateway.add_stale_client_listener(self._on_stale_client)
        services.updates.add_listener(self._on_update)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def _on_log_rows(self, rows: list[LogEntry]) -> None:
        self.log_rows_added.emit(rows)

    def _on_update(self, release: Release) -> None:
        self.update_available.emit(release)
        self.notify.emit(
            self.tr("Update available"),
            self.tr("Gravity Desk {version} is published: {url}").format(
                version=release.version, url=release.url
            ),
        )

    def _on_stale_client(self, user_agent: str) -> None:
        """Every refused request calls this; the user hears it once (banner + one tray notification)."""
        if user_agent in self._stale_agents_told:
            return
        self._stale_agents_told.add(user_agent)
        self.stale_client.emit(user_agent)
        self.notify.emit(
            self.tr("Client version outdated"),
            self.tr(
                "Google no longer supports the client version Gravity Desk sends ({version}), so requests "
                "fail. Raise Settings → Google connection → Client version (upstream.client_version)."
            ).format(version=self.settings.upstream.client_version),
        )

    def _set_state(self, state: ServerState) -> None:
        self.state = state
        self.server_state_changed.emit(state)

    async def start_server(self) -> ServerState:
        """Listen on the configured address; a busy port becomes a FAILED state, not an exception."""
        result = await self.server.start()
        if result.ok:
            self._set_state(ServerState(ServerStatus.SERVING, url=result.url))
        else:
            self._set_state(ServerState(ServerStatus.FAILED, error=result.error))
        return self.state

    async def pause(self) -> None:
        """Stop listening (requests in flight finish); accounts and the log stay as they are."""
        await self.server.stop()
        self._set_state(ServerState(ServerStatus.PAUSED))

    async def resume(self) -> ServerState:
        return await self.start_server()

    async def restart_listener(self) -> ServerState:
        """Apply a changed host or port: stop the listener and start it again in place."""
        await self.server.stop()
        return await self.start_server()

    async def save_settings(self, *, listener_changed: bool = False) -> None:
        """Write config.toml (off the loop) and apply what needs applying."""
        await asyncio.to_thread(save_settings, self.settings)
        self.settings_changed.emit()
        if listener_changed:
            await self.restart_listener()

    async def refresh_quotas(self) -> None:
        await self.services.accounts.refresh_all_quotas()

    async def shutdown(self) -> None:
        """Stop the server gracefully, then flush the log and close the services."""
        await self.server.stop()
        await self.services.close()
