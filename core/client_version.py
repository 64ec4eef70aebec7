"""The optional check of the vendor's published updater manifest that keeps upstream.client_version current."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import aiohttp

from core.cloudcode import platform_tag
from core.config import UpstreamSettings

log = logging.getLogger(__name__)

MANIFEST_TIMEOUT_S = 10.0
MIN_INTERVAL_S = 60.0
# `version: 2.9.4` in an electron-builder style latest-<arch>-<os>.yml (quotes allowed), or a JSON "version".
_YAML_VERSION = re.compile(r"""^version:\s*["']?(\d+(?:\.\d+){1,3})["']?\s*$""", re.MULTILINE)
_VERSION = re.compile(r"^\d+(?:\.\d+){1,3}$")


def manifest_url(template: str, tag: str | None = None) -> str:
    """The manifest URL with `{os}` and `{arch}` filled in (linux/amd64 style, as in the User-Agent)."""
    os_name, _, arch = (tag or platform_tag()).partition("/")
    return template.replace("{os}", os_name).replace("{arch}", arch)


def parse_manifest_version(text: str) -> str | None:
    """The version a manifest publishes (YAML `version:` line or a JSON object's "version"), else None."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except ValueError:
            return None
        version = document.get("version") if isinstance(document, dict) else None
        return version if isinstance(version, str) and _VERSION.match(version) else None
    match = _YAML_VERSION.search(text)
    return match.group(1) if match else None


def version_key(version: str) -> tuple[int, ...]:
    """2.9.10 > 2.9.9: compared number by number, missing numbers as 0."""
    numbers = [int(piece) for piece in version.split(".") if piece.isdigit()]
    while numbers and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


class ClientVersionCheck:
    """Reads upstream.version_manifest_url (off when empty) every upstream.version_check_hours, in the
    background, and raises upstream.client_version when the manifest publishes a newer one: never lowers it,
    never blocks a request (they read the setting as it is), logs each raise once. An unreachable or empty
    manifest keeps the configured version and is logged once until it answers again.

    `published` is the cached answer of the last successful read (None before one)."""

    def __init__(self, http: aiohttp.ClientSession, settings: UpstreamSettings) -> None:
        self._http = http
        self._settings = settings
        self.published: str | None = None
        self._failing = False

    async def check_once(self) -> str | None:
        """One read of the manifest; returns the version it publishes (None when off or unreadable)."""
        template = self._settings.version_manifest_url.strip()
        if not template:
            return None
        url = manifest_url(template)
        try:
            timeout = aiohttp.ClientTimeout(total=MANIFEST_TIMEOUT_S)
            async with self._http.get(url, timeout=timeout) as response:
                text = await response.text() if response.status == 200 else ""
                status = response.status
        except (aiohttp.ClientError, TimeoutError, UnicodeDecodeError) as exc:
            self._note_failure(f"{type(exc).__name__}")
            return None
        version = parse_manifest_version(text)
        if version is None:
            self._note_failure(f"HTTP {status}" if status != 200 else "no version in it")
            return None
        self._failing = False
        self.published = version
        self._raise_to(version)
        return version

    def _raise_to(self, version: str) -> None:
        current = self._settings.client_version
        if version_key(version) > version_key(current):
            self._settings.client_version = version
            log.info(
                "upstream.client_version raised from %s to %s, the version the vendor's manifest publishes",
                current,
                version,
            )

    def _note_failure(self, why: str) -> None:
        if not self._failing:  # once per outage, not every few hours
            log.info(
                "The version manifest (upstream.version_manifest_url) could not be read (%s); "
                "keeping upstream.client_version %s",
                why,
                self._settings.client_version,
            )
        self._failing = True

    async def run_forever(self) -> None:
        """check_once, then wait upstream.version_check_hours (read each round), until cancelled."""
        while True:
            try:
                await self.check_once()
            except Exception:  # a bad round must not end the loop
                log.exception("version manifest check failed")
            await asyncio.sleep(max(MIN_INTERVAL_S, self._settings.version_check_hours * 3600.0))
