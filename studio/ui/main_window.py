"""The main window: the rootfs tree (left), the machine and editors (tabs), problems and programs
(bottom), menus, toolbar and status bar. The work is done by the controllers it composes:

    ProjectController   open, close, save, autosave, recovery, changes on disk, recent projects
    MachineController   boot, stop, reboot, snapshots, export, and what the status bar says of them
    EditorTabs          editor tabs, unsaved text before boot/export/compile/save
    ProblemsPanel       image checks
    MachineFiles        files between the desktop, the project and the running machine
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QMainWindow, QScrollArea, QStackedWidget, QStyle, QTabWidget, QToolBar,
    QToolButton, QWidget,
)

from studio.boot.session import BOOTING, RUNNING, BootSession
from studio.image.project import Project
from studio.ui.boot_pane import BootPane
from studio.ui.commands import PackageCommand
from studio.ui.compile_panel import CompilePanel
from studio.ui.editor_tabs import IMAGE, SOURCES, EditorTabs
from studio.ui.machine_controller import MachineController
from studio.ui.machine_files import MachineFiles
from studio.ui.machine_placeholder import MachinePlaceholder, remember_boot
from studio.ui.machine_packages import MachinePackages
from studio.ui.packages_panel import PackagesPanel
from studio.ui.problems_panel import ProblemsPanel
from studio.ui.project_controller import ProjectController
from studio.ui.text_editor import FileEditor
from studio.ui.tree_panel import TreePanel


GEOMETRY_KEY, STATE_KEY, HEADER_KEY, TABS_KEY = "window/geometry", "window/state", "tree/header", "tabs"


class MainWindow(QMainWindow):
    def __init__(self, project: Project | None = None):
        super().__init__()
        self.tree_panel: TreePanel | None = None
        self.compile_panel: CompilePanel | None = None
        self._tree_menu_actions: list[QAction] = []

        self.session = BootSession(self)
        self.boot_pane = BootPane(self.session, self)
        self.machine = MachineController(self.session, self)
        self.machine_files = MachineFiles(self.session, self)
        self.machine_packages = MachinePackages(self.session, self)
        self.boot_pane.filesDropped.connect(self.machine_files.drop)
        self.tabs = QTabWidget(self)
        self.tabs.setTabsClosable(True)
        self.tabs.setDocumentMode(True)
        # Before the first boot the Machine tab says what will boot; the terminal from then on.
        self.machine_stack = QStackedWidget(self)
        self.machine_stack.addWidget(self.boot_pane)
        self.tabs.addTab(self.machine_stack, "Machine")
        self.tabs.tabBar().setTabButton(0, self.tabs.tabBar().ButtonPosition.RightSide, None)
        self.setCentralWidget(self.tabs)
        self.editor_tabs = EditorTabs(self.tabs, self)
        self.projects = ProjectController(self)

        self.tree_dock = self._dock("Image", "image-dock", Qt.DockWidgetArea.LeftDockWidgetArea)
        self.problems = ProblemsPanel(self)
        self.problems.openRequested.connect(self._open_problem)
        self.problems.openSourceRequested.connect(self.open_source)
        self.problems.countChanged.connect(self._show_problem_counts)
        self.problems_dock = self._dock("Problems", "problems-dock", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.problems_dock.setWidget(self.problems)
        self.programs_dock = self._dock("Programs", "programs-dock", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.packages_dock = self._dock("Packages", "packages-dock", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.packages_panel: PackagesPanel | None = None
        self.tabifyDockWidget(self.problems_dock, self.programs_dock)
        self.tabifyDockWidget(self.programs_dock, self.packages_dock)
        self.packages_dock.visibilityChanged.connect(self._packages_shown)
        self.problems_dock.raise_()

        self._make_actions()
        self.placeholder = MachinePlaceholder(self.boot_action, self)
        self.machine_stack.addWidget(self.placeholder)
        self.machine_stack.setCurrentWidget(self.placeholder)
        self.session.stateChanged.connect(self._machine_state)
        bar = self.statusBar()
        bar.addWidget(self.machine.state_label, 1)
        self.problem_counts = QToolButton(self)
        self.problem_counts.setAutoRaise(True)
        self.problem_counts.setToolTip("Problems: errors and warnings (click to show them)")
        self.problem_counts.clicked.connect(lambda: (self.problems_dock.show(), self.problems_dock.raise_()))
        bar.addPermanentWidget(self.problem_counts)
        bar.addPermanentWidget(self.machine.network_label)
        bar.addPermanentWidget(self.machine.milestone_label)
        bar.addPermanentWidget(self.machine.progress_bar)

        # What the controllers need of each other goes through here.
        self.projects.tabs_modified = lambda: bool(self.editor_tabs.modified((IMAGE,)))
        self.projects.prepare_save = self.editor_tabs.apply_all
        self.machine.prepare = lambda verb: self.editor_tabs.settle(verb, (IMAGE,))
        self.projects.opened.connect(self._project_opened)
        self.projects.closing.connect(self._project_closing)
        self.projects.dirtyChanged.connect(self._update_title)
        self.editor_tabs.modifiedChanged.connect(self._update_title)
        for source in (self.projects, self.machine, self.editor_tabs):
            source.message.connect(self._show_message)
        self.machine.actionsChanged.connect(self._update_actions)

        self.resize(1300, 820)
        self._docks_sized = False
        self._restore_layout()
        self.set_project(project)
        self.machine.load_page()

    def _dock(self, title: str, name: str, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        self.addDockWidget(area, dock)
        return dock

    # -- what tests and the app reach through the window ------------------------------------------
    @property
    def project(self) -> Project | None:
        return self.projects.project

    @property
    def editor(self):
        return self.projects.editor

    @property
    def inittab_editor(self):
        return self.editor_tabs.inittab_editor

    @property
    def milestone_label(self):
        return self.machine.milestone_label

    @property
    def state_label(self):
        return self.machine.state_label

    def set_project(self, project: Project | None) -> bool:
        """Open `project` (closing the current one, asking to save). False if the user cancelled."""
        ok = self.projects.open(project)
        self._update_title()
        return ok

    def save(self) -> bool:
        return self.projects.save()

    def boot(self) -> None:
        self.machine.boot()

    def open_file(self, path: str) -> None:
        self.editor_tabs.open_file(path)

    def open_source(self, path: Path, line: int = 1) -> None:
        self.editor_tabs.open_source(path, line)

    def show_inittab(self) -> None:
        self.editor_tabs.show_inittab()

    def autosave(self) -> None:
        self.projects.autosave()

    def refresh_problems(self) -> None:
        self.problems.refresh()

    def is_dirty(self) -> bool:
        return self.projects.is_dirty()

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

        self.boot_action = action("&Boot", self.machine.boot, "F5", QStyle.StandardPixmap.SP_MediaPlay,
                                  "Build what changed and boot the image (F5)")
        self.stop_action = action("&Stop", self.machine.stop, "Shift+F5", QStyle.StandardPixmap.SP_MediaStop)
        self.reboot_action = action("&Reboot with Changes", self.machine.reboot, "Ctrl+Shift+F5",
                                    QStyle.StandardPixmap.SP_BrowserReload, "Stop, rebuild what changed and boot again")
        self.pull_action = action("&Pull from Machine…", lambda: self.machine_files.pull())
        snapshots_action = action("S&napshots…", self.machine.show_snapshots)
        record_action = action("&Record Packages from Machine…", lambda: self.machine_packages.check())
        self.export_action = action("&Export…", self.machine.export_dialog,
                                    tip="Export the image: a web page, a rootfs tarball or an Alpine backup (apkovl)")
        self.save_action = action("&Save", self.save, QKeySequence.StandardKey.Save,
                                  QStyle.StandardPixmap.SP_DialogSaveButton,
                                  "Apply the open editors and save the project (Ctrl+S)")
        open_action = action("&Open Project…", self._open_dialog, QKeySequence.StandardKey.Open)
        new_action = action("&New Project…", self._new_dialog)
        quit_action = action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        init_action = action("Edit &inittab", self.show_inittab)
        settings_action = action("Se&ttings…", self.show_settings, "Ctrl+,")
        settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.undo_action = action("&Undo", lambda: self._undo_redo("undo"), QKeySequence.StandardKey.Undo)
        self.redo_action = action("&Redo", lambda: self._undo_redo("redo"), QKeySequence.StandardKey.Redo)

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
        edit_menu.addAction(settings_action)
        self.edit_menu = edit_menu
        machine_menu = self.menuBar().addMenu("&Machine")
        for a in (self.boot_action, self.stop_action, self.reboot_action):
            machine_menu.addAction(a)
        machine_menu.addSeparator()
        machine_menu.addAction(self.pull_action)
        machine_menu.addAction(record_action)
        machine_menu.addAction(snapshots_action)
        self.network_menu = machine_menu.addMenu("&Network")
        self.network_actions = {}
        for mode, text in (("repositories", "&Repositories Only"), ("web", "Repositories and the &Web (plain HTTP)"),
                           ("off", "&Off (no network card)")):
            choice = self.network_menu.addAction(text, lambda m=mode: self.set_network(m))
            choice.setCheckable(True)
            self.network_actions[mode] = choice
        # The terminal's own actions (their shortcuts work while the terminal has the focus).
        machine_menu.addMenu("&Terminal").addActions(self.boot_pane.terminal_actions)
        view_menu = self.menuBar().addMenu("&View")
        for dock in (self.tree_dock, self.problems_dock, self.programs_dock, self.packages_dock):
            view_menu.addAction(dock.toggleViewAction())
        from studio.ui.help import add_help_menu

        add_help_menu(self)
        self._update_actions()

    def show_settings(self) -> None:
        """The project's boot settings, the studio's mirror and cache folder, the caches."""
        from studio.ui.settings_dialog import SettingsDialog

        SettingsDialog(self.project, self).exec()
        self._show_network()  # the dialog edits the same project.boot the Network menu shows
        self.refresh_problems()

    def set_network(self, mode: str) -> None:
        """What the machine may reach, from its next boot (saved in studio.toml's [boot])."""
        if self.project is None:
            return
        self.project.boot.network = mode
        self.project.save_settings()
        self._show_network()
        self._show_message(f"Network: {mode} (from the next boot)")

    def _show_network(self) -> None:
        mode = self.project.boot.network if self.project else ""
        for key, choice in self.network_actions.items():
            choice.setChecked(key == mode)
            choice.setEnabled(self.project is not None)

    def _undo_redo(self, which: str) -> None:
        editor = self.editor
        if editor is None or editor.holding:  # not while a save writes the image
            return
        stack = editor.undo_stack
        step = stack.command(stack.index() - 1 if which == "undo" else stack.index())
        if isinstance(step, PackageCommand) and editor.package_slot.busy:
            # it would write a package list and lock under the change that is planning from them
            self.statusBar().showMessage(f"Cannot {which} “{step.text()}” while “{editor.package_slot.holder}” "
                                         "changes the packages; try again when it has ended", 8000)
            return
        getattr(stack, which)()

    # -- a project opens or closes ---------------------------------------------------------------
    def _project_opened(self) -> None:
        editor, project = self.editor, self.project
        editor.message.connect(self._show_message)
        editor.openFileRequested.connect(self.open_file)
        editor.undo_stack.canUndoChanged.connect(self.undo_action.setEnabled)
        editor.undo_stack.canRedoChanged.connect(self.redo_action.setEnabled)
        editor.undo_stack.indexChanged.connect(lambda *_: self._update_actions())
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        self.editor_tabs.set_editor(editor)
        self.tree_panel = TreePanel(editor, self)
        self.tree_panel.push_handler = self.machine_files.push
        self.tree_dock.setWidget(self.tree_panel)
        self._tree_menu_actions = [self.tree_panel.new_file_action, self.tree_panel.new_folder_action]
        self.edit_menu.addActions(self._tree_menu_actions)
        self.compile_panel = CompilePanel(editor, self)
        self.compile_panel.openSource.connect(self.open_source)
        self.compile_panel.diagnosticsChanged.connect(self.problems.set_compiled)
        self.compile_panel.prepare_compile = lambda: self.editor_tabs.settle("compiling", (SOURCES,))
        # In a scroll area: the panel's many controls must not force the dock (and its tabbed
        # neighbour, Problems) to be tall.
        scroller = QScrollArea(self)
        scroller.setWidgetResizable(True)
        scroller.setWidget(self.compile_panel)
        self.programs_dock.setWidget(scroller)
        self.packages_panel = PackagesPanel(editor, self)
        self.packages_panel.message.connect(self._show_message)
        self.packages_dock.setWidget(self.packages_panel)
        self._packages_loaded = False
        self.machine_files.editor = editor
        self.machine_packages.editor = editor
        self.machine_packages.record = self.packages_panel.record
        self._show_network()
        self.machine.set_project(project, editor)
        self.problems.set_editor(editor)
        self._show_placeholder()
        self._restore_project_layout()

    def _machine_state(self, state: str) -> None:
        if state == BOOTING:
            self.machine_stack.setCurrentWidget(self.boot_pane)
        if state == RUNNING and self.project is not None and "prompt" in self.session.console.milestones:
            remember_boot(self.project, self.session.boot_kind, self.session.console.milestones["prompt"])

    def _show_placeholder(self) -> None:
        project = self.project
        programs = len(project.programs) if project else 0
        packages = len(project.lock.packages) if project else 0
        self.placeholder.show_project(project, packages, programs)

    # -- layout, kept between runs --------------------------------------------------------------
    def _restore_layout(self) -> None:
        settings = QSettings()
        geometry, state = settings.value(GEOMETRY_KEY), settings.value(STATE_KEY)
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None and self.restoreState(state):
            self._docks_sized = True  # the user's sizes, not the defaults

    def _save_layout(self) -> None:
        settings = QSettings()
        settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        settings.setValue(STATE_KEY, self.saveState())
        if self.tree_panel is not None:
            settings.setValue(HEADER_KEY, self.tree_panel.tree.header().saveState())
        if self.project is not None:
            settings.setValue(f"{TABS_KEY}/{self.project.root}", self.editor_tabs.open_tabs())

    def _restore_project_layout(self) -> None:
        settings = QSettings()
        header = settings.value(HEADER_KEY)
        if header is not None and self.tree_panel is not None:
            self.tree_panel.tree.header().restoreState(header)
        self.editor_tabs.reopen(settings.value(f"{TABS_KEY}/{self.project.root}", [], type=list))

    def _project_closing(self) -> None:
        self._save_layout()
        self.machine.set_project(None, None)
        self.editor_tabs.set_editor(None)
        for action in self._tree_menu_actions:
            self.edit_menu.removeAction(action)
        self._tree_menu_actions = []
        self.tree_dock.setWidget(QWidget())
        if self.compile_panel is not None:
            self.compile_panel.shutdown()
            self.programs_dock.setWidget(QWidget())
            self.compile_panel = None
        self.tree_panel = None
        if self.packages_panel is not None:
            self.packages_dock.setWidget(QWidget())
            self.packages_panel = None
        self.machine_files.editor = None
        self.machine_packages.editor = None
        self.machine_packages.record = None
        self.problems.set_editor(None)

    def _packages_shown(self, visible: bool) -> None:
        """The repositories' indexes are read the first time the Packages panel shows."""
        if visible and self.packages_panel is not None and not self._packages_loaded:
            self._packages_loaded = True
            self.packages_panel.load_indexes()

    def _open_dialog(self) -> None:
        directory = QFileDialog.getExistingDirectory(self, "Open Project")
        if directory:
            self.projects.open_path(Path(directory))

    def _new_dialog(self) -> None:
        from studio.ui.new_project_dialog import new_project

        project = new_project(self)  # errors are shown inside the dialog
        if project is not None:
            self.set_project(project)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.projects.recent():
            self.recent_menu.addAction(path, lambda p=path: self.projects.open_path(Path(p)))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def _open_problem(self, path: str, line: int) -> None:
        if path == "/etc/inittab":
            self.show_inittab()
            return
        if self.editor and self.editor.state.entry(path):
            self.open_file(path)
            widget = self.tabs.currentWidget()
            if isinstance(widget, FileEditor):
                widget.mark_line(line)

    def _show_problem_counts(self, errors: int, warnings: int) -> None:
        self.problem_counts.setText(f"✖ {errors}  ⚠ {warnings}")
        total = errors + warnings
        self.problems_dock.setWindowTitle(f"Problems ({total})" if total else "Problems")

    # -- feedback ------------------------------------------------------------------------------
    def _show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _update_title(self, *_) -> None:
        name = self.project.name if self.project else ""
        self.setWindowTitle(f"{name}[*] — Image Studio" if name else "Image Studio")
        self.setWindowModified(self.is_dirty())
        self._update_actions()

    def _update_actions(self) -> None:
        if not hasattr(self, "boot_action"):
            return
        has_project = self.editor is not None
        building, live = self.machine.building, self.machine.live
        self.boot_action.setEnabled(has_project and not building and not live)
        self.reboot_action.setEnabled(has_project and not building and live)
        self.stop_action.setEnabled(live)
        self.save_action.setEnabled(has_project and (self.is_dirty() or bool(self.editor_tabs.modified())))
        self.export_action.setEnabled(has_project)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self._docks_sized:  # dock sizes only stick once the window has its size
            self._docks_sized = True
            # Wide enough for the tree's Package and Status columns; tall enough for the Programs
            # panel's buttons.
            self.resizeDocks([self.tree_dock], [680], Qt.Orientation.Horizontal)
            self.resizeDocks([self.problems_dock], [180], Qt.Orientation.Vertical)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._save_layout()
        if not self.projects.close():
            event.ignore()
            return
        self.machine.close()
        # The view goes first: a view left without a page would make a default one that
        # outlives its profile at exit.
        self.boot_pane.release()
        self.session.close()
        super().closeEvent(event)
