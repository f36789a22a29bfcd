"""Real boots: the Alpine project in v86 (QtWebEngine offscreen), driven like a user would."""

from __future__ import annotations

import re

import pytest

from conftest import run_studio

pytestmark = pytest.mark.boot


def test_headless_boot_prints_alpine_release(alpine_project):
    result = run_studio("boot", str(alpine_project.root), "--headless",
                        "--run", "cat /etc/alpine-release", "--expect", r"^3\.19\.4$", "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"time to first kernel line: \d+\.\d+ s", result.stdout)
    assert re.search(r"time to prompt: \d+\.\d+ s", result.stdout)
    assert "3.19.4" in result.stdout


def test_headless_boot_fails_on_a_miss_and_shows_the_console(alpine_project):
    result = run_studio("boot", str(alpine_project.root), "--headless",
                        "--run", "echo studio-$((6*7))", "--expect", "^studio-43$", "--timeout", "60")
    assert result.returncode == 1
    assert "did not match" in result.stderr
    assert "studio-42" in result.stderr  # the last console output is shown


def test_commands_run_in_order_and_the_preset_mounts_work(new_project):
    project = new_project("ordered")
    project.write_file("/root/hello.sh", "#!/bin/sh\necho \"hello from $(hostname)\"\n", mode=0o755)
    project.save_meta()
    result = run_studio("boot", str(project.root), "--headless",
                        "--run", "/root/hello.sh", "--run", "mount | grep -c -E ' on /(proc|sys|tmp|run|dev/pts) '",
                        "--expect", r"hello from ordered\n5", "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_kernel_is_reported_not_hung(alpine_project, tmp_path):
    result = run_studio("boot", str(alpine_project.root), "--headless", "--timeout", "20",
                        env={"STUDIO_KERNEL": str(tmp_path / "no-such-bzImage")})
    assert result.returncode == 1
    assert "Cannot boot" in result.stderr and "no-such-bzImage" in result.stderr


def test_a_command_longer_than_the_terminal_line_is_refused_not_cut(tmp_path):
    from studio.boot.headless import MAX_COMMAND_BYTES, boot_headless

    result = boot_headless(tmp_path, ["echo " + "x" * MAX_COMMAND_BYTES])
    assert not result.ok
    assert "longer than the 4095" in result.reason and "split it" in result.reason
