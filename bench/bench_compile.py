"""Compile benchmark: warm compile of a small file, cache hit, 20 programs through the queue
against one after another, and a CPU-bound program native (i386) against its WASM-translated
build, both run inside the booted guest.

    .venv/bin/python bench/bench_compile.py [--runs 5] [--skip-boot]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from stats import fmt  # noqa: E402 (bench/ is on sys.path when a script runs)

DEFAULT_ALPINE = REPO.parent / "shared" / "alpine" / "alpine-minirootfs-3.19.4-x86.tar.gz"

SMALL = '#include <stdio.h>\nint main(void) {{ printf("run {0}\\n"); return 0; }}\n'
CPU_BOUND = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200;
  /* integer matrix multiply, a sieve, and recursion: memory, branches and calls */
  static int a[200][200], b[200][200], c[200][200];
  for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) { a[i][j] = i + j; b[i][j] = i - j; }
  long sum = 0;
  for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) {
    int s = 0;
    for (int k = 0; k < n; k++) s += a[i][k] * b[k][j];
    c[i][j] = s; sum += s;
  }
  static char sieve[2000000];
  int primes = 0;
  for (int round = 0; round < 4; round++) {
    memset(sieve, 0, sizeof sieve);
    primes = 0;
    for (int i = 2; i < 2000000; i++) if (!sieve[i]) { primes++; for (int j = 2 * i; j < 2000000; j += i) sieve[j] = 1; }
  }
  printf("sum=%ld primes=%d fib=%u\n", sum, primes, fib(32));
  return 0;
}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--alpine", type=Path, default=DEFAULT_ALPINE)
    parser.add_argument("--skip-boot", action="store_true")
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

        if not args.skip_boot:
            bench_guest(scratch, args.alpine)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def bench_guest(scratch: Path, alpine: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from studio import kernel

    os.environ["STUDIO_KERNEL"] = str(kernel.find_kernel())
    from studio import initrd

    os.environ["STUDIO_INITRD"] = str(initrd.find_initrd())
    from studio.boot.headless import boot_headless
    from studio.compile import programs
    from studio.compile.install import install_change
    from studio.compile.queue import CompileQueue
    from studio.image import base
    from studio.image.document import ImageDocument
    from studio.image.project import Project

    project = Project.create(scratch / "guest", base.local_source(alpine))
    source = scratch / "cpu.c"
    source.write_text(CPU_BOUND)
    programs.add(project, "cpuwasm", [source])
    programs.add(project, "cpunative", [source], target="i386")
    queue = CompileQueue(project.root)
    outcomes = queue.wait(queue.submit_all(programs.load(project)))
    queue.shutdown()
    doc = ImageDocument(project)
    for outcome in outcomes:
        assert outcome.ok, outcome.output
        doc.state.apply(install_change(doc, outcome))
    doc.save()
    commands = []
    for _ in range(5):  # the first run of each also reads the binary over 9p
        commands += ["time cpunative", "time cpuwasm"]
    result = boot_headless(project.root, commands, timeout=300)
    assert result.ok, result.reason
    times = {"cpunative": [], "cpuwasm": []}
    answers = set()
    for command, output in zip(commands, result.outputs):
        real = re.search(r"real\s+(?:(\d+)m\s*)?([\d.]+)s", output)
        times[command.split()[1]].append(int(real[1] or 0) * 60 + float(real[2]))
        answers.add(output.splitlines()[0].strip())
    assert len(answers) == 1, answers  # both builds computed the same thing
    native, wasm = statistics.median(times["cpunative"]), statistics.median(times["cpuwasm"])
    print(f"CPU-bound program in the guest, native i386:        {fmt(times['cpunative'])}")
    print(f"CPU-bound program in the guest, WASM via wasm2c:    {fmt(times['cpuwasm'])}"
          f"   ratio {wasm / native:.2f}x (target <= 2x)")


if __name__ == "__main__":
    sys.exit(main())
