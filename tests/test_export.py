"""The exported web bundle, served by a plain static HTTP server, boots in a real headless
Chromium (Debian's, driven by Playwright) to a shell that runs a typed command."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
import time

import pytest

from conftest import run_studio

pytestmark = pytest.mark.boot
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def serve():
    servers = []

    def start(directory):
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()


def boot_in_chromium(url: str, command: str, expect: str, timeout: float = 90) -> str:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url)
            deadline = time.monotonic() + timeout
            text = ""
            while time.monotonic() < deadline:
                text = page.evaluate("window.studio ? studio.terminalText() : ''")
                if text.rstrip().endswith("#"):
                    break
                page.wait_for_timeout(100)
            assert text.rstrip().endswith("#"), f"no prompt in the browser:\n{text[-1500:]}"
            page.click("#terminal")
            page.keyboard.type(command + "\n")
            while time.monotonic() < deadline and expect not in text.split(command, 1)[-1]:
                page.wait_for_timeout(100)
                text = page.evaluate("studio.terminalText()")
            return text
        finally:
            browser.close()


def test_exported_bundle_boots_in_chromium(new_project, tmp_path, serve):
    project = new_project("exported")
    out = tmp_path / "site"
    result = run_studio("export", str(project.root), str(out))
    assert result.returncode == 0, result.stderr
    assert "file blobs" in result.stdout and "total" in result.stdout
    assert all(p.name.endswith((".bin.zst", ".bin")) for p in (out / "build" / "blobs").iterdir())
    text = boot_in_chromium(serve(out), "cat /etc/alpine-release", "3.19.4")
    assert "3.19.4" in text.split("cat /etc/alpine-release", 1)[1]


def test_exported_snapshot_restores_in_chromium(new_project, tmp_path, serve):
    project = new_project("snapexport")
    refused = run_studio("export", str(project.root), str(tmp_path / "none"), "--snapshot")
    assert refused.returncode == 1 and "no snapshot" in refused.stderr
    booted = run_studio("boot", str(project.root), "--headless", "--run", "true")  # saves the state
    assert booted.returncode == 0, booted.stderr
    out = tmp_path / "site"
    result = run_studio("export", str(project.root), str(out), "--snapshot")
    assert result.returncode == 0, result.stderr
    assert (out / "build" / "state.bin.zst").exists() and "snapshot" in result.stdout
    text = boot_in_chromium(serve(out), "echo restored-$((3*3))", "restored-9")
    assert "restored-9" in text
    assert "Linux version" not in text  # no kernel boot: the state was restored


def test_bundle_network_settings(new_project, tmp_path, monkeypatch):
    import json

    from studio.build.export import export
    from studio.errors import StudioError

    project = new_project("bundled-net")
    export(project, tmp_path / "closed")
    closed = json.loads((tmp_path / "closed" / "build" / "boot.json").read_text())
    assert closed["network"] == "repositories" and closed["repositories"] == {}  # a card that reaches nothing
    monkeypatch.setenv("STUDIO_ALPINE_MIRROR", "https://mirror.example.org/alpine")  # never fetched here
    export(project, tmp_path / "open", network=True)
    opened = json.loads((tmp_path / "open" / "build" / "boot.json").read_text())
    assert opened["repositories"] == {"alpine-main.repo.studio": opened["repositories"]["alpine-main.repo.studio"]} \
        | {"alpine-community.repo.studio": opened["repositories"]["alpine-community.repo.studio"]}
    assert opened["repositories"]["alpine-main.repo.studio"] == "https://mirror.example.org/alpine/v3.19/main"
    project.packages.repositories = ["file:///srv/repo"]
    project.save_settings()
    with pytest.raises(StudioError, match="a web page cannot read file:///srv/repo"):
        export(project, tmp_path / "local", network=True)


def test_a_bundle_with_network_installs_from_a_cors_repository_in_chromium(new_project, tmp_path, serve):
    """`studio export --network`: the page's machine reaches the project's repository from the
    visitor's browser, which allows it because the repository sends Access-Control-Allow-Origin."""
    from apkrepo import build_repository

    repo = build_repository(tmp_path / "repo")

    class CorsHandler(http.server.SimpleHTTPRequestHandler):
        def end_headers(self):
            self.send_header("Access-Control-Allow-Origin", "*")
            super().end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(CorsHandler, directory=str(repo.root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        project = new_project("bundled-apk")
        url = f"http://127.0.0.1:{server.server_address[1]}"
        key = next(repo.keys_dir.glob("*.pub"))
        assert run_studio("packages", "repo", "add", str(project.root), url, "--key", str(key)).returncode == 0
        for name in ("alpine:main", "alpine:community"):
            assert run_studio("packages", "repo", "remove", str(project.root), name).returncode == 0
        out = tmp_path / "bundle"
        exported = run_studio("export", str(project.root), str(out), "--network")
        assert exported.returncode == 0, exported.stderr
        command = ("for i in $(seq 40); do ip -4 addr show eth0 | grep -q inet && break; sleep 0.25; done; "
                   "apk update 2>&1 | tail -2 && apk add -q greet 2>&1 | tail -2; greet")
        text = boot_in_chromium(serve(out), command, "hello from greet", timeout=150)
        assert "hello from greet" in text.split("greet", 1)[-1], text[-1500:]
    finally:
        server.shutdown()


def test_exported_kernel_state_boots_in_chromium(new_project, tmp_path, serve):
    project = new_project("bundled-kernel")
    assert run_studio("boot", str(project.root), "--headless", "--run", "true").returncode == 0  # saves it
    project.write_file("/etc/motd", "edited after the kernel state\n")
    project.save_meta()
    plain = run_studio("export", str(project.root), str(tmp_path / "plain"))
    result = run_studio("export", str(project.root), str(tmp_path / "fast"), "--kernel-state")
    assert plain.returncode == 0 and result.returncode == 0, result.stderr
    import json

    boot = json.loads((tmp_path / "fast" / "build" / "boot.json").read_text())
    assert boot["kernel_state"] == "build/kernel-state.bin.zst"
    text = boot_in_chromium(serve(tmp_path / "fast"), "cat /etc/motd", "edited after the kernel state")
    assert "edited after the kernel state" in text.split("cat /etc/motd", 1)[-1]
    sizes = [sum(f.stat().st_size for f in (tmp_path / name).rglob("*") if f.is_file()) for name in ("plain", "fast")]
    print(f"\nbundle {sizes[0] / 1e6:.2f} MB, with the kernel state {sizes[1] / 1e6:.2f} MB")
