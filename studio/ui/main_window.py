"""The main window: the rootfs tree (left), the machine and editors (tabs), problems (bottom);
Boot / Stop / Reboot; project open, save, recent, autosave and recovery."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QLabel, QListWidget, QListWidgetItem, QMainWindow, QMessageBox, QProgressBar,
    QScrollArea,
    QStyle, QTabWidget, QToolBar, QWidget,
)

from studio.boot.session import BOOTING, RUNNING, BootSession
from studio.build import fsjson
from studio.errors import StudioError
from studio.image.checks import check_image
from studio.image.document import ImageDocument
from studio.image.project import Project
from studio.boot.snapshots import SnapshotStore
from studio.ui.boot_pane import BootPane
from studio.ui.machine_files import MachineFiles
from studio.ui.commands import EditCommand
from studio.ui.disk_watch import DiskWatcher
from studio.ui.inittab_editor import InittabEditor
from studio.ui.compile_panel import CompilePanel
from studio.ui.text_editor import FileEditor, SourceEditor, is_text
from studio.ui.image_editor import ImageEditor
from studio.ui.tree_panel import TreePanel
from studio.ui.worker import Task

MILESTONE_LABELS = {"restored": "restored", "first-kernel-line": "kernel", "init": "init", "prompt": "shell"}
AUTOSAVE_MS = 30_000
RECENT_KEY = "recentProjects"
MAX_RECENT = 8


class MainWindow(QMainWindow):
    def __init__(self, project: Project | None = None):
        super().__init__()
        self.project: Project | None = None
        self.editor: ImageEditor | None = None
        self.tree_panel: TreePanel | None = None
        self.inittab_editor: InittabEditor | None = None
        self.watcher: DiskWatcher | None = None
        self._build_task: Task | None = None
        self._boot_when_ready = False
        self.milestones: dict[str, float] = {}
        self.settings = QSettings()

        self.session = BootSession(self)
        self.session.snapshots = SnapshotStore()
        self.session.snapshotSaved.connect(self._snapshot_saved)
        self.boot_pane = BootPane(self.session, self)
        self.machine_files = MachineFiles(self.session, self)
        self.boot_pane.filesDropped.connect(self.machine_files.drop)
        self.tabs = QTabWidget(self)
        self.tabs.setTabsClosable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.tabs.addTab(self.boot_pane, "Machine")
        self.tabs.tabBar().setTabButton(0, self.tabs.tabBar().ButtonPosition.RightSide, None)
        self.setCentralWidget(self.tabs)
        self.tree_dock = QDockWidget("Image", self)
        self.tree_dock.setObjectName("image-dock")
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.tree_dock)
        self.problems = QListWidget(self)
        self.problems.itemDoubleClicked.connect(self._open_problem)
        self.problems_dock = QDockWidget("Problems", self)
        self.problems_dock.setObjectName("problems-dock")
        self.problems_dock.setWidget(self.problems)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.problems_dock)
        self.compile_panel: CompilePanel | None = None
        self.programs_dock = QDockWidget("Programs", self)
        self.programs_dock.setObjectName("programs-dock")
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.programs_dock)
        self.tabifyDockWidget(self.problems_dock, self.programs_dock)
        self.problems_dock.raise_()

        self._make_actions()
        self._make_status_bar()
        self.session.progress.connect(self._on_progress)
        self.session.milestone.connect(self._on_milestone)
        self.session.stateChanged.connect(self._on_state)
        self.session.failed.connect(self._on_failed)
        self.session.pageReady.connect(self._on_page_ready)
        self._autosave = QTimer(self, interval=AUTOSAVE_MS)
        self._autosave.timeout.connect(self.autosave)
        self._autosave.start()
        self._check_timer = QTimer(self, singleShot=True, interval=400)
        self._check_timer.timeout.connect(self.refresh_problems)
        self.resize(1300, 820)
        self._docks_sized = False
        self.set_project(project)
        self.session.load()

    # -- construction ----------------------------------------------------------------------
    def _make_actions(self) -> None:
        style = self.style()

        def action(text, slot, shortcut=None, icon=None, tip=None):
            a = QAction(text, self)
            if icon is not None:
                a.setIcon(style.standardIcon(icon))
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            if tip:
                a.setToolTip(tip)
            a.triggered.connect(slot)
            return a

        self.boot_action = action("&Boot", self.boot, "F5", QStyle.StandardPixmap.SP_MediaPlay,
                                  "Build what changed and boot the image (F5)")
        self.stop_action = action("&Stop", self.stop, "Shift+F5", QStyle.StandardPixmap.SP_MediaStop)
        self.reboot_action = action("&Reboot with Changes", self.reboot, "Ctrl+Shift+F5",
                                    QStyle.StandardPixmap.SP_BrowserReload, "Stop, rebuild what changed and boot again")
        self.pull_action = action("&Pull from Machine…", lambda: self.machine_files.pull())
        snapshots_action = action("S&napshots…", self.show_snapshots)
        self.export_action = action("&Export Web Bundle…", self.export_dialog)
        self.save_action = action("&Save", self.save, QKeySequence.StandardKey.Save,
                                  QStyle.StandardPixmap.SP_DialogSaveButton,
                                  "Apply the open editor and save the project (Ctrl+S)")
        open_action = action("&Open Project…", self._open_dialog, QKeySequence.StandardKey.Open)
        new_action = action("&New Project…", self._new_dialog)
        quit_action = action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        init_action = action("Edit &inittab", self.show_inittab)
        self.undo_action = QAction("&Undo", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(lambda: self.editor and self.editor.undo_stack.undo())
        self.redo_action = QAction("&Redo", self)
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.redo_action.triggered.connect(lambda: self.editor and self.editor.undo_stack.redo())

        toolbar = QToolBar("Machine", self)
        toolbar.setObjectName("machine-toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a in (self.save_action, self.boot_action, self.stop_action, self.reboot_action):
            toolbar.addAction(a)
        self.addToolBar(toolbar)
        file_menu = self.menuBar().addMenu("&File")
        for a in (new_action, open_action):
            file_menu.addAction(a)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        edit_menu.addAction(init_action)
        self.edit_menu = edit_menu
        machine_menu = self.menuBar().addMenu("&Machine")
        for a in (self.boot_action, self.stop_action, self.reboot_action):
            machine_menu.addAction(a)
        machine_menu.addSeparator()
        machine_menu.addAction(self.pull_action)
        machine_menu.addAction(snapshots_action)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.tree_dock.toggleViewAction())
        view_menu.addAction(self.problems_dock.toggleViewAction())
        view_menu.addAction(self.programs_dock.toggleViewAction())

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        self.state_label = QLabel("Loading the boot page…")
        self.milestone_label = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(180)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        bar.addWidget(self.state_label, 1)
        bar.addPermanentWidget(self.milestone_label)
        bar.addPermanentWidget(self.progress_bar)
        self._update_actions()

    # -- project life cycle -----------------------------------------------------------------
    def set_project(self, project: Project | None) -> bool:
        """Open `project` (closing the current one, asking to save). False if the user cancelled."""
        if not self._close_project():
            return False
        self.project = project
        if project is None:
            self._update_title()
            self._update_actions()
            return True
        doc = ImageDocument(project)
        self.editor = ImageEditor(doc, self)
        # Bound methods, not lambdas: Qt drops them when the window goes, so an editor's signals
        # during its own teardown never reach half-deleted widgets.
        self.editor.message.connect(self._show_message)
        self.editor.openFileRequested.connect(self.open_file)
        self.editor.undo_stack.cleanChanged.connect(self._update_title)
        self.editor.undo_stack.indexChanged.connect(self._schedule_check)
        self.editor.undo_stack.canUndoChanged.connect(self.undo_action.setEnabled)
        self.editor.undo_stack.canRedoChanged.connect(self.redo_action.setEnabled)
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        self.tree_panel = TreePanel(self.editor, self)
        self.machine_files.editor = self.editor
        self.tree_panel.push_handler = self.machine_files.push
        self.tree_dock.setWidget(self.tree_panel)
        self._tree_menu_actions = [self.tree_panel.new_file_action, self.tree_panel.new_folder_action]
        self.edit_menu.addActions(self._tree_menu_actions)
        self.compile_panel = CompilePanel(self.editor, self)
        self.compile_panel.openSource.connect(self.open_source)
        # In a scroll area: the panel's many controls must not force the dock (and its tabbed
        # neighbour, Problems) to be tall.
        scroller = QScrollArea(self)
        scroller.setWidgetResizable(True)
        scroller.setWidget(self.compile_panel)
        self.programs_dock.setWidget(scroller)
        self.watcher = DiskWatcher(project.root, self)
        self.watcher.changed.connect(self.reload_from_disk)
        self._remember_recent(project.root)
        if doc.interrupted_save_finished:
            self.statusBar().showMessage("An interrupted save was completed when the project opened.", 8000)
        if doc.has_recovery():
            self._offer_recovery()
        self._update_title()
        self._update_actions()
        self.refresh_problems()
        return True

    def _close_project(self) -> bool:
        if self.editor is None:
            return True
        if not self._confirm_discard():
            return False
        if self.session.state in (BOOTING, RUNNING):
            self.session.stop()
        for i in reversed(range(1, self.tabs.count())):
            widget = self.tabs.widget(i)
            self.tabs.removeTab(i)
            widget.deleteLater()
        self.inittab_editor = None
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        self.editor.model.detach()
        self.editor.doc.discard_autosave()
        self.editor.doc.close()
        for action in getattr(self, "_tree_menu_actions", []):
            self.edit_menu.removeAction(action)
        self._tree_menu_actions = []
        self.tree_dock.setWidget(QWidget())
        if self.compile_panel is not None:
            self.compile_panel.shutdown()
            self.programs_dock.setWidget(QWidget())
            self.compile_panel = None
        self.editor = None
        self.tree_panel = None
        return True

    def is_dirty(self) -> bool:
        if self.editor is None:
            return False
        return not self.editor.undo_stack.isClean() or any(
            getattr(self.tabs.widget(i), "is_modified", lambda: False)() for i in range(1, self.tabs.count()))

    def _confirm_discard(self) -> bool:
        if not self.is_dirty():
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {self.project.name} before closing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def save(self) -> bool:
        """Apply the current editor tab, then write the project (all or nothing)."""
        if self.editor is None:
            return False
        current = self.tabs.currentWidget()
        if getattr(current, "is_modified", lambda: False)() and not current.save():
            return False
        if self.watcher is not None:
            self.watcher.paused = True
        try:
            self._save_behind_dialog()
        except (OSError, StudioError) as err:
            QMessageBox.critical(self, "Save failed", f"The project was not changed: {err}")
            return False
        finally:
            if self.watcher is not None:
                self.watcher.paused = False
        self.editor.undo_stack.setClean()
        self.statusBar().showMessage(f"Saved {self.project.root}", 4000)
        self._update_title()
        return True

    def _save_behind_dialog(self) -> None:
        """Write the project in a thread, the window kept alive behind a modal progress dialog
        (which also keeps the image from changing meanwhile). Returns when it is written."""
        from PySide6.QtCore import QEventLoop
        from PySide6.QtWidgets import QProgressDialog

        dialog = QProgressDialog("Saving…", "", 0, 1000, self)
        dialog.setWindowTitle("Saving the project")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setCancelButton(None)  # a save is all or nothing: it finishes
        dialog.setMinimumDuration(400)
        outcome: dict = {}
        loop = QEventLoop()
        task = Task(lambda progress, cancelled: self.editor.doc.save(progress), self)
        task.progress.connect(lambda message, fraction: (dialog.setLabelText(message),
                                                          dialog.setValue(int(fraction * 1000))))
        task.finished.connect(lambda plan: (outcome.setdefault("plan", plan), loop.quit()))
        task.failed.connect(lambda message: (outcome.setdefault("error", message), loop.quit()))
        task.start()
        loop.exec()
        dialog.close()
        if "error" in outcome:
            raise StudioError(outcome["error"])

    def autosave(self) -> None:
        if self.editor is not None and not self.editor.undo_stack.isClean():
            self.editor.doc.autosave()

    def _offer_recovery(self) -> None:
        answer = QMessageBox.question(
            self, "Recover unsaved changes?",
            f"{self.project.name} has unsaved changes from a session that did not end normally. "
            "Recover them? (They stay unsaved until you save.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            self.editor.perform(self.editor.doc.recovery_change())
        else:
            self.editor.doc.discard_autosave()

    def reload_from_disk(self) -> None:
        """Another program changed the overlay: show it (as an undoable step)."""
        if self.editor is None:
            return
        was_clean = self.editor.undo_stack.isClean()
        change = self.editor.doc.disk_change()
        if change is None:
            return
        self.editor.undo_stack.push(EditCommand(self.editor.state, change))
        if was_clean:
            self.editor.undo_stack.setClean()  # the state is what the disk holds
        self.statusBar().showMessage(f"Picked up {len(change)} change(s) made on disk", 6000)

    def _remember_recent(self, root: Path) -> None:
        recent = [p for p in (self.settings.value(RECENT_KEY) or []) if p != str(root)]
        self.settings.setValue(RECENT_KEY, [str(root)] + recent[:MAX_RECENT - 1])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.value(RECENT_KEY) or []:
            self.recent_menu.addAction(path, lambda p=path: self.open_project(Path(p)))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def open_project(self, directory: Path) -> None:
        try:
            project = Project.open(directory)
        except StudioError as err:
            QMessageBox.critical(self, "Cannot open project", str(err))
            return
        self.set_project(project)

    def _open_dialog(self) -> None:
        directory = QFileDialog.getExistingDirectory(self, "Open Project")
        if directory:
            self.open_project(Path(directory))

    def _new_dialog(self) -> None:
        from studio.image import base
        from studio.ui.app import create_with_progress

        directory = QFileDialog.getSaveFileName(self, "New Project (a new folder)")[0]
        if not directory:
            return
        try:
            project = create_with_progress(Path(directory), base.parse_base(base.DEFAULT_BASE), self)
        except StudioError as err:
            QMessageBox.critical(self, "Cannot create project", str(err))
            return
        if project is not None:
            self.set_project(project)

    def _show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    def _schedule_check(self, *_) -> None:
        """After any edit or undo: recheck problems, and show open editors what the image holds now
        (unless they have edits of their own)."""
        self._check_timer.start()
        for i in range(1, self.tabs.count()):
            widget = self.tabs.widget(i)
            if hasattr(widget, "reload") and not widget.is_modified():
                try:
                    widget.reload()
                except KeyError:  # the file is gone (deleted, or the edit that made it undone)
                    pass

    def _update_title(self, *_) -> None:
        name = self.project.name if self.project else ""
        self.setWindowTitle(f"{name}[*] — Image Studio" if name else "Image Studio")
        self.setWindowModified(self.is_dirty())

    # -- editors ---------------------------------------------------------------------------
    def open_file(self, path: str) -> None:
        for i in range(1, self.tabs.count()):
            if getattr(self.tabs.widget(i), "path", None) == path:
                self.tabs.setCurrentIndex(i)
                return
        try:
            data = self.editor.doc.read_bytes(path)
        except (KeyError, OSError) as err:
            QMessageBox.warning(self, "Cannot open", f"{path}: {err}")
            return
        if not is_text(data):
            QMessageBox.information(self, "Binary file", f"{path} is not a text file; export it to edit it elsewhere.")
            return
        if path == "/etc/inittab":
            self.show_inittab()
            return
        editor = FileEditor(self.editor, path, self)
        editor.modificationChanged.connect(self._update_title)
        self.tabs.setCurrentIndex(self.tabs.addTab(editor, path.rsplit("/", 1)[1]))
        self.tabs.setTabToolTip(self.tabs.currentIndex(), path)

    def open_source(self, path: Path, line: int = 1) -> None:
        """A program's source file (in the project folder), at `line`."""
        for i in range(1, self.tabs.count()):
            widget = self.tabs.widget(i)
            if isinstance(widget, SourceEditor) and widget.path == path:
                self.tabs.setCurrentIndex(i)
                widget.mark_line(line)
                return
        editor = SourceEditor(path, self)
        editor.modificationChanged.connect(self._update_title)
        self.tabs.setCurrentIndex(self.tabs.addTab(editor, path.name))
        self.tabs.setTabToolTip(self.tabs.currentIndex(), str(path))
        editor.mark_line(line)

    def show_inittab(self) -> None:
        if self.editor is None:
            return
        if self.inittab_editor is None:
            self.inittab_editor = InittabEditor(self.editor, self)
            self.inittab_editor.modificationChanged.connect(self._update_title)
            self.tabs.addTab(self.inittab_editor, "inittab")
        self.tabs.setCurrentWidget(self.inittab_editor)

    def close_tab(self, index: int) -> None:
        if index == 0:
            return
        widget = self.tabs.widget(index)
        if getattr(widget, "is_modified", lambda: False)():
            answer = QMessageBox.question(
                self, "Unsaved edits", "Apply the edits in this tab to the image before closing it?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)
            if answer == QMessageBox.StandardButton.Cancel:
                return
            if answer == QMessageBox.StandardButton.Save and not widget.save():
                return
        self.tabs.removeTab(index)
        if widget is self.inittab_editor:
            self.inittab_editor = None
        widget.deleteLater()
        self._update_title()

    # -- problems ----------------------------------------------------------------------------
    def refresh_problems(self) -> None:
        self.problems.clear()
        if self.editor is None:
            return
        try:
            findings = check_image(self.editor.doc)
        except (OSError, FileNotFoundError) as err:
            self.problems.addItem(f"checks unavailable: {err}")
            return
        for finding in findings:
            item = QListWidgetItem(str(finding))
            item.setData(Qt.ItemDataRole.UserRole, (finding.path, finding.line))
            item.setForeground(Qt.GlobalColor.red if finding.severity == "error" else Qt.GlobalColor.darkYellow)
            self.problems.addItem(item)
        self.problems_dock.setWindowTitle(f"Problems ({len(findings)})" if findings else "Problems")

    def _open_problem(self, item: QListWidgetItem) -> None:
        where = item.data(Qt.ItemDataRole.UserRole)
        if not where:
            return
        path, line = where
        if path == "/etc/inittab":
            self.show_inittab()
            return
        if self.editor and self.editor.state.entry(path):
            self.open_file(path)
            widget = self.tabs.currentWidget()
            if isinstance(widget, FileEditor):
                widget.mark_line(line)

    # -- machine --------------------------------------------------------------------------
    def boot(self) -> None:
        """Build what changed (the image as edited, saved or not), then boot."""
        if self.editor is None or (self._build_task and not self._build_task.done):
            return
        if not self.session.page_ready:
            self._boot_when_ready = True
            return
        self.session.stop()
        project = self.project
        entries = dict(self.editor.state.entries)
        self.milestones = {}
        self.milestone_label.setText("")
        self.state_label.setText("Building…")
        task = Task(lambda progress, cancelled: fsjson.build(project, progress=progress, cancelled=cancelled,
                                                             entries=entries), self)
        task.progress.connect(self._on_progress)
        task.finished.connect(lambda result: self._start_machine(project, result))
        task.failed.connect(self._on_failed)
        self._build_task = task.start()
        self._update_actions()

    def _start_machine(self, project: Project, result: fsjson.BuildResult) -> None:
        self._update_actions()
        if project is not self.project:
            return
        self.tabs.setCurrentIndex(0)
        self.session.boot(result.out, fsjson.boot_config(project))
        self.state_label.setText("Restoring the saved machine (image unchanged)" if self.session.boot_kind == "snapshot"
                                 else f"Booting cold: {self.session.cold_reason}")
        self.boot_pane.view.setFocus()
        self.session.focus_terminal()

    def stop(self) -> None:
        self.session.stop()

    def _snapshot_saved(self, key: str, size: int) -> None:
        import humanize

        self.statusBar().showMessage(f"Saved the machine's state ({humanize.naturalsize(size, binary=True)}): "
                                     "the next boot of this image restores it instantly", 8000)

    def show_snapshots(self) -> None:
        from studio.ui.snapshot_dialog import SnapshotDialog

        SnapshotDialog(self.session.snapshots, self).exec()

    def export_dialog(self) -> None:
        from studio.ui.export_dialog import ExportDialog

        if self.editor is not None:
            ExportDialog(self.project, self.session.snapshots, self).exec()

    def reboot(self) -> None:
        self.boot()

    # -- feedback ------------------------------------------------------------------------------
    def _on_page_ready(self) -> None:
        self.state_label.setText("Ready. Press Boot (F5) to start the machine.")
        self._update_actions()
        if self._boot_when_ready:
            self._boot_when_ready = False
            self.boot()

    def _on_progress(self, message: str, fraction: float) -> None:
        self.state_label.setText(message)
        if fraction >= 1.0:
            self.progress_bar.hide()
            return
        self.progress_bar.show()
        if fraction < 0:
            self.progress_bar.setRange(0, 0)  # busy indicator
        else:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(fraction * 1000))

    def _on_milestone(self, name: str, seconds: float) -> None:
        if name not in MILESTONE_LABELS:
            return
        self.milestones[name] = seconds
        self.milestone_label.setText(" · ".join(
            f"{MILESTONE_LABELS[n]} {t:.2f} s" for n, t in self.milestones.items()))

    def _on_state(self, state: str) -> None:
        texts = {BOOTING: "Booting…", RUNNING: "Running — the terminal is live", "stopped": "Stopped"}
        if state in texts:
            self.state_label.setText(texts[state])
        if state != BOOTING:
            self.progress_bar.hide()
        self._update_actions()

    def _on_failed(self, message: str) -> None:
        self.progress_bar.hide()
        self.state_label.setText("Failed: " + message.splitlines()[0])
        self._update_actions()
        # Non-modal: a failure report must never block the event loop (or a test driving it).
        box = QMessageBox(QMessageBox.Icon.Critical, "Image Studio", message, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _update_actions(self) -> None:
        if not hasattr(self, "boot_action"):
            return
        building = self._build_task is not None and not self._build_task.done
        live = self.session.state in (BOOTING, RUNNING)
        has_project = self.editor is not None
        self.boot_action.setEnabled(has_project and not building and not live)
        self.reboot_action.setEnabled(has_project and not building and live)
        self.stop_action.setEnabled(live)
        self.save_action.setEnabled(has_project)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self._docks_sized:  # dock sizes only stick once the window has its size
            self._docks_sized = True
            self.resizeDocks([self.tree_dock], [560], Qt.Orientation.Horizontal)
            self.resizeDocks([self.problems_dock], [170], Qt.Orientation.Vertical)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if not self._close_project():
            event.ignore()
            return
        # The view goes first: a view left without a page would make a default one that
        # outlives its profile at exit.
        self.boot_pane.release()
        self.session.close()
        super().closeEvent(event)
