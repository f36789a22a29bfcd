"""Starting the GUI: the application, the default project on first run, the main window."""

from __future__ import annotations

import sys
from pathlib import Path

from studio import paths
from studio.errors import StudioError
from studio.image import base
from studio.image.project import SETTINGS_FILE, Project


def default_project_dir() -> Path:
    return paths.data_dir() / "projects" / "default"


def run_gui(project_dir: Path | None = None, headless: bool = False, boot: bool = False) -> int:
    from studio.boot.qtapp import application

    app = application(headless=headless)
    from PySide6.QtWidgets import QMessageBox

    from studio.ui.main_window import MainWindow

    window = MainWindow()
    window.show()
    try:
        project = open_or_create(project_dir, window)
    except StudioError as err:
        QMessageBox.critical(window, "Image Studio", str(err))
        project = None
    window.set_project(project)
    if project is not None and boot:
        window.boot()  # waits for the page if it is still loading
    if project is not None and project_dir is None:
        window.statusBar().showMessage(f"Default project: {project.root}", 8000)
    return app.exec()


def open_or_create(project_dir: Path | None, parent=None) -> Project | None:
    """Open `project_dir`, or the default project (created on first run from the default base)."""
    if project_dir is not None:
        return Project.open(project_dir)
    directory = default_project_dir()
    if (directory / SETTINGS_FILE).exists():
        return Project.open(directory)
    return create_with_progress(directory, base.parse_base(base.DEFAULT_BASE), parent)


def create_with_progress(directory: Path, source: base.BaseSource, parent=None) -> Project | None:
    """Create a project in the background behind a cancellable progress dialog."""
    from PySide6.QtCore import QEventLoop, Qt
    from PySide6.QtWidgets import QProgressDialog

    from studio.ui.worker import Task

    dialog = QProgressDialog(f"Fetching {source.filename}…", "Cancel", 0, 1000, parent)
    dialog.setWindowTitle("Creating the default project")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)
    task = Task(lambda progress, cancelled: Project.create(directory, source, progress=progress, cancelled=cancelled))
    outcome: dict = {}
    loop = QEventLoop()
    task.progress.connect(lambda msg, frac: (dialog.setLabelText(msg), dialog.setValue(int(max(0.0, frac) * 1000))))
    task.finished.connect(lambda project: (outcome.setdefault("project", project), loop.quit()))
    task.failed.connect(lambda message: (outcome.setdefault("error", message), loop.quit()))
    task.cancelledSignal.connect(loop.quit)
    dialog.canceled.connect(task.cancel)
    task.start()
    loop.exec()
    dialog.close()
    if "error" in outcome:
        raise StudioError(outcome["error"])
    return outcome.get("project")


if __name__ == "__main__":
    sys.exit(run_gui(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
