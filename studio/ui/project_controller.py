"""The project's life cycle in the window: open and close (asking to save), saving, autosave and
recovery, changes other programs make on disk, and the recent-projects list.

Saving runs in a thread behind a modal progress dialog. The thread writes a snapshot of the
image; edits that arrive meanwhile (a compile finishing, a drop completing, a pull) wait and are
applied once it is written, so "saved" means exactly what is on disk. A save that would
overwrite or delete something another program changed on disk stops and asks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEventLoop, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from studio.errors import StudioError
from studio.image.document import ImageDocument
from studio.image.project import Project
from studio.image.save import META_PATH, SaveConflict
from studio.ui.disk_watch import DiskWatcher
from studio.ui.image_editor import ImageEditor
from studio.ui.worker import Task

AUTOSAVE_MS = 30_000
RECENT_KEY = "recentProjects"
MAX_RECENT = 8

# What to do about files changed on disk that a save would overwrite.
LOAD_THEIRS, OVERWRITE, CANCEL = "load", "overwrite", "cancel"


class ProjectController(QObject):
    opened = Signal()  # `editor` is the new project's
    closing = Signal()  # the current project is about to go (its editor still exists)
    dirtyChanged = Signal()
    message = Signal(str)

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window = window
        self.project: Project | None = None
        self.editor: ImageEditor | None = None
        self.watcher: DiskWatcher | None = None
        self.settings = QSettings()
        self.saving = False
        # Set by the window: unsaved editor tabs count as unsaved work; before a save they are
        # applied (or the user decides); False cancels the save.
        self.tabs_modified: Callable[[], bool] = lambda: False
        self.prepare_save: Callable[[], bool] = lambda: True
        # Questions, as hooks tests can answer.
        self.ask_conflict = self._ask_conflict
        self.ask_save_before_close = self._ask_save_before_close
        self._autosave = QTimer(self, interval=AUTOSAVE_MS)
        self._autosave.timeout.connect(self.autosave)
        self._autosave.start()

    # -- open and close -----------------------------------------------------------------
    def open(self, project: Project | None) -> bool:
        """Open `project` (closing the current one, asking to save). False if the user
        cancelled or the project could not be opened for writing."""
        if not self.close():
            return False
        if project is None:
            return True
        try:
            doc = ImageDocument(project)
        except StudioError as err:
            QMessageBox.critical(self.window, "Cannot open project", str(err))
            return False
        self.project = project
        self.editor = ImageEditor(doc, self)
        self.editor.undo_stack.indexChanged.connect(self.dirtyChanged)
        self.watcher = DiskWatcher(project.root, self)
        self.watcher.changed.connect(self.reload_from_disk)
        self._remember_recent(project.root)
        self.opened.emit()
        if doc.interrupted_save_finished:
            self.message.emit("An interrupted save was completed when the project opened.")
        if doc.has_recovery():
            self._offer_recovery()
        self.dirtyChanged.emit()
        return True

    def open_path(self, directory: Path) -> bool:
        try:
            project = Project.open(directory)
        except StudioError as err:
            QMessageBox.critical(self.window, "Cannot open project", str(err))
            return False
        return self.open(project)

    def close(self) -> bool:
        """Close the current project, asking to save unsaved work. False if the user cancelled."""
        if self.editor is None:
            return True
        if self.is_dirty():
            answer = self.ask_save_before_close()
            if answer == QMessageBox.StandardButton.Cancel:
                return False
            if answer == QMessageBox.StandardButton.Save and not self.save():
                return False
        self.closing.emit()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        self.editor.model.detach()
        self.editor.doc.discard_autosave()
        self.editor.doc.close()
        self.editor.deleteLater()
        self.editor = None
        self.project = None
        self.dirtyChanged.emit()
        return True

    def _ask_save_before_close(self):
        return QMessageBox.question(
            self.window, "Unsaved changes", f"Save the changes to {self.project.name} before closing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)

    def is_dirty(self) -> bool:
        """Unsaved work: the image differs from what is on disk, or an editor tab has edits."""
        if self.editor is None:
            return False
        return self.editor.doc.is_dirty() or self.tabs_modified()

    # -- saving -------------------------------------------------------------------------
    def save(self) -> bool:
        """Apply editor tabs (or not, as the user says), take in changes made on disk, then
        write the image as it is now. True when the project on disk is what the user sees."""
        if self.editor is None or self.saving:
            return False
        if not self.prepare_save():
            return False
        self.reload_from_disk()  # what the watcher has not reported yet
        overwrite: set[str] = set()
        while True:
            try:
                self._write_behind_dialog(overwrite)
                break
            except SaveConflict as conflict:
                choice = self.ask_conflict(conflict.paths)
                if choice == LOAD_THEIRS:
                    self.reload_from_disk()
                elif choice == OVERWRITE:
                    overwrite.update(conflict.paths)
                else:
                    self.message.emit("Not saved: files changed on disk were left as they are")
                    return False
            except (OSError, StudioError) as err:
                QMessageBox.critical(self.window, "Save failed", f"The project was not changed: {err}")
                return False
        self.message.emit(f"Saved {self.project.root}" + self._rescue_note)
        return True

    def _write_behind_dialog(self, overwrite: set[str]) -> None:
        """Write a snapshot in a thread, the window kept alive behind a modal progress dialog.
        Edits arriving meanwhile are held and applied after it, so they stay unsaved."""
        doc = self.editor.doc
        snapshot = doc.snapshot()
        dialog = QProgressDialog("Saving…", "", 0, 1000, self.window)
        dialog.setWindowTitle("Saving the project")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setCancelButton(None)  # a save is all or nothing: it finishes
        dialog.setMinimumDuration(400)
        outcome: dict = {}
        loop = QEventLoop()
        task = Task(lambda progress, cancelled: doc.write(snapshot, progress, frozenset(overwrite)), self)
        task.progress.connect(lambda message, fraction: (dialog.setLabelText(message),
                                                          dialog.setValue(int(fraction * 1000))))
        task.finished.connect(lambda plan: (outcome.setdefault("plan", plan), loop.quit()))
        task.failed.connect(lambda message: (outcome.setdefault("error", task.error or StudioError(message)),
                                             loop.quit()))
        self.saving = True
        self.editor.hold_edits()
        if self.watcher is not None:
            self.watcher.paused = True
        try:
            task.start()
            loop.exec()
        finally:
            dialog.close()
            self.saving = False
            if self.watcher is not None:
                self.watcher.paused = False
        if "plan" in outcome:
            doc.saved_as(snapshot, outcome["plan"])
            self.editor.undo_stack.setClean()
            rescued = outcome["plan"].rescued
            self._rescue_note = (f"; {len(rescued)} item(s) changed on disk during the save were kept in "
                                 f".studio/{rescued[0].split('/', 2)[1]}/" if rescued else "")
        self.editor.release_edits()  # held edits now apply on top of what was saved
        self.dirtyChanged.emit()
        if "error" in outcome:
            raise outcome["error"]

    _rescue_note = ""

    def _ask_conflict(self, paths: list[str]) -> str:
        shown = "\n".join(p.lstrip("@") for p in paths[:12]) + ("\n…" if len(paths) > 12 else "")
        meta = " (overlay.toml holds modes, owners, symlinks and deletions)" if META_PATH in paths else ""
        box = QMessageBox(QMessageBox.Icon.Warning, "Changed on disk",
                          f"{len(paths)} item(s) were changed on disk by another program since the studio read "
                          f"them{meta}; saving would overwrite or delete them:\n\n{shown}\n\n"
                          "Load their version into the image (you can undo that), or overwrite them with yours?",
                          parent=self.window)
        load = box.addButton("Load Theirs", QMessageBox.ButtonRole.AcceptRole)
        overwrite = box.addButton("Overwrite with Mine", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return {load: LOAD_THEIRS, overwrite: OVERWRITE}.get(box.clickedButton(), CANCEL)

    # -- autosave, recovery, changes on disk --------------------------------------------------
    def autosave(self) -> None:
        if self.editor is not None and not self.saving and self.editor.doc.is_dirty():
            self.editor.doc.autosave()

    def _offer_recovery(self) -> None:
        answer = QMessageBox.question(
            self.window, "Recover unsaved changes?",
            f"{self.project.name} has unsaved changes from a session that did not end normally. "
            "Recover them? (They stay unsaved until you save.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            self.editor.perform(self.editor.doc.recovery_change())
        else:
            self.editor.doc.discard_autosave()

    def reload_from_disk(self) -> None:
        """Another program changed the overlay: show it (as an undoable step)."""
        if self.editor is None or self.saving:
            return
        try:
            change = self.editor.doc.disk_change()
        except StudioError as err:  # e.g. overlay.toml broken by hand
            self.message.emit(str(err))
            return
        if change is None:
            return
        self.editor.perform(change)
        self.message.emit(f"Picked up {len(change)} change(s) made on disk")

    # -- recent projects ----------------------------------------------------------------------
    def recent(self) -> list[str]:
        # type=list: QSettings hands back a one-item list as a plain string otherwise.
        return [str(p) for p in self.settings.value(RECENT_KEY, [], type=list) if p]

    def _remember_recent(self, root: Path) -> None:
        recent = [p for p in self.recent() if p != str(root)]
        self.settings.setValue(RECENT_KEY, [str(root)] + recent[:MAX_RECENT - 1])
