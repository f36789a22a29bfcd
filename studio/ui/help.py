"""Help: the built-in guide (F1), the keyboard shortcuts table and About.

The shortcuts table is made from the window's own actions, so it never drifts from them; the
guide (resources/help/guide.md) names actions as [[Action Text]], shown with their shortcut of
the moment. `versions()` gathers what About shows; only its Qt line asks Qt.

The main window needs one call: `add_help_menu(window)` (a Help menu: the guide on F1, the
shortcuts, About), or the three functions `show_guide`, `show_shortcuts`, `show_about`.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import struct
from pathlib import Path
from typing import Callable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QDockWidget, QHeaderView, QLabel, QMainWindow, QMenu, QTableWidget, QTableWidgetItem,
    QTextBrowser, QVBoxLayout, QWidget,
)

from studio import kernel, paths
from studio.image import base
from studio.image.project import Project
from studio.image.store import ObjectStore

GUIDE_FILE = paths.RESOURCES_DIR / "help" / "guide.md"
V86_PACKAGE = paths.WEB_DIR / "node_modules" / "v86" / "package.json"
_ACTION_REF = re.compile(r"\[\[([^\]]+)\]\]")


# -- shortcuts -------------------------------------------------------------------------------------

def action_text(action: QAction) -> str:
    """An action's text as the user reads it: without its '&' mnemonics ('&&' is a real '&')."""
    text = action.text().split("\t", 1)[0]
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").strip()


def shortcut_text(action: QAction) -> str:
    """The action's shortcuts in the platform's own notation ('Ctrl+S'), comma-separated."""
    keys = [key for key in action.shortcuts() if not key.isEmpty()]
    return ", ".join(key.toString(QKeySequence.SequenceFormat.NativeText) for key in keys)


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(text, shortcut) of each action that has both, in the order given, each pair once."""
    rows: list[tuple[str, str]] = []
    for action in actions:
        row = (action_text(action), shortcut_text(action))
        if all(row) and row not in rows:
            rows.append(row)
    return rows


def window_actions(window: QWidget) -> list[QAction]:
    """A window's actions: its menus' in menu order (submenus included), then the others it holds
    (a panel's, a tree's), each once."""
    ordered: list[QAction] = []

    def add(action: QAction) -> None:
        if action not in ordered:
            ordered.append(action)

    def walk(menu: QMenu) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu())
            else:
                add(action)

    if isinstance(window, QMainWindow):
        for action in window.menuBar().actions():
            if action.menu() is not None:
                walk(action.menu())
    for action in window.actions() + window.findChildren(QAction):
        add(action)
    return ordered


def where(action: QAction) -> str:
    """Where the shortcut works: everywhere in the window, or only in one panel."""
    if action.shortcutContext() in (Qt.ShortcutContext.WindowShortcut, Qt.ShortcutContext.ApplicationShortcut):
        return "anywhere"
    for owner in action.associatedObjects():
        widget = owner if isinstance(owner, QWidget) else None
        while widget is not None:
            if isinstance(widget, QDockWidget):
                return f"in the {widget.windowTitle()} panel"
            widget = widget.parentWidget()
    return "where it applies"


class ShortcutsDialog(QDialog):
    """A table of the actions' shortcuts: action, keys, where they work."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.resize(560, 520)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["Action", "Shortcut", "Where"])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)

    def set_actions(self, actions: list[QAction]) -> None:
        rows = shortcut_rows(actions)
        places = {}
        for action in actions:
            places.setdefault((action_text(action), shortcut_text(action)), where(action))
        self.table.setRowCount(len(rows))
        for row, (text, keys) in enumerate(rows):
            for column, value in enumerate((text, keys, places[(text, keys)])):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()

    def rows(self) -> list[tuple[str, str]]:
        """What the table shows: (action, shortcut) per row."""
        return [(self.table.item(r, 0).text(), self.table.item(r, 1).text()) for r in range(self.table.rowCount())]


def show_shortcuts(window: QWidget, actions: list[QAction] | None = None) -> ShortcutsDialog:
    """Show (or bring back, refreshed) the shortcuts of `actions`, by default the window's."""
    dialog = _child(window, ShortcutsDialog)
    dialog.set_actions(window_actions(window) if actions is None else actions)
    return _present(dialog)


# -- the guide -------------------------------------------------------------------------------------

def guide_markdown(actions: Iterable[QAction] = ()) -> str:
    """The guide's text, each [[Action Text]] in bold with its shortcut when the action has one."""
    keys = {text: shortcut for text, shortcut in shortcut_rows(actions)}

    def name(match: re.Match) -> str:
        text = match[1]
        return f"**{text}** ({keys[text]})" if text in keys else f"**{text}**"

    return _ACTION_REF.sub(name, GUIDE_FILE.read_text(encoding="utf-8"))


def guide_sections() -> list[str]:
    """The guide's section titles, in order."""
    return re.findall(r"^## (.+)$", GUIDE_FILE.read_text(encoding="utf-8"), flags=re.MULTILINE)


class GuideDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Image Studio Guide")
        self.resize(720, 680)
        self.browser = QTextBrowser(self)
        self.browser.setOpenExternalLinks(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)

    def set_actions(self, actions: list[QAction]) -> None:
        self.browser.setMarkdown(guide_markdown(actions))


def show_guide(window: QWidget) -> GuideDialog:
    """Show (or bring back) the guide beside the window, with the window's shortcuts in it."""
    dialog = _child(window, GuideDialog)
    dialog.set_actions(window_actions(window))
    return _present(dialog)


# -- About -----------------------------------------------------------------------------------------

def versions(project: Project | None = None) -> list[tuple[str, str]]:
    """(part, version) for About and bug reports; a part that is missing says how to get it."""
    return [
        ("Image Studio", _distribution("image-studio", "reinstall it: packaging/setup.sh")),
        ("v86", _v86_version()),
        ("Guest kernel", _kernel_version()),
        ("Alpine (project base)", _alpine_version(project)),
        ("zig", _distribution("ziglang", "packaging/setup.sh installs it")),
        ("Qt", _qt_version()),
        ("Python", platform.python_version()),
    ]


class AboutDialog(QDialog):
    def __init__(self, project: Project | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("About Image Studio")
        self.resize(640, 420)
        title = QLabel("<h2>Image Studio</h2><p>Build small Alpine Linux images and boot them in the v86 "
                       "emulator: edit, boot, export as a web page.</p>", self)
        title.setWordWrap(True)
        self.table = QTableWidget(0, 2, self)
        self.table.setHorizontalHeaderLabels(["Part", "Version"])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        copy = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setToolTip("Copy the versions, to paste into a bug report")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.text()))
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.set_project(project)

    def set_project(self, project: Project | None) -> None:
        rows = versions(project)
        self.table.setRowCount(len(rows))
        for row, (part, version) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(part))
            self.table.setItem(row, 1, QTableWidgetItem(version))
        self.table.resizeColumnToContents(0)

    def rows(self) -> list[tuple[str, str]]:
        return [(self.table.item(r, 0).text(), self.table.item(r, 1).text()) for r in range(self.table.rowCount())]

    def text(self) -> str:
        return "\n".join(f"{part}: {version}" for part, version in self.rows())


def show_about(window: QWidget, project: Project | None = None) -> AboutDialog:
    dialog = _child(window, AboutDialog)
    dialog.set_project(project)
    return _present(dialog)


def add_help_menu(window: QMainWindow, project: Callable[[], Project | None] | None = None) -> QMenu:
    """A Help menu on the window: the guide (F1), the keyboard shortcuts, About (with the project
    `project()` returns, by default the window's `project` attribute)."""
    current = project or (lambda: getattr(window, "project", None))
    menu = window.menuBar().addMenu("&Help")
    guide = menu.addAction("Image Studio &Guide", lambda: show_guide(window))
    guide.setShortcut(QKeySequence("F1"))
    menu.addAction("&Keyboard Shortcuts", lambda: show_shortcuts(window))
    menu.addSeparator()
    about = menu.addAction("&About Image Studio", lambda: show_about(window, current()))
    about.setMenuRole(QAction.MenuRole.AboutRole)
    return menu


# -- where the versions come from --------------------------------------------------------------------

def _distribution(name: str, remedy: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return f"not installed ({remedy})"


def _v86_version() -> str:
    try:
        return json.loads(V86_PACKAGE.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "not installed (packaging/setup.sh installs resources/web's npm packages)"


def _kernel_version() -> str:
    """The release the bzImage says it is ('6.1.192'), and the source it was built from."""
    try:
        bzimage = kernel.find_kernel()
    except kernel.KernelError:
        return "not built (run `studio kernel`, or packaging/setup.sh)"
    release = bzimage_release(bzimage) or "unknown release"
    recorded = bzimage.parent / "version"  # written by studio.kernel.build
    source = recorded.read_text().strip() if recorded.is_file() else ""
    chosen = f", {bzimage} from $STUDIO_KERNEL" if os.environ.get("STUDIO_KERNEL") else ""
    return f"Linux {release}" + (f" ({source})" if source else "") + chosen


def bzimage_release(path: Path) -> str:
    """The kernel release from a bzImage's header (the boot protocol's kernel_version string)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(0x10000)
    except OSError:
        return ""
    if head[0x202:0x206] != b"HdrS":
        return ""
    offset = struct.unpack_from("<H", head, 0x20E)[0] + 0x200
    if offset <= 0x200 or offset >= len(head):
        return ""
    return head[offset:].split(b"\0", 1)[0].decode("ascii", "replace").split(" ", 1)[0]


def _alpine_version(project: Project | None) -> str:
    """/etc/alpine-release of the project's image (the overlay's, else its base's), and the base."""
    if project is None:
        return "no project open"
    spec = project.base.spec
    overlay = project.overlay_path("/etc/alpine-release")
    if overlay.is_file():
        return f"{overlay.read_text(errors='replace').strip()} (edited in the project; base {spec})"
    if "/etc/alpine-release" in project.meta.deleted:
        return f"/etc/alpine-release is deleted in the project (base {spec})"
    index = base.cached_index(project.base)  # never downloads: About must not wait on a network
    if index is None:
        return f"{spec} (not in the cache yet)"
    entry = index.entries.get("/etc/alpine-release")
    if entry is None or not entry.sha256:
        return f"{spec} (its base has no /etc/alpine-release)"
    return f"{ObjectStore().read(entry.sha256).decode(errors='replace').strip()} ({spec})"


def _qt_version() -> str:
    import PySide6
    from PySide6.QtCore import qVersion

    return f"PySide6 {PySide6.__version__}, Qt {qVersion()}"


def _child(window: QWidget, kind: type) -> QDialog:
    return window.findChild(kind) or kind(parent=window)


def _present(dialog: QDialog) -> QDialog:
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
