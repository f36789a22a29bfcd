"""The main window: a boot pane with the guest's terminal, Boot / Stop / Reboot, progress and status."""

from __future__ import annotations

from pathlib import Path

import shiboken6

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import (
    QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox, QProgressBar, QStyle, QToolBar, QVBoxLayout, QWidget,
)

from studio.boot.session import BOOTING, RUNNING, BootSession
from studio.build import fsjson
from studio.errors import StudioError
from studio.image.project import Project
from studio.ui.worker import Task

MILESTONE_LABELS = {"first-kernel-line": "kernel", "init": "init", "prompt": "shell"}


class BootPane(QWidget):
    """The live machine: the boot page (v86 + xterm.js) in a web view, with a terminal context menu."""

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
        if self.view is not None:
            shiboken6.delete(self.view)
            self.view = None


class MainWindow(QMainWindow):
    bootRequested = Signal()

    def __init__(self, project: Project | None = None):
        super().__init__()
        self.project: Project | None = None
        self._build_task: Task | None = None
        self._boot_when_ready = False
        self.session = BootSession(self)
        self.boot_pane = BootPane(self.session, self)
        self.setCentralWidget(self.boot_pane)
        self._make_actions()
        self._make_status_bar()
        self.session.progress.connect(self._on_progress)
        self.session.milestone.connect(self._on_milestone)
        self.session.stateChanged.connect(self._on_state)
        self.session.failed.connect(self._on_failed)
        self.session.pageReady.connect(self._on_page_ready)
        self.milestones: dict[str, float] = {}
        self.resize(1100, 750)
        self.set_project(project)
        self.session.load()

    # -- construction ----------------------------------------------------------
    def _make_actions(self) -> None:
        style = self.style()
        self.boot_action = QAction(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "&Boot", self)
        self.boot_action.setShortcut(QKeySequence("F5"))
        self.boot_action.setToolTip("Build what changed and boot the image (F5)")
        self.boot_action.triggered.connect(self.boot)
        self.stop_action = QAction(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "&Stop", self)
        self.stop_action.setShortcut(QKeySequence("Shift+F5"))
        self.stop_action.triggered.connect(self.stop)
        self.reboot_action = QAction(style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload), "&Reboot", self)
        self.reboot_action.setShortcut(QKeySequence("Ctrl+Shift+F5"))
        self.reboot_action.setToolTip("Stop, rebuild what changed and boot again")
        self.reboot_action.triggered.connect(self.reboot)
        open_action = QAction("&Open Project…", self)
        open_action.setShortcut(QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self._open_dialog)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)

        toolbar = QToolBar("Machine", self)
        toolbar.setObjectName("machine-toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.boot_action, self.stop_action, self.reboot_action):
            toolbar.addAction(action)
        self.addToolBar(toolbar)
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(open_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        machine_menu = self.menuBar().addMenu("&Machine")
        for action in (self.boot_action, self.stop_action, self.reboot_action):
            machine_menu.addAction(action)

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

    # -- project ---------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        if self.session.state in (BOOTING, RUNNING):
            self.session.stop()
        self.project = project
        self.setWindowTitle(f"{project.name} — Image Studio" if project else "Image Studio")
        self._update_actions()

    def _open_dialog(self) -> None:
        directory = QFileDialog.getExistingDirectory(self, "Open Project")
        if not directory:
            return
        try:
            self.set_project(Project.open(Path(directory)))
        except StudioError as err:
            QMessageBox.critical(self, "Cannot open project", str(err))

    # -- machine ---------------------------------------------------------------
    def boot(self) -> None:
        """Build what changed, then boot. Safe to call while the page is still loading."""
        if self.project is None or (self._build_task and not self._build_task.done):
            return
        if not self.session.page_ready:
            self._boot_when_ready = True
            return
        self.session.stop()
        project = self.project
        self.milestones = {}
        self.milestone_label.setText("")
        self.state_label.setText("Building…")
        task = Task(lambda progress, cancelled: fsjson.build(project, progress=progress, cancelled=cancelled), self)
        task.progress.connect(self._on_progress)
        task.finished.connect(lambda result: self._start_machine(project, result))
        task.failed.connect(self._on_failed)
        self._build_task = task.start()
        self._update_actions()

    def _start_machine(self, project: Project, result: fsjson.BuildResult) -> None:
        self.state_label.setText(f"Built: {result.summary()}")
        self.session.boot(result.out, fsjson.boot_config(project))
        self.session.focus_terminal()
        self.boot_pane.view.setFocus()
        self._update_actions()

    def stop(self) -> None:
        self.session.stop()

    def reboot(self) -> None:
        self.boot()

    # -- feedback ----------------------------------------------------------------
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
        self.boot_action.setEnabled(self.project is not None and not building and not live)
        self.reboot_action.setEnabled(self.project is not None and not building and live)
        self.stop_action.setEnabled(live)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        # The view goes first: a view left without a page would make a default one that
        # outlives its profile at exit.
        self.boot_pane.release()
        self.session.close()
        super().closeEvent(event)
