"""The user cache: sizes per cache, clearing (the kernel only by name), and least-recently-used
pruning of the compile and export-blob caches past their limits (studio.caches, studio.settings)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import run_studio
from studio import caches, settings
from studio.compile.jobs import CompileCache
from studio.errors import StudioError


@pytest.fixture
def config(tmp_path, monkeypatch):
    """A settings file of the test's own (the session's is shared)."""
    monkeypatch.setenv(settings.CONFIG_ENV, str(tmp_path / "config"))
    return tmp_path / "config"


def _file(path: Path, size: int, when: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    if when is not None:
        os.utime(path, (when, when))
    return path


def _fill(root: Path) -> None:
    _file(root / "downloads" / "0123-alpine.tar.gz", 1000)
    _file(root / "bases" / "abcd.json", 200)
    _file(root / "objects" / "ab" / "ab12", 300)
    os.link(root / "objects" / "ab" / "ab12", root / "objects" / "ab" / ".incoming-link")  # one inode, counted once
    _file(root / "zstd19" / "1111.bin.zst", 40)
    _file(root / "compile" / "key1" / "variant" / "hello.wasm", 500)
    _file(root / "packages" / "apks" / "nano-7.2-r1.abc.apk", 600)
    _file(root / "packages" / "indexes" / "main.tar.gz", 70)
    _file(root / "snapshots" / "k.zst", 800)
    _file(root / "snapshots" / "k.json", 8)
    _file(root / "kernel" / "key" / "bzImage", 900)
    _file(root / "initrd" / "key" / "initrd.cpio", 90)


def test_inventory_sizes_each_cache(tmp_path, config):
    _fill(tmp_path)
    sizes = {usage.kind.key: (usage.size, usage.files) for usage in caches.inventory(tmp_path)}
    assert sizes == {"bases": (1500, 3), "blobs": (40, 1), "compile": (500, 1), "packages": (670, 2),
                     "snapshots": (808, 2), "kernel": (990, 2)}
    limits = {usage.kind.key: usage.limit for usage in caches.inventory(tmp_path)}
    assert limits["compile"] == 2 << 30 and limits["blobs"] == 1 << 30 and limits["kernel"] == 0
    assert [k.key for k in caches.KINDS if k.explicit] == ["kernel"]


def test_clear_empties_a_cache_and_the_kernel_only_by_name(tmp_path, config):
    _fill(tmp_path)
    _file(tmp_path / "objects" / ".incoming-x.tmp", 5)  # a write in progress is left alone
    _file(tmp_path / "objects" / ".incoming-y.tmp", 7, when=1_000)  # one its writer left long ago is not
    assert caches.clear("bases", tmp_path) == 1507
    assert sorted(p.name for p in (tmp_path / "objects").iterdir()) == [".incoming-x.tmp"]
    assert not any((tmp_path / "downloads").iterdir()) and not any((tmp_path / "bases").iterdir())
    assert caches.clear("snapshots", tmp_path) == 808
    with pytest.raises(StudioError, match="rebuilding it takes minutes"):
        caches.clear("kernel", tmp_path)
    assert (tmp_path / "kernel" / "key" / "bzImage").is_file()
    assert caches.clear("kernel", tmp_path, explicit=True) == 990
    assert not (tmp_path / "kernel" / "key").exists()
    with pytest.raises(StudioError, match="no cache named 'objects'; the caches are: bases"):
        caches.clear("objects", tmp_path)
    left = {u.kind.key: u.size for u in caches.inventory(tmp_path)}
    assert left == {"bases": 5, "blobs": 40, "compile": 500, "packages": 670, "snapshots": 0, "kernel": 0}


def test_pruning_keeps_the_newest_under_the_limit(tmp_path):
    blobs = [_file(tmp_path / f"{i:02}.bin.zst", 100, when=1_000 + i) for i in range(10)]
    result = caches.prune_blob_cache(tmp_path, limit=450)
    assert sorted(p.name for p in tmp_path.iterdir()) == [b.name for b in blobs[6:]]
    assert (result.removed, result.freed, result.kept) == (6, 600, 400)
    # Used again, an old one is kept over a newer one.
    caches.touch(tmp_path / "06.bin.zst")
    caches.prune_blob_cache(tmp_path, limit=250)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["06.bin.zst", "09.bin.zst"]
    # The newest always stays, even past the limit; `keep` is never removed.
    caches.prune_blob_cache(tmp_path, limit=0, keep=[tmp_path / "09.bin.zst"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["06.bin.zst", "09.bin.zst"]
    assert caches.prune_blob_cache(tmp_path / "missing", limit=0).removed == 0


def _store(cache: CompileCache, key: str, tmp_path: Path, size: int, when: int) -> Path:
    outputs = tmp_path / f"out-{key}"
    _file(outputs / "prog.wasm", size)
    entry = cache.store(key, outputs, {"output": "", "diagnostics": []}, [])
    os.utime(entry, (when, when))
    return entry


def test_the_compile_cache_prunes_least_recently_used_entries_past_its_limit(tmp_path, config):
    settings.save({"compile_cache_limit": 2500})
    cache = CompileCache(tmp_path / "compile")
    a = _store(cache, "a" * 32, tmp_path, 1000, when=1_000)
    b = _store(cache, "b" * 32, tmp_path, 1000, when=2_000)
    assert cache.lookup("a" * 32, tmp_path) == a  # a hit: a is now the most recently used
    c = cache.store("c" * 32, _file(tmp_path / "out-c" / "prog.wasm", 1000).parent, {"output": ""}, [])
    assert a.is_dir() and c.is_dir() and not b.exists()  # b, used least recently, went
    assert cache.lookup("b" * 32, tmp_path) is None and cache.lookup("a" * 32, tmp_path) == a
    # A single entry bigger than the limit is still kept: a compile's outputs are never pruned under it.
    settings.save({"compile_cache_limit": 10})
    d = cache.store("d" * 32, _file(tmp_path / "out-d" / "prog.wasm", 5000).parent, {"output": ""}, [])
    assert d.is_dir() and (d / "prog.wasm").stat().st_size == 5000
    assert [p.name for p in (tmp_path / "compile").glob("*/*")] == [d.name]


def test_a_web_export_prunes_old_blobs_and_keeps_its_own(new_project, tmp_path, config):
    from studio.build.export import export

    blob_cache = Path(os.environ["STUDIO_CACHE_DIR"]) / caches.BLOB_DIR
    stale = [_file(blob_cache / f"{i:016x}.bin.zst", 4096, when=1_000 + i) for i in range(5)]
    settings.save({"blob_cache_limit": 0})
    project = new_project("pruned")
    export(project, tmp_path / "site")
    assert not any(p.exists() for p in stale)
    used = {p.name for p in (tmp_path / "site" / "build" / "blobs").iterdir() if p.name.endswith(".zst")}
    assert used and used == {p.name for p in blob_cache.iterdir() if not p.name.startswith(".")}


def test_studio_cache_lists_clears_and_prunes(tmp_path):
    root = tmp_path / "cache"
    _fill(root)
    env = {"STUDIO_CACHE_DIR": str(root), settings.CONFIG_ENV: str(tmp_path / "config")}
    listed = run_studio("cache", env=env)
    assert listed.returncode == 0, listed.stderr
    assert f"cache: {root}" in listed.stdout
    assert "bases" in listed.stdout and "1.5 KiB" in listed.stdout and "(cleared only by name)" in listed.stdout
    cleared = run_studio("cache", "clear", "--all", env=env)
    assert cleared.returncode == 0, cleared.stderr
    assert "cleared base images" in cleared.stdout and "kernel" not in cleared.stdout
    assert (root / "kernel" / "key" / "bzImage").is_file() and not any((root / "snapshots").iterdir())
    kernel = run_studio("cache", "clear", "kernel", env=env)
    assert kernel.returncode == 0 and not (root / "kernel" / "key").exists()
    unknown = run_studio("cache", "clear", "everything", env=env)
    assert unknown.returncode == 2 and "no cache named 'everything'" in unknown.stderr
    pruned = run_studio("cache", "prune", env=env)
    assert pruned.returncode == 0 and "compiled programs: removed 0" in pruned.stdout


def test_settings_are_checked_and_a_broken_file_says_how_to_fix_it(config):
    assert settings.load() == settings.DEFAULTS
    saved = settings.save({"alpine_mirror": "http://127.0.0.1:8080/alpine/", "blob_cache_limit": 5 << 20})
    assert saved["alpine_mirror"] == "http://127.0.0.1:8080/alpine/" and settings.cache_limit("blob_cache_limit") == 5 << 20
    assert settings.alpine_mirror() == "http://127.0.0.1:8080/alpine"
    with pytest.raises(StudioError, match="must be an http://, https:// or file:// URL"):
        settings.save({"alpine_mirror": "dl-cdn.alpinelinux.org"})
    with pytest.raises(StudioError, match="absolute folder path"):
        settings.save({"cache_dir": "relative/cache"})
    with pytest.raises(StudioError, match="size in bytes"):
        settings.save({"compile_cache_limit": -1})
    assert json.loads(settings.settings_path().read_text())["alpine_mirror"] == "http://127.0.0.1:8080/alpine/"
    settings.settings_path().write_text("{not json")
    with pytest.raises(StudioError, match="not valid JSON .*delete it to go back to the defaults"):
        settings.load()
    assert settings.cache_limit("compile_cache_limit") == 2 << 30  # a compile never fails on it

