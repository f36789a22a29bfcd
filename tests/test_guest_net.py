"""The guest's network boundary (Qt-free): what the untrusted machine's HTTP requests may reach.
Repositories are served from the package cache; the default mode reaches nothing else; "web"
never reaches the host or a private network unless the user names it; redirects go back to the
guest. Real local HTTP servers stand in for the host's own services."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from apkrepo import build_repository
from studio.boot.guest_net import GuestNetwork, network_for
from studio.packages.config import repository_host


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    return build_repository(tmp_path_factory.mktemp("netrepo"))


@pytest.fixture
def host_service(tmp_path):
    """A service on the host's loopback that is no repository (what the guest must not reach)."""
    (tmp_path / "secret.txt").write_text("the host's secret\n")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/secret.txt")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def local_attempts(port: int) -> list[str]:
    return [f"http://localhost:{port}/secret.txt", f"http://{port}.external/secret.txt",
            f"http://127.0.0.1:{port}/secret.txt", f"http://127.1:{port}/secret.txt",
            f"http://[::1]:{port}/secret.txt", f"http://0.0.0.0:{port}/secret.txt",
            f"http://10.0.0.1:{port}/secret.txt", f"http://192.168.1.1:{port}/secret.txt",
            "http://169.254.169.254/latest/meta-data/"]


@pytest.mark.parametrize("mode", ["repositories", "web"])
def test_the_host_and_private_networks_are_refused_in_every_mode(mode, host_service):
    network = GuestNetwork(mode)
    for url in local_attempts(host_service):
        reply = network.handle(url)
        assert reply.status == 403, (url, reply.status, reply.body)
        assert b"secret" not in reply.body and b"Image Studio refused" in reply.body
        assert (b"network_allow" in reply.body) if mode == "web" else (b"Machine > Network > Web" in reply.body)


def test_a_name_resolving_to_the_host_is_refused(host_service):
    network = GuestNetwork("web", resolve=lambda host, port: ["127.0.0.1"])  # a rebinding DNS answer
    reply = network.handle(f"http://innocent.example.org:{host_service}/secret.txt")
    assert reply.status == 403 and b"loopback" in reply.body


def test_a_host_the_user_names_is_allowed_and_redirects_go_back_to_the_guest(host_service):
    network = GuestNetwork("web", allow=[f"127.0.0.1:{host_service}"])
    assert network.handle(f"http://127.0.0.1:{host_service}/secret.txt").body == b"the host's secret\n"
    bounced = network.handle(f"http://127.0.0.1:{host_service}/redirect")
    assert bounced.status == 302 and bounced.headers["Location"].endswith("/secret.txt")
    # A redirect from an allowed host to one that is not is refused when the guest follows it.
    strict = GuestNetwork("web", allow=[f"localhost:{host_service}"])
    assert strict.handle(f"http://localhost:{host_service}/redirect").status == 302
    assert strict.handle(f"http://127.0.0.1:{host_service}/secret.txt").status == 403


def test_web_mode_forwards_public_addresses_to_the_address_it_checked(monkeypatch):
    from studio.boot import guest_net

    seen = []
    monkeypatch.setattr(guest_net, "_forward",
                        lambda address, port, host, parsed, method, headers: seen.append((address, host)) or
                        guest_net.Reply(200, "OK", b"public"))
    network = GuestNetwork("web", resolve=lambda host, port: ["93.184.215.14"])
    assert network.handle("http://example.org/").body == b"public"
    assert seen == [("93.184.215.14", "example.org")]  # connected to the checked address (no rebinding)
    assert GuestNetwork("repositories").handle("http://example.org/").status == 403


def test_repositories_are_served_from_the_package_cache(new_project, repository):
    from test_packages_project import with_repository

    from studio.image.project import Project

    project = Project.open(with_repository(new_project("served"), repository).root)
    network = network_for(project)
    host = repository_host(repository.url)
    index = network.handle(f"http://{host}/x86/APKINDEX.tar.gz")
    assert index.status == 200 and index.path.read_bytes() == repository.index_path.read_bytes()
    package = network.handle(f"http://{host}/x86/greet-2.0-r0.apk")
    assert package.status == 200 and package.path.read_bytes() == repository.path_of("greet").read_bytes()
    assert network.handle(f"http://{host}/x86/nothing-1.0-r0.apk").status == 404
    assert network.handle(f"http://{host}/../../etc/passwd").status == 404
    assert network.handle(f"http://{host}/x86/APKINDEX.tar.gz", "POST").status == 403
    project.boot.network = "off"
    assert network_for(project) is None


def test_localhost_is_the_loopback_without_asking_the_resolver(monkeypatch):
    import socket

    from studio.boot import guest_net

    def no_resolver(*args, **kwargs):  # a minimal system with no /etc/hosts entry for localhost
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(guest_net.socket, "getaddrinfo", no_resolver)
    for name in ("localhost", "LOCALHOST.", "studio.localhost"):
        assert guest_net._resolve(name, 80)[0] == "127.0.0.1"
    with pytest.raises(socket.gaierror):
        guest_net._resolve("example.org", 80)
