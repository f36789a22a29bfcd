"""Package scripts run in the image by a headless boot, which must live in the GUI thread: a
worker thread (a package change carried out in the background) asks, and waits for the answer."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal


class GuestRunner(QObject):
    """Runs package scripts in the image (a headless boot, which must live in the GUI thread) for
    a worker thread, which waits for the answer."""

    _asked = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._asked.connect(self._run)

    def __call__(self, project, entries, steps):
        box: dict = {}
        done = threading.Event()
        self._asked.emit((project, entries, steps, box, done))
        done.wait()
        if "error" in box:
            raise box["error"]
        return box["result"]

    def _run(self, request) -> None:
        project, entries, steps, box, done = request
        try:
            from studio.boot.guest_run import run_steps

            box["result"] = run_steps(project, entries, steps)
        except Exception as err:  # carried to the worker, which reports it
            box["error"] = err
        finally:
            done.set()
