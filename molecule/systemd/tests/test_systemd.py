"""django_systemd: the exec/PID contract, port 80 as non-root, hardening, faults."""
import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from helpers import (
    CANARY_SECRET, TRICKY_ENV, cap_mask, children, cmdline, env_via_http, get, gunicorn_pids,
    is_gunicorn_master, listening, LoadInBackground, main_pid, ppid, redeploy, unit_state, wait_until, workers_are_children_of, run_script_has_exec,
    started_by_bash_running_the_run_script, run_playbook,
)

UNIT = "sample.service"
BASE = "http://127.0.0.1:80"
RUN = "/srv/sample/run"
CONVERGE = Path(__file__).resolve().parents[1] / "converge.yml"
CAP_NET_BIND_SERVICE = 1 << 10


def restart(host, unit=UNIT):
    host.run(f"systemctl reset-failed {unit}")
    host.check_output(f"systemctl restart {unit}")


def serving(host, wait=30):
    return get(host, BASE, "/healthz", wait=wait) == (200, b"ok")


def test_active_and_enabled(host):
    service = host.service("sample")
    assert service.is_running
    assert service.is_enabled


def test_main_pid_is_gunicorns_master_not_bash(host):
    pid = main_pid(host, UNIT)
    args = cmdline(host, pid)
    print(f"\nMainPID {pid}: {' '.join(args)}")
    assert is_gunicorn_master(host, pid), args
    assert not args[0].endswith("bash")


def test_every_worker_is_a_child_of_main_pid(host):
    pid = main_pid(host, UNIT)
    assert workers_are_children_of(host, pid)
    assert len(children(host, pid)) == 2


def test_serves_on_port_80_as_the_non_root_app_user(host):
    assert serving(host, wait=10)
    assert host.check_output(f"ps -o user= -p {main_pid(host, UNIT)}") == "sample"
    assert host.user("sample").uid != 0


def test_master_has_exactly_cap_net_bind_service(host):
    pid = main_pid(host, UNIT)
    assert cap_mask(host, pid, "CapEff") == CAP_NET_BIND_SERVICE == 0x400
    assert cap_mask(host, pid, "CapBnd") == 0x400


def test_master_runs_with_umask_027_and_no_core_dumps(host):
    """A core of the master would hold the secrets: the run script sets the soft and the hard
    limit to 0, so the app cannot raise it again (systemd alone leaves the hard limit unlimited)."""
    pid = main_pid(host, UNIT)
    assert "Umask:\t0027" in host.file(f"/proc/{pid}/status").content_string
    core = [line for line in host.file(f"/proc/{pid}/limits").content_string.splitlines() if line.startswith("Max core file size")]
    assert core and core[0].split()[4:6] == ["0", "0"], core


def test_exposure_is_at_most_2(host):
    line = host.check_output(f"systemd-analyze security {UNIT} | tail -n 1")
    score = float(line.split("level for")[1].split(":")[1].split()[0])
    print(f"\n{line.strip()}")
    assert score <= 2.0


def test_tricky_env_values_reach_the_running_app(host):
    assert env_via_http(host, BASE, TRICKY_ENV) == TRICKY_ENV


def test_secret_stays_out_of_systemctl_show_ps_and_the_journal(host):
    assert CANARY_SECRET not in host.check_output(f"systemctl show {UNIT}")
    assert CANARY_SECRET not in host.check_output("ps -eo args")
    assert CANARY_SECRET not in host.run(f"journalctl -u {UNIT} --no-pager").stdout


def test_reload_keeps_main_pid_and_replaces_the_workers(host):
    pid = main_pid(host, UNIT)
    before = set(children(host, pid))
    host.check_output(f"systemctl reload {UNIT}")
    old_gone = " && ".join(f"[ ! -d /proc/{p} ]" for p in sorted(before))
    assert wait_until(host, f"{old_gone} && [ $(pgrep -P {pid} | wc -l) -eq 2 ]", 30)
    assert main_pid(host, UNIT) == pid
    assert set(children(host, pid)).isdisjoint(before)
    assert serving(host)


def test_redeploy_with_a_new_env_value_makes_it_live_without_a_restart(host):
    pid = main_pid(host, UNIT)
    run = redeploy(host, CONVERGE, sample_extra_env={"SAMPLE_RELEASE": "second  release $x"}, sample_only=True)
    assert run.returncode == 0, run.stdout[-3000:]
    assert env_via_http(host, BASE, ["SAMPLE_RELEASE"]) == {"SAMPLE_RELEASE": "second  release $x"}
    assert main_pid(host, UNIT) == pid, "an env change must reload, not restart"
    run = redeploy(host, CONVERGE, sample_only=True)
    assert run.returncode == 0, run.stdout[-3000:]
    assert env_via_http(host, BASE, ["SAMPLE_RELEASE"]) == {}
    # Removed from the env file: gone from the app (a 404 from the app itself, which answers).
    assert get(host, BASE, "/env/SAMPLE_RELEASE")[0] == 404
    assert get(host, BASE, "/healthz") == (200, b"ok")
    assert main_pid(host, UNIT) == pid


def test_stop_leaves_no_gunicorn_and_frees_the_port(host):
    host.check_output(f"systemctl stop {UNIT}")
    try:
        assert gunicorn_pids(host) == []
        assert not listening(host, 80)
    finally:
        restart(host)
    assert serving(host)


def test_kill_9_of_main_pid_brings_a_new_master_alone(host):
    old = main_pid(host, UNIT)
    old_workers = children(host, old)
    start = time.monotonic()
    host.check_output(f"kill -9 {old}")
    # A liveness bound, not a speed bound: RestartSec is 1 s; 60 s only catches "never".
    new_main = f"p=$(systemctl show -p MainPID --value {UNIT}) && [ \"$p\" != {old} ] && [ \"$p\" != 0 ]"
    assert wait_until(host, new_main, 60), f"no new MainPID: unit {unit_state(host, UNIT)}"
    assert serving(host, wait=60)
    elapsed = time.monotonic() - start
    new = main_pid(host, UNIT)
    print(f"\nkill -9 recovery under systemd: {elapsed:.2f}s (includes test round trips; printed, not asserted)")
    assert is_gunicorn_master(host, new)
    assert sorted([new] + children(host, new)) == gunicorn_pids(host), "a single master, old workers gone"
    assert not set(old_workers) & set(gunicorn_pids(host))


@pytest.fixture
def run_script_without_exec(host):
    """Test-only breakage: the run script as the seed had it, without `exec`, and the unit
    started from it. Asserts the breakage is in place before the test looks at it."""
    assert run_script_has_exec(host), "the deployed run script must exec gunicorn"
    before = main_pid(host, UNIT)
    host.check_output(f"cp -p {RUN} {RUN}.orig && sed -i 's/^exec //' {RUN}")
    try:
        # Stop first (blocking), so that the old master cannot answer for the new one.
        host.run(f"systemctl stop {UNIT}; systemctl reset-failed {UNIT}; systemctl start --no-block {UNIT}")
        # The gunicorn child listens once it booted; the unit itself never gets READY.
        assert wait_until(host, "ss -Htln 'sport = :80' | grep -q .", 30)
        # The breakage is in place: the script has no exec, and the unit runs a new process from it.
        assert not run_script_has_exec(host), host.file(RUN).content_string
        now = main_pid(host, UNIT)
        assert now not in (0, before), f"the unit did not start again from the changed script (MainPID {before} -> {now})"
        yield now
    finally:
        host.check_output(f"mv -f {RUN}.orig {RUN}")
        restart(host)
        assert serving(host)
        assert is_gunicorn_master(host, main_pid(host, UNIT))


def test_negative_control_without_exec_main_pid_is_bash_not_gunicorn(host, run_script_without_exec):
    pid = run_script_without_exec
    args = cmdline(host, pid)
    print(f"\nwithout exec: MainPID {pid} runs {' '.join(args[:2])}; unit {unit_state(host, UNIT)}")
    assert started_by_bash_running_the_run_script(host, pid), args
    assert not is_gunicorn_master(host, pid)
    # gunicorn's master runs, as bash's child, and its READY=1 is refused (NotifyAccess=main):
    # the unit never becomes active although the app serves.
    masters = [p for p in children(host, pid) if is_gunicorn_master(host, p)]
    assert len(masters) == 1, children(host, pid)
    assert serving(host, wait=10)
    assert unit_state(host, UNIT) == "activating"


def test_negative_control_without_exec_workers_are_not_children_of_main_pid(host, run_script_without_exec):
    pid = run_script_without_exec
    masters = [p for p in children(host, pid) if is_gunicorn_master(host, p)]
    workers = [p for p in gunicorn_pids(host) if p != pid and p not in masters]
    print(f"\nwithout exec: MainPID {pid} -> masters {masters} -> workers {workers}")
    assert len(workers) == 2, workers
    parents = {w: ppid(host, w) for w in workers}
    assert pid not in parents.values(), f"no worker may be a child of MainPID {pid}: {parents}"
    assert set(parents.values()) == set(masters) and len(masters) == 1, (parents, masters)
    assert not workers_are_children_of(host, pid)


NO_CAP_DROP_IN = "/etc/systemd/system/sample.service.d/zz-no-capability.conf"


@pytest.fixture
def unit_without_capability(host):
    """Test-only breakage: a drop-in that takes CAP_NET_BIND_SERVICE away from the unit,
    and the unit started with it until its start attempt ended, one way or the other."""
    try:
        host.check_output(
            f"mkdir -p {Path(NO_CAP_DROP_IN).parent} && printf '[Service]\\nAmbientCapabilities=\\nCapabilityBoundingSet=\\n'"
            f" > {NO_CAP_DROP_IN} && systemctl daemon-reload"
        )
        host.run(f"systemctl stop {UNIT}; systemctl reset-failed {UNIT}")
        since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
        host.run(f"systemctl start --no-block {UNIT}")
        # The start attempt ended: gunicorn either listens or gave up and was restarted.
        ended = f"ss -Htln 'sport = :80' | grep -q . || [ $(systemctl show -p NRestarts --value {UNIT}) -ge 1 ]"
        assert wait_until(host, ended, 60), f"no outcome of the start: unit {unit_state(host, UNIT)}"
        # The breakage is in place: the unit has the drop-in, with neither capability set.
        show = host.check_output(f"systemctl show -p DropInPaths -p AmbientCapabilities -p CapabilityBoundingSet {UNIT}")
        print(f"\nwith the drop-in: {' '.join(show.split())}")
        props = dict(line.split("=", 1) for line in show.splitlines())
        assert NO_CAP_DROP_IN in props["DropInPaths"].split(), show
        assert props["AmbientCapabilities"] == "" and props["CapabilityBoundingSet"] == "", show
        yield since
    finally:
        host.check_output(f"rm -f {NO_CAP_DROP_IN} && systemctl daemon-reload")
        restart(host)
        assert serving(host)
        assert cap_mask(host, main_pid(host, UNIT), "CapEff") == CAP_NET_BIND_SERVICE


def test_negative_control_without_capability_port_80_is_not_bound(host, unit_without_capability):
    since = unit_without_capability
    journal = host.run(f"journalctl -u {UNIT} --since '{since}' --no-pager -o cat").stdout
    denied = [line for line in journal.splitlines() if "Permission denied" in line]
    print(f"\nwithout the capability: unit {unit_state(host, UNIT)}, "
          f"{host.check_output(f'systemctl show -p NRestarts --value {UNIT}')} restarts; journal: {denied[:1]}")
    assert not listening(host, 80)
    assert get(host, BASE, "/healthz")[0] == 0, "nothing answers on port 80"
    assert denied, journal[-2000:]


def test_container_restart_brings_the_service_back(host):
    name = host.backend.host
    subprocess.run(["docker", "restart", "-t", "30", name], check=True, capture_output=True)
    assert wait_until(host, "systemctl is-system-running --wait >/dev/null 2>&1 || true; systemctl is-active -q sample", 90)
    assert serving(host, wait=60)
    assert is_gunicorn_master(host, main_pid(host, UNIT))


SOCKAPP = "http://127.0.0.1:8001"


def test_socket_activation_systemd_owns_the_listening_socket(host):
    assert host.service("sockapp.socket").is_running
    assert host.service("sockapp.socket").is_enabled
    pid = main_pid(host, "sockapp.service")
    assert is_gunicorn_master(host, pid)
    owners = host.check_output("ss -Htlnp 'sport = :8001'")
    assert '"systemd",pid=1' in owners, owners
    # systemd handed the socket to MainPID itself (LISTEN_PID must match, which the exec
    # in the run script makes true); ss cannot show it: root here lacks CAP_SYS_PTRACE.
    environ = dict(v.split("=", 1) for v in host.file(f"/proc/{pid}/environ").content_string.split("\0") if "=" in v)
    assert (environ.get("LISTEN_FDS"), environ.get("LISTEN_PID")) == ("1", str(pid))
    assert host.run("journalctl -u sockapp.service -o cat --no-pager | grep -q 'Listening at: http://127.0.0.1:8001'").rc == 0
    assert cap_mask(host, pid, "CapEff") == 0, "no capability for a port above 1024"


def test_socket_activation_restart_drops_no_request(host):
    old = main_pid(host, "sockapp.service")
    with LoadInBackground(host, f"{SOCKAPP}/healthz") as load:
        time.sleep(2)
        host.check_output("systemctl restart sockapp.service")
        time.sleep(4)
    stats = load.stats
    print(f"\nrestart under load with socket activation: {stats}")
    assert main_pid(host, "sockapp.service") != old, "the service really restarted"
    assert stats["sent"] >= 100
    assert stats["failed"] == 0, stats["errors"]


HOST_STATE = "{ getent passwd; getent group; ls -la /etc/systemd/system /srv; } | sha256sum"


def test_a_vendor_units_name_is_refused_before_any_change(host):
    """A unit of ours under /etc would shadow the vendor's systemd-journald.service."""
    assert host.file("/lib/systemd/system/systemd-journald.service").exists  # the fixture: a vendor unit
    before = host.check_output(HOST_STATE)
    run = run_playbook(host, Path(__file__).resolve().parents[2] / "resources" / "foreign_name.yml",
                       "-e", "foreign_name=systemd-journald", "-e", "foreign_manager=systemd")
    assert run.returncode != 0, run.stdout[-2000:]
    said = " ".join((run.stdout + run.stderr).split())
    assert "app_base_name systemd-journald: " in said and "/lib/systemd/system/systemd-journald.service" in said, run.stderr[-3000:]
    assert "exists and was not written by this collection" in said, run.stderr[-3000:]
    assert host.check_output(HOST_STATE) == before
    assert not host.file("/etc/systemd/system/systemd-journald.service").exists


def test_memory_and_task_limits_are_set_only_where_asked(host):
    """sockapp sets django_systemd_memory_max and django_systemd_tasks_max; sample leaves them."""
    limits = host.check_output("systemctl show -p MemoryMax -p TasksMax sockapp.service").split()
    assert sorted(limits) == ["MemoryMax=536870912", "TasksMax=64"], limits
    assert host.check_output("systemctl show -p MemoryMax --value sample.service") == "infinity"


@pytest.mark.parametrize("var, value", [("django_systemd_memory_max", "lots"), ("django_systemd_tasks_max", "64\nTasksMax=infinity")])
def test_a_bad_resource_limit_is_refused_before_any_change(host, var, value):
    before = host.check_output(HOST_STATE)
    run = run_playbook(host, Path(__file__).resolve().parents[2] / "resources" / "foreign_name.yml",
                       "-e", "foreign_name=limitsapp", "-e", "foreign_manager=systemd", "-e", json.dumps({var: value}))
    said = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0 and f"{var} must be empty" in said, said[-3000:]
    assert host.check_output(HOST_STATE) == before


def test_the_deploys_manage_commands_ran_in_the_units_sandbox(host):
    """Each process that loaded the sample's settings wrote a line (SAMPLE_SANDBOX_PROBE):
    the deploy's manage.py commands ran as transient systemd units (run-*.service), with no
    new privileges and other users' processes (PID 1) hidden, as the service does; never
    through runuser from root's session."""
    lines = [line.split() for line in host.file("/srv/sample/var/sandbox-probe.log").content_string.splitlines()]
    manage = [line for line in lines if line[0] == "manage.py"]
    # migrate runs on the play's first host only (app_base_django_migrate_once).
    assert {line[1] for line in manage} >= {"collectstatic", "shell"}, lines
    for line in manage:
        # systemd-run's names: run-u123.service (systemd 252), run-p123-i456.service (257).
        assert line[2:4] == ["nnp=1", "pid1=False"] and re.fullmatch(r"cgroup=run-[a-z0-9-]+\.service", line[4]), line
    # The same probe in the service: the sandbox is the unit's.
    assert ["nnp=1", "pid1=False", "cgroup=sample.service"] in [line[2:] for line in lines if line[0] == "gunicorn"], lines
