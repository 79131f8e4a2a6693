"""Many apps per host through djangoops.services.deploy, with mixed managers; removal."""
import json

from helpers import env_via_http, get, gunicorn_pids, is_gunicorn_master, run_playbook

PORTS = {"alpha": 8101, "beta": 8102, "gamma": 8103}


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
