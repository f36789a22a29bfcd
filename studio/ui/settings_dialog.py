"""Settings: the open project's boot settings (studio.toml's [boot]), the studio's own settings
(studio.settings: the Alpine mirror, the cache location) and the caches (sizes, limits, Clear)."""

from __future__ import annotations

import os
import re

import humanize
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
    QMessageBox, QPlainTextEdit, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout,
    QWidget,
)

from studio import caches, paths, settings
from studio.errors import StudioError
from studio.image.base import DEFAULT_MIRROR, MIRROR_ENV
from studio.image.project import Project

MEMORY_MIN, MEMORY_MAX = 32, 2048  # MB
NETWORK_MODES = (
    ("repositories", "Repositories only (the project's package repositories)"),
    ("web", "Repositories and the web (plain HTTP)"),
    ("off", "Off (no network card)"),
)
STUDIO_OWNED_ARGS = ("root", "rootfstype", "rootflags", "console")  # the studio's command line sets these
_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
MiB = 1 << 20


def boot_problems(memory_mb: int, kernel_args: str, network: str, allow: list[str]) -> list[str]:
    """What is wrong with these boot settings, each saying why and what to do (empty: all good)."""
    problems = []
    if memory_mb < MEMORY_MIN:
        problems.append(f"Memory: {memory_mb} MB is too little: Alpine on the studio's kernel needs at least "
                        f"{MEMORY_MIN} MB to boot. Give it {MEMORY_MIN}-{MEMORY_MAX} MB (128 is plenty).")
    elif memory_mb > MEMORY_MAX:
        problems.append(f"Memory: {memory_mb} MB is too much: v86 emulates a 32-bit PC inside the page's "
                        f"WebAssembly memory and cannot give it more than {MEMORY_MAX} MB. Give it "
                        f"{MEMORY_MIN}-{MEMORY_MAX} MB.")
    for word in kernel_args.split():
        name = word.split("=", 1)[0]
        if name in STUDIO_OWNED_ARGS:
            problems.append(f"Kernel arguments: {name}= is set by the studio (the image is mounted over 9p and "
                            f"its terminal is ttyS0); a second {name}= would stop the boot. Leave it out.")
    if network not in {mode for mode, _ in NETWORK_MODES}:
        problems.append(f"Network: {network!r} is not a mode; choose repositories, web or off.")
    for item in allow:
        host, _, port = item.partition(":")
        if not _HOST.fullmatch(host) or (port and not (port.isdigit() and 0 < int(port) < 65536)):
            problems.append(f"Allowed hosts: {item!r} is not host:port (e.g. 10.0.2.2:8080 or myserver.lan:80); "
                            "one per line.")
    return problems


class SettingsDialog(QDialog):
    """Edit > Settings…: `project` is the open project (None: no Project page)."""

    def __init__(self, project: Project | None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.resize(760, 520)
        self.project = project
        # Asks before a cache is cleared: (title, question) -> yes. Tests answer through it.
        self.ask = self._ask_user
        self.tabs = QTabWidget(self)
        if project is not None:
            self.tabs.addTab(self._project_page(project), "Project")
        self.tabs.addTab(self._studio_page(), "Studio")
        self.tabs.addTab(self._caches_page(), "Caches")
        self.problems = QLabel(self)
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #b00020")
        self.problems.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                        | QDialogButtonBox.StandardButton.Apply, parent=self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.problems)
        layout.addWidget(self.buttons)
        self.refresh_caches()

    # -- pages ------------------------------------------------------------------------------------
    def _project_page(self, project: Project) -> QWidget:
        page = QWidget(self)
        boot = project.boot
        self.memory = QSpinBox(page)
        self.memory.setRange(1, 65536)  # out-of-range values are refused on Apply, saying why
        self.memory.setSuffix(" MB")
        self.memory.setValue(boot.memory_mb)
        self.kernel_args = QLineEdit(boot.kernel_args, page)
        self.kernel_args.setPlaceholderText("e.g. quiet loglevel=3 (appended to the studio's command line)")
        self.network = QComboBox(page)
        for mode, text in NETWORK_MODES:
            self.network.addItem(text, mode)
        self.network.setCurrentIndex(max(0, self.network.findData(boot.network)))
        self.allow = QPlainTextEdit("\n".join(boot.network_allow), page)
        self.allow.setPlaceholderText("host:port the machine may reach although it is local, one per line")
        self.allow.setMaximumHeight(90)
        intro = QLabel(f"Boot settings of {project.name} (studio.toml's [boot]); they apply from the next boot.", page)
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Memory:", self.memory)
        form.addRow("Kernel arguments:", self.kernel_args)
        form.addRow("Network:", self.network)
        form.addRow("Allowed hosts:", self.allow)
        layout = QVBoxLayout(page)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addStretch(1)
        return page

    def _studio_page(self) -> QWidget:
        page = QWidget(self)
        values = self._studio_settings()
        self.mirror = QLineEdit(str(values["alpine_mirror"]), page)
        self.mirror.setPlaceholderText(DEFAULT_MIRROR)
        env = os.environ.get(MIRROR_ENV)
        self.mirror_note = QLabel(f"${MIRROR_ENV} is set ({env}) and wins over this setting while it is."
                                  if env else "Where `alpine:VERSION` bases and the alpine:main/community "
                                  "repositories come from; empty: Alpine's CDN.", page)
        self.mirror_note.setWordWrap(True)
        self.cache_location = QLineEdit(str(values["cache_dir"]), page)
        self.cache_location.setPlaceholderText("the default user cache folder")
        choose = QPushButton("Choose…", page)
        choose.clicked.connect(self._choose_cache_location)
        where = QHBoxLayout()
        where.addWidget(self.cache_location, 1)
        where.addWidget(choose)
        self.cache_note = QLabel(f"In use now: {paths.cache_dir()}. A new location takes effect the next time the "
                                 "studio starts; the old folder is left as it is (move or delete it yourself)."
                                 + ("\n$STUDIO_CACHE_DIR is set and wins over this setting while it is."
                                    if os.environ.get("STUDIO_CACHE_DIR") else ""), page)
        self.cache_note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Alpine mirror:", self.mirror)
        form.addRow("", self.mirror_note)
        form.addRow("Cache location:", where)
        form.addRow("", self.cache_note)
        stored = QLabel(f"Stored in {settings.settings_path()}, read by the studio and the `studio` command.", page)
        stored.setWordWrap(True)
        stored.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addWidget(stored)
        layout.addStretch(1)
        return page

    def _caches_page(self) -> QWidget:
        page = QWidget(self)
        self.cache_table = QTableWidget(len(caches.KINDS), 4, page)
        self.cache_table.setHorizontalHeaderLabels(("Cache", "Size", "What it holds", ""))
        self.cache_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.cache_table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.cache_table.verticalHeader().hide()
        header = self.cache_table.horizontalHeader()
        for column in (0, 1, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.clear_buttons: dict[str, QPushButton] = {}
        for row, kind in enumerate(caches.KINDS):
            for column, text in enumerate((kind.title, "", kind.summary)):
                item = QTableWidgetItem(text)
                item.setToolTip(kind.holds)  # the whole story: what it holds, what clearing costs
                item.setData(Qt.ItemDataRole.UserRole, kind.key)
                self.cache_table.setItem(row, column, item)
            self.cache_table.item(row, 1).setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            button = QPushButton("Clear…", page)
            button.setToolTip(f"Delete the {kind.title.lower()} (asks first)")
            button.clicked.connect(lambda _=False, key=kind.key: self.clear_cache(key))
            self.clear_buttons[kind.key] = button
            self.cache_table.setCellWidget(row, 3, button)
        values = self._studio_settings()
        self.compile_limit = self._limit_box(page, values["compile_cache_limit"])
        self.blob_limit = self._limit_box(page, values["blob_cache_limit"])
        self.cache_total = QLabel(page)
        self.cache_status = QLabel(page)
        self.cache_status.setWordWrap(True)
        limits = QFormLayout()
        limits.addRow("Keep compiled programs up to:", self.compile_limit)
        limits.addRow("Keep export blobs up to:", self.blob_limit)
        note = QLabel("Past its limit, a cache's least recently used entries are deleted after each compile or "
                      "export. Hover over a cache for what clearing it costs.", page)
        note.setWordWrap(True)
        limits.addRow(note)
        layout = QVBoxLayout(page)
        layout.addWidget(self.cache_total)
        layout.addWidget(self.cache_table, 1)
        layout.addWidget(self.cache_status)
        layout.addLayout(limits)
        return page

    @staticmethod
    def _limit_box(parent: QWidget, limit: object) -> QSpinBox:
        box = QSpinBox(parent)
        box.setRange(0, 1 << 20)  # MiB: up to 1 TiB
        box.setSuffix(" MiB")
        box.setSingleStep(256)
        box.setValue(int(limit) // MiB)
        return box

    def _studio_settings(self) -> dict:
        try:
            return settings.load()
        except StudioError as err:  # a broken file: show the defaults, say so; saving rewrites it
            self._show_problems([str(err)])
            return dict(settings.DEFAULTS)

    # -- caches -----------------------------------------------------------------------------------
    def refresh_caches(self) -> None:
        usages = caches.inventory()
        for row, usage in enumerate(usages):
            size = humanize.naturalsize(usage.size, binary=True)
            self.cache_table.item(row, 1).setText(size)
            self.clear_buttons[usage.kind.key].setEnabled(usage.size > 0)
        total = humanize.naturalsize(sum(u.size for u in usages), binary=True)
        self.cache_total.setText(f"{paths.cache_dir()}: {total}")

    def cache_size(self, key: str) -> str:
        """The size shown for cache `key` (as the table shows it)."""
        row = [k.key for k in caches.KINDS].index(key)
        return self.cache_table.item(row, 1).text()

    def clear_cache(self, key: str) -> bool:
        kind = caches.kind(key)
        size = self.cache_size(key)
        question = f"Delete the {kind.title.lower()} ({size})?\n\n{kind.holds}"
        if kind.explicit:
            question += "\n\nThe studio cannot boot anything until the kernel is built again."
        if not self.ask(f"Clear {kind.title}", question):
            return False
        try:
            freed = caches.clear(key, explicit=True)  # the user asked for this cache by name
        except (OSError, StudioError) as err:
            self.cache_status.setText(f"Could not clear the {kind.title.lower()}: {err}")
            return False
        self.refresh_caches()
        self.cache_status.setText(f"Cleared the {kind.title.lower()}: "
                                  f"{humanize.naturalsize(freed, binary=True)} freed.")
        return True

    def _ask_user(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(self, title, question, QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def _choose_cache_location(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Cache location", self.cache_location.text()
                                                  or str(paths.cache_dir()))
        if folder:
            self.cache_location.setText(folder)

    # -- saving -----------------------------------------------------------------------------------
    def allowed_hosts(self) -> list[str]:
        return [line.strip().lower() for line in self.allow.toPlainText().splitlines() if line.strip()]

    def problems_now(self) -> list[str]:
        found = []
        if self.project is not None:
            found += boot_problems(self.memory.value(), self.kernel_args.text().strip(), self.network.currentData(),
                                   self.allowed_hosts())
        return found + [text[0].upper() + text[1:] for text in settings.problems(self._studio_changes())]

    def _studio_changes(self) -> dict:
        return {"alpine_mirror": self.mirror.text().strip(), "cache_dir": self.cache_location.text().strip(),
                "compile_cache_limit": self.compile_limit.value() * MiB,
                "blob_cache_limit": self.blob_limit.value() * MiB}

    def apply(self) -> bool:
        """Save every page, or nothing when something is wrong (then say what and why)."""
        found = self.problems_now()
        self._show_problems(found)
        if found:
            return False
        if self.project is not None:
            boot = self.project.boot
            boot.memory_mb = self.memory.value()
            boot.kernel_args = self.kernel_args.text().strip()
            boot.network = self.network.currentData()
            boot.network_allow = self.allowed_hosts()
            self.project.save_settings()
        settings.save(self._studio_changes())
        return True

    def accept(self) -> None:
        if self.apply():
            super().accept()

    def _show_problems(self, found: list[str]) -> None:
        self.problems.setText("\n".join(found))
        self.problems.setVisible(bool(found))
