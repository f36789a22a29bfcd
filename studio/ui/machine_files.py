"""Files between the desktop, the project and the running machine: drops onto the machine,
pushing an image file to it, pulling what the guest made back into the project."""

from __future__ import annotations

import posixpath
import stat
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from studio.boot.session import REFRESH_COMMAND, RUNNING, SYNC_COMMAND, BootSession
from studio.image import inject
from studio.image.entry import DIR, FILE, SYMLINK, Entry, normalize
from studio.ui.image_editor import ImageEditor


class MachineFiles(QObject):
    def __init__(self, session: BootSession, window: QWidget):
        super().__init__(window)
        self.session = session
        self.window = window
        self.editor: ImageEditor | None = None
        # Questions asked through hooks, so tests can answer them.
        self.ask_keep = self._ask_keep
        self.ask_pull_path = self._ask_pull_path
        self._pending_keep: tuple[list[Path], str] | None = None
        self._pull_synced: dict[str, bool] = {}  # guest path -> whether `sync` ran before it was read
        session.injected.connect(self._injected)
        session.pulled.connect(self._pulled)
        session.requestFailed.connect(self._message)

    def _message(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 8000)

    def _running(self) -> bool:
        if self.session.state != RUNNING:
            self._message("Boot the machine first: files go into the running guest.")
            return False
        return True

    # -- desktop -> machine ------------------------------------------------------------------
    def drop(self, paths: list[Path], folder: str) -> None:
        """Files dropped on the machine: into `folder` of the running guest, then maybe the project."""
        if not self._running():
            return
        try:
            folder = normalize(folder)
        except ValueError:  # typed above the terminal: '..' past the root
            self._message(f"Not a folder in the guest: {folder!r}; nothing was sent.")
            return
        items = []
        for host, guest, _size in inject.placements(paths, folder):
            st = host.lstat()
            if stat.S_ISDIR(st.st_mode):
                items.append({"path": guest, "kind": "dir", "mode": 0o755})
            elif stat.S_ISREG(st.st_mode):
                items.append({"path": guest, "kind": "file", "mode": 0o755 if st.st_mode & 0o100 else 0o644,
                              "data": host.read_bytes()})
        self._pending_keep = (paths, folder)
        self.session.inject(items)

    def push(self, image_paths: list[str]) -> None:
        """Send files of the image (as edited) to the same paths in the running guest."""
        if self.editor is None or not self._running():
            return
        items = []
        for path in image_paths:
            entry = self.editor.state.entry(path)
            if entry is not None and entry.kind == FILE:
                items.append({"path": path, "kind": "file", "mode": entry.mode,
                              "data": self.editor.doc.read_bytes(path)})
        self._pending_keep = None
        if items:
            self.session.inject(items)

    def _injected(self, count: int, existed: list) -> None:
        note = ""
        if existed:
            # cache=loose: without this the guest would go on reading the old contents it cached.
            # The command is typed only at a shell prompt, where it cannot feed a running program.
            if self.session.refresh_guest_cache():
                note = (f"; {len(existed)} replaced file(s): typed `{REFRESH_COMMAND}` at the guest's shell "
                        "so it reads them anew")
            else:
                note = (f"; {len(existed)} replaced file(s), but the guest's shell is not at its prompt, so "
                        f"nothing was typed: it may show their old contents until you run `{REFRESH_COMMAND}`")
        if self._pending_keep is None:
            self._message(f"Sent {count} item(s) to the running machine{note}")
            return
        paths, folder = self._pending_keep
        self._pending_keep = None
        self._message(f"Put {count} item(s) into {folder} on the running machine{note}")
        if self.editor is not None and self.ask_keep(folder, count):
            self.editor.drop_host_files(paths, folder)

    def _ask_keep(self, folder: str, count: int) -> bool:
        answer = QMessageBox.question(
            self.window, "Keep in the project?",
            f"{count} item(s) are now in {folder} on the running machine, until it stops. "
            "Add them to the project too, so every boot has them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # -- machine -> project ------------------------------------------------------------------
    def pull(self, path: str | None = None) -> None:
        if self.editor is None or not self._running():
            return
        path = path or self.ask_pull_path()
        if not path:
            return
        try:
            path = normalize(path)
        except ValueError:
            self._message(f"Not a path in the guest: {path!r}")
            return
        self._pull_synced[path] = self.session.pull(path)
        if not self._pull_synced[path]:
            self._message(f"Pulling {path}; the guest's shell is not at its prompt, so `{SYNC_COMMAND}` was not "
                          "typed: what it wrote in the last seconds may be missing")

    def _ask_pull_path(self) -> str:
        path, ok = QInputDialog.getText(
            self.window, "Pull from Machine",
            "File or folder in the running guest to copy into the project:\n"
            f"(when the guest is at its shell prompt, the studio types `{SYNC_COMMAND}` there first so recent "
            "writes reach the files)", text="/root")
        return path.strip() if ok else ""

    def _pulled(self, path: str, items: list) -> None:
        if path not in self._pull_synced:
            return  # another part of the studio asked for it (the machine's package list)
        synced = self._pull_synced.pop(path)
        if self.editor is None:
            return
        managed = [i for i in items if _apk_managed(i["path"])]
        if managed:
            # Packages come through the package list (Machine > Record Packages from Machine),
            # not as copied files: apk's database and world are the package layer's.
            items = [i for i in items if not _apk_managed(i["path"])]
            self._message(f"Left out {len(managed)} item(s) apk manages; use Machine > Record Packages from "
                          "Machine to keep what the guest installed")
            if not items:
                return
        if not items:
            self._message(f"{path} does not exist in the running machine")
            return
        entries = []
        for item in items:
            if item["kind"] == "dir":
                entries.append(Entry(item["path"], DIR, item["mode"]))
            elif item["kind"] == "symlink":
                entries.append(Entry(item["path"], SYMLINK, 0o777, target=item["target"],
                                     size=len(item["target"].encode())))
            else:
                source, size, sha = self.editor.doc.store_bytes(item["data"])
                entries.append(Entry(item["path"], FILE, item["mode"], size=size, sha256=sha, source=source))
        files = self.editor.add_asking(entries, f"Pull {posixpath.basename(path)}")
        if files is not None:
            unsynced = "" if synced else f" (without `{SYNC_COMMAND}`: recent writes may be missing)"
            self._message(f"Pulled {files} file(s) from {path} into the project{unsynced}")


def _apk_managed(path: str) -> bool:
    return path in ("/etc/apk/world", "/lib/apk/db") or path.startswith("/lib/apk/db/")
