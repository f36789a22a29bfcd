"""Help: the shortcuts table follows the actions it is given (and the real window's), the guide
opens on F1 with its sections and today's shortcuts, About lists real versions."""

from __future__ import annotations

import importlib.metadata
import json

import PySide6
import pytest
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTreeView

from studio import kernel, paths
from studio.ui import help as studio_help

NATIVE = QKeySequence.SequenceFormat.NativeText


@pytest.fixture
def window(qtbot):
    """A window with menus, a submenu, a toolbar and a panel whose action works only in it."""
    win = QMainWindow()
    qtbot.addWidget(win)
    file_menu = win.menuBar().addMenu("&File")
    win.save_action = file_menu.addAction("&Save")
    win.save_action.setShortcut(QKeySequence.StandardKey.Save)
    file_menu.addMenu("Open &Recent").addAction("/some/project")  # no shortcut: not listed
    machine = win.menuBar().addMenu("&Machine")
    win.boot_action = machine.addAction("&Boot")
    win.boot_action.setShortcut(QKeySequence("F5"))
    machine.addAction("Rock && Roll").setShortcut(QKeySequence("Ctrl+Shift+R"))
    win.addToolBar("Machine").addAction(win.boot_action)  # the same action twice: listed once
    dock = QDockWidget("Image", win)
    tree = QTreeView(dock)
    dock.setWidget(tree)
    win.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    rename = QAction("Rename", tree)
    rename.setShortcut(QKeySequence("F2"))
    rename.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
    tree.addAction(rename)
    win.resize(800, 600)
    return win


def test_shortcut_rows_follow_the_actions(window):
    save = QKeySequence(QKeySequence.StandardKey.Save).toString(NATIVE)
    rows = studio_help.shortcut_rows(studio_help.window_actions(window))
    assert rows == [("Save", save), ("Boot", "F5"), ("Rock & Roll", "Ctrl+Shift+R"), ("Rename", "F2")]
    export = window.menuBar().actions()[0].menu().addAction("&Export Web Bundle…")
    export.setShortcut(QKeySequence("Ctrl+E"))
    window.boot_action.setShortcut(QKeySequence("F6"))
    rows = studio_help.shortcut_rows(studio_help.window_actions(window))
    assert ("Export Web Bundle…", "Ctrl+E") in rows and ("Boot", "F6") in rows and ("Boot", "F5") not in rows
    window.boot_action.setShortcuts([QKeySequence("F6"), QKeySequence("Ctrl+B")])
    assert ("Boot", "F6, Ctrl+B") in studio_help.shortcut_rows([window.boot_action])
    window.boot_action.setShortcut(QKeySequence())
    assert "Boot" not in [text for text, _ in studio_help.shortcut_rows(studio_help.window_actions(window))]


def test_shortcuts_dialog_shows_the_windows_actions_and_where_they_work(window):
    dialog = studio_help.show_shortcuts(window)
    assert dialog.isVisible()
    assert dialog.rows() == studio_help.shortcut_rows(studio_help.window_actions(window))
    places = {dialog.table.item(r, 0).text(): dialog.table.item(r, 2).text() for r in range(dialog.table.rowCount())}
    assert places["Rename"] == "in the Image panel" and places["Boot"] == "anywhere"
    window.save_action.setShortcut(QKeySequence("Ctrl+Alt+S"))
    again = studio_help.show_shortcuts(window)
    assert again is dialog and ("Save", QKeySequence("Ctrl+Alt+S").toString(NATIVE)) in dialog.rows()


def test_the_guide_opens_on_f1_with_its_sections_and_todays_shortcuts(qtbot, window):
    menu = studio_help.add_help_menu(window)
    guide_action = next(a for a in menu.actions() if a.text() == "Image Studio &Guide")
    assert guide_action.shortcut() == QKeySequence("F1")
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    dialog = window.findChild(studio_help.GuideDialog)
    assert dialog is not None and dialog.isVisible()
    text = dialog.browser.toPlainText()
    for section in ("A project", "The image tree", "Editors", "Boot and Reboot with Changes",
                    "Kernel states and snapshots", "Packages", "Programs", "Export"):
        assert section in studio_help.guide_sections() and section in text
    assert "Boot (F5)" in text and "Rename (F2)" in text and "[[" not in text
    assert "Reboot with Changes" in text and "Snapshots" in text  # named though this window lacks them
    window.boot_action.setShortcut(QKeySequence("F6"))
    assert studio_help.show_guide(window) is dialog and "Boot (F6)" in dialog.browser.toPlainText()
    assert ("Image Studio Guide", "F1") in studio_help.shortcut_rows(studio_help.window_actions(window))


def test_the_real_windows_shortcuts(open_window, alpine_project):
    win = open_window(alpine_project)
    dialog = studio_help.show_shortcuts(win)
    rows = dict(dialog.rows())
    assert rows["Boot"] == "F5" and rows["Reboot with Changes"] == QKeySequence("Ctrl+Shift+F5").toString(NATIVE)
    assert rows["New File…"] == QKeySequence("Ctrl+N").toString(NATIVE)
    places = {dialog.table.item(r, 0).text(): dialog.table.item(r, 2).text() for r in range(dialog.table.rowCount())}
    assert places["New File…"] == "in the Image panel"


def test_versions_are_the_real_ones(new_project):
    project = new_project()
    found = dict(studio_help.versions(project))
    assert found["Image Studio"] == importlib.metadata.version("image-studio")
    v86 = json.loads((paths.WEB_DIR / "node_modules" / "v86" / "package.json").read_text())["version"]
    assert found["v86"] == v86 and v86[0].isdigit()
    bzimage = kernel.find_kernel()
    recorded = (bzimage.parent / "version").read_text().split()[-1]  # the Debian source version, 6.1.192-2
    release = studio_help.bzimage_release(bzimage)
    assert release.startswith("6.1.") and recorded.startswith(release)
    assert found["Guest kernel"].startswith(f"Linux {release} (linux-source-6.1 {recorded})")
    assert found["Alpine (project base)"] == "3.19.4 (alpine:3.19)"  # the image's /etc/alpine-release
    assert found["zig"] == importlib.metadata.version("ziglang")
    assert found["Qt"] == f"PySide6 {PySide6.__version__}, Qt {qVersion()}"
    assert dict(studio_help.versions())["Alpine (project base)"] == "no project open"
    project.write_file("/etc/alpine-release", "3.19.4-mine\n")
    assert dict(studio_help.versions(project))["Alpine (project base)"].startswith("3.19.4-mine (edited")


def test_about_shows_the_versions(window, alpine_project):
    dialog = studio_help.show_about(window, alpine_project)
    assert dialog.isVisible() and dialog.rows() == studio_help.versions(alpine_project)
    assert f"v86: {dict(dialog.rows())['v86']}" in dialog.text()
    menu = studio_help.add_help_menu(window, lambda: None)
    about = next(a for a in menu.actions() if a.text() == "&About Image Studio")
    about.trigger()
    assert dict(dialog.rows())["Alpine (project base)"] == "no project open"  # the same dialog, updated
