"""Supervisor's HTTP server: 401 without the right password, 200 with it, loopback only."""
from helpers import CANARY_SECRET, remote_python

PASSWORD = CANARY_SECRET + "-http"
URL = "http://127.0.0.1:9001/"

_AUTH_GET = r"""
import base64, sys, urllib.error, urllib.request
url, user, password = sys.argv[1:4]
req = urllib.request.Request(url)
if user:
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
"""


def status(host, user="", password=""):
    result = remote_python(host, _AUTH_GET, URL, user, password)
    assert result.rc == 0, result.stderr
    return int(result.stdout)


def test_wrong_or_no_password_gets_401(host):
    assert status(host) == 401
    assert status(host, "ops", "wrong") == 401
    assert status(host, "root", PASSWORD) == 401


def test_right_password_gets_200(host):
    assert status(host, "ops", PASSWORD) == 200


def test_listens_on_loopback_only(host):
    addresses = host.check_output("ss -Htln 'sport = :9001' | awk '{print $4}'").split()
    assert addresses == ["127.0.0.1:9001"]


def test_password_is_nowhere_in_clear(host):
    assert host.run(f"grep -rF -- {PASSWORD!r} /etc/supervisor /var/log/supervisor").rc == 1
    assert PASSWORD not in host.check_output("ps -eo args")
    conf = host.file("/etc/supervisor/conf.d/inet_http_server.conf")
    assert conf.mode == 0o600 and conf.user == "root"
    assert "password={SHA}" in conf.content_string


def test_unix_socket_stays_private(host):
    sock = host.file("/var/run/supervisor.sock")
    assert sock.is_socket and sock.mode == 0o700


def test_the_app_still_runs_under_it(host):
    assert "RUNNING" in host.check_output("supervisorctl status sample")


def test_an_app_that_leaves_the_http_server_unset_keeps_it(host):
    """`quiet`, deployed after `sample` without the HTTP server variables, did not remove the
    host's HTTP server (before null meant unset, its default false did)."""
    assert "RUNNING" in host.check_output("supervisorctl status quiet")
    assert host.file("/etc/supervisor/conf.d/inet_http_server.conf").exists
    assert status(host, "ops", PASSWORD) == 200
