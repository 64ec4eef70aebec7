"""Renders a PNG of each main-window page (offscreen, demo data, fake Google) into docs/screenshots/."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["GRAVITY_DESK_KEYRING"] = "file"  # demo secrets never touch the real keyring

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import qasync  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from core.services import create_services  # noqa: E402
from gui.app import create_application  # noqa: E402
from gui.controller import AppController  # noqa: E402
from gui.i18n import apply_language  # noqa: E402
from gui.main_window import MainWindow, Page  # noqa: E402
from gui.theme import apply_theme  # noqa: E402
from gui.tray import Tray  # noqa: E402
from tests.fake_google import FakeGoogle, Fault  # noqa: E402

DEFAULT_PORT = 8045
DEMO_API_KEY = "sk-gd-demo-7Hq2vRk9LmW4xTz8aBcDeFgH"
DEMO_SECOND_KEY = "sk-gd-demo-Q3wErT5yUi8oPaS2dF4gHj6K"  # a key per program: the Dashboard offers a choice
SIZES = ((1120, 720), (820, 520))  # the default window and its minimum
THEMES = ("light", "dark")
SCALES = (1.0, 1.5)
LANGUAGES = ("en", "zh_CN")
SETTLE_S = 0.8  # time for a page's own async loading (quotas, log pages, charts) before the picture
PROMPTS = [
    ("openai", "gemini-3-flash", "Summarise the release notes"),
    ("openai", "gemini-3.1-pro-high", "Write a haiku about tests"),
    ("anthropic", "claude-sonnet-4-5", "Review this diff"),
    ("gemini", "gemini-3-flash", "Translate to French: good morning"),
    ("openai-stream", "gemini-3-flash", "Explain event loops in two sentences"),
    ("anthropic", "claude-sonnet-4-5-thinking", "Plan a refactor"),
    ("openai", "gemini-3-pro-preview", "List three test ideas"),
    ("openai", "gpt-unknown-model", "This model does not exist"),
]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def _send(http: aiohttp.ClientSession, base: str, kind: str, model: str, text: str) -> None:
    headers = {"Authorization": f"Bearer {DEMO_API_KEY}", "x-api-key": DEMO_API_KEY}
    if kind.startswith("openai"):
        body = {
            "model": model,
            "messages": [{"role": "user", "content": text}],
            "stream": kind.endswith("stream"),
        }
        url = f"{base}/v1/chat/completions"
    elif kind == "anthropic":
        body = {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": text}]}
        url = f"{base}/v1/messages"
        headers["anthropic-version"] = "2023-06-01"
    else:
        body = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
        url = f"{base}/v1beta/models/{model}:generateContent"
    async with http.post(url, json=body, headers=headers) as response:
        await response.read()


async def _demo(fake: FakeGoogle, home: Path) -> AppController:
    settings = fake.settings(home)
    settings.server.api_keys = [DEMO_API_KEY, DEMO_SECOND_KEY]
    settings.server.port = DEFAULT_PORT if _port_is_free(DEFAULT_PORT) else 0  # the address people will see
    services = await create_services(settings, use_keyring=False)
    services.api_keys.set_names({DEMO_SECOND_KEY: "claude code"})
    alice = fake.add_google_account(
        "alice@example.com",
        project_id="proj-alice",
        models={
            "gemini-3.1-pro-high": 0.42,
            "gemini-3-flash": 0.81,
            "claude-sonnet-4-5": 0.66,
            "claude-sonnet-4-5-thinking": 0.66,
            "gemini-3-pro-preview": 0.9,
        },
    )
    bob = fake.add_google_account(
        "bob.builder@example.org", project_id="proj-bob", tier="standard-tier", paid_tier="g1-pro-tier"
    )
    fake.set_remaining("alice@example.com", "gemini-3.1-pro-high", 0.42, reset_in_s=3 * 3600)
    await services.accounts.add_google(alice.refresh_token)
    added_bob = await services.accounts.add_google(bob.refresh_token)
    await services.accounts.set_label(added_bob.id, "team")
    controller = AppController(services)
    await controller.start_server()
    fake.inject(Fault("rate_limit", method="generateContent", who="alice@example.com", times=1))
    async with aiohttp.ClientSession() as http:
        for round_ in range(3):
            for kind, model, text in PROMPTS:
                await _send(http, controller.state.url, kind, model, f"{text} ({round_ + 1})")
    await asyncio.to_thread(services.request_log.flush)
    return controller


async def render(out: Path, size: tuple[int, int], theme: str, suffix: str, lang: str = "en") -> list[Path]:
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="gd-screens-") as folder:
        async with FakeGoogle() as fake:
            controller = await _demo(fake, Path(folder))
            controller.settings.ui.language = lang
            apply_language(lang)
            apply_theme(theme)
            window = MainWindow(controller)
            tray = Tray(controller, window)
            try:
                window.resize(*size)
                # Most desktops have a keyring; the demo's file fallback is not what people will see.
                window.keyring_banner.hide()
                window.show()
                for page in Page:
                    window.show_page(page)
                    await asyncio.sleep(SETTLE_S)
                    path = out / f"{page.name.lower()}{suffix}.png"
                    window.grab().save(str(path))
                    written.append(path)
                menu = tray.contextMenu()
                if menu is not None:
                    menu.adjustSize()
                    path = out / f"tray-menu{suffix}.png"
                    menu.grab().save(str(path))
                    written.append(path)
            finally:
                window.close_to_tray = False
                window.hide()
                tray.hide()
                await controller.shutdown()
    return written


def _variant_suffix(size: tuple[int, int], theme: str, scale: float, lang: str) -> str:
    """accounts-1120x720-dark-150-zh_CN.png: the default (1120x720, light, 100 %, English) has no suffix."""
    parts = []
    if size != SIZES[0]:
        parts.append(f"{size[0]}x{size[1]}")
    if theme != "light":
        parts.append(theme)
    if scale != 1.0:
        parts.append(f"{round(scale * 100)}")
    if lang != "en":
        parts.append(lang)
    return "".join(f"-{part}" for part in parts)


def _render_one(out: Path, size: tuple[int, int], theme: str, lang: str) -> None:
    app = create_application(["gravity-desk-screenshots"])
    assert isinstance(app, QApplication)
    scale = float(os.environ.get("QT_SCALE_FACTOR", "1") or 1)
    suffix = _variant_suffix(size, theme, scale, lang)
    written = asyncio.run(render(out, size, theme, suffix, lang), loop_factory=lambda: qasync.QEventLoop(app))
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--size", help="WxH for one variant (default: every size)")
    parser.add_argument("--theme", choices=THEMES, help="one theme (default: both)")
    parser.add_argument("--lang", choices=LANGUAGES, help="one UI language (default: English and Chinese)")
    parser.add_argument("--all", action="store_true", help="every size, theme and scale (one process each)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.size or args.theme:
        width, height = (int(n) for n in (args.size or "1120x720").split("x"))
        _render_one(args.out, (width, height), args.theme or "light", args.lang or "en")
        return
    # Each variant in its own process: the scale factor is read once, when Qt starts.
    langs = [args.lang] if args.lang else list(LANGUAGES)
    for lang in langs:
        for scale in SCALES:
            for theme in THEMES:
                for width, height in SIZES if scale == 1.0 else SIZES[:1]:
                    env = dict(os.environ, QT_SCALE_FACTOR=str(scale))
                    command = [sys.executable, __file__, "--out", str(args.out)]
                    command += ["--size", f"{width}x{height}", "--theme", theme, "--lang", lang]
                    subprocess.run(command, env=env, check=True)  # noqa: S603 (our own script)


if __name__ == "__main__":
    main()
