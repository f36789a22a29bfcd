"""The parts the boot page needs besides the build (Qt-free): its own files, the npm files it
loads, SeaBIOS and the kernel. The studio:// scheme serves them; the web export copies them."""

from __future__ import annotations

from pathlib import Path

from studio import kernel, paths

PAGE_DIR = paths.WEB_DIR / "app"
PAGE_FILES = frozenset({"index.html", "boot.js", "boot.css"})
NPM_DIR = paths.WEB_DIR / "node_modules"
NPM_FILES = frozenset({
    "v86/build/libv86.js",
    "v86/build/v86.wasm",
    "@xterm/xterm/lib/xterm.js",
    "@xterm/xterm/css/xterm.css",
    "@xterm/addon-fit/lib/addon-fit.js",
    "@xterm/addon-search/lib/addon-search.js",
})
# An installed wheel carries SeaBIOS; a checkout uses Debian's seabios package.
SEABIOS = paths.BUNDLED_BIOS if paths.BUNDLED_BIOS.is_file() else Path("/usr/share/seabios/bios.bin")


def missing_assets() -> list[str]:
    """What the boot page needs but this machine lacks, each with what to do about it."""
    problems = []
    missing_npm = [f for f in sorted(NPM_FILES) if not (NPM_DIR / f).is_file()]
    if missing_npm:
        problems.append(f"the boot page's npm packages are missing ({', '.join(missing_npm)}): "
                        "run packaging/setup.sh (or `npm ci` in resources/web)")
    if not SEABIOS.is_file():
        problems.append(f"{SEABIOS} is missing: install Debian's seabios package (packaging/setup.sh does)")
    try:
        kernel.find_kernel()
    except kernel.KernelError as err:
        problems.append(str(err))
    from studio import initrd

    if not initrd.cached_path().is_file():
        problems.append("the studio's init (initramfs) has not been built yet: run `studio kernel` "
                        "(packaging/setup.sh does), which builds it in seconds")
    return problems
