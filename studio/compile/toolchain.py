"""The compilers (Qt-free): zig (PyPI `ziglang`) for wasm32-wasi and static i386, and Debian
wabt's wasm2c plus this project's WASI layer to turn a .wasm into an i386 executable that runs
inside the guest. One pinned flag set per target keeps zig's cache warm."""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

from studio import paths
from studio.errors import StudioError

WASM, I386 = "wasm32-wasi", "i386"
TARGETS = (WASM, I386)

# The pinned flag sets. clock() in WASI needs the emulated process clocks. i386 code (native
# programs and translated modules alike) is for -mcpu=i686: zig's default (pentium4) moves 64-bit
# values through SSE registers, which v86 runs slowly; translated code is full of 64-bit loads and
# stores (bench/bench_wasm_speed.py: the matrix/sieve program 1.6 s -> 0.62 s in the guest). No
# frame pointer (GCC's own default at -O2 on i386): one more register of seven, and three fewer
# instructions per call, for native programs and translated modules alike.
FLAGS = {
    WASM: ["-target", "wasm32-wasi", "-O2", "-s", "-D_WASI_EMULATED_PROCESS_CLOCKS"],
    I386: ["-target", "x86-linux-musl", "-mcpu=i686", "-fomit-frame-pointer", "-static", "-O2", "-s"],
}
LINK = {WASM: ["-lwasi-emulated-process-clocks"], I386: []}
CXX = {WASM: ["-fno-exceptions"], I386: []}  # WASI has no C++ exceptions

WASI_RUNTIME = paths.RESOURCES_DIR / "wasi" / "wasi_runtime.c"
# The studio's wasm-rt.h: masked memory accesses over a 1 GiB reservation instead of an explicit
# check per access, no call-depth counter (see the file; -DSTUDIO_WASM_CHECKED=1 undoes both).
STUDIO_RT_HEADER = paths.RESOURCES_DIR / "wasi" / "wasm-rt.h"
WASM2C_RUNTIME = Path("/usr/share/wabt/wasm2c")
WASM_RT_HEADER = Path("/usr/include/wasm-rt.h")
MODULE_NAME = "prog"  # wasm2c -n: the symbol names wasi_runtime.c links against

C_SUFFIXES = {".c"}
CXX_SUFFIXES = {".cc", ".cpp", ".cxx", ".c++"}
HEADER_SUFFIXES = {".h", ".hh", ".hpp", ".hxx", ".inc"}


class ToolchainMissing(StudioError):
    pass


def zig() -> list[str]:
    try:
        import ziglang  # noqa: F401
    except ImportError as err:
        raise ToolchainMissing("zig is missing: install the `ziglang` Python package "
                               "(packaging/setup.sh does).") from err
    return [sys.executable, "-m", "ziglang"]


def lib_dir() -> Path:
    """zig's own headers and library sources: version() covers them, so compile caches skip them."""
    zig()
    import ziglang

    return Path(ziglang.__file__).resolve().parent / "lib"


def wasm2c() -> str:
    found = shutil.which("wasm2c")
    if not found or not (WASM2C_RUNTIME / "wasm-rt-impl.c").exists() or not WASM_RT_HEADER.exists():
        raise ToolchainMissing("wasm2c and its runtime sources are missing: install Debian's wabt package "
                               "(sudo apt install wabt; packaging/setup.sh does it for a checkout). They turn "
                               "WebAssembly into programs the guest runs.")
    return found


def compiler(language: str) -> list[str]:
    return zig() + ["c++" if language == "c++" else "cc"]


def language_of(sources: list[Path]) -> str:
    return "c++" if any(s.suffix.lower() in CXX_SUFFIXES for s in sources) else "c"


@functools.lru_cache(maxsize=1)
def version() -> str:
    """Everything a compiled output depends on besides its sources and flags."""
    digest = hashlib.sha256()
    out = subprocess.run(zig() + ["version"], capture_output=True, text=True, check=True).stdout.strip()
    digest.update(out.encode())
    try:
        digest.update(subprocess.run([wasm2c(), "--version"], capture_output=True, text=True).stdout.encode())
        digest.update((WASM2C_RUNTIME / "wasm-rt-impl.c").read_bytes())
    except ToolchainMissing:
        digest.update(b"no-wasm2c")
    digest.update(WASI_RUNTIME.read_bytes())
    digest.update(STUDIO_RT_HEADER.read_bytes())
    digest.update((Path(__file__).parent / "wasm2c_tune.py").read_bytes())
    digest.update(repr((FLAGS, LINK, CXX)).encode())
    return f"zig {out} / {digest.hexdigest()[:12]}"


def runtime_dir(work: Path) -> Path:
    """wasm2c's runtime sources, copied beside the translated module (never the host's /usr/include):
    Debian's wasm-rt.h as wasm-rt-upstream.h under the studio's wasm-rt.h, which configures it."""
    wasm2c()
    rt = work / "rt"
    rt.mkdir(parents=True, exist_ok=True)
    for source in (WASM2C_RUNTIME / "wasm-rt-impl.c", WASM2C_RUNTIME / "wasm-rt-impl.h"):
        shutil.copyfile(source, rt / source.name)
    shutil.copyfile(WASM_RT_HEADER, rt / "wasm-rt-upstream.h")
    shutil.copyfile(STUDIO_RT_HEADER, rt / "wasm-rt.h")
    return rt


def warm(progress: Callable[[str, float], None] | None = None) -> None:
    """Compile tiny C and C++ programs for both targets (and the WASI layer), so zig has built its
    libcs and the first compile a user asks for is fast. The two targets warm at once: zig builds
    each libc mostly on one core (a cold warm-up took 2 min 49 s one after the other)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from studio.compile.jobs import Program, compile_program

    said = threading.Lock()  # one message at a time from the two threads

    def report(message: str, fraction: float) -> None:
        if progress is not None:
            with said:
                progress(message, fraction)
    with tempfile.TemporaryDirectory(prefix="studio-warm-") as tmp:
        root = Path(tmp)
        (root / "warm.c").write_text('#include <stdio.h>\n#include <time.h>\n'
                                     'int main(void){printf("%ld\\n",(long)clock());return 0;}\n')
        (root / "warm.cpp").write_text('#include <cstdio>\nint main(){std::puts("ok");return 0;}\n')
        done: list[str] = []

        def warm_target(target: str) -> None:
            for source in ("warm.c", "warm.cpp"):
                report(f"warming zig for {target} ({source}): the first time builds libc, about a minute",
                       len(done) / 4)
                name = f"warm-{target}-{Path(source).suffix[1:]}"
                outcome = compile_program(Program(name, [source], target=target), root, cache=None)
                if outcome.status != "succeeded":
                    raise StudioError(f"warming the toolchain failed:\n{outcome.output}")
                done.append(name)

        with ThreadPoolExecutor(max_workers=2) as pool:
            for future in [pool.submit(warm_target, target) for target in (WASM, I386)]:
                future.result()
    report("toolchain warm", 1.0)
