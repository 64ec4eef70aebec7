"""The opt-in update check: at most once a day, in the background, read a releases JSON (GitHub's releases
API shape: one release object or a list of them) and tell listeners when a newer version than this one is
published. Off by default; the URL is a setting; the last answer is cached in the data folder; a failure is
logged once and never reaches a request or the start."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp

from core.config import UpdateSettings

log = logging.getLogger(__name__)

CACHE_FILE = "update-check.json"
START_DELAY_S = 10.0  # after start, so the check never competes with it
TIMEOUT_S = 15.0
MAX_BYTES = 2_000_000  # a releases list is tens of KB; anything far bigger is not one
_VERSION = re.compile(r"v?(\d+(?:\.\d+){0,3})")


def app_version() -> str | None:
    """Gravity Desk's own version (from the installed package's metadata), None when it cannot be told."""
    try:
        return metadata.version("gravity-desk")
    except metadata.PackageNotFoundError:
        return None


def parse_version(text: str) -> tuple[int, ...] | None:
    """(1, 2, 3) for "v1.2.3" or "1.2.3"; None for anything that is not a plain release number."""
    match = _VERSION.fullmatch(text.strip())
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def _padded(version: tuple[int, ...]) -> tuple[int, ...]:
    return version + (0,) * (4 - len(version))


@dataclass(frozen=True)
class Release:
    version: str  # as published ("v1.4.0")
    url: str  # the page to open (html_url), else the releases URL


def newest_release(document: Any, fallback_url: str) -> Release | None:
    """The newest published (not draft, not pre-release) release with a version number in the document."""
    entries = document if isinstance(document, list) else [document]
    best: tuple[tuple[int, ...], Release] | None = None
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("draft") or entry.get("prerelease"):
            continue
        tag = entry.get("tag_name") or entry.get("name")
        version = parse_version(tag) if isinstance(tag, str) else None
        if version is None:
            continue
        url = entry.get("html_url")
        release = Release(
            str(tag), url if isinstance(url, str) and url.startswith("https://") else fallback_url
        )
        if best is None or _padded(version) > _padded(best[0]):
            best = (version, release)
    return best[1] if best else None


def is_newer(release: Release, current: str) -> bool:
    published, running = parse_version(release.version), parse_version(current)
    return published is not None and running is not None and _padded(published) > _padded(running)


UpdateListener = Callable[[Release], None]


class UpdateChecker:
    """Checks `settings.releases_url` when `settings.enabled`, at most every `settings.interval_hours`."""

    def __init__(
        self,
        settings: UpdateSettings,
        http: aiohttp.ClientSession,
        home: Path,
        *,
        current_version: str | None = None,
    ) -> None:
        self._settings = settings  # read at each round: turning it on in Settings applies without a restart
        self._http = http
        self._cache_path = home / CACHE_FILE
        self.current_version = current_version if current_version is not None else app_version()
        self._listeners: list[UpdateListener] = []
        self._failure_logged = False
        self.available: Release | None = None  # the newer release found, for windows opened later

    def add_listener(self, listener: UpdateListener) -> None:
        """`listener(release)` when a newer release is found (once per release)."""
        self._listeners.append(listener)

    async def run_forever(self, *, start_delay_s: float = START_DELAY_S) -> None:
        await asyncio.sleep(start_delay_s)
        while True:
            try:
                await self.check()
            except Exception:  # the loop must outlive anything; check() already logs what it expects
                log.exception("update check failed")
            await asyncio.sleep(600.0)  # wakes often but checks only when due (and when turned on)

    async def check(self, *, now: datetime | None = None) -> Release | None:
        """Look (if turned on and due) and return the newer release, if any; never raises for network or
        content problems."""
        if not self._settings.enabled or not self._settings.releases_url or self.current_version is None:
            return None
        now = now or datetime.now(UTC)
        cached = await asyncio.to_thread(self._read_cache)
        due = timedelta(hours=max(1.0, self._settings.interval_hours))
        if cached is not None and cached.get("url") == self._settings.releases_url:
            checked = _time(cached.get("checked_at"))
            if checked is not None and now - checked < due:
                return self._found(_release(cached.get("release")))
        fetched, release = await self._fetch()
        if not fetched:
            return self._found(_release(cached.get("release")) if cached else None)
        await asyncio.to_thread(self._write_cache, now, release)
        return self._found(release)

    def _found(self, release: Release | None) -> Release | None:
        if release is None or self.current_version is None or not is_newer(release, self.current_version):
            return None
        if release != self.available:
            self.available = release
            log.info(
                "Gravity Desk %s is published (this is %s): %s",
                release.version,
                self.current_version,
                release.url,
            )
            for listener in list(self._listeners):
                listener(release)
        return release

    async def _fetch(self) -> tuple[bool, Release | None]:
        """(whether a releases list was read, the newest release in it)."""
        url = self._settings.releases_url
        headers = {"Accept": "application/vnd.github+json, application/json"}
        try:
            timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
            async with self._http.get(url, headers=headers, timeout=timeout) as response:
                if response.status != 200:
                    raise ValueError(f"HTTP {response.status}")
                body = await response.content.read(MAX_BYTES + 1)
                if len(body) > MAX_BYTES:
                    raise ValueError("the answer is too large to be a releases list")
            document = json.loads(body)
        except (aiohttp.ClientError, TimeoutError, ValueError, UnicodeDecodeError) as exc:
            self._log_failure(url, exc)
            return False, None
        self._failure_logged = False
        return True, newest_release(document, url)

    def _log_failure(self, url: str, error: Exception) -> None:
        # One line per failing streak, not one per day forever: the check is optional and may be offline.
        level = logging.DEBUG if self._failure_logged else logging.WARNING
        log.log(
            level, "Update check: %s did not give a releases list (%s); set updates.releases_url", url, error
        )
        self._failure_logged = True

    def _read_cache(self) -> dict[str, Any] | None:
        try:
            loaded = json.loads(self._cache_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return loaded if isinstance(loaded, dict) else None

    def _write_cache(self, now: datetime, release: Release | None) -> None:
        document = {
            "url": self._settings.releases_url,
            "checked_at": now.isoformat(),
            "release": asdict(release) if release else None,
        }
        try:
            self._cache_path.write_text(json.dumps(document), encoding="utf-8")
        except OSError as exc:
            log.debug("Update check: cannot write %s: %s", self._cache_path, exc)


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _release(value: object) -> Release | None:
    if not isinstance(value, dict) or not isinstance(value.get("version"), str):
        return None
    return Release(value["version"], str(value.get("url") or ""))
