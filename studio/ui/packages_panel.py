"""The Packages panel: search the repositories while typing, a package's details, Add and Remove
(each first shows what will change, then runs in the background with progress and Cancel, and
is one undoable step), and Check for Updates.

A package change is written to the project at once (studio.toml's package list, packages.lock),
like a program's definition; undo writes the previous ones back. The image then gets the new
package layer under the user's edits (ImageDocument.rebase).
"""

from __future__ import annotations


import humanize
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QLineEdit, QMessageBox, QProgressDialog, QPushButton, QSplitter, QTableView, QTextBrowser,
    QVBoxLayout, QWidget,
)

from studio.errors import StudioError
from studio.image import package_ops
from studio.image.project_packages import repositories_of, trusted_keys
from studio.packages import fetch
from studio.packages import installed as db
from studio.packages.config import PackageSettings, add_to_world, remove_from_world, world_dependency
from studio.packages.model import Package, format_dependency
from studio.packages.search import SearchIndex
from studio.ui.commands import PackageCommand, PackageState
from studio.ui.guest_runner import GuestRunner
from studio.ui.image_editor import ImageEditor
from studio.ui.worker import Task

SHOWN = 500  # rows the result table shows at most (the search itself covers everything)


class ResultsModel(QAbstractTableModel):
    COLUMNS = ("Name", "Version", "Description")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[Package] = []
        self.installed: dict[str, str] = {}

    def set_rows(self, rows: list[Package]) -> None:
        self.beginResetModel()
        self.rows = rows[:SHOWN]
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt override)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        package = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 0:
                return package.name + ("  ✓" if package.name in self.installed else "")
            return package.version if index.column() == 1 else package.description
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{package.name} {package.version} ({package.repository})"
        return None


class PackagesPanel(QWidget):
    message = Signal(str)

    def __init__(self, editor: ImageEditor, parent: QWidget | None = None):
        super().__init__(parent)
        self.editor = editor
        self.runner = GuestRunner(self)
        self.index: SearchIndex | None = None
        self.all_packages: list[Package] = []
        self.task: Task | None = None
        # Questions, as hooks tests answer.
        self.confirm = self._confirm
        self.search_box = QLineEdit(self)
        self.search_box.setPlaceholderText("Search packages by name or description…")
        self.search_box.setClearButtonEnabled(True)
        self.results = ResultsModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.results)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_details())
        self.details = QTextBrowser(self)
        self.world_label = QLabel(self)
        self.world_label.setWordWrap(True)
        self.status = QLabel("", self)
        self.add_button = QPushButton("Add", self)
        self.remove_button = QPushButton("Remove", self)
        self.updates_button = QPushButton("Check for Updates", self)
        self.refresh_button = QPushButton("Refresh Indexes", self)
        self.add_button.clicked.connect(lambda: self.add([self.selected().name] if self.selected() else []))
        self.remove_button.clicked.connect(lambda: self.remove([self.selected().name] if self.selected() else []))
        self.updates_button.clicked.connect(self.check_updates)
        self.refresh_button.clicked.connect(lambda: self.load_indexes(refresh=True))
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.updates_button, self.refresh_button):
            buttons.addWidget(button)
        buttons.addWidget(self.status, 1)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.search_box)
        left_layout.addWidget(self.table)
        split = QSplitter(self)
        split.addWidget(left)
        split.addWidget(self.details)
        split.setSizes([520, 420])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.world_label)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        self._typing = QTimer(self, singleShot=True, interval=60)
        self._typing.timeout.connect(self.apply_search)
        self.search_box.textChanged.connect(lambda: self._typing.start())
        self.editor.undo_stack.indexChanged.connect(lambda *_: self._refresh_installed())
        self._refresh_installed()

    # -- indexes and search ----------------------------------------------------------------
    def load_indexes(self, refresh: bool = False) -> Task:
        """Read the repositories' indexes in the background (the cached copies unless `refresh`
        or there are none)."""
        doc = self.editor.doc
        project, base = doc.project, doc.index.entries

        def work(progress, cancelled):
            trusted = trusted_keys(project, base)
            loaded = fetch.load_indexes(repositories_of(project, base), lambda r: trusted, refresh=refresh,
                                        cancelled=cancelled)
            return loaded, SearchIndex(loaded.packages)

        self.status.setText("Reading the package indexes…")
        task = Task(work, self)
        task.finished.connect(self._indexes_loaded)
        task.failed.connect(lambda message: self.status.setText("Indexes: " + message.splitlines()[0]))
        return task.start()

    def _indexes_loaded(self, result) -> None:
        loaded, self.index = result
        self.all_packages = loaded.packages
        self.status.setText(f"{len(self.index)} packages" + (f"; {len(loaded.warnings)} warning(s)"
                                                             if loaded.warnings else ""))
        self.status.setToolTip("\n".join(loaded.warnings))
        self.apply_search()

    def apply_search(self) -> None:
        if self.index is not None:
            self.results.set_rows(self.index.search(self.search_box.text(), SHOWN))

    def selected(self) -> Package | None:
        row = self.table.currentIndex().row()
        return self.results.rows[row] if 0 <= row < len(self.results.rows) else None

    def select(self, name: str) -> bool:
        for row, package in enumerate(self.results.rows):
            if package.name == name:
                self.table.setCurrentIndex(self.results.index(row, 0))
                return True
        return False

    def _installed_records(self) -> list[db.InstalledPackage]:
        try:
            text = self.editor.doc.read_bytes("/" + db.INSTALLED).decode(errors="replace")
        except (KeyError, OSError):
            return []
        return db.parse_installed(text)

    def _refresh_installed(self) -> None:
        self.results.installed = {r.package.name: r.package.version for r in self._installed_records()}
        world = self.editor.doc.project.packages.world
        self.world_label.setText("Package list: " + (", ".join(world) if world else "(none: the base's packages only)"))
        self.results.layoutChanged.emit()
        self._show_details()

    def _show_details(self) -> None:
        package = self.selected()
        if package is None:
            self.details.setHtml("<p>Pick a package to see its details.</p>")
            return
        records = self._installed_records()
        mine = next((r for r in records if r.package.name == package.name), None)
        required_by = sorted(r.package.name for r in records
                             if any(d.name == package.name or d.name in {p.name for p in package.provides}
                                    for d in r.package.depends))
        rows = [("Version", package.version), ("Installed", mine.package.version if mine else "no"),
                ("Size", humanize.naturalsize(package.size, binary=True)),
                ("Installed size", humanize.naturalsize(package.installed_size, binary=True)),
                ("Repository", package.repository), ("License", package.license), ("URL", package.url),
                ("Depends on", " ".join(format_dependency(d) for d in package.depends)),
                ("Provides", " ".join(format_dependency(d) for d in package.provides)),
                ("Installed if", " ".join(format_dependency(d) for d in package.install_if)),
                ("Required by", " ".join(required_by))]
        html = [f"<h3>{package.name}</h3><p>{package.description}</p><table>"]
        html += [f"<tr><td><b>{k}</b>&nbsp;</td><td>{v}</td></tr>" for k, v in rows if v]
        html.append("</table>")
        if mine is not None:
            files = [p for p, _acl, checksum in mine.paths() if checksum is not None][:200]
            html.append("<p><b>Files</b></p><pre>" + "\n".join("/" + f for f in files) + "</pre>")
        self.details.setHtml("".join(html))

    # -- changes ------------------------------------------------------------------------------
    def add(self, names: list[str]) -> Task | None:
        if not names:
            return None
        project = self.editor.doc.project
        return self._change(f"Add {', '.join(names)}",
                            lambda: _with_world(project.packages, add_to_world(project.packages.world, names)))

    def remove(self, names: list[str]) -> Task | None:
        if not names:
            return None
        project = self.editor.doc.project
        world_names = {world_dependency(w).name for w in project.packages.world}
        not_listed = [n for n in names if n not in world_names]
        if not_listed:
            QMessageBox.information(self, "Remove", f"{', '.join(not_listed)} is not in the package list (the base "
                                    "or another package brings it); only what the list names can be removed.")
            return None
        return self._change(f"Remove {', '.join(names)}",
                            lambda: _with_world(project.packages, remove_from_world(project.packages.world, names)))

    def record(self, added: list[str], removed: list[str], label: str) -> Task | None:
        """Add `added` to the package list and take `removed` out (resolved, shown, undoable like
        Add and Remove), applied to the list as it is when the change starts."""
        project = self.editor.doc.project
        return self._change(label, lambda: _with_world(
            project.packages, [w for w in project.packages.world if w not in removed] + added))

    def check_updates(self) -> Task | None:
        project = self.editor.doc.project
        return self._change("Update packages", lambda: project.packages.copy(), upgrade=True)

    def _change(self, label: str, settings, upgrade: bool = False) -> Task | None:
        """Plan in the background, show what will change, then carry it out in the background
        behind a cancellable progress dialog, and push it as one undoable step. While another
        package change runs (this panel's or the Programs panel's) it waits for it; the task
        returned is the planning one when it could start at once."""
        slot = self.editor.package_slot
        running = slot.holder
        self.task = None
        if not slot.take(label, lambda: self._plan(label, settings, upgrade)):
            self.status.setText(f"{label}: waits for “{running}” to end")
        return self.task

    def _plan(self, label: str, settings, upgrade: bool) -> None:
        try:
            wanted = settings()  # from the package list as the change before this one left it
        except StudioError as err:
            self.editor.package_slot.give_back()
            QMessageBox.warning(self, label, str(err))
            return
        doc = self.editor.doc
        project, index = doc.project, doc.index
        self.status.setText("Resolving…")
        task = Task(lambda progress, cancelled: package_ops.plan(project, index, wanted, upgrade,
                                                                 cancelled=cancelled), self.editor)
        task.finished.connect(lambda change: self._planned(label, change))
        task.failed.connect(lambda message: self._failed(label, message))
        task.cancelledSignal.connect(self.editor.package_slot.give_back)
        self.task = task.start()

    def _planned(self, label: str, change: package_ops.Plan) -> None:
        project = self.editor.doc.project
        if change.is_empty() and change.settings.world == project.packages.world:
            self.editor.package_slot.give_back()
            self.status.setText("Nothing to change: " + ("everything is up to date" if "Update" in label else label))
            self.message.emit(self.status.text())
            return
        if not self.confirm(label, change):
            self.editor.package_slot.give_back()
            self.status.setText("Cancelled: nothing changed")
            return
        doc = self.editor.doc
        index = doc.index
        dialog = QProgressDialog(f"{label}…", "Cancel", 0, 1000, self)
        dialog.setWindowTitle("Packages")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        runner = self.runner
        task = Task(lambda progress, cancelled: package_ops.carry_out(project, index, change, runner, progress,
                                                                      cancelled), self.editor)
        task.progress.connect(lambda message, fraction: (dialog.setLabelText(message),
                                                          dialog.setValue(int(fraction * 1000))))
        before = PackageState(project.packages.copy(), project.lock)
        task.finished.connect(lambda outcome: (dialog.close(), self._carried_out(label, before, change, outcome)))
        task.failed.connect(lambda message: (dialog.close(), self._failed(label, message)))
        task.cancelledSignal.connect(lambda: (dialog.close(), self.editor.package_slot.give_back(),
                                              self.status.setText("Cancelled: nothing changed")))
        dialog.canceled.connect(task.cancel)
        self.task = task.start()

    def _carried_out(self, label: str, before: PackageState, change: package_ops.Plan, outcome) -> None:
        after = PackageState(change.settings.copy(), outcome.lock)
        self.editor.undo_stack.push(PackageCommand(self.editor, label, before, after))
        self.editor.package_slot.give_back()
        note = "; ".join(outcome.warnings)
        self.status.setText(f"{label}: done" + (f" ({note})" if note else ""))
        self.message.emit(self.status.text())
        self._refresh_installed()

    def _failed(self, label: str, message: str) -> None:
        self.editor.package_slot.give_back()
        self.status.setText(f"{label}: not done")
        box = QMessageBox(QMessageBox.Icon.Warning, label, f"Nothing was changed.\n\n{message}", parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _confirm(self, label: str, change: package_ops.Plan) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, label, "These packages will change:", parent=self)
        box.setInformativeText(change.summary() + ("\n\nWarnings:\n" + "\n".join(change.warnings)
                                                   if change.warnings else ""))
        box.setStandardButtons(QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel)
        return box.exec() == QMessageBox.StandardButton.Ok


def _with_world(settings: PackageSettings, world: list[str]) -> PackageSettings:
    new = settings.copy()
    new.world = world
    return new
