"""The editor tabs beside the machine: image files, the inittab editor, program sources.

A tab with unsaved text shows a dot before its name. What the studio does with the image or the
sources (boot, export, compile, save) uses what the user sees: before it, tabs with unsaved text
are applied, or the user chooses to go on without them, or cancels. A tab whose file leaves the
image (deleted, or the edit that made it undone) closes, or, holding unsaved text, says so.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QTabWidget, QWidget

from studio.ui.image_editor import ImageEditor
from studio.ui.inittab_editor import InittabEditor
from studio.ui.text_editor import FileEditor, SourceEditor, is_text

MODIFIED_MARK = "● "
IMAGE, SOURCES = "image", "sources"  # what a tab edits: the image, or program sources in the project

# The user's answer about unsaved tabs before an action.
APPLY, WITHOUT, CANCEL = "apply", "without", "cancel"


def kind_of(widget: QWidget) -> str | None:
    if isinstance(widget, SourceEditor):
        return SOURCES
    if isinstance(widget, (FileEditor, InittabEditor)):
        return IMAGE
    return None


class EditorTabs(QObject):
    modifiedChanged = Signal()
    message = Signal(str)

    def __init__(self, tabs: QTabWidget, window: QWidget):
        super().__init__(window)
        self.tabs = tabs
        self.window = window
        self.editor: ImageEditor | None = None
        self.inittab_editor: InittabEditor | None = None
        self.ask_unsaved = self._ask_unsaved  # a hook tests answer
        tabs.tabCloseRequested.connect(self.close_tab)

    def editors(self) -> list[QWidget]:
        return [self.tabs.widget(i) for i in range(self.tabs.count()) if kind_of(self.tabs.widget(i))]

    def modified(self, kinds: tuple[str, ...] = (IMAGE, SOURCES)) -> list[QWidget]:
        return [w for w in self.editors() if kind_of(w) in kinds and w.is_modified()]

    # -- opening ------------------------------------------------------------------------
    def set_editor(self, editor: ImageEditor | None) -> None:
        """A project opened (or none): close the old project's tabs."""
        for widget in self.editors():
            self._remove(widget)
        self.editor = editor
        if editor is not None:
            editor.undo_stack.indexChanged.connect(self._image_changed)

    def open_file(self, path: str) -> None:
        for widget in self.editors():
            if isinstance(widget, FileEditor) and widget.path == path:
                self.tabs.setCurrentWidget(widget)
                return
        if path == "/etc/inittab":
            self.show_inittab()
            return
        try:
            data = self.editor.doc.read_bytes(path)
        except (KeyError, OSError) as err:
            QMessageBox.warning(self.window, "Cannot open", f"{path}: {err}")
            return
        if not is_text(data):
            QMessageBox.information(self.window, "Binary file",
                                    f"{path} is not a text file; export it to edit it elsewhere.")
            return
        self._add(FileEditor(self.editor, path, self.window), path.rsplit("/", 1)[1], path)

    def open_source(self, path: Path, line: int = 1) -> None:
        """A program's source file (in the project folder), at `line`."""
        for widget in self.editors():
            if isinstance(widget, SourceEditor) and widget.path == path:
                self.tabs.setCurrentWidget(widget)
                widget.mark_line(line)
                return
        editor = SourceEditor(path, self.window)
        self._add(editor, path.name, str(path))
        editor.mark_line(line)

    def show_inittab(self) -> None:
        if self.editor is None:
            return
        if self.inittab_editor is None:
            self.inittab_editor = InittabEditor(self.editor, self.window)
            self._add(self.inittab_editor, "inittab", "/etc/inittab")
        self.tabs.setCurrentWidget(self.inittab_editor)

    def _add(self, widget: QWidget, title: str, tip: str) -> None:
        widget.setProperty("title", title)
        widget.modificationChanged.connect(lambda _=None, w=widget: self._retitle(w))
        index = self.tabs.addTab(widget, title)
        self.tabs.setTabToolTip(index, tip)
        self.tabs.setCurrentIndex(index)

    def _retitle(self, widget: QWidget) -> None:
        index = self.tabs.indexOf(widget)
        if index < 0:
            return
        title = widget.property("title")
        gone = isinstance(widget, FileEditor) and self.editor is not None and self.editor.state.entry(widget.path) is None
        self.tabs.setTabText(index, (MODIFIED_MARK if widget.is_modified() else "") + title
                             + (" (deleted)" if gone else ""))
        self.modifiedChanged.emit()

    # -- kept between runs ------------------------------------------------------------------
    def open_tabs(self) -> list[str]:
        """The open tabs, as "image:/etc/motd", "source:/abs/path.c", "inittab:", in order."""
        found = []
        for widget in self.editors():
            if widget is self.inittab_editor:
                found.append("inittab:")
            elif isinstance(widget, SourceEditor):
                found.append(f"source:{widget.path}")
            elif isinstance(widget, FileEditor):
                found.append(f"image:{widget.path}")
        return found

    def reopen(self, tabs: list[str]) -> None:
        """Open the tabs `open_tabs` listed; what is gone since is skipped."""
        for tab in tabs:
            kind, _, where = str(tab).partition(":")
            if kind == "inittab":
                self.show_inittab()
            elif kind == "image" and self.editor is not None and self.editor.state.entry(where) is not None:
                self.open_file(where)
            elif kind == "source" and Path(where).is_file():
                self.open_source(Path(where))
        if tabs:
            self.tabs.setCurrentIndex(0)

    # -- closing ------------------------------------------------------------------------
    def close_tab(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if not kind_of(widget):
            return  # the machine stays
        if widget.is_modified():
            answer = QMessageBox.question(
                self.window, "Unsaved edits", "Apply the edits in this tab before closing it?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)
            if answer == QMessageBox.StandardButton.Cancel:
                return
            if answer == QMessageBox.StandardButton.Save and not widget.save():
                return
        self._remove(widget)

    def _remove(self, widget: QWidget) -> None:
        self.tabs.removeTab(self.tabs.indexOf(widget))
        if widget is self.inittab_editor:
            self.inittab_editor = None
        widget.deleteLater()
        self.modifiedChanged.emit()

    # -- following the image --------------------------------------------------------------
    def _image_changed(self, *_) -> None:
        """After any edit, undo or redo: editors show what the image holds now, unless they have
        edits of their own; a tab whose file is gone closes, or says so when it has edits."""
        for widget in self.editors():
            if kind_of(widget) != IMAGE:
                continue
            gone = isinstance(widget, FileEditor) and self.editor.state.entry(widget.path) is None
            if gone and not widget.is_modified():
                self.message.emit(f"Closed {widget.path}: it is no longer in the image")
                self._remove(widget)
                continue
            if gone:
                widget.status.setText(f"{widget.path} is no longer in the image: "
                                      "Save to Image puts it back with this text")
            elif not widget.is_modified():
                widget.reload()
            self._retitle(widget)

    # -- before the studio uses the image or the sources ------------------------------------------
    def apply_all(self) -> bool:
        """Save asks for everything: apply every tab with unsaved text. False when one cannot be
        applied (a script that does not parse says why, and is shown)."""
        for widget in self.modified():
            if not widget.save():
                self.tabs.setCurrentWidget(widget)
                return False
        return True

    def settle(self, verb: str, kinds: tuple[str, ...]) -> bool:
        """Before `verb` ("booting", "exporting", "compiling", "saving"): apply tabs of `kinds`
        with unsaved text, or go on without them, as the user says. False: cancelled (or a tab
        could not be applied, e.g. a script that does not parse: it says why)."""
        pending = self.modified(kinds)
        if not pending:
            return True
        answer = self.ask_unsaved(verb, [w.property("title") for w in pending])
        if answer == CANCEL:
            return False
        if answer == WITHOUT:
            self.message.emit(f"{verb.capitalize()} without the unsaved text of {len(pending)} tab(s)")
            return True
        for widget in pending:
            if not widget.save():
                self.tabs.setCurrentWidget(widget)
                return False
        return True

    def _ask_unsaved(self, verb: str, titles: list[str]) -> str:
        count = len(titles)
        noun = "tab" if count == 1 else "tabs"
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved editor tabs",
                          f"Save {count} changed {noun} before {verb}?\n\n" + "\n".join(titles[:10]),
                          parent=self.window)
        apply = box.addButton("Save and Go On", QMessageBox.ButtonRole.AcceptRole)
        without = box.addButton("Go On Without Them", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(apply)
        box.exec()
        return {apply: APPLY, without: WITHOUT}.get(box.clickedButton(), CANCEL)
