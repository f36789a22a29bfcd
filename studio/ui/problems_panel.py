"""The Problems panel: what the image checks find (inittab, init scripts, console prompt,
architecture), each double-clickable to its place."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from studio.image.checks import check_image
from studio.ui.image_editor import ImageEditor


class ProblemsPanel(QListWidget):
    openRequested = Signal(str, int)  # image path, line
    countChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.editor: ImageEditor | None = None
        self.itemDoubleClicked.connect(self._open)
        self._timer = QTimer(self, singleShot=True, interval=400)  # one check after a burst of edits
        self._timer.timeout.connect(self.refresh)

    def set_editor(self, editor: ImageEditor | None) -> None:
        self.editor = editor
        if editor is not None:
            editor.undo_stack.indexChanged.connect(lambda *_: self._timer.start())
        self.refresh()

    def refresh(self) -> None:
        self.clear()
        if self.editor is None:
            self.countChanged.emit(0)
            return
        try:
            findings = check_image(self.editor.doc)
        except OSError as err:
            self.addItem(f"checks unavailable: {err}")
            self.countChanged.emit(1)
            return
        for finding in findings:
            item = QListWidgetItem(str(finding))
            item.setData(Qt.ItemDataRole.UserRole, (finding.path, finding.line))
            item.setForeground(Qt.GlobalColor.red if finding.severity == "error" else Qt.GlobalColor.darkYellow)
            self.addItem(item)
        self.countChanged.emit(len(findings))

    def _open(self, item: QListWidgetItem) -> None:
        where = item.data(Qt.ItemDataRole.UserRole)
        if where:
            self.openRequested.emit(*where)
