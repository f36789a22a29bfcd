"""Keeping what the running machine installed: after `apk add` / `apk del` in the guest, the
studio reads the guest's /etc/apk/world and offers to record the difference in the project's
package list, so the next build installs it reproducibly (resolved, verified and locked like any
other package change). It looks by itself once the guest's apk has been quiet for a moment after
fetching from the repositories, and on request (Machine > Record Packages from Machine)."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox, QWidget

from studio.boot.session import RUNNING, BootSession
from studio.packages.config import REPO_DOMAIN, world_dependency

WORLD = "/etc/apk/world"
QUIET_MS = 4000


class MachinePackages(QObject):
    def __init__(self, session: BootSession, window: QWidget):
        super().__init__(window)
        self.session = session
        self.window = window
        self.editor = None
        self.record: Callable[[list[str], list[str], str], object] | None = None  # the Packages panel's
        self.ask_record = self._ask_record  # a hook tests answer
        self._asked = False
        self._quiet = QTimer(self, singleShot=True, interval=QUIET_MS)
        self._quiet.timeout.connect(lambda: self.check(quietly=True))
        session.networkActivity.connect(self._activity)
        session.pulled.connect(self._pulled)
        self._quietly = False

    def _activity(self, url: str, status: int, size: int) -> None:
        if f".{REPO_DOMAIN}/" in url and url.endswith(".apk"):
            self._quiet.start()  # apk is installing: look once it is done

    def check(self, quietly: bool = False) -> None:
        """Read the guest's package list (typing `sync` first when it sits at its prompt)."""
        if self.editor is None or self.session.state != RUNNING:
            if not quietly:
                self.window.statusBar().showMessage("Boot the machine first", 6000)
            return
        self._asked, self._quietly = True, quietly
        self.session.pull(WORLD)

    def _pulled(self, path: str, items: list) -> None:
        if path != WORLD or not self._asked or self.editor is None:
            return
        self._asked = False
        guest = set(items[0]["data"].decode(errors="replace").split()) if items else set()
        image = set(self.editor.doc.read_bytes(WORLD).decode(errors="replace").split())
        added, removed = sorted(guest - image), sorted(image - guest)
        settings = self.editor.doc.project.packages
        listed = {world_dependency(w).name: w for w in settings.world}
        removable = [w for w in removed if world_dependency(w).name in listed]
        if not added and not removable:
            if not self._quietly:
                self.window.statusBar().showMessage("The machine's packages match the project's", 6000)
            return
        if self.record is None or not self.ask_record(added, removable):
            return
        label = "Record packages from the machine: " + ", ".join([f"+{a}" for a in added] + [f"-{r}" for r in removable])
        self.record(added, removable, label)

    def _ask_record(self, added: list[str], removed: list[str]) -> bool:
        lines = [f"installed in the machine: {', '.join(added)}"] if added else []
        lines += [f"removed in the machine: {', '.join(removed)}"] if removed else []
        answer = QMessageBox.question(
            self.window, "Keep the machine's packages?",
            "The running machine's package list differs from the project's:\n\n" + "\n".join(lines) +
            "\n\nRecord this in the project's package list, so every build installs it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes
