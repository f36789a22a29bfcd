"""Bringing host files and folders into the image, as a drop or `studio add` does (Qt-free)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Callable

from studio.errors import StudioError
from studio.image.entry import DIR, FILE, SYMLINK, Entry, normalize

Progress = Callable[[str, float], None]
Cancelled = Callable[[], bool]


class InjectCancelled(StudioError):
    pass


def plan_sources(sources: list[Path]) -> list[tuple[Path, int]]:
    """Every host path to bring in (folders recursively, parents first), with sizes."""
    found: list[tuple[Path, int]] = []
    for source in sources:
        source = Path(source)
        if not source.exists() and not source.is_symlink():
            raise StudioError(f"{source} does not exist")
        found.append((source, _size(source)))
        if source.is_dir() and not source.is_symlink():
            for dirpath, dirnames, filenames in os.walk(source):
                dirnames.sort()
                for name in sorted(dirnames) + sorted(filenames):
                    path = Path(dirpath) / name
                    found.append((path, _size(path)))
    return found


def placements(sources: list[Path], folder: str) -> list[tuple[Path, str, int]]:
    """(host path, image path, size) of everything `sources` bring into image `folder`: each
    source keeps its own name there, folders bring their contents along."""
    folder = normalize(folder)
    roots = {Path(s).absolute(): Path(s).absolute().parent for s in sources}
    placed = []
    for host, size in plan_sources(sources):
        absolute = host.absolute()
        base = next(parent for root, parent in roots.items() if absolute == root or root in absolute.parents)
        placed.append((host, normalize(folder + "/" + absolute.relative_to(base).as_posix()), size))
    return placed


def _size(path: Path) -> int:
    st = path.lstat()
    return st.st_size if stat.S_ISREG(st.st_mode) else 0


def collect(doc, sources: list[Path], folder: str, mode: int | None = None,
            progress: Progress | None = None, cancelled: Cancelled | None = None) -> list[Entry]:
    """Entries for `sources` placed inside image `folder`, their contents copied into the
    document's pending store. Executable bits are kept unless `mode` is given for files.
    (edits.add_entries makes the folders they need.)"""
    report = progress or (lambda message, fraction: None)
    todo = placements(sources, folder)
    total = sum(size for _, _, size in todo) or 1
    done = 0
    entries: list[Entry] = []
    for host, image_path, size in todo:
        if cancelled and cancelled():
            raise InjectCancelled("cancelled: nothing was added")
        st = host.lstat()
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(host)
            entries.append(Entry(image_path, SYMLINK, 0o777, size=len(target.encode()), target=target))
        elif stat.S_ISDIR(st.st_mode):
            entries.append(Entry(image_path, DIR, 0o755, mtime=int(st.st_mtime)))
        elif stat.S_ISREG(st.st_mode):
            source, length, sha = doc.store_file(host)
            file_mode = mode if mode is not None else (0o755 if st.st_mode & 0o100 else 0o644)
            entries.append(Entry(image_path, FILE, file_mode, size=length, mtime=int(st.st_mtime),
                                 sha256=sha, source=source))
            done += size
            report(f"adding {host.name}", done / total)
        # device nodes, sockets and FIFOs on the host are left out: the guest's /dev is devtmpfs
    return entries


def conflicts(state, entries: list[Entry]) -> list[str]:
    """Paths the entries would replace (existing files, or a folder meeting a file)."""
    clashes = []
    for entry in entries:
        existing = state.entry(entry.path)
        if existing is not None and not (existing.kind == DIR and entry.kind == DIR):
            clashes.append(entry.path)
    return clashes
