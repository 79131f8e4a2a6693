"""app_base alone: the tree, the venv, the env file and the exec-based run script."""
import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from helpers import (
    NO_GUNICORN, CANARY_SECRET, TRICKY_ENV, children, cmdline, env_via_http, get, gunicorn_pids, is_gunicorn_master, listening,
    run_playbook, wait_until,
)

ROOT = "/srv/sample"
SCENARIO = Path(__file__).resolve().parents[1]
BASE = "http://127.0.0.1:8000"
SAMPLE = Path(__file__).resolve().parents[3] / "tests/sample_app"
PINS = dict(line.split("==") for line in (Path(__file__).resolve().parents[3] / "tests/sample_app/requirements.txt").read_text().split())


def test_system_account_without_login(host):
    user = host.user("sample")
    assert user.exists
    assert user.group == "sample"
    assert user.shell == "/usr/sbin/nologin"
    assert user.uid < 1000, "a system account"
    assert host.group("sample").exists


@pytest.mark.parametrize(
    ("path", "owner", "group", "mode"),
    [
        (ROOT, "root", "sample", 0o750),
        (f"{ROOT}/var", "sample", "sample", 0o750),
        (f"{ROOT}/.env", "root", "sample", 0o640),
        (f"{ROOT}/gunicorn.conf.py", "root", "sample", 0o640),
        (f"{ROOT}/run", "root", "sample", 0o750),
        (f"{ROOT}/manage", "root", "sample", 0o750),
        (f"{ROOT}/releases", "root", "sample", 0o750),
        (f"{ROOT}/venvs", "root", "sample", 0o750),
        (f"{ROOT}/.source", "root", "root", 0o700),
        (f"{ROOT}/current/", "root", "sample", 0o750),
        (f"{ROOT}/current/project/settings.py", "root", "sample", 0o640),
        (f"{ROOT}/current/project", "root", "sample", 0o750),
    ],
)
def test_tree_ownership_and_modes(host, path, owner, group, mode):
    f = host.file(path)
    assert f.exists
    assert (f.user, f.group, f.mode) == (owner, group, mode)


def test_the_release_that_serves_is_current(host):
    """current links (relatively) to one release under releases/, whose venv links to venvs/<digest>."""
    assert host.file(f"{ROOT}/current").is_symlink
    target = host.check_output(f"readlink {ROOT}/current")
    assert re.fullmatch(r"releases/[0-9]{8}T[0-9]{6}Z-[0-9a-f]{12}", target), target
    assert host.file(f"{ROOT}/{target}").is_directory
    venv = host.check_output(f"readlink {ROOT}/{target}/venv")
    assert re.fullmatch(rf"{ROOT}/venvs/[0-9a-f]{{16}}", venv), venv
    assert host.file(f"{venv}/.djangoops-stamp").exists
    # The in-place layout's code is not at the top of the root.
    assert not host.file(f"{ROOT}/project").exists and not host.file(f"{ROOT}/venv").exists


def test_app_cannot_change_its_code_or_config(host):
    release = host.check_output(f"readlink -f {ROOT}/current")
    for path in (ROOT, f"{ROOT}/current/project/settings.py", f"{ROOT}/.env", f"{ROOT}/run", f"{ROOT}/releases",
                 release, f"{ROOT}/venvs", f"{ROOT}/current/venv/bin"):
        assert host.run(f"runuser -u sample -- test -w {path}").rc != 0, path
    assert host.run(f"runuser -u sample -- test -w {ROOT}/var").rc == 0


def test_env_file_is_hidden_from_other_users(host):
    assert host.run(f"runuser -u nobody -- cat {ROOT}/.env").rc != 0
    assert host.run(f"runuser -u sample -- cat {ROOT}/.env").rc == 0
    # The root (0750) keeps others out already; the file must keep them out on its own: with
    # the root opened to others for a moment, nobody still cannot read it.
    host.check_output(f"chmod o+x {ROOT}")
    try:
        assert host.run(f"runuser -u nobody -- test -x {ROOT}").rc == 0, "the fixture opened the root"
        denied = host.run(f"runuser -u nobody -- cat {ROOT}/.env")
        assert denied.rc != 0 and "Permission denied" in denied.stderr, denied
    finally:
        host.check_output(f"chmod o-x {ROOT}")


def test_venv_has_the_pinned_gunicorn_and_django(host):
    out = host.check_output(f"{ROOT}/current/venv/bin/python -c 'import django, gunicorn; print(django.__version__, gunicorn.__version__)'")
    assert out.split() == [PINS["Django"], PINS["gunicorn"]]


def test_run_script_loads_the_env_file_then_execs_gunicorn(host):
    lines = [line for line in host.file(f"{ROOT}/run").content_string.splitlines() if line and not line.startswith("#")]
    assert lines == [
        "ulimit -c 0",
        "set -a",
        f". {ROOT}/.env",
        "set +a",
        f'exec "$VIRTUAL_ENV/bin/gunicorn" -c {ROOT}/gunicorn.conf.py project.wsgi "$@"',
    ]


def _env_view(host, command):
    out = host.check_output(f"{command} | base64 -w0")
    raw = subprocess.run(["base64", "-d"], input=out.encode(), capture_output=True, check=True).stdout
    pairs = dict(item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k: pairs[k.encode()].decode("utf-8") for k in TRICKY_ENV if k.encode() in pairs}


def test_bash_and_systemd_read_the_env_file_the_same(host):
    bash = _env_view(host, f"runuser -u sample -- bash -c 'set -a; . {ROOT}/.env; set +a; exec env -0'")
    systemd = _env_view(host, f"systemd-run --quiet --pipe --wait -p EnvironmentFile={ROOT}/.env /usr/bin/env -0")
    assert bash == TRICKY_ENV
    assert systemd == TRICKY_ENV


@pytest.fixture(scope="module")
def hand_started(host):
    """The run script started by hand as the app user; yields the PID bash had."""
    assert gunicorn_pids(host) == [], "nothing may serve before the test starts it"
    host.run("rm -f /tmp/run.pid /tmp/djangoops-pwned")
    host.check_output(
        "setsid -f runuser -u sample -- bash -c 'echo $$ > /tmp/run.pid; exec /srv/sample/run' >/tmp/run.log 2>&1"
    )
    status, body = get(host, BASE, "/healthz", wait=30)
    assert (status, body) == (200, b"ok"), host.file("/tmp/run.log").content_string
    yield int(host.file("/tmp/run.pid").content_string)
    host.run("pkill -TERM -f -- '[b]in/gunicorn'")
    wait_until(host, NO_GUNICORN, 40)


def test_hand_started_run_script_is_gunicorns_master(host, hand_started):
    pid = hand_started
    assert is_gunicorn_master(host, pid), cmdline(host, pid)
    assert host.check_output(f"ps -o user= -p {pid}") == "sample"
    workers = children(host, pid)
    assert len(workers) == 2
    assert sorted([pid] + workers) == gunicorn_pids(host)


def test_tricky_env_values_reach_the_app_exactly(host, hand_started):
    assert env_via_http(host, BASE, TRICKY_ENV) == TRICKY_ENV
    assert not host.file("/tmp/djangoops-pwned").exists, "a value was executed by a shell"


def test_secret_is_not_in_the_process_arguments(host, hand_started):
    assert CANARY_SECRET not in host.check_output("ps -eo args")


def test_term_to_the_master_leaves_nothing_behind(host, hand_started):
    host.check_output(f"kill -TERM {hand_started}")
    assert wait_until(host, NO_GUNICORN, 40)
    assert not listening(host, 8000)


SNAPSHOT = (
    "{ getent passwd; getent group; find /srv -printf '%p %m %u %g %s %T@\\n' | sort; } | sha256sum"
)
BAD_CASES = {
    "name-slash": "app_base_name must match",
    "name-space": "app_base_name must match",
    "name-upper": "app_base_name must match",
    "env-key": "app_base_env: key 'BAD-KEY' is not a valid variable name",
    "env-newline": "app_base_env: the value of 'SAMPLE_X' contains a newline",
    "port": "app_base_gunicorn_bind: port 70000",
    "two-sources": "set at most one code source: app_base_src, app_base_git_repo or app_base_archive",
    "workers": "app_base_gunicorn_workers must be between 1 and 256",
    "state": "app_base_state",
    "gunicorn-owned": "app_base_gunicorn_settings: preload_app is set by the roles",
    "gunicorn-unknown": "app_base_gunicorn_settings: unknown gunicorn setting max_request",
    "socket-elsewhere": "app_base_gunicorn_bind: a unix socket must be in the app's own runtime directory",
    "exclude-string": "app_base_src_exclude must be a list",
    "env-process-key": "app_base_env: key 'LD_PRELOAD' would change how the service's process starts",
    "env-key-newline": "app_base_env: key 'GOOD_KEY",
    "wsgi-newline": "app_base_wsgi_app must be module.path",
    "requirements-newline": "app_base_requirements must be a path relative",
    "git-http": "app_base_git_repo and app_base_archive must not be http:// or git:// URLs",
    "git-git": "(got git://...)",
    "archive-http": "(got HTTP://...)",
    "checksum-format": "app_base_archive_checksum must be <algorithm>:<hex>",
    "checksum-local": "goes with an app_base_archive URL",
    "account-system": "app_base_user www-data is an existing account that is not this app's (its home is /var/www",
    "archive-query": 'app_base_archive must name a .tar.gz, .tgz or .zip file (a URL\'s path; its query may follow); got "https://example.invalid/x.rar?***"',
    "root-var-lib": "app_base_root must be an absolute path of letters, digits, . _ - and /, without . or .. parts, a directory of the app's own",
    "root-not-ours": "app_base_root /var/lib/apt is an existing directory, not empty, that this collection did not make",
    "root-in-an-app": "app_base_root /srv/sample/var/badinput is inside /srv/sample, the root of the app sample",
    "root-in-tmp": "app_base_root /tmp/badinput is under /tmp, which is not root's alone (owner uid 0, mode 1777)",
    "account-root": "app_base_user root is an existing account that is not this app's (its home is /root",
    "group-foreign": "app_base_group www-data is an existing group that is not the primary group of this app's account",
    "process-unknown-key": "app_base_processes[0] (worker): unknown key restart; allowed: name, command, stop_timeout, stop_signal, schedule",
    "process-name-clash": "app_base_processes[1] (worker): name worker is given to more than one process",
    "process-empty-command": "app_base_processes[0] (sender): command must be a non-empty list of arguments or a string",
    "process-shell-command": "app_base_processes[0] (sender): command, as a string, is split at blanks and no shell runs it",
    "process-path-command": "app_base_processes[0] (sender): command must start with a program of the venv",
    "process-schedule": "app_base_processes (nightly): schedule \"every night\" is not a calendar expression systemd accepts",
    "process-schedule-newline": "app_base_processes[0] (n): schedule must be a systemd calendar expression",
    "process-stop-timeout": "app_base_processes[0] (worker): stop_timeout must be a number of seconds from 1 to 86400",
}


def test_a_rerun_writes_back_drift_in_the_files_it_writes(host):
    """A rerun skips what matches (files, the account, the directories): it must still see every kind of drift."""
    files = [f"{ROOT}/run", f"{ROOT}/.env", f"{ROOT}/gunicorn.conf.py"]

    def state():
        user = host.user("sample")
        return (
            {path: (host.file(path).mode, host.file(path).group, host.file(path).content_string) for path in files},
            {path: (host.file(path).mode, host.file(path).user, host.file(path).group) for path in (ROOT, f"{ROOT}/var")},
            (user.shell, user.home, user.group),
        )

    before = state()
    host.check_output(
        f"chmod 0755 {ROOT}/run && chgrp root {ROOT}/.env && echo '# drift' >> {ROOT}/gunicorn.conf.py"
        f" && chmod 0755 {ROOT} && chown root {ROOT}/var && usermod -s /bin/bash sample"
    )
    assert state() != before
    run = run_playbook(host, SCENARIO / "converge.yml")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "changed=0" not in run.stdout.split("PLAY RECAP")[-1]
    assert state() == before
    again = run_playbook(host, SCENARIO / "converge.yml")
    assert "changed=0" in again.stdout.split("PLAY RECAP")[-1], again.stdout[-2000:]


def test_bad_input_is_refused_and_the_host_is_unchanged(host):
    before = host.check_output(SNAPSHOT)
    run = run_playbook(host, SCENARIO / "bad_input.yml")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "canary-newline-secret" not in run.stdout + run.stderr
    assert "canary-url-token" not in run.stdout + run.stderr + host.file("/tmp/bad_input_results.json").content_string
    results = {r["id"]: r for r in json.loads(host.file("/tmp/bad_input_results.json").content_string)}
    for case, fragment in BAD_CASES.items():
        assert results[case]["refused"], f"{case} was accepted"
        assert fragment in results[case]["message"], (case, results[case]["message"])
        assert "Validate" in results[case]["task"] or "argument" in results[case]["task"].lower(), results[case]["task"]
    assert host.check_output(SNAPSHOT) == before
    assert not host.user("badinput").exists


def test_the_projects_build_and_manage_commands_run_as_the_app_user_without_roots_env(host, tmp_path):
    """The requirements build an sdist of the project: its setup.py, run by pip, tries to
    write /root/pwned and records who ran it and whether root's environment reached it."""
    src = tmp_path / "sdist_src"
    shutil.copytree(Path(__file__).resolve().parents[3] / "tests/sample_app", src, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    pkg = tmp_path / "evilpkg-1.0"
    pkg.mkdir()
    (pkg / "setup.py").write_text(
        "import os\nfrom setuptools import setup\n"
        "with open('/tmp/djangoops-sdist-ran', 'a') as f:\n"
        "    f.write(f\"{os.getuid()} {os.environ.get('DJANGOOPS_ROOT_ONLY', '-')}\\n\")\n"
        "try:\n    open('/root/pwned', 'w').write('pwned')\nexcept OSError:\n    pass\n"
        "setup(name='evilpkg', version='1.0', py_modules=[])\n")
    with tarfile.open(src / "evilpkg-1.0.tar.gz", "w:gz") as sdist:
        sdist.add(pkg, arcname=pkg.name)
    (src / "requirements.txt").write_text((src / "requirements.txt").read_text() + "./evilpkg-1.0.tar.gz\n")
    host.run("rm -f /root/pwned /tmp/djangoops-sdist-ran")
    try:
        result = run_playbook(host, SCENARIO / "sdist_app.yml", "-e", f"sdist_src={src}")
        assert result.returncode == 0, result.stdout[-3000:]
        uid = host.user("sdistapp").uid
        ran = set(host.file("/tmp/djangoops-sdist-ran").content_string.splitlines())
        assert ran == {f"{uid} -"}, ran
        assert not host.file("/root/pwned").exists
        assert host.check_output("find /srv/sdistapp/venvs ! -user root -o -perm /022 ! -type l") == ""
        assert host.check_output("/srv/sdistapp/current/venv/bin/python -c 'import importlib.metadata as m; print(m.version(\"evilpkg\"))'") == "1.0"
        # manage, run by root as the README says, gets the service's environment, not root's.
        leaked = host.check_output(
            "DJANGOOPS_ROOT_ONLY=leaked runuser -u sdistapp -- /srv/sdistapp/manage shell -c "
            "\"import os; print(os.environ.get('DJANGOOPS_ROOT_ONLY'), os.environ['HOME'], os.getuid())\"")
        # (Django 5.2's shell first says how many objects it imported.)
        assert leaked.splitlines()[-1].split() == ["None", "/srv/sdistapp", str(uid)], leaked
    finally:
        run_playbook(host, SCENARIO / "sdist_app.yml", "-e", "sdist_state=absent")
        host.run("rm -f /root/pwned /tmp/djangoops-sdist-ran")


def test_a_failure_report_masks_the_apps_secrets_and_url_tokens(host, tmp_path):
    """Settings that fail with the app's secret in the message, and a git URL with a token:
    the runs fail where expected, and neither secret is in what ansible-playbook prints."""
    src = tmp_path / "failing_src"
    shutil.copytree(Path(__file__).resolve().parents[3] / "tests/sample_app", src, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    with open(src / "project" / "settings.py", "a") as settings:
        settings.write('\nraise RuntimeError("settings failed with " + SECRET_KEY)\n')
    try:
        # First, while no venv of these inputs exists: pip's environment reaches pip (its
        # index answers nothing on port 9), masked too.
        index = {"PIP_INDEX_URL": "https://pip:idx-s3cret-4242@127.0.0.1:9/simple", "PIP_RETRIES": "0", "PIP_TIMEOUT": "3"}
        assert not host.file("/srv/sdistapp").exists
        failed = run_playbook(host, SCENARIO / "sdist_app.yml", "-v", "-e", f"sdist_src={src}",
                              "-e", json.dumps({"sdist_pip_env": index}))
        out = " ".join((failed.stdout + failed.stderr).split())
        assert failed.returncode != 0 and "127.0.0.1" in out and "installed by the app user" in out, out[-3000:]
        assert "idx-s3cret-4242" not in out
        failed = run_playbook(host, SCENARIO / "sdist_app.yml", "-v", "-e", f"sdist_src={src}")
        out = " ".join((failed.stdout + failed.stderr).split())
        assert failed.returncode != 0 and "settings failed with ********" in out, out[-3000:]
        assert "sdist-secret-4242" not in out
        token = "https://deploy:t0ken-4242@127.0.0.1:9/repo.git"
        failed = run_playbook(host, SCENARIO / "sdist_app.yml", "-v", "-e", f"sdist_git={token}")
        out = " ".join((failed.stdout + failed.stderr).split())
        assert failed.returncode != 0 and "git's working copy" in out, out[-3000:]
        assert "t0ken-4242" not in out
    finally:
        run_playbook(host, SCENARIO / "sdist_app.yml", "-e", "sdist_state=absent")


def test_a_requirements_link_out_of_the_project_is_refused_unread(host, tmp_path):
    """requirements.txt -> a root-only file: refused before root hashes it or pip quotes it."""
    src = tmp_path / "linked_src"
    shutil.copytree(SAMPLE, src, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    (src / "requirements.txt").unlink()
    (src / "requirements.txt").symlink_to("/etc/djangoops-requirements-canary")
    host.check_output("printf 'canary-requirement==6.6.6\\n' > /etc/djangoops-requirements-canary"
                      " && chmod 0600 /etc/djangoops-requirements-canary")
    canary = host.check_output("stat -c '%a %U %Z' /etc/djangoops-requirements-canary")
    try:
        failed = run_playbook(host, SCENARIO / "sdist_app.yml", "-v", "-e", f"sdist_src={src}")
        out = " ".join((failed.stdout + failed.stderr).split())
        assert failed.returncode != 0 and "is a symlink (or under one) that leads out of the release" in out, out[-3000:]
        # (Where the link points is the project's own information; what is there is not.)
        assert "canary-requirement" not in out
        assert host.check_output("stat -c '%a %U %Z' /etc/djangoops-requirements-canary") == canary
        assert host.check_output("ls /srv/sdistapp/venvs") == ""
    finally:
        run_playbook(host, SCENARIO / "sdist_app.yml", "-e", "sdist_state=absent")
        host.run("rm -f /etc/djangoops-requirements-canary")


def test_an_archive_with_a_device_node_is_refused_and_never_reaches_the_app(host, tmp_path):
    """A tar member that is a character device (1:3, /dev/null's numbers; the disk's would be
    8:0): refused after unpacking, in a release root's alone, never served."""
    archive = tmp_path / "device.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(SAMPLE, arcname=".", filter=lambda info: None if "__pycache__" in info.name else info)
        device = tarfile.TarInfo("project/disk")
        device.type, device.devmajor, device.devminor, device.mode = tarfile.CHRTYPE, 1, 3, 0o666
        tar.addfile(device)
    try:
        failed = run_playbook(host, SCENARIO / "sdist_app.yml", "-e", f"sdist_archive={archive}")
        out = " ".join((failed.stdout + failed.stderr).split())
        assert failed.returncode != 0 and "holds members that are not files, directories or links (project/disk)" in out, out[-3000:]
        (release,) = host.check_output("ls -d /srv/sdistapp/releases/*").split()
        assert (host.file(release).user, host.file(release).group, host.file(release).mode) == ("root", "root", 0o700)
        assert host.run("runuser -u sdistapp -- ls " + release).rc != 0
        assert not host.file("/srv/sdistapp/current").exists
    finally:
        run_playbook(host, SCENARIO / "sdist_app.yml", "-e", "sdist_state=absent")


def test_an_archive_url_is_unpacked_only_with_its_checksum(host):
    """app_base_archive_checksum: a download whose checksum differs fails the run before any
    release of it exists; the right checksum deploys it."""
    # A project symlink to a root-only file: the deploy must not chmod it, even for an instant
    # (its ctime would move).
    host.check_output("printf 'canary\\n' > /etc/djangoops-canary && chmod 0600 /etc/djangoops-canary"
                      " && rm -rf /tmp/src && mkdir -p /tmp/src /tmp/www && cp -a /srv/sample/current/. /tmp/src/ && rm -f /tmp/src/venv"
                      " && ln -s /etc/djangoops-canary /tmp/src/evil-link"
                      " && tar -czf /tmp/www/sample_app.tar.gz -C /tmp/src .")
    canary_before = host.check_output("stat -c '%a %U %Z' /etc/djangoops-canary")
    good = "sha256:" + host.check_output("sha256sum /tmp/www/sample_app.tar.gz").split()[0]
    host.check_output("systemd-run --unit djangoops-test-www --quiet python3 -m http.server 8765 --bind 127.0.0.1 --directory /tmp/www")
    try:
        assert wait_until(host, "ss -Htln 'sport = :8765' | grep -q .", 20)
        # The fixture's own check: the archive is served.
        assert host.run("python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8765/sample_app.tar.gz').read()\"").rc == 0
        bad = run_playbook(host, SCENARIO / "url_archive.yml", "-e", "url_checksum=sha256:" + "0" * 64)
        assert bad.returncode != 0, bad.stdout[-2000:]
        said = " ".join((bad.stdout + bad.stderr).split())
        # The download's own refusal, not any failure after it.
        assert "the archive from its URL" in said and "did not match" in said, said[-2000:]
        assert host.run("ls -A /srv/urlapp/releases 2>/dev/null").stdout.strip() == ""
        assert not host.file("/srv/urlapp/current").exists
        ok = run_playbook(host, SCENARIO / "url_archive.yml", "-e", f"url_checksum={good}")
        assert ok.returncode == 0, ok.stdout[-3000:]
        assert host.file("/srv/urlapp/current/manage.py").exists
        assert host.file("/srv/urlapp/current/evil-link").is_symlink
        assert host.check_output("stat -c '%a %U %Z' /etc/djangoops-canary") == canary_before
        release = host.check_output("readlink -f /srv/urlapp/current")
        # STATIC_ROOT (static/) is collected by the app user: its own.
        modes = host.check_output(f"find {release} -path {release}/venv -prune -o -path {release}/static -prune"
                                  f" -o ! -type l -printf '%u:%g %m\\n' | sort -u")
        assert set(modes.splitlines()) <= {"root:urlapp 640", "root:urlapp 750"}, modes
    finally:
        host.run("systemctl stop djangoops-test-www")
        run_playbook(host, SCENARIO / "url_archive.yml", "-e", "url_state=absent", "-e", "url_checksum=")


def test_state_absent_removes_what_the_role_created(host):
    """Last: removes the deployment the tests above looked at."""
    run = run_playbook(host, SCENARIO / "remove.yml")
    assert run.returncode == 0, run.stdout[-3000:]
    assert not host.file(ROOT).exists
    assert not host.user("sample").exists
    assert not host.group("sample").exists
    again = run_playbook(host, SCENARIO / "remove.yml")
    assert "changed=0" in again.stdout, again.stdout[-2000:]
