"""Faults and load, for each manager: what a user must be able to trust at 3 a.m."""
import copy
import json
import shutil
import time
from pathlib import Path

import pytest
from helpers import CANARY_SECRET, LoadInBackground, get, gunicorn_pids, remote_python, run_playbook, wait_until

APPS = {"systemd": ("sysapp", 8001), "supervisor": ("supapp", 8002)}
RESTART = {"systemd": "systemctl restart {app}.service", "supervisor": "supervisorctl restart {app}"}
STOP = {"systemd": "systemctl stop {app}.service", "supervisor": "supervisorctl stop {app}"}
START = {"systemd": "systemctl start {app}.service", "supervisor": "supervisorctl start {app}"}


def app_vars(host, manager):
    """This app's entry of djangoops_apps from the inventory (a deep copy to modify)."""
    name = APPS[manager][0]
    (entry,) = [a for a in host.ansible.get_variables()["djangoops_apps"] if a["app_base_name"] == name]
    return copy.deepcopy(json.loads(json.dumps(entry)))


def deploy(host, *apps, args=()):
    return run_playbook(host, "djangoops.services.deploy", *args, "-e", json.dumps({"djangoops_apps": list(apps)}))


def main_pid_of(host, manager):
    """The PID the manager watches for the app (0 when none)."""
    app = APPS[manager][0]
    if manager == "systemd":
        return int(host.check_output(f"systemctl show -p MainPID --value {app}.service"))
    return int(host.run(f"supervisorctl pid {app}").stdout.strip() or 0)


def base(manager):
    return f"http://127.0.0.1:{APPS[manager][1]}"


@pytest.fixture(params=sorted(APPS))
def manager(request):
    return request.param


# The load of every test here that counts lost requests: the redeploys and their baseline.
LOAD_RATE = 20  # requests/s
# {(manager, path): stats} of the redeploys under load, for the baseline to print beside its own.
REDEPLOY_LOSS = {}


def redeploy_under_load(host, manager, entry, path, old, new):
    """Deploy `entry` while about 20 requests/s hit `path`: none may fail, and the answers
    must go from `old` to `new` during the load (else it missed the switch)."""
    with LoadInBackground(host, base(manager) + path, rate=LOAD_RATE) as load:
        run = deploy(host, entry)
    assert run.returncode == 0, run.stdout[-3000:]
    stats = load.stats
    REDEPLOY_LOSS[(manager, path)] = stats
    print(f"\n{manager}: redeploy under load, {path}: {stats}")
    assert stats["failed"] == 0 and stats["sent"] > 100, stats
    assert set(stats["bodies"]) == {old, new}, "the load must span the switch from old to new"
    assert get(host, base(manager), path) == (200, new.encode())


def test_redeploy_of_new_code_under_load_drops_nothing(host, manager, tmp_path):
    src = tmp_path / "release-2"
    entry = app_vars(host, manager)
    shutil.copytree(entry["app_base_src"], src)
    (src / "VERSION").write_text("2\n", encoding="utf-8")
    entry["app_base_src"] = str(src)
    redeploy_under_load(host, manager, entry, "/version", "1", "2")


def test_redeploy_of_a_new_env_value_under_load_drops_nothing(host, manager):
    entry = app_vars(host, manager)
    entry["app_base_env"]["SAMPLE_RELEASE"] = "two"
    redeploy_under_load(host, manager, entry, "/env/SAMPLE_RELEASE", "one", "two")


def test_plain_restart_under_the_same_load_loses_requests_a_redeploy_does_not(host, manager):
    """The baseline the redeploys are compared with: a plain restart under the same load as
    the env redeploy above (same path, same rate) must lose requests; if it lost none, the
    load could not show a loss and the redeploys' 0 would prove nothing."""
    app, path = APPS[manager][0], "/env/SAMPLE_RELEASE"
    old = main_pid_of(host, manager)
    with LoadInBackground(host, base(manager) + path, rate=LOAD_RATE) as load:
        time.sleep(2)
        host.check_output(RESTART[manager].format(app=app))
        assert get(host, base(manager), "/healthz", wait=30) == (200, b"ok")
    stats = load.stats
    redeploys = {p: st for (m, p), st in sorted(REDEPLOY_LOSS.items()) if m == manager}
    shown = "; ".join(f"redeploy under load on {p}: {st['failed']} of {st['sent']} failed" for p, st in redeploys.items())
    print(f"\n{manager}, {LOAD_RATE} req/s: {shown or 'redeploys not measured in this run'}; "
          f"plain restart under load on {path}: {stats['failed']} of {stats['sent']} failed {stats['errors'][:2]}")
    assert main_pid_of(host, manager) not in (0, old), "the restart really replaced the master"
    assert stats["sent"] > 40 and stats["ok"] > 0, stats
    assert stats["failed"] > 0, f"a plain restart lost no request under this load: it cannot show a loss {stats}"
    assert redeploys, "the redeploys under load (the tests above) did not run: nothing to compare with"
    assert all(st["failed"] == 0 for st in redeploys.values()), redeploys


def test_a_failed_release_fails_again_on_the_next_run(host, manager, tmp_path):
    """A run whose release fails must not leave the next run nothing to change: rerun, the
    same broken release is built and fails again instead of passing over the old processes."""
    entry = app_vars(host, manager)
    app = APPS[manager][0]
    serving = get(host, base(manager), "/version")
    assert serving[0] == 200, serving
    src = tmp_path / "release-broken"
    shutil.copytree(entry["app_base_src"], src)
    (src / "VERSION").write_text("broken\n", encoding="utf-8")
    with open(src / "project" / "wsgi.py", "a", encoding="utf-8") as wsgi:
        wsgi.write('\nraise RuntimeError("this release cannot load")\n')
    broken = dict(entry, app_base_src=str(src))
    current = host.file(f"/srv/{app}/current")
    serving_release = current.linked_to
    releases_before = set(host.file(f"/srv/{app}/releases").listdir())

    def broken_releases():
        """The release directories the broken runs built."""
        made = set(host.file(f"/srv/{app}/releases").listdir()) - releases_before
        return {f"/srv/{app}/releases/{name}" for name in made if not name.endswith(".served")}

    assert serving_release.startswith(f"/srv/{app}/releases/"), serving_release
    for attempt in (1, 2):
        run = deploy(host, broken)
        words = " ".join((run.stdout + run.stderr).split())
        assert run.returncode != 0, f"run {attempt} of a broken release passed"
        assert "this release cannot load" in words, words[-2000:]
        # The release failed gunicorn's config check before the switch: it never became current,
        # and the next run fails again because it builds the release again. (The restart-pending
        # marker may be there: this entry's env differs from the one the earlier tests left.)
        assert len(broken_releases()) == attempt, "each broken run built a release of its own"
        assert host.file(f"/srv/{app}/current").linked_to == serving_release, "a broken release became current"
        assert get(host, base(manager), "/version") == serving, "the old workers keep serving"
    run = deploy(host, entry)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    want = (Path(entry["app_base_src"]) / "VERSION").read_text(encoding="utf-8").strip().encode()
    assert get(host, base(manager), "/version") == (200, want)
    assert host.file(f"/srv/{app}/current").linked_to not in broken_releases(), "the fixed release serves, no broken one"
    assert not host.file(f"/srv/{app}/.djangoops-restart-pending").exists


_SLOW_DURING_STOP = r"""
import subprocess, sys, threading, time, urllib.request
url, stop = sys.argv[1], sys.argv[2]
out = {}
def call():
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            out["answer"] = (r.status, r.read().decode())
    except Exception as e:
        out["answer"] = (0, repr(e))
t = threading.Thread(target=call)
t.start()
time.sleep(1)
out["stop_rc"] = subprocess.run(stop, shell=True).returncode
t.join(timeout=40)
print(out)
"""


def test_stop_lets_the_request_in_flight_finish(host, manager):
    app = APPS[manager][0]
    try:
        result = remote_python(host, _SLOW_DURING_STOP, base(manager) + "/slow?s=3", STOP[manager].format(app=app))
        print(f"\n{manager}: /slow?s=3 during stop: {result.stdout.strip()}")
        assert "'answer': (200, 'slept 3')" in result.stdout and "'stop_rc': 0" in result.stdout
        assert gunicorn_pids(host, app) == []
    finally:
        host.run(START[manager].format(app=app))
    assert get(host, base(manager), "/healthz", wait=20) == (200, b"ok")


def test_a_crash_loop_ends_and_the_deploy_says_why(host, manager):
    broken = app_vars(host, manager)
    name = "crash" + manager[:3]
    broken.update(
        app_base_name=name,
        app_base_gunicorn_bind="127.0.0.1:8009",
        # An import error in every worker; gunicorn's own config check would catch it
        # before the start, so it is off here to reach the manager's crash handling.
        app_base_wsgi_app="project.missing_module",
        app_base_gunicorn_check_config=False,
        django_systemd_health_timeout=20,
        django_supervisor_health_timeout=20,
    )
    broken["app_base_env"]["DJANGO_DB_PATH"] = f"/srv/{name}/var/db.sqlite3"
    try:
        start = time.monotonic()
        run = deploy(host, broken)
        print(f"\n{manager}: broken deploy failed after {time.monotonic() - start:.0f}s")
        assert run.returncode != 0
        # Failures go to stderr; the YAML callback folds long messages.
        words = " ".join((run.stdout + run.stderr).split())
        assert f"{name}.service failed its post-deploy check" in words or f"program {name} failed its post-deploy check" in words
        assert "No module named 'project.missing_module'" in words, "the failure shows the app's last log lines"
        if manager == "systemd":
            assert wait_until(host, f"[ $(systemctl show -p ActiveState --value {name}.service) = failed ]", 60)
            restarts = int(host.check_output(f"systemctl show -p NRestarts --value {name}.service"))
            print(f"systemd: {name} ended failed after {restarts} restarts")
            assert restarts <= 5
        else:
            assert wait_until(host, f"supervisorctl status {name} | grep -q FATAL", 60)
        assert gunicorn_pids(host, name) == []
        # The fixed release deploys over the failed one without any manual step.
        broken["app_base_wsgi_app"] = "project.wsgi"
        run = deploy(host, broken)
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        assert get(host, "http://127.0.0.1:8009", "/healthz", wait=10) == (200, b"ok")
    finally:
        deploy(host, broken, args=("-e", "djangoops_state=absent"))
    assert not host.user(name).exists


def release_three(host):
    """Both apps' entries with SAMPLE_RELEASE=three: a real change after the redeploy tests."""
    entries = [app_vars(host, m) for m in sorted(APPS)]
    for entry in entries:
        entry["app_base_env"]["SAMPLE_RELEASE"] = "three"
    return entries


def test_the_canary_secret_never_shows(host):
    entries = release_three(host)  # a real change, so --diff has something to show
    # -vvv: every module's arguments are printed (as AWX and a log_path keep them).
    run = deploy(host, *entries, args=("-vvv", "--diff"))
    assert run.returncode == 0, run.stdout[-3000:]
    places = {
        "ansible-playbook -vvv --diff": run.stdout + run.stderr,
        "ps": host.check_output("ps -eo args"),
        "/etc/supervisor": host.run("grep -rF -- canary /etc/supervisor").stdout,
        "systemctl show": host.check_output("systemctl show sysapp.service"),
        "journal": host.check_output("journalctl --no-pager -o cat"),
        "supervisor logs": host.run("find /var/log/supervisor -type f -exec cat {} +").stdout,
    }
    leaks = [where for where, text in places.items() if CANARY_SECRET in text]
    assert leaks == []
    assert CANARY_SECRET in host.check_output("cat /srv/sysapp/.env"), "the canary is really deployed"


def test_check_mode_on_the_deployed_host_reports_no_change(host):
    """Check mode against what the test above deployed (no deploy of its own: a run saved)."""
    for app in ("sysapp", "supapp"):
        assert 'SAMPLE_RELEASE="three"' in host.check_output(f"cat /srv/{app}/.env"), "the test above did not deploy"
    run = deploy(host, *release_three(host), args=("--check",))
    assert run.returncode == 0, run.stdout[-3000:]
    recap = run.stdout.split("PLAY RECAP")[-1]
    assert "changed=0" in recap and "failed=0" in recap, recap
