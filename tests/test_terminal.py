"""The machine's terminal: font zoom, copy on select (remembered), the drop-target frame, find in the
scrollback and clear; the shortcuts are Qt's, on the view."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from studio.boot.qtapp import wait_for
from studio.boot.session import BootSession
from studio.ui.boot_pane import COPY_ON_SELECT_KEY, DEFAULT_FONT_SIZE, BootPane
from pagetools import evaluate

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def settings():
    yield QSettings()
    QSettings().remove(COPY_ON_SELECT_KEY)  # other tests start with the default


@pytest.fixture
def pane(qtbot, settings):
    """The machine pane on its own, the boot page loaded (no machine running)."""
    session = BootSession()
    pane = BootPane(session)
    qtbot.addWidget(pane)
    pane.resize(900, 600)
    pane.show()
    session.load()
    assert wait_for(lambda: session.page_ready, 30), session.page_log
    yield pane
    pane.release()
    session.close()


@pytest.fixture
def running(open_window, new_project, settings):
    return open_window(new_project("terminal"), boot=True)


def keyboard_target(pane):
    pane.view.setFocus()
    return pane.view.focusProxy() or pane.view


def size(pane) -> dict:
    return evaluate(pane.session.page, "studio.size()")


def terminal_text(pane) -> str:
    return evaluate(pane.session.page, "studio.terminalText()") or ""


def run(win, command: str) -> None:
    console = win.session.console
    mark = console.position
    win.session.type(command + "\n")
    assert wait_for(lambda: console.at_prompt(mark) and console.position > mark + len(command), 20)


def test_zoom_changes_the_font_and_refits_the_terminal(qtbot, pane):
    normal = size(pane)
    assert normal["fontSize"] == DEFAULT_FONT_SIZE
    target = keyboard_target(pane)
    for _ in range(3):
        qtbot.keyClick(target, Qt.Key.Key_Equal, CTRL)
    assert wait_for(lambda: size(pane)["fontSize"] == DEFAULT_FONT_SIZE + 3, 5)
    bigger = size(pane)
    assert bigger["cols"] < normal["cols"] and bigger["rows"] < normal["rows"]
    qtbot.keyClick(target, Qt.Key.Key_0, CTRL)
    assert wait_for(lambda: size(pane) == normal, 5)
    qtbot.keyClick(target, Qt.Key.Key_Minus, CTRL)
    assert wait_for(lambda: size(pane)["fontSize"] == DEFAULT_FONT_SIZE - 1, 5)
    assert size(pane)["cols"] > normal["cols"]


def test_copy_on_select_is_a_remembered_option(pane, settings):
    assert not pane.copy_on_select_action.isChecked()
    assert pane.copy_on_select_action in pane.terminal_actions
    pane.copy_on_select_action.trigger()
    assert settings.value(COPY_ON_SELECT_KEY, type=bool)
    second = BootPane(BootSession())
    try:
        assert second.copy_on_select_action.isChecked()
    finally:
        second.release()
        second.session.close()


def test_files_dragged_over_the_machine_highlight_it(pane, tmp_path):
    view, hint = pane.view, pane.view.drop_hint
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path))])
    pane.drop_target.setText("/srv/inbox")
    buttons, mods, pos = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(100, 100)
    QApplication.sendEvent(view, QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods))
    assert hint.isVisible() and hint.geometry() == view.rect()
    assert "Boot the machine" in hint.text()  # not running: says so
    QApplication.sendEvent(view, QDragLeaveEvent())
    assert not hint.isVisible()

    QApplication.sendEvent(view, QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods))
    QApplication.sendEvent(view, QDragMoveEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods))
    assert hint.isVisible()
    dropped = []
    pane.filesDropped.connect(lambda paths, folder: dropped.append(folder))
    QApplication.sendEvent(view, QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, buttons, mods))
    assert not hint.isVisible() and dropped == ["/srv/inbox"]

    text = QMimeData()
    text.setText("not files")
    QApplication.sendEvent(view, QDragEnterEvent(pos, Qt.DropAction.CopyAction, text, buttons, mods))
    assert not hint.isVisible()


def where_on_screen(pane, text: str) -> dict | None:
    """Where `text` shows in the terminal, in the view's pixels: {left, right, y}."""
    return evaluate(pane.session.page, """(() => {
      const text = %s, buffer = term.buffer.active;
      const screen = term.element.querySelector(".xterm-screen").getBoundingClientRect();
      const width = screen.width / term.cols, height = screen.height / term.rows;
      for (let row = 0; row < term.rows; row++) {
        const column = buffer.getLine(buffer.viewportY + row).translateToString(true).indexOf(text);
        if (column >= 0) return { left: screen.left + column * width + 1, right: screen.left + (column + text.length) * width - 1,
                                  y: screen.top + (row + 0.5) * height };
      }
      return null;
    })()""" % json.dumps(text))


@pytest.mark.boot
def test_copy_on_select_and_find_in_the_scrollback(qtbot, running):
    pane = running.boot_pane
    selection = lambda: evaluate(pane.session.page, "studio.selection()")  # noqa: E731
    run(running, "echo select-$((2+3))-this")
    clipboard = QGuiApplication.clipboard()
    clipboard.setText("before")
    pane.copy_on_select_action.setChecked(True)
    where = where_on_screen(pane, "select-5-this")  # selected with the mouse: on the clipboard
    target = keyboard_target(pane)
    QTest.mousePress(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(round(where["left"]), round(where["y"])))
    QTest.mouseMove(target, QPoint(round(where["right"]), round(where["y"])))
    QTest.mouseRelease(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(round(where["right"]), round(where["y"])))
    assert wait_for(lambda: clipboard.text() == "select-5-this", 10), (clipboard.text(), selection())

    run(running, "echo find-me-$((6*7)); echo other; echo find-me-$((6*7))")
    qtbot.keyClick(keyboard_target(pane), Qt.Key.Key_F, CTRL | SHIFT)
    assert pane.find_bar.isVisible() and QApplication.focusWidget() is pane.find_field
    qtbot.keyClicks(pane.find_field, "FIND-ME-42")
    qtbot.keyClick(pane.find_field, Qt.Key.Key_Return)
    assert wait_for(lambda: selection() == "find-me-42", 10)  # not case-sensitive by default
    qtbot.keyClick(pane.find_field, Qt.Key.Key_Return, SHIFT)
    assert wait_for(lambda: selection() == "find-me-42", 10), (selection(), pane.find_result.text())
    pane.find_case.setChecked(True)
    qtbot.keyClick(pane.find_field, Qt.Key.Key_Return)
    assert wait_for(lambda: pane.find_result.text() == "Not found", 10)
    qtbot.keyClick(pane.find_field, Qt.Key.Key_Escape)
    assert not pane.find_bar.isVisible()
    terminal_menu = next(a.menu() for a in running.menuBar().actions() if a.text() == "&Machine")
    terminal_menu = next(a.menu() for a in terminal_menu.actions() if a.text() == "&Terminal")
    assert terminal_menu.actions() == pane.terminal_actions  # also in the menu bar, with their shortcuts


@pytest.mark.boot
def test_clear_empties_the_terminal_not_the_guest(running):
    pane = running.boot_pane
    run(running, "echo clear-me-$((40+2))")
    assert "\nclear-me-42" in terminal_text(pane)
    pane.clear_action.trigger()
    assert wait_for(lambda: "clear-me-42" not in terminal_text(pane), 10)
    assert terminal_text(pane).strip().endswith("#")  # the prompt line stays
    assert "clear-me-42" in running.session.console.text  # the studio's record of the console is kept
    run(running, "echo still-$((1+1))")  # the guest runs on
    assert "\nstill-2" in terminal_text(pane)

    mime = QMimeData()  # files dragged over the running machine: the frame names the shell's folder
    mime.setUrls([QUrl.fromLocalFile(__file__)])
    buttons, mods, pos = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(100, 100)
    QApplication.sendEvent(pane.view, QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods))
    assert pane.view.drop_hint.text() == "Drop to copy into the running machine:\n/root"
    QApplication.sendEvent(pane.view, QDragLeaveEvent())
    assert not pane.view.drop_hint.isVisible()
