"""Snapshots: the first boot saves the machine at its prompt; an unchanged image then restores
it (a shell that answers); a changed image never gets a stale state and says why it boots cold."""

from __future__ import annotations

import pytest

from studio.boot.headless import boot_headless
from studio.boot.snapshots import SnapshotStore

pytestmark = pytest.mark.boot


def test_snapshot_boot_and_stale_snapshot_refused(new_project):
    project = new_project("snappy")
    cold = boot_headless(project.root, ["echo cold-$((1+1))"], expect="^cold-2$", timeout=60)
    assert cold.ok, cold.reason
    assert cold.boot_kind in ("cold", "kernel")  # an earlier test may have saved this machine's kernel state
    (saved,) = [s for s in SnapshotStore().list() if s.project == "snappy"]
    assert saved.size > 0 and saved.raw_size > saved.size

    warm = boot_headless(project.root, ["cat /etc/alpine-release", "echo warm-$((2+2))"], expect="warm-4",
                         timeout=60)
    assert warm.ok, warm.reason
    assert warm.boot_kind == "snapshot"
    assert "restored" in warm.milestones and "first-kernel-line" not in warm.milestones
    assert warm.outputs[0].strip() == "3.19.4"

    from conftest import run_studio

    listed = run_studio("snapshots")
    assert listed.returncode == 0 and f"{saved.key}  snappy" in listed.stdout

    project.write_file("/etc/motd", "changed after the snapshot\n")
    changed = boot_headless(project.root, ["cat /etc/motd"], expect="changed after the snapshot", timeout=60)
    assert changed.ok, changed.reason
    assert changed.boot_kind == "kernel"  # no stale prompt state: the image's init runs on the saved kernel
    assert "kernel-restored" in changed.milestones and "restored" not in changed.milestones


def test_why_cold_names_what_changed(tmp_path):
    store = SnapshotStore(tmp_path)
    parts = {"image": "a", "kernel": "k", "bios": "b", "v86": "v1", "boot": "x", "format": "1"}
    store.put("key1", b"state" * 100, "demo", parts)
    assert "v86 was upgraded" in store.why_cold("demo", {**parts, "v86": "v2"})
    reason = store.why_cold("demo", {**parts, "image": "other", "boot": "y"})
    assert "content changed" in reason and "boot settings" in reason
    assert "no snapshot of this project yet" in store.why_cold("another", parts)
    store.delete("key1")
    assert store.list() == []
    store.put("other0", b"s" * 10, "other", parts)
    for i in range(5):  # a project keeps its newest few states; other projects' stay
        store.put(f"k{i}", b"s" * 10, "demo", {**parts, "image": str(i)})
    assert [s.key for s in store.list() if s.project == "demo"] == ["k4", "k3", "k2"]
    assert [s.key for s in store.list() if s.project == "other"] == ["other0"]
