"""Index load benchmark: a signed APKINDEX.tar.gz of 20,000 packages (shaped like Alpine's
community index) loaded into model.Package records: signature check, gunzip, tar, parse.

    .venv/bin/python bench/bench_apkindex.py [--packages 20000] [--runs 7]

Target: 0.3 s or less for 20,000 packages.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))
from stats import fmt  # noqa: E402 (bench/ is on sys.path when a script runs)

from apkrepo import synthetic_packages  # noqa: E402
from studio.packages.index import dependency, format_apkindex, parse_apkindex, read_apkindex, write_apkindex  # noqa: E402
from studio.packages.keys import SigningKey, TrustedKeys  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    packages = synthetic_packages(args.packages)
    key = SigningKey.generate("bench-00000000", bits=2048)
    data = write_apkindex(packages, key, description="bench index")
    text = format_apkindex(packages)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "APKINDEX.tar.gz"
        path.write_bytes(data)
        trusted = TrustedKeys.of(key)
        loads, cpu, parses = [], [], []
        index = None
        for _ in range(args.runs):
            index = None  # the previous result is freed outside the measurement
            dependency.cache_clear()  # every run as cold as a first load
            start, start_cpu = time.perf_counter(), time.process_time()
            index = read_apkindex(path, trusted, what="APKINDEX of bench")
            loads.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            dependency.cache_clear()
            start = time.perf_counter()
            parsed = parse_apkindex(text)
            parses.append(time.perf_counter() - start)
            del parsed
        assert index.packages == packages
    print(f"index: {args.packages} packages, {len(text) / 1e6:.1f} MB text, {len(data) / 1e6:.2f} MB gzip")
    print(f"load APKINDEX.tar.gz (verify + gunzip + parse): {fmt(loads)}")
    print(f"  the same, CPU time of this process:           {fmt(cpu)}")
    print(f"parse APKINDEX text only:                       {fmt(parses)}")


if __name__ == "__main__":
    main()
