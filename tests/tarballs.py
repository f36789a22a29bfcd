"""Hand-made tarballs for the import tests: hostile ones and ones for other architectures."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path


def make_tarball(path: Path, members: list[tuple]) -> Path:
    """members: (name, kind, payload) with kind 'file' (bytes), 'dir', 'symlink' (target),
    'hardlink' (target), 'chr', 'fifo'."""
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if kind == "file":
                info.size = len(payload)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(payload))
                continue
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif kind == "symlink":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, payload, 0o777
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, payload
            elif kind == "chr":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            tar.addfile(info)
    return path


def minimal_rootfs(arch: str = "x86") -> list[tuple]:
    return [
        ("./", "dir", None),
        ("./etc/", "dir", None),
        ("./etc/apk/", "dir", None),
        ("./etc/apk/arch", "file", arch.encode() + b"\n"),
        ("./bin/", "dir", None),
        ("./bin/busybox", "file", b"\x7fELF" + b"\0" * 60),
        ("./bin/sh", "symlink", "/bin/busybox"),
    ]
