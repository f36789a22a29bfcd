"""Hand-made tarballs for the import tests: hostile ones, ones for other architectures, and
compression bombs."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

ZERO_BLOCK = 16 << 20  # bytes of zeros per gzip member in a bomb


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


def write_zero_bomb(path: Path, files: list[tuple[str, int]]) -> Path:
    """A .tar.gz of regular files holding `size` zero bytes each (10 GiB takes about 10 MB),
    written in a stream: the test never holds or compresses the expanded data.

    A gzip file may be several gzip members one after another, and readers join them: so the
    tar stream is written as gzip members, one for each header and one compressed block of
    16 MiB of zeros repeated as often as a file needs."""
    return _write_members(path, [(name, tarfile.REGTYPE, size) for name, size in files])


def write_pax_header_bomb(path: Path, size: int) -> Path:
    """A .tar.gz whose first member is an extended (pax) header claiming `size` bytes of zeros:
    tarfile reads such a header whole, before any member the importer sees."""
    return _write_members(path, [("./PaxHeaders/bomb", tarfile.XHDTYPE, size), ("./etc/", tarfile.DIRTYPE, 0)])


def _write_members(path: Path, members: list[tuple[str, bytes, int]]) -> Path:
    """Headers (name, type, size) each followed by `size` zero bytes, streamed as gzip members."""
    zeros = gzip.compress(bytes(ZERO_BLOCK), compresslevel=9, mtime=0)
    with open(path, "wb") as out:
        root = tarfile.TarInfo("./")
        root.type, root.mode, root.mtime = tarfile.DIRTYPE, 0o755, 1700000000
        out.write(gzip.compress(root.tobuf(tarfile.PAX_FORMAT), mtime=0))
        for name, kind, size in members:
            info = tarfile.TarInfo(name)
            info.type, info.size, info.mode, info.mtime = kind, size, 0o644, 1700000000
            # PAX for sizes over 8 GiB (for a pax header itself, GNU's base-256 size field)
            header_format = tarfile.GNU_FORMAT if kind == tarfile.XHDTYPE else tarfile.PAX_FORMAT
            out.write(gzip.compress(info.tobuf(header_format), mtime=0))
            blocks, rest = divmod(size, ZERO_BLOCK)
            for _ in range(blocks):
                out.write(zeros)
            tail = rest + (-size) % tarfile.BLOCKSIZE  # the last zeros plus the padding to 512 bytes
            if tail:
                out.write(gzip.compress(bytes(tail), mtime=0))
        out.write(gzip.compress(bytes(2 * tarfile.BLOCKSIZE), mtime=0))  # the end-of-archive blocks
    return path
