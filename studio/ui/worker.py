"""Background work for the GUI: run a function on Qt's thread pool, hear back through signals.

The function gets `progress(message, fraction)` and `cancelled()` callables, the
same shape the Qt-free cores take, so the cores never see Qt.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from studio.errors import StudioError


class Task(QObject):
    """A cancellable background call. Signals arrive in the thread that created the task."""

    progress = Signal(str, float)
    finished = Signal(object)  # the function's result
    failed = Signal(str)  # a message for the user
    cancelledSignal = Signal()

    def __init__(self, fn: Callable[..., Any], parent: QObject | None = None):
        super().__init__(parent)
        self._fn = fn
        self._cancel = threading.Event()
        self.done = False
        self.error: Exception | None = None  # what the function raised, when `failed` fired

    def start(self) -> "Task":
        task = self

        class _Runnable(QRunnable):
            def run(self) -> None:
                task._run()

        self._runnable = _Runnable()
        QThreadPool.globalInstance().start(self._runnable)
        return self

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def _run(self) -> None:
        try:
            result = self._fn(self._progress, self._cancel.is_set)
        except (StudioError, OSError) as err:  # OSError: a full disk, a missing file: say it plainly
            self.done = True
            self.error = err
            if self._cancel.is_set():
                self._tell(self.cancelledSignal)
            else:
                self._tell(self.failed, str(err))
            return
        except Exception:  # a bug: show it rather than lose it in a thread
            self.done = True
            self._tell(self.failed, "internal error:\n" + traceback.format_exc())
            return
        self.done = True
        self._tell(self.finished, result)

    def _progress(self, message: str, fraction: float) -> None:
        self._tell(self.progress, message, fraction)

    @staticmethod
    def _tell(signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the task's owner (a closed window's panel) is gone: no one to tell
            pass
