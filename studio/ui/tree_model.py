"""The rootfs tree: a Qt item model over an ImageState (live entries plus deleted-base ghosts).

Rows come straight from the state's sorted child lists, so the model is lazy by nature: only
rows a view asks for are ever looked at. The model observes the state and turns each
inserted, removed or changed row into the matching Qt signal. With a filter on (changes
only, or a name search), it shows the matching entries and their folders, and resets on edits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import humanize
from PySide6.QtCore import QAbstractItemModel, QMimeData, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QApplication, QStyle

from studio.image import accounts, apkdb
from studio.image.entry import DIR, FILE, SYMLINK, Entry, child, mode_string, parent
from studio.image.state import ADDED, BASE, DELETED, MODIFIED, ImageState

COLUMNS = ("Name", "Size", "Mode", "Owner", "Group", "Package", "Status")
NAME, SIZE, MODE, OWNER, GROUP, PACKAGE, STATUS = range(len(COLUMNS))
PATH_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_ROLE = Qt.ItemDataRole.UserRole + 2
MIME_PATHS = "application/x-image-studio-paths"
MODIFIED_VS_PACKAGE = "modified vs package"
_STATUS_COLORS = {ADDED: "#2e7d32", MODIFIED: "#b26a00", DELETED: "#9e9e9e", MODIFIED_VS_PACKAGE: "#c62828"}


# Flags are asked for every row a view lays out; combining Qt enums in Python is slow, so the
# few combinations are made once: (live, folder, name column) -> flags.
_F = Qt.ItemFlag
_FLAGS = {}
for _live in (False, True):
    for _folder in (False, True):
        for _name in (False, True):
            _flags = _F.ItemIsEnabled | _F.ItemIsSelectable
            if not _folder:
                _flags |= _F.ItemNeverHasChildren  # lets a view skip asking hasChildren
            if _live:
                _flags |= _F.ItemIsDragEnabled
                if _name:
                    _flags |= _F.ItemIsEditable
                if _folder:
                    _flags |= _F.ItemIsDropEnabled
            _FLAGS[_live, _folder, _name] = _flags
_ROOT_FLAGS = _F.ItemIsDropEnabled



class ImageTreeModel(QAbstractItemModel):
    """`read(path) -> bytes` reads a live file's content; `perform(change)` applies an edit (the
    window pushes it on the undo stack); `host_drop(paths, folder)` handles files dropped from
    the desktop."""

    def __init__(self, state: ImageState, read: Callable[[str], bytes], parent=None):
        super().__init__(parent)
        self.state = state
        self.read = read
        self.perform: Callable = lambda change: state.apply(change)
        self.host_drop: Callable[[list[Path], str], None] = lambda paths, folder: None
        self.highlight = ""  # names containing this (lower case) are highlighted: the search
        self.drop_target = ""  # the folder a drag is over, shown as the target
        self._ids: dict[str, int] = {}
        self._paths: list[str] = []
        self._filter: Callable[[str], bool] | None = None
        self._visible: dict[str, list[str]] = {}
        self._pending: tuple | None = None
        self._lookups: dict[str, tuple] = {}
        self._sha1: dict[str, bytes] = {}
        style = QApplication.style()
        self._icons = {
            DIR: style.standardIcon(QStyle.StandardPixmap.SP_DirIcon),
            FILE: style.standardIcon(QStyle.StandardPixmap.SP_FileIcon),
            SYMLINK: style.standardIcon(QStyle.StandardPixmap.SP_FileLinkIcon),
        }
        state.observers.append(self)

    def detach(self) -> None:
        if self in self.state.observers:
            self.state.observers.remove(self)

    # -- paths and indexes ---------------------------------------------------------------
    def _id(self, path: str) -> int:
        found = self._ids.get(path)
        if found is None:
            found = self._ids[path] = len(self._paths)
            self._paths.append(path)
        return found

    def path(self, index: QModelIndex) -> str:
        return self._paths[index.internalId()] if index.isValid() else "/"

    def entry(self, index: QModelIndex) -> Entry | None:
        path = self.path(index)
        return self.state.entry(path) or self.state.ghost(path)

    def _children(self, folder: str) -> list[str]:
        return self._visible.get(folder, []) if self._filter else self.state.children(folder)

    def index_of(self, path: str, column: int = 0) -> QModelIndex:
        if path == "/":
            return QModelIndex()
        names = self._children(parent(path))
        name = path.rsplit("/", 1)[1]
        try:
            row = names.index(name) if self._filter else self.state.row_of(path)
        except ValueError:
            return QModelIndex()
        return self.createIndex(row, column, self._id(path)) if row >= 0 else QModelIndex()

    # -- QAbstractItemModel ----------------------------------------------------------------
    def index(self, row: int, column: int, parent_index: QModelIndex = QModelIndex()) -> QModelIndex:
        # Called for every row a view lays out: kept to plain lookups.
        if parent_index.isValid():
            if parent_index.column() != 0:
                return QModelIndex()
            folder = self._paths[parent_index.internalId()]
            names = self._children(folder)
            prefix = folder + "/"
        else:
            names = self._children("/")
            prefix = "/"
        if not (0 <= row < len(names) and 0 <= column < len(COLUMNS)):
            return QModelIndex()
        path = prefix + names[row]
        found = self._ids.get(path)
        return self.createIndex(row, column, found if found is not None else self._id(path))

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        return self.index_of(parent(self.path(index)))

    def rowCount(self, parent_index: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        if parent_index.isValid() and parent_index.column() != 0:
            return 0
        return len(self._children(self.path(parent_index)))

    def columnCount(self, parent_index: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return len(COLUMNS)

    def hasChildren(self, parent_index: QModelIndex = QModelIndex()) -> bool:  # noqa: N802
        if not parent_index.isValid():
            return True
        if parent_index.column() != 0:
            return False
        return bool(self._children(self._paths[parent_index.internalId()]))

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return _ROOT_FLAGS
        live = self.state.entries.get(self._paths[index.internalId()])
        return _FLAGS[live is not None, live is not None and live.kind == DIR, index.column() == NAME]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        path = self.path(index)
        entry = self.state.entry(path)
        ghost = entry is None
        if ghost:
            entry = self.state.ghost(path)
            if entry is None:
                return None
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._text(path, entry, column, role)
        if role == Qt.ItemDataRole.DecorationRole and column == NAME:
            return self._icons[entry.kind]
        if role == Qt.ItemDataRole.ForegroundRole:
            color = _STATUS_COLORS.get(self.status(path))
            if ghost or column == STATUS and color:
                return QBrush(QColor(color or "#9e9e9e"))
        if role == Qt.ItemDataRole.FontRole and (ghost or column == NAME and self._matches(entry)):
            font = QFont()
            font.setStrikeOut(ghost)
            font.setBold(not ghost)
            return font
        if role == Qt.ItemDataRole.BackgroundRole:
            if path == self.drop_target:
                return QBrush(QApplication.palette().highlight().color().lighter(160))
            if column == NAME and self._matches(entry):
                return QBrush(QColor("#fff3b0"))
        if role == Qt.ItemDataRole.ToolTipRole:
            target = f" → {entry.target}" if entry.kind == SYMLINK else ""
            return f"{path}{target}\n{self.status(path)}"
        if role == PATH_ROLE:
            return path
        if role == STATUS_ROLE:
            return self.status(path)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _matches(self, entry: Entry) -> bool:
        return bool(self.highlight) and self.highlight in entry.name.lower()

    def show_drop_target(self, path: str) -> None:
        """Mark the folder a drag would drop into (or none: "")."""
        if path == self.drop_target:
            return
        old, self.drop_target = self.drop_target, path
        for changed in (old, path):
            index = self.index_of(changed) if changed else QModelIndex()
            if index.isValid():
                self.dataChanged.emit(index, index.siblingAtColumn(len(COLUMNS) - 1))

    def _text(self, path: str, entry: Entry, column: int, role: int):
        if column == NAME:
            if entry.kind == SYMLINK and role == Qt.ItemDataRole.DisplayRole:
                return f"{entry.name} → {entry.target}"
            return entry.name
        if column == SIZE:
            return "" if entry.kind == DIR else humanize.naturalsize(entry.size, binary=True)
        if column == MODE:
            return mode_string(entry.kind, entry.mode)
        if column == OWNER:
            return self._lookup("/etc/passwd").get(entry.uid, str(entry.uid))
        if column == GROUP:
            return self._lookup("/etc/group").get(entry.gid, str(entry.gid))
        if column == PACKAGE:
            owned = self._packages().get(path)
            return owned.package if owned else ""
        if column == STATUS:
            return self.status(path)
        return None

    def status(self, path: str) -> str:
        """The state's status, except that a file a package owns (the base's or one the project
        installed) whose content is not what the package shipped, in the layers or through the
        user's overlay, is "modified vs package"."""
        status = self.state.status(path)
        if status not in (BASE, MODIFIED):
            return status
        owned = self._packages().get(path)
        entry = self.state.entry(path)
        if owned is None or owned.sha1 is None or entry is None or entry.kind != FILE:
            return status
        key = entry.sha256 or (entry.source, entry.stamp)
        sha1 = self._sha1.get(key)
        if sha1 is None:
            sha1 = self._sha1[key] = apkdb.apk_sha1(self.read(path))
        return MODIFIED_VS_PACKAGE if sha1 != owned.sha1 else status

    # Owner names and package owners come from files in the image; re-read when those change.
    def _file_cached(self, path: str, parse: Callable[[str], dict]) -> dict:
        entry = self.state.entry(path)
        cached = self._lookups.get(path)
        if cached is not None and cached[0] is entry:
            return cached[1]
        try:
            value = parse(self.read(path).decode(errors="replace")) if entry and entry.kind == FILE else {}
        except (OSError, KeyError):
            value = {}
        self._lookups[path] = (entry, value)
        return value

    def _lookup(self, path: str) -> dict[int, str]:
        return self._file_cached(path, accounts.parse_ids)

    def names(self, path: str) -> dict[str, int]:
        return {name: number for number, name in self._lookup(path).items()}

    def _packages(self) -> dict[str, apkdb.Owned]:
        return self._file_cached(apkdb.DB_PATH, apkdb.parse_installed)

    # -- editing through the model ------------------------------------------------------
    def setData(self, index: QModelIndex, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.EditRole or index.column() != NAME or not value:
            return False
        from studio.image import edits

        path = self.path(index)
        new_name = str(value).strip()
        if "/" in new_name or new_name in (".", ".."):
            return False
        if new_name == path.rsplit("/", 1)[1]:
            return False
        self.perform(edits.move(self.state, path, child(parent(path), new_name)))
        return True

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [MIME_PATHS, "text/uri-list"]

    def mimeData(self, indexes) -> QMimeData:  # noqa: N802
        paths = sorted({self.path(i) for i in indexes if i.isValid() and self.state.entry(self.path(i))})
        data = QMimeData()
        data.setData(MIME_PATHS, json.dumps(paths).encode())
        return data

    def canDropMimeData(self, data, action, row, column, parent_index) -> bool:  # noqa: N802
        folder = self.state.entry(self.path(parent_index))
        return folder is not None and folder.kind == DIR and (data.hasFormat(MIME_PATHS) or data.hasUrls())

    def dropMimeData(self, data, action, row, column, parent_index) -> bool:  # noqa: N802
        from studio.image import edits
        from studio.image.state import Change

        folder = self.path(parent_index)
        if not self.canDropMimeData(data, action, row, column, parent_index):
            return False
        if data.hasFormat(MIME_PATHS):
            paths = json.loads(bytes(data.data(MIME_PATHS).data()).decode())
            paths = [p for p in paths if not any(p.startswith(q + "/") for q in paths)]
            moves = [p for p in paths if parent(p) != folder]
            if not moves:
                return False
            # One undo step for the whole drag: chain the moves, each built on the state as the
            # previous one leaves it, then fold them into one change.
            before: dict = {}
            after: dict = {}
            applied = []
            observers, self.state.observers = self.state.observers, []  # a dry run: no signals
            try:
                for p in moves:
                    change = edits.move(self.state, p, child(folder, p.rsplit("/", 1)[1]))
                    self.state.apply(change)
                    applied.append(change)
                    for key, value in change.before.items():
                        before.setdefault(key, value)
                    after.update(change.after)
            finally:
                for change in reversed(applied):
                    self.state.apply(change.inverse())
                self.state.observers = observers
            if applied:
                self.perform(Change(f"Move {len(applied)} item(s) to {folder}", before, after))
            return False  # the view must not remove the source rows: the change did the move
        urls = [Path(u.toLocalFile()) for u in data.urls() if u.isLocalFile()]
        if urls:
            self.host_drop(urls, folder)
            return True
        return False

    # -- filtering --------------------------------------------------------------------------
    def set_filter(self, predicate: Callable[[str], bool] | None) -> None:
        self.beginResetModel()
        self._filter = predicate
        self._compute_visible()
        self.endResetModel()

    def filtering(self) -> bool:
        return self._filter is not None

    def _compute_visible(self) -> None:
        self._visible = {}
        if self._filter is None:
            return
        keep: set[str] = set()
        stack = ["/"]
        while stack:
            folder = stack.pop()
            for name in self.state.children(folder):
                path = child(folder, name)
                if self._filter(path):
                    keep.add(path)
                    p = parent(path)
                    while p != "/" and p not in keep:
                        keep.add(p)
                        p = parent(p)
                if path in self.state.rows:
                    stack.append(path)
        for path in keep:
            self._visible.setdefault(parent(path), []).append(path.rsplit("/", 1)[1])
        for names in self._visible.values():
            names.sort()

    # -- the state's notifications (Observer) ---------------------------------------------
    def change_started(self) -> None:
        if self._filter is not None:
            self.beginResetModel()

    def change_finished(self) -> None:
        if self._filter is not None:
            self._compute_visible()
            self.endResetModel()

    def rows_about_to_be_inserted(self, folder: str, first: int, last: int) -> None:
        if self._filter is None:
            self.beginInsertRows(self.index_of(folder), first, last)

    def rows_inserted(self) -> None:
        if self._filter is None:
            self.endInsertRows()

    def rows_about_to_be_removed(self, folder: str, first: int, last: int) -> None:
        if self._filter is None:
            self.beginRemoveRows(self.index_of(folder), first, last)

    def rows_removed(self) -> None:
        if self._filter is None:
            self.endRemoveRows()

    def row_changed(self, path: str) -> None:
        if self._filter is None:
            left = self.index_of(path)
            if left.isValid():
                self.dataChanged.emit(left, left.siblingAtColumn(len(COLUMNS) - 1))

    def about_to_reset(self) -> None:
        if self._filter is None:
            self.beginResetModel()

    def reset(self) -> None:
        if self._filter is None:
            self.endResetModel()
