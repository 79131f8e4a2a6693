"""gunicorn.conf.py reads the env file back exactly, and a reload applies its new state."""
import json
import os
import sys
from pathlib import Path

import jinja2
import pytest

from ansible_collections.djangoops.services.plugins.filter import envfile

from ..plugins.filter.test_envfile import TRICKY

TEMPLATE = Path(__file__).resolve().parents[3] / "roles/app_base/templates/gunicorn.conf.py.j2"


def render(env_file):
    jenv = jinja2.Environment(undefined=jinja2.StrictUndefined)
    jenv.filters["to_json"] = json.dumps
    jenv.filters["int"] = int
    return jenv.from_string(TEMPLATE.read_text()).render(
        ansible_managed="test", app_base_name="sample", app_base__env_file=str(env_file), app_base_root="/srv/sample",
        app_base__current="/srv/sample/current", app_base__releases="/srv/sample/releases",
        app_base_gunicorn_bind="127.0.0.1:8000", app_base_gunicorn_workers=2, app_base_gunicorn_timeout=30,
        app_base_gunicorn_graceful_timeout=30, app_base__socket_path="", app_base_gunicorn_settings={},
    )


@pytest.fixture
def clean_environ(monkeypatch):
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    if hasattr(sys, "_djangoops_env_keys"):
        del sys._djangoops_env_keys


def load(code):
    namespace = {}
    exec(compile(code, "gunicorn.conf.py", "exec"), namespace)  # noqa: S102 - as gunicorn does
    return namespace


def test_settings_are_plain_values(tmp_path, clean_environ):
    env_file = tmp_path / ".env"
    env_file.write_text("")
    ns = load(render(env_file))
    assert (ns["bind"], ns["workers"], ns["graceful_timeout"]) == (["127.0.0.1:8000"], 2, 30)
    # No /srv/sample/current here: before the first release serves, chdir is left to --chdir.
    assert "chdir" not in ns


def test_every_tricky_value_reaches_the_environment_exactly(tmp_path, clean_environ):
    env_file = tmp_path / ".env"
    env_file.write_text("# header\n" + envfile.to_env_file(TRICKY) + 'VIRTUAL_ENV="/srv/sample/venv"\n', encoding="utf-8")
    load(render(env_file))
    assert {k: os.environ[k] for k in TRICKY} == TRICKY


def test_a_reload_applies_new_values_and_drops_removed_keys(tmp_path, clean_environ):
    env_file = tmp_path / ".env"
    code = render(env_file)
    env_file.write_text(envfile.to_env_file({"SAMPLE_A": "old", "SAMPLE_GONE": "x"}))
    load(code)
    env_file.write_text(envfile.to_env_file({"SAMPLE_A": "new value  "}))
    load(code)
    assert os.environ["SAMPLE_A"] == "new value  "
    assert "SAMPLE_GONE" not in os.environ


def test_further_settings_are_data_whatever_their_values(tmp_path, clean_environ):
    env_file = tmp_path / ".env"
    env_file.write_text("")
    hostile = '"); import os; os.system("touch /tmp/djangoops-pwned") #\n\'\'\' """'
    jenv = jinja2.Environment(undefined=jinja2.StrictUndefined)
    jenv.filters["to_json"] = json.dumps
    jenv.filters["int"] = int
    jenv.filters["dirname"] = os.path.dirname
    settings = {"worker_class": "gthread", "threads": 4, "forwarded_allow_ips": hostile,
                "secure_scheme_headers": {"X-FORWARDED-PROTO": "https"}, "sendfile": False}
    code = jenv.from_string(TEMPLATE.read_text()).render(
        ansible_managed="test", app_base_name="sample", app_base__env_file=str(env_file), app_base_root="/srv/sample",
        app_base__current="/srv/sample/current", app_base__releases="/srv/sample/releases",
        app_base_gunicorn_bind="unix:/run/sample/gunicorn.sock", app_base_gunicorn_workers=2, app_base_gunicorn_timeout=30,
        app_base_gunicorn_graceful_timeout=30, app_base__socket_path="/run/sample/gunicorn.sock",
        app_base_gunicorn_settings=settings, app_base_gunicorn_socket_group="www-data",
    )
    ns = load(code)
    assert {k: ns[k] for k in settings} == settings
    assert not Path("/tmp/djangoops-pwned").exists()
    # A unix socket: made 0660 (umask), its group handed over once gunicorn is ready.
    assert ns["umask"] == 0o117 and callable(ns["when_ready"]) and ns["on_reload"] is ns["when_ready"]


def test_chdir_is_the_release_current_points_at_and_older_releases_leave_the_import_path(tmp_path, clean_environ, monkeypatch):
    """Executed at start and on every HUP: chdir follows `current` to the new release, and
    the previous release's directory (which gunicorn put on sys.path) is taken off."""
    env_file = tmp_path / ".env"
    env_file.write_text('A="1"\n', encoding="utf-8")
    releases = tmp_path / "releases"
    for name in ("r1", "r2"):
        (releases / name).mkdir(parents=True)
    (tmp_path / "current").symlink_to("releases/r2")
    jenv = jinja2.Environment(undefined=jinja2.StrictUndefined)
    jenv.filters["to_json"] = json.dumps
    jenv.filters["int"] = int
    code = jenv.from_string(TEMPLATE.read_text()).render(
        ansible_managed="test", app_base_name="sample", app_base__env_file=str(env_file), app_base_root=str(tmp_path),
        app_base__current=str(tmp_path / "current"), app_base__releases=str(releases),
        app_base_gunicorn_bind="127.0.0.1:8000", app_base_gunicorn_workers=2, app_base_gunicorn_timeout=30,
        app_base_gunicorn_graceful_timeout=30, app_base__socket_path="", app_base_gunicorn_settings={},
    )
    monkeypatch.setattr(sys, "path", [str(releases / "r1"), "/usr/lib/python3/dist-packages"])
    ns = load(code)
    assert ns["chdir"] == str(releases / "r2")
    assert sys.path == ["/usr/lib/python3/dist-packages"]
