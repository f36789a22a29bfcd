"""Saving an edited image back into its project, all or nothing (Qt-free).

The overlay a state needs is derived from the state itself (what differs from the base),
compared with what is on disk, and written through a journal:

  1. new file contents are copied to PROJECT/.studio/save/ and flushed;
  2. a journal listing every removal, folder, rename and the new overlay.toml is written
     atomically: this is the commit point;
  3. the journal is carried out (each step idempotent) and deleted.

A crash before 2 leaves the old project (the staged copies are swept away on open); a crash
after 2 is finished on the next open by replaying the journal. Either way the project is
whole: the old version or the new one, never a mix.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from studio.fsutil import atomic_write, fsync_dir
from studio.image.entry import DIR, FILE, SYMLINK, Entry, parent
from studio.image.project import META_FILE, SCRATCH_DIR, Attrs, OverlayMeta, Project, inferred_attrs

STUDIO_DIR = SCRATCH_DIR
SAVE_DIR = "save"
JOURNAL = "journal.json"


@dataclass
class SavePlan:
    writes: list[tuple[str, str, int]] = field(default_factory=list)  # image path, source, host mode
    folders: list[str] = field(default_factory=list)  # overlay folders to create, parents first
    removals: list[str] = field(default_factory=list)  # overlay paths to delete, deepest first
    meta: OverlayMeta = field(default_factory=OverlayMeta)

    def is_empty(self, project: Project) -> bool:
        return not (self.writes or self.folders or self.removals) and self.meta.dumps() == project.meta.dumps()


def plan(project: Project, entries: dict[str, Entry], base: dict[str, Entry]) -> SavePlan:
    """What must change on disk for the project to load back as `entries`."""
    result = SavePlan()
    desired_files: dict[str, Entry] = {}
    desired_dirs: set[str] = set()
    for path, entry in entries.items():
        below = base.get(path)
        if entry.kind == FILE:
            from_base = entry.source is None and below is not None and below.kind == FILE \
                and below.sha256 == entry.sha256
            if not from_base:
                desired_files[path] = entry
                desired_dirs.update(p for p in _ancestors(path))
        elif entry.kind == DIR:
            if below is None or below.kind != DIR:
                desired_dirs.add(path)
                desired_dirs.update(_ancestors(path))
        elif entry.kind == SYMLINK and not (below is not None and below.kind == SYMLINK and below.target == entry.target):
            result.meta.symlinks[path] = entry.target
    desired_dirs.discard("/")

    # What the overlay holds now, on disk.
    on_disk: dict[str, str] = {}  # image path -> 'file' | 'dir' | 'other'
    overlay = project.overlay_dir
    if overlay.is_dir():
        for dirpath, dirnames, filenames in os.walk(overlay):
            rel = "/" + os.path.relpath(dirpath, overlay) if dirpath != str(overlay) else ""
            rel = rel.replace(os.sep, "/")
            for name in dirnames:
                full = os.path.join(dirpath, name)
                on_disk[f"{rel}/{name}"] = "other" if os.path.islink(full) else DIR
            for name in filenames:
                full = os.path.join(dirpath, name)
                on_disk[f"{rel}/{name}"] = FILE if stat.S_ISREG(os.lstat(full).st_mode) else "other"
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]

    for path, kind in on_disk.items():
        keep = (kind == FILE and path in desired_files) or (kind == DIR and path in desired_dirs)
        if not keep:
            result.removals.append(path)
    result.removals = _outermost(result.removals)
    result.removals.sort(key=lambda p: p.count("/"), reverse=True)
    removed = set(result.removals)

    def still_there(path: str) -> bool:
        return path in on_disk and not any(p in removed for p in [path, *_ancestors(path)])

    for path in sorted(desired_dirs):
        if not (still_there(path) and on_disk[path] == DIR):
            result.folders.append(path)
    for path, entry in sorted(desired_files.items()):
        host = str(project.overlay_path(path))
        host_mode = 0o755 if entry.mode & 0o100 else 0o644
        unchanged = entry.source == host and still_there(path) and on_disk[path] == FILE
        if unchanged:
            host_mode = 0o755 if os.stat(host).st_mode & 0o100 else 0o644
        else:
            source = entry.source
            if source is None:
                from studio.image.store import ObjectStore

                source = str(ObjectStore().path(entry.sha256))
            result.writes.append((path, source, host_mode))
        _note_attrs(result.meta, path, entry, inferred_attrs(FILE, host_mode & 0o100 != 0, base.get(path)))

    for path, entry in entries.items():
        if entry.kind == DIR:
            _note_attrs(result.meta, path, entry, inferred_attrs(DIR, False, base.get(path)))
        elif entry.kind == SYMLINK:
            if path in result.meta.symlinks:
                _note_attrs(result.meta, path, entry, (0o777, 0, 0))
            else:
                _note_attrs(result.meta, path, entry, inferred_attrs(SYMLINK, False, base.get(path)))
        elif entry.kind == FILE and path not in desired_files:
            _note_attrs(result.meta, path, entry, inferred_attrs(FILE, False, base.get(path)))

    for path in base:
        if path != "/" and path not in entries:
            folder = entries.get(parent(path))
            if folder is not None and folder.kind == DIR:
                result.meta.deleted.add(path)
    return result


def _note_attrs(meta: OverlayMeta, path: str, entry: Entry, inferred: tuple[int, int, int]) -> None:
    mode, uid, gid = inferred
    if (entry.mode, entry.uid, entry.gid) != (mode, uid, gid):
        meta.attrs[path] = Attrs(entry.mode if entry.mode != mode else None,
                                 entry.uid if entry.uid != uid else None,
                                 entry.gid if entry.gid != gid else None)


def _ancestors(path: str) -> list[str]:
    result = []
    p = parent(path)
    while p != "/":
        result.append(p)
        p = parent(p)
    return result


def _outermost(paths: list[str]) -> list[str]:
    chosen = set(paths)
    return [p for p in paths if not any(a in chosen for a in _ancestors(p))]


def save(project: Project, entries: dict[str, Entry], base: dict[str, Entry], progress=None) -> SavePlan:
    """Write the project so that it loads back as `entries`. Returns what was done.
    `progress(message, fraction)` hears about the copying, the long part."""
    report = progress or (lambda message, fraction: None)
    recover(project)
    work = project.root / STUDIO_DIR / SAVE_DIR
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    todo = plan(project, entries, base)
    renames = []
    for i, (path, source, host_mode) in enumerate(todo.writes):
        if i % 64 == 0:
            report(f"saving {path}", i / max(1, len(todo.writes)))
        staged = work / f"{i}.new"
        with open(source, "rb") as src, open(staged, "wb") as dst:
            shutil.copyfileobj(src, dst)
            dst.flush()
            os.fsync(dst.fileno())
        os.chmod(staged, host_mode)
        renames.append([str(staged), str(project.overlay_path(path))])
    meta_staged = work / "meta.new"
    atomic_write(meta_staged, todo.meta.dumps())
    journal = {
        # Each removal names the kind it removes, so a replay never deletes what a rename
        # already put in its place (a folder replaced by a file, or the other way round).
        "removals": [[str(project.overlay_path(p)), _host_kind(project.overlay_path(p))] for p in todo.removals],
        "folders": [str(project.overlay_path(p)) for p in todo.folders],
        "renames": renames + [[str(meta_staged), str(project.root / META_FILE)]],
    }
    atomic_write(work / JOURNAL, json.dumps(journal))  # the commit point
    _carry_out(work)
    project.meta = todo.meta
    return todo


def recover(project: Project) -> bool:
    """Finish a save that was interrupted after its commit point, or sweep one that was not.
    Returns True when an interrupted save was completed."""
    work = project.root / STUDIO_DIR / SAVE_DIR
    if not work.exists():
        return False
    if (work / JOURNAL).exists():
        _carry_out(work)
        project.meta = OverlayMeta.load(project.root / META_FILE)
        return True
    shutil.rmtree(work, ignore_errors=True)
    return False


def _carry_out(work: Path) -> None:
    journal = json.loads((work / JOURNAL).read_text())
    for path, kind in journal["removals"]:
        target = Path(path)
        if _host_kind(target) != kind:
            continue
        if kind == DIR:
            shutil.rmtree(target)
        else:
            target.unlink()
    for path in journal["folders"]:
        Path(path).mkdir(parents=True, exist_ok=True)
    for staged, target in journal["renames"]:
        if os.path.exists(staged):
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
    for directory in {Path(t).parent for _, t in journal["renames"]}:
        fsync_dir(directory)
    (work / JOURNAL).unlink()
    shutil.rmtree(work, ignore_errors=True)


def _host_kind(path: Path) -> str:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "missing"
    return DIR if stat.S_ISDIR(mode) else FILE if stat.S_ISREG(mode) else "other"
