"""The inittab editor: lines that are not entries show as flagged rows, rows are coloured by their
problems, saving with errors asks first, and a preset asks first and is one undo step."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from studio.boot.qtapp import wait_for
from studio.image.preset import INITTAB, SERIAL_GETTY
from studio.ui.inittab_editor import ROW_COLORS

BROKEN = "::sysinit:/etc/init.d/rcS\nthis is not an entry\nttyS0::respawn:-/bin/sh\n::once:/usr/bin/missing-tool\n"


@pytest.fixture
def window(open_window, new_project):
    return open_window(new_project())


@pytest.fixture
def tab(window):
    window.show_inittab()
    return window.inittab_editor


def typed(tab, text: str) -> None:
    """Text typed in the Text view, then taken in by the table (after its short pause)."""
    tab.text.setPlainText(text)
    assert wait_for(lambda: tab.current_text() == text, 5)


def row_of(tab, line: int) -> int:
    return next(r for r in range(tab.table.rowCount()) if tab.table.verticalHeaderItem(r).text() == str(line))


def background(tab, row: int):
    return tab.table.item(row, 0).background().color()


def image_inittab(window) -> str:
    return window.editor.doc.read_bytes("/etc/inittab").decode()


def test_lines_that_are_not_entries_are_flagged_rows(tab):
    typed(tab, BROKEN)
    assert tab.table.rowCount() == 4  # the comment-less file: every line a row
    row = row_of(tab, 2)
    assert tab.table.item(row, 0).text() == "this is not an entry"
    assert tab.table.columnSpan(row, 0) == 4  # the whole line, across the columns
    assert background(tab, row) == ROW_COLORS["error"]
    assert "Not an inittab entry" in tab.table.item(row, 0).toolTip()
    assert not tab.table.verticalHeaderItem(row).icon().isNull()

    tab.table.item(row, 0).setText("ttyS1::respawn:/sbin/getty -L 115200 ttyS1 vt100")  # fixed in the table
    assert wait_for(lambda: tab.table.columnSpan(row_of(tab, 2), 0) == 1, 5)
    row = row_of(tab, 2)
    assert [tab.table.item(row, c).text() for c in range(4)] == [
        "ttyS1", "", "respawn", "/sbin/getty -L 115200 ttyS1 vt100"]
    assert "ttyS1::respawn:/sbin/getty" in tab.text.toPlainText()
    assert not any(f.line == 2 for f in tab.findings)


def test_rows_are_coloured_by_their_problems(tab):
    typed(tab, BROKEN + "::respawn:-/bin/sh\n")
    assert background(tab, row_of(tab, 4)) == ROW_COLORS["error"]  # missing-tool is not in the image
    second = row_of(tab, 5)
    assert background(tab, second) == ROW_COLORS["warning"]  # a second shell on the console
    assert "second shell or getty on the console" in tab.table.item(second, 3).toolTip()
    fine = row_of(tab, 3)
    assert tab.table.item(fine, 0).data(Qt.ItemDataRole.BackgroundRole) is None
    assert tab.table.item(fine, 0).toolTip() == ""


def test_saving_with_errors_asks_and_cancel_keeps_it_unsaved(window, tab):
    before = image_inittab(window)
    typed(tab, BROKEN)
    asked = []
    tab.ask_save_with_errors = lambda errors: asked.append(len(errors)) or False
    assert not tab.save()
    assert asked == [2] and tab.is_modified() and image_inittab(window) == before
    tab.ask_save_with_errors = lambda errors: True
    assert tab.save()
    assert not tab.is_modified() and image_inittab(window) == BROKEN


def test_saving_without_errors_does_not_ask(window, tab):
    tab.ask_save_with_errors = lambda errors: pytest.fail("asked")
    typed(tab, INITTAB.replace("-/bin/sh", "-/bin/ash"))
    assert tab.save() and "-/bin/ash" in image_inittab(window)


def test_a_preset_asks_first_and_is_one_undo_step(window, tab):
    typed(tab, INITTAB + "# an unsaved edit\n")
    asked = []
    tab.ask_preset = lambda name, needs, unsaved: asked.append((name, needs, unsaved)) or False
    tab.preset_actions["Serial getty with login"].trigger()
    assert asked == [("Serial getty with login", "", True)]
    assert image_inittab(window) == INITTAB and tab.is_modified()  # declined: nothing changed

    steps = window.editor.undo_stack.count()
    tab.ask_preset = lambda name, needs, unsaved: True
    tab.preset_actions["Serial getty with login"].trigger()
    assert image_inittab(window) == SERIAL_GETTY  # straight into the image
    assert window.editor.undo_stack.count() == steps + 1
    assert window.editor.undo_stack.undoText() == "Apply inittab preset Serial getty with login"
    assert tab.text.toPlainText() == SERIAL_GETTY and not tab.is_modified()

    window.undo_action.trigger()
    assert image_inittab(window) == INITTAB
    assert tab.text.toPlainText() == INITTAB and not tab.is_modified()


def test_a_preset_says_what_it_needs(tab):
    asked = []
    tab.ask_preset = lambda name, needs, unsaved: asked.append((name, needs, unsaved)) or False
    tab.preset_actions["Alpine OpenRC"].trigger()
    assert asked == [("Alpine OpenRC", "/sbin/openrc", False)]
