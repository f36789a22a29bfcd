"""Undo: every edit of the image is one QUndoCommand: a reversible Change of the overlay, a
package change (the package list and lock of one side, its package layer under the image), or a
change of the project's program definitions."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

from PySide6.QtGui import QUndoCommand

from studio.image import package_ops
from studio.image.state import Change, ImageState
from studio.packages.config import PackageSettings
from studio.packages.lockfile import Lock


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


@dataclass(frozen=True)
class PackageState:
    settings: PackageSettings
    lock: Lock


class PackageCommand(QUndoCommand):
    """One package change: redo and undo write the package list and lock of one side and put its
    package layer under the image."""

    def __init__(self, editor, label: str, before: PackageState, after: PackageState):
        super().__init__(label)
        self.editor, self.before, self.after = editor, before, after

    def redo(self) -> None:
        self._take(self.after)

    def undo(self) -> None:
        self._take(self.before)

    def _take(self, state: PackageState) -> None:
        doc = self.editor.doc
        package_ops.commit(doc.project, state.settings.copy(), state.lock)
        doc.rebase()


class ProgramsCommand(QUndoCommand):
    """A change of the program definitions ([[programs]] in studio.toml): redo and undo write one
    side and tell the Programs panel. Sources a definition brought into src/NAME/ stay there either
    way (a redo needs them); a program's package is its own undo step (PackageCommand)."""

    def __init__(self, project, label: str, before: list[dict], after: list[dict], changed: Callable[[], None]):
        super().__init__(label)
        self.project, self.changed = project, changed
        self.before, self.after = copy.deepcopy(before), copy.deepcopy(after)

    def redo(self) -> None:
        self._take(self.after)

    def undo(self) -> None:
        self._take(self.before)

    def _take(self, definitions: list[dict]) -> None:
        self.project.programs = copy.deepcopy(definitions)
        self.project.save_settings()
        self.changed()
