"""Export dialog: write the image in one of three forms, with progress and a report. A static web
bundle (what takes the space; open it in the system browser from a local server), a rootfs
tarball (docker import, chroot), or an Alpine backup (lbu's apkovl, listing what it leaves out)."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QProgressBar, QPushButton,
    QVBoxLayout, QWidget,
)

from studio.boot.snapshots import SnapshotStore
from studio.build import archives
from studio.build.export import export
from studio.image.project import Project
from studio.ui.worker import Task

_servers: dict[str, http.server.ThreadingHTTPServer] = {}  # one local server per bundle, for the session

# (key, label in the Format box, what it is for)
FORMATS = (
    ("web", "Web page (static bundle)", "A folder any static web server serves: the machine boots in the visitor's browser."),
    ("rootfs", "Root filesystem tarball (.tar.gz)",
     "The whole image as Alpine's minirootfs is laid out: docker import, a chroot, another studio's New Project."),
    ("apkovl", "Alpine backup (lbu apkovl)",
     "What lbu package would write: your changes under /etc and /etc/apk (world, keys, repositories), "
     "restored onto a stock Alpine at boot. Anything it cannot carry is listed."),
)


def serve(directory: Path) -> str:
    """Serve `directory` on 127.0.0.1 (once) and return its URL."""
    key = str(directory)
    if key not in _servers:
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=key)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        _servers[key] = server
    return f"http://127.0.0.1:{_servers[key].server_address[1]}/"


class ExportDialog(QDialog):
    def __init__(self, project: Project, snapshots: SnapshotStore, parent=None, entries=None):
        """`entries`: the image as the user sees it (saved or not); None: as saved on disk."""
        super().__init__(parent)
        self.setWindowTitle(f"Export {project.name}")
        self.resize(640, 460)
        self.project = project
        self.entries = entries
        self.snapshots = snapshots
        self.format = QComboBox(self)
        for key, label, _ in FORMATS:
            self.format.addItem(label, key)
        self.format_note = QLabel(self)
        self.format_note.setWordWrap(True)
        self.folder = QLineEdit(self)
        self.folder_label = QLabel(self)
        browse = QPushButton("Choose…", self)
        browse.clicked.connect(self._choose)
        self.with_snapshot = QCheckBox("Include the saved machine state (the page opens at a running shell)", self)
        self.with_kernel_state = QCheckBox("Include the saved kernel state (a visitor's first boot starts at the "
                                           "kernel; the image's own init still runs)", self)
        self.with_network = QCheckBox("Give the page's machine the project's repositories (each must send "
                                      "Access-Control-Allow-Origin; without this the machine has no network)", self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.report = QPlainTextEdit(self)
        self.report.setReadOnly(True)
        self.export_button = QPushButton("Export", self)
        self.export_button.clicked.connect(self.start)
        self.open_button = QPushButton("Open in Browser", self)
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_in_browser)
        format_row = QHBoxLayout()
        format_row.addWidget(QLabel("Format:"))
        format_row.addWidget(self.format, 1)
        row = QHBoxLayout()
        row.addWidget(self.folder_label)
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addLayout(format_row)
        layout.addWidget(self.format_note)
        layout.addLayout(row)
        layout.addWidget(self.with_snapshot)
        layout.addWidget(self.with_kernel_state)
        layout.addWidget(self.with_network)
        layout.addWidget(self.progress)
        layout.addWidget(self.report)
        layout.addLayout(buttons)
        # Where the bundle is served, once "Open in Browser" was pressed: shown (selectable, with a
        # Copy button) because a browser may not start, e.g. Chromium as root without --no-sandbox.
        self.url_field = QLineEdit(self)
        self.url_field.setReadOnly(True)
        copy_url = QPushButton("Copy", self)
        copy_url.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.url_field.text()))
        self.open_note = QLabel(self)
        self.open_note.setWordWrap(True)
        self.open_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.url_row = QWidget(self)
        url_layout = QHBoxLayout(self.url_row)
        url_layout.setContentsMargins(0, 0, 0, 0)
        url_layout.addWidget(QLabel("Served at:"))
        url_layout.addWidget(self.url_field, 1)
        url_layout.addWidget(copy_url)
        self.url_row.hide()
        self.open_note.hide()
        layout.insertWidget(layout.indexOf(self.report) + 1, self.url_row)
        layout.insertWidget(layout.indexOf(self.report) + 2, self.open_note)
        self.task: Task | None = None
        self.url = ""
        self.format.currentIndexChanged.connect(self._format_chosen)
        self._format_chosen()

    @property
    def kind(self) -> str:
        return self.format.currentData()

    def default_path(self, kind: str) -> Path:
        folder = self.project.root.parent
        if kind == "rootfs":
            return folder / f"{self.project.name}-rootfs.tar.gz"
        if kind == "apkovl":
            entries = self.entries if self.entries is not None else self.project.merged()
            return folder / archives.apkovl_name(archives.image_hostname(entries, self.project.name))
        return folder / f"{self.project.name}-web"

    def _format_chosen(self) -> None:
        kind = self.kind
        self.format_note.setText(next(note for key, _, note in FORMATS if key == kind))
        self.folder_label.setText("Folder:" if kind == "web" else "File:")
        self.folder.setText(str(self.default_path(kind)))
        for box in (self.with_snapshot, self.with_kernel_state, self.with_network):
            box.setVisible(kind == "web")  # machine states and the network belong to the web page only
        self.open_button.setVisible(kind == "web")
        self.open_button.setEnabled(False)
        self.url_row.hide()
        self.open_note.hide()
        self.report.clear()
        self.progress.setValue(0)

    def _choose(self) -> None:
        if self.kind == "web":
            chosen = QFileDialog.getExistingDirectory(self, "Export into folder")
        else:
            chosen, _ = QFileDialog.getSaveFileName(self, "Export to file", self.folder.text(),
                                                    "Gzipped tarballs (*.tar.gz)")
        if chosen:
            self.folder.setText(chosen)

    def start(self) -> None:
        out = Path(self.folder.text()).expanduser()
        if self.kind != "web":
            self._start_archive(out)
            return
        snapshot = None
        if self.with_snapshot.isChecked():
            snapshot = self.snapshots.for_export(self.project, self.entries)
            if snapshot is None:
                self.report.setPlainText("No saved machine state for this image as it is now: boot it once "
                                         "(the state is saved at its first prompt), or export without the state.")
                return
        kernel_state = None
        if self.with_kernel_state.isChecked() and snapshot is None:
            kernel_state = self.snapshots.kernel_state_for(self.project)
            if kernel_state is None:
                self.report.setPlainText("No saved kernel state for this machine yet: boot any image once, or "
                                         "export without it.")
                return
        network = self.with_network.isChecked()
        self._run(lambda progress, cancelled: export(self.project, out, snapshot, progress, self.entries,
                                                     network, kernel_state),
                  self._done)

    def _start_archive(self, out: Path) -> None:
        write = archives.export_rootfs if self.kind == "rootfs" else archives.export_apkovl
        self._run(lambda progress, cancelled: write(self.project, out, self.entries, progress=progress),
                  self._archive_done)

    def _archive_done(self, report: archives.ArchiveReport) -> None:
        self.progress.setValue(1000)
        self.report.setPlainText(report.text())  # its "NOT in the archive" lines must reach the user
        self.export_button.setEnabled(True)
        self.out = report.out

    def _run(self, work, done) -> None:
        self.export_button.setEnabled(False)
        self.task = Task(work, self)
        self.task.progress.connect(lambda message, fraction: (self.progress.setValue(int(fraction * 1000)),
                                                               self.progress.setFormat(message)))
        self.task.finished.connect(done)
        self.task.failed.connect(lambda message: (self.report.setPlainText(message),
                                                  self.export_button.setEnabled(True)))
        self.task.start()

    def _done(self, report) -> None:
        self.progress.setValue(1000)
        self.report.setPlainText(f"Exported to {report.out}\n\n{report.table()}\n\n"
                                 "Any static web server serves it (no special headers), e.g.\n"
                                 f"  python3 -m http.server -d {report.out}")
        self.export_button.setEnabled(True)
        self.open_button.setEnabled(True)
        self.out = report.out

    def open_in_browser(self) -> None:
        self.url = serve(self.out)
        self.url_field.setText(self.url)
        self.url_row.show()
        opened = QDesktopServices.openUrl(QUrl(self.url))
        self.open_note.setText(_open_note(opened, _is_root()))
        self.open_note.show()


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _open_note(opened: bool, as_root: bool) -> str:
    """What to tell the user after asking the desktop to open the URL. The desktop's launcher
    (xdg-open) returns at once, so a browser that then refuses to start goes unnoticed: as root,
    Chromium does without --no-sandbox."""
    root = (" You are running as root: Chromium refuses to start as root without --no-sandbox, so open the "
            "URL in a browser yourself (e.g. chromium --no-sandbox URL).") if as_root else ""
    if not opened:
        return "Could not open a browser: open the URL above in one." + root
    return "Asked the desktop to open the URL above in your browser; if none appears, open it there." + root
