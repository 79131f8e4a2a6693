"""A real-world Django project deployed with the defaults, from a developer's messy working copy.

Every probe runs inside the container under test against 127.0.0.1 (or the app's unix
socket), with the Host header of the project's domain.
"""
import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import children, cmdline, is_gunicorn_master, main_pid, remote_python, run_playbook, wait_until

SCENARIO = Path(__file__).resolve().parents[1]
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
WORKING_COPY = EPHEMERAL / "working_copy"
DOMAIN = "www.example.com"
SITE = "http://127.0.0.1:8000"
NGINX = "http://127.0.0.1:8080"
ASGI = "http://127.0.0.1:8002"
SECRET = "djp-canary-secret-Yb4"
# The tests that break or change `site` deploy it alone, and alone again to put it back: the
# inventory's other apps were not touched (a full converge per host would redeploy them too).
SITE_ONLY = {"djangoops_apps": ["{{ djp_site }}"]}

_REQUEST = r"""
import base64, http.client, json, socket, sys, time
spec = json.loads(sys.argv[1])
class UnixConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(spec["unix"])
deadline = time.monotonic() + spec.get("wait", 0)
while True:
    try:
        if spec.get("unix"):
            conn = UnixConnection("localhost")
        else:
            host, port = spec["hostport"].rsplit(":", 1)
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request(spec.get("method", "GET"), spec["path"], body=base64.b64decode(spec.get("body", "")) or None,
                     headers=spec.get("headers", {}))
        r = conn.getresponse()
        out = {"status": r.status, "body": base64.b64encode(r.read()).decode()}
    except OSError as e:
        out = {"status": 0, "body": base64.b64encode(repr(e).encode()).decode()}
    if (out["status"] == spec["want"] if spec["want"] else out["status"]) or time.monotonic() > deadline:
        break
    time.sleep(0.3)
print(json.dumps(out))
"""


def request(host, base, path, method="GET", body=b"", headers=None, wait=0, unix=None, want=0):
    """(status, body) of one request inside the container; Host is the project's domain.
    Retried for up to `wait` seconds while nothing answers (or, with `want`, until that status)."""
    spec = {"path": path, "method": method, "body": base64.b64encode(body).decode(), "wait": wait, "want": want,
            "headers": {"Host": DOMAIN, **(headers or {})}, "unix": unix,
            "hostport": base.removeprefix("http://")}
    result = remote_python(host, _REQUEST, json.dumps(spec))
    assert result.rc == 0, result.stderr
    answer = json.loads(result.stdout)
    return answer["status"], base64.b64decode(answer["body"])


def upload(host, base, name, content):
    boundary = "djangoopsboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: text/plain\r\n\r\n{content}\r\n--{boundary}--\r\n").encode()
    return request(host, base, "/upload", "POST", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def is_supervisor(host):
    return "supervisor" in host.backend.host


def once(host):
    """app_base's own refusals and failures, before or beside what the manager does: the same
    under either manager and image, so proven once (systemd, Debian 13)."""
    if host.backend.host != "django_project-systemd13":
        pytest.skip("app_base's behaviour, the same under either manager: once, on systemd13")


def master_of(host, app):
    if is_supervisor(host):
        return int(host.check_output(f"supervisorctl pid {app}"))
    return main_pid(host, f"{app}.service")


def test_the_project_serves_its_domain_with_the_defaults(host):
    """No / route, ALLOWED_HOSTS a domain: the deploy passed its proof, the admin answers."""
    assert request(host, SITE, "/")[0] == 404
    status, body = request(host, SITE, "/admin/login/")
    assert status == 200 and b"csrfmiddlewaretoken" in body
    assert request(host, SITE, "/admin/login/", headers={"Host": "evil.invalid"})[0] == 400


def release_of(host, app="site"):
    """The directory of the release that serves the app (current resolved)."""
    release = host.check_output(f"readlink -f /srv/{app}/current")
    assert release.startswith(f"/srv/{app}/releases/"), release
    return release


def test_static_files_are_collected_into_the_tree_by_the_app(host):
    # STATIC_ROOT in the code tree is the release's own, filled by collectstatic as the app.
    release = release_of(host)
    manifest = host.file(f"{release}/staticfiles/staticfiles.json")
    assert manifest.exists and manifest.user == "site"
    static_root = host.file(f"{release}/staticfiles")
    assert static_root.is_directory and not static_root.is_symlink and static_root.user == "site"
    status, body = request(host, SITE, "/static/admin/css/base.css")
    assert status == 200 and b"{" in body
    # The rest of the code stays root's and read-only for the app.
    assert host.file(f"{release}/mysite/settings.py").user == "root"
    assert host.run(f"runuser -u site -- touch {release}/mysite/x").rc != 0
    assert host.run(f"runuser -u site -- touch {release}/x").rc != 0
    assert host.run("runuser -u site -- touch /srv/site/releases/x").rc != 0


def test_uploads_and_database_writes_succeed_from_the_service(host):
    status, name = upload(host, SITE, "first.txt", "uploaded-by-test")
    assert status == 200, name
    # MEDIA_ROOT in the code tree: the release links it to shared/, where uploads outlive releases.
    stored = host.file(f"/srv/site/shared/media/{name.decode()}")
    assert stored.exists and stored.user == "site" and stored.content_string == "uploaded-by-test"
    assert host.file(f"{release_of(host)}/media").is_symlink
    assert host.check_output(f"readlink {release_of(host)}/media") == "/srv/site/shared/media"
    assert host.file("/srv/site/shared/media").user == "site"
    status, count = request(host, SITE, "/notes", "POST", b"text=hello",
                            {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and int(count) >= 1
    assert host.file("/srv/site/var/db.sqlite3").user == "site"


def test_libraries_that_read_proc_and_write_caches_work(host):
    status, body = request(host, SITE, "/psutil")
    assert status == 200, body
    assert json.loads(body)["virtual_memory_total"] > 0
    status, body = request(host, SITE, "/cache")
    assert status == 200, body
    assert body.decode().startswith("/srv/site/var/cache/")


def test_the_working_copys_clutter_is_not_on_the_host(host):
    releases = host.check_output("find /srv/site/releases -mindepth 1 -maxdepth 1 -type d").split()
    assert release_of(host) in releases
    for release in releases + ["/srv/site"]:
        # The root's own .env is the role's; a release has none.
        for path in ([".env"] if release != "/srv/site" else []) + [
                ".git", ".venv", ".env.production", "node_modules", ".pytest_cache", "mysite/__pycache__",
                "media/dev-upload.txt", "staticfiles/dev-collected.css"]:
            assert not host.file(f"{release}/{path}").exists, (release, path)
    assert not host.file("/srv/site/shared/media/dev-upload.txt").exists
    for needle in ("ghp_SECRETTOKEN123", "outside-directory-secret", "dotenv-file-secret-must-not-reach-host",
                   "dotenv-production-secret-must-not-reach-host"):
        assert host.run(f"grep -rl {needle} /srv /etc /var/log").stdout == "", needle
    assert host.file("/srv/site/current/outside_link").is_symlink
    assert host.check_output("readlink /srv/site/current/outside_link") == str(EPHEMERAL / "outside")
    # The roles' own files win over the project's: theirs are the ones the service runs.
    assert "djangoops" in host.file("/srv/site/gunicorn.conf.py").content_string
    assert "exec" in host.file("/srv/site/run").content_string
    argv = cmdline(host, master_of(host, "site"))
    assert argv[1:4] == ["/srv/site/current/venv/bin/gunicorn", "-c", "/srv/site/gunicorn.conf.py"], argv


def test_the_projects_env_file_does_not_reach_the_service(host):
    assert request(host, SITE, "/env/DOTENV_LEAK")[0] == 404
    assert request(host, SITE, "/env/DJANGO_SECRET_KEY") == (200, SECRET.encode())


def test_unix_socket_behind_nginx(host):
    status, body = request(host, NGINX, "/admin/login/")
    assert status == 200 and b"csrfmiddlewaretoken" in body
    sock, rundir = host.file("/run/sock/gunicorn.sock"), host.file("/run/sock")
    assert sock.is_socket and sock.mode == 0o660 and sock.group == "www-data"
    assert rundir.mode == 0o750 and rundir.group == "www-data"
    # Another local user cannot connect.
    probe = "import socket; s = socket.socket(socket.AF_UNIX); s.connect('/run/sock/gunicorn.sock')"
    denied = host.run(f"runuser -u nobody -- python3 -c \"{probe}\"")
    assert denied.rc != 0 and "Permission denied" in denied.stderr
    # A reload keeps all of it (systemd's RuntimeDirectory= once gave both back to the app's group).
    master = master_of(host, "sock")
    old_workers = children(host, master)
    host.check_output("supervisorctl signal HUP sock" if is_supervisor(host) else "systemctl reload sock.service")
    gone = " && ".join(f"! [ -e /proc/{pid} ]" for pid in old_workers)
    assert wait_until(host, f"{{ {gone}; }}", 40), "the old workers did not leave after the reload"
    assert request(host, NGINX, "/admin/login/", wait=10)[0] == 200
    assert host.file("/run/sock/gunicorn.sock").group == "www-data" and host.file("/run/sock").group == "www-data"


def test_gunicorn_settings_reach_the_server(host):
    master = master_of(host, "sock")
    assert len(children(host, master)) == 2
    log = ("tail -n 300 /var/log/supervisor/sock/stderr.log" if is_supervisor(host)
           else "journalctl -u sock.service -n 300 --no-pager -o cat")
    assert "Using worker: gthread" in host.check_output(log)
    # A worker's thread pool serves: threads=3 beside the main thread once requests came in.
    for _attempt in range(6):
        assert request(host, "", "/healthz", unix="/run/sock/gunicorn.sock")[0] == 200
    threads = [int(host.check_output(f"ls /proc/{w}/task | wc -l")) for w in children(host, master)]
    assert max(threads) >= 2, threads


def test_a_bad_health_path_fails_the_deploy_naming_the_status(host):
    run = run_playbook(host, SCENARIO / "converge.yml", "-e", json.dumps(
        {"djangoops_apps": [{"app_base_name": "site", "app_base_src": str(WORKING_COPY), "app_base_wsgi_app": "mysite.wsgi",
                             "app_base_env": {"DJANGO_SECRET_KEY": SECRET, "DJANGO_ALLOWED_HOSTS": "www.example.com,.example.com",
                                              "DJANGO_DB_PATH": "/srv/site/var/db.sqlite3"},
                             "django_systemd_health_path": "/nope", "django_supervisor_health_path": "/nope"}]}))
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "Status code was 404" in output and "post-deploy check" in output, output[-3000:]
    assert request(host, SITE, "/admin/login/")[0] == 200
    # The failed proof leaves a restart pending; a good deploy takes it up.
    again = run_playbook(host, SCENARIO / "converge.yml", "-e", json.dumps(SITE_ONLY))
    assert again.returncode == 0, again.stdout[-3000:]


def test_a_media_root_the_role_may_not_hand_over_is_refused(host):
    """MEDIA_ROOT=/etc would become a ReadWritePaths= of the sandbox and a chown target."""
    once(host)
    unit_before = host.check_output("cat /etc/systemd/system/site.service 2>/dev/null || true")
    etc = (host.file("/etc").user, host.file("/etc").group, host.file("/etc").mode)
    env = {"DJANGO_SECRET_KEY": SECRET, "DJANGO_ALLOWED_HOSTS": "www.example.com,.example.com",
           "DJANGO_DB_PATH": "/srv/site/var/db.sqlite3", "DJANGO_MEDIA_ROOT": "/etc"}
    run = run_playbook(host, SCENARIO / "converge.yml", "-e", json.dumps(
        {"djangoops_apps": [{"app_base_name": "site", "app_base_src": str(WORKING_COPY), "app_base_wsgi_app": "mysite.wsgi",
                             "app_base_env": env}]}))
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    assert "MEDIA_ROOT is /etc: not a directory the role may give the app" in output, output[-3000:]
    assert (host.file("/etc").user, host.file("/etc").group, host.file("/etc").mode) == etc
    assert host.check_output("cat /etc/systemd/system/site.service 2>/dev/null || true") == unit_before
    # The .env it wrote is put back by a good deploy.
    again = run_playbook(host, SCENARIO / "converge.yml", "-e", json.dumps(SITE_ONLY))
    assert again.returncode == 0, again.stdout[-3000:]
    assert request(host, SITE, "/env/DJANGO_MEDIA_ROOT")[0] == 404


def test_uploads_in_a_directory_the_app_no_longer_owns_are_never_removed(host):
    """MEDIA_ROOT chowned to nginx by hand: the deploy stops and says so; the uploads stay."""
    once(host)
    name = upload(host, SITE, "chowned.txt", "must-survive")[1]
    host.check_output("chown -R www-data /srv/site/shared/media")
    try:
        run = run_playbook(host, SCENARIO / "converge.yml", "-e", json.dumps(SITE_ONLY))
        output = " ".join((run.stdout + run.stderr).split())
        assert run.returncode != 0
        assert "MEDIA_ROOT is /srv/site/releases/" in output, output[-3000:]
        assert "/srv/site/shared/media exists and belongs to www-data, not to the app" in output, output[-3000:]
        assert host.file(f"/srv/site/shared/media/{name.decode()}").content_string == "must-survive"
        assert host.file("/srv/site/shared/media").user == "www-data"
    finally:
        host.check_output("chown -R site /srv/site/shared/media")
    again = run_playbook(host, SCENARIO / "converge.yml", "-e", json.dumps(SITE_ONLY))
    assert again.returncode == 0, again.stdout[-3000:]
    assert request(host, SITE, f"/upload?name={name.decode()}") == (200, b"must-survive")


def test_a_redeploy_removes_a_deleted_module_and_keeps_uploads_and_data(host, tmp_path):
    name = upload(host, SITE, "kept.txt", "kept-across-deploys")[1]
    count = request(host, SITE, "/notes", "POST", b"text=kept", {"Content-Type": "application/x-www-form-urlencoded"})[1]
    assert request(host, SITE, "/module/legacy_module")[0] == 200
    master = master_of(host, "site")
    old_release = release_of(host)
    new_copy = tmp_path / "working_copy"
    shutil.copytree(WORKING_COPY, new_copy, symlinks=True)
    (new_copy / "mysite" / "legacy_module.py").unlink()
    (new_copy / "VERSION").write_text("v2\n")
    run = run_playbook(host, SCENARIO / "converge.yml", "-e", json.dumps({**SITE_ONLY, "djp_src": str(new_copy)}))
    assert run.returncode == 0, run.stdout[-3000:]
    assert request(host, SITE, "/version")[1].strip() == b"v2"
    assert request(host, SITE, "/module/legacy_module")[0] == 404
    # A new release without the module; the one before it keeps it (a rollback's).
    new_release = release_of(host)
    assert new_release != old_release
    assert not host.file(f"{new_release}/mysite/legacy_module.py").exists
    assert host.file(f"{old_release}/mysite/legacy_module.py").exists
    assert host.file(f"{new_release}/VERSION").content_string == "v2\n"
    assert request(host, SITE, f"/upload?name={name.decode()}") == (200, b"kept-across-deploys")
    assert int(request(host, SITE, "/notes")[1]) >= int(count)
    assert host.file(f"{new_release}/staticfiles/staticfiles.json").exists
    # New code is a graceful reload: the master stays.
    assert master_of(host, "site") == master
    # Back to the working copy the scenario deployed; nothing else changes on a rerun.
    again = run_playbook(host, SCENARIO / "converge.yml", "-e", json.dumps(SITE_ONLY))
    assert again.returncode == 0, again.stdout[-3000:]


def test_asgi_app_under_the_same_guarantees(host):
    if "systemd13" not in host.backend.host:
        pytest.skip("the ASGI app is deployed on Debian 13 only")
    master = main_pid(host, "asgi.service")
    assert is_gunicorn_master(host, master), cmdline(host, master)
    assert "uvicorn_worker.UvicornWorker" in host.file("/srv/asgi/gunicorn.conf.py").content_string
    assert request(host, ASGI, "/admin/login/")[0] == 200
    workers = children(host, master)
    host.check_output("systemctl reload asgi.service")
    assert wait_until(host, f"! pgrep -P {master} | grep -qx -e {' -e '.join(map(str, workers))}", 60)
    assert main_pid(host, "asgi.service") == master and request(host, ASGI, "/healthz", wait=10) == (200, b"ok")
    host.check_output(f"kill -9 {master}")
    assert wait_until(host, f"[ \"$(systemctl show -p MainPID --value asgi.service)\" != {master} ] "
                            f"&& [ \"$(systemctl show -p MainPID --value asgi.service)\" != 0 ]", 60)
    for worker in workers:
        assert not host.file(f"/proc/{worker}").exists, "a worker outlived its master"
    assert request(host, ASGI, "/healthz", wait=30) == (200, b"ok")


def test_the_socket_comes_back_after_a_container_restart(host):
    name = host.backend.host
    subprocess.run(["docker", "restart", "-t", "30", name], check=True, capture_output=True, timeout=120)
    import testinfra

    fresh = testinfra.get_host(f"docker://{name}")
    booted = fresh.run("timeout 90 sh -c 'until systemctl is-system-running --wait 2>/dev/null "
                       "| grep -qx -e running -e degraded; do sleep 1; done'")
    assert booted.rc == 0, booted.stdout + booted.stderr
    # Supervisor starts its programs after the boot; until then nginx answers 502.
    assert request(fresh, NGINX, "/admin/login/", wait=60, want=200)[0] == 200
    assert request(fresh, SITE, "/admin/login/", wait=60, want=200)[0] == 200
    assert fresh.file("/run/sock/gunicorn.sock").group == "www-data"


def readme_inventory():
    """The quick start's inventory, as the README shows it."""
    import re

    import yaml

    text = (SCENARIO.parents[1] / "README.md").read_text(encoding="utf-8")
    quick_start = text[text.index("## Quick start"):]
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", quick_start, re.S).group(1))


def test_the_readme_quick_start_deploys_as_written(host, tmp_path):
    """The README's inventory, its hosts replaced by this container, deploys its app."""
    inventory = readme_inventory()
    group = "web_supervisor" if is_supervisor(host) else "web_systemd"
    for name, child in inventory["all"]["children"].items():
        child["hosts"] = {host.backend.host: None} if name == group else {}
    inventory["all"]["vars"]["ansible_connection"] = "community.docker.docker"
    (tmp_path / "inventory.yml").write_text(json.dumps(inventory), encoding="utf-8")
    shutil.copytree(WORKING_COPY, tmp_path / "mysite", symlinks=True)
    app = inventory["all"]["vars"]["app_base_name"]
    deploy = subprocess.run(
        ["ansible-playbook", "djangoops.services.deploy", "-i", str(tmp_path / "inventory.yml"),
         "-e", json.dumps({"vault_django_secret_key": "readme-secret"})],
        capture_output=True, text=True, check=False, timeout=900)
    assert deploy.returncode == 0, deploy.stdout[-4000:]
    socket = inventory["all"]["vars"]["app_base_gunicorn_bind"].removeprefix("unix:")
    assert request(host, "", "/admin/login/", unix=socket)[0] == 200
    assert master_of(host, app) > 0
    remove = subprocess.run(
        ["ansible-playbook", "djangoops.services.remove", "-i", str(tmp_path / "inventory.yml"),
         "-e", json.dumps({"djangoops_remove": [app], "vault_django_secret_key": "readme-secret"})],
        capture_output=True, text=True, check=False, timeout=300)
    assert remove.returncode == 0, remove.stdout[-4000:]
    assert not host.file(f"/srv/{app}").exists and not host.user(app).exists
