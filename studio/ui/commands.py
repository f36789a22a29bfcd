"""Undo: every edit of the image is one QUndoCommand wrapping a reversible Change."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from studio.image.state import Change, ImageState


class EditCommand(QUndoCommand):
    """Applies its change on redo (including the first, when pushed) and the inverse on undo.
    Bulk edits (a drop of many files, a multi-item delete) are one change, so one undo step."""

    def __init__(self, state: ImageState, change: Change):
        super().__init__(change.label)
        self.state = state
        self.change = change

    def redo(self) -> None:
        self.state.apply(self.change)

    def undo(self) -> None:
        self.state.apply(self.change.inverse())
