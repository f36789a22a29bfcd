"""The main window: pressing Boot brings a shell prompt into the terminal, which answers typing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from studio.boot.qtapp import wait_for
from studio.ui.main_window import MainWindow
from pagetools import evaluate

pytestmark = pytest.mark.boot


def terminal_text(window) -> str:
    return evaluate(window.session.page, "studio.terminalText()") or ""


def test_boot_button_reaches_a_prompt_in_the_terminal(qtbot, alpine_project):
    window = MainWindow(alpine_project)
    qtbot.addWidget(window)
    window.show()
    assert wait_for(lambda: window.session.page_ready, 30), window.session.page_log
    boot_button = next(b for b in window.findChildren(QToolButton) if b.defaultAction() is window.boot_action)
    assert boot_button.isEnabled()
    qtbot.mouseClick(boot_button, Qt.MouseButton.LeftButton)

    assert wait_for(lambda: terminal_text(window).rstrip().endswith("alpine:~#"), 60), terminal_text(window)[-2000:]
    assert window.session.state == "running"
    assert not window.boot_action.isEnabled() and window.stop_action.isEnabled()
    assert "shell" in window.milestone_label.text()

    # Keystrokes typed into the terminal reach the guest (through xterm.js, not the bridge).
    window.boot_pane.view.setFocus()
    window.session.focus_terminal()
    window.session.page.runJavaScript("term.paste('cat /etc/alpine-release\\r')")
    assert wait_for(lambda: "3.19.4" in terminal_text(window), 20), terminal_text(window)[-500:]

    window.stop_action.trigger()
    assert wait_for(lambda: window.session.state == "stopped", 10)
    assert window.boot_action.isEnabled()
    window.close()
