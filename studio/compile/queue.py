"""The compile queue (Qt-free): programs compile in parallel, up to one per core, each
cancellable; a failure never stops the others, and every job ends (an unexpected error ends
it as failed, with the error in its output). Listeners hear every status change (from
worker threads: the GUI forwards them through a Qt signal)."""

from __future__ import annotations

import logging
import os
import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from studio.compile.jobs import (
    CANCELLED, FAILED, QUEUED, RUNNING, CompileCache, CompileOutcome, Program, compile_program,
)

log = logging.getLogger(__name__)


@dataclass
class Job:
    program: Program
    status: str = QUEUED
    outcome: CompileOutcome | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    future: Future | None = None

    @property
    def done(self) -> bool:
        return self.outcome is not None


class CompileQueue:
    def __init__(self, project: Path, workers: int | None = None, cache: CompileCache | None = None):
        self.project = Path(project)
        self.workers = workers or os.cpu_count() or 1
        self.cache = cache if cache is not None else CompileCache()
        self.jobs: list[Job] = []
        self.listeners: list[Callable[[Job], None]] = []
        self._finishing = threading.Lock()  # a job is finished once, by its worker or by a cancel
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="compile")

    def submit(self, program: Program) -> Job:
        job = Job(program)
        self.jobs.append(job)
        self._notify(job)
        job.future = self._pool.submit(self._run, job)
        return job

    def submit_all(self, programs: list[Program]) -> list[Job]:
        return [self.submit(p) for p in programs]

    def cancel(self, job: Job) -> None:
        job.cancel_event.set()
        if job.future is not None and job.future.cancel():  # had not started
            self._finish(job, CompileOutcome(job.program.name, CANCELLED, output="cancelled before it started"))

    def wait(self, jobs: list[Job] | None = None, timeout: float | None = None) -> list[CompileOutcome]:
        for job in jobs or list(self.jobs):
            if job.future is not None and not job.future.cancelled():
                job.future.result(timeout=timeout)
        return [job.outcome for job in jobs or self.jobs]

    def shutdown(self) -> None:
        for job in self.jobs:
            if not job.done:
                job.cancel_event.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for job in self.jobs:
            if not job.done:  # its future was cancelled before it started
                self._finish(job, CompileOutcome(job.program.name, CANCELLED, output="cancelled: the queue shut down"))

    def _run(self, job: Job) -> None:
        if job.cancel_event.is_set():
            self._finish(job, CompileOutcome(job.program.name, CANCELLED, output="cancelled before it started"))
            return

        def running():
            job.status = RUNNING
            self._notify(job)

        outcome = CompileOutcome(job.program.name, FAILED, output="the compile was interrupted")
        try:
            outcome = compile_program(job.program, self.project, self.cache, job.cancel_event, on_running=running)
        except Exception:  # compile_program reports errors in its outcome: this is a bug, show it
            outcome = CompileOutcome(job.program.name, FAILED,
                                     output="internal error while compiling:\n" + traceback.format_exc())
        finally:  # whatever happened, the job ends: no job stays "running" forever
            self._finish(job, outcome)

    def _finish(self, job: Job, outcome: CompileOutcome) -> None:
        with self._finishing:
            if job.outcome is not None:
                return
            job.status = outcome.status
            job.outcome = outcome  # last: `done` means the status is final
        self._notify(job)

    def _notify(self, job: Job) -> None:
        for listener in list(self.listeners):
            try:
                listener(job)
            except Exception:  # one broken listener must not leave a job unfinished for the others
                log.exception("compile queue listener failed on %s", job.program.name)
