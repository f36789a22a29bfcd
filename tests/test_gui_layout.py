"""The window as the user left it: geometry, docks and tree columns are restored at the next
start, and the project's open tabs come back; by default the tree shows its Package and Status
columns; before a boot the Machine tab says what will boot, with a Boot button."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from studio.ui.tree_model import PACKAGE, STATUS


def test_layout_tabs_and_columns_come_back(open_window, new_project):
    project = new_project("laid-out")
    first = open_window(project)
    first.resize(700, 600)  # within the offscreen screen (800x800): restoreGeometry keeps windows on screen
    first.tree_panel.tree.header().resizeSection(0, 321)
    first.open_file("/etc/motd")
    first.show_inittab()
    first.tree_dock.hide()
    QApplication.processEvents()
    first.close()
    second = open_window(project, size=None)  # as the user left it
    QApplication.processEvents()
    assert (second.width(), second.height()) == (700, 600)
    assert second.tree_panel.tree.header().sectionSize(0) == 321
    assert not second.tree_dock.isVisible()
    titles = [second.tabs.tabText(i) for i in range(second.tabs.count())]
    assert titles[1:] == ["motd", "inittab"], titles


def test_defaults_show_package_and_status_and_a_useful_machine_tab(open_window, new_project, monkeypatch):
    from PySide6.QtCore import QSettings

    for key in ("window/geometry", "window/state", "tree/header"):
        QSettings().remove(key)
    win = open_window(new_project("fresh-layout"))
    QApplication.processEvents()
    tree = win.tree_panel.tree
    visible = tree.viewport().width()
    header = tree.header()
    for column in (PACKAGE, STATUS):
        assert header.sectionViewportPosition(column) + header.sectionSize(column) <= visible + 2, column
    assert win.machine_stack.currentWidget() is win.placeholder
    assert "fresh-layout" in win.placeholder.title.text()
    assert "memory 128 MB" in win.placeholder.details.text() and "Not booted yet" in win.placeholder.details.text()
    assert win.placeholder.boot_button.isEnabled() == win.boot_action.isEnabled()


def test_settings_from_the_edit_menu_change_what_the_network_menu_ticks(open_window, new_project, monkeypatch):
    from studio.image.project import Project
    from studio.ui.settings_dialog import SettingsDialog

    win = open_window(new_project("set-up"))
    assert win.network_actions["repositories"].isChecked()
    settings = next(a for a in win.edit_menu.actions() if a.text() == "Se&ttings…")
    assert settings.shortcut().toString() == "Ctrl+,"

    def choose_off_and_accept(dialog):
        assert dialog.project is win.project  # the open project's settings, not a copy
        dialog.network.setCurrentIndex(dialog.network.findData("off"))
        dialog.accept()
        return 1

    monkeypatch.setattr(SettingsDialog, "exec", choose_off_and_accept)
    settings.trigger()
    assert win.network_actions["off"].isChecked() and not win.network_actions["repositories"].isChecked()
    assert Project.open(win.project.root).boot.network == "off"  # saved to studio.toml
