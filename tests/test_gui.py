"""The main window: pressing Boot brings a shell prompt into the terminal, which takes typing,
copy and paste, and follows the window's size."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QToolButton

from studio.boot.qtapp import wait_for
from studio.ui.main_window import MainWindow
from pagetools import evaluate

pytestmark = pytest.mark.boot


def terminal_text(window) -> str:
    return evaluate(window.session.page, "studio.terminalText()") or ""


@pytest.fixture
def booted_window(qtbot, alpine_project):
    window = MainWindow(alpine_project)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    assert wait_for(lambda: window.session.page_ready, 30), window.session.page_log
    boot_button = next(b for b in window.findChildren(QToolButton) if b.defaultAction() is window.boot_action)
    assert boot_button.isEnabled()
    qtbot.mouseClick(boot_button, Qt.MouseButton.LeftButton)
    assert wait_for(lambda: terminal_text(window).rstrip().endswith("alpine:~#"), 60), terminal_text(window)[-2000:]
    yield window
    window.close()


def _keyboard_target(window):
    view = window.boot_pane.view
    view.setFocus()
    window.session.focus_terminal()
    return view.focusProxy() or view


def test_boot_button_reaches_a_prompt_and_stop_stops(booted_window):
    window = booted_window
    assert window.session.state == "running"
    assert not window.boot_action.isEnabled() and window.stop_action.isEnabled()
    assert "shell" in window.milestone_label.text()
    window.stop_action.trigger()
    assert wait_for(lambda: window.session.state == "stopped", 10)
    assert window.boot_action.isEnabled()


def test_typing_copy_and_paste_in_the_terminal(qtbot, booted_window):
    window = booted_window
    target = _keyboard_target(window)
    qtbot.keyClicks(target, "echo typed-$((40+2))")
    qtbot.keyClick(target, Qt.Key.Key_Return)
    assert wait_for(lambda: "\ntyped-42" in terminal_text(window), 20), terminal_text(window)[-500:]

    QGuiApplication.clipboard().setText("echo pasted-$((2+3))\r")
    qtbot.keyClick(target, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert wait_for(lambda: "\npasted-5" in terminal_text(window), 20), terminal_text(window)[-500:]

    QGuiApplication.clipboard().clear()
    window.session.page.runJavaScript("studio.selectAll()")
    assert wait_for(lambda: "pasted-5" in (evaluate(window.session.page, "studio.selection()") or ""), 10)
    qtbot.keyClick(target, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert wait_for(lambda: "pasted-5" in QGuiApplication.clipboard().text(), 10)


def test_terminal_follows_the_window_size(booted_window):
    window = booted_window
    before = evaluate(window.session.page, "studio.size()")
    window.resize(1400, 900)
    assert wait_for(lambda: evaluate(window.session.page, "studio.size()")["cols"] > before["cols"], 10)
    after = evaluate(window.session.page, "studio.size()")
    assert after["rows"] > before["rows"]


def test_first_run_creates_the_default_project(qapp, alpine_mirror, tmp_path, monkeypatch):
    from studio.ui import app

    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STUDIO_ALPINE_MIRROR", alpine_mirror.as_uri())
    project = app.open_or_create(None)
    assert project.root == (tmp_path / "data" / "projects" / "default").resolve()
    assert (project.overlay_dir / "etc" / "inittab").exists()
    assert app.open_or_create(None).root == project.root  # the second run opens it
