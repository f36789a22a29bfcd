"""Editor tabs for text files in the image and program sources: line numbers, find and replace,
go to line, auto-indent. Init scripts (rcS, /etc/init.d, /etc/local.d) get shell highlighting, a
syntax check on save with the error line marked, an executable-bit switch, and templates."""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QRect, QSize, Qt, QVariantAnimation, Signal
from PySide6.QtGui import (
    QAction, QColor, QFont, QFontDatabase, QKeySequence, QPainter, QSyntaxHighlighter, QTextCharFormat, QTextCursor,
    QTextDocument, QTextFormat,
)
from PySide6.QtWidgets import (
    QCheckBox, QGridLayout, QHBoxLayout, QInputDialog, QLabel, QLineEdit, QMenu, QPlainTextEdit, QPushButton,
    QTextEdit, QToolButton, QVBoxLayout, QWidget,
)

from studio.fsutil import atomic_write
from studio.image import edits, scripts
from studio.image.preset import SCRIPT_TEMPLATES
from studio.ui.image_editor import ImageEditor


class ShellHighlighter(QSyntaxHighlighter):
    KEYWORDS = r"\b(if|then|else|elif|fi|for|while|until|do|done|case|esac|in|function|return|exit|local|export)\b"

    def __init__(self, document):
        super().__init__(document)
        self.rules = []
        for pattern, color, bold in ((self.KEYWORDS, "#0033b3", True),
                                     (r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\$[0-9@#?*$!-]", "#871094", False),
                                     (r'"[^"\\]*(\\.[^"\\]*)*"' + r"|'[^']*'", "#067d17", False),
                                     (r"(^|\s)#.*$", "#8c8c8c", False)):
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(color))
            if bold:
                fmt.setFontWeight(QFont.Weight.Bold)
            self.rules.append((re.compile(pattern), fmt))

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt override)
        for pattern, fmt in self.rules:
            for match in pattern.finditer(text):
                self.setFormat(match.start(), match.end() - match.start(), fmt)


ERROR_COLOR = QColor("#ffd6d6")  # a line with an error (a syntax check, a compile): red, until checked again
JUMP_COLOR = QColor("#cde4ff")  # the line jumped to (Go to Line, a problem): light blue, fading
SHELL_BLOCK = re.compile(r"(^|[\s;])(then|do)\s*$|\{\s*$")  # a shell line after which the next is indented
C_BLOCK = re.compile(r"\{\s*$")


class _Gutter(QWidget):
    """The line numbers left of a CodeEdit."""

    def __init__(self, edit: "CodeEdit"):
        super().__init__(edit)
        self.edit = edit

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(self.edit.gutter_width(), 0)

    def paintEvent(self, event) -> None:  # noqa: N802
        self.edit.paint_gutter(event.rect())


class CodeEdit(QPlainTextEdit):
    """Monospace plain text with line numbers in a gutter and auto-indent, and two kinds of line
    marks: an error's line (red, until cleared) and the line jumped to (light blue, fading)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.block_opener: re.Pattern | None = None  # after a line matching it, Enter indents one level more
        self.gutter = _Gutter(self)
        self._error: QTextCursor | None = None  # the marks follow their lines through edits
        self._jump: QTextCursor | None = None
        self._fade = QVariantAnimation(self, startValue=255, endValue=0, duration=1500)
        self._fade.setKeyValueAt(0.5, 255)  # held, then fading out
        self._fade.valueChanged.connect(self._show_marks)
        self._fade.finished.connect(self._jump_faded)
        self.document().blockCountChanged.connect(self._fit_gutter)
        self.updateRequest.connect(self._scroll_gutter)
        self.cursorPositionChanged.connect(self.gutter.update)  # the current line's number is darker
        self._fit_gutter()

    # -- line numbers --------------------------------------------------------------------------
    def gutter_width(self) -> int:
        digits = max(2, len(str(self.blockCount())))
        return 12 + self.fontMetrics().horizontalAdvance("9") * digits

    def _fit_gutter(self, *_) -> None:
        width = self.gutter_width()
        self.setViewportMargins(width, 0, 0, 0)
        area = self.contentsRect()
        self.gutter.setGeometry(QRect(area.left(), area.top(), width, area.height()))

    def _scroll_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self.gutter.scroll(0, dy)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit_gutter()

    def paint_gutter(self, rect: QRect) -> None:
        painter = QPainter(self.gutter)
        painter.fillRect(rect, QColor("#f3f3f3"))
        painter.setFont(self.font())
        current = self.textCursor().blockNumber()
        height = self.fontMetrics().height()
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        while block.isValid() and top <= rect.bottom():
            bottom = top + round(self.blockBoundingRect(block).height())
            if block.isVisible() and bottom >= rect.top():
                painter.setPen(QColor("#333333" if block.blockNumber() == current else "#999999"))
                painter.drawText(0, top, self.gutter.width() - 6, height, Qt.AlignmentFlag.AlignRight,
                                 str(block.blockNumber() + 1))
            block = block.next()
            top = bottom
        painter.end()

    # -- auto-indent ---------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            self._new_line()
            return
        super().keyPressEvent(event)

    def _new_line(self) -> None:
        """Enter: the new line starts with the indentation of the line before, one level more
        after a line that opens a block (`then`, `do`, `{`)."""
        cursor = self.textCursor()
        before = cursor.block().text()[:cursor.positionInBlock()]
        indent = before[:len(before) - len(before.lstrip(" \t"))]
        if self.block_opener is not None and self.block_opener.search(before):
            indent += self._indent_unit()
        cursor.insertText("\n" + indent)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def _indent_unit(self) -> str:
        """One level, as the text already indents (a tab, or its first indented line's spaces), else four spaces."""
        found = re.search(r"^(\t| +)\S", self.toPlainText(), re.MULTILINE)
        return found.group(1)[:8] if found else "    "

    # -- line marks ----------------------------------------------------------------------------
    def mark_error(self, line: int) -> None:
        """Mark `line` (1-based) red as an error's, until clear_error(); the cursor goes there."""
        self._error = self._show_line(line)
        self._show_marks()

    def clear_error(self) -> None:
        self._error = None
        self._show_marks()

    def error_line(self) -> int:
        """The line marked as an error's (1-based), or 0."""
        return self._error.blockNumber() + 1 if self._error is not None else 0

    def go_to_line(self, line: int) -> None:
        """Put the cursor on `line` (1-based) and mark it light blue for a moment."""
        self._jump = self._show_line(line)
        self._fade.stop()
        self._fade.start()
        self._show_marks()

    def jump_line(self) -> int:
        """The line jumped to (1-based) while its mark shows, or 0."""
        return self._jump.blockNumber() + 1 if self._jump is not None else 0

    def _show_line(self, line: int) -> QTextCursor:
        block = self.document().findBlockByNumber(max(1, min(line, self.blockCount())) - 1)
        self.setTextCursor(QTextCursor(block))
        self.centerCursor()
        return QTextCursor(block)

    def _jump_faded(self) -> None:
        self._jump = None
        self._show_marks()

    def _show_marks(self, *_) -> None:
        jump = QColor(JUMP_COLOR)
        jump.setAlpha(self._fade.currentValue() if self._fade.currentValue() is not None else 255)
        marks = []
        for cursor, color in ((self._error, ERROR_COLOR), (self._jump, jump)):
            if cursor is not None:
                mark = QTextEdit.ExtraSelection()
                mark.format.setBackground(color)
                mark.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
                mark.cursor = QTextCursor(cursor.block())
                marks.append(mark)
        self.setExtraSelections(marks)


class FindBar(QWidget):
    """Find (and replace) in a text edit, below it: Enter finds the next match, Shift+Enter the
    previous one (both wrap around), Escape closes the bar."""

    def __init__(self, edit: QPlainTextEdit, parent: QWidget | None = None):
        super().__init__(parent)
        self.edit = edit
        self.find_field = QLineEdit(self)
        self.find_field.setPlaceholderText("Find")
        self.find_field.textEdited.connect(self._typed)
        self.find_field.installEventFilter(self)  # Enter and Shift+Enter
        self.replace_field = QLineEdit(self)
        self.replace_field.setPlaceholderText("Replace with")
        self.replace_field.returnPressed.connect(self.replace)
        self.match_case = QCheckBox("Match case", self)
        self.result = QLabel(self)
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 2, 4, 2)
        grid.addWidget(self.find_field, 0, 0)
        grid.addWidget(self._button("Previous", lambda: self.find(backward=True)), 0, 1)
        grid.addWidget(self._button("Next", self.find), 0, 2)
        grid.addWidget(self.match_case, 0, 3)
        grid.addWidget(self.result, 0, 4)
        grid.addWidget(self._button("✕", self.dismiss, "Close (Escape)"), 0, 5)
        grid.addWidget(self.replace_field, 1, 0)
        self.replace_row = [self.replace_field, self._button("Replace", self.replace),
                            self._button("Replace All", self.replace_all)]
        grid.addWidget(self.replace_row[1], 1, 1)
        grid.addWidget(self.replace_row[2], 1, 2)
        grid.setColumnStretch(4, 1)
        self.hide()

    def _button(self, text: str, slot, tip: str = "") -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.clicked.connect(lambda: slot())
        return button

    def open(self, replace: bool = False) -> None:
        """Show the bar (with the replace row or without), the selected text in its find field."""
        for widget in self.replace_row:
            widget.setVisible(replace)
        selected = self.edit.textCursor().selectedText()
        if selected and "\u2029" not in selected:  # not across lines
            self.find_field.setText(selected)
        self.show()
        self.find_field.setFocus()
        self.find_field.selectAll()

    def dismiss(self) -> None:
        self.hide()
        self.result.clear()
        self.edit.setFocus()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override): Escape from any of its widgets
        if event.key() == Qt.Key.Key_Escape:
            self.dismiss()
            return
        super().keyPressEvent(event)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.find(backward=bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
            return True
        return super().eventFilter(watched, event)

    def _flags(self, backward: bool = False) -> QTextDocument.FindFlag:
        flags = QTextDocument.FindFlag(0)
        if backward:
            flags |= QTextDocument.FindFlag.FindBackward
        if self.match_case.isChecked():
            flags |= QTextDocument.FindFlag.FindCaseSensitively
        return flags

    def find(self, backward: bool = False) -> bool:
        """Select the next match after the cursor (or the one before it), wrapping around."""
        text = self.find_field.text()
        self.result.clear()
        if not text:
            return False
        document = self.edit.document()
        found = document.find(text, self.edit.textCursor(), self._flags(backward))
        if found.isNull():
            start = QTextCursor(document)
            start.movePosition(QTextCursor.MoveOperation.End if backward else QTextCursor.MoveOperation.Start)
            found = document.find(text, start, self._flags(backward))
        if found.isNull():
            self.result.setText("No matches")
            return False
        self.edit.setTextCursor(found)
        return True

    def _typed(self) -> None:
        """While typing, the match grows from where it starts."""
        cursor = self.edit.textCursor()
        cursor.setPosition(cursor.selectionStart())
        self.edit.setTextCursor(cursor)
        self.find()

    def replace(self) -> bool:
        """Replace the selected match, then select the next one."""
        cursor = self.edit.textCursor()
        text, selected = self.find_field.text(), cursor.selectedText()
        if text and (selected == text if self.match_case.isChecked() else selected.casefold() == text.casefold()):
            cursor.insertText(self.replace_field.text())
            self.edit.setTextCursor(cursor)
        return self.find()

    def replace_all(self) -> int:
        """Replace every match, as one undo step; returns how many."""
        text, replacement = self.find_field.text(), self.replace_field.text()
        if not text:
            return 0
        document = self.edit.document()
        step = QTextCursor(document)
        step.beginEditBlock()
        count = 0
        found = document.find(text, 0, self._flags())
        while not found.isNull():
            found.insertText(replacement)
            count += 1
            found = document.find(text, found, self._flags())
        step.endEditBlock()
        self.result.setText(f"Replaced {count}" if count else "No matches")
        return count


class CodeView(QWidget):
    """A CodeEdit with its find bar, and the actions that work on them: Find (Ctrl+F), Replace
    (Ctrl+H), Go to Line (Ctrl+G). Their shortcuts work inside the widget that adds them
    (`widget.addActions(view.edit_actions)`)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.edit = CodeEdit(self)
        self.find_bar = FindBar(self.edit, self)
        self.reveal = lambda: None  # shows the view before an action works on it (a tab holding it)
        self.ask_line = self._ask_line  # Go to Line's question; tests answer it
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.edit)
        layout.addWidget(self.find_bar)
        self.find_action = self._action("&Find…", "Ctrl+F", lambda: self.find_bar.open(replace=False))
        self.replace_action = self._action("&Replace…", "Ctrl+H", lambda: self.find_bar.open(replace=True))
        self.go_to_line_action = self._action("&Go to Line…", "Ctrl+G", self.go_to_line)
        self.edit_actions = [self.find_action, self.replace_action, self.go_to_line_action]

    def _action(self, text: str, shortcut: str, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda: (self.reveal(), slot()))
        return action

    def go_to_line(self) -> None:
        line = self.ask_line(self.edit.textCursor().blockNumber() + 1, self.edit.blockCount())
        if line:
            self.edit.go_to_line(line)
            self.edit.setFocus()

    def _ask_line(self, current: int, last: int) -> int | None:
        line, ok = QInputDialog.getInt(self, "Go to Line", f"Line (1-{last}):", current, 1, last)
        return line if ok else None


class TextTab(QWidget):
    """A text editor tab (line numbers, find and replace, go to line, auto-indent) with a status
    line; a line can be marked as an error's or jumped to."""

    modificationChanged = Signal(bool)

    def __init__(self, label: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.code = CodeView(self)
        self.text = self.code.edit
        self.edit_actions = self.code.edit_actions  # Find, Replace, Go to Line: for a window's Edit menu
        self.addActions(self.edit_actions)
        self.status = QLabel(label, self)
        self.text.modificationChanged.connect(self.modificationChanged)

    def is_modified(self) -> bool:
        return self.text.document().isModified()

    def _lay_out(self, bar: QHBoxLayout) -> None:
        """The text (and its find bar) above, `bar` (status and buttons) below."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.code)
        layout.addLayout(bar)

    def set_text(self, text: str) -> None:
        if text != self.text.toPlainText():
            self.text.setPlainText(text)
        self.text.document().setModified(False)

    def mark_line(self, line: int, error: bool = True) -> None:
        """Show `line` (1-based) marked as an error's (red, until the next check), or, with
        error=False, as the line jumped to (light blue, fading)."""
        if line <= 0:
            return
        if error:
            self.text.mark_error(line)
        else:
            self.text.go_to_line(line)

    def error_line(self) -> int:
        """The marked error line (1-based), or 0."""
        return self.text.error_line()


class SourceEditor(TextTab):
    """A program's source file in the project folder (not in the image); saved atomically."""

    def __init__(self, path, parent: QWidget | None = None):
        super().__init__(str(path), parent)
        self.path = path
        if path.suffix in (".c", ".h", ".cc", ".cpp", ".hpp", ".cxx"):
            CHighlighter(self.text.document())
            self.text.block_opener = C_BLOCK
        save = QPushButton("Save File", self)
        save.clicked.connect(self.save)
        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        bar.addWidget(save)
        self._lay_out(bar)
        self.reload()

    def reload(self) -> None:
        self.set_text(self.path.read_text(errors="replace"))

    def save(self) -> bool:
        atomic_write(self.path, self.text.toPlainText())
        self.text.document().setModified(False)
        self.status.setText(f"Saved {self.path}")
        return True


class CHighlighter(ShellHighlighter):
    KEYWORDS = (r"\b(if|else|for|while|do|switch|case|default|break|continue|return|goto|struct|union|enum|"
                r"typedef|static|const|volatile|extern|inline|sizeof|int|char|long|short|unsigned|signed|"
                r"float|double|void|bool|auto|class|namespace|template|public|private|protected)\b|^\s*#\w+")

    def __init__(self, document):
        super().__init__(document)
        comment = QTextCharFormat()
        comment.setForeground(QColor("#8c8c8c"))
        self.rules[-1] = (re.compile(r"//.*$|/\*.*?\*/"), comment)


class FileEditor(TextTab):
    """One text file of the image. Saving turns the text into an undoable edit of the image."""

    def __init__(self, editor: ImageEditor, path: str, parent: QWidget | None = None):
        super().__init__(path, parent)
        self.editor = editor
        self.path = path
        self.is_script = scripts.is_init_script(path)
        self.save_button = QPushButton("Save to Image", self)
        self.save_button.clicked.connect(self.save)
        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        self.executable = QCheckBox("Executable", self)
        if self.is_script:
            ShellHighlighter(self.text.document())
            self.text.block_opener = SHELL_BLOCK
            templates = QToolButton(self)
            templates.setText("Insert Template")
            templates.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
            menu = QMenu(templates)
            for name, snippet in SCRIPT_TEMPLATES.items():
                menu.addAction(name, lambda s=snippet: self.text.insertPlainText(s))
            templates.setMenu(menu)
            bar.addWidget(templates)
            bar.addWidget(self.executable)
            self.executable.toggled.connect(self._executable_toggled)
        else:
            self.executable.hide()
        bar.addWidget(self.save_button)
        self._lay_out(bar)
        self.reload()

    def reload(self) -> None:
        """Show the file as it is in the image now."""
        entry = self.editor.state.entry(self.path)
        self.set_text(self.editor.doc.read_bytes(self.path).decode("utf-8", errors="replace"))
        self.executable.blockSignals(True)
        self.executable.setChecked(bool(entry and entry.mode & 0o100))
        self.executable.blockSignals(False)
        self.text.clear_error()

    def save(self) -> bool:
        text = self.text.toPlainText()
        if self.is_script and not self._check(text):
            return False
        source, size, sha = self.editor.doc.store_bytes(text.encode())
        state = self.editor.state
        if state.entry(self.path) is None:  # gone from the image meanwhile: put it back
            mode = 0o755 if self.executable.isChecked() else 0o644
            build = lambda: edits.new_file(state, self.path, source, size, sha, mode=mode)  # noqa: E731
        else:
            build = lambda: edits.set_content(state, self.path, source, size, sha)  # noqa: E731
        if not self.editor.try_perform(build):
            return False
        self.text.document().setModified(False)
        self.status.setText(f"Saved to the image: {self.path}")
        return True

    def _check(self, text: str) -> bool:
        """Syntax check; marks the error line. Returns True when the script parses."""
        try:
            problem = scripts.check_syntax(text)
        except (FileNotFoundError, OSError) as err:
            self.status.setText(f"Not checked: {err}")
            return True
        if problem is None:
            self.text.clear_error()
            self.status.setText(f"{self.path}: syntax OK")
            return True
        self.status.setText(f"Not saved: {problem}")
        self.mark_line(problem.line)
        return False

    def _executable_toggled(self, on: bool) -> None:
        entry = self.editor.state.entry(self.path)
        if entry is None:
            return
        mode = entry.mode | 0o111 if on else entry.mode & ~0o111
        self.editor.try_perform(lambda: edits.set_properties(self.editor.state, self.path, mode=mode))


def is_text(data: bytes) -> bool:
    """Plain text (UTF-8, no NUL bytes in the first 8 KiB)?"""
    head = data[:8192]
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start > len(head) - 4  # a character cut at the end of the sample
    return True


