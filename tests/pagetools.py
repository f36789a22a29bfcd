"""Helpers to drive a real QtWebEngine page from tests: evaluate JavaScript, await promises."""

from __future__ import annotations

import json

from studio.boot.qtapp import wait_for


def evaluate(page, expression: str, timeout: float = 10.0):
    """The JSON value of a JavaScript expression (runJavaScript returns '' for objects: stringify)."""
    box: list = []
    page.runJavaScript(f"JSON.stringify({expression})", 0, box.append)
    assert wait_for(lambda: bool(box), timeout), f"no answer to {expression!r}"
    return json.loads(box[0]) if box[0] else None


def await_promise(page, expression: str, timeout: float = 10.0):
    """Run an async expression in the page and return its JSON result."""
    page.runJavaScript(
        "window.__result = undefined; Promise.resolve().then(() => " + expression + ")"
        ".then(v => window.__result = {ok: v}, e => window.__result = {error: String(e)});"
    )
    assert wait_for(lambda: evaluate(page, "window.__result") is not None, timeout), expression
    return evaluate(page, "window.__result")


def drag_and_drop(widget, mime, pos=None) -> tuple[bool, bool, bool]:
    """Drag `mime` onto `widget` and drop it there, as the desktop would (enter, move, drop, with
    the event loop running between: the web view answers asynchronously). Returns whether each
    event was accepted."""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    pos = pos or QPoint(200, 200)
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(widget, enter)
    wait_for(lambda: False, 0.1)
    move = QDragMoveEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(widget, move)
    wait_for(lambda: False, 0.1)
    drop = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(widget, drop)
    return enter.isAccepted(), move.isAccepted(), drop.isAccepted()
