"""The live machine: the boot page (v86 + xterm.js) in a web view, with a terminal context menu
(copy, paste, find in the scrollback, clear, font zoom, copy on select)."""

from __future__ import annotations

import json
import shiboken6
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import (
    QCheckBox, QHBoxLayout, QLabel, QLineEdit, QMenu, QToolButton, QVBoxLayout, QWidget,
)

from studio.boot.session import REFRESH_COMMAND, RUNNING, BootSession

DEFAULT_FONT_SIZE, MIN_FONT_SIZE, MAX_FONT_SIZE = 13, 6, 40  # the page's terminal starts at 13 px
COPY_ON_SELECT_KEY = "terminal/copy_on_select"
DROP_HINT_STYLE = ("QLabel { border: 3px solid #3d8ee6; background: rgba(61, 142, 230, 90); color: white;"
                   " font-size: 16px; font-weight: bold; }")


class _MachineView(QWebEngineView):
    """The web view, except that files dropped from the desktop go to the running machine, and
    nothing else dropped on it does anything: the page never sees a drop (a dropped link would
    navigate it away, dropped text would be typed into the guest). While files are dragged over
    it, a frame over the terminal says where they will go."""

    filesDropped = Signal(list)
    mouseReleased = Signal()  # the user let go of the left button over the page (a selection may be made)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.describe_drop = lambda: ""  # what the frame says during a drag
        self.drop_hint = QLabel(self)
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.setWordWrap(True)
        self.drop_hint.setStyleSheet(DROP_HINT_STYLE)
        self.drop_hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # drags go to the view
        self.drop_hint.hide()

    @staticmethod
    def _local_files(event) -> list[Path]:
        mime = event.mimeData()
        urls = mime.urls() if mime.hasUrls() else []
        return [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]

    def dragEnterEvent(self, event):  # noqa: N802 (Qt override)
        if self._accept_files(event):
            self.drop_hint.setText(self.describe_drop())
            self.drop_hint.setGeometry(self.rect())
            self.drop_hint.show()
            self.drop_hint.raise_()  # above the page's own widget

    def dragMoveEvent(self, event):  # noqa: N802
        self._accept_files(event)

    def dragLeaveEvent(self, event):  # noqa: N802
        self.drop_hint.hide()
        event.accept()

    def dropEvent(self, event):  # noqa: N802
        self.drop_hint.hide()
        paths = self._local_files(event) if self._accept_files(event) else []
        if paths:
            self.filesDropped.emit(paths)

    def _accept_files(self, event) -> bool:
        if self._local_files(event):
            event.acceptProposedAction()
            return True
        event.ignore()
        return False

    def event(self, event):
        # QtWebEngine shows the page in a child widget it makes, which gets the mouse: watch it.
        if event.type() == QEvent.Type.ChildPolished and event.child().isWidgetType():
            event.child().installEventFilter(self)
        return super().event(event)

    def eventFilter(self, watched, event):  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            self.mouseReleased.emit()
        return False


class BootPane(QWidget):
    filesDropped = Signal(list, str)  # host paths, guest folder

    def __init__(self, session: BootSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.font_size = DEFAULT_FONT_SIZE
        self.view = _MachineView(self)
        self.view.filesDropped.connect(lambda paths: self.filesDropped.emit(paths, self.drop_folder()))
        self.view.describe_drop = self._describe_drop
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
        # view before the page sees the keys, and the page has no clipboard access. So do the
        # terminal's other shortcuts (Ctrl+Shift+F, not Ctrl+F: plain Ctrl keys go to the guest).
        self.copy_action = self._view_action("Copy", "Ctrl+Shift+C", session.copy)
        self.paste_action = self._view_action("Paste", "Ctrl+Shift+V", session.paste)
        self.find_action = self._view_action("Find…", "Ctrl+Shift+F", self.show_find)
        self.clear_action = self._view_action("Clear", "Ctrl+Shift+K", self.clear_terminal)
        self.clear_action.setToolTip("Clear the terminal's screen and scrollback (the guest is not told)")
        self.zoom_in_action = self._view_action("Zoom In", "Ctrl+=", lambda: self.zoom(+1))
        self.zoom_in_action.setShortcuts([QKeySequence("Ctrl+="), QKeySequence("Ctrl++")])
        self.zoom_out_action = self._view_action("Zoom Out", "Ctrl+-", lambda: self.zoom(-1))
        self.zoom_reset_action = self._view_action("Normal Size", "Ctrl+0", lambda: self.zoom(0))
        # Copy on select: the studio asks the page for its selection after the user's own mouse
        # gesture, as Copy does; the page never puts anything on the clipboard by itself.
        self.copy_on_select_action = QAction("Copy on Select", self)
        self.copy_on_select_action.setCheckable(True)
        self.copy_on_select_action.setChecked(QSettings().value(COPY_ON_SELECT_KEY, False, type=bool))
        self.copy_on_select_action.toggled.connect(lambda on: QSettings().setValue(COPY_ON_SELECT_KEY, on))
        self._copy_timer = QTimer(self, singleShot=True, interval=50)  # the page takes in the release first
        self._copy_timer.timeout.connect(session.copy)
        self.view.mouseReleased.connect(
            lambda: self.copy_on_select_action.isChecked() and self._copy_timer.start())
        # What a main window may put in its menus.
        self.terminal_actions = [self.copy_action, self.paste_action, self.find_action, self.clear_action,
                                 self.zoom_in_action, self.zoom_out_action, self.zoom_reset_action,
                                 self.copy_on_select_action]
        session.pageReady.connect(lambda: self.font_size != DEFAULT_FONT_SIZE and self._set_font_size())

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(QLabel("Files dropped here go to the running machine, into:"))
        bar.addWidget(self.drop_target, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self._make_find_bar())
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

    def _describe_drop(self) -> str:
        if self.session.state != RUNNING:
            return "Boot the machine to drop files into it"
        return f"Drop to copy into the running machine:\n{self.drop_folder()}"

    def _context_menu(self, position) -> None:
        menu = QMenu(self)
        menu.addAction(self.copy_action)
        menu.addAction(self.paste_action)
        menu.addAction("Select All", lambda: self.session.page.runJavaScript("studio.selectAll()"))
        menu.addSeparator()
        menu.addAction(self.find_action)
        menu.addAction(self.clear_action)
        menu.addSeparator()
        for action in (self.zoom_in_action, self.zoom_out_action, self.zoom_reset_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.copy_on_select_action)
        menu.addSeparator()
        # A serial line carries no window size: BusyBox's `resize` asks the terminal (xterm.js
        # answers) and tells the guest's tty, so full-screen programs use the whole pane.
        menu.addAction("Fit the Guest to the Pane (types `resize`)", lambda: self.session.type("resize\n"))
        menu.exec(self.view.mapToGlobal(position))

    # -- the terminal ----------------------------------------------------------------------------
    def clear_terminal(self) -> None:
        """Clear the terminal's screen and scrollback (the guest keeps running; its prompt line stays)."""
        self.session.page.runJavaScript("studio.clear()")

    def zoom(self, step: int) -> None:
        """The terminal's font a pixel bigger (+1), smaller (-1) or back to normal (0); the terminal
        refits to the pane (more or fewer columns and rows; `resize` tells the guest)."""
        size = DEFAULT_FONT_SIZE if step == 0 else self.font_size + step
        self.font_size = max(MIN_FONT_SIZE, min(MAX_FONT_SIZE, size))
        self._set_font_size()

    def _set_font_size(self) -> None:
        self.session.page.runJavaScript(f"studio.setFontSize({self.font_size})")

    # -- find in the scrollback ------------------------------------------------------------------
    def _make_find_bar(self) -> QWidget:
        self.find_bar = QWidget(self)
        self.find_field = QLineEdit(self.find_bar)
        self.find_field.setPlaceholderText("Find in the terminal (Enter: next, Shift+Enter: previous)")
        self.find_field.installEventFilter(self)
        self.find_case = QCheckBox("Match case", self.find_bar)
        self.find_result = QLabel(self.find_bar)
        row = QHBoxLayout(self.find_bar)
        row.setContentsMargins(4, 2, 4, 2)
        row.addWidget(self.find_field, 1)
        row.addWidget(self.find_case)
        row.addWidget(self.find_result)
        for text, tip, slot in (("↑", "Previous (Shift+Enter)", lambda: self.find_in_terminal(backwards=True)),
                                ("↓", "Next (Enter)", self.find_in_terminal),
                                ("✕", "Close (Escape)", self.close_find)):
            button = QToolButton(self.find_bar)
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            row.addWidget(button)
        self.find_bar.hide()
        return self.find_bar

    def show_find(self) -> None:
        self.find_bar.show()
        self.find_field.setFocus()
        self.find_field.selectAll()

    def close_find(self) -> None:
        self.find_bar.hide()
        self.find_result.clear()  # the match stays selected, to copy
        self.view.setFocus()
        self.session.focus_terminal()

    def find_in_terminal(self, backwards: bool = False) -> None:
        """Select the next (or previous) match of the find field's text in the terminal's scrollback."""
        text = self.find_field.text()
        if not text:
            return
        script = f"studio.find({json.dumps(text)}, {json.dumps(backwards)}, {json.dumps(self.find_case.isChecked())})"
        self.session.page.runJavaScript(script, 0, lambda found: self.find_result.setText("" if found else "Not found"))

    def eventFilter(self, watched, event):  # noqa: N802 (Qt override): the find field's keys
        if watched is self.find_field and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.find_in_terminal(backwards=bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.close_find()
                return True
        return super().eventFilter(watched, event)

    def release(self) -> None:
        """Delete the view before the session's page and profile (see MainWindow.closeEvent)."""
        if self.view is not None:
            shiboken6.delete(self.view)
            self.view = None
