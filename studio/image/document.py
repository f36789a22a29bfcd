"""A project open for editing (Qt-free): the image state, contents of unsaved edits, saving,
autosave and crash recovery, and picking up changes made on disk by other programs.

Unsaved file contents (typed in an editor, dropped from the desktop) live in
PROJECT/.studio/objects/, named by their SHA-256, until a save copies them into the overlay.

A writable document holds the project's write lock (studio.image.lock) until it is closed, and
remembers what it last read or wrote on disk (its manifest) so that a save never destroys
anything another program put there meanwhile (studio.image.save).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from studio.fsutil import CHUNK, atomic_write
from studio.image import save as saving
from studio.image.entry import DIR, FILE, Entry, ancestors
from studio.image.lock import ProjectLock
from studio.image.project import Manifest, Project
from studio.image.state import Change, ImageState
from studio.image.store import ObjectStore

AUTOSAVE = "autosave.json"


def _encode(entry: Entry | None):
    if entry is None:
        return None
    return [entry.path, entry.kind, entry.mode, entry.uid, entry.gid, entry.size, entry.mtime,
            entry.target, entry.sha256, entry.source]


def _decode(row) -> Entry | None:
    if row is None:
        return None
    path, kind, mode, uid, gid, size, mtime, target, sha, source = row
    return Entry(path, kind, mode, uid, gid, size, mtime, target, sha, source)


def _same_visible(a: Entry, b: Entry) -> bool:
    return (a.kind, a.mode, a.uid, a.gid, a.size, a.target) == (b.kind, b.mode, b.uid, b.gid, b.size, b.target)


class ImageDocument:
    def __init__(self, project: Project, writable: bool = True, wait: float = 0.0):
        """Open `project` for editing. A writable document takes the write lock (waiting up to
        `wait` seconds; ProjectLocked names the holder) and finishes an interrupted save; a
        read-only one (checks, reports) does neither and must not save."""
        self.project = project
        self.writable = writable
        self.lock = ProjectLock(project.root)
        self.interrupted_save_finished = False
        if writable:
            self.lock.acquire(wait)
            try:
                self.interrupted_save_finished = saving.recover(project)
            except BaseException:
                self.lock.release()
                raise
        self.index = project.base_index()
        self.lower = project.lower(self.index)  # base + packages: what the overlay is on top of
        self.manifest = Manifest()
        self.state = ImageState(project.merged(self.index, self.manifest, self.lower), self.lower)
        self.saved: dict[str, Entry] = dict(self.state.entries)
        self._saved_changed: set[str] = set()  # paths whose saved entry changed since the last save
        self.store = ObjectStore()
        self.pending_dir = project.root / saving.STUDIO_DIR / "objects"

    @classmethod
    def open(cls, root: Path, writable: bool = True, wait: float = 0.0) -> "ImageDocument":
        return cls(Project.open(root), writable, wait)

    # -- contents ---------------------------------------------------------------------
    def _pending(self, sha: str) -> Path:
        return self.pending_dir / sha

    def store_bytes(self, data: bytes) -> tuple[str, int, str]:
        """Keep new content for an unsaved edit; returns (source, size, sha256)."""
        sha = hashlib.sha256(data).hexdigest()
        target = self._pending(sha)
        if not target.exists():
            atomic_write(target, data, mode=0o444)
        return str(target), len(data), sha

    def store_file(self, host_path: Path) -> tuple[str, int, str]:
        """Copy a host file in (reading it once); returns (source, size, sha256)."""
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        # A name of its own per write: drops, compiles and pulls may copy in at the same time.
        fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=self.pending_dir)
        size = 0
        try:
            with open(host_path, "rb") as src, os.fdopen(fd, "wb") as dst:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    dst.write(chunk)
                    size += len(chunk)
            sha = digest.hexdigest()
            os.chmod(tmp, 0o444)
            os.replace(tmp, self._pending(sha))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return str(self._pending(sha)), size, sha

    def read_bytes(self, path: str) -> bytes:
        entry = self.state.entry(path)
        if entry is None or entry.kind != FILE:
            raise KeyError(path)
        if entry.source is not None:
            return Path(entry.source).read_bytes()
        return self.store.read(entry.sha256)

    # -- saving -----------------------------------------------------------------------
    def changed_paths(self) -> list[str]:
        """Paths where the state differs from what is saved (only paths some change named are
        compared: a delete followed by a restore is no change)."""
        now, then = self.state.entries, self.saved
        return [p for p in self.state.touched | self._saved_changed if now.get(p) != then.get(p)]

    def is_dirty(self) -> bool:
        return bool(self.changed_paths())

    def snapshot(self) -> dict[str, Entry]:
        """The state to save, taken in the thread that owns the state (the GUI's)."""
        return dict(self.state.entries)

    def write(self, entries: dict[str, Entry], progress=None, overwrite=frozenset()) -> saving.SavePlan:
        """Write `entries` (a snapshot) to the project, all or nothing, leaving alone whatever the
        manifest does not know (SaveConflict when it would have to overwrite or delete such a
        thing; `overwrite` names what may be). Touches only the disk: safe in a worker thread
        while the state goes on changing; `saved_as` then records the result."""
        if not self.writable:
            raise RuntimeError("a read-only document cannot save")
        return saving.save(self.project, entries, self.lower, self.manifest, progress, overwrite)

    def saved_as(self, entries: dict[str, Entry], done: saving.SavePlan) -> None:
        """Record that the disk now holds `entries` (in the state's thread). Entries still as
        they were snapshotted take their loaded form (content in the overlay now), so "saved" is
        exactly what the disk holds and later changes on disk can be told apart; edits made
        during the save stay unsaved."""
        fresh = self.project.merged(self.index, lower=self.lower)
        for path, snap in entries.items():
            loaded = fresh.get(path)
            if loaded is None or loaded == snap or not _same_visible(snap, loaded):
                continue
            entries[path] = loaded
            if self.state.entries.get(path) == snap:
                self.state.entries[path] = loaded
        self.saved = entries
        self.manifest = done.manifest
        self._saved_changed = set()
        self.state.touched = set(self.changed_paths_from(self.state.touched))
        self.autosave()  # discards the autosave, or keeps one for edits made during the save

    def changed_paths_from(self, paths) -> list[str]:
        now, then = self.state.entries, self.saved
        return [p for p in paths if now.get(p) != then.get(p)]

    def save(self, progress=None, overwrite=frozenset()) -> saving.SavePlan:
        """Write the state as it is now (all or nothing) and record it as saved."""
        entries = self.snapshot()
        done = self.write(entries, progress, overwrite)
        self.saved_as(entries, done)
        return done

    # -- autosave and recovery ------------------------------------------------------------
    @property
    def autosave_path(self) -> Path:
        return self.project.root / saving.STUDIO_DIR / AUTOSAVE

    def autosave(self) -> int:
        """Record unsaved changes beside the project; returns how many paths they touch."""
        changed = self.changed_paths()
        if not changed:
            self.discard_autosave()
            return 0
        data = {"format": 1, "changes": {p: _encode(self.state.entries.get(p)) for p in changed}}
        atomic_write(self.autosave_path, json.dumps(data))
        return len(changed)

    def has_recovery(self) -> bool:
        return self.autosave_path.exists()

    def recovery_change(self) -> Change:
        """The unsaved changes of a session that ended without saving, as one change to apply."""
        data = json.loads(self.autosave_path.read_text())
        after = {p: _decode(row) for p, row in data["changes"].items()}
        after = {p: e for p, e in after.items()
                 if e is None or e.kind != FILE or e.source is None or os.path.exists(e.source)}
        before = {p: self.state.entries.get(p) for p in after}
        return Change("Recover unsaved changes", before, after)

    def discard_autosave(self) -> None:
        self.autosave_path.unlink(missing_ok=True)

    # -- the layers below the overlay -----------------------------------------------------
    def rebase(self, progress=None, cancelled=None) -> int:
        """The project's packages changed (its lock file): put the new package layer under the
        image. Paths the user did not edit follow it; the user's edits stay on top. What is saved
        follows the same way (the overlay on disk did not change). Returns how many paths moved."""
        new = self.project.lower(self.index, progress, cancelled)
        old = self.lower
        moved: dict[str, Entry | None] = {}
        for path in old.keys() | new.keys():
            before, after = old.get(path), new.get(path)
            if before == after:
                continue
            if self.saved.get(path) == before:
                if after is None:
                    self.saved.pop(path, None)
                else:
                    self.saved[path] = after
            if self.state.entries.get(path) == before and not self._deleted_by_user(path):
                moved[path] = after
        # A folder that goes takes with it what the user had not edited below it; what the user
        # put there stays, with its folder.
        after = {**self.state.entries, **{p: e for p, e in moved.items() if e is not None}}
        for path in [p for p, e in moved.items() if e is None]:
            after.pop(path, None)
        for path in list(after):
            for folder in ancestors(path):
                if folder not in after:
                    after[folder] = moved[folder] = new.get(folder) or Entry(folder, DIR, 0o755)
        self.lower = new
        self.state.rebase(new, moved)
        return len(moved)

    def _deleted_by_user(self, path: str) -> bool:
        return path in self.project.meta.deleted

    # -- changes made on disk -----------------------------------------------------------
    def disk_change(self) -> Change | None:
        """What differs between the saved state and the project on disk now (an external
        editor, a git checkout), as a change from the current state; None if nothing. The
        caller applies it: from then on the document knows what is on disk (its manifest)."""
        self.project.reload_meta()
        manifest = Manifest()
        on_disk = self.project.merged(self.index, manifest, self.lower)
        self.manifest = manifest
        paths = [p for p in on_disk.keys() | self.saved.keys() if on_disk.get(p) != self.saved.get(p)]
        if not paths:
            return None
        self.saved.update({p: on_disk[p] for p in paths if p in on_disk})
        for p in paths:
            if p not in on_disk:
                self.saved.pop(p, None)
        self._saved_changed.update(paths)
        return Change("Changes on disk", {p: self.state.entries.get(p) for p in paths},
                      {p: on_disk.get(p) for p in paths})

    def export(self, path: str, destination: Path) -> int:
        """Copy an image file or folder out to the host folder `destination`; returns files written.
        Symlinks are recreated as symlinks; modes are kept (owners are not: that needs root)."""
        destination = Path(destination)
        top = self.state.entry(path)
        if top is None:
            raise KeyError(path)
        cut = len(path.rsplit("/", 1)[0])
        written = 0
        for p in self.state.subtree(path):
            entry = self.state.entries[p]
            host = destination / p[cut:].lstrip("/")
            if entry.kind == "dir":
                host.mkdir(parents=True, exist_ok=True)
            elif entry.kind == "symlink":
                host.parent.mkdir(parents=True, exist_ok=True)
                if host.is_symlink() or host.exists():
                    host.unlink()
                os.symlink(entry.target, host)
            else:
                host.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(host, self.read_bytes(p), mode=entry.mode & 0o777)
                written += 1
        for p in reversed(self.state.subtree(path)):
            entry = self.state.entries[p]
            if entry.kind == "dir":
                os.chmod(destination / p[cut:].lstrip("/"), entry.mode & 0o777 | 0o700)
        return written

    def close(self) -> None:
        """Forget unsaved contents that no autosave refers to; let go of the write lock."""
        if self.writable and not self.has_recovery():
            shutil.rmtree(self.pending_dir, ignore_errors=True)
        self.lock.release()
