"""Instant boot after any edit: the machine saved once with its kernel up and the studio's init
waiting (before any image is read) is restored for every image, which its own init then runs
fresh; and a restored machine is a fresh machine (the host's time, a reseeded random pool)."""

from __future__ import annotations

import time

import pytest

from studio.boot.headless import boot_headless
from studio.image import edits
from studio.image.document import ImageDocument

pytestmark = pytest.mark.boot


def boot(project, *commands, use_snapshots=True):
    result = boot_headless(project.root, list(commands), timeout=60, use_snapshots=use_snapshots)
    assert result.ok, result.reason + "\n" + result.console[-1500:]
    return result


def test_an_edited_image_runs_its_own_init_on_the_saved_kernel(new_project):
    project = new_project("fresh-init")
    boot(project, "true")  # the machine's kernel state and this image's prompt state exist now
    doc = ImageDocument(project)
    state = doc.state
    for path, text in (("/etc/hostname", b"edited-host\n"),
                       ("/etc/init.d/rcS", doc.read_bytes("/etc/init.d/rcS") + b"echo rcS-marker-$((6*7))\n")):
        source, size, sha = doc.store_bytes(text)
        state.apply(edits.set_content(state, path, source, size, sha))
    state.apply(edits.remove(state, ["/etc/motd"]))
    doc.save()
    doc.close()
    result = boot(project, "hostname", "tr '\\0' ' ' < /proc/1/cmdline; echo", "ls /etc/motd 2>&1; echo rc=$?")
    assert result.boot_kind == "kernel"
    assert "rcS-marker-42" in result.console
    assert result.outputs[0].strip() == "edited-host"
    assert result.outputs[1].strip() == "/sbin/init"
    assert "rc=1" in result.outputs[2]


def test_restored_machines_get_the_hosts_time_and_fresh_randomness(new_project):
    project = new_project("fresh-machine")
    commands = ["date +%s", "head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo"]
    boot(project, *commands)
    seen = []
    for _ in range(2):
        time.sleep(2.5)  # the point: a snapshot restored later must not bring back the old clock
        started = time.time()
        result = boot(project, *commands)
        assert result.boot_kind == "snapshot"
        # Within the boot's own span (an old clock would be 2.5 s or more before it starts).
        assert started - 1 <= int(result.outputs[0].strip()) <= time.time() + 1, (result.outputs[0], started)
        seen.append(result.outputs[1].strip())
    # An edited image (kernel state) too.
    project.write_file("/root/note", "x\n")
    project.save_meta()
    started = time.time()
    kernel_boot = boot(project, *commands)
    assert kernel_boot.boot_kind == "kernel"
    assert started - 1 <= int(kernel_boot.outputs[0].strip()) <= time.time() + 1
    seen.append(kernel_boot.outputs[1].strip())
    assert len(set(seen)) == 3 and all(len(s) == 32 for s in seen), seen


def test_other_memory_or_kernel_arguments_boot_cold_and_say_why(new_project):
    project = new_project("settings")
    boot(project, "true")
    project.boot.memory_mb = 160
    project.save_settings()
    project.write_file("/root/a", "a\n")
    project.save_meta()
    result = boot(project, "true")
    assert result.boot_kind == "cold"
    assert "kernel-waiting" in result.milestones  # a kernel state for this machine is saved now
    assert "boot settings" in result.cold_reason and "new kernel state" in result.cold_reason
    project.boot.kernel_args = "loglevel=5"
    project.save_settings()
    again = boot(project, "true")
    assert again.boot_kind == "cold" and "boot settings" in again.cold_reason


def test_a_command_line_boot_keeps_both_states_before_it_exits(alpine_mirror, tmp_path):
    """`studio boot --headless` is a process that ends right after its commands: the kernel
    state and the prompt state, written in threads, must be in the cache when it has gone."""
    import json

    from conftest import run_studio
    from studio.boot.snapshots import KERNEL_STATES

    env = {"STUDIO_CACHE_DIR": str(tmp_path / "cache")}
    made = run_studio("new", str(tmp_path / "p"), "--base", "alpine:3.19", "--mirror", alpine_mirror.as_uri(), env=env)
    assert made.returncode == 0, made.stderr
    booted = run_studio("boot", str(tmp_path / "p"), "--headless", "--run", "true", env=env)
    assert booted.returncode == 0, booted.stderr
    owners = sorted(json.loads(f.read_text())["project"] for f in (tmp_path / "cache" / "snapshots").glob("*.json"))
    assert owners == sorted([KERNEL_STATES, "p"]), booted.stderr[-3000:]
    again = run_studio("boot", str(tmp_path / "p"), "--headless", "--run", "true", env=env)
    assert "boot: from snapshot" in again.stderr + again.stdout
