"""make bench: what a deploy with djangoops.services costs and how it behaves, in figures.

For each manager, on fresh local containers (the Debian 12 test image): first converge,
no-op rerun, converge of 1, 5 and 10 apps on one host, kill -9 recovery, and requests lost
during a redeploy against a plain restart. Then the fleet (systemd): one app deployed to 1
host and to 10 hosts in one run each (forks = hosts), and a rolling redeploy of the 10 in
batches of 3 with the post-deploy proof as the gate. Prints tables; docs/BENCHMARKS.md
records them. No figure is asserted: this measures, the Molecule scenarios prove.

    DJANGOOPS_BENCH_PARTS="managers fleet" (default both)   DJANGOOPS_BENCH_FLEET="1 10"
"""
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "molecule" / "resources"))
import testinfra  # noqa: E402
from helpers import LoadInBackground, get, remote_python  # noqa: E402

IMAGE = os.environ.get("DJANGOOPS_BENCH_IMAGE", os.environ.get("DJANGOOPS_IMAGE_PREFIX", "djangoops-test") + "/debian12:latest")
STATE = ROOT / ".cache" / "bench"
MANAGERS = os.environ.get("DJANGOOPS_BENCH_MANAGERS", "systemd supervisor").split()
APP_COUNTS = [int(n) for n in os.environ.get("DJANGOOPS_BENCH_APPS", "1 5 10").split()]
# Several apps once more with djangoops_parallel_apps=true (forks = number of apps).
PARALLEL_COUNTS = [n for n in APP_COUNTS if n > 1]
KILL_ROUNDS = 3
PARTS = os.environ.get("DJANGOOPS_BENCH_PARTS", "managers fleet").split()
FLEET_SIZES = [int(n) for n in os.environ.get("DJANGOOPS_BENCH_FLEET", "1 10").split()]
FLEET_BATCH = 3

# Kills the master and times, inside the container, until a new master answers /healthz.
_KILL_9 = r"""
import subprocess, sys, time, urllib.request
pid_cmd, url = sys.argv[1], sys.argv[2]
old = subprocess.run(pid_cmd, shell=True, capture_output=True, text=True).stdout.strip()
start = time.monotonic()
subprocess.run(["kill", "-9", old], check=True)
while time.monotonic() - start < 30:
    pid = subprocess.run(pid_cmd, shell=True, capture_output=True, text=True).stdout.strip()
    if pid.isdigit() and pid not in (old, "0"):
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    print(round(time.monotonic() - start, 2))
                    break
        except OSError:
            pass
    time.sleep(0.05)
else:
    print("timeout")
"""
PID_CMD = {"systemd": "systemctl show -p MainPID --value {app}.service", "supervisor": "supervisorctl pid {app}"}
RESTART = {"systemd": "systemctl restart {app}.service", "supervisor": "supervisorctl restart {app}"}


def sh(*argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs)


def app(i, release="one"):
    return {
        "app_base_name": f"bench{i}",
        "app_base_src": str(ROOT / "tests" / "sample_app"),
        "app_base_gunicorn_bind": f"127.0.0.1:{8000 + i}",
        "app_base_env": {
            "DJANGO_SECRET_KEY": f"bench-secret-{i}",
            "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
            "DJANGO_DB_PATH": f"/srv/bench{i}/var/db.sqlite3",
            "SAMPLE_RELEASE": release,
        },
        "django_systemd_health_path": "/healthz",
        "django_supervisor_health_path": "/healthz",
    }


def write_inventory(path, names, manager):
    """An inventory of the containers `names`, each deployed under `manager`."""
    path.write_text(json.dumps({"all": {"hosts": {name: {
        "ansible_connection": "community.docker.docker",
        "ansible_python_interpreter": "/usr/bin/python3",
        "djangoops_manager": manager,
    } for name in names}}}), encoding="utf-8")
    return path


def container(manager, count):
    name = f"djangoops-bench-{manager}-{count}"
    sh(str(ROOT / "scripts" / "container.sh"), "start", name, IMAGE)
    return name, write_inventory(STATE / f"{name}.yml", [name], manager)


def cpu_seconds():
    """The machine's busy CPU time so far (all cores, every process: controller, Docker, containers)."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def deploy(inventory, apps, parallel=False, forks=5, extra=None):
    """Seconds and the recap's changed= count of one djangoops.services.deploy run."""
    start = time.monotonic()
    extra = {"djangoops_apps": apps, "djangoops_parallel_apps": parallel, **(extra or {})}
    # Pipelining as the README recommends (and the Molecule base sets): one exec per module.
    run = subprocess.run(
        ["ansible-playbook", "-f", str(max(forks, len(apps))), "-i", str(inventory), "djangoops.services.deploy",
         "-e", json.dumps(extra)],
        capture_output=True, text=True, check=False, env=dict(os.environ, ANSIBLE_PIPELINING="true"),
    )
    seconds = time.monotonic() - start
    if run.returncode != 0:
        sys.exit(f"bench: deploy failed:\n{run.stdout[-3000:]}")
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", run.stdout.split("PLAY RECAP")[-1]))
    return seconds, changed


def bench_manager(manager):
    figures = {}
    for count in PARALLEL_COUNTS:
        name, inventory = container(manager, count)
        try:
            seconds = deploy(inventory, [app(i) for i in range(1, count + 1)], parallel=True)[0]
            figures[f"converge {count} apps in parallel, s"] = seconds
            print(f"bench: {manager}: {count} apps converged in parallel in {seconds:.1f}s", flush=True)
        finally:
            sh(str(ROOT / "scripts" / "container.sh"), "rm", name)
    for count in APP_COUNTS:
        name, inventory = container(manager, count)
        apps = [app(i) for i in range(1, count + 1)]
        try:
            seconds = deploy(inventory, apps)[0]
            figures[f"converge {count} app(s), s"] = seconds
            print(f"bench: {manager}: {count} app(s) converged in {seconds:.1f}s", flush=True)
            if count != 1:
                continue
            figures["first converge, s"] = seconds
            seconds, changed = deploy(inventory, apps)
            figures["no-op rerun, s"], figures["no-op rerun changed="] = seconds, changed
            host = testinfra.get_host(f"docker://{name}")
            base, pid_cmd = "http://127.0.0.1:8001", PID_CMD[manager].format(app="bench1")
            rounds = []
            for _round in range(KILL_ROUNDS):
                out = remote_python(host, _KILL_9, pid_cmd, base + "/healthz").stdout.strip()
                rounds.append(float(out) if out != "timeout" else float("inf"))
                time.sleep(3)  # let the new workers settle before the next round
            figures["kill -9 recovery, s (median of 3)"] = statistics.median(rounds)
            with LoadInBackground(host, base + "/env/SAMPLE_RELEASE") as load:
                deploy(inventory, [app(1, release="two")])
            figures["redeploy (env change): failed/sent"] = f"{load.stats['failed']}/{load.stats['sent']}"
            assert get(host, base, "/env/SAMPLE_RELEASE") == (200, b"two"), "the redeploy did not take effect"
            with LoadInBackground(host, base + "/healthz") as load:
                time.sleep(2)
                host.check_output(RESTART[manager].format(app="bench1"))
                get(host, base, "/healthz", wait=20)
            figures["plain restart: failed/sent"] = f"{load.stats['failed']}/{load.stats['sent']}"
        finally:
            sh(str(ROOT / "scripts" / "container.sh"), "rm", name)
    one, ten = figures.get("converge 1 app(s), s"), figures.get("converge 10 app(s), s")
    if one and ten:
        figures["10 apps / 1 app"] = ten / one
        # What the ratio is made of: the host's one-time work, and each further app's own.
        figures["each app beyond the first, s"] = (ten - one) / 9
    ten_parallel = figures.get("converge 10 apps in parallel, s")
    if one and ten_parallel:
        figures["10 apps in parallel / 1 app"] = ten_parallel / one
    return figures


def fleet(size):
    """`size` fresh systemd hosts started at once, and an inventory with all of them."""
    names = [f"djangoops-bench-fleet{size}-{i}" for i in range(1, size + 1)]
    starts = [subprocess.Popen([str(ROOT / "scripts" / "container.sh"), "start", n, IMAGE]) for n in names]
    # Every start is waited for before any is judged, so that none is left running behind.
    failed = [name for name, start in zip(names, starts) if start.wait() != 0]
    if failed:
        sh(str(ROOT / "scripts" / "container.sh"), "rm", *names)
        sys.exit(f"bench: fleet containers did not boot: {failed}")
    return names, write_inventory(STATE / f"fleet{size}.yml", names, "systemd")


def bench_fleet():
    """One app to 1 and to N hosts (forks = N), then a rolling redeploy in batches of 3."""
    figures = {}
    for size in FLEET_SIZES:
        names, inventory = fleet(size)
        try:
            cpu = cpu_seconds()
            seconds = deploy(inventory, [app(1)], forks=size)[0]
            figures[f"one app to {size} host(s), s"] = seconds
            figures[f"one app to {size} host(s): CPU s ({os.cpu_count()} cores: at most {os.cpu_count()} per s)"] = cpu_seconds() - cpu
            print(f"bench: fleet: one app to {size} host(s) in {seconds:.1f}s", flush=True)
            if size < 2 * FLEET_BATCH:
                continue
            cpu = cpu_seconds()
            seconds = deploy(inventory, [app(1, release="two")], forks=size, extra={"djangoops_serial": FLEET_BATCH})[0]
            figures[f"rolling redeploy of {size} hosts, batches of {FLEET_BATCH}, s"] = seconds
            figures[f"rolling redeploy of {size} hosts: CPU s"] = cpu_seconds() - cpu
            served = {get(testinfra.get_host(f"docker://{n}"), "http://127.0.0.1:8001", "/env/SAMPLE_RELEASE") for n in names}
            assert served == {(200, b"two")}, f"the rolling redeploy did not reach every host: {served}"
            print(f"bench: fleet: rolling redeploy of {size} hosts in {seconds:.1f}s", flush=True)
        finally:
            sh(str(ROOT / "scripts" / "container.sh"), "rm", *names)
    one, most = FLEET_SIZES[0], FLEET_SIZES[-1]
    if one == 1 and most > 1:
        figures[f"{most} hosts / 1 host"] = figures[f"one app to {most} host(s), s"] / figures["one app to 1 host(s), s"]
    return figures


def main():
    STATE.mkdir(parents=True, exist_ok=True)
    results = {m: bench_manager(m) for m in MANAGERS} if "managers" in PARTS else {}
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    print(f"\nMachine: {os.cpu_count()} cores ({cpu}), {mem} GiB RAM, {platform.platform()}; image {IMAGE}")
    print(f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    keys = list(dict.fromkeys(k for figures in results.values() for k in figures))
    if results:
        print("| figure | " + " | ".join(MANAGERS) + " |")
        print("|---|" + "---|" * len(MANAGERS))
    for key in keys:
        cells = []
        for m in MANAGERS:
            value = results[m].get(key, "")
            cells.append(f"{value:.2f}" if isinstance(value, float) else str(value))
        print(f"| {key} | " + " | ".join(cells) + " |")
    if "fleet" in PARTS:
        print("\n| fleet figure (systemd, one app) | value |\n|---|---|")
        for key, value in bench_fleet().items():
            print(f"| {key} | {value:.2f} |")
    test_time = ROOT / ".cache" / "make-test-seconds"
    print("\nmake test wall time: " + (f"{int(test_time.read_text())} s (last run, {test_time})" if test_time.exists()
                                       else "not measured yet (make test records it)"))


if __name__ == "__main__":
    main()
