"""The live machine: the boot page (v86 + xterm.js) in a web view, with a terminal context menu."""

from __future__ import annotations

import shiboken6
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QMenu, QVBoxLayout, QWidget

from studio.boot.session import REFRESH_COMMAND, BootSession


class _MachineView(QWebEngineView):
    """The web view, except that files dropped from the desktop go to the running machine, and
    nothing else dropped on it does anything: the page never sees a drop (a dropped link would
    navigate it away, dropped text would be typed into the guest)."""

    filesDropped = Signal(list)

    @staticmethod
    def _local_files(event) -> list[Path]:
        mime = event.mimeData()
        urls = mime.urls() if mime.hasUrls() else []
        return [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]

    def dragEnterEvent(self, event):  # noqa: N802 (Qt override)
        self._accept_files(event)

    def dragMoveEvent(self, event):  # noqa: N802
        self._accept_files(event)

    def dragLeaveEvent(self, event):  # noqa: N802
        event.accept()

    def dropEvent(self, event):  # noqa: N802
        paths = self._local_files(event) if self._accept_files(event) else []
        if paths:
            self.filesDropped.emit(paths)

    def _accept_files(self, event) -> bool:
        if self._local_files(event):
            event.acceptProposedAction()
            return True
        event.ignore()
        return False


class BootPane(QWidget):
    filesDropped = Signal(list, str)  # host paths, guest folder

    def __init__(self, session: BootSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.view = _MachineView(self)
        self.view.filesDropped.connect(lambda paths: self.filesDropped.emit(paths, self.drop_folder()))
        self.drop_target = QLineEdit(self)
        self.drop_target.setPlaceholderText("the shell's current folder")
        self.drop_target.setToolTip(
            "Files dropped on the machine go into this folder of the running guest; "
            "empty: the folder the shell is in (from its prompt), else /root.\n"
            f"When they replace files the guest has read, the studio types `{REFRESH_COMMAND}` at its shell "
            "(only when it is at its prompt) so the guest reads them anew.")
        self.view.setPage(session.page)
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        # Copy and paste are the studio's (QClipboard), not the page's: the shortcuts act on the
        # view before the page sees the keys, and the page has no clipboard access.
        self.copy_action = self._view_action("Copy", "Ctrl+Shift+C", session.copy)
        self.paste_action = self._view_action("Paste", "Ctrl+Shift+V", session.paste)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(QLabel("Files dropped here go to the running machine, into:"))
        bar.addWidget(self.drop_target, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view)

    def _view_action(self, text: str, shortcut: str, slot) -> QAction:
        action = QAction(text, self.view)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.view.addAction(action)
        return action

    def drop_folder(self) -> str:
        folder = self.drop_target.text().strip() or self.session.console.cwd() or "/root"
        return folder if folder.startswith("/") else "/" + folder

    def _context_menu(self, position) -> None:
        menu = QMenu(self)
        menu.addAction(self.copy_action)
        menu.addAction(self.paste_action)
        menu.addSeparator()
        menu.addAction("Select All", lambda: self.session.page.runJavaScript("studio.selectAll()"))
        # A serial line carries no window size: BusyBox's `resize` asks the terminal (xterm.js
        # answers) and tells the guest's tty, so full-screen programs use the whole pane.
        menu.addAction("Fit the Guest to the Pane (types `resize`)", lambda: self.session.type("resize\n"))
        menu.exec(self.view.mapToGlobal(position))

    def release(self) -> None:
        """Delete the view before the session's page and profile (see MainWindow.closeEvent)."""
        if self.view is not None:
            shiboken6.delete(self.view)
            self.view = None
