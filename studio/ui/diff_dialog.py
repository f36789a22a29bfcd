"""Compare with Base: a modified file's unified diff against the base (or its package), coloured,
with Revert to Base at hand."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFontDatabase, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget


class DiffHighlighter(QSyntaxHighlighter):
    COLORS = {"+": ("#1b5e20", "#e8f5e9"), "-": ("#b71c1c", "#ffebee"), "@": ("#4a148c", "#f3e5f5")}

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt override)
        if not text or text.startswith(("+++", "---")):
            return
        colors = self.COLORS.get(text[0])
        if colors:
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colors[0]))
            fmt.setBackground(QColor(colors[1]))
            self.setFormat(0, len(text), fmt)


class DiffDialog(QDialog):
    """Shows `diff`; `reverted` is set when the user chose Revert to Base."""

    def __init__(self, path: str, diff: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Compare {path} with Base")
        self.resize(820, 560)
        self.reverted = False
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlainText(diff or "No difference: the image holds what the base has.")
        DiffHighlighter(self.text.document())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.revert_button = buttons.addButton("Revert to Base", QDialogButtonBox.ButtonRole.DestructiveRole)
        self.revert_button.setEnabled(bool(diff))
        self.revert_button.clicked.connect(self._revert)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        added = sum(1 for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in diff.splitlines() if line.startswith("-") and not line.startswith("---"))
        layout.addWidget(QLabel(f"{path}: {added} line(s) added, {removed} removed against the base", self))
        layout.addWidget(self.text)
        layout.addWidget(buttons)

    def _revert(self) -> None:
        self.reverted = True
        self.accept()
