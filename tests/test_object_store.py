"""The object store under concurrent writers: every write uses its own temporary file, so
threads linking one destination or adding one object never collide, and nothing is left over."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor

from studio.image.store import ObjectStore

THREADS = 16


def run_together(work, count: int = THREADS) -> list:
    """Run work(i) in `count` threads released at once; re-raise the first error of any."""
    start = threading.Barrier(count)

    def released(i):
        start.wait(timeout=60)
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(released, range(count)))


def test_many_threads_link_one_destination(tmp_path):
    store = ObjectStore(tmp_path / "objects")
    payload = b"a blob for the build folder\n" * 1000
    sha = store.add(payload)
    dest = tmp_path / "blobs" / f"{sha[:16]}.bin"
    dest.parent.mkdir()

    def link(_):
        for _ in range(50):
            store.link_or_copy(sha, dest)

    run_together(link)
    assert dest.read_bytes() == payload
    assert os.listdir(dest.parent) == [dest.name]  # no temporary file left behind
    assert store.read(sha) == payload  # the object itself was never written through a link


def test_many_threads_stream_one_object(tmp_path):
    store = ObjectStore(tmp_path / "objects")
    payload = os.urandom(3 << 20)  # more than one chunk

    def add(i):
        data = payload if i % 2 else payload[: 1 << 20]
        return store.add_stream(io.BytesIO(data + b"ignored past the limit"), limit=len(data))

    results = run_together(add)
    expected = {(hashlib.sha256(payload).hexdigest(), len(payload)),
                (hashlib.sha256(payload[: 1 << 20]).hexdigest(), 1 << 20)}
    assert set(results) == expected
    stored = sorted(p for p in (tmp_path / "objects").rglob("*") if p.is_file())
    assert sorted(store.path(sha) for sha, _ in expected) == stored  # no temporary files
    for path in stored:
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert store.read(hashlib.sha256(payload).hexdigest()) == payload
