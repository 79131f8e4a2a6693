"""Releases, the switch under load, automatic and on-demand rollback, keep N, migrations once
per deploy, the upgrade from the in-place layout and a rollout in batches, on three hosts at once: systemd on
Debian 12 and 13, Supervisor on Debian 12. The tests run in file order: each step starts from
the state the previous one left (converge deployed release 1 everywhere).
"""
import json
import os
import re
import shutil
import subprocess
import tarfile
import io
from pathlib import Path

import pytest
import testinfra
from helpers import LoadInBackground, get, main_pid

testinfra_hosts = ["ansible://releases-systemd"]
HOSTS = ["releases-systemd", "releases-supervisor", "releases-systemd13"]
ROOT = "/srv/rel"
BASE = "http://127.0.0.1:8000"
PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
APP = PROJECT / "tests" / "release_app"
# The last commit of the in-place layout: the upgrade test deploys with it first.
IN_PLACE_COMMIT = "0487d44"
STATE = {}


def host_of(name):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


@pytest.fixture(scope="module")
def hosts():
    return {name: host_of(name) for name in HOSTS}


def variant(tmp_path, version, healthz=None, wsgi_error=False, migration=None, media=None, links=None):
    """A copy of the release app with VERSION `version`; healthz answering `healthz`; a
    wsgi.py that raises at import; an extra marker migration (name, body of its function);
    MEDIA_ROOT at BASE_DIR / `media`; symlinks {name: target} at its top."""
    dest = tmp_path / f"v{version}"
    shutil.copytree(APP, dest, ignore=shutil.ignore_patterns("__pycache__"))
    if media:
        settings = dest / "project" / "settings.py"
        settings.write_text(settings.read_text(encoding="utf-8").replace('BASE_DIR / "media"', f'BASE_DIR / "{media}"'),
                            encoding="utf-8")
    for name, target in (links or {}).items():
        (dest / name).symlink_to(target)
    (dest / "VERSION").write_text(f"{version}\n", encoding="utf-8")
    if healthz:
        views = dest / "project" / "views.py"
        views.write_text(views.read_text(encoding="utf-8").replace('return _text("ok")', f'return _text("broken", status={healthz})'),
                         encoding="utf-8")
    if wsgi_error:
        with open(dest / "project" / "wsgi.py", "a", encoding="utf-8") as wsgi:
            wsgi.write('\nraise RuntimeError("release with a broken wsgi module")\n')
    for name, body in migration or []:
        previous = sorted(p.stem for p in (dest / "marker" / "migrations").glob("0*.py"))[-1]
        (dest / "marker" / "migrations" / f"{name}.py").write_text(
            "import os, socket\nfrom django.db import migrations\n\n\n"
            f"def mark(apps, schema_editor):\n    {body}\n\n\n"
            "class Migration(migrations.Migration):\n"
            f"    dependencies = [('marker', '{previous}')]\n"
            "    operations = [migrations.RunPython(mark, migrations.RunPython.noop)]\n",
            encoding="utf-8")
    return dest


# A play takes hosts of different managers one group after the other (each group includes its
# own role), and stops at the first failed host: a step that must fail runs per group.
GROUPS = ["releases-supervisor", "releases-systemd,releases-systemd13"]


def playbook(name, extra, limit=None, env=None):
    args = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], name, "-e", json.dumps(extra)]
    if limit:
        args += ["--limit", limit]
    run = subprocess.run(args, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})})
    return run.returncode, run.stdout + run.stderr


def deploy_under_load(hosts, extra, name="djangoops.services.deploy", path="/version", limit=None):
    """The playbook over every host (or `limit`) while each host serves ~20 requests/s to itself."""
    loads = {n: LoadInBackground(h, BASE + path) for n, h in hosts.items()}
    for load in loads.values():
        load.__enter__()
    try:
        rc, output = playbook(name, extra, limit=limit)
    finally:
        for load in loads.values():
            load.__exit__(None, None, None)
    stats = {n: load.stats for n, load in loads.items()}
    print(f"\n{name} {json.dumps(extra)[:80]}: rc={rc}; " + "; ".join(
        f"{n}: sent {s.get('sent')} ok {s.get('ok')} failed {s.get('failed')} bodies {dict(s.get('bodies', {}))}"
        for n, s in stats.items()))
    return rc, output, stats


def current(h):
    return h.check_output(f"readlink {ROOT}/current").rsplit("/", 1)[-1]


def releases(h):
    return sorted(h.check_output(f"find {ROOT}/releases -mindepth 1 -maxdepth 1 -type d -printf '%f\\n'").split())


def master(h, name):
    if name == "releases-supervisor":
        return int(h.check_output("supervisorctl pid rel"))
    return main_pid(h, "rel.service")


def cwd(h, pid, user="rel"):
    # Root has no CAP_SYS_PTRACE in the container: the app's own user reads its processes' cwd.
    return h.check_output(f"runuser -u {user} -- readlink /proc/{pid}/cwd")


def gunicorn_cwds(h, name, user="rel"):
    pid = master(h, name)
    workers = h.check_output(f"pgrep -P {pid}").split()
    return cwd(h, pid, user), sorted({cwd(h, w, user) for w in workers})


def version(h, base=BASE):
    status, body = get(h, base, "/version")
    return body.decode().strip() if status == 200 else f"HTTP {status}"


def assert_no_failures(stats):
    for name, s in stats.items():
        # timed_out: the load stopped before the playbook did, and proves nothing about its end.
        assert s.get("sent", 0) > 20 and s["failed"] == 0 and not s["timed_out"], (name, s)


def test_release_one_serves_from_its_release(hosts):
    for name, h in hosts.items():
        release = current(h)
        assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{12}", release), release
        assert version(h) == "1", name
        assert gunicorn_cwds(h, name) == (f"{ROOT}/releases/{release}", [f"{ROOT}/releases/{release}"]), name
        # The venv is the release's link to venvs/<digest>; the files the roles write stay at the top.
        assert h.check_output(f"readlink {ROOT}/releases/{release}/venv").startswith(f"{ROOT}/venvs/")
        for path in (".env", "gunicorn.conf.py", "run", "manage", "var"):
            assert h.file(f"{ROOT}/{path}").exists, path
        assert not h.file(f"{ROOT}/releases/{release}/.env").exists
        # MEDIA_ROOT in the tree: the release links to shared/, which the app owns.
        assert h.check_output(f"readlink {ROOT}/releases/{release}/media") == f"{ROOT}/shared/media"
        assert h.file(f"{ROOT}/shared/media").user == "rel"
        # STATIC_ROOT in the tree: collected into the release, by the app.
        assert h.file(f"{ROOT}/releases/{release}/static").user == "rel"
        # Data the later steps must not lose.
        h.check_output(f"runuser -u rel -- sh -c 'echo kept > {ROOT}/var/kept.txt && echo upload > {ROOT}/shared/media/upload.txt'")
        STATE.setdefault("v1", {})[name] = release
    # One migration run for the three hosts: the shared database and the marker's log say so.
    log = hosts["releases-systemd"].file("/shared/migrations.log").content_string.split("\n")
    assert [line.split()[1] for line in log if line] == ["0001"], log


@pytest.mark.parametrize("group", GROUPS)
def test_a_new_release_is_taken_up_under_load_without_a_failed_request(hosts, tmp_path, group):
    group_hosts = {name: hosts[name] for name in group.split(",")}
    before = {name: master(h, name) for name, h in group_hosts.items()}
    rc, output, stats = deploy_under_load(group_hosts, {"app_base_src": str(variant(tmp_path, 2))}, limit=group)
    assert rc == 0, output[-3000:]
    assert_no_failures(stats)
    for name, h in group_hosts.items():
        release = current(h)
        assert release != STATE["v1"][name]
        assert version(h) == "2"
        # A reload, not a restart: the same master, now in the new release, and only workers
        # of the new generation.
        assert master(h, name) == before[name], name
        assert gunicorn_cwds(h, name) == (f"{ROOT}/releases/{release}", [f"{ROOT}/releases/{release}"]), name
        assert stats[name]["bodies"].get("2", 0) > 0, stats[name]
        STATE.setdefault("v2", {})[name] = release


@pytest.mark.parametrize("group", GROUPS)
def test_a_release_that_fails_its_proof_is_rolled_back_under_load(hosts, tmp_path, group):
    group_hosts = {name: hosts[name] for name in group.split(",")}
    rc, output, stats = deploy_under_load(group_hosts, {"app_base_src": str(variant(tmp_path, 3, healthz=500))}, limit=group)
    assert rc != 0
    assert_no_failures(stats)
    for name, h in group_hosts.items():
        failed = re.findall(rf"Release (\S+) failed; rolled back: the previous release {STATE['v2'][name]} serves", output)
        assert failed, output[-4000:]
        assert current(h) == STATE["v2"][name]
        assert version(h) == "2"
        assert gunicorn_cwds(h, name)[1] == [f"{ROOT}/releases/{STATE['v2'][name]}"]
        # The failed release stays on disk for a look, but never counts as having served.
        bad = [r for r in releases(h) if r not in (STATE["v1"][name], STATE["v2"][name])]
        assert len(bad) == 1 and not h.file(f"{ROOT}/releases/{bad[0]}.served").exists, bad
        assert bad[0] in failed


@pytest.mark.parametrize("group", GROUPS)
def test_a_release_that_fails_check_config_never_becomes_current(hosts, tmp_path, group):
    group_hosts = {name: hosts[name] for name in group.split(",")}
    before = {name: master(h, name) for name, h in group_hosts.items()}
    count = {name: len(releases(h)) for name, h in group_hosts.items()}
    rc, output = playbook("djangoops.services.deploy", {"app_base_src": str(variant(tmp_path, 4, wsgi_error=True))}, limit=group)
    assert rc != 0
    assert "release with a broken wsgi module" in output, output[-3000:]
    for name, h in group_hosts.items():
        assert current(h) == STATE["v2"][name]
        assert master(h, name) == before[name], "the service was not touched"
        assert version(h) == "2"
        assert len(releases(h)) == count[name] + 1


def test_a_media_root_under_a_symlink_of_the_project_is_refused_and_nothing_outside_changes(hosts, tmp_path):
    """The project links `danger` to a directory outside the app and puts MEDIA_ROOT under
    it: root must neither delete what is there nor plant its link there."""
    name, h = "releases-systemd", hosts["releases-systemd"]
    h.check_output("mkdir -p /srv/victim/media && echo precious > /srv/victim/media/keep.txt")
    serving = current(h)
    src = variant(tmp_path, 41, media="danger/media", links={"danger": "/srv/victim"})
    assert (src / "danger").is_symlink()
    rc, output = playbook("djangoops.services.deploy", {"app_base_src": str(src)}, limit=name)
    assert rc != 0
    assert "MEDIA_ROOT is /srv/rel/releases/" in output and "a symlink, or under one" in output, output[-3000:]
    assert h.file("/srv/victim/media").is_directory and not h.file("/srv/victim/media").is_symlink
    assert h.file("/srv/victim/media/keep.txt").content_string == "precious\n"
    assert current(h) == serving


@pytest.mark.parametrize("group", GROUPS)
def test_the_rollback_playbook_serves_the_previous_release_under_load(hosts, group):
    group_hosts = {name: hosts[name] for name in group.split(",")}
    rc, output, stats = deploy_under_load(group_hosts, {}, name="djangoops.services.rollback", limit=group)
    assert rc == 0, output[-3000:]
    assert_no_failures(stats)
    for name, h in group_hosts.items():
        assert current(h) == STATE["v1"][name]
        assert version(h) == "1"
        assert gunicorn_cwds(h, name) == (f"{ROOT}/releases/{STATE['v1'][name]}", [f"{ROOT}/releases/{STATE['v1'][name]}"])


def test_the_rollback_playbook_refuses_an_unknown_release(hosts):
    rc, output = playbook("djangoops.services.rollback", {"djangoops_release": "20000101T000000Z-000000000000"})
    assert rc != 0
    assert "no such release" in output, output[-3000:]
    for name, h in hosts.items():
        assert current(h) == STATE["v1"][name]


def _marker_rows(h):
    code = "import sqlite3; print(sqlite3.connect('/shared/db.sqlite3').execute(\"select count(*) from django_migrations where app='marker'\").fetchone()[0])"
    return int(h.check_output(f"python3 -c {json.dumps(code)}"))


def test_migrations_run_once_per_deploy_and_a_failed_one_switches_no_host(hosts, tmp_path):
    h0 = hosts["releases-systemd"]
    mark = 'open(os.environ["MARKER_LOG"], "a").write(socket.gethostname() + " 0002\\n")'
    rc, output = playbook("djangoops.services.deploy", {"app_base_src": str(variant(tmp_path, 5, migration=[("0002_mark", mark)]))})
    assert rc == 0, output[-3000:]
    log = [line.split() for line in h0.file("/shared/migrations.log").content_string.splitlines() if line]
    assert [entry[1] for entry in log] == ["0001", "0002"], log
    assert _marker_rows(h0) == 2
    serving = {name: current(h) for name, h in hosts.items()}
    rc, output = playbook("djangoops.services.deploy", {"app_base_src": str(variant(
        tmp_path, 6, migration=[("0002_mark", mark), ("0003_fails", 'raise RuntimeError("migration 0003 fails")')]))})
    assert rc != 0
    assert "migration 0003 fails" in output, output[-3000:]
    for name, h in hosts.items():
        assert current(h) == serving[name], name
        assert version(h) == "5", name
    assert _marker_rows(h0) == 2


def test_keep_releases_after_seven_deploys(hosts, tmp_path):
    """Seven deploys: converge (1), 2, 3 rolled back, 4 refused, 5, 6 whose migration
    failed, and this one (7)."""
    previous = {name: current(h) for name, h in hosts.items()}
    rc, output = playbook("djangoops.services.deploy", {"app_base_src": str(variant(tmp_path, 7))})
    assert rc == 0, output[-3000:]
    for name, h in hosts.items():
        kept = releases(h)
        serving = current(h)
        print(f"\n{name}: releases kept {kept}, serving {serving}")
        assert len(kept) == 5, kept
        # The serving release and the one before it (what a rollback goes back to) are kept.
        assert serving in kept and previous[name] in kept and previous[name] != serving
        assert version(h) == "7"
        # One set of inputs, one venv, however many releases.
        assert len(h.check_output(f"ls {ROOT}/venvs").split()) == 1


def test_var_and_media_survive_every_release(hosts):
    for name, h in hosts.items():
        assert h.file(f"{ROOT}/var/kept.txt").content_string == "kept\n", name
        assert h.file(f"{ROOT}/releases/{current(h)}/media/upload.txt").content_string == "upload\n", name


def test_an_in_place_deploy_is_upgraded_to_releases_under_load(hosts, tmp_path):
    """The last in-place version deploys app `legacy`; this version takes it over."""
    name, h = "releases-supervisor", hosts["releases-supervisor"]
    old = tmp_path / "old" / "ansible_collections" / "djangoops" / "services"
    old.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(PROJECT), "archive", IN_PLACE_COMMIT], capture_output=True, check=True).stdout
    tarfile.open(fileobj=io.BytesIO(archive)).extractall(old)
    # The in-place version with this version's service definition (umask, log directory, no
    # core dumps): a changed definition restarts the program once (documented in the
    # changelog); this test is about the layout, which must upgrade with a reload.
    conf = (PROJECT / "roles" / "django_supervisor" / "templates" / "app.conf.j2").read_text()
    conf = conf.replace("{{ django_supervisor__log_dir }}/stdout.log", "/var/log/supervisor/{{ app_base_name }}/stdout.log")
    conf = conf.replace("{{ django_supervisor__stderr_log }}", "/var/log/supervisor/{{ app_base_name }}/stderr.log")
    (old / "roles" / "django_supervisor" / "templates" / "app.conf.j2").write_text(conf)
    shutil.copy(PROJECT / "roles" / "app_base" / "templates" / "run.j2", old / "roles" / "app_base" / "templates" / "run.j2")
    h.check_output("install -d -m 0750 /var/log/supervisor/legacy")
    legacy = {"app_base_name": "legacy", "app_base_src": str(APP), "app_base_gunicorn_bind": "127.0.0.1:8001",
              "app_base_env": {"DJANGO_SECRET_KEY": "legacy-secret", "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
                               "DJANGO_DB_PATH": "/srv/legacy/var/db.sqlite3", "MARKER_LOG": "/srv/legacy/var/migrations.log"}}
    rc, output = playbook("djangoops.services.deploy", legacy, limit=name, env={"ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "old")})
    assert rc == 0, output[-3000:]
    # The fixture: the in-place layout, serving, with data in var/ and the in-tree media.
    assert h.file("/srv/legacy/manage.py").exists and not h.file("/srv/legacy/current").exists
    h.check_output("runuser -u legacy -- sh -c 'echo kept > /srv/legacy/var/kept.txt && echo upload > /srv/legacy/media/upload.txt'")
    pid = int(h.check_output("supervisorctl pid legacy"))
    load = LoadInBackground(h, "http://127.0.0.1:8001/version")
    with load:
        rc, output = playbook("djangoops.services.deploy", legacy, limit=name)
    print(f"\nupgrade under load: {load.stats}")
    assert rc == 0, output[-3000:]
    assert load.stats["sent"] > 20 and load.stats["failed"] == 0, load.stats
    release = h.check_output("readlink /srv/legacy/current").rsplit("/", 1)[-1]
    assert int(h.check_output("supervisorctl pid legacy")) == pid, "a reload, not a restart"
    assert cwd(h, pid, "legacy") == f"/srv/legacy/releases/{release}"
    assert h.file("/srv/legacy/var/kept.txt").content_string == "kept\n"
    assert h.file("/srv/legacy/shared/media/upload.txt").content_string == "upload\n"
    assert h.file(f"/srv/legacy/releases/{release}/media/upload.txt").content_string == "upload\n"
    # The in-place layout's code is gone from the top of the root; what the app wrote there
    # (its collected static files) stays: the role never removes the app's data.
    for path in ("manage.py", "project", "marker", "VERSION", ".djangoops-data-dirs", "media"):
        assert not h.file(f"/srv/legacy/{path}").exists, path
    assert h.file("/srv/legacy/static").user == "legacy"
    rc, output = playbook("djangoops.services.deploy", legacy, limit=name)
    assert rc == 0 and re.search(rf"{name}\s*:.*changed=0", output), output[-2000:]


def test_a_rollout_in_batches_stops_at_the_first_host_that_fails_its_proof(hosts, tmp_path):
    """djangoops_serial=1 over the three hosts with an env change that breaks the app for the
    name its clients use: ALLOWED_HOSTS drops it, and every request for it gets 400. gunicorn's
    config check cannot see that; the proof asks with django_*_health_host (its default Host
    would follow DJANGO_ALLOWED_HOSTS and miss it). The first batch (one host, in the
    inventory's order) fails; the rollout never reaches the other two."""
    before = {name: (master(h, name), current(h)) for name, h in hosts.items()}
    assert {name: version(h) for name, h in hosts.items()} == dict.fromkeys(HOSTS, "7")
    env = dict(hosts[HOSTS[0]].ansible.get_variables()["app_base_env"], DJANGO_ALLOWED_HOSTS="example.invalid")
    # The code that serves (release 7 again: the same files, the same release), the env changed.
    rc, output = playbook("djangoops.services.deploy", {"djangoops_serial": 1, "app_base_env": env,
                                                        "app_base_src": str(variant(tmp_path, 7)),
                                                        "django_systemd_health_host": "localhost",
                                                        "django_supervisor_health_host": "localhost"})
    print("\n" + "\n".join(line for line in output.splitlines() if "PLAY [" in line or "post-deploy check" in line))
    assert rc != 0
    recap = output.split("PLAY RECAP")[-1]
    reached = [name for name in HOSTS if re.search(rf"^{re.escape(name)}\s*:", recap, re.M)]
    assert len(reached) == 1, recap
    first = reached[0]
    words = " ".join(output.split())
    assert "failed its post-deploy check" in words and "Status code was 400" in words, output[-4000:]
    assert version(hosts[first]) == "HTTP 400" and current(hosts[first]) == before[first][1]
    assert "example.invalid" in hosts[first].file(f"{ROOT}/.env").content_string
    for name in HOSTS:
        if name != first:
            h = hosts[name]
            assert (master(h, name), current(h)) == before[name], name
            assert version(h) == "7", name
            assert "example.invalid" not in h.file(f"{ROOT}/.env").content_string, name
