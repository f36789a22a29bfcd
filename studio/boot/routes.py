"""What the studio:// scheme serves, and nothing else (Qt-free, so it can be tested on its own).

    studio://app/index.html, boot.js, boot.css   the boot page (resources/web/app)
    studio://app/npm/...        the page's npm files, an explicit list
    studio://app/qwebchannel.js Qt's QWebChannel client (served by the scheme handler from Qt's resources)
    studio://app/kernel/bzImage the guest kernel
    studio://app/kernel/initrd  the initramfs with the studio's init (studio.initrd)
    studio://app/bios/bios.bin  SeaBIOS
    studio://app/build/...      the current build: fs.json, boot.json, blobs/*.bin

The exported web bundle has the same layout, so the page uses relative URLs and runs unchanged
from any static web server.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from studio import kernel
from studio.assets import NPM_DIR, NPM_FILES, PAGE_DIR, PAGE_FILES, SEABIOS

QWEBCHANNEL = "qwebchannel.js"
BUILD_FILES = frozenset({"fs.json", "boot.json", "state.bin", "kernel-state.bin"})
MIME = {
    ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json",
    ".wasm": "application/wasm", ".bin": "application/octet-stream", ".zst": "application/octet-stream",
}


class RouteError(Exception):
    """The URL names nothing the scheme serves (`denied` when it tried to climb out)."""

    def __init__(self, message: str, denied: bool = False):
        super().__init__(message)
        self.denied = denied


def mime_type(path: Path | str) -> str:
    return MIME.get(posixpath.splitext(str(path))[1], "application/octet-stream")


def resolve(url_path: str, build_dir: Path | None) -> Path | str:
    """The host file for a URL path, or QWEBCHANNEL; raise RouteError for anything else."""
    if "\\" in url_path or "\0" in url_path:
        raise RouteError(f"bad path {url_path!r}", denied=True)
    parts = url_path.split("/")
    if ".." in parts or "." in parts:
        raise RouteError(f"path climbs out: {url_path!r}", denied=True)
    path = posixpath.normpath("/" + url_path.lstrip("/"))
    head, _, rest = path.lstrip("/").partition("/")
    if path == "/" + QWEBCHANNEL:
        return QWEBCHANNEL
    if path.count("/") == 1 and head in PAGE_FILES:
        return _inside(PAGE_DIR, head)
    if head == "npm" and rest in NPM_FILES:
        return _inside(NPM_DIR, rest)
    if path == "/kernel/bzImage":
        return kernel.find_kernel()
    if path == "/kernel/initrd":
        from studio import initrd

        return initrd.find_initrd()
    if path == "/bios/bios.bin":
        return SEABIOS
    if head == "build" and build_dir is not None and (rest in BUILD_FILES or rest.startswith("blobs/")):
        return _inside(build_dir, rest)
    raise RouteError(f"nothing is served at {path}")


def _inside(root: Path, relative: str) -> Path:
    root = root.resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root):
        raise RouteError(f"{relative!r} leaves {root}", denied=True)
    if not candidate.is_file():
        raise RouteError(f"{relative!r} not found")
    return candidate
