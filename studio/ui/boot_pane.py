"""The live machine: the boot page (v86 + xterm.js) in a web view, with a terminal context menu."""

from __future__ import annotations

import shiboken6
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QMenu, QVBoxLayout, QWidget

from studio.boot.session import BootSession


class _MachineView(QWebEngineView):
    """The web view, except that files dropped from the desktop go to the running machine
    (the page itself never sees them)."""

    filesDropped = Signal(list)

    def dragEnterEvent(self, event):  # noqa: N802 (Qt override)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event):  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event):  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.filesDropped.emit(paths)
        else:
            super().dropEvent(event)


class BootPane(QWidget):
    filesDropped = Signal(list, str)  # host paths, guest folder

    def __init__(self, session: BootSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.view = _MachineView(self)
        self.view.filesDropped.connect(lambda paths: self.filesDropped.emit(paths, self.drop_folder()))
        self.drop_target = QLineEdit(self)
        self.drop_target.setPlaceholderText("the shell's current folder")
        self.drop_target.setToolTip("Files dropped on the machine go into this folder of the running guest; "
                                    "empty: the folder the shell is in (from its prompt), else /root")
        self.view.setPage(session.page)
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(QLabel("Files dropped here go to the running machine, into:"))
        bar.addWidget(self.drop_target, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view)

    def drop_folder(self) -> str:
        folder = self.drop_target.text().strip() or self.session.console.cwd() or "/root"
        return folder if folder.startswith("/") else "/" + folder

    def _context_menu(self, position) -> None:
        menu = QMenu(self)
        menu.addAction("Copy\tCtrl+Shift+C", self.session.copy)
        menu.addAction("Paste\tCtrl+Shift+V", self.session.paste)
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
