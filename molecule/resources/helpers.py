"""Probes the scenarios' tests run inside the container under test.

Every loop runs inside the container with a deadline, so a test costs one round trip
per probe and can never spin forever; every request goes to 127.0.0.1.
"""
import json
import shlex
from pathlib import Path

import yaml

RESOURCES = Path(__file__).resolve().parent
SAMPLE = yaml.safe_load((RESOURCES / "sample_app.yml").read_text(encoding="utf-8"))
TRICKY_ENV = SAMPLE["sample_tricky_env"]
CANARY_SECRET = SAMPLE["sample_app_canary_secret"]

_HTTP = r"""
import base64, json, sys, time, urllib.error, urllib.request
base, paths, deadline, want = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
start = time.monotonic()
out = {}
for path in paths:
    while True:
        try:
            with urllib.request.urlopen(base + path, timeout=5) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        except OSError as e:
            status, body = 0, str(e).encode()
        if status == want or want == 0 or time.monotonic() - start > deadline:
            break
        time.sleep(0.2)
    out[path] = {"status": status, "body": base64.b64encode(body).decode()}
out["_elapsed"] = time.monotonic() - start
print(json.dumps(out))
"""


def remote_python(host, code, *args):
    return host.run("python3 -c " + " ".join(shlex.quote(a) for a in (code, *map(str, args))))


def http(host, base, *paths, wait=0.0, want=200):
    """GET each path on base (http://127.0.0.1:PORT); retry until `want` or `wait` seconds.

    Returns ({path: (status, body bytes)}, elapsed seconds). want=0 takes the first answer.
    """
    import base64

    result = remote_python(host, _HTTP, base, json.dumps(list(paths)), wait, want)
    assert result.rc == 0, result.stderr
    data = json.loads(result.stdout)
    elapsed = data.pop("_elapsed")
    return {p: (v["status"], base64.b64decode(v["body"])) for p, v in data.items()}, elapsed


def get(host, base, path, wait=0.0, want=200):
    answers = http(host, base, path, wait=wait, want=want)[0]
    return answers[path]


def env_via_http(host, base, keys):
    """The values the running app sees, read through its /env/<KEY> endpoint."""
    answers = http(host, base, *[f"/env/{k}" for k in keys])[0]
    return {k: answers[f"/env/{k}"][1].decode("utf-8") for k in keys if answers[f"/env/{k}"][0] == 200}


def gunicorn_pids(host, user="sample"):
    """PIDs of the gunicorn processes of one app (by its user); user=None: of every app."""
    result = host.run(("pgrep -u " + user if user else "pgrep") + " -f -- '[b]in/gunicorn'")
    return sorted(int(p) for p in result.stdout.split())


def cmdline(host, pid):
    return host.file(f"/proc/{pid}/cmdline").content_string.split("\0")


def ppid(host, pid):
    return int(host.run(f"ps -o ppid= -p {pid}").stdout.strip())


def children(host, pid):
    return sorted(int(p) for p in host.run(f"pgrep -P {pid}").stdout.split())


def is_gunicorn_master(host, pid):
    """A python process running bin/gunicorn (not bash), with at least one worker child."""
    args = cmdline(host, pid)
    return (
        "python" in Path(args[0]).name
        and any(a.endswith("/bin/gunicorn") for a in args[:2])
        and len(children(host, pid)) > 0
    )


def listening(host, port):
    return host.run(f"ss -Htln 'sport = :{port}'").stdout.strip() != ""


def wait_until(host, shell_condition, seconds):
    """Poll a shell condition inside the container, bounded; True when it held in time."""
    cmd = f"timeout {seconds} sh -c {shlex.quote(f'until {shell_condition}; do sleep 0.2; done')}"
    return host.run(cmd).rc == 0


# For wait_until: true once no gunicorn process is left ([b] keeps pgrep from matching itself).
NO_GUNICORN = "! pgrep -f -- '[b]in/gunicorn' >/dev/null"


def run_playbook(host, playbook, *args):
    """ansible-playbook against this test's host only, with Molecule's inventory and config."""
    import os
    import subprocess

    return subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", host.backend.host, str(playbook), *args],
        capture_output=True, text=True, check=False,
    )


def main_pid(host, unit):
    return int(host.check_output(f"systemctl show -p MainPID --value {unit}"))


def unit_state(host, unit):
    return host.check_output(f"systemctl show -p ActiveState --value {unit}")


def cap_mask(host, pid, field):
    """CapEff, CapBnd, ... of a process as an int."""
    for line in host.file(f"/proc/{pid}/status").content_string.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1], 16)
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def workers_are_children_of(host, master, user="sample"):
    """Every gunicorn process of the app other than the master is the master's child."""
    others = [p for p in gunicorn_pids(host, user) if p != master]
    return bool(others) and all(ppid(host, p) == master for p in others)


def redeploy(host, playbook, **extra_vars):
    """Run a converge playbook again with extra vars (JSON), as a deploy would."""
    return run_playbook(host, playbook, "-e", json.dumps(extra_vars))


_LOAD_UNTIL = r"""
import collections, json, os, sys, threading, time, urllib.error, urllib.request
url, stop_file, max_seconds, rate = sys.argv[1], sys.argv[2], min(float(sys.argv[3]), 300.0), float(sys.argv[4])
stats = {"sent": 0, "ok": 0, "failed": 0, "errors": [], "bodies": collections.Counter()}
lock = threading.Lock()
def one():
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            good, body, err = r.status == 200, r.read().decode(errors="replace")[:40], None
    except Exception as e:
        good, body, err = False, None, repr(e)[:120]
    with lock:
        stats["ok" if good else "failed"] += 1
        if body is not None:
            stats["bodies"][body] += 1
        if err and len(stats["errors"]) < 5:
            stats["errors"].append(err)
threads = []
start = time.monotonic()
while not os.path.exists(stop_file) and time.monotonic() - start < max_seconds:
    t = threading.Thread(target=one)
    t.start()
    threads.append(t)
    stats["sent"] += 1
    time.sleep(1.0 / rate)
for t in threads:
    t.join(timeout=25)
stats["seconds"] = round(time.monotonic() - start, 1)
stats["timed_out"] = not os.path.exists(stop_file)
print(json.dumps(stats))
"""


class LoadInBackground:
    """About `rate` requests/s to url inside the container until stopped (at most
    max_seconds), while the test does something else, e.g. runs a deploy from the
    controller. Uses its own docker:// connection: safe beside the test's host object.

        with LoadInBackground(host, url) as load:
            ...
        load.stats  # {"sent", "ok", "failed", "errors", "bodies": {body: count}, ...}
    """

    def __init__(self, host, url, rate=20, max_seconds=240):
        import threading
        import uuid

        import testinfra

        container = getattr(host.backend, "host", None) or host.backend.name  # ansible:// or docker://
        self.docker = testinfra.get_host(f"docker://{container}")
        self.url, self.rate, self.max_seconds = url, rate, max_seconds
        self.stop_file = f"/tmp/djangoops-load-stop-{uuid.uuid4().hex}"
        self.stats = None
        self._thread = threading.Thread(target=self._run)

    def _run(self):
        result = remote_python(self.docker, _LOAD_UNTIL, self.url, self.stop_file, self.max_seconds, self.rate)
        self.stats = json.loads(result.stdout) if result.rc == 0 else {"error": result.stderr}

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        import time

        time.sleep(2)  # requests sent just after the action count too
        self.docker.run(f"touch {self.stop_file}")
        self._thread.join(timeout=self.max_seconds + 60)
        self.docker.run(f"rm -f {self.stop_file}")
        return False


# The sample app's run script, as the systemd and supervisor scenarios deploy it.
SAMPLE_RUN = "/srv/sample/run"


def run_script_has_exec(host, run=SAMPLE_RUN):
    """True when the run script starts gunicorn with `exec` (the contract); asserts the
    gunicorn line itself is there either way, so a missing line cannot pass for no exec."""
    lines = [line.strip() for line in host.file(run).content_string.splitlines()]
    gunicorn = [line for line in lines if '"$VIRTUAL_ENV/bin/gunicorn"' in line and not line.startswith("#")]
    assert len(gunicorn) == 1, lines
    return gunicorn[0].startswith("exec ")


def started_by_bash_running_the_run_script(host, pid, run=SAMPLE_RUN):
    args = cmdline(host, pid)
    return Path(args[0]).name == "bash" and run in args
