"""Reading the serial console: milestones, prompts, the shell's folder (Qt-free)."""

from studio.boot.console import Console


def test_prompt_milestones_and_cwd():
    console = Console()
    assert console.feed("[    0.000000] Linux version 6.1\r\n", 0.4) == ["first-kernel-line"]
    assert console.feed("Run /sbin/init as init process\r\n", 0.6) == ["init"]
    assert console.feed("demo:~# \x1b[6n", 0.9) == ["prompt"]
    assert console.milestones == {"first-kernel-line": 0.4, "init": 0.6, "prompt": 0.9}
    assert console.cwd() == "/root"
    mark = len(console.text)
    console.feed("cd /var/log\r\ndemo:/var/log# ", 1.0)
    assert console.at_prompt(mark) and console.cwd() == "/var/log"
    console.feed("sleep 5\r\n", 1.1)
    assert not console.at_prompt(mark) and console.cwd() is None


def test_restored_machine_has_no_kernel_line():
    console = Console()
    console.milestones["restored"] = 0.08
    assert console.feed("\r\ndemo:~# ", 0.3) == ["prompt"]
    assert "first-kernel-line" not in console.milestones
