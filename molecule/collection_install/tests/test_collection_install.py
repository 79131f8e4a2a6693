"""The installed tarball, not this checkout, deployed the app."""
import json
import os
import subprocess
from pathlib import Path

from helpers import env_via_http, get, is_gunicorn_master, main_pid

USER_DIR = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "user"
INSTALLED = USER_DIR / "collections" / "ansible_collections" / "djangoops" / "services"


def test_the_collection_was_installed_from_its_tarball():
    (tarball,) = (USER_DIR / "dist").glob("djangoops-services-*.tar.gz")
    print(f"\n{tarball.name}: {tarball.stat().st_size} bytes")
    manifest = json.loads((INSTALLED / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["collection_info"]["namespace"] == "djangoops"
    assert not INSTALLED.is_symlink()
    assert (INSTALLED / "playbooks" / "deploy.yml").is_file()
    listed = subprocess.run(
        ["env", "-i", f"PATH={os.environ['PATH']}", f"HOME={os.environ['HOME']}", "ansible-galaxy", "collection", "list",
         "--collections-path", str(USER_DIR / "collections"), "djangoops.services"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert str(USER_DIR / "collections") in listed and manifest["collection_info"]["version"] in listed


def test_the_app_runs_under_systemd_and_serves(host):
    assert host.service("shop").is_running and host.service("shop").is_enabled
    assert is_gunicorn_master(host, main_pid(host, "shop.service"))
    assert get(host, "http://127.0.0.1:8000", "/healthz", wait=10) == (200, b"ok")
    assert env_via_http(host, "http://127.0.0.1:8000", ["SAMPLE_FROM"]) == {"SAMPLE_FROM": "installed-collection"}
