"""Creating the QApplication the way QtWebEngine needs it on these machines."""

from __future__ import annotations

import os
import sys
import time
from typing import Callable


def prepare_environment(headless: bool) -> None:
    """Environment QtWebEngine reads at start-up; call before importing QtWidgets' app."""
    if headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Chromium refuses to run its sandbox as root.
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    extra = []
    if "--disable-gpu" not in flags and (headless or not os.environ.get("DISPLAY")):
        extra.append("--disable-gpu")
    if headless and "--log-level" not in flags:
        extra.append("--log-level=3")  # Chromium's dbus/GL chatter is noise without a desktop
    if extra:
        os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = " ".join([flags, *extra]).strip()


def application(headless: bool = False):
    """The QApplication, created once with the studio:// scheme registered first."""
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    from studio.boot.scheme import register_scheme

    existing = QApplication.instance()
    if existing is not None:
        return existing
    prepare_environment(headless)
    register_scheme()
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Image Studio")
    app.setOrganizationName("image-studio")
    return app


def wait_for(condition: Callable[[], bool], timeout: float, interval_ms: int = 10) -> bool:
    """Run the Qt event loop until `condition()` holds or `timeout` seconds pass; return whether it held."""
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return True
    deadline = time.monotonic() + timeout
    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: (condition() or time.monotonic() > deadline) and loop.quit())
    poll.start(interval_ms)
    loop.exec()
    poll.stop()
    return condition()
