"""Properties of one image entry: mode (octal and checkboxes, kept in sync), owner, group,
and a symlink's target."""

from __future__ import annotations

from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGridLayout, QLabel, QLineEdit, QWidget,
)

from studio.image.entry import SYMLINK, Entry, mode_string

_BITS = [  # (row, column, bit, label)
    (0, 0, 0o400, "read"), (0, 1, 0o200, "write"), (0, 2, 0o100, "execute"),
    (1, 0, 0o040, "read"), (1, 1, 0o020, "write"), (1, 2, 0o010, "execute"),
    (2, 0, 0o004, "read"), (2, 1, 0o002, "write"), (2, 2, 0o001, "execute"),
    (3, 0, 0o4000, "set user ID"), (3, 1, 0o2000, "set group ID"), (3, 2, 0o1000, "sticky"),
]


class PropertiesDialog(QDialog):
    def __init__(self, entry: Entry, users: dict[str, int], groups: dict[str, int], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Properties of {entry.path}")
        self.entry = entry
        self.users, self.groups = users, groups
        form = QFormLayout(self)
        form.addRow("Path:", QLabel(entry.path))
        self.octal = QLineEdit(f"{entry.mode:04o}")
        self.octal.setValidator(QRegularExpressionValidator(r"[0-7]{1,4}"))
        self.summary = QLabel(mode_string(entry.kind, entry.mode))
        form.addRow("Mode (octal):", self.octal)
        grid = QGridLayout()
        for row, who in enumerate(("Owner", "Group", "Others", "Special")):
            grid.addWidget(QLabel(who), row, 0)
        self.boxes: dict[int, QCheckBox] = {}
        for row, column, bit, label in _BITS:
            box = QCheckBox(label)
            box.setChecked(bool(entry.mode & bit))
            box.toggled.connect(self._boxes_changed)
            grid.addWidget(box, row, column + 1)
            self.boxes[bit] = box
        form.addRow("Permissions:", grid)
        form.addRow("", self.summary)
        self.owner = self._id_combo(users, entry.uid)
        self.group = self._id_combo(groups, entry.gid)
        form.addRow("Owner:", self.owner)
        form.addRow("Group:", self.group)
        self.target = QLineEdit(entry.target)
        if entry.kind == SYMLINK:
            form.addRow("Points to:", self.target)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.octal.textEdited.connect(self._octal_changed)
        self._syncing = False

    @staticmethod
    def _id_combo(names: dict[str, int], current: int) -> QComboBox:
        combo = QComboBox()
        combo.setEditable(True)  # a number not in the image's files is allowed
        for name, number in sorted(names.items(), key=lambda item: item[1]):
            combo.addItem(f"{name} ({number})", number)
        at = combo.findData(current)
        if at >= 0:
            combo.setCurrentIndex(at)
        else:
            combo.setEditText(str(current))
        return combo

    def _mode(self) -> int:
        return int(self.octal.text() or "0", 8)

    def _octal_changed(self) -> None:
        self._syncing = True
        for bit, box in self.boxes.items():
            box.setChecked(bool(self._mode() & bit))
        self._syncing = False
        self.summary.setText(mode_string(self.entry.kind, self._mode()))

    def _boxes_changed(self) -> None:
        if getattr(self, "_syncing", False):
            return
        mode = sum(bit for bit, box in self.boxes.items() if box.isChecked())
        self.octal.setText(f"{mode:04o}")
        self.summary.setText(mode_string(self.entry.kind, mode))

    @staticmethod
    def _id_of(combo: QComboBox, names: dict[str, int]) -> int | None:
        text = combo.currentText().strip()
        data = combo.currentData()
        if data is not None and combo.itemText(combo.currentIndex()) == text:
            return int(data)
        name = text.split(" (")[0]
        if name in names:
            return names[name]
        return int(text) if text.isdigit() else None

    def values(self) -> tuple[int, int | None, int | None, str]:
        """(mode, uid, gid, symlink target) as chosen."""
        return self._mode(), self._id_of(self.owner, self.users), self._id_of(self.group, self.groups), \
            self.target.text().strip()
