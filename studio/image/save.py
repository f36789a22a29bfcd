"""Saving an edited image back into its project, all or nothing, never destroying what it did not
write (Qt-free).

The overlay a state needs is derived from the state itself (what differs from the base) and
compared with two things: what is on disk now, and the manifest, what the document last read
or wrote (studio.image.project.Manifest). Only what the manifest knows, unchanged since, may be
removed or overwritten. Anything else on disk (a `git checkout`, an external editor, a file
that appeared a moment ago and no watcher has reported yet) is someone else's work: a save
leaves it alone, and where the save would have to overwrite or delete it, it stops with a
SaveConflict naming those paths, so the caller can merge them first or say "overwrite".

Writing goes through a journal:

  1. new file contents are copied to PROJECT/.studio/save/ and flushed, the folder synced;
  2. a journal listing every removal, folder and rename (paths relative to the project, so a
     moved project still recovers), with the state each target must still be in, is written
     atomically and synced: this is the commit point;
  3. the journal is carried out (each step idempotent and checked) and deleted.

A crash before 2 leaves the old project (the staged copies are swept away on open); a crash
after 2 is finished on the next open by replaying the journal. Either way the project is whole:
the old version or the new one, never a mix. If something on disk changed between the plan and
the carrying out, the newcomer is moved to PROJECT/.studio/rescued/ instead of being lost.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from studio.errors import StudioError
from studio.fsutil import atomic_write, fsync_dir
from studio.image.entry import DIR, FILE, SYMLINK, Entry, ancestors, parent
from studio.image.lock import ProjectLock, ProjectLocked, held_here
from studio.image.project import (
    META_FILE, OVERLAY_DIR, SCRATCH_DIR, Manifest, OverlayMeta, Project, Stamp, inferred_attrs, stamp_of,
)

STUDIO_DIR = SCRATCH_DIR
SAVE_DIR = "save"
RESCUED_DIR = "rescued"
JOURNAL = "journal.json"
JOURNAL_FORMAT = 2
META_PATH = "@" + META_FILE  # how overlay.toml is named among overlay paths in conflicts


class SaveConflict(StudioError):
    """Paths changed on disk since the studio read them, which this save would overwrite or delete."""

    def __init__(self, paths: list[str]):
        shown = ", ".join(p.lstrip("@") for p in paths[:6]) + (" …" if len(paths) > 6 else "")
        super().__init__(f"{len(paths)} item(s) changed on disk since the studio read them ({shown}); "
                         "nothing was saved. Load the changes from disk first, or save again choosing to "
                         "overwrite them.")
        self.paths = paths


@dataclass
class SavePlan:
    writes: list[tuple[str, str, int, Stamp | None]] = field(default_factory=list)  # path, source, mode, expected
    folders: list[str] = field(default_factory=list)  # overlay folders to create, parents first
    removals: list[tuple[str, Stamp]] = field(default_factory=list)  # overlay paths, deepest first
    meta: OverlayMeta = field(default_factory=OverlayMeta)
    meta_expected: bytes | None = None  # overlay.toml as the save expects to find it
    conflicts: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # unknown to the manifest: left alone
    rescued: list[str] = field(default_factory=list)  # changed during the save: moved aside
    manifest: Manifest | None = None  # what the overlay holds once this plan is carried out

    def is_empty(self) -> bool:
        return not (self.writes or self.folders or self.removals) and self.meta.dumps().encode() == self.meta_expected


def desired_overlay(entries: dict[str, Entry], base: dict[str, Entry]) -> tuple[dict[str, Entry], set[str], dict]:
    """What the overlay must hold for the project to load back as `entries`: files (by path),
    folders, and symlinks (which live in overlay.toml)."""
    files: dict[str, Entry] = {}
    folders: set[str] = set()
    symlinks: dict[str, str] = {}
    for path, entry in entries.items():
        below = base.get(path)
        if entry.kind == FILE:
            from_base = entry.source is None and below is not None and below.kind == FILE \
                and below.sha256 == entry.sha256
            if not from_base:
                files[path] = entry
                folders.update(ancestors(path)[1:])
        elif entry.kind == DIR:
            if below is None or below.kind != DIR:
                folders.add(path)
                folders.update(ancestors(path)[1:])
        elif entry.kind == SYMLINK and not (below is not None and below.kind == SYMLINK and below.target == entry.target):
            symlinks[path] = entry.target
    folders.discard("/")
    return files, folders, symlinks


def plan(project: Project, entries: dict[str, Entry], base: dict[str, Entry], manifest: Manifest,
         overwrite: frozenset[str] | set[str] = frozenset()) -> SavePlan:
    """What must change on disk for the project to load back as `entries`, touching only what
    `manifest` knows unchanged (or what `overwrite` names)."""
    result = SavePlan()
    files, folders, result.meta.symlinks = desired_overlay(entries, base)
    on_disk = project.scan_overlay()

    def ours(path: str) -> bool:
        """Known to the manifest and unchanged since (or the user said to overwrite it)."""
        return path in overwrite or (path in manifest.items and manifest.items[path] == on_disk.get(path))

    # Remove what the image no longer needs, but only what we know; never a whole tree at once.
    for path in sorted(on_disk, key=lambda p: p.count("/"), reverse=True):
        found = on_disk[path]
        wanted = (found[0] == FILE and path in files) or (found[0] == DIR and path in folders)
        if wanted or found[0] not in (FILE, DIR):
            continue
        if ours(path):
            result.removals.append((path, found))
        elif path not in manifest.items:
            result.kept.append(path)
        elif found[0] == FILE:
            result.conflicts.append(path)  # changed since read, and this save would delete it
    removed = {p for p, _ in result.removals}

    def present(path: str, kind: str) -> bool:
        return path in on_disk and on_disk[path][0] == kind and path not in removed

    for path in sorted(folders):
        if present(path, DIR):
            continue
        if path in on_disk and path not in removed:
            result.conflicts.append(path)  # a file (or other) not ours where a folder must go
        result.folders.append(path)
    for path, entry in sorted(files.items()):
        host = str(project.overlay_path(path))
        host_mode = 0o755 if entry.mode & 0o100 else 0o644
        unchanged = entry.source == host and present(path, FILE)
        if unchanged:
            host_mode = 0o755 if on_disk[path][4] & 0o100 else 0o644
        else:
            if path in on_disk and path not in removed and not ours(path):
                result.conflicts.append(path)
            source = entry.source
            if source is None:
                from studio.image.store import ObjectStore

                source = str(ObjectStore().path(entry.sha256))
            expected = on_disk.get(path) if path not in removed else None
            result.writes.append((path, source, host_mode, expected))
        _note_attrs(result.meta, path, entry, inferred_attrs(FILE, host_mode & 0o100 != 0, base.get(path)))

    for path, entry in entries.items():
        if entry.kind == DIR:
            _note_attrs(result.meta, path, entry, inferred_attrs(DIR, False, base.get(path)))
        elif entry.kind == SYMLINK:
            if path in result.meta.symlinks:
                _note_attrs(result.meta, path, entry, (0o777, 0, 0))
            else:
                _note_attrs(result.meta, path, entry, inferred_attrs(SYMLINK, False, base.get(path)))
        elif entry.kind == FILE and path not in files:
            _note_attrs(result.meta, path, entry, inferred_attrs(FILE, False, base.get(path)))
    for path in base:
        if path != "/" and path not in entries:
            folder = entries.get(parent(path))
            if folder is not None and folder.kind == DIR:
                result.meta.deleted.add(path)

    result.meta_expected = project.read_meta_bytes()
    if result.meta_expected != manifest.meta and META_PATH not in overwrite:
        result.conflicts.append(META_PATH)
    return result


def _note_attrs(meta: OverlayMeta, path: str, entry: Entry, inferred: tuple[int, int, int]) -> None:
    mode, uid, gid = inferred
    if (entry.mode, entry.uid, entry.gid) != (mode, uid, gid):
        from studio.image.project import Attrs

        meta.attrs[path] = Attrs(entry.mode if entry.mode != mode else None,
                                 entry.uid if entry.uid != uid else None,
                                 entry.gid if entry.gid != gid else None)


def save(project: Project, entries: dict[str, Entry], base: dict[str, Entry], manifest: Manifest,
         progress=None, overwrite: frozenset[str] | set[str] = frozenset()) -> SavePlan:
    """Write the project so that it loads back as `entries`. Raises SaveConflict (and writes
    nothing) when that would overwrite or delete something changed on disk since `manifest`.
    Returns what was done; its `manifest` describes the overlay as this save left it.
    `progress(message, fraction)` hears about the copying, the long part. The caller must hold
    the project's write lock (studio.image.lock)."""
    if not held_here(project.root):
        raise RuntimeError("saving needs the project's write lock (studio.image.lock)")
    report = progress or (lambda message, fraction: None)
    recover(project)
    todo = plan(project, entries, base, manifest, overwrite)
    if todo.conflicts:
        raise SaveConflict(todo.conflicts)
    work = project.root / STUDIO_DIR / SAVE_DIR
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    renames = []
    for i, (path, source, host_mode, expected) in enumerate(todo.writes):
        if i % 64 == 0:
            report(f"saving {path}", i / max(1, len(todo.writes)))
        staged = work / f"{i}.new"
        with open(source, "rb") as src, open(staged, "wb") as dst:
            shutil.copyfileobj(src, dst)
            dst.flush()
            os.fsync(dst.fileno())
        os.chmod(staged, host_mode)
        renames.append([_rel(project, staged), _overlay_rel(path), expected])
    meta_staged = work / "meta.new"
    atomic_write(meta_staged, todo.meta.dumps())
    renames.append([_rel(project, meta_staged), META_FILE, ["meta", _meta_digest(todo.meta_expected)]])
    fsync_dir(work)
    journal = {
        "format": JOURNAL_FORMAT,
        "removals": [[_overlay_rel(p), list(found)] for p, found in todo.removals],
        "folders": [_overlay_rel(p) for p in todo.folders],
        "renames": renames,
    }
    atomic_write(work / JOURNAL, json.dumps(journal))  # the commit point (file and folder synced)
    todo.rescued = _carry_out(project.root, work)
    project.reload_meta()
    todo.manifest = _manifest_after(project, todo, manifest)
    return todo


def _manifest_after(project: Project, todo: SavePlan, before: Manifest) -> Manifest:
    """The overlay as this save left it: what it kept of the old manifest, minus what it removed,
    plus what it wrote. Items it did not know stay unknown, so a later save still leaves them."""
    items = dict(before.items)
    for path, _ in todo.removals:
        items.pop(path, None)
    for path in todo.folders:
        for folder in [*ancestors(path)[1:], path]:
            items[folder] = (DIR,)
    for path, *_ in todo.writes:
        found = stamp_of(project.overlay_path(path))
        if found is not None:
            items[path] = found
    return Manifest(items, project.read_meta_bytes())


def _rel(project: Project, path: Path) -> str:
    return str(Path(path).relative_to(project.root))


def _overlay_rel(image_path: str) -> str:
    return OVERLAY_DIR + image_path


def _meta_digest(data: bytes | None) -> str | None:
    import hashlib

    return None if data is None else hashlib.sha256(data).hexdigest()


def recover(project: Project) -> bool:
    """Finish a save that was interrupted after its commit point, or sweep one that was not.
    Returns True when an interrupted save was completed. The caller holds the write lock."""
    work = project.root / STUDIO_DIR / SAVE_DIR
    if not work.exists():
        return False
    journal = work / JOURNAL
    if journal.exists():
        try:
            data = json.loads(journal.read_text())
        except ValueError as err:  # atomic_write makes this impossible short of disk damage
            raise StudioError(f"{journal} is unreadable ({err}); move it away to open the project.") from err
        if data.get("format") != JOURNAL_FORMAT:
            raise StudioError(f"{journal} was written by another version of the studio; "
                              "open the project with that version once to finish its save.")
        _carry_out(project.root, work)
        project.reload_meta()
        return True
    shutil.rmtree(work, ignore_errors=True)
    return False


def _carry_out(root: Path, work: Path) -> list[str]:
    """Do what the journal says, checking each target is still as planned (a replay finds some
    steps done already). Returns the project-relative paths of items moved to .studio/rescued."""
    journal = json.loads((work / JOURNAL).read_text())
    rescued: list[str] = []
    touched: set[Path] = set()
    for rel, found in journal["removals"]:
        target = root / rel
        now = stamp_of(target)
        if now is None:
            continue
        if now[0] == DIR and found[0] == DIR:
            try:
                target.rmdir()  # only if empty: a folder holding unknown items stays
            except OSError:
                continue
        elif now[0] == FILE and list(now) == list(found):
            target.unlink()
        else:
            continue  # replaced by someone else since the plan: not ours to delete
        touched.add(target.parent)
    for rel in journal["folders"]:
        target = root / rel
        if target.exists() and not target.is_dir():
            rescued.append(_rescue(root, target))
        target.mkdir(parents=True, exist_ok=True)
        touched.add(target.parent)
    for staged_rel, target_rel, expected in journal["renames"]:
        staged, target = root / staged_rel, root / target_rel
        if not staged.exists():
            continue  # renamed before an interruption
        if not _as_expected(target, expected):
            rescued.append(_rescue(root, target))
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir() and not target.is_symlink():
            rescued.append(_rescue(root, target))
        os.replace(staged, target)
        touched.add(target.parent)
    for directory in touched:
        fsync_dir(directory)
    (work / JOURNAL).unlink()
    fsync_dir(work)
    shutil.rmtree(work, ignore_errors=True)
    return rescued


def _as_expected(target: Path, expected) -> bool:
    """Is `target` still what the plan saw (so replacing it loses nothing unsaved)?"""
    now = stamp_of(target)
    if expected is None:
        return now is None
    if expected[0] == "meta":
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            data = None
        return _meta_digest(data) == expected[1]
    return now is not None and list(now) == list(expected)


def _rescue(root: Path, target: Path) -> str:
    """Move something that appeared or changed during a save out of its way, keeping it."""
    rel = target.relative_to(root)
    place = root / STUDIO_DIR / RESCUED_DIR / time.strftime("%Y%m%d-%H%M%S") / rel
    place.parent.mkdir(parents=True, exist_ok=True)
    os.replace(target, place)
    return str(place.relative_to(root))


def settle(project: Project) -> bool:
    """For readers (build, export, check): finish an interrupted save if no writer is at work
    (a writer finishes it itself when it opens). True when one was finished."""
    if not (project.root / STUDIO_DIR / SAVE_DIR / JOURNAL).exists():
        return False
    lock = ProjectLock(project.root)
    try:
        lock.acquire()
    except ProjectLocked:
        return False
    try:
        return recover(project)
    finally:
        lock.release()
