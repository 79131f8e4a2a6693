"""A rollout in batches stops at the first host that fails its post-deploy proof."""
import json
import os
import subprocess

import testinfra
from helpers import get, main_pid

# One rollout for all three hosts: the test runs once, from the first host's point of view.
testinfra_hosts = ["ansible://rolling-1"]
HOSTS = ["rolling-1", "rolling-2", "rolling-3"]
BASE = "http://127.0.0.1:8000"


def other(name):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def release(host):
    status, body = get(host, BASE, "/env/SAMPLE_RELEASE")
    return body.decode() if status == 200 else f"HTTP {status}"


def test_a_broken_release_stops_at_the_first_host(host):
    hosts = {name: other(name) for name in HOSTS}
    before = {name: main_pid(h, "sample.service") for name, h in hosts.items()}
    current = {name: h.file("/srv/sample/current").linked_to for name, h in hosts.items()}
    assert all(c.startswith("/srv/sample/releases/") for c in current.values()), current
    assert {name: release(h) for name, h in hosts.items()} == dict.fromkeys(HOSTS, "good")
    # The broken release: the app answers 400 to every request (its own host name is no
    # longer allowed), which gunicorn's config check cannot see and the health check does.
    broken_env = {"DJANGO_SECRET_KEY": "rolling-secret", "DJANGO_ALLOWED_HOSTS": "example.invalid", "SAMPLE_RELEASE": "broken"}
    run = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "djangoops.services.deploy",
         "-e", json.dumps({"djangoops_serial": 1, "app_base_env": broken_env})],
        capture_output=True, text=True, check=False,
    )
    output = run.stdout + run.stderr  # failures go to stderr
    print("\n" + "\n".join(line for line in output.splitlines() if "PLAY [" in line or "failed its post-deploy" in line))
    assert run.returncode != 0
    assert "sample.service failed its post-deploy check" in output
    # The rollout never reached the other hosts: old release, same masters, serving.
    for name in HOSTS[1:]:
        h = hosts[name]
        assert release(h) == "good", name
        assert main_pid(h, "sample.service") == before[name], name
        assert "broken" not in h.file("/srv/sample/.env").content_string
        assert h.file("/srv/sample/current").linked_to == current[name], name
    recap = run.stdout.split("PLAY RECAP")[-1]
    assert "rolling-1" in recap and "rolling-2" not in recap and "rolling-3" not in recap, recap
    assert release(hosts["rolling-1"]) == "HTTP 400"
