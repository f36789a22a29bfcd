"""File > New Project: a name, a location, a base (an Alpine release or a local tarball), a mirror.

The choices are those of `studio new DIR [--base alpine:VERSION | --base PATH.tar.gz] [--mirror URL]`
and give the same project. The releases come from `studio.image.base.list_releases`: the pinned
ones, the ones in the cache (marked, usable offline) and the mirror's, listed in the background;
an unreachable mirror is said, the rest still listed. Creating runs in the background too, with
progress and Cancel; `new_project(parent)` returns the new Project (None when cancelled).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QListWidget, QListWidgetItem, QProgressBar, QPushButton, QRadioButton, QVBoxLayout, QWidget,
)

from studio import paths
from studio.image import base
from studio.image.project import SETTINGS_FILE, Project
from studio.ui.worker import Task

_RELEASE = Qt.ItemDataRole.UserRole


def default_location() -> Path:
    return paths.data_dir() / "projects"


def folder_problem(folder: Path) -> tuple[bool, str]:
    """(usable, what to tell the user) about the folder a project would be created in."""
    if folder.is_file():
        return False, f"{folder} is a file: choose another name or location."
    if (folder / SETTINGS_FILE).exists():
        return False, f"{folder} already holds a studio project: open it (File > Open Project) or choose another name."
    if folder.is_dir():
        try:
            empty = not any(folder.iterdir())
        except OSError as err:
            return False, f"{folder} cannot be read ({err.strerror}): choose another location."
        if not empty:
            return False, f"{folder} exists and is not empty: choose another name or location."
        return True, f"{folder} exists and is empty: the project goes into it."
    return True, f"{folder} will be created."


class NewProjectDialog(QDialog):
    listed = Signal()  # a listing of the mirror's releases finished (or failed: see listing_label)
    created = Signal(object)  # the new Project

    def __init__(self, parent: QWidget | None = None, location: Path | None = None, mirror: str | None = None):
        super().__init__(parent)
        self.setWindowTitle("New Project")
        self.resize(640, 600)
        self.project: Project | None = None
        self._releases: dict[str, base.Release] = {}
        self._listing_task: Task | None = None
        self._create_task: Task | None = None
        self._build(Path(location) if location else default_location(), base.mirror_url(mirror))
        self._show_releases(base.local_releases())  # at once, and offline; the mirror's follow
        self._validate()
        self.refresh()

    # -- what the user chose -----------------------------------------------------------------
    def folder(self) -> Path:
        """The project folder: location/name."""
        return Path(self.location_edit.text().strip()).expanduser() / self.name_edit.text().strip()

    def mirror(self) -> str:
        return base.mirror_url(self.mirror_edit.text().strip() or None)

    def selected_release(self) -> base.Release | None:
        item = self.release_list.currentItem()
        return self._releases.get(item.data(_RELEASE)) if item is not None else None

    def select_release(self, version: str) -> None:
        for row in range(self.release_list.count()):
            if self.release_list.item(row).data(_RELEASE) == version:
                self.release_list.setCurrentRow(row)
                return
        raise KeyError(f"Alpine {version} is not listed")

    def use_tarball(self, path: Path) -> None:
        self.tarball_radio.setChecked(True)
        self.tarball_edit.setText(str(path))

    # -- listing the releases ------------------------------------------------------------------
    def refresh(self) -> None:
        """List the mirror's releases again (in the background); `listed` fires when done."""
        mirror = self.mirror()
        self.listing_label.setText(f"Asking {mirror} for its releases…")
        task = Task(lambda progress, cancelled: base.list_releases(mirror))
        task.finished.connect(self._listed)
        task.failed.connect(self._listing_failed)
        self._listing_task = task.start()

    def _listed(self, listing: base.ReleaseList) -> None:
        if self.sender() is not self._listing_task:
            return  # an older listing, overtaken by a refresh
        self._show_releases(listing.releases)
        if listing.error:
            self.listing_label.setText(_sentence(listing.error))
        else:
            on_mirror = sum(r.on_mirror for r in listing.releases)
            self.listing_label.setText(f"{on_mirror} release(s) on {listing.mirror}; "
                                       "those marked \"in the cache\" need no network.")
        self._validate()
        self.listed.emit()

    def _listing_failed(self, message: str) -> None:
        if self.sender() is self._listing_task:
            self.listing_label.setText(message)
            self.listed.emit()

    def _show_releases(self, releases: list[base.Release]) -> None:
        chosen = self.selected_release()
        self._releases = {r.version: r for r in releases}
        self.release_list.clear()
        for release in releases:
            dated = f" ({release.date})" if release.date else ""
            item = QListWidgetItem(f"Alpine {release.version}{dated}    " + " · ".join(release.marks()))
            item.setData(_RELEASE, release.version)
            item.setToolTip(release.trust())
            self.release_list.addItem(item)
        keep = chosen.version if chosen is not None and chosen.version in self._releases else None
        version = keep or _default_release(releases)
        if version:
            self.select_release(version)

    # -- creating ----------------------------------------------------------------------------
    def create(self) -> None:
        """Create the project in the background; the dialog closes with it, or says what failed."""
        _say(self.error_label, "")
        for ok, message in (self._folder_state(), self._base_state()):
            if not ok:
                _say(self.error_label, message)
                return
        folder, release, mirror = self.folder(), self.selected_release(), self.mirror()
        tarball = None if self.release_radio.isChecked() else self._tarball()

        def work(progress, cancelled):
            # As `studio new` does: the release with the checksum the listing trusts, or the tarball
            # (hashed here, off the GUI thread: a big one takes a while).
            source = base.local_source(tarball) if tarball else release.source(mirror)
            return Project.create(folder, source, progress=progress, cancelled=cancelled)

        self._set_busy(True)
        _say(self.progress_label, f"Creating {folder}…")
        task = Task(work)
        task.progress.connect(self._progress)
        task.finished.connect(self._created)
        task.failed.connect(self._failed)
        task.cancelledSignal.connect(self._cancelled)
        self._create_task = task.start()

    def reject(self) -> None:
        """Cancel: stops a creation under way (the dialog stays open), else closes the dialog."""
        if self._create_task is not None and not self._create_task.done:
            self._create_task.cancel()
            _say(self.progress_label, "Cancelling…")
            return
        super().reject()

    def _progress(self, message: str, fraction: float) -> None:
        _say(self.progress_label, message)
        self.progress_bar.setValue(int(max(0.0, min(1.0, fraction)) * 1000))

    def _created(self, project: Project) -> None:
        self.project = project
        self._set_busy(False)
        self.created.emit(project)
        self.accept()

    def _failed(self, message: str) -> None:
        self._set_busy(False)
        _say(self.progress_label, "")
        _say(self.error_label, message)

    def _cancelled(self) -> None:
        self._set_busy(False)
        _say(self.progress_label, "Cancelled: nothing was created.")

    def _set_busy(self, busy: bool) -> None:
        self.form.setEnabled(not busy)
        self.create_button.setEnabled(not busy)
        self.progress_bar.setVisible(busy)
        self.progress_bar.setValue(0)
        if not busy:
            self._create_task = None
            self._validate()

    # -- the form ----------------------------------------------------------------------------
    def _build(self, location: Path, mirror: str) -> None:
        self.form = QWidget(self)
        self.name_edit = QLineEdit(_free_name(location), self.form)
        self.location_edit = QLineEdit(str(location), self.form)
        browse_location = QPushButton("Browse…", self.form)
        browse_location.clicked.connect(self._choose_location)
        self.folder_label = QLabel(self.form)
        self.folder_label.setWordWrap(True)
        where = QHBoxLayout()
        where.addWidget(self.location_edit, 1)
        where.addWidget(browse_location)
        fields = QFormLayout()
        fields.addRow("Name:", self.name_edit)
        fields.addRow("Location:", where)
        fields.addRow("", self.folder_label)

        self.release_radio = QRadioButton("An Alpine release (x86 minirootfs)", self.form)
        self.release_radio.setChecked(True)
        self.mirror_edit = QLineEdit(mirror, self.form)
        self.mirror_edit.setToolTip("Where releases are listed and downloaded from. A project does not store it: "
                                    f"later downloads use ${base.MIRROR_ENV} or the official mirror.")
        self.mirror_edit.returnPressed.connect(self.refresh)
        self.refresh_button = QPushButton("Refresh", self.form)
        self.refresh_button.clicked.connect(self.refresh)
        mirror_row = QHBoxLayout()
        mirror_row.addWidget(QLabel("Mirror:", self.form))
        mirror_row.addWidget(self.mirror_edit, 1)
        mirror_row.addWidget(self.refresh_button)
        self.release_list = QListWidget(self.form)
        self.release_list.currentItemChanged.connect(lambda *_: self._validate())
        self.listing_label = QLabel(self.form)
        self.listing_label.setWordWrap(True)
        self.trust_label = QLabel(self.form)
        self.trust_label.setWordWrap(True)
        lines = self.fontMetrics().lineSpacing()
        self.listing_label.setMinimumHeight(3 * lines)  # room for a wrapped message: the list gives way
        self.trust_label.setMinimumHeight(4 * lines)
        self.trust_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.listing_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.tarball_radio = QRadioButton("A local root filesystem tarball (.tar.gz)", self.form)
        self.tarball_edit = QLineEdit(self.form)
        self.tarball_edit.setPlaceholderText("alpine-minirootfs-…-x86.tar.gz")
        browse_tarball = QPushButton("Browse…", self.form)
        browse_tarball.clicked.connect(self._choose_tarball)
        tarball_row = QHBoxLayout()
        tarball_row.addWidget(self.tarball_edit, 1)
        tarball_row.addWidget(browse_tarball)
        kinds = QButtonGroup(self)
        kinds.addButton(self.release_radio)
        kinds.addButton(self.tarball_radio)
        kinds.buttonToggled.connect(lambda *_: self._validate())
        base_box = QGroupBox("Base", self.form)
        base_layout = QVBoxLayout(base_box)
        base_layout.addWidget(self.release_radio)
        base_layout.addLayout(mirror_row)
        base_layout.addWidget(self.release_list, 1)
        base_layout.addWidget(self.listing_label)
        base_layout.addWidget(self.trust_label)
        base_layout.addWidget(self.tarball_radio)
        base_layout.addLayout(tarball_row)
        form_layout = QVBoxLayout(self.form)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addLayout(fields)
        form_layout.addWidget(base_box, 1)

        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setVisible(False)
        self.progress_label = QLabel(self)
        self.progress_label.setWordWrap(True)
        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(self)
        self.create_button = buttons.addButton("Create", QDialogButtonBox.ButtonRole.ActionRole)
        self.create_button.clicked.connect(self.create)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.clicked.connect(self.reject)
        for button in (self.create_button, self.cancel_button, self.refresh_button, browse_location, browse_tarball):
            button.setAutoDefault(False)  # Enter in the mirror field refreshes, it does not create
        _say(self.progress_label, "")
        _say(self.error_label, "")
        layout = QVBoxLayout(self)
        layout.addWidget(self.form, 1)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        for edit in (self.name_edit, self.location_edit, self.tarball_edit):
            edit.textChanged.connect(lambda *_: self._validate())

    def _folder_state(self) -> tuple[bool, str]:
        name = self.name_edit.text().strip()
        if not name or name in (".", "..") or "/" in name or "\\" in name:
            return False, "Give the project a name (it is also its folder's name; no slashes)."
        if not self.location_edit.text().strip():
            return False, "Choose a location: the project folder is made in it."
        return folder_problem(self.folder())

    def _base_state(self) -> tuple[bool, str]:
        if self.tarball_radio.isChecked():
            tarball = self._tarball()
            if tarball is None or not tarball.is_file():
                return False, "Choose the tarball (Browse…): a root filesystem .tar.gz for x86."
            return True, "The tarball's SHA-512 is recorded in studio.toml: the project always gets this very file."
        release = self.selected_release()
        if release is None:
            return False, "Choose a release, or a local tarball."
        return not release.problem, release.trust()

    def _tarball(self) -> Path | None:
        text = self.tarball_edit.text().strip()
        return Path(text).expanduser() if text else None

    def _validate(self) -> None:
        """Say what the folder and the base will be, and allow Create only when both are usable."""
        folder_ok, folder_message = self._folder_state()
        base_ok, base_message = self._base_state()
        self.folder_label.setText(folder_message)
        self.folder_label.setStyleSheet("" if folder_ok else "color: #b00020")
        self.trust_label.setText(base_message)
        self.trust_label.setStyleSheet("" if base_ok else "color: #b00020")
        self.release_list.setEnabled(self.release_radio.isChecked())
        busy = self._create_task is not None and not self._create_task.done
        self.create_button.setEnabled(folder_ok and base_ok and not busy)

    def _choose_location(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Where to create the project", self.location_edit.text())
        if folder:
            self.location_edit.setText(folder)

    def _choose_tarball(self) -> None:
        path = QFileDialog.getOpenFileName(self, "A root filesystem tarball", self.tarball_edit.text(),
                                           "Tarballs (*.tar.gz *.tgz);;All files (*)")[0]
        if path:
            self.use_tarball(Path(path))


def new_project(parent: QWidget | None = None, location: Path | None = None) -> Project | None:
    """Ask for a new project and create it: the Project, or None when the user cancelled."""
    dialog = NewProjectDialog(parent, location)
    try:
        dialog.exec()
        return dialog.project
    finally:
        dialog.deleteLater()


def _sentence(text: str) -> str:
    """`text` with a capital first letter, unless it starts with an address (file:///… stays)."""
    if text.split(" ", 1)[0].find("://") >= 0:
        return text
    return text[:1].upper() + text[1:]


def _say(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))


def _default_release(releases: list[base.Release]) -> str | None:
    """The release `studio new` uses by default when it is in the cache, else the newest cached
    one (offline that is what works), else the default, else the newest usable."""
    usable = [r for r in releases if not r.problem]
    default = base.ALPINE_BRANCHES.get(base.DEFAULT_BASE.split(":", 1)[1])
    cached = [r.version for r in usable if r.cached]
    if default in cached:
        return default
    if cached:
        return cached[0]
    if any(r.version == default for r in usable):
        return default
    return usable[0].version if usable else None


def _free_name(location: Path) -> str:
    name, number = "my-image", 1
    while (location / name).exists():
        number += 1
        name = f"my-image-{number}"
    return name
