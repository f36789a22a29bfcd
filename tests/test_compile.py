"""The compile queue against the real zig and wasm2c: diagnostics, the cache, cancellation,
failures that leave other jobs alone, installation into the image, host runs."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from studio.compile import toolchain
from studio.compile.hostrun import run_wasm
from studio.compile.jobs import CACHED, CANCELLED, FAILED, RUNNING, SUCCEEDED, CompileCache, Program
from studio.compile.queue import CompileQueue

PROGRAMS = Path(__file__).with_name("wasi_programs")


@pytest.fixture
def workspace(tmp_path):
    for source in PROGRAMS.iterdir():
        shutil.copy(source, tmp_path / source.name)
    return tmp_path


def compile_one(workspace, program, cache=None):
    queue = CompileQueue(workspace, cache=cache or CompileCache(workspace / ".cache"))
    try:
        (outcome,) = queue.wait([queue.submit(program)])
    finally:
        queue.shutdown()
    return outcome


def test_diagnostics_carry_file_line_and_column(workspace):
    outcome = compile_one(workspace, Program("broken", ["broken.c"]))
    assert outcome.status == FAILED
    errors = [d for d in outcome.diagnostics if d.severity == "error"]
    assert errors, outcome.output
    assert {(d.file, d.line) for d in outcome.diagnostics} >= {("broken.c", 4), ("broken.c", 5)}
    assert any(d.line == 5 and "expected ';'" in d.message for d in errors)
    assert all(d.column > 0 for d in outcome.diagnostics)


def test_cache_hit_does_not_run_the_compiler(workspace, monkeypatch):
    cache = CompileCache(workspace / ".cache")
    first = compile_one(workspace, Program("args", ["args_env.c"]), cache)
    assert first.status == SUCCEEDED
    monkeypatch.setattr(toolchain, "zig", lambda: pytest.fail("the compiler ran on a cache hit"))
    monkeypatch.setattr(toolchain, "wasm2c", lambda: pytest.fail("wasm2c ran on a cache hit"))
    second = compile_one(workspace, Program("args", ["args_env.c"]), cache)
    assert second.status == CACHED
    assert [a.host_path.read_bytes() for a in second.artifacts] == [a.host_path.read_bytes() for a in first.artifacts]
    (workspace / "args_env.c").write_text((workspace / "args_env.c").read_text() + "\n/* changed */\n")
    monkeypatch.undo()
    assert compile_one(workspace, Program("args", ["args_env.c"]), cache).status == SUCCEEDED


def _children() -> set[int]:
    me = str(os.getpid())
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            found.add(int(stat.parent.name))
    return found


def test_cancelling_a_running_job_kills_its_process(workspace):
    # A big translation unit keeps the compiler busy long enough to cancel it mid-run.
    body = "\n".join(f"int f{i}(int x) {{ return x * {i} + f{i - 1}(x - 1); }}" for i in range(1, 6000))
    (workspace / "big.c").write_text("int f0(int x) { return x; }\n" + body + "\nint main(void){return f5999(3);}\n")
    queue = CompileQueue(workspace, cache=CompileCache(workspace / ".cache"))
    others = _children()  # e.g. QtWebEngine helpers of earlier tests
    try:
        job = queue.submit(Program("big", ["big.c"], target="i386"))
        assert _wait(lambda: job.status == RUNNING and _children() - others, 30)
        compilers = _children() - others
        queue.cancel(job)
        assert _wait(lambda: job.done, 30)
        assert job.status == CANCELLED
        assert _wait(lambda: not (compilers & _children()), 10), "the compiler outlived its cancelled job"
    finally:
        queue.shutdown()


def _wait(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_one_failure_does_not_stop_the_others(workspace):
    queue = CompileQueue(workspace, workers=2, cache=CompileCache(workspace / ".cache"))
    try:
        outcomes = queue.wait(queue.submit_all([
            Program("broken", ["broken.c"]), Program("stdio", ["stdio.c"]),
            Program("exitcode", ["exitcode.c"], target="i386")]))
    finally:
        queue.shutdown()
    assert [o.status for o in outcomes] == [FAILED, SUCCEEDED, SUCCEEDED]


def test_host_run_with_wasmtime(workspace):
    outcome = compile_one(workspace, Program("stdio", ["stdio.c"]))
    wasm = next(a.host_path for a in outcome.artifacts if a.image_path.endswith(".wasm"))
    result = run_wasm(wasm, stdin=b"one\ntwo\nthree\n")
    assert (result.exit_code, result.stdout, result.stderr) == (0, b"ONE\nTWO\nTHREE\n", b"read 3 lines\n")


def test_unknown_target_and_missing_sources_are_clear(workspace):
    from studio.errors import StudioError

    with pytest.raises(StudioError, match="unknown target 'arm'"):
        Program("x", ["a.c"], target="arm")
    outcome = compile_one(workspace, Program("ghost", ["nothing-here.c"]))
    assert outcome.status == FAILED and "does not exist" in outcome.output
