"""The running machine's network, in real boots: `apk update && apk add` inside the guest through
the studio (a repository on a local HTTP server the test starts), the package cache serving a
second project with the server gone, the host's own services out of the guest's reach in every
mode (unless the user names them), and the network after a snapshot restore."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from apkrepo import build_repository
from conftest import run_studio
from studio.boot.headless import boot_headless
from studio.image.project import Project

pytestmark = pytest.mark.boot

# udhcpc runs in the background from rcS: wait until it has finished, not only set the address
# (its script adds the route and writes resolv.conf after that; a machine restored at its prompt
# is often in the middle of it), before using the network.
LEASE = ("for i in $(seq 60); do ip -4 addr show eth0 | grep -q inet && ip route | grep -q '^default'"
         " && grep -q '^nameserver' /etc/resolv.conf && break; sleep 0.25; done;"
         " ip -4 addr show eth0 | grep -o 'inet [0-9.]*'")


class Server:
    """A local HTTP server for a folder (a repository, or the host's own service)."""

    def __init__(self, directory, redirect_to: str = ""):
        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                if self.path == "/redirect" and redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                    self.end_headers()
                    return
                super().do_GET()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(directory)))
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    return build_repository(tmp_path_factory.mktemp("guestrepo"))


def project_on(new_project, name: str, repo_url: str, key, network: str = "repositories", allow=()):
    project = new_project(name)
    assert run_studio("packages", "repo", "add", str(project.root), repo_url, "--key", str(key)).returncode == 0
    for default in ("alpine:main", "alpine:community"):
        assert run_studio("packages", "repo", "remove", str(project.root), default).returncode == 0
    project = Project.open(project.root)
    project.boot.network = network
    project.boot.network_allow = list(allow)
    project.save_settings()
    return project


def test_apk_add_inside_the_guest_then_offline_from_the_cache(new_project, repository):
    key = next(repository.keys_dir.glob("*.pub"))
    server = Server(repository.root)
    try:
        project = project_on(new_project, "guest-apk", server.url, key)
        result = boot_headless(project.root, [LEASE, "apk update >/dev/null 2>&1; echo update=$?",
                                              "apk add greet 2>&1 | tail -n 3", "greet", "cat /etc/apk/repositories"],
                               timeout=90, use_snapshots=False)
        assert result.ok, result.reason + result.console[-2000:]
        lease, update, added, ran, repositories = result.outputs
        assert "inet 192.168.86." in lease
        assert "update=0" in update
        assert "OK:" in added, added
        assert "hello from greet" in ran
        assert repositories.strip().startswith("http://") and ".repo.studio" in repositories
    finally:
        server.stop()
    # The server is gone: a second project installs the same package from the cache, in the guest.
    second = project_on(new_project, "guest-offline", server.url, key)
    result = boot_headless(second.root, [LEASE, "apk update >/dev/null 2>&1; apk add greet >/dev/null 2>&1; echo add=$?",
                                         "greet"], timeout=90, use_snapshots=False)
    assert result.ok, result.reason + result.console[-2000:]
    assert "add=0" in result.outputs[1] and "hello from greet" in result.outputs[2]


def fetch(url: str) -> str:
    return f"wget -q -O - {url} 2>&1; echo rc=$?"


@pytest.mark.parametrize("mode", ["repositories", "web"])
def test_the_guest_cannot_reach_the_hosts_own_services(mode, new_project, repository, tmp_path):
    """The guest reaches the outside only through port 80 (v86 turns each connection into one
    request the studio answers), so every way of naming the host is tried there: v86's own
    PORT.external (mapped to localhost), a Host header naming the host, a redirect to it."""
    (tmp_path / "secret.txt").write_text("the host's secret\n")
    service = Server(tmp_path)
    bouncer = Server(tmp_path, redirect_to=f"http://{service.port}.external/secret.txt")
    key = next(repository.keys_dir.glob("*.pub"))
    try:
        project = project_on(new_project, f"walled-{mode}", repository.url, key, mode,
                             allow=[f"localhost:{bouncer.port}"] if mode == "web" else [])
        commands = [LEASE,
                    fetch(f"http://{service.port}.external/secret.txt"),
                    fetch(f"--header 'Host: 127.0.0.1:{service.port}' http://any.example/secret.txt"),
                    fetch(f"--header 'Host: localhost:{service.port}' http://any.example/secret.txt"),
                    fetch(f"--header 'Host: 10.0.2.2:{service.port}' http://any.example/secret.txt"),
                    fetch(f"http://{bouncer.port}.external/redirect"),  # allowed in web mode: its redirect is not
                    fetch("http://example.invalid/")]
        result = boot_headless(project.root, commands, timeout=90, use_snapshots=False)
        assert result.ok, result.reason + result.console[-2000:]
        for output in result.outputs[1:-1]:
            assert "the host's secret" not in output, output
            assert "rc=0" not in output and "403" in output, output  # refused by the studio, not lost
        # Outside the repositories: refused in the default mode; in web mode the name does not resolve.
        assert ("403" if mode == "repositories" else "502") in result.outputs[-1]
    finally:
        service.stop()
        bouncer.stop()


def test_web_mode_reaches_a_host_the_user_names(new_project, repository, tmp_path):
    (tmp_path / "hello.txt").write_text("named and allowed\n")
    named = Server(tmp_path)
    key = next(repository.keys_dir.glob("*.pub"))
    try:
        allowed = project_on(new_project, "named", repository.url, key, "web", allow=[f"localhost:{named.port}"])
        result = boot_headless(allowed.root, [LEASE, fetch(f"http://{named.port}.external/hello.txt")],
                               timeout=90, use_snapshots=False)
        assert result.ok, result.reason
        assert "named and allowed" in result.outputs[1] and "rc=0" in result.outputs[1]
    finally:
        named.stop()


def test_the_network_works_after_a_snapshot_restore(new_project, repository):
    key = next(repository.keys_dir.glob("*.pub"))
    project = project_on(new_project, "restored-net", repository.url, key)
    first = boot_headless(project.root, [LEASE], timeout=90)
    assert first.ok and first.boot_kind in ("cold", "kernel"), first.reason
    again = boot_headless(project.root, [LEASE, "apk update 2>&1; echo update=$?"], timeout=90)
    assert again.ok, again.reason + again.console[-2000:]
    assert again.boot_kind == "snapshot"
    assert "update=0" in again.outputs[1], again.outputs[1]
