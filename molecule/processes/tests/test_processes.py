"""The app's other processes (app_base_processes), proven from outside: the manager's PID is
the command's own process, a Celery task enqueued by the web app completes, a task running
at a redeploy finishes and the worker then runs the new code, kill -9 leaves no orphan, beat
and a looping manage.py command advance, a scheduled command runs on time and never twice at
once, removal leaves nothing. Under Supervisor (Debian 12) and systemd (Debian 13)."""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from helpers import children, cmdline, get, ppid, run_playbook, wait_until

SCENARIO = Path(__file__).resolve().parents[1]
PROJECT = SCENARIO.parents[1]
ROOT = "/srv/tasks"
VAR = f"{ROOT}/var"
BASE = "http://127.0.0.1:8000"
# What each long-running process's main PID must run: the program, not bash.
PROGRAMS = {
    "worker": lambda argv: argv[1].endswith("/bin/celery") and "worker" in argv,
    "beat": lambda argv: argv[1].endswith("/bin/celery") and "beat" in argv,
    "heartbeat": lambda argv: argv[1:3] == ["manage.py", "heartbeat"],
}


def supervised(host):
    return host.backend.host.startswith("processes-supervisor")


def main_pid(host, name):
    """The PID the manager watches for the process (0: none)."""
    if supervised(host):
        return int(host.run(f"supervisorctl pid tasks:tasks-{name}").stdout.strip() or 0)
    return int(host.check_output(f"systemctl show -p MainPID --value tasks-{name}.service"))


def manager_pid(host):
    return int(host.check_output("supervisorctl pid")) if supervised(host) else 1


def manager(host, action, name):
    if supervised(host):
        return host.run(f"supervisorctl {action} tasks:tasks-{name}")
    return host.run(f"systemctl {action} tasks-{name}.service")


def wait_for_new_main(host, name, old, seconds=60):
    """The process's main PID once it is another than `old` and running (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pid = main_pid(host, name)
        if pid and pid != old and len(cmdline(host, pid)) > 2:
            return pid
        time.sleep(0.5)
    raise AssertionError(f"{name}: no new main process within {seconds}s (still {old})")


def task(host, seconds):
    status, body = get(host, BASE, f"/enqueue/{seconds}", wait=10)
    assert status == 200, body
    return body.decode()


def result_state(host, task_id, state, seconds):
    """True once the task is in `state` (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, body = get(host, BASE, f"/result/{task_id}", wait=5)
        if status == 200 and json.loads(body)["state"] == state:
            return True
        time.sleep(0.2)
    return False


def result(host, task_id, seconds):
    """The task's result once it has one (bounded): {"state": ..., "result": ...}."""
    deadline = time.monotonic() + seconds
    while True:
        status, body = get(host, BASE, f"/result/{task_id}", wait=5)
        found = json.loads(body) if status == 200 else {"state": f"HTTP {status}"}
        if found["state"] in ("SUCCESS", "FAILURE") or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_the_managers_pid_is_the_commands_own_process(host, name):
    pid = main_pid(host, name)
    argv = cmdline(host, pid)
    assert pid > 0
    assert not argv[0].endswith("sh"), argv
    assert PROGRAMS[name](argv), argv
    assert ppid(host, pid) == manager_pid(host)
    assert host.check_output(f"ps -o user= -p {pid}") == "tasks"


def test_the_workers_pool_processes_are_its_children(host):
    pid = main_pid(host, "worker")
    pool = children(host, pid)
    assert len(pool) >= 2, pool
    assert all(cmdline(host, child)[1].endswith("/bin/celery") for child in pool)


def test_the_processes_read_the_apps_env_file(host):
    pid = main_pid(host, "worker")
    environ = host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ")
    assert "DJANGO_SECRET_KEY=processes-canary-secret-Kd7" in environ.splitlines()
    assert "processes-canary-secret-Kd7" not in host.check_output("ps -eo args")


@pytest.mark.parametrize("unit", ["tasks-worker.service", "tasks-beat.service", "tasks-heartbeat.service", "tasks-stamp.service"])
def test_the_processes_have_the_web_units_sandbox(host, unit):
    if supervised(host):
        # Under Supervisor only the scheduled process is a unit (a timer's), sandboxed too.
        if unit != "tasks-stamp.service":
            assert not host.file(f"/etc/systemd/system/{unit}").exists
            pytest.skip(f"under Supervisor {unit} is a program, not a unit (and there is none)")
    line = host.check_output(f"systemd-analyze security {unit} | tail -n 1")
    score = float(line.split("exposure level for")[1].split(":")[1].split()[0])
    print(f"\n{unit}: {line}")
    assert score <= 2.0, line


def test_supervisors_process_logs_are_the_apps_alone(host):
    if not supervised(host):
        assert host.run("journalctl -u tasks-worker.service -o cat | grep -c 'celery@'").stdout.strip() != "0"
        pytest.skip("under systemd the processes log to the journal (its lines are there)")
    logs = host.file("/var/log/supervisor/tasks")
    assert (logs.user, logs.group, logs.mode) == ("root", "tasks", 0o750)
    assert "celery@" in host.file("/var/log/supervisor/tasks/worker.stderr.log").content_string
    assert host.file("/var/log/supervisor/tasks/stamp.log").exists
    assert host.run("runuser -u nobody -- cat /var/log/supervisor/tasks/worker.stderr.log").rc != 0


def test_a_task_enqueued_from_the_web_completes(host):
    found = result(host, task(host, 0), 30)
    assert found["state"] == "SUCCESS", found
    assert found["result"]["pid"] in children(host, main_pid(host, "worker"))


def test_beat_and_the_looping_command_advance(host):
    def beat_runs():
        return int(host.run(f"wc -l < {VAR}/beat.log").stdout.strip() or 0)

    def heartbeat():
        return host.run(f"cat {VAR}/heartbeat").stdout

    runs, beat = beat_runs(), heartbeat()
    assert wait_until(host, f"[ $(wc -l < {VAR}/beat.log) -ge {runs + 2} ]", 20), "beat's marker did not advance"
    assert heartbeat() != beat


def test_the_scheduled_command_runs_on_time_and_never_twice_at_once(host):
    """Every 5 seconds, and each run takes 7: a run may start only after the one before has
    ended. systemd keeps the elapse that came during a run and starts the next run when it
    ends: each run starts on a 5-second mark, or right after the run before it."""
    assert wait_until(host, f"[ $(grep -c ^end {VAR}/stamp.log) -ge 3 ]", 40), host.run(f"cat {VAR}/stamp.log").stdout
    runs = []
    for line in host.file(f"{VAR}/stamp.log").content_string.splitlines():
        kind, at, pid = line.split()
        if kind == "start":
            assert not runs or runs[-1][1] is not None, f"a run started while run {runs[-1][2]} went on: {line}"
            runs.append([float(at), None, pid])
        else:
            assert runs[-1][2] == pid and runs[-1][1] is None, line
            runs[-1][1] = float(at)
    done = [r for r in runs if r[1] is not None]
    for before, after in zip(done, done[1:]):
        assert after[0] >= before[1]
        # A start is the process's own (the kernel's start time: not Python's load time), within
        # 2 s of either: the timer's AccuracySec=1s, or the queued elapse taken up at the run's end.
        on_mark = after[0] % 5 < 2.0
        queued = after[0] - before[1] < 2.0
        assert on_mark or queued, f"a run started at {after[0]:.3f}: neither on its mark nor after the run before ({before[1]:.3f})"
    print(f"\nscheduled runs: {len(done)}, gaps after the run before: {[round(b[0] - a[1], 2) for a, b in zip(done, done[1:])]} s")


def test_kill_9_of_the_worker_leaves_no_orphan_and_it_comes_back(host):
    pid = main_pid(host, "worker")
    pool = children(host, pid)
    assert pool
    host.run(f"kill -9 {pid}")
    new = wait_for_new_main(host, "worker", pid)
    gone = " && ".join(f"! [ -e /proc/{child} ]" for child in pool)
    assert wait_until(host, gone, 10), f"pool processes {pool} outlived their worker"
    assert PROGRAMS["worker"](cmdline(host, new))
    assert wait_until(host, f"[ $(pgrep -c -P {new}) -ge 2 ]", 30)
    assert result(host, task(host, 0), 30)["state"] == "SUCCESS"


def test_stop_leaves_no_process_of_the_worker(host):
    assert manager(host, "stop", "worker").rc == 0
    try:
        assert host.run("pgrep -u tasks -f '[c]elery -A project worker'").stdout.strip() == ""
    finally:
        assert manager(host, "start", "worker").rc == 0
    assert wait_until(host, "pgrep -u tasks -f '[c]elery -A project worker' >/dev/null", 30)


def test_a_task_running_at_a_redeploy_finishes_and_the_worker_then_runs_the_new_code(host, tmp_path):
    """A task is enqueued the moment the deploy switches `current`; it runs until the worker
    gets its stop signal (later in the deploy), then 3 s more: the worker's warm shutdown must
    wait for it, the task succeed on the old code, and the new worker run the new code."""
    src = tmp_path / "worker_app"
    shutil.copytree(PROJECT / "tests/worker_app", src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "VERSION").write_text("v2\n")
    worker = main_pid(host, "worker")
    before = host.check_output(f"readlink {ROOT}/current")
    host.run(f"rm -f {VAR}/worker-shutdown.log")
    started = time.monotonic()
    deploy = subprocess.Popen(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", host.backend.host,
         str(SCENARIO / "converge.yml"), "-e", json.dumps({"app_base_src": str(src)})],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_until(host, f"[ \"$(readlink {ROOT}/current)\" != {before} ]", 300), "the deploy never switched"
        status, body = get(host, BASE, "/enqueue-until-stop/300", wait=10)
        assert status == 200, body
        running = body.decode()
        assert result_state(host, running, "STARTED", 10), "the old worker did not start the task"
    finally:
        out = deploy.communicate(timeout=600)[0]
    deploy_seconds = time.monotonic() - started
    assert deploy.returncode == 0, out[-3000:]
    old = result(host, running, 30)
    assert old["state"] == "SUCCESS", f"the task running at the redeploy was lost: {old}"
    assert old["result"]["version"] == "v1"
    assert old["result"]["saw_stop"], "the worker was not stopped while the task ran"
    (shutdown_at, _sig, how) = host.file(f"{VAR}/worker-shutdown.log").content_string.split()[:3]
    assert how == "Warm" and float(shutdown_at) < old["result"]["finished"], "the stop did not come while the task ran"
    new_worker = main_pid(host, "worker")
    assert new_worker != worker
    assert result(host, task(host, 0), 30)["result"]["version"] == "v2"
    assert host.file(f"{VAR}/heartbeat").content_string.split()[1] == "v2"
    # When the new worker started (the kernel's boot-relative start time, as a wall time).
    probe = host.check_output(f"cat /proc/uptime /proc/{new_worker}/stat; getconf CLK_TCK; date +%s.%N").splitlines()
    uptime, ticks, now = float(probe[0].split()[0]), int(probe[2]), float(probe[3])
    new_start = now - uptime + int(probe[1].rsplit(")", 1)[1].split()[19]) / ticks
    print(f"\nredeploy with a task running: deploy {deploy_seconds:.1f} s; tasks lost: 0; the stop waited "
          f"{old['result']['finished'] - float(shutdown_at):.1f} s for the task (warm shutdown); worker restart "
          f"{new_start - float(shutdown_at):.1f} s from the stop signal to the new worker, "
          f"{new_start - old['result']['finished']:.1f} s after the task's end")


def test_a_release_whose_worker_cannot_start_is_rolled_back(host, tmp_path):
    """The web app of the new release serves, but its Celery app fails at import: the
    processes' proof fails, the previous release serves again and the worker runs it."""
    src = tmp_path / "broken_worker"
    shutil.copytree(PROJECT / "tests/worker_app", src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "VERSION").write_text("broken\n")
    (src / "jobs/tasks.py").write_text((src / "jobs/tasks.py").read_text()
                                       + "\nimport sys\nif 'worker' in sys.argv:\n    raise SystemExit('broken on purpose')\n")
    before = host.check_output(f"readlink {ROOT}/current")
    served = get(host, BASE, "/version", wait=10)
    assert served[0] == 200, served
    run = run_playbook(host, SCENARIO / "converge.yml", "-e", json.dumps({"app_base_src": str(src)}))
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    assert "tasks-worker" in out and "rolled back" in out, out[-3000:]
    assert host.check_output(f"readlink {ROOT}/current") == before
    worker = main_pid(host, "worker")
    assert PROGRAMS["worker"](cmdline(host, worker))
    assert result(host, task(host, 0), 60)["state"] == "SUCCESS"
    assert get(host, BASE, "/version", wait=10) == served


def test_a_process_name_that_is_another_programs_or_units_is_refused(host):
    """tasks + process "web" would be tasks-web: the name of a program or unit this collection
    did not write (under Supervisor a section of the same name in any conf.d file merges).
    Once per manager: a Supervisor program on Debian 12, a systemd unit on Debian 13."""
    if supervised(host):
        host.run("printf '[program:tasks-web]\\ncommand=/bin/sleep 1000\\n' > /etc/supervisor/conf.d/tasks-web.conf"
                 " && supervisorctl update tasks-web")
        foreign = "[program:tasks-web] in /etc/supervisor/conf.d/tasks-web.conf"
    else:
        host.run("printf '[Service]\\nExecStart=/bin/sleep 1000\\n' > /etc/systemd/system/tasks-web.service"
                 " && systemctl daemon-reload && systemctl start tasks-web.service")
        foreign = "/etc/systemd/system/tasks-web.service"
    pid = host.check_output("pgrep -f '[s]leep 1000'")
    snapshot = "sha256sum /etc/supervisor/conf.d/*.conf /etc/systemd/system/tasks* 2>/dev/null; ls /srv/tasks/processes"
    state = host.check_output(snapshot)
    try:
        processes = [{"name": "web", "command": "manage.py heartbeat"}]
        run = run_playbook(host, SCENARIO / "converge.yml", "-e", json.dumps({"app_base_processes": processes}))
        assert run.returncode != 0
        out = run.stdout + run.stderr
        assert foreign in out and "was not written by this collection" in out, out[-2000:]
        assert host.check_output(snapshot) == state
        assert host.check_output("pgrep -f '[s]leep 1000'") == pid
    finally:
        host.run("supervisorctl stop tasks-web; rm -f /etc/supervisor/conf.d/tasks-web.conf; supervisorctl update tasks-web"
                 if supervised(host) else
                 "systemctl stop tasks-web.service; rm -f /etc/systemd/system/tasks-web.service; systemctl daemon-reload")


def test_a_process_run_script_without_exec_fails_the_pid_and_orphan_checks(host):
    """Negative control: the run script with `exec` removed. The fixture first proves the
    breakage is in place, then the checks this file makes see it. A rerun mends it (the role
    writes the script back and restarts that process, under either manager)."""
    script = f"{ROOT}/processes/heartbeat"
    host.check_output(f"cp -p {script} /root/heartbeat.role && sed -i 's/^exec //' {script}")
    try:
        assert "\nexec " not in host.file(script).content_string
        old = main_pid(host, "heartbeat")
        manager(host, "restart", "heartbeat")
        pid = wait_for_new_main(host, "heartbeat", old)
        argv = cmdline(host, pid)
        assert argv[0].endswith("bash") and not PROGRAMS["heartbeat"](argv), argv
        program = children(host, pid)
        assert len(program) == 1 and PROGRAMS["heartbeat"](cmdline(host, program[0]))
        if supervised(host):
            # Supervisor watches the shell: kill -9 of it leaves the program running, an orphan.
            host.run(f"kill -9 {pid}")
            time.sleep(2)
            assert host.file(f"/proc/{program[0]}").exists and ppid(host, program[0]) != pid
            host.run(f"kill -9 {program[0]}")
        else:
            # systemd's TERM reaches the shell, not the program, which is killed without a
            # graceful stop (it writes heartbeat.stopped on TERM).
            host.run(f"rm -f {VAR}/heartbeat.stopped")
            manager(host, "stop", "heartbeat")
            assert not host.file(f"{VAR}/heartbeat.stopped").exists
        run = run_playbook(host, SCENARIO / "converge.yml")
        assert run.returncode == 0, run.stdout[-3000:]
        assert host.file(script).content_string == host.file("/root/heartbeat.role").content_string
        assert PROGRAMS["heartbeat"](cmdline(host, main_pid(host, "heartbeat")))
    finally:
        # Whatever failed above, the next tests get the role's script back, and no program the
        # broken script started outlives this test: under Supervisor, the restart of the mend
        # sent its stop signal to the shell alone, and the program it had started lives on
        # until something kills it (the removal test would find it).
        host.run(f"cmp -s /root/heartbeat.role {script} || cp -p /root/heartbeat.role {script}; rm -f /root/heartbeat.role")
        # (host.run, which never raises: a failure above stays the one reported.)
        serving = ("supervisorctl pid tasks:tasks-heartbeat" if supervised(host)
                   else "systemctl show -p MainPID --value tasks-heartbeat.service")
        host.run(f"s=$({serving}); for p in $(pgrep -u tasks -f '[m]anage.py heartbeat'); do [ $p = \"$s\" ] || kill -9 $p; done")


def test_with_exec_a_stop_reaches_the_program(host):
    """The positive counterpart of the control above: the program itself gets the TERM."""
    host.run(f"rm -f {VAR}/heartbeat.stopped")
    assert manager(host, "stop", "heartbeat").rc == 0
    try:
        assert host.file(f"{VAR}/heartbeat.stopped").exists
    finally:
        manager(host, "start", "heartbeat")


def test_removal_leaves_nothing(host):
    run = run_playbook(host, PROJECT / "playbooks/remove.yml")
    assert run.returncode == 0, run.stdout[-3000:]
    assert host.run("ps -eo user=,args= | grep -E '[c]elery|[m]anage.py'").stdout.strip() == ""
    assert host.run("ls /etc/systemd/system | grep '^tasks'").stdout.strip() == ""
    assert host.run("systemctl list-timers --all --no-legend | grep tasks-").stdout.strip() == ""
    assert not host.file("/etc/supervisor/conf.d/tasks.conf").exists
    assert not host.file(ROOT).exists
    assert not host.user("tasks").exists
