#!/usr/bin/env bash
# Image Studio set-up for a fresh Debian 12 machine. Idempotent: a second run only checks.
#   1. Debian packages: Python, Node.js, the kernel source and build tools, SeaBIOS,
#      QtWebEngine's libraries, Xvfb, QEMU (for the benchmark's comparison)
#   2. the boot page's npm packages (resources/web, pinned by package-lock.json)
#   3. a Python virtual environment (.venv) with the studio and its test tools
#   4. the guest kernel, built once and cached (studio kernel)
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
say() { printf '\n==> %s  [%d s]\n' "$*" "$SECONDS"; }

APT_PACKAGES=(
  # Python, compilers
  python3 python3-venv python3-pip build-essential git ca-certificates
  # the guest kernel (ARCHITECTURE.md: linux-source-6.1, tinyconfig + packaging/kernel/studio.config)
  linux-source-6.1 flex bison libelf-dev bc cpio xz-utils kmod lz4
  # the emulated PC's BIOS
  seabios
  # BusyBox, to check init scripts with the shell Alpine runs (ash)
  busybox
  # wasm2c and its runtime: WebAssembly programs become executables the 32-bit guest runs
  wabt
  # QtWebEngine (offscreen and on a desktop)
  libegl1 libgl1 libx11-6 libx11-xcb1 libxcomposite1 libxdamage1 libxext6 libxfixes3 libxrandr2 libxtst6
  libasound2 libbrotli1 libdbus-1-3 libfontconfig1 libfreetype6 libgbm1 libglib2.0-0 libnspr4 libnss3
  libxcb-dri3-0 libxcb1 libxkbcommon0 libxkbfile1 libxshmfence1 libxkbcommon-x11-0 libxcb-cursor0
  libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0
  libxcb-xinerama0 libxcb-xkb1 fonts-dejavu-core
  # a virtual screen for GUI runs without a desktop; QEMU for the boot benchmark's comparison;
  # Chromium for the exported bundle's browser test (driven by Playwright, which downloads nothing)
  xvfb xauth qemu-system-x86 chromium
  # the checkers of the desktop entry and AppStream metainfo (tests)
  desktop-file-utils appstream
)

# Node.js and npm from Debian, unless the machine has them already (e.g. NodeSource's nodejs,
# which bundles npm and conflicts with Debian's npm package).
if ! command -v npm >/dev/null 2>&1; then
  APT_PACKAGES+=(nodejs npm)
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "Installing Debian packages: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The npm packages download while pip installs (both mostly wait on the network).
say "npm packages for the boot page (resources/web), in the background"
if [ ! -f resources/web/node_modules/.package-lock.json ] \
   || [ resources/web/package-lock.json -nt resources/web/node_modules/.package-lock.json ]; then
  (cd resources/web && npm ci --no-audit --no-fund --loglevel=error) &
  npm_job=$!
else
  echo "up to date"
  npm_job=""
fi

say "Python virtual environment (.venv)"
PYTHON=$(command -v python3.11 || command -v python3)
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is needed (PySide6 6.11.3 is pinned for it)"'
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  touch .venv/.installed
else
  echo "up to date"
fi
if [ -n "$npm_job" ]; then
  wait "$npm_job" || { echo "npm ci failed in resources/web (see above)" >&2; exit 1; }
  echo "npm packages installed"
fi

say "Guest kernel (built once, cached by source version and config)"
.venv/bin/studio kernel

say "Compilers (zig's caches warmed once, so the first compile in the app is fast)"
.venv/bin/studio toolchain

say "Set-up done. Run the studio: .venv/bin/studio    Run the tests: .venv/bin/python -m pytest"
