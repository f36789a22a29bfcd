"""The user cache (Qt-free): what it holds, how big each part is, clearing a part, and pruning the
caches that would otherwise grow forever.

    CACHE/downloads/ bases/ objects/   base tarballs, their imported indexes, file contents
    CACHE/zstd19/                      the web export's compressed file contents
    CACHE/compile/                     compiled programs
    CACHE/packages/                    .apk files, repository indexes, unpacked package listings
    CACHE/snapshots/                   saved machine states
    CACHE/kernel/ initrd/              the guest kernel and the studio's init

Everything here can be made again, and most of it is written once under a content name: deleting
it while nothing is using it is safe, and the next user simply makes it again. The kernel takes
minutes to rebuild, so it is cleared only when asked for by name (`explicit`).

Sizes come from a directory scan (file sizes, each inode once), never from reading files.
Pruning keeps the most recently used entries of a cache within its limit (studio.settings):
an entry is "used" when it is written or found again (`touch`).
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from studio import paths, settings
from studio.errors import StudioError

COMPILE_DIR = "compile"  # studio.compile.jobs.CompileCache
BLOB_DIR = "zstd19"  # studio.build.export
ABANDONED_AFTER = 3600  # seconds: a temporary file this old belongs to a writer that died


@dataclass(frozen=True)
class CacheKind:
    key: str
    title: str
    folders: tuple[str, ...]
    holds: str  # what it holds, and what clearing it costs
    summary: str = ""  # the same in a few words, for a table
    explicit: bool = False  # cleared only when asked for by name
    limit: str = ""  # the settings key of its size limit ('' = none: it is not pruned)


KINDS: tuple[CacheKind, ...] = (
    CacheKind("bases", "Base images", ("downloads", "bases", "objects"),
              "Downloaded base tarballs, their imported file lists and the content of every base and package "
              "file. Cleared, a project's base is downloaded and imported again when it is next opened or built "
              "(it needs the mirror then).", summary="base tarballs, their file lists, file contents"),
    CacheKind("blobs", "Export blobs", (BLOB_DIR,),
              "The web export's zstd-compressed file contents. Cleared, the next export compresses everything "
              "again (slower, same result).", summary="compressed file contents of web exports",
              limit="blob_cache_limit"),
    CacheKind("compile", "Compiled programs", (COMPILE_DIR,),
              "Compiler outputs by source, flags and headers. Cleared, programs are compiled again.",
              summary="compiler outputs", limit="compile_cache_limit"),
    CacheKind("packages", "Packages", ("packages",),
              "Downloaded .apk files, repository indexes and unpacked package listings. Cleared, they are "
              "downloaded again when needed; offline, a package not in the cache cannot be installed.",
              summary=".apk files, repository indexes"),
    CacheKind("snapshots", "Machine states", ("snapshots",),
              "Saved machine states. Cleared, the next boot of every image is cold (a second or two).",
              summary="saved machine states"),
    CacheKind("kernel", "Guest kernel and init", ("kernel", "initrd"),
              "The guest kernel the studio built and its small init. Cleared, nothing boots until the kernel is "
              "rebuilt (`studio kernel`, several minutes).", summary="rebuilding takes minutes",
              explicit=True),
)
BY_KEY = {kind.key: kind for kind in KINDS}


@dataclass(frozen=True)
class Usage:
    kind: CacheKind
    size: int  # bytes
    files: int
    limit: int  # bytes; 0 when the cache has no limit


def root() -> Path:
    return paths.cache_dir()


def kind(key: str) -> CacheKind:
    try:
        return BY_KEY[key]
    except KeyError:
        raise StudioError(f"no cache named {key!r}; the caches are: {', '.join(BY_KEY)}") from None


def inventory(cache_root: Path | None = None) -> list[Usage]:
    """Every cache with its size now."""
    base = Path(cache_root) if cache_root else root()
    found = []
    for item in KINDS:
        size = files = 0
        seen: set[tuple[int, int]] = set()
        for folder in item.folders:
            s, n = _measure(base / folder, seen)
            size, files = size + s, files + n
        found.append(Usage(item, size, files, settings.cache_limit(item.limit) if item.limit else 0))
    return found


def size_of(path: Path) -> int:
    """Bytes of the files under `path` (each file once, however many links it has)."""
    return _measure(Path(path), set())[0]


def _measure(path: Path, seen: set[tuple[int, int]]) -> tuple[int, int]:
    size = files = 0
    try:
        scan = os.scandir(path)
    except (FileNotFoundError, NotADirectoryError):
        return 0, 0
    with scan:
        for item in scan:
            try:
                st = item.stat(follow_symlinks=False)
            except FileNotFoundError:  # deleted meanwhile
                continue
            if stat.S_ISDIR(st.st_mode):
                s, n = _measure(Path(item.path), seen)
                size, files = size + s, files + n
            elif stat.S_ISREG(st.st_mode):
                if st.st_nlink > 1:
                    if (st.st_dev, st.st_ino) in seen:
                        continue
                    seen.add((st.st_dev, st.st_ino))
                size, files = size + st.st_size, files + 1
    return size, files


def clear(key: str, cache_root: Path | None = None, explicit: bool = False) -> int:
    """Delete what the cache `key` holds; returns the bytes freed. The kernel is cleared only with
    `explicit` (the user asked for it by name). Files being written (dot names: a write's temporary
    file) are left alone, unless untouched for an hour."""
    item = kind(key)
    if item.explicit and not explicit:
        raise StudioError(f"the {item.title.lower()} is not cleared with the rest: rebuilding it takes minutes. "
                          f"Clear it by name if you mean it (`studio cache clear {item.key}`).")
    base = Path(cache_root) if cache_root else root()
    freed = 0
    for folder in item.folders:
        freed += _empty(base / folder)
    return freed


def _empty(folder: Path) -> int:
    try:
        children = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return 0
    freed = 0
    for child in children:
        if child.name.startswith(".") and not _abandoned(child):
            continue
        freed += _remove(Path(child.path))
    return freed


def _abandoned(item: os.DirEntry) -> bool:
    """A dot name (a write's temporary file) untouched for an hour: left by a writer that died."""
    try:
        return time.time() - item.stat(follow_symlinks=False).st_mtime > ABANDONED_AFTER
    except FileNotFoundError:
        return False


def _remove(path: Path) -> int:
    """Delete a file or a folder. A folder is first renamed to a dot name beside it, so a reader
    looking for it by name sees it whole or not at all, never half deleted."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return 0
    if not stat.S_ISDIR(st.st_mode):
        path.unlink(missing_ok=True)
        return st.st_size
    size = size_of(path)
    doomed = path.with_name(f".trash-{path.name}-{secrets.token_hex(4)}")
    try:
        os.rename(path, doomed)
    except FileNotFoundError:
        return 0
    shutil.rmtree(doomed, ignore_errors=True)
    return size


def touch(path: Path) -> None:
    """Mark a cache entry as just used (its modification time), for least-recently-used pruning."""
    try:
        os.utime(path)
    except OSError:  # gone or read-only: it will simply look older
        pass


@dataclass(frozen=True)
class Pruned:
    removed: int  # entries
    freed: int  # bytes
    kept: int  # bytes left


def prune(entries: Iterable[Path], limit: int, keep: Iterable[Path] = ()) -> Pruned:
    """Delete the least recently used of `entries` (files or folders, by modification time) until
    the rest fit in `limit` bytes. The newest entry and those in `keep` are never deleted."""
    keep = {Path(p) for p in keep}
    rows = []
    for entry in entries:
        try:
            st = entry.lstat()
        except FileNotFoundError:
            continue
        size = size_of(entry) if stat.S_ISDIR(st.st_mode) else st.st_size
        rows.append((st.st_mtime_ns, entry.name, entry, size))
    rows.sort()
    total = sum(row[3] for row in rows)
    removed = freed = 0
    for _, _, entry, size in rows[:-1]:  # the newest stays
        if total <= limit:
            break
        if entry in keep:
            continue
        try:
            _remove(entry)
        except OSError:  # not ours to delete (permissions): pruning never fails the work that ran it
            continue
        total -= size
        removed, freed = removed + 1, freed + size
    return Pruned(removed, freed, total)


def _visible(folder: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(folder) if not e.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []


def prune_blob_cache(folder: Path | None = None, keep: Iterable[Path] = (), limit: int | None = None) -> Pruned:
    """The web export's compressed blobs past their limit (run after each export)."""
    folder = Path(folder) if folder else root() / BLOB_DIR
    limit = settings.cache_limit("blob_cache_limit") if limit is None else limit
    return prune(_visible(folder), limit, keep)


def prune_compile_cache(folder: Path | None = None, keep: Iterable[Path] = (), limit: int | None = None) -> Pruned:
    """Compile cache entries (KEY/VARIANT folders) past their limit (run after each store)."""
    folder = Path(folder) if folder else root() / COMPILE_DIR
    limit = settings.cache_limit("compile_cache_limit") if limit is None else limit
    # A key's folder is left even when its last entry goes: another job may be about to store
    # into it (an empty folder costs nothing; clearing the cache removes it).
    return prune([entry for key in _visible(folder) for entry in _visible(key)], limit, keep)


def prune_all() -> list[tuple[CacheKind, Pruned]]:
    return [(BY_KEY["blobs"], prune_blob_cache()), (BY_KEY["compile"], prune_compile_cache())]
