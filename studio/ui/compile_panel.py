"""The Programs panel: the project's C/C++ programs, the compile queue's jobs with status, time
and output, compiler diagnostics (double-click opens the source at the line), installing
results into the image (undoable), and running a .wasm on the host with wasmtime (in the
background, stoppable; its output and exit code show in the output pane)."""

from __future__ import annotations

import copy
import shlex
import threading
from concurrent.futures import wait as wait_futures
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox, QDockWidget, QFileDialog, QFormLayout, QHBoxLayout, QInputDialog, QLabel, QLineEdit, QListWidget,
    QListWidgetItem, QMessageBox, QPlainTextEdit, QPushButton, QScrollArea, QSplitter, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from studio.compile import packaging, programs, toolchain
from studio.compile.hostrun import HostRun, run_wasm
from studio.compile.jobs import CACHED, FAILED, SUCCEEDED, CompileOutcome, Program
from studio.compile.queue import CompileQueue, Job
from studio.errors import StudioError
from studio.image import project_packages
from studio.ui.commands import PackageCommand, PackageState, ProgramsCommand
from studio.ui.guest_runner import GuestRunner
from studio.ui.image_editor import ImageEditor
from studio.ui.worker import Task

JOB_COLUMNS = ("Program", "Target", "Status", "Time")
_FUTURE_POLL_SECONDS = 0.05  # how often a host run's compile wait looks for a cancel
_STATUS_COLORS = {SUCCEEDED: Qt.GlobalColor.darkGreen, CACHED: Qt.GlobalColor.darkCyan, FAILED: Qt.GlobalColor.red}


class _QueueSignals(QObject):
    """Carries the queue's listener calls (worker threads) to the GUI thread."""

    changed = Signal(object)


class SourceList(QListWidget):
    """A program's sources; files dropped from the desktop are added to it."""

    filesDropped = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)

    def dragEnterEvent(self, event):  # noqa: N802 (Qt override)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event):  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.filesDropped.emit(paths)
            event.acceptProposedAction()


class CompilePanel(QWidget):
    openSource = Signal(Path, int)  # a project file to show at a line
    diagnosticsChanged = Signal(str, list)  # program, its last compile's diagnostics (the Problems panel's)

    def __init__(self, editor: ImageEditor, parent: QWidget | None = None):
        super().__init__(parent)
        # Set by the window: source tabs with unsaved text are saved first, or the user chooses to
        # compile without them (False: cancelled). Compiling reads the sources from disk.
        self.prepare_compile: Callable[[], bool] = lambda: True
        self.editor = editor
        self.project = editor.doc.project
        self.queue = CompileQueue(self.project.root)
        self._signals = _QueueSignals(self)
        self._signals.changed.connect(self._job_changed)
        self.queue.listeners.append(self._signals.changed.emit)
        editor.modulesDropped.connect(self.add_modules)
        self._rows: dict[int, int] = {}  # id(job) -> table row
        self.jobs: list[Job] = []
        self.run_task: Task | None = None  # the host run in progress (or the last one)
        self.run_timeout: float | None = None  # seconds a host run may take; None: until stopped
        self._runs_in_flight: list[threading.Event] = []  # each set when that run's thread is done
        self._to_install: list[CompileOutcome] = []  # compiled, waiting to be packaged and installed
        self._to_remove: list[str] = []  # removed programs whose packages are still in the image
        self.package_task: Task | None = None  # the package change in progress (one at a time)
        self._waiting_for_slot = False  # a change asked for the editor's package slot and waits for it
        self.runner = GuestRunner(self)  # package triggers (e.g. BusyBox's on /usr/bin) need a boot

        self.program_list = QListWidget(self)
        self.program_list.currentRowChanged.connect(self._show_program)
        add = QPushButton("Add Program…", self)
        add.clicked.connect(self.add_program_dialog)
        remove = QPushButton("Remove", self)
        remove.clicked.connect(self.remove_program)
        left = QVBoxLayout()
        left.addWidget(QLabel("Programs"))
        left.addWidget(self.program_list)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        left.addLayout(row)

        self.target = QComboBox(self)
        self.target.addItems(toolchain.TARGETS)
        self.install = QLineEdit(self)
        self.cflags = QLineEdit(self)
        self.sources = SourceList(self)
        self.sources.filesDropped.connect(self.add_sources)
        self.sources.itemDoubleClicked.connect(lambda item: self.openSource.emit(self.project.root / item.text(), 1))
        self.language = QLabel(self)
        remove_source = QPushButton("Remove Source", self)
        remove_source.clicked.connect(self.remove_source)
        apply = QPushButton("Apply", self)
        apply.clicked.connect(self.apply_program)
        form = QFormLayout()
        form.addRow("Target:", self.target)
        form.addRow("Install as:", self.install)
        form.addRow("Extra flags:", self.cflags)
        form.addRow("Sources (drop files here):", self.sources)
        form.addRow("Language:", self.language)
        source_buttons = QHBoxLayout()
        source_buttons.addWidget(remove_source)
        source_buttons.addWidget(apply)
        form.addRow("", source_buttons)

        self.compile_button = QPushButton("Compile", self)
        self.compile_button.clicked.connect(self.compile_selected)
        compile_all = QPushButton("Compile All", self)
        compile_all.clicked.connect(self.compile_all)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.run_button = QPushButton("Run on Host…", self)
        self.run_button.clicked.connect(self.run_on_host_dialog)
        self.stop_run_button = QPushButton("Stop Run", self)
        self.stop_run_button.clicked.connect(self.stop_run)
        self.stop_run_button.setEnabled(False)
        buttons = QHBoxLayout()
        for b in (self.compile_button, compile_all, self.cancel_button, self.run_button, self.stop_run_button):
            buttons.addWidget(b)

        self.job_table = QTableWidget(0, len(JOB_COLUMNS), self)
        self.job_table.setHorizontalHeaderLabels(JOB_COLUMNS)
        self.job_table.horizontalHeader().setStretchLastSection(True)
        self.job_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.job_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.job_table.currentCellChanged.connect(lambda row, *_: self._show_output(row))
        self.output = QPlainTextEdit(self)
        self.output.setReadOnly(True)
        self.problems = QListWidget(self)
        self.problems.itemDoubleClicked.connect(self._open_problem)

        middle = QWidget(self)
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addLayout(form)
        middle_layout.addLayout(buttons)
        middle_layout.addWidget(self.job_table)
        self.output_splitter = right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(self.output)
        right.addWidget(self.problems)
        left_widget = QWidget(self)
        left_widget.setLayout(left)
        split = QSplitter(self)
        split.addWidget(left_widget)
        split.addWidget(middle)
        split.addWidget(right)
        split.setSizes([180, 420, 420])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self.refresh_programs()
        QTimer.singleShot(0, self, self.build_what_this_machine_lacks)

    # -- programs ------------------------------------------------------------------------
    def build_what_this_machine_lacks(self) -> list[Job]:
        """Compile the programs whose locked packages this machine has never built (a fresh clone
        of the project): the image then holds them, with the same releases as the lock."""
        missing = set(project_packages.unbuilt_programs(self.project))
        chosen = [p for p in self.programs() if p.name in missing]
        if not chosen:
            return []
        names = ", ".join(p.name for p in chosen)
        self.editor.message.emit(f"Compiling {names}: this machine has not built {'its' if len(chosen) == 1 else 'their'} "
                                 "package yet")
        return self.compile(chosen)

    def programs(self) -> list[Program]:
        return programs.load(self.project)

    def refresh_programs(self, select: str | None = None) -> None:
        current = select or (self.program_list.currentItem().text() if self.program_list.currentItem() else None)
        self.program_list.blockSignals(True)
        self.program_list.clear()
        for program in self.programs():
            self.program_list.addItem(program.name)
        self.program_list.blockSignals(False)
        names = [p.name for p in self.programs()]
        self.program_list.setCurrentRow(names.index(current) if current in names else (0 if names else -1))
        self._show_program(self.program_list.currentRow())

    def selected(self) -> Program | None:
        item = self.program_list.currentItem()
        return programs.find(self.project, item.text()) if item else None

    def _show_program(self, row: int) -> None:
        program = self.selected()
        self.sources.clear()
        if program is None:
            self.install.clear()
            self.cflags.clear()
            return
        self.target.setCurrentText(program.target)
        self.install.setText(program.install)
        self.cflags.setText(program.cflags)
        for source in program.sources:
            self.sources.addItem(source)
        self.cflags.setEnabled(not program.prebuilt)  # a prebuilt module is not compiled here
        try:
            if program.prebuilt:
                self.language.setText("WebAssembly module, built elsewhere (translated for the guest)")
                return
            self.language.setText("C++" if toolchain.language_of(program.compile_units(self.project.root)) == "c++"
                                  else "C")
        except StudioError as err:
            self.language.setText(str(err))

    def add_program_dialog(self) -> None:
        name, ok = QInputDialog.getText(self, "Add Program", "Program name:")
        if not ok or not name.strip():
            return
        files = QFileDialog.getOpenFileNames(
            self, f"Sources of {name}",
            filter="C/C++ sources or a WebAssembly module (*.c *.cc *.cpp *.cxx *.h *.hpp *.wasm);;"
                   "C/C++ (*.c *.cc *.cpp *.cxx *.h *.hpp);;WebAssembly module, wasm32-wasi (*.wasm)")[0]
        if files:
            self.add_program(name.strip(), [Path(f) for f in files])

    def _define(self, label: str, failure: str, change: Callable[[], object], select: str | None) -> bool:
        """Change the program definitions through `change` (studio.compile.programs) as one undo
        step; a StudioError is shown under `failure` and changes nothing."""
        before = copy.deepcopy(self.project.programs)
        try:
            change()
        except StudioError as err:
            self.project.programs = before
            QMessageBox.warning(self, failure, str(err))
            self.refresh_programs(select=select)
            return False
        if self.project.programs != before:
            self.editor.undo_stack.push(ProgramsCommand(self.project, label, before, self.project.programs,
                                                        lambda: self.refresh_programs(select=select)))
        self.refresh_programs(select=select)
        return True

    def add_program(self, name: str, sources: list[Path], target: str = toolchain.WASM, install: str = "") -> bool:
        return self._define(f"Add program {name}", "Cannot add program",
                            lambda: programs.add(self.project, name, sources, target, install), name)

    def add_modules(self, paths: list[Path], folder: str) -> None:
        """WebAssembly modules dropped on the tree: each a program installed in `folder` (checked,
        then translated and installed by the queue like a compiled one)."""
        added = []
        taken = {p.name for p in self.programs()}
        for path in paths:
            name = base = path.stem
            number = 2
            while name in taken:
                name, number = f"{base}-{number}", number + 1
            if self.add_program(name, [path], install=f"{folder.rstrip('/')}/{path.stem}"):
                taken.add(name)
                added.append(programs.find(self.project, name))
        if added:
            self.compile(added)

    def add_sources(self, paths: list[Path]) -> None:
        program = self.selected()
        if program is None:
            return
        self._define(f"Add sources to {program.name}", "Cannot add sources",
                     lambda: programs.add_sources(self.project, program.name, paths), program.name)

    def apply_program(self) -> None:
        program = self.selected()
        if program is None:
            return
        sources = [self.project.root / self.sources.item(i).text() for i in range(self.sources.count())]
        self._define(f"Change program {program.name}", "Cannot change program",
                     lambda: programs.add(self.project, program.name, sources, self.target.currentText(),
                                          self.install.text().strip(), self.cflags.text().strip(), replace=True),
                     program.name)

    def remove_source(self) -> None:
        row = self.sources.currentRow()
        if row >= 0:
            self.sources.takeItem(row)
            self.apply_program()

    def remove_program(self) -> None:
        """Remove the program (one undo step); its package leaves the image in the background
        (another: undo both to have the program back as it was)."""
        program = self.selected()
        if program is None:
            return
        if self._define(f"Remove program {program.name}", "Cannot remove program",
                        lambda: programs.remove(self.project, program.name), None):
            self._to_remove.append(program.name)  # its package is a step of its own once it has left
            self._next_package_change()

    # -- the queue -------------------------------------------------------------------------
    def compile(self, chosen: list[Program]) -> list[Job]:
        jobs = self.queue.submit_all(chosen)
        self.jobs.extend(jobs)
        return jobs

    def compile_selected(self) -> None:
        program = self.selected()
        if program is not None and self.prepare_compile():
            self.compile([program])

    def compile_all(self) -> None:
        if self.prepare_compile():
            self.compile(self.programs())

    def cancel_selected(self) -> None:
        row = self.job_table.currentRow()
        job = next((j for j in self.jobs if self._rows.get(id(j)) == row), None)
        if job is not None and not job.done:
            self.queue.cancel(job)

    def _job_changed(self, job: Job) -> None:
        row = self._rows.get(id(job))
        if row is None:
            row = self._rows[id(job)] = self.job_table.rowCount()
            self.job_table.insertRow(row)
            if job not in self.jobs:
                self.jobs.append(job)
        seconds = f"{job.outcome.seconds:.2f} s" if job.outcome else ""
        for column, text in enumerate((job.program.name, job.program.target, job.status, seconds)):
            item = QTableWidgetItem(text)
            if column == 2 and job.status in _STATUS_COLORS:
                item.setForeground(_STATUS_COLORS[job.status])
            self.job_table.setItem(row, column, item)
        if job.outcome is not None:
            self.diagnosticsChanged.emit(job.program.name, list(job.outcome.diagnostics))
            self.job_table.setCurrentCell(row, 0)
            self._show_output(row)
            if job.outcome.ok:
                self._install(job.outcome)

    # -- the image's packages: each compiled program goes in as its package, a removed one goes ---
    def _install(self, outcome: CompileOutcome) -> None:
        self._to_install.append(outcome)
        self._next_package_change()

    def _next_package_change(self) -> None:
        """Carry out the next package change (removals first, then what compiled meanwhile, in one
        change) in the background, one at a time in the window (the editor's package slot, shared
        with the Packages panel): each starts from the lock the last one left."""
        if self._waiting_for_slot or (self.package_task is not None and not self.package_task.done):
            return
        if self._to_remove or self._to_install:
            self._waiting_for_slot = True
            self.editor.package_slot.take("Programs", self._start_package_change)

    def _start_package_change(self) -> None:
        self._waiting_for_slot = False
        doc = self.editor.doc
        project, index = doc.project, doc.index
        before = PackageState(project.packages.copy(), project.lock)
        if self._to_remove:
            name = self._to_remove.pop(0)
            task = Task(lambda progress, cancelled: packaging.uninstall(project, index, name, self.runner, progress,
                                                                        cancelled), self.editor)
            task.finished.connect(lambda removal: self._changed(f"Remove {name}", before, removal))
            task.failed.connect(lambda message: self._change_failed(
                f"The package of {name} could not be taken out of the image:\n\n{message}"))
        elif self._to_install:
            outcomes, self._to_install = self._to_install, []
            chosen = self.programs()
            task = Task(lambda progress, cancelled: packaging.install(project, index, chosen, outcomes, self.runner,
                                                                      progress, cancelled), self.editor)
            task.finished.connect(lambda result: self._installed(before, outcomes, result))
            task.failed.connect(lambda message: self._change_failed(
                f"{', '.join(o.program for o in outcomes)} compiled, but could not be installed as a package:"
                f"\n\n{message}"))
        else:
            self.editor.package_slot.give_back()
            return
        self.package_task = task.start()

    def _installed(self, before: PackageState, outcomes: list[CompileOutcome], result) -> None:
        change, outcome, packaged = result
        self._changed(f"Install {', '.join(p.program for p in packaged)}", before, (change, outcome), outcomes)

    def _changed(self, label: str, before: PackageState, result, installed: list[CompileOutcome] = ()) -> None:
        if result is not None:
            change, outcome = result
            after = PackageState(change.settings.copy(), outcome.lock)
            if after.lock != before.lock or after.settings.world != before.settings.world:
                self.editor.undo_stack.push(PackageCommand(self.editor, label, before, after))
            elif installed:  # the locked release, built on this machine for the first time: now in the image
                self.editor.doc.rebase()
        # Once the packages are under the image: copies an older studio put in the overlay would hide them.
        leftover = packaging.leftover_files(self.editor.state, list(installed))
        if leftover is not None:
            self.editor.perform(leftover)
        self.editor.package_slot.give_back()
        self._next_package_change()

    def _change_failed(self, text: str) -> None:
        self.editor.package_slot.give_back()
        box = QMessageBox(QMessageBox.Icon.Warning, "Packages", text, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self._next_package_change()

    def _show_output(self, row: int) -> None:
        job = next((j for j in self.jobs if self._rows.get(id(j)) == row), None)
        self.output.setPlainText(job.outcome.output if job and job.outcome else "")
        self.problems.clear()
        if job is None or job.outcome is None:
            return
        for diagnostic in job.outcome.diagnostics:
            item = QListWidgetItem(str(diagnostic))
            item.setData(Qt.ItemDataRole.UserRole, (diagnostic.file, diagnostic.line))
            item.setForeground(Qt.GlobalColor.red if diagnostic.severity == "error" else Qt.GlobalColor.darkYellow)
            self.problems.addItem(item)

    def _open_problem(self, item: QListWidgetItem) -> None:
        file, line = item.data(Qt.ItemDataRole.UserRole)
        path = Path(file) if Path(file).is_absolute() else self.project.root / file
        if path.exists():
            self.openSource.emit(path, line)

    # -- host runs --------------------------------------------------------------------------
    def run_on_host_dialog(self) -> None:
        program = self.selected()
        if program is None or program.target != toolchain.WASM:
            QMessageBox.information(self, "Run on Host", "Pick a wasm32-wasi program (i386 ones run in the guest).")
            return
        args, ok = QInputDialog.getText(self, f"Run {program.name}", "Arguments:")
        if not ok:
            return
        stdin, ok = QInputDialog.getMultiLineText(self, f"Run {program.name}", "Standard input:")
        if ok and self.prepare_compile():
            self.run_on_host(program, shlex.split(args), stdin.encode())

    def run_on_host(self, program: Program, args: list[str], stdin: bytes = b"") -> Task:
        """Compile `program` (through the queue) and run it with wasmtime, both in the background;
        "Stop Run" cancels either. The output pane shows what it printed and its exit code."""
        if self.run_task is not None and not self.run_task.done:
            self.run_task.cancel()  # one run at a time: the newest wins
        header = f"$ {shlex.join([program.name, *args])}"
        self._show_run_text(f"{header}\n(compiling…)")
        work_done = threading.Event()
        self._runs_in_flight = [e for e in self._runs_in_flight if not e.is_set()] + [work_done]
        task = Task(lambda progress, cancelled: self._compile_and_run(program, args, stdin, header, progress,
                                                                      cancelled, work_done), self)
        task.progress.connect(lambda message, fraction, t=task: self._run_progressed(t, header, message))
        task.finished.connect(lambda text, t=task: self._run_ended(t, text))
        task.failed.connect(lambda message, t=task: self._run_ended(t, f"{header}\n{message}"))
        task.cancelledSignal.connect(lambda t=task: self._run_ended(t, f"{header}\n[cancelled]"))
        self.run_task = task.start()
        self._update_run_buttons()
        return task

    def stop_run(self) -> None:
        if self.run_task is not None and not self.run_task.done:
            self.run_task.cancel()

    def _compile_and_run(self, program: Program, args: list[str], stdin: bytes, header: str,
                         progress: Callable[[str, float], None], cancelled: Callable[[], bool],
                         work_done: threading.Event) -> str:
        """The background half of a host run (a worker thread: no widgets here)."""
        try:
            outcome = self._compile_for_run(program, cancelled)
            if cancelled():
                return f"{header}\n[cancelled]"
            if not outcome.ok:
                return f"{header}\ncompiling {program.name} {outcome.status}:\n{outcome.output}"
            wasm = next(a.host_path for a in outcome.artifacts if a.image_path.endswith(".wasm"))
            progress("running", 0.5)
            result = run_wasm(wasm, args, stdin, name=program.name, cancelled=cancelled, timeout=self.run_timeout)
            return f"{header}\n{describe_run(result)}"
        finally:
            work_done.set()

    def _compile_for_run(self, program: Program, cancelled: Callable[[], bool]) -> CompileOutcome:
        """Compile through the queue (the job shows in the table), cancelling the job if the run is."""
        job = self.queue.submit(program)
        while not job.done:
            if cancelled():
                self.queue.cancel(job)
            wait_futures([job.future], timeout=_FUTURE_POLL_SECONDS)
        return job.outcome

    def _run_progressed(self, task: Task, header: str, message: str) -> None:
        if task is self.run_task and not task.done:
            self._show_run_text(f"{header}\n({message}…)")

    def _run_ended(self, task: Task, text: str) -> None:
        if task is self.run_task:  # a newer run replaced this one: its output is not wanted
            self._show_run_text(text)
        self._update_run_buttons()

    def _update_run_buttons(self) -> None:
        running = self.run_task is not None and not self.run_task.done
        self.stop_run_button.setEnabled(running)

    def _show_run_text(self, text: str) -> None:
        self.output.setPlainText(text)
        self.reveal_output()

    def reveal_output(self) -> None:
        """Bring the output pane into view: raise the Programs dock (it shares a tab with
        Problems), give the pane room if its splitter collapsed it, scroll to it."""
        widget = self.parentWidget()
        while widget is not None and not isinstance(widget, QDockWidget):
            if isinstance(widget, QScrollArea):
                widget.ensureWidgetVisible(self.output)
            widget = widget.parentWidget()
        if widget is not None:
            widget.show()
            widget.raise_()
        sizes = self.output_splitter.sizes()
        if sizes and sizes[0] == 0:
            self.output_splitter.setSizes([max(1, sum(sizes) // 2)] * len(sizes))

    def shutdown(self) -> None:
        self.stop_run()
        self.queue.listeners.clear()
        self.queue.shutdown()
        for work_done in self._runs_in_flight:  # a stopped run ends at once; leave no thread behind
            work_done.wait(10)


def describe_run(result: HostRun) -> str:
    """What a host run printed, then how it ended: "[exit code N]", "[cancelled]" or "[timed out after N s]"."""
    text = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
    if text and not text.endswith("\n"):
        text += "\n"
    return text + (f"[{result.stopped}]" if result.stopped else f"[exit code {result.exit_code}]")
