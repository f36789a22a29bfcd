"""Edits of an image, each built as a reversible Change against an ImageState (Qt-free).

Builders check what the edit needs (the folder exists, the name is free, …) and raise a
StudioError that says what is wrong; they never touch the state. Applying the Change is
the caller's job (the undo stack in the GUI, the document in the CLI).
"""

from __future__ import annotations

import posixpath

from studio.errors import StudioError
from studio.image.entry import DIR, FILE, SYMLINK, Entry, ancestors, normalize, parent
from studio.image.state import Change, ImageState


def _check_name(path: str) -> str:
    try:
        path = normalize(path)
    except ValueError as err:
        raise StudioError(str(err)) from err
    if path == "/":
        raise StudioError("the root folder cannot be replaced")
    return path


def _need_folder(state: ImageState, folder: str) -> None:
    entry = state.entry(folder)
    if entry is None or entry.kind != DIR:
        raise StudioError(f"{folder} is not a folder in the image")


def _need_free(state: ImageState, path: str) -> None:
    if state.entry(path) is not None:
        raise StudioError(f"{path} already exists; pick another name or delete it first")


def _new(state: ImageState, entry: Entry, label: str) -> Change:
    path = _check_name(entry.path)
    _need_folder(state, parent(path))
    _need_free(state, path)
    return Change(label, {path: None}, {path: entry.evolve(path=path)})


def new_file(state: ImageState, path: str, source: str = "", size: int = 0, sha256: str = "",
             mode: int = 0o644, uid: int = 0, gid: int = 0, mtime: int = 0) -> Change:
    entry = Entry(path, FILE, mode, uid, gid, size, mtime, sha256=sha256, source=source or None)
    return _new(state, entry, f"New file {posixpath.basename(path)}")


def new_folder(state: ImageState, path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> Change:
    return _new(state, Entry(path, DIR, mode, uid, gid), f"New folder {posixpath.basename(path)}")


def new_symlink(state: ImageState, path: str, target: str, uid: int = 0, gid: int = 0) -> Change:
    if not target:
        raise StudioError("a symlink needs a target")
    entry = Entry(path, SYMLINK, 0o777, uid, gid, size=len(target.encode()), target=target)
    return _new(state, entry, f"New symlink {posixpath.basename(path)}")


def remove(state: ImageState, paths: list[str]) -> Change:
    """Delete paths and everything below them (base entries become restorable deletions)."""
    before: dict[str, Entry | None] = {}
    for path in paths:
        path = _check_name(path)
        if state.entry(path) is None:
            raise StudioError(f"{path} is not in the image")
        for p in state.subtree(path):
            before[p] = state.entries[p]
    names = ", ".join(posixpath.basename(p) for p in paths[:3]) + (" …" if len(paths) > 3 else "")
    return Change(f"Delete {names}", before, {p: None for p in before})


def restore(state: ImageState, path: str) -> Change:
    """Bring back a deleted base entry, with everything the base had below it."""
    if state.ghost(path) is None:
        raise StudioError(f"{path} is not a deleted base entry")
    prefix = path + "/"
    after = {p: e for p, e in state.base.items() if (p == path or p.startswith(prefix)) and p not in state.entries}
    return Change(f"Restore {posixpath.basename(path)}", {p: None for p in after}, after)


def move(state: ImageState, source: str, target: str) -> Change:
    """Rename or move `source` (and what is below it) to `target`."""
    source, target = _check_name(source), _check_name(target)
    if state.entry(source) is None:
        raise StudioError(f"{source} is not in the image")
    if target == source:
        raise StudioError("the new name is the old one")
    if target.startswith(source + "/"):
        raise StudioError(f"cannot move {source} into itself")
    _need_folder(state, parent(target))
    _need_free(state, target)
    before: dict[str, Entry | None] = {}
    after: dict[str, Entry | None] = {}
    for p in state.subtree(source):
        moved = target + p[len(source):]
        before[p] = state.entries[p]
        after[p] = None
        before[moved] = None
        after[moved] = state.entries[p].evolve(path=moved)
    verb = "Rename" if parent(source) == parent(target) else "Move"
    return Change(f"{verb} {posixpath.basename(source)}", before, after)


def set_properties(state: ImageState, path: str, mode: int | None = None, uid: int | None = None,
                   gid: int | None = None, target: str | None = None) -> Change:
    entry = state.entry(path)
    if entry is None:
        raise StudioError(f"{path} is not in the image")
    changes = {}
    if mode is not None:
        if not 0 <= mode <= 0o7777:
            raise StudioError(f"mode {mode:o} is not a permission mode (0000-7777)")
        changes["mode"] = mode
    if uid is not None:
        changes["uid"] = uid
    if gid is not None:
        changes["gid"] = gid
    if target is not None:
        if entry.kind != SYMLINK:
            raise StudioError(f"{path} is not a symlink")
        if not target:
            raise StudioError("a symlink needs a target")
        changes["target"] = target
        changes["size"] = len(target.encode())
    return Change(f"Properties of {entry.name}", {path: entry}, {path: entry.evolve(**changes)})


def set_content(state: ImageState, path: str, source: str, size: int, sha256: str) -> Change:
    entry = state.entry(path)
    if entry is None or entry.kind != FILE:
        raise StudioError(f"{path} is not a file in the image")
    new = entry.evolve(source=source, size=size, sha256=sha256, stamp=None)
    return Change(f"Edit {entry.name}", {path: entry}, {path: new})


def add_entries(state: ImageState, entries: list[Entry], label: str, replace: bool = False) -> Change:
    """Add many entries at once (a drop, `studio add`, a build, a pull): missing folders they need
    are created (0755), existing folders are merged into, and an existing file is replaced only
    with `replace`."""
    before: dict[str, Entry | None] = {}
    after: dict[str, Entry | None] = {}
    for entry in sorted(entries, key=lambda e: e.path):
        path = _check_name(entry.path)
        for folder in ancestors(path):
            live_folder = after.get(folder) or state.entry(folder)
            if live_folder is None and folder not in after:
                before[folder] = None
                after[folder] = Entry(folder, DIR, 0o755)
            elif live_folder is None or live_folder.kind != DIR:
                raise StudioError(f"{folder} is not a folder in the image")
        existing = state.entry(path)
        if existing is not None:
            if existing.kind == DIR and entry.kind == DIR:
                continue  # merge into the existing folder
            if not replace:
                raise StudioError(f"{path} already exists; use replace to overwrite it")
            for p in state.subtree(path):
                before.setdefault(p, state.entries[p])
                after.setdefault(p, None)
        before.setdefault(path, existing)
        after[path] = entry.evolve(path=path)
    return Change(label, before, after)


def revert_to_base(state: ImageState, paths: list[str]) -> Change:
    """Undo the user's changes to `paths`: each gets back what the layers below hold (the base, or
    the package that installed it); a path they do not hold is removed. Folders get back their
    attributes (what the user put inside them stays: revert those files one by one)."""
    before: dict[str, Entry | None] = {}
    after: dict[str, Entry | None] = {}
    for path in paths:
        path = _check_name(path)
        live, below = state.entry(path), state.base.get(path)
        if live == below:
            continue
        if below is None:
            for p in state.subtree(path):
                before[p] = state.entries[p]
                after[p] = None
        elif live is not None and live.kind == DIR and below.kind == DIR:
            before[path], after[path] = live, below
        else:
            if live is not None:
                for p in state.subtree(path):
                    before.setdefault(p, state.entries[p])
                    after.setdefault(p, None)
            for folder in ancestors(path)[1:]:
                if state.entry(folder) is None and folder not in after:
                    before[folder], after[folder] = None, state.base.get(folder) or Entry(folder, DIR, 0o755)
            before.setdefault(path, live)
            after[path] = below
    if not after:
        raise StudioError("nothing to revert: " + ", ".join(paths) + " already as the base has it")
    names = ", ".join(posixpath.basename(p) for p in paths[:3]) + (" …" if len(paths) > 3 else "")
    return Change(f"Revert {names} to base", before, after)
