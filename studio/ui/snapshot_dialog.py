"""The snapshot manager: saved machine states with their size and age; delete them."""

from __future__ import annotations

import time

import humanize
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout,
)

from studio.boot.snapshots import SnapshotStore

COLUMNS = ("Project", "Size", "Uncompressed", "Saved", "Key")


class SnapshotDialog(QDialog):
    def __init__(self, store: SnapshotStore, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Snapshots")
        self.resize(760, 360)
        self.store = store
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.total = QLabel(self)
        delete = QPushButton("Delete", self)
        delete.clicked.connect(self.delete_selected)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        buttons.rejected.connect(self.reject)
        note = QLabel("A snapshot is restored only onto the very image, kernel, BIOS, v86 and boot settings "
                      "that saved it; anything else boots cold.", self)
        note.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.total, 1)
        row.addWidget(delete)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        snapshots = self.store.list()
        self.table.setRowCount(len(snapshots))
        for row, snap in enumerate(snapshots):
            cells = (snap.project, humanize.naturalsize(snap.size, binary=True),
                     humanize.naturalsize(snap.raw_size, binary=True),
                     humanize.naturaltime(time.time() - snap.created), snap.key)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, snap.key)
                self.table.setItem(row, column, item)
        total = sum(s.size for s in snapshots)
        self.total.setText(f"{len(snapshots)} snapshot(s), {humanize.naturalsize(total, binary=True)}")

    def delete_selected(self) -> None:
        keys = {self.table.item(index.row(), 0).data(Qt.ItemDataRole.UserRole)
                for index in self.table.selectionModel().selectedRows()}
        for key in keys:
            self.store.delete(key)
        self.refresh()
