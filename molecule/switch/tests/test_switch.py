"""Switching managers in one run: the old program or unit is gone, one master serves, and
the app's processes (a long-running one, a scheduled one) go along."""
import json

from helpers import get, gunicorn_pids, is_gunicorn_master, main_pid, run_playbook

BASE = "http://127.0.0.1:8000"


def masters(host):
    """The app's gunicorn masters: its gunicorn processes whose parent is not gunicorn."""
    pids = gunicorn_pids(host)
    return [p for p in pids if int(host.check_output(f"ps -o ppid= -p {p}")) not in pids]


def under_supervisor(host):
    conf = host.file("/etc/supervisor/conf.d/sample.conf").exists
    status = host.run("supervisorctl status sample:sample")
    return conf, "RUNNING" in status.stdout


def loop_pids(host):
    """The long-running process's own processes (python -m http.server), wherever they run."""
    return sorted(int(p) for p in host.run("pgrep -f '[h]ttp.server 8100'").stdout.split())


def processes_under(host, manager):
    """The loop runs once, as its manager's PID; the tick's timer is there under either manager."""
    (pid,) = loop_pids(host)
    if manager == "supervisor":
        assert pid == int(host.check_output("supervisorctl pid sample:sample-loop"))
        assert not host.file("/etc/systemd/system/sample-loop.service").exists
    else:
        assert pid == main_pid(host, "sample-loop.service")
        assert "sample-loop" not in host.run("supervisorctl status").stdout
    assert host.run("systemctl is-active sample-tick.timer").stdout.strip() == "active"


def deploy(host, manager):
    run = run_playbook(host, "djangoops.services.deploy", "-e", json.dumps({"djangoops_manager": manager}))
    assert run.returncode == 0, run.stdout[-3000:]
    return run.stdout


def test_converge_left_the_app_under_supervisor(host):
    assert under_supervisor(host) == (True, True)
    assert not host.file("/etc/systemd/system/sample.service").exists
    assert masters(host) == [int(host.check_output("supervisorctl pid sample:sample"))]
    processes_under(host, "supervisor")


def test_supervisor_to_systemd_in_one_run(host):
    old = masters(host)
    deploy(host, "systemd")
    assert under_supervisor(host) == (False, False)
    assert "sample" not in host.run("supervisorctl status").stdout
    service = host.service("sample")
    assert service.is_running and service.is_enabled
    (master,) = masters(host)
    assert master == main_pid(host, "sample.service") and master not in old
    assert is_gunicorn_master(host, master)
    assert get(host, BASE, "/healthz", wait=10) == (200, b"ok")
    processes_under(host, "systemd")


def test_systemd_to_supervisor_in_one_run(host):
    old = masters(host)
    deploy(host, "supervisor")
    assert not host.file("/etc/systemd/system/sample.service").exists
    assert host.run("systemctl is-active sample.service").stdout.strip() != "active"
    assert under_supervisor(host) == (True, True)
    (master,) = masters(host)
    assert master == int(host.check_output("supervisorctl pid sample:sample")) and master not in old
    assert is_gunicorn_master(host, master)
    assert get(host, BASE, "/healthz", wait=10) == (200, b"ok")
    processes_under(host, "supervisor")


def test_switching_again_to_the_same_manager_changes_nothing(host):
    out = deploy(host, "supervisor")
    assert "changed=0" in out.split("PLAY RECAP")[-1], out[-2000:]
