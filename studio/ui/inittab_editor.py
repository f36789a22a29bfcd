"""/etc/inittab as a table and as text, kept in sync both ways, with its problems listed live
and presets (serial root shell, serial getty, Alpine OpenRC)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu, QMessageBox, QPlainTextEdit,
    QPushButton, QSplitter, QStyledItemDelegate, QTableWidget, QTableWidgetItem, QTabWidget, QToolButton,
    QVBoxLayout, QWidget,
)

from studio.image import edits, inittab
from studio.image.checks import INITTAB, check_inittab_text
from studio.image.preset import INITTAB_PRESETS
from studio.image.tarimport import resolve
from studio.ui.image_editor import ImageEditor

COLUMNS = ("ID / tty", "Runlevels", "Action", "Process")


class _ActionDelegate(QStyledItemDelegate):
    def createEditor(self, parent, option, index):  # noqa: N802 (Qt override)
        combo = QComboBox(parent)
        combo.addItems(inittab.ACTIONS)
        combo.setEditable(True)
        return combo

    def setEditorData(self, editor, index):  # noqa: N802
        editor.setCurrentText(index.data() or "")

    def setModelData(self, editor, model, index):  # noqa: N802
        model.setData(index, editor.currentText())


class InittabEditor(QWidget):
    modificationChanged = Signal(bool)

    def __init__(self, editor: ImageEditor, parent: QWidget | None = None):
        super().__init__(parent)
        self.editor = editor
        self.lines: list[inittab.Line] = []
        self._rows: list[int] = []  # table row -> index into self.lines
        self._modified = False
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setItemDelegateForColumn(2, _ActionDelegate(self.table))
        self.text = QPlainTextEdit(self)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.views = QTabWidget(self)
        self.views.addTab(self.table, "Table")
        self.views.addTab(self.text, "Text")
        self.problems = QListWidget(self)
        self.problems.itemActivated.connect(self._go_to_problem)
        self.problems.itemDoubleClicked.connect(self._go_to_problem)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.views)
        split.addWidget(self.problems)
        split.setSizes([400, 120])

        add = QPushButton("Add Entry", self)
        add.clicked.connect(self.add_entry)
        remove = QPushButton("Remove Entry", self)
        remove.clicked.connect(self.remove_entry)
        presets = QToolButton(self)
        presets.setText("Presets")
        presets.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(presets)
        for name in INITTAB_PRESETS:
            menu.addAction(name, lambda n=name: self.apply_preset(n))
        presets.setMenu(menu)
        self.save_button = QPushButton("Save to Image", self)
        self.save_button.clicked.connect(self.save)
        self.summary = QLabel(self)
        bar = QHBoxLayout()
        for widget in (add, remove, presets):
            bar.addWidget(widget)
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        layout.addLayout(bar)

        self._text_timer = QTimer(self, singleShot=True, interval=300)
        self._text_timer.timeout.connect(self._text_changed)
        self.text.textChanged.connect(self._on_text_edited)
        self.table.itemChanged.connect(self._table_changed)
        self.reload()

    # -- loading and saving --------------------------------------------------------------
    def reload(self) -> None:
        entry = resolve(self.editor.state.entries, INITTAB)
        text = self.editor.doc.read_bytes(entry.path).decode(errors="replace") if entry and entry.kind == "file" else ""
        if text != self.current_text() or not self.lines:
            self.set_text(text)
        else:
            self._validate()  # the image around it may have changed (a program added or removed)
        self._set_modified(False)

    def set_text(self, text: str) -> None:
        self.text.blockSignals(True)
        self.text.setPlainText(text)
        self.text.blockSignals(False)
        self.lines = inittab.parse(text)
        self._fill_table()
        self._validate()

    def current_text(self) -> str:
        return inittab.serialize(self.lines)

    def save(self) -> bool:
        self._flush_text()
        data = self.current_text().encode()
        source, size, sha = self.editor.doc.store_bytes(data)
        state = self.editor.state
        target = resolve(state.entries, INITTAB)
        if target is not None and target.kind == "file":
            ok = self.editor.try_perform(lambda: edits.set_content(state, target.path, source, size, sha))
        else:
            ok = self.editor.try_perform(lambda: edits.new_file(state, INITTAB, source, size, sha))
        if ok:
            self._set_modified(False)
        return ok

    def is_modified(self) -> bool:
        return self._modified

    def _set_modified(self, value: bool) -> None:
        if value != self._modified:
            self._modified = value
            self.modificationChanged.emit(value)

    # -- table <-> text --------------------------------------------------------------------
    def _fill_table(self) -> None:
        self.table.blockSignals(True)
        self._rows = [i for i, line in enumerate(self.lines) if line.is_entry]
        self.table.setRowCount(len(self._rows))
        for row, i in enumerate(self._rows):
            line = self.lines[i]
            for column, value in enumerate((line.id, line.runlevels, line.action, line.process)):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.blockSignals(False)

    def _table_changed(self, item: QTableWidgetItem) -> None:
        i = self._rows[item.row()]
        field = ("id", "runlevels", "action", "process")[item.column()]
        self.lines[i] = self.lines[i].edited(**{field: item.text().strip()})
        self._table_to_text()

    def _table_to_text(self) -> None:
        self.text.blockSignals(True)
        self.text.setPlainText(self.current_text())
        self.text.blockSignals(False)
        self._set_modified(True)
        self._validate()

    def _on_text_edited(self) -> None:
        self._set_modified(True)
        self._text_timer.start()

    def _flush_text(self) -> None:
        if self._text_timer.isActive():
            self._text_timer.stop()
            self._text_changed()

    def _text_changed(self) -> None:
        self.lines = inittab.parse(self.text.toPlainText())
        self._fill_table()
        self._validate()

    def add_entry(self) -> None:
        self._flush_text()
        self.lines.append(inittab.new_entry("ttyS0", "respawn", "-/bin/sh"))
        self._fill_table()
        self._table_to_text()
        self.table.setCurrentCell(self.table.rowCount() - 1, 3)

    def remove_entry(self) -> None:
        self._flush_text()
        row = self.table.currentRow()
        if 0 <= row < len(self._rows):
            del self.lines[self._rows[row]]
            self._fill_table()
            self._table_to_text()

    def apply_preset(self, name: str) -> None:
        text, needs = INITTAB_PRESETS[name]
        if needs and resolve(self.editor.state.entries, needs) is None:
            answer = QMessageBox.warning(
                self, "Preset needs a package",
                f"{name} runs {needs}, which is not in this image: the machine will not boot to a prompt "
                "until it is installed. Use the preset anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.set_text(text)
        self._set_modified(True)

    # -- problems ----------------------------------------------------------------------------
    def _validate(self) -> None:
        findings = check_inittab_text(self.current_text(), self.editor.state.entries)
        self.problems.clear()
        for finding in findings:
            where = f"line {finding.line}" if finding.line else "inittab"
            item = QListWidgetItem(f"{finding.severity}: {where}: {finding.message}")
            item.setData(Qt.ItemDataRole.UserRole, finding.line)
            item.setForeground(Qt.GlobalColor.red if finding.severity == "error" else Qt.GlobalColor.darkYellow)
            self.problems.addItem(item)
        errors = sum(1 for f in findings if f.severity == "error")
        self.summary.setText(f"{errors} errors, {len(findings) - errors} warnings")
        self.findings = findings

    def _go_to_problem(self, item: QListWidgetItem) -> None:
        line = item.data(Qt.ItemDataRole.UserRole)
        if not line:
            return
        if self.lines[line - 1].is_entry and (line - 1) in self._rows:
            self.views.setCurrentWidget(self.table)
            self.table.setCurrentCell(self._rows.index(line - 1), 3)
        else:
            self.views.setCurrentWidget(self.text)
            cursor = self.text.textCursor()
            cursor.setPosition(self.text.document().findBlockByNumber(line - 1).position())
            self.text.setTextCursor(cursor)
