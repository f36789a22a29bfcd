"""Translated WebAssembly against native i386, inside the v86 guest, in one boot.

Three CPU-bound programs (a mix of matrix multiply, sieve and recursion; a memory-heavy sort and
hash table; a call-heavy recursion plus an interpreter dispatching through function pointers) are
built native (zig, static musl i386) and translated (zig -> wasm32-wasi -> wasm2c -> zig i386 with
wabt's runtime and the studio's WASI layer), each pair with the same -O level and -mcpu. A ladder of
variants adds one change at a time, so the table says what each change bought. Every round runs
every variant's native and translated build one after the other (alternated), timed inside the
guest by a small static timer (CLOCK_MONOTONIC around fork+exec+wait). Each binary is installed as
several files (--copies): how well v86's JIT does on a piece of code differs from one physical copy
to another (see run_in_guest), so medians are over rounds and copies.

    .venv/bin/python bench/bench_wasm_speed.py [--rounds 5] [--variants shipped,unchecked,...]
    .venv/bin/python bench/bench_wasm_speed.py --list

The `shipped` variant is built by the compile queue itself (studio.compile.jobs with the pinned
flags of studio.compile.toolchain): it is what a user's program gets.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_ALPINE = REPO.parent / "shared" / "alpine" / "alpine-minirootfs-3.19.4-x86.tar.gz"

MIX = r"""
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

SORT_HASH = r"""
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
/* memory-heavy: quicksort of a large array, then an open-addressing hash table */
static uint32_t rng = 2463534242u;
static uint32_t next(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }
static void quicksort(uint32_t *a, int lo, int hi) {
  while (lo < hi) {
    uint32_t p = a[(lo + hi) >> 1];
    int i = lo, j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) { uint32_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; } else { quicksort(a, i, hi); hi = j; }
  }
}
#define N 300000
#define HBITS 19
static uint32_t arr[N];
static uint32_t keys[1 << HBITS], vals[1 << HBITS];
int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 2;
  uint64_t check = 0;
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < N; i++) arr[i] = next();
    quicksort(arr, 0, N - 1);
    for (int i = 1; i < N; i++) if (arr[i - 1] > arr[i]) { puts("unsorted"); return 1; }
    check += arr[N / 2];
    for (int i = 0; i < (1 << HBITS); i++) keys[i] = 0;
    uint32_t mask = (1u << HBITS) - 1;
    for (int i = 0; i < N; i++) {
      uint32_t k = (arr[i] % 100000u) + 1, h = (k * 2654435761u) & mask;
      while (keys[h] && keys[h] != k) h = (h + 1) & mask;
      if (keys[h] == k) vals[h]++; else { keys[h] = k; vals[h] = 1; }
    }
    uint32_t distinct = 0, most = 0;
    for (int i = 0; i < (1 << HBITS); i++) if (keys[i]) { distinct++; if (vals[i] > most) most = vals[i]; }
    check = check * 31 + distinct * 7 + most;
  }
  printf("check=%llu\n", (unsigned long long)check);
  return 0;
}
"""

CALLS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
/* call-heavy: recursion, and a small bytecode interpreter dispatching through function pointers */
static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static int ack(int m, int n) { return m == 0 ? n + 1 : n == 0 ? ack(m - 1, 1) : ack(m - 1, ack(m, n - 1)); }
typedef struct { int32_t stack[64]; int sp; int pc; int32_t acc; } vm_t;
typedef void (*op_fn)(vm_t *, int32_t);
static void op_push(vm_t *v, int32_t x) { v->stack[v->sp++] = x; }
static void op_add(vm_t *v, int32_t x) { (void)x; v->sp--; v->stack[v->sp - 1] += v->stack[v->sp]; }
static void op_mul(vm_t *v, int32_t x) { (void)x; v->sp--; v->stack[v->sp - 1] *= v->stack[v->sp]; }
static void op_xor(vm_t *v, int32_t x) { v->stack[v->sp - 1] ^= x; }
static void op_acc(vm_t *v, int32_t x) { (void)x; v->acc += v->stack[--v->sp]; }
static void op_jnz(vm_t *v, int32_t x) { if (--v->stack[v->sp - 1]) v->pc = x - 1; }
static op_fn ops[] = {op_push, op_add, op_mul, op_xor, op_acc, op_jnz};
static volatile int opcount = 6;
int main(int argc, char **argv) {
  int scale = argc > 1 ? atoi(argv[1]) : 1;
  /* loop: push 3, push 5, mul, xor 7, push 1, add, acc, jnz loop */
  static const int32_t code[][2] = {{0, 0}, {0, 3}, {0, 5}, {2, 0}, {3, 7}, {0, 1}, {1, 0}, {4, 0}, {5, 1}};
  vm_t vm = {{0}, 0, 0, 0};
  vm.stack[vm.sp++] = 300000 * scale;
  int len = sizeof code / sizeof code[0];
  for (vm.pc = 1; vm.pc < len; vm.pc++) {
    const int32_t *ins = code[vm.pc];
    if (ins[0] < opcount) ops[ins[0]](&vm, ins[1]);
  }
  unsigned f = fib(28);
  int a = 0;
  for (int i = 0; i < 40 * scale; i++) a += ack(2, 120);  /* recursion about 250 deep */
  printf("acc=%d fib=%u ack=%d\n", vm.acc, f, a);
  return 0;
}
"""

PROGRAMS = {"mix": MIX, "sorthash": SORT_HASH, "calls": CALLS}

# Timer run in the guest: CLOCK_MONOTONIC around fork + exec + wait, the child's stdout captured.
TIMER = r"""
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  int fds[2]; pipe(fds);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  pid_t pid = fork();
  if (pid == 0) { dup2(fds[1], 1); close(fds[0]); execv(argv[2], argv + 2); _exit(127); }
  close(fds[1]);
  char out[512]; size_t n = 0; ssize_t r;
  while ((r = read(fds[0], out + n, sizeof out - 1 - n)) > 0) n += r;
  int status; waitpid(pid, &status, 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  out[n] = 0;
  for (size_t i = 0; i < n; i++) if (out[i] == '\n') out[i] = ' ';
  printf("@@ %s %.3f %d %s\n", argv[1], (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6,
         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out);
  return 0;
}
"""

# The ladder: each variant is the one before it plus one change (labels say which).
# wasm: flags for C -> .wasm; cc: -O/-mcpu for the i386 compile of BOTH the native program and the
# translated one (a fair pair); prog: extra flags for the translated module (prog.c) only.
VARIANTS: dict[str, dict] = {
    "checked": {"wasm": ["-O2"], "cc": ["-O2"], "prog": [], "rt": ["-DSTUDIO_WASM_CHECKED=1"],
                "about": "before this work: wasm2c's explicit check per access, depth counter, calloc'd "
                         "memory, zig's default -mcpu (pentium4)"},
    "nodepth": {"wasm": ["-O2"], "cc": ["-O2"], "prog": ["-DWASM_RT_USE_STACK_DEPTH_COUNT=0"],
                "rt": ["-DSTUDIO_WASM_CHECKED=1"], "about": "checked, without the call-depth counter"},
    "checked-i686": {"wasm": ["-O2"], "cc": ["-O2", "-mcpu=i686"], "prog": [], "rt": ["-DSTUDIO_WASM_CHECKED=1"],
                     "about": "checked, both builds -mcpu=i686 (64-bit moves without SSE)"},
    "masked": {"wasm": ["-O2"], "cc": ["-O2"], "prog": [], "rt": ["-DSTUDIO_WASM_FIXED_BASE=0"],
               "about": "the studio runtime (masked accesses in a 1 GiB reservation, mmap'd memory, no "
                        "depth counter) with pentium4"},
    "masked-i686": {"wasm": ["-O2"], "cc": ["-O2", "-mcpu=i686"], "prog": [], "rt": ["-DSTUDIO_WASM_FIXED_BASE=0"],
                    "about": "the studio runtime (its base loaded per access) and -mcpu=i686"},
    "masked-i686-O3": {"wasm": ["-O2"], "cc": ["-O3", "-mcpu=i686"], "prog": [], "rt": ["-DSTUDIO_WASM_FIXED_BASE=0"],
                       "about": "masked-i686, both builds -O3"},
    "fixed-i686": {"wasm": ["-O2"], "cc": ["-O2", "-mcpu=i686"], "prog": [],
                   "rt": ["-DSTUDIO_WASM_FIXED_BASE=1", "-DSTUDIO_WASM_BASE_SYMBOL=0"],
                   "about": "masked-i686 with the reservation at a fixed address (no base load per access)"},
    "symbol-i686": {"wasm": ["-O2"], "cc": ["-O2", "-mcpu=i686"], "prog": [], "rt": [],
                    "about": "fixed-i686 with the base as an absolute symbol (folded into each access's "
                             "displacement instead of kept in a register)"},
    "tuned-i686": {"wasm": ["-O2"], "cc": ["-O2", "-mcpu=i686"], "prog": [], "rt": [], "tune": True,
                   "about": "symbol-i686 plus studio.compile.wasm2c_tune (regparm(3) between the module's "
                            "functions, CALL_INDIRECT's type check alone)"},
    "tuned-nofp": {"wasm": ["-O2"], "cc": ["-O2", "-mcpu=i686", "-fomit-frame-pointer"], "prog": [], "rt": [],
                   "tune": True, "about": "tuned-i686, both builds without frame pointers: what the queue "
                                          "builds (see shipped)"},
    "unchecked-i686": {"wasm": ["-O2"], "cc": ["-O2", "-mcpu=i686"], "prog": ["-DSTUDIO_WASM_UNSAFE_NO_MASK=1"],
                       "rt": ["-DSTUDIO_WASM_FIXED_BASE=0"], "about": "UNSAFE, measurement only: masked-i686 with the mask removed"},
}


def sh(cmd: list, cwd: Path | None = None) -> None:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{done.stdout}{done.stderr}")


def build_variant(label: str, spec: dict, work: Path, out: Path) -> None:
    """Native and translated builds of every program for one variant, by explicit commands that
    follow studio.compile.jobs._steps (the translated module gets `prog` flags on top)."""
    from studio.compile import toolchain

    cc = toolchain.compiler("c")
    i386 = ["-target", "x86-linux-musl", "-static", "-s"]
    rt = toolchain.runtime_dir(work / label)
    for name, source in PROGRAMS.items():
        src = work / f"{name}.c"
        src.write_text(source)
        d = work / label / name
        d.mkdir(parents=True, exist_ok=True)
        wasm_flags = [f for f in toolchain.FLAGS[toolchain.WASM] if not f.startswith("-O")] + spec["wasm"]
        sh(cc + wasm_flags + [src] + toolchain.LINK[toolchain.WASM] + ["-o", d / "m.wasm"])
        sh([toolchain.wasm2c(), "-n", toolchain.MODULE_NAME, d / "m.wasm", "-o", d / "prog.c"])
        if spec.get("tune"):
            sh([sys.executable, "-m", "studio.compile.wasm2c_tune", d / "prog.c"])
        # prog.c alone gets the module-only flags; the runtime and the WASI layer the pair's flags
        sh(cc + i386 + spec["cc"] + spec["rt"] + spec["prog"] + ["-I", rt, "-c", d / "prog.c", "-o", d / "prog.o"])
        sh(cc + i386 + spec["cc"] + spec["rt"] + ["-I", rt, "-I", d, d / "prog.o", rt / "wasm-rt-impl.c",
                                                  toolchain.WASI_RUNTIME,
                                     "-o", out / f"{label}-{name}-w"])
        sh(cc + i386 + spec["cc"] + [src, "-o", out / f"{label}-{name}-n"])


def build_shipped(work: Path, out: Path) -> None:
    """What the compile queue makes with the pinned flags (studio.compile.toolchain)."""
    from studio.compile.jobs import Program, compile_program

    for name, source in PROGRAMS.items():
        (work / f"{name}.c").write_text(source)
        for target, suffix in (("wasm32-wasi", "w"), ("i386", "n")):
            outcome = compile_program(Program(f"{name}{suffix}", [f"{name}.c"], target=target), work)
            assert outcome.ok, outcome.output
            binary = next(a.host_path for a in outcome.artifacts if not a.host_path.name.endswith(".wasm"))
            shutil.copy(binary, out / f"shipped-{name}-{suffix}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", default="shipped,checked,checked-i686,masked-i686,fixed-i686,symbol-i686,"
                                                  "tuned-i686,unchecked-i686")
    parser.add_argument("--alpine", type=Path, default=DEFAULT_ALPINE)
    parser.add_argument("--cold", action="store_true", help="boot cold (no saved machine state)")
    parser.add_argument("--copies", type=int, default=3, help="files per binary (v86 compiles by physical page)")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        for label, spec in VARIANTS.items():
            print(f"{label:12} {spec['about']}")
        return 0
    labels = [v for v in args.variants.split(",") if v]
    for label in labels:
        if label != "shipped" and label not in VARIANTS:
            raise SystemExit(f"unknown variant {label}; --list shows them")

    from studio.compile import toolchain

    print(f"machine: {os.cpu_count()} cores; toolchain {toolchain.version()}")
    scratch = Path(tempfile.mkdtemp(prefix="studio-bench-wasm-"))
    try:
        work, out = scratch / "work", scratch / "bin"
        work.mkdir()
        out.mkdir()
        for label in labels:
            if label == "shipped":
                build_shipped(work, out)
            else:
                build_variant(label, VARIANTS[label], work, out)
        (work / "tm.c").write_text(TIMER)
        sh(toolchain.compiler("c") + toolchain.FLAGS[toolchain.I386] + [work / "tm.c", "-o", out / "tm"])
        times = run_in_guest(scratch, out, labels, args.rounds, args.alpine, cold=args.cold, copies=args.copies)
        report(times, labels, args.rounds, args.copies)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def run_in_guest(scratch: Path, out: Path, labels: list[str], rounds: int, alpine: Path,
                 cold: bool = False, copies: int = 3) -> dict:
    """Times per build, over rounds and copies. Each binary is installed `copies` times (separate
    files, so separate page-cache pages): v86 compiles code by physical page, and the same binary
    measured 1.39x and 1.89x its native time as two files in one boot (which blocks its JIT
    makes depends on where execution first entered each page, interrupts included). A copy keeps
    its luck for the whole boot, so only several copies say what a build typically does."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from studio import initrd, kernel

    os.environ["STUDIO_KERNEL"] = str(kernel.find_kernel())
    os.environ["STUDIO_INITRD"] = str(initrd.find_initrd())
    from studio.boot.headless import boot_headless
    from studio.image import base, edits
    from studio.image.document import ImageDocument
    from studio.image.entry import FILE, Entry
    from studio.image.project import Project

    project = Project.create(scratch / "guest", base.local_source(alpine))
    doc = ImageDocument(project)
    entries = []
    for binary in sorted(out.iterdir()):
        source, size, sha = doc.store_file(binary)
        places = ["/opt/wb"] if binary.name == "tm" else [f"/opt/wb/{c}" for c in range(copies)]
        entries += [Entry(f"{place}/{binary.name}", FILE, 0o755, size=size, sha256=sha, source=source)
                    for place in places]
    doc.state.apply(edits.add_entries(doc.state, entries, "bench binaries", replace=True))
    doc.save()
    # A warm-up round reads every binary over 9p once; then each round alternates native and
    # translated. One command per variant and copy (a terminal line holds 4095 characters).
    runs = ["; ".join(f"/opt/wb/tm {label}-{name}-{kind}@{c} /opt/wb/{c}/{label}-{name}-{kind}"
                      for name in PROGRAMS for kind in ("n", "w")) for label in labels for c in range(copies)]
    commands = ["cd /opt/wb"] + runs * (rounds + 1)
    result = boot_headless(project.root, commands, timeout=1200, use_snapshots=not cold)
    assert result.ok, result.reason
    print(f"boot: {result.boot_kind or 'cold'}")
    times: dict[str, list[float]] = {}
    answers: dict[str, set[str]] = {}
    for index, output in enumerate(result.outputs[1:]):
        index //= len(runs)  # the round: 0 is the warm-up
        for line in output.splitlines():
            m = re.match(r"@@ (\S+) ([\d.]+) (\d+) ?(.*)", line.strip())
            if not m:
                continue
            label, ms, code, said = m[1], float(m[2]), int(m[3]), m[4].strip()
            if code != 0:  # reported, left out of the medians
                print(f"round {index}: {label} exited {code}: {said}")
                continue
            program = label.split("@")[0].rsplit("-", 1)[0].split("-", 1)[1]
            answers.setdefault(program, set()).add(said)
            if index > 0:
                times.setdefault(label, []).append(ms / 1000)
    for program, said in answers.items():
        assert len(said) == 1, f"{program}: builds disagree: {said}"
    return times


def report(times: dict, labels: list[str], rounds: int, copies: int) -> None:
    build = {}  # "label-name-kind" -> every time of every copy
    for key, values in times.items():
        build.setdefault(key.split("@")[0], []).extend(values)
    med = {k: statistics.median(v) for k, v in build.items()}
    print(f"\nmedians of {rounds} rounds x {copies} copies, native and translated alternated in one boot (seconds)")
    print(f"{'variant':14} " + " ".join(f"{p + ' n':>10} {p + ' wasm':>12} {'ratio':>6}" for p in PROGRAMS)
          + f" {'geomean':>8}")
    for label in labels:
        cells, ratios = [], []
        for name in PROGRAMS:
            n, w = med.get(f"{label}-{name}-n", float("nan")), med.get(f"{label}-{name}-w", float("nan"))
            ratios.append(w / n)
            cells.append(f"{n:10.3f} {w:12.3f} {w / n:5.2f}x")
        geo = statistics.geometric_mean(ratios) if all(r == r for r in ratios) else float("nan")
        print(f"{label:14} " + " ".join(cells) + f" {geo:7.2f}x")
    print("\nper copy (median of its rounds), min-max over copies:")
    for label in labels:
        for name in PROGRAMS:
            for kind in ("n", "w"):
                per_copy = [statistics.median(times[k]) for k in times if k.startswith(f"{label}-{name}-{kind}@")]
                if per_copy:
                    print(f"  {label}-{name}-{kind}: " + " ".join(f"{t:.3f}" for t in per_copy)
                          + f"  ({min(per_copy):.3f}-{max(per_copy):.3f} s)")


if __name__ == "__main__":
    sys.exit(main())
