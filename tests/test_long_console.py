"""A long session: after 10 MiB of guest output (more than the 4 MiB the console keeps), the
headless runner still sees each command's prompt and output."""

from __future__ import annotations

import io

import pytest

from studio.boot.headless import boot_headless

pytestmark = pytest.mark.boot

MIB = 1 << 20
LINE = "the quick brown fox jumps over the lazy dog " * 2  # 88 characters and a newline


def test_ten_mib_of_output_then_a_command_that_answers(alpine_project):
    # `yes | head` is slow in the emulator (its CPU, not the console): make 1 MiB once, print it ten
    # times. Whole lines, so that the next prompt starts a line (the shell wraps its line at 80 columns).
    lines = -(-MIB // (len(LINE) + 1))
    commands = [f"yes '{LINE}' | head -n {lines} > /tmp/mib",
                "for i in 1 2 3 4 5 6 7 8 9 10; do cat /tmp/mib; done",
                "echo after-$((6*7))"]
    log = io.StringIO()
    result = boot_headless(alpine_project.root, commands, expect=r"^after-42$", timeout=300, log=log)
    assert result.ok, result.reason + "\n" + log.getvalue() + result.console[-2000:]
    assert result.outputs[2] == "after-42"
    flood = result.outputs[1]
    assert flood.endswith(LINE) and flood.count(LINE) > 4 * MIB // (len(LINE) + 2)  # the last 4 MiB are kept
    seconds = result.seconds[1]
    print(f"10 MiB through the serial console: {seconds:.1f} s, {10 * MIB / seconds / 1e6:.2f} MB/s")
