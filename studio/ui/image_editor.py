"""The open image's controller (no widgets of its own): the document, its undo stack and tree
model, and the edits that need a question or background work (drops, replace prompts).

Every edit goes through `perform` as one QUndoCommand, so everything the window, the tree, the
editors, the Programs panel and the machine do is undoable the same way.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from studio.compile import modules
from studio.errors import StudioError
from studio.image import edits, inject
from studio.image.document import ImageDocument
from studio.image.entry import FILE
from studio.image.state import Change
from studio.ui.commands import EditCommand
from studio.ui.package_slot import PackageSlot
from studio.ui.tree_model import ImageTreeModel
from studio.ui.worker import Task

# Drops bigger than this are copied in the background behind a cancellable progress dialog.
BACKGROUND_DROP_BYTES = 8 << 20
BACKGROUND_DROP_FILES = 200


class ImageEditor(QObject):
    """The open image: document, undo stack and tree model, plus the edits that need a dialog."""

    openFileRequested = Signal(str)  # image path of a file to open in an editor tab
    message = Signal(str)
    modulesDropped = Signal(list, str)  # WebAssembly modules to add as programs, the folder they go in

    def __init__(self, doc: ImageDocument, parent: QObject | None = None):
        super().__init__(parent)
        self.doc = doc
        self.undo_stack = QUndoStack(self)
        self.model = ImageTreeModel(doc.state, doc.read_bytes, self)
        self.model.perform = self.perform
        self.model.host_drop = self.drop_host_files
        self.widget: QWidget | None = None  # parent for dialogs
        # Replace-confirmation for drops, and what a dropped .wasm becomes; tests swap in answers.
        self.ask_replace = self._ask_replace
        self.ask_module_drop = self._ask_module_drop
        self._drop_task: Task | None = None
        self._held: list[Change] | None = None
        self.package_slot = PackageSlot(self)  # the Packages and Programs panels change packages through it

    @property
    def state(self):
        return self.doc.state

    def perform(self, change: Change) -> None:
        """Apply an edit as one undo step (or, while a save writes the image, once it is done)."""
        if self._held is not None:
            self._held.append(change)
            return
        self.undo_stack.push(EditCommand(self.doc.state, change))

    @property
    def holding(self) -> bool:
        return self._held is not None

    def hold_edits(self) -> None:
        """From now on edits wait (a save is writing a snapshot of the image); undo and redo too."""
        self._held = []

    def release_edits(self) -> None:
        """Apply the edits that waited, in order, each its own undo step."""
        held, self._held = self._held or [], None
        for change in held:
            self.perform(change)

    def try_perform(self, build) -> bool:
        """Build an edit and perform it; show a builder's StudioError instead of raising it."""
        try:
            change = build()
        except StudioError as err:
            QMessageBox.warning(self.widget, "Image Studio", str(err))
            return False
        self.perform(change)
        return True

    # -- dropping host files ----------------------------------------------------------
    def drop_host_files(self, paths: list[Path], folder: str) -> None:
        """Bring desktop files into `folder`: recursively, keeping executable bits, asking
        before replacing, in the background with progress for big drops. One undo step.
        WebAssembly modules may instead become programs (translated to run in the guest)."""
        wasm = [p for p in paths if p.is_file() and modules.is_module(p)]
        if wasm:
            answer = self.ask_module_drop(wasm, folder)
            if answer is None:
                self.message.emit("Drop cancelled: nothing was added")
                return
            if answer == "program":
                self.modulesDropped.emit(wasm, folder)
                paths = [p for p in paths if p not in wasm]
                if not paths:
                    return
        try:
            planned = inject.plan_sources(paths)
        except (StudioError, OSError) as err:
            QMessageBox.warning(self.widget, "Cannot add", str(err))
            return
        total = sum(size for _, size in planned)
        work = lambda progress, cancelled: inject.collect(self.doc, paths, folder, None, progress, cancelled)  # noqa: E731
        if total < BACKGROUND_DROP_BYTES and len(planned) < BACKGROUND_DROP_FILES:
            try:
                entries = work(lambda m, f: None, lambda: False)
            except (StudioError, OSError) as err:
                QMessageBox.warning(self.widget, "Cannot add", str(err))
                return
            self._finish_drop(entries, folder)
            return
        dialog = QProgressDialog(f"Adding {len(planned)} items to {folder}…", "Cancel", 0, 1000, self.widget)
        dialog.setWindowTitle("Adding files")
        dialog.setMinimumDuration(0)
        task = Task(work, self)
        task.progress.connect(lambda message, fraction: (dialog.setLabelText(message),
                                                          dialog.setValue(int(fraction * 1000))))
        task.finished.connect(lambda entries: (dialog.close(), self._finish_drop(entries, folder)))
        task.failed.connect(lambda message: (dialog.close(), QMessageBox.warning(self.widget, "Cannot add", message)))
        task.cancelledSignal.connect(lambda: (dialog.close(), self.message.emit("Drop cancelled: nothing was added")))
        dialog.canceled.connect(task.cancel)
        self._drop_task = task.start()

    def _finish_drop(self, entries, folder: str) -> None:
        count = sum(1 for e in entries if e.kind == FILE)
        files = self.add_asking(entries, f"Add {count} file(s) to {folder}")
        if files is None:
            self.message.emit("Drop cancelled: nothing was added")
        elif files:
            self.message.emit(f"Added {files} file(s) to {folder}")

    def add_asking(self, entries, label: str) -> int | None:
        """Add entries as one undo step, asking before replacing what exists (replace, skip
        those, or cancel). Returns how many files were added, None when cancelled or refused."""
        clashes = inject.conflicts(self.doc.state, entries)
        replace = False
        if clashes:
            answer = self.ask_replace(clashes)
            if answer is None:
                return None
            replace = answer
            if not replace:
                skip = set(clashes)
                entries = [e for e in entries if e.path not in skip and not any(e.path.startswith(c + "/") for c in skip)]
        if not entries:
            return 0
        files = sum(1 for e in entries if e.kind == FILE)
        if not self.try_perform(lambda: edits.add_entries(self.doc.state, entries, label, replace=replace)):
            return None
        return files

    def _ask_module_drop(self, wasm: list[Path], folder: str) -> str | None:
        """"program", "copy" or None (cancel): what dropped .wasm files become."""
        names = ", ".join(p.name for p in wasm[:4]) + (" …" if len(wasm) > 4 else "")
        box = QMessageBox(QMessageBox.Icon.Question, "WebAssembly modules",
                          f"{names}: add as programs? A program is checked, translated to run in the guest "
                          f"and installed in {folder} (as {wasm[0].stem}, with {wasm[0].name} beside it), "
                          "and recompiled like the others. Or copy the files as they are.", parent=self.widget)
        program = box.addButton("Add as Programs" if len(wasm) > 1 else "Add as Program",
                                QMessageBox.ButtonRole.AcceptRole)
        copy = box.addButton("Copy As They Are" if len(wasm) > 1 else "Copy As It Is", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(program)
        box.exec()
        clicked = box.clickedButton()
        return "program" if clicked is program else "copy" if clicked is copy else None

    def _ask_replace(self, clashes: list[str]) -> bool | None:
        shown = "\n".join(clashes[:12]) + ("\n…" if len(clashes) > 12 else "")
        box = QMessageBox(QMessageBox.Icon.Question, "Replace existing files?",
                          f"{len(clashes)} item(s) already exist in the image:\n\n{shown}", parent=self.widget)
        replace = box.addButton("Replace", QMessageBox.ButtonRole.AcceptRole)
        skip = box.addButton("Skip those", QMessageBox.ButtonRole.RejectRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is replace:
            return True
        if box.clickedButton() is skip:
            return False
        return None
