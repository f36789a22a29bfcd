"""The rootfs tree panel: search box, changes-only filter, the tree, and its context menu.

Every operation builds a Change (studio.image.edits) and pushes it on the undo stack through
`ImageEditor.perform`; dialogs only gather what the edit needs.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QApplication, QCheckBox, QFileDialog, QHBoxLayout, QHeaderView, QInputDialog,
    QLineEdit, QMenu, QMessageBox, QTreeView, QVBoxLayout, QWidget,
)

from studio.image import edits
from studio.image.entry import DIR, FILE, SYMLINK, ancestors, parent
from studio.image.state import BASE
from studio.ui.image_editor import ImageEditor
from studio.ui.tree_model import MIME_PATHS, NAME


class ImageTree(QTreeView):
    """The tree view, marking the folder a drag is over, and taking files dragged in from the
    desktop as copies (a "move" would have the file manager delete the originals)."""

    def _folder_at(self, event) -> str:
        model = self.model()
        index = self.indexAt(event.position().toPoint())
        path = model.path(index) if index.isValid() else "/"
        entry = model.state.entry(path)
        return path if entry is not None and entry.kind == DIR else parent(path)

    def _external(self, event) -> bool:
        return event.mimeData().hasUrls() and not event.mimeData().hasFormat(MIME_PATHS)

    def dragMoveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().dragMoveEvent(event)
        if self._external(event) and event.isAccepted():
            event.setDropAction(Qt.DropAction.CopyAction)
        self.model().show_drop_target(self._folder_at(event) if event.isAccepted() else "")

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        self.model().show_drop_target("")
        super().dragLeaveEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        self.model().show_drop_target("")
        if self._external(event):
            event.setDropAction(Qt.DropAction.CopyAction)
        super().dropEvent(event)


class TreePanel(QWidget):
    def __init__(self, editor: ImageEditor, parent: QWidget | None = None):
        super().__init__(parent)
        self.editor = editor
        editor.widget = self
        self.model = editor.model
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Find by name…")
        self.search.setClearButtonEnabled(True)
        self.changes_only = QCheckBox("Changes only", self)
        self.tree = ImageTree(self)
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)  # keeps 20,000-row folders smooth
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.tree.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.tree.setDropIndicatorShown(True)
        self.tree.setAcceptDrops(True)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.doubleClicked.connect(self._activated)
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # Narrow enough that Package and Status show in the default dock width.
        header.resizeSection(NAME, 200)
        for column, width in ((1, 78), (2, 80), (3, 46), (4, 46), (5, 100), (6, 110)):
            header.resizeSection(column, width)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.changes_only)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.tree)
        self._expanded: list[str] = []
        self.model.modelAboutToBeReset.connect(self._remember_expanded)
        self.model.modelReset.connect(self._restore_expanded)
        self._filter_timer = QTimer(self, singleShot=True, interval=200)
        self._filter_timer.timeout.connect(self._apply_filter)
        self.search.textChanged.connect(lambda: self._filter_timer.start())
        self.changes_only.toggled.connect(lambda: self._apply_filter())
        self._make_actions()

    # -- selection ------------------------------------------------------------------
    def selected_paths(self) -> list[str]:
        rows = self.tree.selectionModel().selectedRows(NAME)
        return [self.model.path(i) for i in rows]

    def current_path(self) -> str:
        index = self.tree.currentIndex()
        return self.model.path(index) if index.isValid() else "/"

    def _target_folder(self) -> str:
        path = self.current_path()
        entry = self.editor.state.entry(path)
        return path if entry is not None and entry.kind == DIR else parent(path)

    def select(self, path: str) -> None:
        index = self.model.index_of(path)
        if index.isValid():
            self.tree.scrollTo(index)
            self.tree.setCurrentIndex(index)

    # -- filtering ------------------------------------------------------------------
    def _apply_filter(self) -> None:
        """Show the matches (names containing the search, or changes only), highlighted, and keep
        what was selected selected and in view, through the filter and after it."""
        if self.tree.selectionModel() is None:
            return  # the panel is being taken down
        text = self.search.text().strip().lower()
        state = self.editor.state
        changes = self.changes_only.isChecked()
        selected, current = self.selected_paths(), self.current_path()
        self.model.highlight = text
        if not text and not changes:
            self.model.set_filter(None)
        else:
            def predicate(path: str) -> bool:
                if text and text not in path.rsplit("/", 1)[1].lower():
                    return False
                return not changes or state.status(path) != BASE

            self.model.set_filter(predicate)
            self.tree.expandAll()
        self._reselect(selected, current)

    def _reselect(self, paths: list[str], current: str) -> None:
        selection = self.tree.selectionModel()
        for path in paths:
            index = self.model.index_of(path)
            if index.isValid():
                selection.select(index, selection.SelectionFlag.Select | selection.SelectionFlag.Rows)
        index = self.model.index_of(current) if current != "/" else QModelIndex()
        if index.isValid():
            for folder in ancestors(current)[1:]:
                self.tree.setExpanded(self.model.index_of(folder), True)
            selection.setCurrentIndex(index, selection.SelectionFlag.NoUpdate)
            self.tree.scrollTo(index)

    def _remember_expanded(self) -> None:
        if self.model.filtering():
            return
        self._expanded = [p for p in self._expanded_paths()]

    def _expanded_paths(self) -> list[str]:
        found = []
        stack = [QModelIndex()]
        while stack:
            folder = stack.pop()
            for row in range(self.model.rowCount(folder)):
                child = self.model.index(row, 0, folder)
                if self.tree.isExpanded(child):
                    found.append(self.model.path(child))
                    stack.append(child)
        return found

    def _restore_expanded(self) -> None:
        if self.model.filtering():
            self.tree.expandAll()
            return
        for path in self._expanded:
            index = self.model.index_of(path)
            if index.isValid():
                self.tree.setExpanded(index, True)

    # -- actions ---------------------------------------------------------------------
    def _make_actions(self) -> None:
        def action(text, slot, shortcut=None):
            a = QAction(text, self)
            if shortcut:
                # Only while the tree itself has focus: not while a name is being edited in it.
                a.setShortcut(QKeySequence(shortcut))
                a.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
                self.tree.addAction(a)
            a.triggered.connect(slot)
            return a

        self.new_file_action = action("New File…", self.new_file, "Ctrl+N")
        self.new_folder_action = action("New Folder…", self.new_folder, "Ctrl+Shift+N")
        self.new_symlink_action = action("New Symlink…", self.new_symlink)
        self.rename_action = action("Rename", self.rename, "F2")
        self.delete_action = action("Delete", self.delete, QKeySequence.StandardKey.Delete)
        self.restore_action = action("Restore", self.restore)
        self.compare_action = action("Compare with Base…", self.compare_with_base)
        self.revert_action = action("Revert to Base", self.revert_to_base)
        self.properties_action = action("Properties…", self.properties, "Alt+Return")
        self.open_action = action("Open in Editor", self.open_selected)
        self.export_action = action("Export…", self.export)
        self.copy_path_action = action("Copy Path", lambda: QApplication.clipboard().setText(self.current_path()))
        self.push_action = action("Push to Running Machine", lambda: self.push_handler(
            [p for p in self.selected_paths() if self.editor.state.entry(p) is not None]))
        self.push_handler = lambda paths: None  # the window connects it to the machine

    def _context_menu(self, position) -> None:
        index = self.tree.indexAt(position)
        path = self.model.path(index) if index.isValid() else "/"
        live = self.editor.state.entry(path)
        menu = QMenu(self)
        if live is None and index.isValid():
            menu.addAction(self.restore_action)
        else:
            for a in (self.new_file_action, self.new_folder_action, self.new_symlink_action):
                menu.addAction(a)
            if index.isValid():
                menu.addSeparator()
                if live.kind == FILE:
                    menu.addAction(self.open_action)
                    menu.addAction(self.push_action)
                if self.model.status(path) != BASE:
                    if live.kind == FILE and path in self.editor.state.base:
                        menu.addAction(self.compare_action)
                    menu.addAction(self.revert_action)
                for a in (self.rename_action, self.delete_action, self.properties_action, self.export_action):
                    menu.addAction(a)
        menu.addSeparator()
        menu.addAction(self.copy_path_action)
        menu.exec(self.tree.viewport().mapToGlobal(position))

    def _activated(self, index: QModelIndex) -> None:
        entry = self.editor.state.entry(self.model.path(index))
        if entry is not None and entry.kind == FILE:
            self.editor.openFileRequested.emit(entry.path)

    def open_selected(self) -> None:
        self._activated(self.tree.currentIndex())

    def _ask_name(self, title: str, label: str, text: str = "") -> str | None:
        name, ok = QInputDialog.getText(self, title, label, text=text)
        name = name.strip()
        if not ok or not name:
            return None
        if "/" in name:
            QMessageBox.warning(self, title, "A name cannot contain '/'.")
            return None
        return name

    def new_file(self) -> None:
        folder = self._target_folder()
        name = self._ask_name("New File", f"Name of the new file in {folder}:")
        if name:
            path = posixpath.join(folder, name)
            source, size, sha = self.editor.doc.store_bytes(b"")
            if self.editor.try_perform(lambda: edits.new_file(self.editor.state, path, source, size, sha)):
                self.select(path)

    def new_folder(self) -> None:
        folder = self._target_folder()
        name = self._ask_name("New Folder", f"Name of the new folder in {folder}:")
        if name:
            path = posixpath.join(folder, name)
            if self.editor.try_perform(lambda: edits.new_folder(self.editor.state, path)):
                self.select(path)

    def new_symlink(self) -> None:
        folder = self._target_folder()
        name = self._ask_name("New Symlink", f"Name of the new symlink in {folder}:")
        if not name:
            return
        target, ok = QInputDialog.getText(self, "New Symlink", f"{name} points to:")
        if ok and target.strip():
            path = posixpath.join(folder, name)
            if self.editor.try_perform(lambda: edits.new_symlink(self.editor.state, path, target.strip())):
                self.select(path)

    def rename(self) -> None:
        index = self.tree.currentIndex()
        if index.isValid() and self.editor.state.entry(self.model.path(index)):
            self.tree.edit(index.siblingAtColumn(NAME))

    def delete(self) -> None:
        paths = [p for p in self.selected_paths() if self.editor.state.entry(p) is not None]
        if paths:
            self.editor.try_perform(lambda: edits.remove(self.editor.state, paths))

    def restore(self) -> None:
        for path in self.selected_paths() or [self.current_path()]:
            if self.editor.state.ghost(path) is not None:
                self.editor.try_perform(lambda p=path: edits.restore(self.editor.state, p))

    def compare_with_base(self) -> None:
        from studio.image.compare import unified_diff
        from studio.ui.diff_dialog import DiffDialog

        path = self.current_path()
        try:
            diff = unified_diff(self.editor.doc, path)
        except (ValueError, KeyError, OSError) as err:
            QMessageBox.information(self, "Compare with Base", str(err))
            return
        dialog = DiffDialog(path, diff, self)
        if dialog.exec() and dialog.reverted:
            self.editor.try_perform(lambda: edits.revert_to_base(self.editor.state, [path]))

    def revert_to_base(self) -> None:
        paths = [p for p in self.selected_paths() or [self.current_path()] if p != "/"]
        if paths:
            self.editor.try_perform(lambda: edits.revert_to_base(self.editor.state, paths))

    def properties(self) -> None:
        from studio.ui.properties_dialog import PropertiesDialog

        path = self.current_path()
        entry = self.editor.state.entry(path)
        if entry is None or path == "/":
            return
        dialog = PropertiesDialog(entry, self.model.names("/etc/passwd"), self.model.names("/etc/group"), self)
        if dialog.exec():
            mode, uid, gid, target = dialog.values()
            self.editor.try_perform(lambda: edits.set_properties(
                self.editor.state, path, mode=mode, uid=uid, gid=gid,
                target=target if entry.kind == SYMLINK else None))

    def export(self) -> None:
        path = self.current_path()
        if self.editor.state.entry(path) is None:
            return
        destination = QFileDialog.getExistingDirectory(self, f"Export {path} into folder")
        if destination:
            try:
                count = self.editor.doc.export(path, Path(destination))
            except OSError as err:
                QMessageBox.warning(self, "Export failed", str(err))
                return
            self.editor.message.emit(f"Exported {path} ({count} files) to {destination}")
