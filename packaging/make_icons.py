"""Renders assets/gravity-desk.svg and the tray glyphs into the PNG, ICO and ICNS files the installers use."""

from __future__ import annotations

import argparse
import os
import struct
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

# Before Qt is imported: rendering needs no screen (CI, ssh, containers).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: gui/ lives next to packaging/
    sys.path.insert(0, str(ROOT))

SVG_NAME = "gravity-desk.svg"
APP_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # 256 is the largest an ICO directory entry can describe
# ICNS chunk types holding PNG data, by pixel size. ic11..ic14 are the @2x ("Retina") variants of
# 16/32/128/256 pt; Finder and the Dock pick whichever fits. 'ic10' is 512@2x, i.e. 1024 px.
ICNS_CHUNKS = (
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic07", 128),
    (b"ic13", 256),
    (b"ic08", 256),
    (b"ic14", 512),
    (b"ic09", 512),
    (b"ic10", 1024),
)


def render_svg(svg: Path, size: int) -> QImage:
    """The SVG drawn into a transparent size x size image (not scaled from another size: edges stay crisp)."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG file")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
    finally:
        painter.end()
    return image


def png_bytes(image: QImage) -> bytes:
    """`image` encoded as PNG."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, QByteArray(b"png"))
    if not writer.write(image):
        raise RuntimeError(f"Qt could not encode a PNG image: {writer.errorString()}")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """A Windows ICO file whose entries are the given PNGs (size -> PNG data), smallest first.

    Layout: ICONDIR (reserved 0, type 1, count), one 16-byte ICONDIRENTRY per image, then the images.
    Windows Vista and later read PNG entries; a width or height of 256 is written as 0.
    """
    sizes = sorted(pngs)
    if not sizes or sizes[0] < 1 or sizes[-1] > 256:
        raise ValueError(f"ICO sizes must be 1..256, got {sizes}")
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries = b""
    for size in sizes:
        dimension = 0 if size == 256 else size
        # width, height, palette colours, reserved, colour planes, bits per pixel, data size, data offset
        entries += struct.pack("<BBBBHHII", dimension, dimension, 0, 0, 1, 32, len(pngs[size]), offset)
        offset += len(pngs[size])
    return header + entries + b"".join(pngs[size] for size in sizes)


def icns_bytes(chunks: Sequence[tuple[bytes, bytes]]) -> bytes:
    """An Apple ICNS file: 'icns' + total length, then (type, length including its 8-byte header, data)."""
    body = b""
    for kind, data in chunks:
        if len(kind) != 4:
            raise ValueError(f"ICNS chunk types are 4 bytes, got {kind!r}")
        body += kind + struct.pack(">I", len(data) + 8) + data
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def write_app_icons(svg: Path, out: Path) -> list[Path]:
    """PNGs of every app size into out/icons, plus out/gravity-desk.ico and out/gravity-desk.icns."""
    pngs = {size: png_bytes(render_svg(svg, size)) for size in APP_SIZES}
    written = []
    (out / "icons").mkdir(parents=True, exist_ok=True)
    for size, data in pngs.items():
        written.append(_write(out / "icons" / f"gravity-desk-{size}.png", data))
    written.append(_write(out / "gravity-desk.ico", ico_bytes({size: pngs[size] for size in ICO_SIZES})))
    written.append(
        _write(out / "gravity-desk.icns", icns_bytes([(kind, pngs[px]) for kind, px in ICNS_CHUNKS]))
    )
    return written


def write_tray_icons(out: Path) -> list[Path]:
    """Every tray state for light and dark panels at gui.icons' file size and @2x, drawn by the app's own
    renderer, under the names gui.icons looks for."""
    from gui.icons import TRAY_FILE_SIZE, TrayState, render_tray_pixmap, tray_file_name

    written = []
    (out / "tray").mkdir(parents=True, exist_ok=True)
    for state in TrayState:
        for dark in (False, True):
            for size in (TRAY_FILE_SIZE, 2 * TRAY_FILE_SIZE):
                name = tray_file_name(state, dark, size)
                assert name is not None  # both sizes have a file name by definition
                image = render_tray_pixmap(state, dark, size).toImage()
                written.append(_write(out / name, png_bytes(image)))
    return written


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--svg", type=Path, default=ROOT / "assets" / SVG_NAME, help="the app icon (SVG)")
    parser.add_argument("--out", type=Path, default=ROOT / "assets", help="the folder to write into")
    args = parser.parse_args(argv)
    # QPixmap (the tray renderer) needs a QGuiApplication; keep a reference while drawing.
    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    written = write_app_icons(args.svg, args.out) + write_tray_icons(args.out)
    for path in written:
        print(f"{path.stat().st_size:>8}  {path}")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
