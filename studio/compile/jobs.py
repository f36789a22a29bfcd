"""Compiling one program (Qt-free): its source set, the steps for its target, a content-hash
cache, cancellation that kills the running compiler, and the outcome with parsed diagnostics.

wasm32-wasi:  zig cc -> NAME.wasm;  wasm2c -> prog.c;  zig cc (i386) prog.c + wasm2c runtime +
              studio's WASI layer -> NAME (runs inside the guest; NAME.wasm is installed beside it)
              A prebuilt module (the program's one source is a .wasm) is checked and starts at wasm2c.
i386:         zig cc -> NAME (static, musl)
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from studio import caches, paths
from studio.compile import modules, toolchain
from studio.compile.toolchain import I386, WASM
from studio.errors import StudioError
from studio.fsutil import atomic_write, file_hash, fsync_dir

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, CACHED = (
    "queued", "running", "succeeded", "failed", "cancelled", "cached")
SOURCE_SUFFIXES = toolchain.C_SUFFIXES | toolchain.CXX_SUFFIXES | toolchain.HEADER_SUFFIXES

_DEP_WORD = re.compile(r"(?:\\[ #]|\S)+")  # a word of a Make rule: escaped blanks do not end it
_DEP_ESCAPE = re.compile(r"\\([ #])|\$\$")
_DIAGNOSTIC = re.compile(
    r"^(?P<file>[^:\n]+?):(?P<line>\d+):(?P<column>\d+): (?P<severity>fatal error|error|warning|note): "
    r"(?P<message>.*)$", re.MULTILINE)


@dataclass
class Program:
    """A program in the project: sources (files or folders, relative to the project), target,
    where it is installed in the image, extra compiler flags."""

    name: str
    sources: list[str]
    target: str = WASM
    install: str = ""
    cflags: str = ""

    def __post_init__(self):
        if self.target not in toolchain.TARGETS:
            raise StudioError(f"unknown target {self.target!r}: use {' or '.join(toolchain.TARGETS)}")
        if not re.fullmatch(r"[A-Za-z0-9._+-]+", self.name):
            raise StudioError(f"program name {self.name!r}: use letters, digits, '.', '_', '+' or '-'")
        self.install = self.install or f"/usr/local/bin/{self.name}"
        if any(modules.is_module(s) for s in self.sources) and not self.prebuilt:
            raise StudioError(f"{self.name}: a prebuilt WebAssembly module is its program's only source, "
                              f"for the {WASM} target (make another program for other sources)")

    @property
    def prebuilt(self) -> bool:
        """Whether the program is a WebAssembly module built elsewhere, not sources to compile."""
        return self.target == WASM and len(self.sources) == 1 and modules.is_module(self.sources[0])

    def source_files(self, root: Path) -> list[Path]:
        """Every file of the source set (folders expanded), sorted."""
        files: list[Path] = []
        for source in self.sources:
            path = root / source
            if path.is_dir():
                files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES)
            elif path.is_file():
                files.append(path)
            else:
                raise StudioError(f"{self.name}: source {source} does not exist in {root}")
        return files

    def compile_units(self, root: Path) -> list[Path]:
        units = [p for p in self.source_files(root) if p.suffix.lower() not in toolchain.HEADER_SUFFIXES]
        if not units:
            raise StudioError(f"{self.name}: no C or C++ source files in {', '.join(self.sources)}")
        return units


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int
    column: int
    severity: str  # error, warning, note
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"


@dataclass
class Artifact:
    image_path: str
    host_path: Path
    mode: int


@dataclass
class CompileOutcome:
    program: str
    status: str
    seconds: float = 0.0
    output: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    key: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (SUCCEEDED, CACHED)


def parse_diagnostics(output: str, root: Path) -> list[Diagnostic]:
    found = []
    for m in _DIAGNOSTIC.finditer(output):
        file = m["file"].strip()
        try:
            file = str(Path(file).resolve().relative_to(root.resolve()))
        except ValueError:
            pass
        severity = "error" if m["severity"] == "fatal error" else m["severity"]
        found.append(Diagnostic(file, int(m["line"]), int(m["column"]), severity, m["message"].strip()))
    return found


class CompileCache:
    """Outputs by content hash, in the manner of ccache's direct mode.

    The key covers what is known before compiling: the listed sources (paths and bytes), flags,
    target and toolchain version. Each entry under a key also records every file the compiler
    read (from its dependency files: headers found through -I in the flags too), with their
    SHA-256, and is a hit only while all of them are unchanged. Files of zig's own lib dir are
    left out: the toolchain version in the key covers them.

    An entry is a directory published by one rename of a complete staging directory, and never
    replaced: concurrent writers of the same entry (threads or processes) keep the first and
    drop their own copy, and a reader sees a whole entry or none."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else paths.cache_dir() / "compile"

    def key(self, program: Program, project: Path) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps([program.name, program.target, program.cflags, toolchain.version()]).encode())
        for path in program.source_files(project):
            digest.update(os.fsencode(path.relative_to(project)) + b"\0")  # any file name, UTF-8 or not
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()[:32]

    def lookup(self, key: str, project: Path) -> Path | None:
        """The entry for `key` whose recorded dependencies all still have their recorded hashes."""
        folder = self.root / key
        try:
            candidates = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        except (FileNotFoundError, NotADirectoryError):
            return None
        for entry in candidates:
            meta = read_entry(entry)
            if meta is not None and _dependencies_unchanged(meta["deps"], project):
                caches.touch(entry)  # just used: the last to be pruned
                return entry
        return None

    def store(self, key: str, outputs: Path, meta: dict, deps: list[list[str]]) -> Path:
        """Publish `outputs` with `meta` and the dependencies they were built from; return the entry
        (another writer's, when it published the same entry first)."""
        folder = self.root / key
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=folder))
        try:
            files = []
            for item in outputs.iterdir():
                shutil.copy2(item, staging / item.name)
                files.append(item.name)
            # outcome.json is written last: an entry with it is complete (read_entry checks the files too)
            atomic_write(staging / ENTRY_META, json.dumps({**meta, "files": sorted(files), "deps": deps}))
            entry = _publish(staging, folder / _variant(deps))
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone if published; the loser's copy otherwise
        caches.touch(entry)
        caches.prune_compile_cache(self.root, keep=[entry])  # least recently used, past the size limit
        return entry


ENTRY_META = "outcome.json"


def read_entry(entry: Path) -> dict | None:
    """A cache entry's metadata, or None when the entry is not whole (or not an entry at all)."""
    try:
        meta = json.loads((entry / ENTRY_META).read_text())
        if all((entry / name).is_file() for name in meta["files"]) and isinstance(meta["deps"], list):
            return meta
    except (OSError, ValueError, KeyError, TypeError):  # ValueError: bad JSON or not UTF-8
        pass
    return None


def _variant(deps: list[list[str]]) -> str:
    """The entry name for one set of dependency contents under a key."""
    return hashlib.sha256(json.dumps(deps).encode()).hexdigest()[:16]


def _publish(staging: Path, entry: Path) -> Path:
    try:
        os.rename(staging, entry)  # atomic: the entry appears whole, or the rename fails
    except OSError as err:
        if err.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
            raise
        if read_entry(entry) is not None:
            return entry  # another job published the same outputs first: use theirs
        # Something broken sits at that name (a disk error, an older cache layout): never touch
        # it (a reader may hold it), publish beside it under a name no one else can pick.
        entry = entry.with_name(f"{entry.name}-{secrets.token_hex(4)}")
        os.rename(staging, entry)
    fsync_dir(entry.parent)
    return entry


def _dependencies_unchanged(deps: list[list[str]], project: Path) -> bool:
    for name, sha in deps:
        try:
            if file_hash(project / name) != sha:  # absolute names stay absolute
                return False
        except OSError:
            return False
    return True


def parse_depfile(text: str) -> list[str]:
    """The prerequisites of the Make rule a compiler writes for -MD -MF: the source, then every
    file it included. Handles line continuations and clang's escapes (backslash before a blank
    or '#', "$$" for '$')."""
    words = [_DEP_ESCAPE.sub(lambda m: m[1] or "$", word)
             for word in _DEP_WORD.findall(text.replace("\\\r\n", " ").replace("\\\n", " "))]
    for index, word in enumerate(words):  # the target (an object file) ends with ':'
        if word.endswith(":"):
            return words[index + 1:]
    return []


def _dependencies(depfiles: list[Path], project: Path, started_ns: int) -> list[list[str]] | None:
    """[name, sha256] of every file the compiler read, sorted: project files by their path in the
    project, others by absolute path; zig's lib dir left out. None when one changed after the
    compile started (its hash may not match the output; ccache calls this "too new"). The
    change time (ctime) says so even for a file whose mtime was set back or from a skewed clock."""
    skip = os.path.realpath(toolchain.lib_dir()) + os.sep
    found: dict[str, Path] = {}
    for depfile in depfiles:
        for name in parse_depfile(os.fsdecode(depfile.read_bytes())):
            path = Path(os.path.normpath(project / name))  # relative to the compiler's cwd: the project
            if os.path.realpath(path).startswith(skip):
                continue
            found[path.relative_to(project).as_posix() if path.is_relative_to(project) else str(path)] = path
    deps = []
    for name, path in sorted(found.items()):
        if path.stat().st_ctime_ns >= started_ns:
            return None
        deps.append([name, file_hash(path)])
    return deps


class Cancelled(Exception):
    pass


def _run(cmd: list[str], cwd: Path, log: list[str], cancel: threading.Event | None) -> int:
    """Run one step in its own process group, killed (with its children) when cancelled."""
    log.append("$ " + shlex.join(str(c) for c in cmd))
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        while True:
            try:
                out, _ = proc.communicate(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                if cancel is not None and cancel.is_set():
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    raise Cancelled() from None
    except BaseException:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        raise
    if out:  # bytes: a compiler quoting a Latin-1 source line must not break the job
        log.append(out.decode(errors="replace").rstrip())
    return proc.returncode


def _artifacts(program: Program, outputs: Path) -> list[Artifact]:
    found = [Artifact(program.install, outputs / program.name, 0o755)]
    if program.target == WASM:
        found.append(Artifact(program.install + ".wasm", outputs / f"{program.name}.wasm", 0o644))
    return found


def _steps(program: Program, project: Path, work: Path, outputs: Path) -> tuple[list[list], list[Path]]:
    """The commands that build `program` in `work`, and the dependency files they write.

    One source compiles and links in one command. With several, each is compiled on its own,
    then linked: a compiler writes one dependency file per command, the last source's."""
    if program.prebuilt:
        return _translation_steps(program, project / program.sources[0], work, outputs), []
    units = program.compile_units(project)
    language = toolchain.language_of(units)
    flags = toolchain.FLAGS[program.target] + (toolchain.CXX[program.target] if language == "c++" else [])
    extra = shlex.split(program.cflags)
    compiler = toolchain.compiler(language)
    linked = outputs / (f"{program.name}.wasm" if program.target == WASM else program.name)
    depfiles = [work / f"deps-{i}.d" for i in range(len(units))]
    if len(units) == 1:
        steps = [compiler + flags + extra + units + toolchain.LINK[program.target]
                 + ["-MD", "-MF", depfiles[0], "-o", linked]]
    else:
        objects = [work / f"unit-{i}-{unit.stem}.o" for i, unit in enumerate(units)]
        steps = [compiler + flags + extra + ["-c", unit, "-MD", "-MF", depfile, "-o", obj]
                 for unit, depfile, obj in zip(units, depfiles, objects)]
        steps.append(compiler + flags + extra + objects + toolchain.LINK[program.target] + ["-o", linked])
    if program.target == WASM:
        steps += _translation_steps(program, linked, work, outputs)
    return steps, depfiles


def _translation_steps(program: Program, module: Path, work: Path, outputs: Path) -> list[list]:
    """A wasm32-wasi module into an i386 program for the guest (wasm2c + the WASI layer); a
    prebuilt module is checked first and installed beside the program too."""
    installed = outputs / f"{program.name}.wasm"
    if module != installed:
        modules.check_module(module)  # a StudioError: the job fails saying what is wrong
        shutil.copyfile(module, installed)
    rt = toolchain.runtime_dir(work)
    return [
        [toolchain.wasm2c(), "-n", toolchain.MODULE_NAME, installed, "-o", rt / "prog.c"],
        [sys.executable, "-m", "studio.compile.wasm2c_tune", rt / "prog.c"],
        toolchain.compiler("c") + toolchain.FLAGS[I386] + ["-I", rt, rt / "prog.c", rt / "wasm-rt-impl.c",
                                                          toolchain.WASI_RUNTIME, "-o", outputs / program.name],
    ]


def _elapsed(started: float) -> float:
    return time.perf_counter() - started


def compile_program(program: Program, project: Path, cache: CompileCache | None = None,
                    cancel: threading.Event | None = None, on_running=None) -> CompileOutcome:
    """Compile `program` from the project folder `project`. Never raises: compile errors,
    cancellation and any other failure (a disk error, a missing tool, a bug) end in an outcome
    that says what happened."""
    started = time.perf_counter()
    started_ns = time.time_ns()  # a file changed after this may not match what gets compiled
    project = Path(project)
    log: list[str] = []
    try:
        key = cache.key(program, project) if cache else ""
        hit = cache.lookup(key, project) if cache else None
        if hit is not None:
            meta = read_entry(hit) or {}
            diagnostics = [Diagnostic(**d) for d in meta.get("diagnostics", [])]
            return CompileOutcome(program.name, CACHED, _elapsed(started), meta.get("output", ""),
                                  diagnostics, _artifacts(program, hit), key)
        if on_running:
            on_running()
        with tempfile.TemporaryDirectory(prefix=f"studio-cc-{program.name}-") as tmp:
            work = Path(tmp)
            outputs = work / "out"
            outputs.mkdir()
            steps, depfiles = _steps(program, project, work, outputs)
            for step in steps:
                code = _run(step, project, log, cancel)
                if code != 0:
                    output = "\n".join(log)
                    return CompileOutcome(program.name, FAILED, _elapsed(started), output,
                                          parse_diagnostics(output, project), [], key)
            output = "\n".join(log)
            diagnostics = parse_diagnostics(output, project)
            deps = _dependencies(depfiles, project, started_ns) if cache is not None else None
            if deps is not None:
                entry = cache.store(key, outputs, {"output": output,
                                                   "diagnostics": [d.__dict__ for d in diagnostics]}, deps)
                artifacts = _artifacts(program, entry)
            else:  # no cache, or a source changed while it compiled: keep this build uncached
                keep = Path(tempfile.mkdtemp(prefix=f"studio-out-{program.name}-"))
                for item in outputs.iterdir():
                    shutil.copy2(item, keep / item.name)
                artifacts = _artifacts(program, keep)
            return CompileOutcome(program.name, SUCCEEDED, _elapsed(started), output,
                                  diagnostics, artifacts, key)
    except Cancelled:
        return CompileOutcome(program.name, CANCELLED, _elapsed(started), "\n".join(log) + "\ncancelled")
    except StudioError as err:
        return CompileOutcome(program.name, FAILED, _elapsed(started), "\n".join(log + [str(err)]))
    except OSError as err:  # a disk error, an unreadable source, a cache that is not a folder
        return CompileOutcome(program.name, FAILED, _elapsed(started),
                              "\n".join(log + [f"{program.name}: {_describe_os_error(err)}"]))
    except Exception:  # a bug: end the job and show it, never leave it running
        return CompileOutcome(program.name, FAILED, _elapsed(started),
                              "\n".join(log + [f"{program.name}: internal error:", traceback.format_exc()]))


def _describe_os_error(err: OSError) -> str:
    """"Not a directory: /path (what the OS said)" rather than "[Errno 20] Not a directory: '/path'"."""
    where = " -> ".join(str(f) for f in (err.filename, err.filename2) if f is not None)
    what = err.strerror or str(err)
    return f"{what}: {where}" if where else what
