"""One package change at a time in a window.

The Packages panel (add, remove, update, record from the machine) and the Programs panel
(install a compiled program's package, take a removed one out) both change the project's package
list and lock. Each change plans from the lock as it finds it and writes a new one, so two at once
would each start from the same old lock and the second would undo the first. Both take this slot
for the whole change (plan, confirmation, download, install) and give it back when it ends,
whichever way it ends; a change that asks while another runs starts when that one is done, in the
order asked. Their background tasks belong to the editor, so a change that ends after the project
has closed tells no one (its panel's editor is gone).
"""

from __future__ import annotations

from collections import deque
from typing import Callable

import shiboken6
from PySide6.QtCore import QObject, QTimer


class PackageSlot(QObject):
    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.holder: str | None = None  # what the running change is, for messages ("Add curl")
        self._waiting: deque[tuple[str, Callable[[], None]]] = deque()

    @property
    def busy(self) -> bool:
        return self.holder is not None

    def take(self, holder: str, start: Callable[[], None]) -> bool:
        """Run `start` now if no change runs (True), else once the changes before it have ended
        (False). `start` must lead to exactly one `give_back`."""
        self._waiting.append((holder, start))
        if self.busy:
            return False
        self._start_next()
        return True

    def give_back(self) -> None:
        """The running change has ended (done, failed, cancelled, or nothing to do)."""
        self.holder = None
        if self._waiting and shiboken6.isValid(self):  # (a change can end after its window has closed)
            # after the current signal handler returns: the next change plans from what this one wrote;
            # dropped if the editor goes first
            QTimer.singleShot(0, self, self._start_next)

    def _start_next(self) -> None:
        if self.busy or not self._waiting:
            return
        self.holder, start = self._waiting.popleft()
        try:
            start()
        except BaseException:
            self.give_back()
            raise
