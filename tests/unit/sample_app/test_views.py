"""The sample app's own tests: the endpoints the Molecule scenarios observe."""
import os
import subprocess
import sys
from pathlib import Path

SAMPLE_APP = Path(__file__).resolve().parents[2] / "sample_app"


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.content == b"ok"


def test_index(client):
    assert client.get("/").status_code == 200


def test_version_comes_from_the_code_tree(client):
    expected = (SAMPLE_APP / "VERSION").read_text().strip()
    assert client.get("/version").content.decode() == expected


def test_slow_sleeps_and_bounds_its_argument(client):
    assert client.get("/slow?s=0").content == b"slept 0"
    assert client.get("/slow?s=31").status_code == 400
    assert client.get("/slow?s=-1").status_code == 400
    assert client.get("/slow?s=abc").status_code == 400


def test_env_only_shows_sample_keys(client, monkeypatch):
    monkeypatch.setenv("SAMPLE_GREETING", "hé $HOME 'q' \"d\" %s")
    r = client.get("/env/SAMPLE_GREETING")
    assert r.status_code == 200
    assert r.content.decode("utf-8") == "hé $HOME 'q' \"d\" %s"
    assert client.get("/env/DJANGO_SECRET_KEY").status_code == 404
    assert client.get("/env/SAMPLE_MISSING").status_code == 404


def test_unknown_host_is_refused(client):
    assert client.get("/healthz", HTTP_HOST="evil.example").status_code == 400


def test_production_needs_a_secret_key():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_SETTINGS_MODULE"] = "project.settings"
    r = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=SAMPLE_APP, env=env, capture_output=True, text=True, check=False,
    )
    assert r.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in r.stderr
