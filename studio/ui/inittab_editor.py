"""/etc/inittab as a table and as text, kept in sync both ways, with its problems listed live
(rows with errors red, with warnings amber; lines that are not entries shown as flagged rows) and
presets (serial root shell, serial getty, Alpine OpenRC), each applied to the image as one
undoable step."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu, QMessageBox, QPushButton, QSplitter,
    QStyle, QStyledItemDelegate, QTableWidget, QTableWidgetItem, QTabWidget, QToolButton, QVBoxLayout, QWidget,
)

from studio.image import edits, inittab
from studio.image.checks import ERROR, INITTAB, check_inittab_text
from studio.image.preset import INITTAB_PRESETS
from studio.image.tarimport import resolve
from studio.ui.image_editor import ImageEditor
from studio.ui.text_editor import CodeView

COLUMNS = ("ID / tty", "Runlevels", "Action", "Process")
ROW_COLORS = {ERROR: QColor("#ffd6d6"), "warning": QColor("#ffe8b0")}  # errors red, warnings amber
NOT_AN_ENTRY = ("Not an inittab entry: BusyBox init skips this line. Write it as id:runlevels:action:process "
                "(here or in the Text view), or make it a comment with #.")


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
        self._rows: list[int] = []  # table row -> index into self.lines (entries and malformed lines)
        self._modified = False
        self._setting_text = False
        # Questions, answered by the user; tests swap in answers.
        self.ask_save_with_errors = self._ask_save_with_errors
        self.ask_preset = self._ask_preset
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setItemDelegateForColumn(2, _ActionDelegate(self.table))
        self.code = CodeView(self)
        self.code.reveal = lambda: self.views.setCurrentWidget(self.code)
        self.text = self.code.edit
        self.edit_actions = self.code.edit_actions  # Find, Replace, Go to Line (in the Text view)
        self.addActions(self.edit_actions)
        self.views = QTabWidget(self)
        self.views.addTab(self.table, "Table")
        self.views.addTab(self.code, "Text")
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
        self.preset_actions = {name: menu.addAction(name, lambda n=name: self.choose_preset(n))
                               for name in INITTAB_PRESETS}
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
        self._text_timer.stop()
        if text != self.current_text() or not self.lines:
            self.set_text(text)
        else:
            self._validate()  # the image around it may have changed (a program added or removed)
        self._set_modified(False)

    def set_text(self, text: str) -> None:
        self._show_text(text)
        self.lines = inittab.parse(text)
        self._fill_table()
        self._validate()

    def _show_text(self, text: str) -> None:
        self._setting_text = True
        self.text.setPlainText(text)
        self._setting_text = False

    def current_text(self) -> str:
        return inittab.serialize(self.lines)

    def save(self) -> bool:
        """Save to Image: the text as one edit of the image, asking first when it has errors.
        Nothing to do (True) when the tab has no edits of its own."""
        self._flush_text()
        if not self._modified:
            return True
        errors = [f for f in self.findings if f.severity == ERROR]
        if errors and not self.ask_save_with_errors(errors):
            return False
        if not self._write(self.current_text()):
            return False
        self._set_modified(False)
        return True

    def _write(self, text: str, label: str = "") -> bool:
        """Put `text` into the image's inittab (where its symlink points) as one undo step."""
        source, size, sha = self.editor.doc.store_bytes(text.encode())
        state = self.editor.state
        target = resolve(state.entries, INITTAB)
        if target is not None and target.kind == "file":
            build = lambda: edits.set_content(state, target.path, source, size, sha)  # noqa: E731
        else:
            build = lambda: edits.new_file(state, INITTAB, source, size, sha)  # noqa: E731
        return self.editor.try_perform(lambda: replace(build(), label=label) if label else build())

    def _ask_save_with_errors(self, errors) -> bool:
        count = len(errors)
        shown = "\n".join(str(e) for e in errors[:5]) + ("\n…" if count > 5 else "")
        noun = "error" if count == 1 else "errors"
        answer = QMessageBox.warning(
            self, "inittab has errors",
            f"{shown}\n\nBusyBox init skips or fails on what these point at. Save it with {count} {noun}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Save

    def is_modified(self) -> bool:
        return self._modified

    def _set_modified(self, value: bool) -> None:
        if value != self._modified:
            self._modified = value
            self.modificationChanged.emit(value)

    # -- table <-> text --------------------------------------------------------------------
    def _fill_table(self) -> None:
        """A row per entry, and a flagged row spanning the columns for each line that is not one."""
        self.table.blockSignals(True)
        self.table.clearSpans()
        self._rows = [i for i, line in enumerate(self.lines) if line.is_entry or line.is_malformed]
        self.table.setRowCount(len(self._rows))
        for row, i in enumerate(self._rows):
            line = self.lines[i]
            self.table.setVerticalHeaderItem(row, QTableWidgetItem(str(i + 1)))  # its line in the file
            if line.is_malformed:
                self.table.setItem(row, 0, QTableWidgetItem(line.text))
                for column in range(1, len(COLUMNS)):
                    self.table.setItem(row, column, QTableWidgetItem())
                self.table.setSpan(row, 0, 1, len(COLUMNS))
                continue
            for column, value in enumerate((line.id, line.runlevels, line.action, line.process)):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.blockSignals(False)

    def _table_changed(self, item: QTableWidgetItem) -> None:
        i = self._rows[item.row()]
        line = self.lines[i]
        if line.is_malformed:  # the whole line, as typed: it may be an entry now
            self.lines[i] = inittab.parse_line(item.text())
            if self.lines[i].is_entry:
                QTimer.singleShot(0, self._fill_table_and_validate)  # not while the table commits the edit
        else:
            field = ("id", "runlevels", "action", "process")[item.column()]
            self.lines[i] = line.edited(**{field: item.text().strip()})
        self._table_to_text()

    def _fill_table_and_validate(self) -> None:
        self._fill_table()
        self._validate()

    def _table_to_text(self) -> None:
        self._show_text(self.current_text())
        self._set_modified(True)
        self._validate()

    def _on_text_edited(self) -> None:
        if self._setting_text:
            return
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

    # -- presets -------------------------------------------------------------------------------
    def choose_preset(self, name: str) -> None:
        """A preset from the menu: it replaces the whole inittab, so ask first; then it goes into
        the image as one undo step (the tab's unsaved edits are dropped)."""
        needs = self._missing_program(name)
        if self.ask_preset(name, needs, self.is_modified()):
            self._apply_preset(name)

    def apply_preset(self, name: str) -> None:
        """Apply a preset to the image as one undo step, unless the program it needs is missing
        from the image and the user declines."""
        needs = self._missing_program(name)
        if needs:
            answer = QMessageBox.warning(
                self, "Preset needs a package",
                f"{name} runs {needs}, which is not in this image: the machine will not boot to a prompt "
                "until it is installed. Use the preset anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._apply_preset(name)

    def _missing_program(self, name: str) -> str:
        needs = INITTAB_PRESETS[name][1]
        return needs if needs and resolve(self.editor.state.entries, needs) is None else ""

    def _apply_preset(self, name: str) -> None:
        self._text_timer.stop()
        if self._write(INITTAB_PRESETS[name][0], f"Apply inittab preset {name}"):
            self.reload()  # shows what the image holds now: the preset

    def _ask_preset(self, name: str, needs: str, unsaved: bool) -> bool:
        text = f"The preset “{name}” replaces the whole /etc/inittab."
        if unsaved:
            text += " The unsaved edits in this tab are dropped."
        if needs:
            text += (f"\n\nIt runs {needs}, which is not in this image: the machine will not boot to a "
                     "prompt until it is installed.")
        answer = QMessageBox.question(self, "Apply preset", text + "\n\nUndo (Ctrl+Z) takes it back.",
                                      QMessageBox.StandardButton.Apply | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Apply)
        return answer == QMessageBox.StandardButton.Apply

    # -- problems ----------------------------------------------------------------------------
    def _validate(self) -> None:
        findings = check_inittab_text(self.current_text(), self.editor.state.entries)
        self.problems.clear()
        for finding in findings:
            where = f"line {finding.line}" if finding.line else "inittab"
            item = QListWidgetItem(f"{finding.severity}: {where}: {finding.message}")
            item.setData(Qt.ItemDataRole.UserRole, finding.line)
            item.setForeground(Qt.GlobalColor.red if finding.severity == ERROR else Qt.GlobalColor.darkYellow)
            self.problems.addItem(item)
        errors = sum(1 for f in findings if f.severity == ERROR)
        self.summary.setText(f"{errors} errors, {len(findings) - errors} warnings")
        self.findings = findings
        self._color_rows()

    def _color_rows(self) -> None:
        """Rows with errors red, with warnings amber; their problems in the row's tooltip and an
        icon on its line number."""
        by_line: dict[int, list] = {}
        for finding in self.findings:
            by_line.setdefault(finding.line, []).append(finding)
        icons = {ERROR: QStyle.StandardPixmap.SP_MessageBoxCritical, "warning": QStyle.StandardPixmap.SP_MessageBoxWarning}
        self.table.blockSignals(True)
        for row, i in enumerate(self._rows):
            found = by_line.get(i + 1, [])
            severity = ERROR if any(f.severity == ERROR for f in found) else "warning" if found else ""
            tip = "\n".join(f"{f.severity}: {f.message}" for f in found)
            if self.lines[i].is_malformed:
                tip = NOT_AN_ENTRY + ("\n" + tip if tip else "")
            for column in range(self.table.columnCount()):
                item = self.table.item(row, column)
                if item is not None:
                    item.setData(Qt.ItemDataRole.BackgroundRole, ROW_COLORS.get(severity))
                    item.setToolTip(tip)
            header = self.table.verticalHeaderItem(row)
            if header is not None:
                header.setIcon(self.style().standardIcon(icons[severity]) if severity else QIcon())
        self.table.blockSignals(False)

    def _go_to_problem(self, item: QListWidgetItem) -> None:
        self.show_line(item.data(Qt.ItemDataRole.UserRole))

    def show_line(self, line: int) -> None:
        """Show `line` (1-based) of the inittab: its row in the table, else the line in the Text view."""
        if not line or line > len(self.lines):
            return
        if self.views.currentWidget() is self.table and (line - 1) in self._rows:
            self.table.setCurrentCell(self._rows.index(line - 1), 3 if self.lines[line - 1].is_entry else 0)
        else:
            self.views.setCurrentWidget(self.code)
            self.text.go_to_line(line)
