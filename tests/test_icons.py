"""Icon files: ICO/ICNS parse (by hand and with Qt), sizes right, real drawings, renders current, files preferred."""

from __future__ import annotations

import importlib.util
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtGui import QColor, QImage, QImageReader
from PySide6.QtWidgets import QApplication

from gui import icons
from gui.icons import TrayState, render_tray_pixmap

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
APP_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
# Apple's ICNS types that hold PNG data, and their pixel sizes (from the format's documentation).
ICNS_PIXELS = {
    b"ic07": 128,
    b"ic08": 256,
    b"ic09": 512,
    b"ic10": 1024,
    b"ic11": 32,
    b"ic12": 64,
    b"ic13": 256,
    b"ic14": 512,
}
TRAY_NAMES = [
    (state, dark, scale)
    for state in ("serving", "paused", "problem")
    for dark in (False, True)
    for scale in (1, 2)
]


def _load_make_icons() -> ModuleType:
    # Loaded by path: a `packaging` package would clash with the PyPI `packaging` library.
    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "packaging" / "make_icons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_icons", module)
    spec.loader.exec_module(module)
    return module


make_icons = _load_make_icons()


@pytest.fixture(scope="module")
def fresh_assets(
    tmp_path_factory: pytest.TempPathFactory,
    qapp: QApplication,  # noqa: ARG001 - asked for its effect: the generator draws with Qt
) -> Path:
    """The generator run into a scratch folder, as a developer or CI would run it."""
    out = tmp_path_factory.mktemp("assets")
    assert make_icons.main(["--out", str(out)]) == 0
    return out


@pytest.fixture(params=["committed", "fresh"])
def assets(request: pytest.FixtureRequest) -> Path:
    """Both the files in the repository and a fresh run must pass the same checks."""
    if request.param == "committed":
        return ASSETS
    return Path(request.getfixturevalue("fresh_assets"))


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (always first, right after the signature)."""
    assert data[:8] == PNG_SIGNATURE, "not PNG data"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def read_all_with_qt(path: Path) -> list[QImage]:
    reader = QImageReader(str(path))
    images = []
    for index in range(reader.imageCount()):
        assert reader.jumpToImage(index)
        image = reader.read()
        assert not image.isNull(), f"Qt could not read image {index} of {path.name}: {reader.errorString()}"
        images.append(image)
    return images


def assert_real_drawing(image: QImage) -> None:
    """Not blank: some pixels opaque, some transparent (the rounded or free-standing shape), many colours."""
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    pixels = bytes(image.constBits())
    alphas = pixels[3::4]
    opaque = sum(1 for alpha in alphas if alpha > 200)
    assert opaque > len(alphas) * 0.1, "almost nothing drawn"
    assert any(alpha == 0 for alpha in alphas), "no transparent pixels: not an icon shape"
    colours = {pixels[i : i + 4] for i in range(0, len(pixels), 4)}
    assert len(colours) > 8


def mean_difference(first: QImage, second: QImage) -> float:
    assert first.size() == second.size()
    a = bytes(first.convertToFormat(QImage.Format.Format_RGBA8888).constBits())
    b = bytes(second.convertToFormat(QImage.Format.Format_RGBA8888).constBits())
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


@pytest.mark.usefixtures("qapp")
def test_app_pngs_have_every_size_and_are_drawn(assets: Path) -> None:
    for size in APP_SIZES:
        path = assets / "icons" / f"gravity-desk-{size}.png"
        assert png_size(path.read_bytes()) == (size, size)
        image = QImage(str(path))
        assert image.width() == size
        assert image.hasAlphaChannel()
        assert_real_drawing(image)
        # The tile's rounded corner is see-through, its middle is solid.
        assert image.pixelColor(0, 0).alpha() == 0
        assert image.pixelColor(size // 2, size // 2).alpha() == 255


@pytest.mark.usefixtures("qapp")
def test_ico_directory_and_images(assets: Path) -> None:
    data = (assets / "gravity-desk.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)  # 1 = icon (2 would be a cursor)
    sizes = []
    for index in range(count):
        width, height, _colours, _reserved, planes, bits, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * index : 22 + 16 * index]
        )
        assert (planes, bits) == (1, 32)
        assert offset + length <= len(data)
        pixel_size = width or 256  # 0 stands for 256
        assert (width, height) == (pixel_size % 256, pixel_size % 256)
        assert png_size(data[offset : offset + length]) == (pixel_size, pixel_size)
        sizes.append(pixel_size)
    assert sizes == [16, 24, 32, 48, 64, 128, 256]
    qt_sizes = [image.width() for image in read_all_with_qt(assets / "gravity-desk.ico")]
    assert qt_sizes == sizes


@pytest.mark.usefixtures("qapp")
def test_icns_chunks_and_images(assets: Path) -> None:
    data = (assets / "gravity-desk.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    position, kinds = 8, []
    while position < len(data):
        kind = data[position : position + 4]
        (length,) = struct.unpack(">I", data[position + 4 : position + 8])
        assert length > 8 and position + length <= len(data)
        pixels = ICNS_PIXELS[kind]
        assert png_size(data[position + 8 : position + length]) == (pixels, pixels)
        kinds.append(kind)
        position += length
    assert position == len(data)  # the chunks tile the file exactly
    assert {b"ic07", b"ic08", b"ic09", b"ic10"} <= set(kinds)
    qt_sizes = sorted(image.width() for image in read_all_with_qt(assets / "gravity-desk.icns"))
    assert qt_sizes == sorted(ICNS_PIXELS[kind] for kind in kinds)
    assert max(qt_sizes) == 1024


@pytest.mark.parametrize(("state", "dark", "scale"), TRAY_NAMES)
@pytest.mark.usefixtures("qapp")
def test_tray_pngs_show_their_state(assets: Path, state: str, dark: bool, scale: int) -> None:
    suffix = "" if scale == 1 else "@2x"
    path = assets / "tray" / f"{state}-{'dark' if dark else 'light'}{suffix}.png"
    size = 16 * scale
    assert png_size(path.read_bytes()) == (size, size)
    image = QImage(str(path))
    assert_real_drawing(image)
    # The badge (lower right quarter) carries the state's colour: green, red, or neither (grey).
    half = size // 2
    badge = [image.pixelColor(x, y) for x in range(half, size) for y in range(half, size)]
    greens = sum(
        1 for c in badge if c.alpha() == 255 and c.green() > c.red() + 60 and c.green() > c.blue() + 60
    )
    reds = sum(1 for c in badge if c.alpha() == 255 and c.red() > c.green() + 80 and c.red() > c.blue() + 80)
    enough = size * size // 20
    assert (greens >= enough, reds >= enough) == {
        "serving": (True, False),
        "problem": (False, True),
        "paused": (False, False),
    }[state]
    if state == "paused":
        # Mid grey: neither the dark nor the light glyph colour, nor the white mark.
        greys = sum(
            1
            for c in badge
            if c.alpha() == 255
            and 80 < c.lightness() < 160
            and max(c.red(), c.green(), c.blue()) - min(c.red(), c.green(), c.blue()) < 30
        )
        assert greys >= size * size // 64  # the badge is small: at 16 px a few pixels of grey
    # The planet (upper left) is dark on a light panel and light on a dark one.
    planet = image.pixelColor(round(size * 0.42), round(size * 0.42))
    assert planet.alpha() > 200
    assert (planet.lightness() > 160) if dark else (planet.lightness() < 100)


@pytest.mark.usefixtures("qapp")
def test_committed_app_pngs_match_the_svg() -> None:
    """A stale render (SVG edited, make_icons not re-run) fails here; small tolerance for Qt versions."""
    for size in (16, 48, 256):
        committed = QImage(str(ASSETS / "icons" / f"gravity-desk-{size}.png"))
        fresh = make_icons.render_svg(ASSETS / "gravity-desk.svg", size)
        assert mean_difference(committed, fresh) < 1.5, f"assets/icons/gravity-desk-{size}.png is stale"


@pytest.mark.parametrize(("state", "dark", "scale"), TRAY_NAMES)
@pytest.mark.usefixtures("qapp")
def test_committed_tray_pngs_match_the_renderer(state: str, dark: bool, scale: int) -> None:
    suffix = "" if scale == 1 else "@2x"
    committed = QImage(str(ASSETS / "tray" / f"{state}-{'dark' if dark else 'light'}{suffix}.png"))
    drawn = render_tray_pixmap(TrayState(state), dark, 16 * scale).toImage()
    assert mean_difference(committed, drawn) < 1.5, "re-run packaging/make_icons.py"


def test_container_writers_reject_what_the_formats_cannot_hold() -> None:
    with pytest.raises(ValueError):
        make_icons.ico_bytes({512: PNG_SIGNATURE})
    with pytest.raises(ValueError):
        make_icons.icns_bytes([(b"ic7", PNG_SIGNATURE)])


@pytest.fixture
def bundle_assets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty assets folder inside a pretend PyInstaller bundle, with gui.icons' caches cleared around."""
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    (tmp_path / "assets" / "tray").mkdir(parents=True)
    (tmp_path / "assets" / "icons").mkdir()
    icons._tray_icon.cache_clear()
    icons.app_icon.cache_clear()
    yield tmp_path / "assets"
    icons._tray_icon.cache_clear()
    icons.app_icon.cache_clear()


def _solid(size: int, colour: str) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(QColor(colour))
    return image


@pytest.mark.usefixtures("qapp")
def test_tray_icon_prefers_files_of_the_right_size(bundle_assets: Path) -> None:
    _solid(16, "#ff00ff").save(str(bundle_assets / "tray" / "problem-dark.png"))
    _solid(20, "#00ffff").save(str(bundle_assets / "tray" / "problem-dark@2x.png"))  # wrong size: ignored
    icon = icons.tray_icon(TrayState.PROBLEM, dark=True)
    from_file = icon.pixmap(16, 16).toImage()
    assert from_file.pixelColor(8, 8) == QColor("#ff00ff")
    drawn = render_tray_pixmap(TrayState.PROBLEM, True, 32).toImage()
    assert icon.pixmap(32, 32).toImage() == drawn
    # Sizes with no file are drawn, and another state's icon is untouched by this state's file.
    assert icon.pixmap(24, 24).toImage() == render_tray_pixmap(TrayState.PROBLEM, True, 24).toImage()
    other = icons.tray_icon(TrayState.SERVING, dark=True).pixmap(16, 16).toImage()
    assert other == render_tray_pixmap(TrayState.SERVING, True, 16).toImage()


@pytest.mark.usefixtures("qapp")
def test_tray_icon_uses_an_at_2x_file_for_twice_the_size(bundle_assets: Path) -> None:
    _solid(32, "#00ff00").save(str(bundle_assets / "tray" / "paused-light@2x.png"))
    icon = icons.tray_icon(TrayState.PAUSED, dark=False)
    assert icon.pixmap(32, 32).toImage().pixelColor(16, 16) == QColor("#00ff00")
    assert icon.pixmap(16, 16).toImage() == render_tray_pixmap(TrayState.PAUSED, False, 16).toImage()


@pytest.mark.usefixtures("qapp")
def test_app_icon_uses_the_pngs_when_present(bundle_assets: Path) -> None:
    for size, colour in ((16, "#ff0000"), (64, "#0000ff")):
        _solid(size, colour).save(str(bundle_assets / "icons" / f"gravity-desk-{size}.png"))
    icon = icons.app_icon()
    assert sorted(s.width() for s in icon.availableSizes()) == [16, 64]
    assert icon.pixmap(64, 64).toImage().pixelColor(32, 32) == QColor("#0000ff")


@pytest.mark.usefixtures("qapp")
def test_app_icon_falls_back_to_the_svg(bundle_assets: Path) -> None:
    (bundle_assets / "gravity-desk.svg").write_bytes((ASSETS / "gravity-desk.svg").read_bytes())
    image = icons.app_icon().pixmap(64, 64).toImage()
    assert not image.isNull()
    assert image.pixelColor(32, 32).alpha() == 255
    assert image.pixelColor(0, 0).alpha() == 0


@pytest.mark.parametrize(
    ("system_uses_light", "apps_dark", "panel_dark"),
    [
        (0, False, True),  # Windows 10's default: dark taskbar, light apps
        (1, True, False),  # light taskbar, dark apps
        (None, True, True),  # no such value (older Windows): the apps' mode decides
        (None, False, False),
    ],
)
@pytest.mark.usefixtures("qapp")
def test_on_windows_the_tray_icon_follows_the_taskbar_not_the_apps_mode(
    monkeypatch: pytest.MonkeyPatch,
    system_uses_light: int | None,
    apps_dark: bool,
    panel_dark: bool,
) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(icons, "system_is_dark", lambda: apps_dark)
    values = {"SystemUsesLightTheme": system_uses_light}
    monkeypatch.setattr(icons, "windows_personalize_value", values.get)
    assert icons.tray_panel_is_dark() is panel_dark
    shown = icons.tray_icon(TrayState.SERVING).pixmap(24, 24).toImage()
    assert shown == render_tray_pixmap(TrayState.SERVING, panel_dark, 24).toImage()


@pytest.mark.usefixtures("qapp")
def test_elsewhere_the_tray_icon_follows_the_colour_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(icons, "windows_personalize_value", lambda _name: 0)  # must not be asked
    for apps_dark in (True, False):
        monkeypatch.setattr(icons, "system_is_dark", lambda dark=apps_dark: dark)
        assert icons.tray_panel_is_dark() is apps_dark
