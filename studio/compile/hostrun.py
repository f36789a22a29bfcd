"""Running a compiled .wasm on the host with wasmtime (Qt-free): try a program without booting.

A run can be stopped from another thread (`cancelled`) or by a `timeout`: wasmtime's epoch
interruption makes the running WebAssembly trap at its next loop or call, so even a program
spinning in `for (;;);` ends at once and the thread running it is free again.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from studio.errors import StudioError

CANCELLED_CODE = 130  # what a shell reports for a program stopped by Ctrl+C
TIMED_OUT_CODE = 124  # what timeout(1) reports
_POLL_SECONDS = 0.02  # how often the watcher looks at `cancelled()`


@dataclass
class HostRun:
    exit_code: int
    stdout: bytes
    stderr: bytes
    stopped: str = ""  # "" when the program ended by itself, else "cancelled" or "timed out after N s"


class _Watchdog:
    """Interrupts a running module (engine epoch) when `cancelled()` turns true or `timeout` passes."""

    def __init__(self, engine, cancelled: Callable[[], bool] | None, timeout: float | None):
        self.engine = engine
        self.cancelled = cancelled
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.timeout = timeout
        self.reason = ""
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="wasm-watchdog", daemon=True)

    def __enter__(self) -> "_Watchdog":
        if self.cancelled is not None or self.deadline is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self) -> None:
        while not self._done.wait(_POLL_SECONDS):
            if self.cancelled is not None and self.cancelled():
                self.reason = "cancelled"
            elif self.deadline is not None and time.monotonic() >= self.deadline:
                self.reason = f"timed out after {self.timeout:g} s"
            else:
                continue
            self.engine.increment_epoch()  # the module traps at its next epoch check
            return


def run_wasm(wasm: Path, args: list[str] | None = None, stdin: bytes = b"", env: dict[str, str] | None = None,
             root: Path | None = None, name: str | None = None, fuel: int | None = None,
             cancelled: Callable[[], bool] | None = None, timeout: float | None = None) -> HostRun:
    """Run `wasm` with `args`; `root` (a host folder) is the module's "/", as the guest's is.

    `cancelled` (polled from a watcher thread) and `timeout` (seconds) stop the run: the result
    then has `stopped` set, exit code 130 or 124, and whatever the program printed until then."""
    try:
        import wasmtime
    except ImportError as err:
        raise StudioError("wasmtime is missing: install the `wasmtime` Python package (packaging/setup.sh does)") from err
    config = wasmtime.Config()
    config.epoch_interruption = True
    engine = wasmtime.Engine(config)
    module = wasmtime.Module.from_file(engine, str(wasm))
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    store.set_epoch_deadline(1)  # trap at the first epoch change: only the watchdog makes one
    with tempfile.TemporaryDirectory(prefix="studio-run-") as tmp:
        tmp = Path(tmp)
        (tmp / "stdin").write_bytes(stdin)
        config = wasmtime.WasiConfig()
        config.argv = [name or Path(wasm).stem, *(args or [])]
        config.env = list((env or {}).items())
        config.stdin_file = str(tmp / "stdin")
        config.stdout_file = str(tmp / "stdout")
        config.stderr_file = str(tmp / "stderr")
        if root is not None:
            config.preopen_dir(str(root), "/")
        store.set_wasi(config)
        code, stopped = 0, ""
        with _Watchdog(engine, cancelled, timeout) as watchdog:
            try:
                instance = linker.instantiate(store, module)
                instance.exports(store)["_start"](store)
            except wasmtime.ExitTrap as exit_trap:
                code = exit_trap.code
            except wasmtime.Trap as trap:
                if trap.trap_code == wasmtime.TrapCode.INTERRUPT and watchdog.reason:
                    stopped = watchdog.reason
                    code = CANCELLED_CODE if stopped == "cancelled" else TIMED_OUT_CODE
                else:
                    with (tmp / "stderr").open("ab") as stderr:
                        stderr.write(f"WebAssembly trap: {trap.message}\n".encode())
                    code = 134
        return HostRun(code, (tmp / "stdout").read_bytes(), (tmp / "stderr").read_bytes(), stopped)
