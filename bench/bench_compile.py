"""Compile benchmark: warm compile of a small file, cache hit, 20 programs through the queue
against one after another. (Translated WebAssembly against native i386 inside the guest:
bench/bench_wasm_speed.py; packaging a program: bench/bench_program_package.py.)

    .venv/bin/python bench/bench_compile.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from stats import fmt  # noqa: E402 (bench/ is on sys.path when a script runs)

SMALL = '#include <stdio.h>\nint main(void) {{ printf("run {0}\\n"); return 0; }}\n'

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from studio.compile import toolchain
    from studio.compile.jobs import CompileCache, Program, compile_program
    from studio.compile.queue import CompileQueue

    scratch = Path(tempfile.mkdtemp(prefix="studio-bench-compile-"))
    try:
        work = scratch / "work"
        work.mkdir()
        print(f"machine: {os.cpu_count()} cores; toolchain {toolchain.version()}")
        # Warm compile: a new small file each time (zig's own caches are warm, the source is new).
        wasm_only, full, native = [], [], []
        for i in range(args.runs):
            (work / "small.c").write_text(SMALL.format(f"{time.time()}-{i}"))
            t0 = time.perf_counter()
            import subprocess
            subprocess.run(toolchain.compiler("c") + toolchain.FLAGS["wasm32-wasi"] + ["small.c", "-o", "small.wasm"],
                           cwd=work, check=True)
            wasm_only.append(time.perf_counter() - t0)
            (work / "small.c").write_text(SMALL.format(f"{time.time()}-{i}-n"))
            native.append(compile_program(Program("small", ["small.c"], target="i386"), work).seconds)
            (work / "small.c").write_text(SMALL.format(f"{time.time()}-{i}-f"))
            full.append(compile_program(Program("small", ["small.c"]), work).seconds)
        print(f"warm compile, small C file -> .wasm (zig cc):       {fmt(wasm_only)}   (target <= 0.2 s)")
        print(f"warm compile, small C file -> i386 (static musl):   {fmt(native)}")
        print(f"warm compile, small C file -> .wasm + guest binary: {fmt(full)}   (wasm2c + i386 link included)")

        cache = CompileCache(scratch / "cache")
        program = Program("small", ["small.c"])
        compile_program(program, work, cache)
        hits = []
        for _ in range(args.runs):
            outcome = compile_program(program, work, cache)
            assert outcome.status == "cached"
            hits.append(outcome.seconds)
        print(f"cache hit:                                          median {statistics.median(hits) * 1000:.2f} ms"
              f"  (max {max(hits) * 1000:.2f} ms, n={len(hits)})   (target <= 20 ms)")

        batch = []
        for i in range(20):
            (work / f"p{i}.c").write_text(SMALL.format(f"batch {i} {time.time()}"))
            batch.append(Program(f"p{i}", [f"p{i}.c"], target="i386"))

        def through_queue(workers: int) -> float:
            for i in range(20):  # fresh sources: no cache hits, no zig cache hits
                (work / f"p{i}.c").write_text(SMALL.format(f"batch {i} {workers} {time.time()}"))
            queue = CompileQueue(work, workers=workers, cache=CompileCache(scratch / f"cache-{workers}-{time.time()}"))
            t0 = time.perf_counter()
            outcomes = queue.wait(queue.submit_all(batch))
            seconds = time.perf_counter() - t0
            queue.shutdown()
            assert all(o.ok for o in outcomes)
            return seconds

        serial = [through_queue(1) for _ in range(3)]
        parallel = [through_queue(os.cpu_count() or 1) for _ in range(3)]
        print(f"20 programs, one after another:                     {fmt(serial)}")
        print(f"20 programs through the queue ({os.cpu_count()} workers):           {fmt(parallel)}"
              f"   speed-up {statistics.median(serial) / statistics.median(parallel):.2f}x")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
