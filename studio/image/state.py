"""The image being edited (Qt-free): its entries, the rows a tree shows, and reversible changes.

Rows: every live directory lists its live children plus the base entries deleted from it
("ghosts", shown so a deletion can be seen and restored). An observer (the Qt tree model)
hears about each row inserted, removed or changed, in an order that keeps a view valid.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Protocol

from studio.image.entry import DIR, Entry, child, parent

# Past this many touched paths an observer is told to reset instead of hearing each row.
BULK = 1500

BASE, ADDED, MODIFIED, DELETED = "base", "added", "modified", "deleted"


@dataclass(frozen=True)
class Change:
    """One reversible edit: the entries of the touched paths before and after (None: absent)."""

    label: str
    before: dict[str, Entry | None]
    after: dict[str, Entry | None]

    def inverse(self) -> "Change":
        return Change(self.label, self.after, self.before)

    def __len__(self) -> int:
        return len(self.after)


class Observer(Protocol):
    def rows_about_to_be_inserted(self, parent: str, first: int, last: int) -> None: ...
    def rows_inserted(self) -> None: ...
    def rows_about_to_be_removed(self, parent: str, first: int, last: int) -> None: ...
    def rows_removed(self) -> None: ...
    def row_changed(self, path: str) -> None: ...
    def about_to_reset(self) -> None: ...
    def reset(self) -> None: ...
    def change_started(self) -> None: ...
    def change_finished(self) -> None: ...


def _name(path: str) -> str:
    return path.rsplit("/", 1)[1]



class ImageState:
    def __init__(self, entries: dict[str, Entry], base: dict[str, Entry]):
        self.entries = dict(entries)
        self.base = base
        self.observers: list[Observer] = []
        self._base_children: dict[str, list[str]] = {}
        for path in base:
            if path != "/":
                self._base_children.setdefault(parent(path), []).append(_name(path))
        for names in self._base_children.values():
            names.sort()
        self.rows: dict[str, list[str]] = {}
        self.touched: set[str] = set()  # every path an applied change named (the document prunes it)
        self._rebuild_rows()

    # -- queries ----------------------------------------------------------------------
    def entry(self, path: str) -> Entry | None:
        return self.entries.get(path)

    def ghost(self, path: str) -> Entry | None:
        """The base entry at `path` if it was deleted and its folder still exists."""
        if path in self.entries or path == "/":
            return None
        p = parent(path)
        folder = self.entries.get(p)
        return self.base.get(path) if folder is not None and folder.kind == DIR else None

    def children(self, path: str) -> list[str]:
        return self.rows.get(path, [])

    def row_of(self, path: str) -> int:
        names = self.rows.get(parent(path), [])
        i = bisect.bisect_left(names, _name(path))
        return i if i < len(names) and names[i] == _name(path) else -1

    def status(self, path: str) -> str:
        live = self.entries.get(path)
        below = self.base.get(path)
        if live is None:
            return DELETED
        if below is None or below.kind != live.kind:
            return ADDED
        same = (live.mode, live.uid, live.gid) == (below.mode, below.uid, below.gid) and (
            live.target == below.target if live.kind != "file" else live.source is None)
        return BASE if same else MODIFIED

    def subtree(self, path: str) -> list[str]:
        """Live paths at and below `path`, parents first."""
        if path not in self.entries:
            return []
        if path == "/":
            return sorted(self.entries)
        prefix = path + "/"
        return [path] + sorted(p for p in self.entries if p.startswith(prefix))

    # -- edits ------------------------------------------------------------------------
    def apply(self, change: Change) -> None:
        self.touched.update(change.after)
        for o in self.observers:
            o.change_started()
        try:
            self._apply(change)
        finally:
            for o in self.observers:
                o.change_finished()

    def _apply(self, change: Change) -> None:
        bulk = len(change) > BULK
        observers = [] if bulk else self.observers
        if bulk:
            for o in self.observers:
                o.about_to_reset()
        gone = sorted((p for p, e in change.after.items() if e is None and p in self.entries), reverse=True)
        replaced = [p for p, e in change.after.items()
                    if e is not None and p in self.entries and self.entries[p].kind != e.kind]
        for path in sorted(set(gone) | set(replaced), reverse=True):
            self._remove(path, observers)
        for path in sorted(p for p, e in change.after.items() if e is not None):
            self._put(path, change.after[path], observers)
        if bulk:
            self._rebuild_rows()
            for o in self.observers:
                o.reset()

    def _remove(self, path: str, observers) -> None:
        entry = self.entries.get(path)
        if entry is None:
            return
        if entry.kind == DIR:
            for name in list(self.rows.get(path, [])):
                child_path = child(path, name)
                if child_path in self.entries:
                    self._remove(child_path, observers)
            names = self.rows.get(path, [])
            if names:
                for o in observers:
                    o.rows_about_to_be_removed(path, 0, len(names) - 1)
                names.clear()
                for o in observers:
                    o.rows_removed()
            self.rows.pop(path, None)
        del self.entries[path]
        folder = parent(path)
        names = self.rows.get(folder)
        if names is None:
            return
        i = bisect.bisect_left(names, _name(path))
        if path in self.base:  # stays, as a ghost
            for o in observers:
                o.row_changed(path)
            return
        for o in observers:
            o.rows_about_to_be_removed(folder, i, i)
        del names[i]
        for o in observers:
            o.rows_removed()

    def _put(self, path: str, entry: Entry, observers) -> None:
        existed = path in self.entries
        self.entries[path] = entry
        if path == "/":
            return
        folder = parent(path)
        names = self.rows.setdefault(folder, [])
        i = bisect.bisect_left(names, _name(path))
        if i < len(names) and names[i] == _name(path):
            for o in observers:
                o.row_changed(path)
        else:
            for o in observers:
                o.rows_about_to_be_inserted(folder, i, i)
            names.insert(i, _name(path))
            for o in observers:
                o.rows_inserted()
        if entry.kind == DIR and not existed:
            # A new folder starts with the base entries it lacks, as ghosts; its live
            # children arrive after it (a change is applied parents first).
            self.rows[path] = []
            ghosts = [n for n in self._base_children.get(path, []) if child(path, n) not in self.entries]
            if ghosts:
                for o in observers:
                    o.rows_about_to_be_inserted(path, 0, len(ghosts) - 1)
                self.rows[path] = ghosts
                for o in observers:
                    o.rows_inserted()

    def rebase(self, base: dict[str, Entry], entries: dict[str, Entry | None]) -> None:
        """The layers below the user's edits changed (packages added or removed): take `base`,
        and the new `entries` (None: gone) for the paths that followed it. Observers reset."""
        for o in self.observers:
            o.change_started()
            o.about_to_reset()
        try:
            self.base = base
            self._base_children = {}
            for path in base:
                if path != "/":
                    self._base_children.setdefault(parent(path), []).append(_name(path))
            for names in self._base_children.values():
                names.sort()
            for path, entry in entries.items():
                if entry is None:
                    self.entries.pop(path, None)
                else:
                    self.entries[path] = entry
            self._rebuild_rows()
        finally:
            for o in self.observers:
                o.reset()
                o.change_finished()

    def _rebuild_rows(self) -> None:
        rows: dict[str, set[str]] = {p: set() for p, e in self.entries.items() if e.kind == DIR}
        for path in self.entries:
            if path != "/":
                folder = rows.get(parent(path))
                if folder is not None:
                    folder.add(_name(path))
        for folder, names in rows.items():
            names.update(self._base_children.get(folder, ()))
        self.rows = {folder: sorted(names) for folder, names in rows.items()}
