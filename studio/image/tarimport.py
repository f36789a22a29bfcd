"""Safe import of a root filesystem tarball into an index plus the object store.

Nothing is ever extracted onto the host filesystem: members become index
entries keyed by normalized image paths, and file contents go to the
content-addressed store. A tarball that tries to reach outside its root
(absolute names, '..', a path through a symlink, a hard link to something not
in the archive, a symlink climbing above '/') is refused as a whole, naming
the member, so a project is never built on a half-trusted base.

File contents are streamed into the store in chunks, never held whole in memory,
and the expanded size is capped (each member's size is checked from its header
before its data is read): a small compressed "bomb" cannot fill memory or disk.
tarfile itself reads a member's extended (pax) or long-name header whole, so the
decompressed stream it reads from refuses any read bigger than a header can need,
and any reading past twice the limit.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import posixpath
import re
import stat
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable

from studio.errors import StudioError
from studio.image.entry import DIR, FILE, SYMLINK, Entry, ancestors, parent
from studio.image.store import ObjectStore

# ELF e_machine values worth naming in a refusal.
_ELF_MACHINES = {3: "x86", 62: "x86_64", 40: "armhf", 183: "aarch64", 243: "riscv64", 21: "ppc64le", 22: "s390x"}


class UnsafeTarball(StudioError):
    pass


class TarballTooLarge(UnsafeTarball):
    pass


class WrongArchitecture(StudioError):
    pass


MAX_BYTES_ENV = "STUDIO_MAX_BASE_BYTES"
DEFAULT_MAX_BYTES = 2 << 30  # an Alpine minirootfs expands to about 8 MiB
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def max_expanded_bytes() -> int:
    """The cap on a base's total expanded file size: STUDIO_MAX_BASE_BYTES (bytes, or with a
    K, M, G or T suffix, powers of 1024), else 2 GiB."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    match = re.fullmatch(r"(\d+)\s*([KMGT]?)(?:i?B)?", raw, re.IGNORECASE)
    if not match:
        raise StudioError(f"{MAX_BYTES_ENV}={raw!r} is not a size: use a number of bytes, e.g. 4G or 4294967296.")
    return int(match[1]) * _UNITS[match[2].upper()]


def _size(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB"


@dataclass
class ImportResult:
    entries: dict[str, Entry]
    arch: str
    notes: list[str] = field(default_factory=list)


Progress = Callable[[str, float], None]


def import_tarball(tarball: Path, store: ObjectStore, progress: Progress | None = None) -> ImportResult:
    report = progress or (lambda message, fraction: None)
    tarball = Path(tarball)
    total = tarball.stat().st_size or 1
    limit = max_expanded_bytes()
    expanded = 0
    entries: dict[str, Entry] = {"/": Entry("/", DIR, 0o755)}
    notes: list[str] = []
    try:
        with open(tarball, "rb") as raw, _decompressed(raw) as stream, \
                tarfile.open(fileobj=_BoundedStream(stream, tarball.name, limit), mode="r:") as tar:
            for member in tar:
                expanded += member.size  # from the header, before any of the data is read
                if expanded > limit:
                    raise _too_large(tarball.name, member, expanded, limit)
                _add_member(tar, member, entries, store, notes)
                report(f"importing {member.name}", min(0.99, raw.tell() / total))
    except tarfile.TarError as err:
        raise StudioError(f"{tarball.name} is not a readable tar archive ({err}).") from err
    except (EOFError, zlib.error, lzma.LZMAError) as err:
        raise StudioError(f"{tarball.name} is truncated or corrupt ({err}).") from err
    except OSError as err:
        if err.errno is None:  # gzip/lzma/bz2 decoding errors carry no errno
            raise StudioError(f"{tarball.name} is truncated or corrupt ({err}).") from err
        raise StudioError(f"importing {tarball.name} failed: {err}") from err
    arch = detect_arch(entries, store, tarball.name)
    report("imported", 1.0)
    return ImportResult(entries, arch, notes)


def _decompressed(raw: BinaryIO) -> BinaryIO:
    """The tar stream inside `raw`: gzip, bzip2, xz or none, told by the magic bytes."""
    magic = raw.read(6)
    raw.seek(0)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if magic.startswith(b"BZh"):
        return bz2.BZ2File(raw)
    if magic == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(raw)
    return raw


class _BoundedStream:
    """The decompressed tar stream as tarfile sees it, refusing what only a bomb asks for.

    tarfile reads member data in the chunks the store asks for (1 MiB) and headers in 512-byte
    blocks, but an extended (pax) or GNU long-name header whole, whatever size its header claims:
    a read bigger than MAX_READ is such a header, and refused before anything is decompressed.
    Reading (or skipping) past twice the limit is refused too: headers never take that much."""

    MAX_READ = 16 << 20

    def __init__(self, stream: BinaryIO, name: str, limit: int):
        self.stream, self.name, self.limit = stream, name, limit

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > self.MAX_READ:
            raise TarballTooLarge(f"{self.name} has a member header of {_size(size or 0)} (pax or long-name "
                                  "headers hold a few hundred bytes): it looks like a compression bomb, "
                                  "so it was not imported.")
        self._check(self.stream.tell() + size)
        return self.stream.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            self._check(offset)
        return self.stream.seek(offset, whence)

    def tell(self) -> int:
        return self.stream.tell()

    def _check(self, end: int) -> None:
        if end > 2 * self.limit:
            raise TarballTooLarge(
                f"{self.name} expands to more than {_size(2 * self.limit)} of tar data (its files may take "
                f"{_size(self.limit)}): it may be a compression bomb, so it was not imported. If you trust "
                f"it, raise the limit with {MAX_BYTES_ENV}.")


def _too_large(name: str, member: tarfile.TarInfo, expanded: int, limit: int) -> TarballTooLarge:
    at_least = -(-expanded // (1 << 30))  # GiB, rounded up: the size so far, the rest is unknown
    return TarballTooLarge(
        f"{name} expands to more than {_size(limit)}, the limit for a base image (reached at member "
        f"{member.name!r}, {_size(member.size)}); it may be a compression bomb, so it was not imported. "
        f"If you trust it and it really is that big, raise the limit with {MAX_BYTES_ENV}, "
        f"to at least {MAX_BYTES_ENV}={at_least}G.")


def _image_path(name: str) -> str:
    """The normalized image path of a member name, or raise if it escapes the root."""
    if name.startswith("/"):
        raise UnsafeTarball(f"member {name!r} has an absolute name; a rootfs tarball must use relative names.")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeTarball(f"member {name!r} contains '..' and would write outside the image root.")
    return "/" + "/".join(parts)


def _add_member(tar: tarfile.TarFile, member: tarfile.TarInfo, entries: dict[str, Entry],
                store: ObjectStore, notes: list[str]) -> None:
    path = _image_path(member.name)
    for ancestor in ancestors(path):
        existing = entries.get(ancestor)
        if existing is not None and existing.kind == SYMLINK:
            raise UnsafeTarball(
                f"member {member.name!r} lies under {ancestor}, which is a symlink "
                f"(to {existing.target!r}); writing through it could escape the image root."
            )
    common = dict(mode=stat.S_IMODE(member.mode), uid=member.uid, gid=member.gid, mtime=int(member.mtime))
    if member.isdir():
        entry = Entry(path, DIR, **common)
    elif member.isreg():
        sha, size = store.add_stream(tar.extractfile(member), limit=member.size)
        entry = Entry(path, FILE, size=size, sha256=sha, **common)
    elif member.issym():
        target = member.linkname
        if not target.startswith("/") and _climbs(parent(path), target):
            raise UnsafeTarball(f"symlink {member.name!r} -> {target!r} points above the image root.")
        entry = Entry(path, SYMLINK, target=target, size=len(target.encode()), **common)
    elif member.islnk():
        try:
            source = entries.get(_image_path(member.linkname))
        except UnsafeTarball:  # refused below, naming the member rather than its target
            source = None
        if source is None or source.kind != FILE:
            raise UnsafeTarball(
                f"hard link {member.name!r} -> {member.linkname!r} does not point to a file "
                "earlier in the archive."
            )
        # v86 has no hard links: each name becomes its own regular file.
        entry = source.evolve(path=path, **common)
    else:
        kind = "device node" if (member.ischr() or member.isblk()) else "FIFO" if member.isfifo() else "special file"
        notes.append(f"skipped {kind} {path} (the guest's /dev comes from devtmpfs)")
        return
    if path == "/" and entry.kind != DIR:
        raise UnsafeTarball(f"member {member.name!r} would replace the image root with a {entry.kind}.")
    _ensure_parents(path, entries)
    old = entries.get(path)
    if old is not None and old.kind == DIR and entry.kind != DIR:
        prefix = path + "/"
        for key in [k for k in entries if k.startswith(prefix)]:
            del entries[key]
    entries[path] = entry


def _climbs(directory: str, target: str) -> bool:
    """True when a relative symlink target walks above '/' from `directory`."""
    depth = len([p for p in directory.split("/") if p])
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _ensure_parents(path: str, entries: dict[str, Entry]) -> None:
    for ancestor in ancestors(path):
        if ancestor not in entries:
            entries[ancestor] = Entry(ancestor, DIR, 0o755)


def resolve(entries: dict[str, Entry], path: str, hops: int = 16) -> Entry | None:
    """Follow symlinks inside the image (never on the host)."""
    entry = entries.get(path)
    while entry is not None and entry.kind == SYMLINK and hops > 0:
        target = entry.target if entry.target.startswith("/") else posixpath.join(parent(entry.path), entry.target)
        entry = entries.get(posixpath.normpath(target) if target != "/" else "/")
        hops -= 1
    return entry


def detect_arch(entries: dict[str, Entry], store: ObjectStore, source_name: str) -> str:
    """The image's architecture from /etc/apk/arch, else from the ELF header of /bin/sh."""
    arch = ""
    arch_entry = resolve(entries, "/etc/apk/arch")
    if arch_entry is not None and arch_entry.kind == FILE:
        arch = store.read(arch_entry.sha256).decode(errors="replace").strip()
    else:
        for candidate in ("/bin/busybox", "/bin/sh"):
            elf = resolve(entries, candidate)
            if elf is not None and elf.kind == FILE:
                head = store.read(elf.sha256)[:20]
                if head[:4] == b"\x7fELF":
                    arch = _ELF_MACHINES.get(int.from_bytes(head[18:20], "little"), "unknown")
                    break
    if not arch:
        raise WrongArchitecture(
            f"{source_name}: cannot tell the architecture (no /etc/apk/arch and no ELF /bin/sh). "
            "Use an Alpine minirootfs for x86 (32-bit), e.g. alpine-minirootfs-3.19.4-x86.tar.gz."
        )
    if arch != "x86":
        suggestion = source_name.replace(arch, "x86") if arch in source_name else "alpine-minirootfs-<version>-x86.tar.gz"
        raise WrongArchitecture(
            f"{source_name} is a {arch} image, but v86 boots 32-bit x86 only. "
            f"Pick the x86 minirootfs instead: {suggestion} (or `--base alpine:3.19`)."
        )
    return arch
