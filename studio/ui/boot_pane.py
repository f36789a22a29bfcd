"""The live machine: the boot page (v86 + xterm.js) in a web view, with a terminal context menu."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QMenu, QVBoxLayout, QWidget

from studio.boot.session import BootSession


class BootPane(QWidget):
    def __init__(self, session: BootSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.view = QWebEngineView(self)
        self.view.setPage(session.page)
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

    def _context_menu(self, position) -> None:
        menu = QMenu(self)
        menu.addAction("Copy\tCtrl+Shift+C", self.session.copy)
        menu.addAction("Paste\tCtrl+Shift+V", self.session.paste)
        menu.addSeparator()
        menu.addAction("Select All", lambda: self.session.page.runJavaScript("studio.selectAll()"))
        menu.exec(self.view.mapToGlobal(position))

    def release(self) -> None:
        """Delete the view before the session's page and profile (see MainWindow.closeEvent)."""
        if self.view is not None:
            shiboken6.delete(self.view)
            self.view = None
