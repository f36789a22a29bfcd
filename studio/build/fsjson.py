"""Build a project into what v86 boots: fs.json (v86 filesystem JSON, version 3),
the content-addressed blobs it names, and boot.json.

    OUT/fs.json        {"fsroot": [...], "version": 3, "size": N}
    OUT/blobs/H.bin    file contents, H = the first 16 hex digits of their SHA-256
    OUT/boot.json      kernel command line and memory size for the boot page
    OUT/.hashes.json   (size, mtime_ns, inode) -> SHA-256 of overlay files, so unchanged
                       files are not re-hashed on the next build

Incremental by construction: base files carry their hash from the import, overlay
files are re-hashed only when their stat changes, and a blob already in OUT/blobs
is never rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from studio import kernel
from studio.errors import StudioError
from studio.fsutil import CHUNK, atomic_write
from studio.image.entry import DIR, FILE, SYMLINK, Entry
from studio.image.project import Project
from studio.image.store import ObjectStore

FS_VERSION = 3
BLOB_HASH_CHARS = 16
HASH_CACHE = ".hashes.json"

Progress = Callable[[str, float], None]
Cancelled = Callable[[], bool]


class BuildCancelled(StudioError):
    pass


@dataclass
class BuildResult:
    out: Path
    files: int
    total_size: int
    hashed: int  # overlay files whose content had to be read and hashed
    blobs_written: int
    bytes_written: int
    seconds: float

    def summary(self) -> str:
        return (f"{self.files} files, {self.total_size / 1e6:.1f} MB; hashed {self.hashed}, "
                f"wrote {self.blobs_written} blobs ({self.bytes_written / 1e6:.2f} MB) in {self.seconds:.3f} s")


def blob_name(sha256: str) -> str:
    return sha256[:BLOB_HASH_CHARS] + ".bin"


def build(project: Project, out: Path | None = None, progress: Progress | None = None,
          cancelled: Cancelled | None = None, store: ObjectStore | None = None,
          entries: dict[str, Entry] | None = None) -> BuildResult:
    """Build `entries` (default: the project as saved on disk; the GUI passes its edited state)."""
    started = time.perf_counter()
    report = progress or (lambda message, fraction: None)
    out = Path(out) if out else project.build_dir
    blobs = out / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    store = store or ObjectStore()

    entries = dict(entries) if entries is not None else project.merged()
    hashes = _HashCache(out / HASH_CACHE)
    existing = set(os.listdir(blobs))
    wanted: set[str] = set()
    files = [e for e in entries.values() if e.kind == FILE]
    hashed = written = written_bytes = 0
    shas: dict[str, str] = {}
    for i, entry in enumerate(files):
        if cancelled and cancelled():
            raise BuildCancelled("build cancelled")
        if entry.source is None:  # base content, in the object store
            sha = entry.sha256
            name = blob_name(sha)
            if name not in existing:
                store.link_or_copy(sha, blobs / name)
                written += 1
                written_bytes += entry.size
        elif entry.sha256:  # an unsaved edit's content: hash known, file immutable
            sha = entry.sha256
            name = blob_name(sha)
            if name not in existing:
                shutil.copyfile(entry.source, blobs / name)
                written += 1
                written_bytes += entry.size
        else:
            sha = hashes.lookup(entry.source, entry.stamp)
            name = blob_name(sha) if sha else ""
            if not sha or name not in existing:
                sha = _copy_hashing(entry.source, blobs)
                hashes.store(entry.source, entry.stamp, sha)
                name = blob_name(sha)
                hashed += 1
                written += 1
                written_bytes += entry.size
        shas[entry.path] = sha
        existing.add(name)
        wanted.add(name)
        if i % 256 == 0:
            report(f"building {entry.path}", i / max(1, len(files)))

    for stale in existing - wanted:
        (blobs / stale).unlink(missing_ok=True)
    hashes.save()

    total = sum(e.size for e in entries.values() if e.kind == FILE)
    fs = {"fsroot": _tree(entries, shas), "version": FS_VERSION, "size": total}
    _write_if_changed(out / "fs.json", json.dumps(fs, separators=(",", ":")))
    _write_if_changed(out / "boot.json", json.dumps(boot_config(project), indent=2))
    report("build finished", 1.0)
    return BuildResult(out, len(files), total, hashed, written, written_bytes, time.perf_counter() - started)


def boot_config(project: Project) -> dict:
    cmdline = kernel.CMDLINE + (" " + project.boot.kernel_args if project.boot.kernel_args else "")
    return {"cmdline": cmdline, "memory_mb": project.boot.memory_mb, "name": project.name,
            "network": project.boot.network, "initrd": "kernel/initrd"}


def _tree(entries: dict[str, Entry], shas: dict[str, str]) -> list:
    children: dict[str, list[str]] = {}
    for path in entries:
        if path != "/":
            children.setdefault(path.rsplit("/", 1)[0] or "/", []).append(path)

    def node(path: str) -> list:
        e = entries[path]
        if e.kind == DIR:
            extra = [node(child) for child in sorted(children.get(path, ()))]
        elif e.kind == SYMLINK:
            extra = e.target
        else:
            extra = blob_name(shas[path])
        return [e.name, e.size if e.kind != DIR else 0, e.mtime, e.st_mode, e.uid, e.gid, extra]

    return [node(child) for child in sorted(children.get("/", ()))]


def _copy_hashing(source: str, blobs: Path) -> str:
    """Copy a file into blobs/ under its hash, reading it once."""
    digest = hashlib.sha256()
    tmp = blobs / f".incoming-{os.getpid()}"
    with open(source, "rb") as src, open(tmp, "wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
    sha = digest.hexdigest()
    os.replace(tmp, blobs / blob_name(sha))
    return sha


def _write_if_changed(path: Path, text: str) -> None:
    try:
        if path.read_text() == text:
            return
    except FileNotFoundError:
        pass
    atomic_write(path, text)


class _HashCache:
    def __init__(self, path: Path):
        self.path = path
        self.dirty = False
        self.seen: set[str] = set()
        try:
            self.data: dict[str, list] = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            self.data = {}

    def lookup(self, source: str, stamp) -> str:
        """The cached hash of `source` if its (size, mtime_ns, inode) stamp is unchanged."""
        self.seen.add(source)
        row = self.data.get(source)
        if row and tuple(row[:3]) == stamp:
            return row[3]
        return ""

    def store(self, source: str, stamp, sha: str) -> None:
        self.data[source] = [*stamp, sha]
        self.dirty = True

    def save(self) -> None:
        """Write the cache, dropping files that are gone from the overlay."""
        if self.dirty or self.seen != self.data.keys():
            self.data = {k: v for k, v in self.data.items() if k in self.seen}
            atomic_write(self.path, json.dumps(self.data, separators=(",", ":")))
