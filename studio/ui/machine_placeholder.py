"""What the Machine tab shows before the first boot of a session: what will boot (the project,
its base, memory, network, packages and programs), when it last booted, and a Boot button —
rather than a black terminal."""

from __future__ import annotations

import time

import humanize
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

LAST_BOOT_KEY = "lastBoot"


def remember_boot(project, kind: str, seconds: float) -> None:
    """Note a boot that reached its prompt (shown the next time the project opens)."""
    QSettings().setValue(f"{LAST_BOOT_KEY}/{project.root}", [time.time(), kind, seconds])


class MachinePlaceholder(QWidget):
    def __init__(self, boot_action: QAction, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel(self)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.title.font()
        font.setPointSize(font.pointSize() + 6)
        self.title.setFont(font)
        self.details = QLabel(self)
        self.details.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.details.setWordWrap(True)
        self.boot_button = QPushButton(boot_action.icon(), "Boot (F5)", self)
        self.boot_button.setMinimumHeight(40)
        self.boot_button.clicked.connect(boot_action.trigger)
        boot_action.changed.connect(lambda: self.boot_button.setEnabled(boot_action.isEnabled()))
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(self.title)
        layout.addWidget(self.details)
        layout.addSpacing(12)
        layout.addWidget(self.boot_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)
        self.show_project(None)

    def show_project(self, project, packages: int = 0, programs: int = 0) -> None:
        if project is None:
            self.title.setText("No project open")
            self.details.setText("Open or create a project (File menu) to boot it here.")
            return
        self.title.setText(f"{project.name}")
        network = {"repositories": "its repositories", "web": "its repositories and the web",
                   "off": "none"}.get(project.boot.network, project.boot.network)
        lines = [f"Base: {project.base.spec}  ·  memory {project.boot.memory_mb} MB  ·  network: {network}",
                 f"{packages} package(s) added  ·  {programs} program(s)"]
        if project.boot.kernel_args:
            lines.append(f"kernel arguments: {project.boot.kernel_args}")
        last = QSettings().value(f"{LAST_BOOT_KEY}/{project.root}")
        if isinstance(last, (list, tuple)) and len(last) == 3:
            when, kind, seconds = float(last[0]), str(last[1]), float(last[2])
            how = {"snapshot": "from its saved prompt", "kernel": "on the saved kernel"}.get(kind, "cold")
            lines.append(f"Last booted {humanize.naturaltime(time.time() - when)}, {how}, to the prompt in {seconds:.2f} s")
        else:
            lines.append("Not booted yet: the first boot saves the machine, so later boots are quick.")
        self.details.setText("\n".join(lines))
