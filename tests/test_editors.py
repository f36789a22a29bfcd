"""The text editors: line numbers, find and replace (Ctrl+F, Ctrl+H), go to line (Ctrl+G),
auto-indent, and the jump-to-line mark that looks different from the error mark."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QTextCursor
from PySide6.QtWidgets import QApplication

from studio.boot.qtapp import wait_for
from studio.ui.text_editor import FileEditor, SourceEditor

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier

SOURCE = """\
#include <stdio.h>

int main(void) {
    printf("hello\\n");
    printf("Hello\\n");
    printf("HELLO\\n");
    return 0;
}
"""


@pytest.fixture
def source(qtbot, tmp_path):
    """A program source open in its editor, shown and focused."""
    path = tmp_path / "hello.c"
    path.write_text(SOURCE)
    editor = SourceEditor(path)
    qtbot.addWidget(editor)
    editor.resize(700, 500)
    editor.show()
    qtbot.waitExposed(editor)
    editor.activateWindow()
    editor.text.setFocus()
    assert wait_for(lambda: QApplication.focusWidget() is editor.text, 5)
    return editor


def marks(edit) -> dict[int, QColor]:
    """The marked lines (1-based) and their background colours."""
    return {m.cursor.blockNumber() + 1: m.format.background().color() for m in edit.extraSelections()}


def type_line_and_enter(qtbot, edit, text: str) -> str:
    """Type `text` at the end, press Enter, return what the new line starts with."""
    edit.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    return edit.textCursor().block().text()


def test_line_numbers_in_a_gutter_as_wide_as_the_largest_number(source):
    edit = source.text
    gutter = edit.gutter
    assert gutter.isVisible() and gutter.width() > 0
    assert edit.viewportMargins().left() == gutter.width()  # the text starts right of it
    image = gutter.grab().toImage()
    background = image.pixelColor(1, 1)
    assert any(image.pixelColor(x, y) != background  # numbers are drawn
               for x in range(image.width()) for y in range(0, image.height(), 2))
    narrow = gutter.width()
    edit.setPlainText("line\n" * 1500)
    assert gutter.width() > narrow and edit.viewportMargins().left() == gutter.width()
    digit = edit.fontMetrics().horizontalAdvance("9")
    assert gutter.width() - narrow == 2 * digit  # four digits instead of two


def test_find_next_previous_match_case_and_escape(qtbot, source):
    edit, bar = source.text, source.code.find_bar
    assert not bar.isVisible()
    qtbot.keyClick(edit, Qt.Key.Key_F, CTRL)
    assert bar.isVisible() and not bar.replace_field.isVisible()
    assert QApplication.focusWidget() is bar.find_field
    qtbot.keyClicks(bar.find_field, "hello")  # found while typing, not case-sensitive
    assert edit.textCursor().selectedText() == "hello"
    first = edit.textCursor().blockNumber()
    qtbot.keyClick(bar.find_field, Qt.Key.Key_Return)
    assert edit.textCursor().selectedText() == "Hello" and edit.textCursor().blockNumber() == first + 1
    qtbot.keyClick(bar.find_field, Qt.Key.Key_Return, SHIFT)
    assert edit.textCursor().blockNumber() == first
    qtbot.keyClick(bar.find_field, Qt.Key.Key_Return, SHIFT)  # wraps around to the last match
    assert edit.textCursor().selectedText() == "HELLO"
    bar.match_case.setChecked(True)
    bar.find_field.setText("HELLO")
    for _ in range(3):  # the one match, over and over
        qtbot.keyClick(bar.find_field, Qt.Key.Key_Return)
        assert edit.textCursor().selectedText() == "HELLO"
    bar.find_field.setText("goodbye")
    qtbot.keyClick(bar.find_field, Qt.Key.Key_Return)
    assert bar.result.text() == "No matches"
    qtbot.keyClick(bar.find_field, Qt.Key.Key_Escape)
    assert not bar.isVisible() and QApplication.focusWidget() is edit


def test_replace_and_replace_all_in_one_undo_step(qtbot, source):
    edit, bar = source.text, source.code.find_bar
    qtbot.keyClick(edit, Qt.Key.Key_H, CTRL)
    assert bar.isVisible() and bar.replace_field.isVisible()
    bar.find_field.setText("printf")
    bar.replace_field.setText("puts")
    assert bar.find()
    assert bar.replace()  # this one replaced, the next one selected
    assert edit.toPlainText().count("puts") == 1 and edit.textCursor().selectedText() == "printf"
    before = edit.toPlainText()
    assert bar.replace_all() == 2
    assert "printf" not in edit.toPlainText() and bar.result.text() == "Replaced 2"
    edit.undo()
    assert edit.toPlainText() == before
    assert source.is_modified()


def test_go_to_line_asks_and_marks_the_line_for_a_moment(qtbot, source):
    edit = source.text
    asked = []
    source.code.ask_line = lambda current, last: asked.append((current, last)) or 5
    qtbot.keyClick(edit, Qt.Key.Key_G, CTRL)
    assert asked == [(1, SOURCE.count("\n") + 1)]
    assert edit.textCursor().blockNumber() == 4
    assert list(marks(edit)) == [5] and edit.jump_line() == 5
    assert wait_for(lambda: edit.jump_line() == 0 and not edit.extraSelections(), 5)  # it fades away


def test_enter_keeps_the_indentation_and_indents_after_a_block_opens(qtbot, source):
    edit = source.text
    edit.setPlainText("int f(void)\n")
    assert type_line_and_enter(qtbot, edit, "{") == "    "  # no indented line yet: four spaces
    edit.setPlainText("int f(void) {\n  return 1;\n")
    assert type_line_and_enter(qtbot, edit, "  if (x) {") == "    "  # as the text indents: two more
    assert type_line_and_enter(qtbot, edit, "x();") == "    "


def test_shell_script_indents_after_then_do_and_brace(qtbot, open_window, new_project):
    window = open_window(new_project())
    window.open_file("/etc/init.d/rcS")  # indented with tabs
    editor = window.tabs.currentWidget()
    assert isinstance(editor, FileEditor) and editor.is_script
    edit = editor.text
    edit.setFocus()
    assert type_line_and_enter(qtbot, edit, "if [ -e /etc/motd ]; then") == "\t"
    assert type_line_and_enter(qtbot, edit, "cat /etc/motd") == "\t"
    assert type_line_and_enter(qtbot, edit, "for f in /etc/*; do") == "\t\t"
    assert type_line_and_enter(qtbot, edit, "done") == "\t\t"  # no dedent: it just keeps the indentation
    edit.setPlainText("#!/bin/sh\n")
    assert type_line_and_enter(qtbot, edit, "start() {") == "    "
    assert type_line_and_enter(qtbot, edit, "undo") == "    "  # 'do' only as a word

    window.open_file("/etc/motd")  # not a script: the indentation is kept, nothing added
    motd = window.tabs.currentWidget().text
    motd.setPlainText("  then\n")
    assert type_line_and_enter(qtbot, motd, "  if x; then") == "  "


def test_jump_mark_looks_different_from_the_error_mark(qtbot, open_window, new_project):
    window = open_window(new_project())
    window.open_file("/etc/init.d/rcS")
    editor = window.tabs.currentWidget()
    edit = editor.text
    edit.setPlainText("#!/bin/sh\necho one\nif true; then\necho two\n")
    assert not editor.save()  # the unclosed 'if': the error line is marked red
    error = editor.error_line()
    assert error == 5 and marks(edit)[error].red() > marks(edit)[error].blue()
    editor.mark_line(2, error=False)  # a jump (Go to Line, a double-clicked problem)
    shown = marks(edit)
    assert set(shown) == {2, error}  # the error stays marked meanwhile
    assert shown[2].rgb() != shown[error].rgb() and shown[2].blue() > shown[2].red()
    assert editor.error_line() == error and edit.jump_line() == 2
    editor.mark_line(3)  # callers' mark_line(line) marks an error, as before
    assert editor.error_line() == 3 and marks(edit)[3].rgb() == shown[error].rgb()
    edit.setPlainText("#!/bin/sh\necho fixed\n")
    assert editor.save() and editor.error_line() == 0
