"""Many apps per host through djangoops.services.deploy, with mixed managers; removal."""
import json
import os
import re
import subprocess
import time
from pathlib import Path

from helpers import env_via_http, get, gunicorn_pids, is_gunicorn_master, run_playbook

SAMPLE_APP = Path(__file__).resolve().parents[3] / "tests" / "sample_app"

PORTS = {"alpha": 8101, "beta": 8102, "gamma": 8103}
# Three more apps, deployed and removed by a test.
EXTRA = [
    {"app_base_name": name, "djangoops_manager": manager, "app_base_src": str(SAMPLE_APP),
     "app_base_gunicorn_bind": f"127.0.0.1:{port}", "django_systemd_health_path": "/healthz",
     "django_supervisor_health_path": "/healthz",
     "app_base_env": {"DJANGO_SECRET_KEY": f"{name}-secret", "DJANGO_DB_PATH": f"/srv/{name}/var/db.sqlite3"}}
    # Two under Supervisor in one run: the second once met a role variable overwritten by
    # the first one's registered result.
    for name, manager, port in (("delta", "systemd", 8104), ("epsilon", "supervisor", 8105), ("zeta", "supervisor", 8106))
]


def masters(host):
    """{app: [PIDs of its gunicorn masters]}: processes whose parent is not gunicorn."""
    found = {}
    for app in PORTS:
        pids = gunicorn_pids(host, app) if host.user(app).exists else []
        found[app] = [p for p in pids if int(host.check_output(f"ps -o ppid= -p {p}")) not in pids]
    return found


def supervisor_pid(host, app):
    return int(host.check_output(f"supervisorctl pid {app}"))


def test_each_app_serves_on_its_port_as_its_own_user(host):
    for app, port in PORTS.items():
        assert get(host, f"http://127.0.0.1:{port}", "/healthz", wait=20) == (200, b"ok"), app
        assert env_via_http(host, f"http://127.0.0.1:{port}", ["SAMPLE_APP"]) == {"SAMPLE_APP": app}
        (master,) = masters(host)[app]
        assert host.check_output(f"ps -o user= -p {master}") == app
        assert is_gunicorn_master(host, master)


def test_managers_are_as_configured(host):
    assert host.service("alpha").is_running and host.service("gamma").is_running
    assert not host.file("/etc/systemd/system/beta.service").exists
    assert "RUNNING" in host.check_output("supervisorctl status beta")
    assert masters(host)["beta"] == [supervisor_pid(host, "beta")]


def test_apps_are_isolated_from_each_other(host):
    for app in PORTS:
        for other in PORTS:
            if other != app:
                assert host.run(f"runuser -u {other} -- cat /srv/{app}/.env").rc != 0, (other, app)
                assert host.run(f"runuser -u {other} -- ls /srv/{app}").rc != 0, (other, app)


def test_no_app_reads_or_signals_anothers_data_logs_or_processes(host):
    """Each app's account against every other app: its .env and var/, its logs (Supervisor's
    files, the journal), its master's environment, a signal to its master. The app itself
    (and root, for the journal) can: the fixture proves each thing is there to be read."""
    found = masters(host)
    for app in PORTS:
        (master,) = found[app]
        own = f"runuser -u {app} --"
        assert host.run(f"{own} cat /srv/{app}/.env").rc == 0 and host.run(f"{own} ls /srv/{app}/var").rc == 0
        logs = (f"cat /var/log/supervisor/{app}/stderr.log" if app == "beta"
                else f"journalctl -u {app}.service -o cat --no-pager")
        assert "Listening at" in host.check_output(logs), app
        for other in PORTS:
            if other == app:
                continue
            as_other = f"runuser -u {other} --"
            for attempt in (f"cat /srv/{app}/.env", f"ls /srv/{app}/var", f"cat /proc/{master}/environ", f"kill -0 {master}"):
                assert host.run(f"{as_other} {attempt}").rc != 0, (other, attempt)
            assert "Listening at" not in host.run(f"{as_other} {logs}").stdout, (other, logs)


def release_of(host, app):
    """The directory of the release that serves app (current resolved)."""
    return host.check_output(f"readlink -f /srv/{app}/current")


def test_each_code_source_lands_as_the_role_says(host):
    for app in PORTS:
        release = release_of(host, app)
        assert release.startswith(f"/srv/{app}/releases/"), (app, release)
        # A release is the code alone: never a VCS directory, whatever the source.
        assert host.file(f"{release}/project/settings.py").exists, app
        assert not host.file(f"{release}/.git").exists, app
        assert host.run(f"find /srv/{app}/releases -name .git").stdout == "", app
        # Git's working copy and downloaded archives are root's alone.
        source = host.file(f"/srv/{app}/.source")
        assert (source.user, source.group, source.mode) == ("root", "root", 0o700), app
        assert host.run(f"runuser -u {app} -- ls /srv/{app}/.source").rc != 0, app
    # alpha: the controller directory, beta: the archive, files root:<group> 0640 either way.
    for app in ("alpha", "beta"):
        settings = host.file(f"{release_of(host, app)}/project/settings.py")
        assert (settings.user, settings.group, settings.mode) == ("root", app, 0o640), app
    # beta's archive is kept under .source, root's.
    archive = host.file("/srv/beta/.source/sample_app.tar.gz")
    assert archive.exists and (archive.user, archive.mode) == ("root", 0o600)
    # gamma: `git archive` of the repository's HEAD; root's working copy is at that commit.
    head = host.check_output("git -C /opt/sample-git rev-parse HEAD")
    assert release_of(host, "gamma").endswith("-" + head[:12])
    assert host.check_output("git -C /srv/gamma/.source/repo rev-parse HEAD") == head
    assert host.file(f"{release_of(host, 'gamma')}/VERSION").content_string == \
        host.file("/opt/sample-git/VERSION").content_string
    assert host.file("/srv/gamma/var").user == "gamma"


def test_apps_that_install_the_same_each_get_a_venv_of_their_own(host):
    # The same inputs (python, requirements, packages) name the same digest, but each app
    # builds its own venv under its own root: no app runs or names another app's files.
    venvs = {app: host.check_output(f"readlink /srv/{app}/current/venv") for app in PORTS}
    for app, venv in venvs.items():
        assert re.fullmatch(rf"/srv/{app}/venvs/[0-9a-f]{{16}}", venv), (app, venv)
        assert host.file(f"{venv}/bin/python").exists, app
    assert len({venv.rsplit("/", 1)[1] for venv in venvs.values()}) == 1, venvs
    stamps = {app: host.file(f"{venv}/.djangoops-stamp") for app, venv in venvs.items()}
    assert stamps["beta"].content == stamps["alpha"].content == stamps["gamma"].content
    # Three directories, not one shared (a link or a bind would be one inode).
    inodes = {host.check_output(f"stat -L -c %d:%i {venv}") for venv in venvs.values()}
    assert len(inodes) == 3, inodes
    # Each master runs its own app's interpreter and gunicorn.
    for app in PORTS:
        (master,) = masters(host)[app]
        argv = host.file(f"/proc/{master}/cmdline").content.split(b"\0")
        assert argv[0] == f"{venvs[app]}/bin/python".encode(), argv
        assert argv[1] == f"/srv/{app}/current/venv/bin/gunicorn".encode(), argv
    # A venv that named another app's path (a copy, a shebang, a .pth) would run that app's files.
    for app in PORTS:
        others = [f"-e /srv/{other}/" for other in PORTS if other != app]
        named = host.run(f"grep -rlI --exclude=*.pyc {' '.join(others)} /srv/{app}/venvs")
        assert named.rc == 1 and named.stdout == "", (app, named.stdout)
        own = host.run(f"grep -rlI --exclude=*.pyc -e /srv/{app}/ /srv/{app}/venvs")
        assert own.rc == 0 and own.stdout, app  # the grep can find a path: the check above can fail


def test_a_new_commit_is_deployed_with_a_graceful_reload_of_that_app_only(host):
    before = masters(host)
    releases_before = {app: release_of(host, app) for app in ("alpha", "beta")}
    assert get(host, "http://127.0.0.1:8103", "/version") == (200, b"1")
    host.check_output(
        "cd /opt/sample-git && echo 2 > VERSION && "
        "git -c user.name=molecule -c user.email=molecule@localhost commit -q -am two"
    )
    run = run_playbook(host, "djangoops.services.deploy")
    assert run.returncode == 0, run.stdout[-3000:]
    # The old workers finish their requests after the HUP: a bounded wait for the new ones.
    for _attempt in range(40):
        if get(host, "http://127.0.0.1:8103", "/version", wait=5) == (200, b"2"):
            break
        time.sleep(0.5)
    assert get(host, "http://127.0.0.1:8103", "/version") == (200, b"2")
    assert get(host, "http://127.0.0.1:8101", "/version") == (200, b"1")
    # gamma serves a new release of the new commit; the other apps' releases did not change.
    head = host.check_output("git -C /opt/sample-git rev-parse HEAD")
    assert release_of(host, "gamma").endswith("-" + head[:12])
    assert {app: release_of(host, app) for app in ("alpha", "beta")} == releases_before
    # A reload (HUP) for gamma: the same master; the other apps untouched.
    assert masters(host) == before


def test_the_further_apps_are_deployed_at_once_as_entries_of_their_host(host):
    # Each further app has its own inventory entry "<host>/<app>", which a limit must match.
    name = host.backend.host
    run = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", f"{name}*",
         "djangoops.services.deploy", "--check"],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    recap = run.stdout.split("PLAY RECAP")[-1]
    for entry in (f"{name}/beta", f"{name}/gamma"):
        assert entry in recap, recap
    assert f"{name}/alpha" not in recap
    assert "--limit left out the entries" not in " ".join(run.stdout.split())
    assert all(int(n) == 0 for n in re.findall(r"changed=(\d+)", recap)), recap


def test_apps_a_limit_leaves_out_of_parallel_are_deployed_one_after_the_other(host):
    # "--limit <host>" does not match "<host>/beta": deploying nothing for beta would be silent.
    run = run_playbook(host, "djangoops.services.deploy", "--check", "-v")
    assert run.returncode == 0, run.stdout[-3000:]
    name = host.backend.host
    # The callback may fold the message over lines.
    assert f"--limit left out the entries {name}/beta, {name}/gamma;" in " ".join(run.stdout.split())
    recap = run.stdout.split("PLAY RECAP")[-1]
    assert f"{name}/beta" not in recap
    for app in ("beta", "gamma"):
        assert f"deploy_app.yml for {name} => (item={app})" in run.stdout, app
    assert all(int(n) == 0 for n in re.findall(r"changed=(\d+)", recap)), recap


def test_parallel_apps_with_a_rollout_in_batches_is_refused_before_any_change(host):
    extra = {"djangoops_serial": 1, "djangoops_apps": [dict(EXTRA[0])]}
    run = run_playbook(host, "djangoops.services.deploy", "-e", json.dumps(extra))
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "djangoops_parallel_apps=true cannot be combined with djangoops_serial" in output
    assert not host.user("delta").exists and not host.file("/srv/delta").exists


def test_two_apps_with_one_name_are_refused_before_any_change(host):
    extra = {"djangoops_apps": [dict(EXTRA[0]), dict(EXTRA[1], app_base_name="delta")]}
    run = run_playbook(host, "djangoops.services.deploy", "-e", json.dumps(extra))
    assert run.returncode != 0
    assert "djangoops_apps: each app needs its own app_base_name" in run.stdout + run.stderr
    assert not host.user("delta").exists and not host.file("/srv/delta").exists


def test_apps_one_after_the_other_leave_the_running_apps_alone(host):
    before = masters(host)
    extra = {"djangoops_parallel_apps": False, "djangoops_apps": EXTRA}
    run = run_playbook(host, "djangoops.services.deploy", "-e", json.dumps(extra))
    try:
        assert run.returncode == 0, run.stdout[-3000:]
        assert not any(f"{host.backend.host}/{app['app_base_name']}" in run.stdout for app in EXTRA)  # no entries
        for app in EXTRA:
            port = app["app_base_gunicorn_bind"].rsplit(":", 1)[1]
            assert get(host, f"http://127.0.0.1:{port}", "/healthz", wait=20) == (200, b"ok"), app["app_base_name"]
        assert "RUNNING" in host.check_output("supervisorctl status epsilon")
        assert "RUNNING" in host.check_output("supervisorctl status zeta")
        assert masters(host) == before
    finally:
        removed = run_playbook(host, "djangoops.services.remove", "-e", json.dumps({"djangoops_apps": EXTRA}))
        assert removed.returncode == 0, removed.stdout[-3000:]
    assert not any(host.user(name).exists for name in ("delta", "epsilon", "zeta"))


def test_removing_one_app_leaves_the_others_running_with_the_same_pids(host):
    before = masters(host)
    run = run_playbook(host, "djangoops.services.remove", "-e", json.dumps({"djangoops_remove": ["gamma"]}))
    assert run.returncode == 0, run.stdout[-3000:]
    assert not host.file("/etc/systemd/system/gamma.service").exists
    assert not host.file("/srv/gamma").exists
    assert not host.user("gamma").exists
    assert gunicorn_pids(host, None) and all(p not in gunicorn_pids(host, None) for p in before["gamma"])
    after = masters(host)
    assert (after["alpha"], after["beta"]) == (before["alpha"], before["beta"])
    for app in ("alpha", "beta"):
        assert get(host, f"http://127.0.0.1:{PORTS[app]}", "/healthz") == (200, b"ok")
