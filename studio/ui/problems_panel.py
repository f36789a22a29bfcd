"""The Problems panel: every diagnostic in one list — the image checks (inittab, init scripts'
`sh -n`, the console prompt, the architecture, the packages) and the compilers' errors and
warnings of each program's last compile — each double-clickable to its place, with the counts
for the status bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from studio.compile.jobs import Diagnostic
from studio.image.checks import ERROR, check_image
from studio.ui.image_editor import ImageEditor

IMAGE, SOURCE = "image", "source"
_COLORS = {ERROR: Qt.GlobalColor.red, "warning": Qt.GlobalColor.darkYellow}


class ProblemsPanel(QListWidget):
    openRequested = Signal(str, int)  # image path, line
    openSourceRequested = Signal(Path, int)  # a program source in the project, line
    countChanged = Signal(int, int)  # errors, warnings

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.editor: ImageEditor | None = None
        self.compiled: dict[str, list[Diagnostic]] = {}  # program -> its last compile's diagnostics
        self.itemDoubleClicked.connect(self._open)
        self.itemActivated.connect(self._open)
        self._timer = QTimer(self, singleShot=True, interval=400)  # one check after a burst of edits
        self._timer.timeout.connect(self.refresh)

    def set_editor(self, editor: ImageEditor | None) -> None:
        self.editor = editor
        self.compiled = {}
        if editor is not None:
            editor.undo_stack.indexChanged.connect(lambda *_: self._timer.start())
        self.refresh()

    def set_compiled(self, program: str, diagnostics: list) -> None:
        """A program's compile ended: its diagnostics replace the ones it had."""
        self.compiled[program] = list(diagnostics)
        self.refresh()

    def refresh(self) -> None:
        self.clear()
        if self.editor is None:
            self.countChanged.emit(0, 0)
            return
        rows: list[tuple[str, str, tuple]] = []  # severity, text, where
        try:
            for finding in check_image(self.editor.doc):
                rows.append((finding.severity, str(finding), (IMAGE, finding.path, finding.line)))
        except OSError as err:
            rows.append((ERROR, f"checks unavailable: {err}", ()))
        root = self.editor.doc.project.root
        for program, diagnostics in sorted(self.compiled.items()):
            for diagnostic in diagnostics:
                if diagnostic.severity == "note":
                    continue
                rows.append((diagnostic.severity, f"{program}: {diagnostic}", (SOURCE, str(root / diagnostic.file)
                                                                                 if not Path(diagnostic.file).is_absolute()
                                                                                 else diagnostic.file, diagnostic.line)))
        rows.sort(key=lambda row: row[0] != ERROR)  # errors first, in their order
        for severity, text, where in rows:
            item = QListWidgetItem(("✖ " if severity == ERROR else "⚠ ") + text)
            item.setData(Qt.ItemDataRole.UserRole, where)
            item.setForeground(_COLORS.get(severity, Qt.GlobalColor.darkYellow))
            self.addItem(item)
        errors = sum(1 for row in rows if row[0] == ERROR)
        self.countChanged.emit(errors, len(rows) - errors)

    def _open(self, item: QListWidgetItem) -> None:
        where = item.data(Qt.ItemDataRole.UserRole)
        if not where:
            return
        kind, path, line = where
        if kind == IMAGE:
            self.openRequested.emit(path, line)
        elif Path(path).exists():
            self.openSourceRequested.emit(Path(path), line)
