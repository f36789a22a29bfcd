"""Compile jobs that always end, a cache that concurrent writers cannot corrupt and that
tracks every header the compiler read, and host runs that can be stopped. Real zig, wasm2c
and wasmtime throughout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from studio.compile import queue as queue_module
from studio.compile.hostrun import run_wasm
from studio.compile.jobs import (
    CACHED, CANCELLED, FAILED, SUCCEEDED, CompileCache, Program, compile_program, read_entry,
)
from studio.compile.queue import CompileQueue

REPO = Path(__file__).resolve().parent.parent
HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'
SPIN = "int main(void) { volatile unsigned n = 0; for (;;) n++; }\n"


def run_jobs(project: Path, programs: list[Program], cache: CompileCache):
    """Submit `programs`, wait for every job (a job that never ends fails the test here)."""
    queue = CompileQueue(project, cache=cache)
    try:
        jobs = queue.submit_all(programs)
        queue.wait(jobs, timeout=180)
    finally:
        queue.shutdown()
    return jobs


def wasm_of(outcome) -> Path:
    return next(a.host_path for a in outcome.artifacts if a.image_path.endswith(".wasm"))


def binary_of(outcome) -> Path:
    return next(a.host_path for a in outcome.artifacts if not a.image_path.endswith(".wasm"))


# -- every job ends --------------------------------------------------------------------------


def test_a_cache_that_is_not_a_folder_fails_the_job_with_a_message(tmp_path):
    (tmp_path / "hello.c").write_text(HELLO)
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the compile cache's folder should be\n")
    (job,) = run_jobs(tmp_path, [Program("hello", ["hello.c"], target="i386")], CompileCache(blocked))
    assert job.done and job.status == FAILED
    assert "hello: Not a directory: " + str(blocked) in job.outcome.output, job.outcome.output


def test_a_source_whose_name_is_not_utf8_gets_its_diagnostics(tmp_path):
    (tmp_path / "src").mkdir()
    source = tmp_path / "src" / os.fsdecode(b"caf\xe9.c")  # a Latin-1 file name
    source.write_text("int main(void) { return 0 }\n")
    (job,) = run_jobs(tmp_path, [Program("cafe", ["src"], target="i386")], CompileCache(tmp_path / ".cache"))
    assert job.status == FAILED
    assert any(d.line == 1 and "expected ';'" in d.message for d in job.outcome.diagnostics), job.outcome.output
    source.write_text("int main(void) { return 0; }\n")
    (job,) = run_jobs(tmp_path, [Program("cafe", ["src"], target="i386")], CompileCache(tmp_path / ".cache"))
    assert job.status == SUCCEEDED, job.outcome.output


def test_the_queue_ends_a_job_even_when_compiling_raises(tmp_path, monkeypatch):
    def broken(program, *args, **kwargs):  # stands in for a bug inside compile_program
        raise RuntimeError(f"a bug while compiling {program.name}")

    monkeypatch.setattr(queue_module, "compile_program", broken)
    (job,) = run_jobs(tmp_path, [Program("hello", ["hello.c"])], CompileCache(tmp_path / ".cache"))
    assert job.status == FAILED
    assert "internal error" in job.outcome.output and "a bug while compiling hello" in job.outcome.output


def test_shutdown_ends_the_jobs_that_never_started(tmp_path):
    (tmp_path / "hello.c").write_text(HELLO)
    queue = CompileQueue(tmp_path, workers=1, cache=CompileCache(tmp_path / ".cache"))
    jobs = queue.submit_all([Program(f"hello{i}", ["hello.c"], target="i386") for i in range(4)])
    queue.shutdown()  # while the first compiles, the others wait in the pool
    assert all(job.done for job in jobs), [job.status for job in jobs]
    assert jobs[-1].status == CANCELLED and "shut down" in jobs[-1].outcome.output


# -- one cache entry, many writers -------------------------------------------------------------

# Compiles the same program into the same cache from another process, on "go" from the test.
WRITER = """
import json, sys
from pathlib import Path
from studio.compile import toolchain
from studio.compile.jobs import CompileCache, Program, compile_program
toolchain.version()
print("ready", flush=True)
sys.stdin.readline()
outcome = compile_program(Program("same", ["same.c"], target="i386"), Path(sys.argv[1]), CompileCache(Path(sys.argv[2])))
binary = [str(a.host_path) for a in outcome.artifacts]
print(json.dumps({"status": outcome.status, "output": outcome.output, "binary": binary[0] if binary else ""}))
"""
THREADS = 6


def test_many_threads_and_processes_store_one_entry(tmp_path):
    (tmp_path / "same.c").write_text(HELLO)
    program = Program("same", ["same.c"], target="i386")
    cache_root = tmp_path / "cache"
    key = CompileCache(cache_root).key(program, tmp_path)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(cache_root)], cwd=REPO,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        assert [w.stdout.readline().strip() for w in writers] == ["ready", "ready"]
        start = threading.Barrier(THREADS + 1)

        def compile_once(_):
            start.wait(timeout=60)
            return compile_program(program, tmp_path, CompileCache(cache_root))

        with ThreadPoolExecutor(THREADS) as pool:
            pending = pool.map(compile_once, range(THREADS))
            for writer in writers:  # all start together
                writer.stdin.write("go\n")
                writer.stdin.flush()
            start.wait(timeout=60)
            outcomes = list(pending)
        results = [json.loads(w.communicate(timeout=180)[0]) for w in writers]
    finally:
        for writer in writers:
            writer.kill()
            writer.wait()
    statuses = [o.status for o in outcomes] + [r["status"] for r in results]
    assert set(statuses) <= {SUCCEEDED, CACHED}, [o.output for o in outcomes] + [r["output"] for r in results]
    binaries = {binary_of(o).read_bytes() for o in outcomes} | {Path(r["binary"]).read_bytes() for r in results}
    assert len(binaries) == 1
    (entry,) = (cache_root / key).iterdir()  # one entry, no staging folder left behind
    assert read_entry(entry) is not None
    assert (entry / "same").read_bytes() in binaries
    assert subprocess.run([entry / "same"], capture_output=True, text=True).stdout == "hello\n"


# -- headers found through the flags ---------------------------------------------------------


def test_a_header_outside_the_sources_is_part_of_the_cache_key(tmp_path):
    (tmp_path / "include").mkdir()
    header = tmp_path / "include" / "greeting.h"
    header.write_text('#define GREETING "first"\n')
    (tmp_path / "main.c").write_text('#include <stdio.h>\n#include "greeting.h"\n'
                                     "int main(void) { puts(GREETING); return 0; }\n")
    program = Program("greet", ["main.c"], cflags="-Iinclude")  # the header is not a listed source
    cache = CompileCache(tmp_path / ".cache")

    def compile_and_run():
        outcome = compile_program(program, tmp_path, cache)
        assert outcome.ok, outcome.output
        return outcome.status, run_wasm(wasm_of(outcome)).stdout

    assert compile_and_run() == (SUCCEEDED, b"first\n")
    header.write_text('#define GREETING "second"\n')
    assert compile_and_run() == (SUCCEEDED, b"second\n")
    assert compile_and_run() == (CACHED, b"second\n")
    header.write_text('#define GREETING "first"\n')
    assert compile_and_run() == (CACHED, b"first\n")  # the first build's entry is valid again


def test_each_source_of_a_program_has_its_headers_tracked(tmp_path):
    # With several sources each compiles on its own: a header only the first one includes counts.
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "first.h").write_text("#define FIRST 1\n")
    (tmp_path / "inc" / "second.h").write_text("#define SECOND 2\n")
    (tmp_path / "a.c").write_text('#include <stdio.h>\n#include "first.h"\nint second(void);\n'
                                  'int main(void) { printf("%d\\n", FIRST * 10 + second()); return 0; }\n')
    (tmp_path / "b.c").write_text('#include "second.h"\nint second(void) { return SECOND; }\n')
    program = Program("pair", ["a.c", "b.c"], target="i386", cflags="-Iinc")
    cache = CompileCache(tmp_path / ".cache")

    def compile_and_run():
        outcome = compile_program(program, tmp_path, cache)
        assert outcome.ok, outcome.output
        return outcome.status, subprocess.run([binary_of(outcome)], capture_output=True, text=True).stdout

    assert compile_and_run() == (SUCCEEDED, "12\n")
    (tmp_path / "inc" / "first.h").write_text("#define FIRST 3\n")
    assert compile_and_run() == (SUCCEEDED, "32\n")
    assert compile_and_run() == (CACHED, "32\n")


def test_a_header_changed_during_the_compile_is_not_cached(tmp_path):
    (tmp_path / "value.h").write_text("#define VALUE 1\n")
    (tmp_path / "main.c").write_text('#include "value.h"\nint main(void) { return VALUE; }\n')
    program = Program("value", ["main.c"], target="i386")
    cache = CompileCache(tmp_path / ".cache")
    # on_running comes after the job started: an edit then may or may not be in the output,
    # so the output must not be cached under either content.
    changed = compile_program(program, tmp_path, cache,
                              on_running=lambda: (tmp_path / "value.h").write_text("#define VALUE 2\n"))
    assert changed.status == SUCCEEDED
    assert compile_program(program, tmp_path, cache).status == SUCCEEDED
    again = compile_program(program, tmp_path, cache)
    assert again.status == CACHED
    assert subprocess.run([binary_of(again)]).returncode == 2


# -- host runs that stop ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def spin_wasm(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("spin")
    (root / "spin.c").write_text(SPIN)
    outcome = compile_program(Program("spin", ["spin.c"]), root, CompileCache(root / ".cache"))
    assert outcome.ok, outcome.output
    return wasm_of(outcome)


def test_a_runaway_program_times_out(spin_wasm):
    started = time.monotonic()
    result = run_wasm(spin_wasm, timeout=0.5)
    elapsed = time.monotonic() - started
    assert (result.stopped, result.exit_code) == ("timed out after 0.5 s", 124)
    assert elapsed < 10, elapsed


def test_a_running_program_is_cancelled_from_another_thread(spin_wasm):
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    started = time.monotonic()
    result = run_wasm(spin_wasm, cancelled=cancel.is_set)
    elapsed = time.monotonic() - started
    timer.join()
    assert (result.stopped, result.exit_code) == ("cancelled", 130)
    assert 0.3 <= elapsed < 10, elapsed


def test_a_program_that_ends_is_not_stopped(tmp_path):
    (tmp_path / "hello.c").write_text(HELLO)
    outcome = compile_program(Program("hello", ["hello.c"]), tmp_path, CompileCache(tmp_path / ".cache"))
    result = run_wasm(wasm_of(outcome), timeout=60, cancelled=lambda: False)
    assert (result.exit_code, result.stdout, result.stopped) == (0, b"hello\n", "")
