#!/usr/bin/env bash
# Builds the macOS app and disk image: PyInstaller (build.spec's BUNDLE) makes "dist/Gravity Desk.app",
# an ad-hoc signature makes it launchable on Apple silicon, and hdiutil packs it into
# dist/gravity-desk-<version>-macos-<arch>.dmg with an /Applications shortcut to drag it onto.
#
#   packaging/macos/build.sh            uses $PYTHON, else .venv/bin/python (made by ./dev), else python3
#   SKIP_INSTALL=1 packaging/macos/build.sh   the project and PyInstaller are already installed
#
# Signing: this is an ad-hoc signature (`codesign -s -`), enough for the app to run on the machine that
# downloads it once the user allows it (right-click > Open, or System Settings > Privacy & Security > Open
# Anyway). A build that opens without that prompt needs an Apple Developer ID:
#   codesign --force --deep --options runtime --timestamp -s "Developer ID Application: NAME (TEAMID)" APP
#   xcrun notarytool submit DMG --apple-id ... --team-id ... --password ... --wait
#   xcrun stapler staple DMG
# (sign the .app before making the .dmg, then sign, notarise and staple the .dmg).
set -euo pipefail
cd "$(dirname "$0")/../.."

APP_NAME="Gravity Desk"
APP="dist/$APP_NAME.app"

if [ "$(uname -s)" != "Darwin" ]; then
    echo "packaging/macos/build.sh runs on macOS only (codesign and hdiutil are Apple tools)." >&2
    exit 2
fi

python=${PYTHON:-}
if [ -z "$python" ]; then
    if [ -x .venv/bin/python ]; then python=.venv/bin/python; else python=python3; fi
fi
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python 3.12 or newer is needed")'
if [ -z "${SKIP_INSTALL:-}" ]; then
    "$python" -m pip install --quiet --upgrade pip
    "$python" -m pip install --quiet -e ".[build]"
fi

version=$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
arch=$(uname -m)  # arm64 or x86_64: PyInstaller builds for the interpreter's own architecture
dmg="dist/gravity-desk-$version-macos-$arch.dmg"
echo "== Gravity Desk $version ($arch)"

echo "== PyInstaller"
"$python" -m PyInstaller --noconfirm --clean build.spec
if [ ! -d "$APP" ]; then
    echo "PyInstaller did not produce $APP (build.spec's BUNDLE)" >&2
    exit 1
fi
/usr/libexec/PlistBuddy -c "Print :LSUIElement" "$APP/Contents/Info.plist" | grep -qi true || {
    echo "$APP/Contents/Info.plist lacks LSUIElement=true (the app would show a Dock icon)" >&2
    exit 1
}

echo "== codesign (ad hoc)"
# PyInstaller signs each binary ad hoc already; re-signing the whole bundle seals the resources it added last.
codesign --force --deep --sign - "$APP"
codesign --verify --deep --strict "$APP"

echo "== smoke test"
# The bundled executable answers `--help` without Qt or a window: proves the bundle's Python starts.
executable=$(/usr/libexec/PlistBuddy -c "Print :CFBundleExecutable" "$APP/Contents/Info.plist")
"$APP/Contents/MacOS/$executable" --help >/dev/null

echo "== disk image"
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
# ditto keeps the bundle's symlinks, extended attributes and signature intact (cp -R may not).
ditto "$APP" "$staging/$APP_NAME.app"
ln -s /Applications "$staging/Applications"
rm -f "$dmg"
hdiutil create -volname "$APP_NAME" -srcfolder "$staging" -fs HFS+ -format UDZO -ov "$dmg" >/dev/null
hdiutil verify "$dmg" >/dev/null

app_size=$(du -sh "$APP" | cut -f1)
dmg_size=$(du -h "$dmg" | cut -f1)
echo "built $APP ($app_size) and $dmg ($dmg_size)"
