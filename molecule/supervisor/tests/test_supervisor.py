"""django_supervisor: the exec/PID contract under Supervisor, logs, secrets, faults."""
import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from helpers import (
    CANARY_SECRET, NO_GUNICORN, TRICKY_ENV, children, cmdline, env_via_http, get, gunicorn_pids, is_gunicorn_master,
    listening, ppid, redeploy, remote_python, wait_until, workers_are_children_of, run_script_has_exec,
    started_by_bash_running_the_run_script, run_playbook,
)

BASE = "http://127.0.0.1:8000"
RUN = "/srv/sample/run"
CONF = "/etc/supervisor/conf.d/sample.conf"
CONVERGE = Path(__file__).resolve().parents[1] / "converge.yml"


def ctl_pid(host, program="sample"):
    return int(host.check_output(f"supervisorctl pid {program}"))


def state(host, program="sample"):
    return host.run(f"supervisorctl status {program}").stdout.split()[1]


def serving(host, wait=30):
    return get(host, BASE, "/healthz", wait=wait) == (200, b"ok")


def running_again(host, wait=30):
    return wait_until(host, "supervisorctl status sample | grep -q RUNNING", wait) and serving(host, wait)


def test_program_is_running(host):
    assert state(host) == "RUNNING"
    assert host.service("supervisor").is_enabled


def test_supervisorctl_pid_is_gunicorns_master(host):
    pid = ctl_pid(host)
    print(f"\nsupervisorctl pid sample: {pid}: {' '.join(cmdline(host, pid))}")
    assert is_gunicorn_master(host, pid)


def test_every_worker_is_a_child_of_the_master(host):
    pid = ctl_pid(host)
    assert workers_are_children_of(host, pid)
    assert len(children(host, pid)) == 2


def test_serves_on_the_bind_address(host):
    assert serving(host, wait=10)
    assert host.check_output(f"ps -o user= -p {ctl_pid(host)}") == "sample"


def test_tricky_env_values_reach_the_running_app(host):
    assert env_via_http(host, BASE, TRICKY_ENV) == TRICKY_ENV
    assert env_via_http(host, BASE, ["SAMPLE_NOT_SECRET"]) == {"SAMPLE_NOT_SECRET": "100% plain"}
    # Supervisor's comment, separator and expansion characters arrive as they were given.
    assert env_via_http(host, BASE, ["SAMPLE_CONFIG_CHARS"]) == {"SAMPLE_CONFIG_CHARS": "a;b#c, D=1 %(there)s"}
    # ... and no variable D was split off it (the app serves SAMPLE_* only: read the master's).
    environ = host.check_output(f"tr '\\0' '\\n' < /proc/{ctl_pid(host)}/environ").splitlines()
    assert not [line for line in environ if line.startswith("D=")], environ


def test_reread_accepts_the_config(host):
    result = host.run("supervisorctl reread")
    assert result.rc == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout


def test_no_secret_under_etc_supervisor_or_in_ps(host):
    assert host.run(f"grep -rqF -- {CANARY_SECRET} /etc/supervisor").rc == 1
    assert CANARY_SECRET not in host.check_output("ps -eo args")
    conf = host.file(CONF).content_string
    assert "environment=" in conf and "DJANGO_SECRET_KEY" not in conf


def test_control_socket_stays_private(host):
    sock = host.file("/var/run/supervisor.sock")
    assert sock.is_socket and sock.mode == 0o700 and sock.user == "root"


def test_log_files_exist_with_rotation_settings(host):
    conf = host.file(CONF).content_string
    for line in ("stdout_logfile=/var/log/supervisor/sample/stdout.log", "stderr_logfile=/var/log/supervisor/sample/stderr.log",
                 "stdout_logfile_maxbytes=32KB", "stderr_logfile_maxbytes=32KB", "stdout_logfile_backups=5",
                 "stderr_logfile_backups=5", "stopasgroup=true", "killasgroup=true", "stopsignal=TERM", "stopwaitsecs=25"):
        assert line in conf.splitlines(), line
    assert host.file("/var/log/supervisor/sample/stderr.log").exists
    assert host.file("/var/log/supervisor/sample/stdout.log").exists
    assert "Booting worker" in host.file("/var/log/supervisor/sample/stderr.log").content_string


def test_logs_are_kept_from_other_accounts(host):
    """supervisord writes the logs 0644: their directory is root's and the app group's only,
    so another account (here a fresh user in no group of the app's) cannot read the access log."""
    logs = host.file("/var/log/supervisor/sample")
    assert (logs.is_directory, logs.user, logs.group, logs.mode) == (True, "root", "sample", 0o750)
    host.check_output("id intruder >/dev/null 2>&1 || useradd --system --no-create-home intruder")
    # The fixture's own check: the intruder reads what any account may read.
    assert host.run("runuser -u intruder -- cat /etc/supervisor/supervisord.conf").rc == 0
    for log in ("stdout.log", "stderr.log"):
        denied = host.run(f"runuser -u intruder -- cat /var/log/supervisor/sample/{log}")
        assert denied.rc != 0 and "Permission denied" in denied.stderr, denied
        assert host.run(f"runuser -u sample -- test -r /var/log/supervisor/sample/{log}").rc == 0
    # No log of the app's is left where every account reads it.
    assert host.run("ls /var/log/supervisor/sample_std* 2>/dev/null").stdout == ""


def test_logs_of_the_earlier_layout_are_moved_into_the_log_directory(host):
    """A host deployed before the log directory: its world-readable <app>_std*.log files go
    into the directory on the next deploy, none left behind, none overwritten."""
    host.check_output(
        "printf 'earlier access line\\n' > /var/log/supervisor/sample_stdout.log.2"
        " && printf 'earlier error line\\n' > /var/log/supervisor/sample_stderr.log"
        " && chmod 0644 /var/log/supervisor/sample_stdout.log.2 /var/log/supervisor/sample_stderr.log"
    )
    assert host.run("ls /var/log/supervisor/sample_std*").rc == 0  # the fixture is in place
    run = redeploy(host, CONVERGE)
    assert run.returncode == 0, run.stdout[-3000:]
    assert host.run("ls /var/log/supervisor/sample_std* 2>/dev/null").stdout == ""
    assert "earlier access line" in host.file("/var/log/supervisor/sample/sample_stdout.log.2").content_string
    assert "earlier error line" in host.file("/var/log/supervisor/sample/sample_stderr.log").content_string


def test_program_runs_with_umask_027_and_no_core_dumps(host):
    """As systemd's UMask=0027: what the app creates is not world-readable; no core file (it
    would hold the secrets) can be written, and the app cannot raise the limit again."""
    pid = ctl_pid(host)
    assert "Umask:\t0027" in host.file(f"/proc/{pid}/status").content_string
    core = [line for line in host.file(f"/proc/{pid}/limits").content_string.splitlines() if line.startswith("Max core file size")]
    assert core and core[0].split()[4:6] == ["0", "0"], core


LOG_MAXBYTES = 32 * 1024  # django_supervisor_log_maxbytes in converge.yml

_WRITE_ACCESS_LOG = r"""
import os, sys, time, urllib.request
url, rotated, marker, max_requests = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
start, sent = time.monotonic(), 0
def rotated_with_marker():
    try:
        with open(rotated, encoding="utf-8", errors="replace") as f:
            return marker in f.read()
    except OSError:
        return False
while sent < max_requests and time.monotonic() - start < 120:
    with urllib.request.urlopen(url, timeout=5) as r:
        r.read()
    sent += 1
    if sent % 25 == 0 and rotated_with_marker():
        break
print(sent, rotated_with_marker())
"""


def test_stdout_log_is_rotated_past_maxbytes_with_owner_and_mode_kept(host):
    """The access log (gunicorn's stdout) written past django_supervisor_log_maxbytes: Supervisor
    rotates it to stdout.log.1, root's and not writable by the app, like the live log."""
    log = "/var/log/supervisor/sample/stdout.log"
    assert f"stdout_logfile_maxbytes={LOG_MAXBYTES // 1024}KB" in host.file(CONF).content_string.splitlines()
    marker = f"rotation-{uuid.uuid4().hex}"
    # An access log line is over 80 bytes: 3 x maxbytes / 80 requests are more than enough.
    result = remote_python(host, _WRITE_ACCESS_LOG, f"{BASE}/healthz?{marker}", f"{log}.1", marker, 3 * LOG_MAXBYTES // 80)
    assert result.rc == 0, result.stderr
    sent, found = result.stdout.split()
    rotated, live = host.file(f"{log}.1"), host.file(log)
    print(f"\n{sent} requests to 127.0.0.1; {log}.1: {rotated.size} bytes {rotated.user}:{rotated.group} "
          f"{oct(rotated.mode)}; {log}: {live.size} bytes {live.user}:{live.group} {oct(live.mode)}")
    assert found == "True", f"no rotated file with this test's requests in it after {sent} requests"
    assert rotated.size >= LOG_MAXBYTES, "rotated when it reached maxbytes, not before"
    assert live.exists and live.size < LOG_MAXBYTES
    assert (rotated.user, rotated.group, rotated.mode) == ("root", "root", 0o644)
    assert (live.user, live.group, live.mode) == ("root", "root", 0o644)
    assert host.run(f"runuser -u sample -- test -w {log}.1").rc != 0, "the app cannot rewrite its rotated log"
    # gunicorn goes on logging into the new file.
    assert serving(host)
    assert wait_until(host, f"grep -q 'GET /healthz' {log}", 10)


def test_hup_keeps_the_master_and_replaces_the_workers(host):
    pid = ctl_pid(host)
    before = children(host, pid)
    host.check_output("supervisorctl signal HUP sample")
    old_gone = " && ".join(f"[ ! -d /proc/{p} ]" for p in before)
    assert wait_until(host, f"{old_gone} && [ $(pgrep -P {pid} | wc -l) -eq 2 ]", 30)
    assert ctl_pid(host) == pid
    assert set(children(host, pid)).isdisjoint(before)
    assert serving(host)


def test_redeploy_with_a_new_env_value_makes_it_live_with_the_same_master(host):
    pid = ctl_pid(host)
    run = redeploy(host, CONVERGE, sample_extra_env={"SAMPLE_RELEASE": "second %s release"})
    assert run.returncode == 0, run.stdout[-3000:]
    assert env_via_http(host, BASE, ["SAMPLE_RELEASE"]) == {"SAMPLE_RELEASE": "second %s release"}
    assert ctl_pid(host) == pid, "an env change must reload, not restart"
    run = redeploy(host, CONVERGE)
    assert run.returncode == 0, run.stdout[-3000:]
    assert env_via_http(host, BASE, ["SAMPLE_RELEASE"]) == {}
    # Removed from the env file: gone from the app (a 404 from the app itself, which answers).
    assert get(host, BASE, "/env/SAMPLE_RELEASE")[0] == 404
    assert get(host, BASE, "/healthz") == (200, b"ok")


def test_program_config_change_restarts_only_this_program(host):
    other, sample = ctl_pid(host, "other"), ctl_pid(host)
    supervisord = int(host.check_output("supervisorctl pid"))
    run = redeploy(host, CONVERGE, sample_log_backups=3)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "stdout_logfile_backups=3" in host.file(CONF).content_string
    assert ctl_pid(host) != sample, "the changed program restarted"
    assert ctl_pid(host, "other") == other, "the other program kept running"
    assert int(host.check_output("supervisorctl pid")) == supervisord, "supervisord itself was not restarted"
    run = redeploy(host, CONVERGE)
    assert run.returncode == 0, run.stdout[-3000:]
    assert ctl_pid(host, "other") == other


def test_stop_leaves_no_gunicorn_and_frees_the_port(host):
    host.check_output("supervisorctl stop sample")
    try:
        assert gunicorn_pids(host) == []
        assert not listening(host, 8000)
    finally:
        host.check_output("supervisorctl start sample")
    assert serving(host)


def test_kill_9_of_the_master_brings_a_new_master_alone(host):
    old = ctl_pid(host)
    old_workers = children(host, old)
    start = time.monotonic()
    host.check_output(f"kill -9 {old}")
    # A liveness bound, not a speed bound: autorestart is immediate; 60 s only catches "never".
    assert wait_until(host, f"p=$(supervisorctl pid sample) && [ \"$p\" != {old} ] && [ \"$p\" != 0 ]", 60), state(host)
    assert serving(host, wait=60)
    elapsed = time.monotonic() - start
    new = ctl_pid(host)
    print(f"\nkill -9 recovery under Supervisor: {elapsed:.2f}s (includes test round trips; printed, not asserted)")
    assert is_gunicorn_master(host, new)
    # The orphaned old workers notice their master is gone and exit within gunicorn's timeout.
    assert wait_until(host, " && ".join(f"[ ! -d /proc/{p} ]" for p in old_workers), 35)
    assert sorted([new] + children(host, new)) == gunicorn_pids(host), "a single master"


def kill_every_gunicorn(host):
    """SIGKILL to each gunicorn process of the app, by PID; bounded wait until none is left."""
    pids = gunicorn_pids(host)
    if pids:
        host.run("kill -KILL " + " ".join(map(str, pids)))
    assert wait_until(host, NO_GUNICORN, 20), gunicorn_pids(host)


@pytest.fixture
def run_script_without_exec(host):
    """Test-only breakage: the run script as the seed had it, without `exec`, and the
    program restarted from it. Asserts the breakage is in place before the test looks."""
    assert run_script_has_exec(host), "the deployed run script must exec gunicorn"
    before = ctl_pid(host)
    host.check_output(f"cp -p {RUN} {RUN}.orig && sed -i 's/^exec //' {RUN}")
    try:
        host.check_output("supervisorctl restart sample")
        assert wait_until(host, "ss -Htln 'sport = :8000' | grep -q .", 30)
        # The breakage is in place: the script has no exec, and Supervisor runs a new process from it.
        assert not run_script_has_exec(host), host.file(RUN).content_string
        now = ctl_pid(host)
        assert now not in (0, before), f"the program did not start again from the changed script (pid {before} -> {now})"
        yield now
    finally:
        host.check_output(f"mv -f {RUN}.orig {RUN}")
        host.run("supervisorctl stop sample")
        kill_every_gunicorn(host)
        host.check_output("supervisorctl start sample")
        assert running_again(host)
        assert is_gunicorn_master(host, ctl_pid(host))


def test_negative_control_without_exec_pid_is_bash_not_gunicorn(host, run_script_without_exec):
    pid = run_script_without_exec
    args = cmdline(host, pid)
    print(f"\nwithout exec: supervisorctl pid sample = {pid}: {' '.join(args[:2])}")
    assert started_by_bash_running_the_run_script(host, pid), args
    assert not is_gunicorn_master(host, pid)
    masters = [p for p in children(host, pid) if is_gunicorn_master(host, p)]
    assert len(masters) == 1, children(host, pid)


def test_negative_control_without_exec_workers_are_not_children_of_the_watched_pid(host, run_script_without_exec):
    pid = run_script_without_exec
    masters = [p for p in children(host, pid) if is_gunicorn_master(host, p)]
    workers = [p for p in gunicorn_pids(host) if p != pid and p not in masters]
    print(f"\nwithout exec: watched PID {pid} -> masters {masters} -> workers {workers}")
    assert len(workers) == 2, workers
    parents = {w: ppid(host, w) for w in workers}
    assert pid not in parents.values(), f"no worker may be a child of the watched PID {pid}: {parents}"
    assert set(parents.values()) == set(masters) and len(masters) == 1, (parents, masters)
    assert not workers_are_children_of(host, pid)


def test_negative_control_without_exec_hup_orphans_gunicorn_and_it_survives_the_stop(host, run_script_without_exec):
    pid = run_script_without_exec
    started = gunicorn_pids(host)
    host.check_output("supervisorctl signal HUP sample")
    # HUP goes to the watched PID alone: bash dies of it, gunicorn's master is left behind.
    assert wait_until(host, f"[ ! -d /proc/{pid} ]", 20), f"the watched PID {pid} survived the HUP"
    host.run("supervisorctl stop sample")
    survivors = [p for p in gunicorn_pids(host) if p in started]
    print(f"\nwithout exec, HUP then stop: watched PID {pid} gone; of gunicorn {started}, still running: {survivors}; "
          f"supervisorctl: {' '.join(host.run('supervisorctl status sample').stdout.split())}")
    assert state(host) == "STOPPED"
    assert sorted(survivors) == sorted(started), "the orphaned master and its workers survive Supervisor's stop"
    assert listening(host, 8000), "and keep the port"


def test_container_restart_brings_the_program_back(host):
    subprocess.run(["docker", "restart", "-t", "30", host.backend.host], check=True, capture_output=True)
    assert wait_until(host, "systemctl is-active -q supervisor && supervisorctl status sample | grep -q RUNNING", 90)
    assert serving(host, wait=60)
    assert is_gunicorn_master(host, ctl_pid(host))


HOST_STATE = (
    "{ getent passwd; getent group; ls -la /etc/supervisor/conf.d /etc/systemd/system /srv; "
    "sha256sum /etc/supervisor/conf.d/*; } | sha256sum"
)


@pytest.mark.parametrize(("name", "fragment"), [
    ("other", "/etc/supervisor/conf.d/other.conf exists and was not written by this collection"),
    ("all", "app_base_name all is reserved under Supervisor"),
    ("www-data", "app_base_user www-data is an existing account that is not this app's"),
])
def test_a_name_the_host_already_uses_is_refused_before_any_change(host, name, fragment):
    """Another program's file (the converge's `other`), supervisorctl's keyword and a system
    account: refused naming what is in the way, the host as it was, `other` still running."""
    assert host.file("/etc/supervisor/conf.d/other.conf").exists  # the fixture's foreign program
    before, other = host.check_output(HOST_STATE), host.check_output("supervisorctl pid other")
    run = run_playbook(host, Path(__file__).resolve().parents[2] / "resources" / "foreign_name.yml",
                       "-e", f"foreign_name={name}", "-e", "foreign_manager=supervisor")
    assert run.returncode != 0, run.stdout[-2000:]
    assert fragment in " ".join((run.stdout + run.stderr).split()), run.stderr[-3000:]
    assert host.check_output(HOST_STATE) == before
    assert host.check_output("supervisorctl pid other") == other


@pytest.mark.parametrize(("extra", "fragment"), [
    ({"django_supervisor_http_server_enabled": True, "django_supervisor_http_server_password": "x",
      "django_supervisor_http_server_username": "ops\n[program:evil]\ncommand=/bin/touch /root/evil\nuser=root"},
     "django_supervisor_http_server_username must be up to 64 letters"),
    ({"django_supervisor_http_server_enabled": True, "django_supervisor_http_server_username": "ops",
      "django_supervisor_http_server_password": "x", "django_supervisor_http_server_bind": "0.0.0.0:9001"},
     'django_supervisor_http_server_bind "0.0.0.0:9001" is not a loopback address'),
    ({"django_supervisor_environment": {"SAMPLE_X": "x ;\n[program:evil]"}}, "django_supervisor_environment: the value of 'SAMPLE_X'"),
    ({"django_supervisor_environment": {"SAMPLE_X": "x #rest"}}, "which Supervisor's config reads as the start of a comment"),
    ({"django_supervisor_environment": {"SAMPLE_X": "%(here)s"}}, "contains %(here)s, which Supervisor replaces"),
])
def test_supervisord_config_injection_and_a_remote_http_server_are_refused(host, extra, fragment):
    """A user name that would end its line and add a program run as root, and Supervisor's
    HTTP server on every interface: refused before any change, the other programs running."""
    before, other = host.check_output(HOST_STATE), host.check_output("supervisorctl pid other")
    run = run_playbook(host, Path(__file__).resolve().parents[2] / "resources" / "foreign_name.yml",
                       "-e", "foreign_name=injected", "-e", "foreign_manager=supervisor", "-e", json.dumps(extra))
    assert run.returncode != 0, run.stdout[-2000:]
    assert fragment in " ".join((run.stdout + run.stderr).split()), run.stderr[-3000:]
    assert host.check_output(HOST_STATE) == before
    assert not host.file("/root/evil").exists
    assert host.check_output("supervisorctl pid other") == other
