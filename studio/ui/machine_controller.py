"""The machine in the window: Boot (build what changed, then boot), Stop, Reboot with Changes,
snapshots, export; and what the status bar says about it (state, milestones, progress).

A machine that cannot boot yet (no guest kernel built, the page's npm files missing) is not an
error until the user asks to boot: the status bar says what is missing, and Boot explains how
to get it.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QMessageBox, QProgressBar, QWidget

from studio import assets
from studio.boot.session import BOOTING, RUNNING, BootSession
from studio.boot.snapshots import SnapshotStore
from studio.build import fsjson
from studio.image.project import Project
from studio.ui.image_editor import ImageEditor
from studio.ui.worker import Task

MILESTONE_LABELS = {"restored": "restored", "first-kernel-line": "kernel", "init": "init", "prompt": "shell"}


class MachineController(QObject):
    actionsChanged = Signal()  # boot/stop/reboot availability changed
    message = Signal(str)

    def __init__(self, session: BootSession, window: QWidget):
        super().__init__(window)
        self.window = window
        self.session = session
        session.snapshots = SnapshotStore()
        self.editor: ImageEditor | None = None
        self.project: Project | None = None
        # Set by the window: before booting or exporting, unsaved editor tabs are applied or left
        # out, as the user says (False: cancelled).
        self.prepare: Callable[[str], bool] = lambda verb: True
        self._build_task: Task | None = None
        self._boot_when_ready = False
        self._page_requested = False
        self._closed = False
        self.milestones: dict[str, float] = {}
        self.state_label = QLabel("Loading the boot page…")
        self.milestone_label = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(180)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        session.snapshotSaved.connect(self._snapshot_saved)
        session.progress.connect(self._on_progress)
        session.milestone.connect(self._on_milestone)
        session.stateChanged.connect(self._on_state)
        session.failed.connect(self._on_failed)
        session.pageReady.connect(self._on_page_ready)
        session.networkActivity.connect(self._on_network)
        self.traffic = [0, 0]  # requests, bytes of this boot
        self.network_label = QLabel("")

    # -- availability ----------------------------------------------------------------------
    def load_page(self) -> None:
        """Load the boot page if this machine has everything a boot needs; else say what is missing
        (quietly: nothing was asked yet)."""
        missing = assets.missing_assets()
        if missing:
            self.state_label.setText("Cannot boot yet: " + missing[0].split(":")[0] + " (press Boot for details)")
            self.state_label.setToolTip("\n".join(missing))
            return
        self._page_requested = True
        self.session.load()

    @property
    def building(self) -> bool:
        return self._build_task is not None and not self._build_task.done

    @property
    def live(self) -> bool:
        return self.session.state in (BOOTING, RUNNING)

    def set_project(self, project: Project | None, editor: ImageEditor | None) -> None:
        if project is not self.project and self.live:
            self.session.stop()
        self.project, self.editor = project, editor
        self.actionsChanged.emit()

    # -- commands ---------------------------------------------------------------------------
    def boot(self) -> None:
        """Build what changed (the image as edited, saved or not), then boot."""
        if self.editor is None or self.building:
            return
        if not self.session.page_ready:
            missing = assets.missing_assets()
            if missing:
                QMessageBox.warning(self.window, "Cannot boot yet", "This machine lacks what a boot needs:\n\n• "
                                    + "\n• ".join(missing))
                return
            self._boot_when_ready = True
            if not self._page_requested:  # what was missing at start is there now
                self.load_page()
            return
        if not self.prepare("booting"):
            return
        self.session.stop()
        project = self.project
        entries = self.editor.doc.snapshot()
        self.milestones = {}
        self.milestone_label.setText("")
        self.state_label.setText("Building…")
        task = Task(lambda progress, cancelled: fsjson.build(project, progress=progress, cancelled=cancelled,
                                                             entries=entries), self)
        task.progress.connect(self._on_progress)
        task.finished.connect(lambda result: self._start_machine(project, result))
        task.failed.connect(self._on_failed)
        self._build_task = task.start()
        self.actionsChanged.emit()

    def _start_machine(self, project: Project, result: fsjson.BuildResult) -> None:
        self.actionsChanged.emit()
        if project is not self.project or self._closed:
            return
        from studio.boot.guest_net import network_for

        self.traffic = [0, 0]
        self.session.boot(result.out, fsjson.boot_config(project), network_for(project))
        kind = self.session.boot_kind
        self.state_label.setText(
            "Restoring the saved machine (image unchanged)" if kind == "snapshot" else
            "Starting the image's init on the saved kernel (image changed)" if kind == "kernel" else
            f"Booting cold: {self.session.cold_reason}")
        self.session.focus_terminal()

    def stop(self) -> None:
        self.session.stop()

    def reboot(self) -> None:
        self.boot()

    def show_snapshots(self) -> None:
        from studio.ui.snapshot_dialog import SnapshotDialog

        SnapshotDialog(self.session.snapshots, self.window).exec()

    def export_dialog(self) -> None:
        from studio.ui.export_dialog import ExportDialog

        if self.editor is not None and self.prepare("exporting"):
            ExportDialog(self.project, self.session.snapshots, self.window, self.editor.doc.snapshot()).exec()

    def close(self) -> None:
        """The window is going: nothing the machine still reports may reach the user."""
        self._closed = True

    # -- feedback ------------------------------------------------------------------------------
    def _snapshot_saved(self, key: str, size: int) -> None:
        import humanize

        self.message.emit(f"Saved the machine's state ({humanize.naturalsize(size, binary=True)}): "
                          "the next boot of this image restores it instantly")

    def _on_network(self, url: str, status: int, size: int) -> None:
        import humanize

        self.traffic[0] += 1
        self.traffic[1] += size
        self.network_label.setText(f"net: {self.traffic[0]} requests, {humanize.naturalsize(self.traffic[1], binary=True)}")
        self.network_label.setToolTip(f"last: {status} {url}")
        if status == 403:
            self.message.emit(f"The machine was refused {url} (the project's network setting)")

    def _on_page_ready(self) -> None:
        self.state_label.setText("Ready. Press Boot (F5) to start the machine.")
        self.state_label.setToolTip("")
        self.actionsChanged.emit()
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
        self.actionsChanged.emit()

    def _on_failed(self, message: str) -> None:
        if self._closed:
            return
        self.progress_bar.hide()
        self.state_label.setText("Failed: " + message.splitlines()[0])
        self.actionsChanged.emit()
        # Non-modal: a failure report must never block the event loop (or a test driving it).
        box = QMessageBox(QMessageBox.Icon.Critical, "Image Studio", message, parent=self.window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
