"""The initramfs every boot starts from (Qt-free): the studio's tiny init
(resources/init/studio_init.c), compiled by zig to a static i386 executable, in an uncompressed
cpio (newc) archive with the few nodes it needs.

The init waits for the studio's "go" before it mounts the image's root, which is what lets a
machine be saved once with the kernel up and restored for any image (see the init's source).
Built once per source and toolchain, cached in the user's cache.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from studio import paths
from studio.errors import StudioError
from studio.fsutil import atomic_write

SOURCE = paths.RESOURCES_DIR / "init" / "studio_init.c"
FORMAT = 1
MARK_WAITING = "studio-init: waiting for the studio"


def _zig_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ziglang")
    except PackageNotFoundError:
        return "none"


def _key() -> str:
    digest = hashlib.sha256(SOURCE.read_bytes())
    digest.update(f"{FORMAT} {_zig_version()}".encode())
    return digest.hexdigest()[:16]


def cached_path() -> Path:
    override = os.environ.get("STUDIO_INITRD")
    if override:
        return Path(override)
    if paths.BUNDLED_INITRD.is_file():  # an installed wheel carries it (no zig needed)
        return paths.BUNDLED_INITRD
    return paths.cache_dir() / "initrd" / _key() / "initrd.cpio"


def find_initrd() -> Path:
    """The initramfs, built first if the cache lacks it ($STUDIO_INITRD overrides)."""
    target = cached_path()
    if os.environ.get("STUDIO_INITRD") and not target.is_file():
        raise StudioError(f"STUDIO_INITRD={target} is not a file.")
    if not target.is_file():
        build(target)
    return target


def build(target: Path) -> None:
    """Compile the init with zig (PyPI `ziglang`, the studio's one C compiler) into the archive."""
    if _zig_version() == "none":
        raise StudioError("zig is missing (the `ziglang` Python package): packaging/setup.sh installs it")
    with tempfile.TemporaryDirectory(prefix="studio-init-") as tmp:
        binary = Path(tmp) / "init"
        command = [sys.executable, "-m", "ziglang", "cc", "-target", "x86-linux-musl", "-static", "-Os", "-s",
                   "-Wall", str(SOURCE), "-o", str(binary)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise StudioError(f"compiling the studio's init failed:\n{done.stdout}{done.stderr}")
        archive = cpio([("dev", 0o040755, b"", None), ("dev/console", 0o020600, b"", (5, 1)),
                        ("newroot", 0o040755, b"", None), ("init", 0o100755, binary.read_bytes(), None)])
    atomic_write(target, archive)


def cpio(members: list[tuple[str, int, bytes, tuple[int, int] | None]]) -> bytes:
    """An uncompressed newc cpio archive of (name, st_mode, data, (major, minor) of a device)."""
    out = bytearray()
    for number, (name, mode, data, device) in enumerate(members + [("TRAILER!!!", 0, b"", None)], start=1):
        major, minor = device or (0, 0)
        encoded = name.encode() + b"\0"
        fields = [number if name != "TRAILER!!!" else 0, mode, 0, 0, 1 if not mode & 0o040000 else 2, 0,
                  len(data), 0, 0, major, minor, len(encoded), 0]
        out += b"070701" + b"".join(f"{value:08x}".encode() for value in fields) + encoded
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
    return bytes(out)


def main() -> int:
    path = find_initrd()
    print(f"initrd: {path} ({path.stat().st_size // 1024} KiB)")
    return 0
