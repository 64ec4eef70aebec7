#!/usr/bin/env bash
# Build the Linux artefacts from a clean checkout: dist/gravity-desk/ (PyInstaller), a .tar.gz and a .deb.
#   packaging/build.sh              everything
#   packaging/build.sh --no-bundle  reuse dist/gravity-desk/ and only (re)pack the .tar.gz and the .deb
set -euo pipefail
trap 'echo "packaging/build.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${GRAVITY_DESK_VENV:-.venv}
DIST=$ROOT/dist
WORK=$ROOT/build
APP=gravity-desk
HICOLOR_SIZES=(16 24 32 48 64 128 256 512) # the sizes the hicolor theme defines (index.theme)

build_bundle=1
for arg in "$@"; do
    case "$arg" in
        --no-bundle) build_bundle=0 ;;
        *) echo "usage: packaging/build.sh [--no-bundle]" >&2; exit 2 ;;
    esac
done

say() { echo "== $*" >&2; }
fail() { echo "packaging/build.sh: $*" >&2; exit 1; }
size_of() { du -sh "$1" | cut -f1; }

case "$(uname -m)" in
    x86_64) DEB_ARCH=amd64; TAR_ARCH=x86_64 ;;
    aarch64) DEB_ARCH=arm64; TAR_ARCH=aarch64 ;;
    *) fail "unsupported machine $(uname -m)" ;;
esac
command -v dpkg-deb >/dev/null || fail "dpkg-deb not found (Debian/Ubuntu: apt-get install dpkg)"

# The project's venv (the same set-up as ./dev) with PyInstaller from the `build` extra.
./dev setup
PYTHON=$VENV/bin/python
if ! "$PYTHON" -c 'import PyInstaller' 2>/dev/null; then
    say "installing PyInstaller into $VENV (pip install -e .[build])"
    "$PYTHON" -m pip install --quiet -e ".[build]" >&2
fi
VERSION=$("$PYTHON" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')

if [ "$build_bundle" = 1 ]; then
    say "PyInstaller: dist/$APP/ (version $VERSION)"
    started=$SECONDS
    # No --clean: PyInstaller's cache of analysed binaries is what keeps a rebuild at ~20 s.
    "$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
        --workpath "$WORK/pyinstaller" --distpath "$DIST" build.spec >&2
    say "bundle built in $((SECONDS - started)) s"
fi
[ -x "$DIST/$APP/$APP" ] || fail "dist/$APP/$APP is missing: run without --no-bundle"

# -- icons: assets/icons/gravity-desk-<size>.png come from packaging/make_icons.py --------------------------
icon_png() { echo "$ROOT/assets/icons/$APP-$1.png"; }
if [ ! -f "$(icon_png 48)" ] && [ -f packaging/make_icons.py ]; then
    say "rendering the PNG icons (packaging/make_icons.py)"
    QT_QPA_PLATFORM=offscreen "$PYTHON" packaging/make_icons.py >&2
fi

# -- the .deb ------------------------------------------------------------------------------------------------
say "staging the .deb"
STAGE=$WORK/deb/${APP}_${VERSION}_$DEB_ARCH
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
    "$STAGE/usr/share/icons/hicolor/scalable/apps" "$STAGE/usr/share/doc/$APP"
cp -a "$DIST/$APP" "$STAGE/opt/$APP"
# Relative, so the launcher also works inside a scratch root (dpkg -x) as well as when installed.
ln -s "../../opt/$APP/$APP" "$STAGE/usr/bin/$APP"
install -m 644 packaging/linux/$APP.desktop "$STAGE/usr/share/applications/$APP.desktop"
install -D -m 644 packaging/linux/$APP.service "$STAGE/usr/lib/systemd/user/$APP.service"
install -m 644 assets/$APP.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/$APP.svg"
missing_icons=()
for size in "${HICOLOR_SIZES[@]}"; do
    if [ -f "$(icon_png "$size")" ]; then
        install -D -m 644 "$(icon_png "$size")" "$STAGE/usr/share/icons/hicolor/${size}x$size/apps/$APP.png"
    else
        missing_icons+=("$size")
    fi
done
[ ${#missing_icons[@]} -eq 0 ] || say "warning: no PNG icon for sizes ${missing_icons[*]} (only the SVG is installed)"
install -m 644 README.md "$STAGE/usr/share/doc/$APP/README.md"
install -m 755 packaging/linux/postinst packaging/linux/postrm "$STAGE/DEBIAN/"

# Qt and the bundled libraries need at least the C library of the machine that built them.
# (getconf, not `ldd --version | head`: head closing the pipe early fails the pipeline under pipefail.)
GLIBC=$(getconf GNU_LIBC_VERSION | cut -d' ' -f2)
INSTALLED_KB=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
MAINTAINER=${DEB_MAINTAINER:-Gravity Desk developers <packaging@gravity-desk.invalid>}
sed -e "s/@VERSION@/$VERSION/" -e "s/@INSTALLED_SIZE@/$INSTALLED_KB/" -e "s/@GLIBC@/$GLIBC/" \
    -e "s|@MAINTAINER@|$MAINTAINER|" -e "s/^Architecture: .*/Architecture: $DEB_ARCH/" \
    packaging/linux/control >"$STAGE/DEBIAN/control"
chmod -R u+rwX,go+rX,go-w "$STAGE"

DEB=$DIST/${APP}_${VERSION}_$DEB_ARCH.deb
say "dpkg-deb: $DEB"
started=$SECONDS
# --root-owner-group: files owned by root in the package without fakeroot; xz is what every dpkg reads.
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >&2
say "packed in $((SECONDS - started)) s"

# -- the .tar.gz ---------------------------------------------------------------------------------------------
TARBALL=$DIST/$APP-$VERSION-linux-$TAR_ARCH.tar.gz
say "tar: $TARBALL"
rm -f "$TARBALL"
tar -C "$DIST" --owner=0 --group=0 -czf "$TARBALL" "$APP" # unpacks to gravity-desk/gravity-desk

echo "Built Gravity Desk $VERSION for Linux $TAR_ARCH:"
printf '  %-60s %s\n' "$DIST/$APP/ (bundle)" "$(size_of "$DIST/$APP")"
printf '  %-60s %s\n' "$TARBALL" "$(size_of "$TARBALL")"
printf '  %-60s %s\n' "$DEB" "$(size_of "$DEB")"
