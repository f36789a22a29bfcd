"""Editor tabs for text files in the image. Init scripts (rcS, /etc/init.d, /etc/local.d) get
shell highlighting, a syntax check on save with the error line marked, an executable-bit
switch, and templates."""

from __future__ import annotations

import re

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QSyntaxHighlighter, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QCheckBox, QHBoxLayout, QLabel, QMenu, QPlainTextEdit, QPushButton, QTextEdit, QToolButton, QVBoxLayout, QWidget,
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


class TextTab(QWidget):
    """A monospace text editor tab with a status line and error-line marking."""

    modificationChanged = Signal(bool)

    def __init__(self, label: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.text = QPlainTextEdit(self)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.status = QLabel(label, self)
        self.text.modificationChanged.connect(self.modificationChanged)

    def is_modified(self) -> bool:
        return self.text.document().isModified()

    def _lay_out(self, bar: QHBoxLayout) -> None:
        """The text above, `bar` (status and buttons) below."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text)
        layout.addLayout(bar)

    def set_text(self, text: str) -> None:
        if text != self.text.toPlainText():
            self.text.setPlainText(text)
        self.text.document().setModified(False)

    def mark_line(self, line: int) -> None:
        if line <= 0:
            return
        block = self.text.document().findBlockByNumber(line - 1)
        selection = QTextEdit.ExtraSelection()
        selection.format.setBackground(QColor("#ffd6d6"))
        selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        selection.cursor = QTextCursor(block)
        self.text.setExtraSelections([selection])
        self.text.setTextCursor(QTextCursor(block))
        self.text.centerCursor()

    def error_line(self) -> int:
        """The marked error line (1-based), or 0."""
        marks = self.text.extraSelections()
        return marks[0].cursor.blockNumber() + 1 if marks else 0


class SourceEditor(TextTab):
    """A program's source file in the project folder (not in the image); saved atomically."""

    def __init__(self, path, parent: QWidget | None = None):
        super().__init__(str(path), parent)
        self.path = path
        if path.suffix in (".c", ".h", ".cc", ".cpp", ".hpp", ".cxx"):
            CHighlighter(self.text.document())
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
        self.text.setExtraSelections([])

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
            self.text.setExtraSelections([])
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


