"""Program packaging benchmark: what turning a compiled program into its apk package adds to a
build (the package built and signed, the repository index rebuilt and signed), and what
installing it through the packages path costs (resolve, unpack, the package layer).

    .venv/bin/python bench/bench_program_package.py [--runs 15]

Target: packaging a program adds <= 50 ms to its build.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from stats import fmt  # noqa: E402

ALPINE = REPO.parent / "shared" / "alpine" / "alpine-minirootfs-3.19.4-x86.tar.gz"
HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    scratch = Path(tempfile.mkdtemp(prefix="bench-pkg-"))
    os.environ["STUDIO_CONFIG_DIR"] = str(scratch / "config")  # the bench's own project key
    os.environ["STUDIO_CACHE_DIR"] = str(scratch / "cache")
    os.environ["STUDIO_ALPINE_MIRROR"] = (scratch / "no-network").as_uri()
    from dataclasses import replace

    from studio.compile import packaging, programs
    from studio.compile.jobs import Artifact, CompileCache, compile_program
    from studio.image import base, package_ops
    from studio.image.project import Project

    try:
        project = Project.create(scratch / "project", base.parse_base(str(ALPINE)))
        (scratch / "hello.c").write_text(HELLO)
        program = programs.add(project, "hello", [scratch / "hello.c"])
        outcome = compile_program(program, project.root, CompileCache(scratch / "cc"))
        assert outcome.ok, outcome.output
        started = time.perf_counter()
        key = packaging.signing_key(project)
        print(f"project key made once (RSA 4096): {time.perf_counter() - started:.2f} s")

        same, new, install = [], [], []
        index = project.base_index()
        for run in range(runs):
            # A new build: other bytes in the program (as after an edit), so a new release.
            variant = scratch / f"build-{run}"
            variant.mkdir()
            artifacts = []
            for artifact in outcome.artifacts:
                copy = variant / artifact.host_path.name
                copy.write_bytes(artifact.host_path.read_bytes() + f"\0build {run}".encode())
                artifacts.append(Artifact(artifact.image_path, copy, artifact.mode))
            built = replace(outcome, artifacts=artifacts)
            t = time.perf_counter()
            packaged = packaging.package_program(project, program, built, key)
            new.append(time.perf_counter() - t)
            assert packaged.built
            t = time.perf_counter()
            again = packaging.package_program(project, program, built, key)
            same.append(time.perf_counter() - t)
            assert not again.built
            t = time.perf_counter()
            change = packaging.plan_install(project, index, [packaged])
            done = package_ops.carry_out(project, index, change, None)
            package_ops.commit(project, change.settings, done.lock)
            install.append(time.perf_counter() - t)
        size = sum(a.host_path.stat().st_size for a in outcome.artifacts)
        print(f"program files: {size / 1024:.0f} KiB (executable and .wasm); {runs} builds")
        print(f"packaging a new build (apk built and signed, index rebuilt): {fmt(new, 'ms', 1000)}  target <= 50 ms")
        print(f"packaging an unchanged build (the release found again):       {fmt(same, 'ms', 1000)}")
        print(f"installing it (resolve, unpack, package layer, lock):          {fmt(install, 'ms', 1000)}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
