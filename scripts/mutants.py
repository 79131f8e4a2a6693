"""make mutants: break one promise of the README at a time and show which test catches it.

Each mutant is one textual change to one file of the collection (the old text must occur
exactly once: the breakage is known to be in place). It is applied to a throwaway copy of
the tree under $MUTANTS_DIR/<id>, and only the scenario and tests that should catch it
run there: `molecule test` on one platform with create, prepare, converge, verify, destroy,
in containers of its own (<platform>-mut).
A mutant is caught when the deploy itself fails at the task named (the post-deploy proof is
a promise too) or when one of the tests named fails. Before a scenario's mutants, its
control runs the same tests on an unchanged copy: they must pass, or a "catch" would prove
nothing.

    python3 scripts/mutants.py [--jobs N] [ID ...]     (default: every mutant, 2 scenarios at a time)

Prints a table (mutant, what breaks, caught by / SURVIVED) and writes it to
$MUTANTS_DIR/table.md (default /var/tmp/djangoops-mutants). Exits non-zero when a control fails or a mutant is not caught by
what the list says catches it.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Outside this checkout: Molecule takes its base config from the enclosing git work tree's
# .config/molecule, which would be this checkout's, not the copy's (each copy is its own).
WORK = Path(os.environ.get("MUTANTS_DIR", "/var/tmp/djangoops-mutants"))

# id, promise broken, file, old text, new text, scenario, platform, caught by: tests
# (names) and/or "deploy: <task name fragment>".
MUTANTS = [
    dict(id="run-without-exec", promise="the run script execs gunicorn",
         file="roles/app_base/templates/run.j2",
         old='exec "$VIRTUAL_ENV/bin/gunicorn"', new='"$VIRTUAL_ENV/bin/gunicorn"',
         scenario="supervisor", platform="supervisor-debian13",
         caught_by=["deploy: PID is gunicorn's master, not a shell"]),
    dict(id="pdeathsig-removed", promise="workers die with their master (Supervisor, kill -9)",
         file="roles/app_base/templates/gunicorn.conf.py.j2",
         old="    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)\n",
         new="",
         scenario="supervisor", platform="supervisor-debian13",
         caught_by=["test_kill_9_of_the_master_brings_a_new_master_alone"]),
    dict(id="env-change-restarts", promise="a new env value reloads (same master), no restart",
         file="roles/django_supervisor/tasks/service.yml",
         old="(app_base_changes.run or app_base_changes.venv or app_base_changes.pending) and",
         new="(app_base_changes.run or app_base_changes.venv or app_base_changes.pending or app_base_changes.env) and",
         scenario="supervisor", platform="supervisor-debian13",
         caught_by=["test_redeploy_with_a_new_env_value_makes_it_live_with_the_same_master"]),
    dict(id="env-not-reread-on-hup", promise="a reload (HUP) re-reads the env file",
         file="roles/app_base/templates/gunicorn.conf.py.j2",
         old="os.environ.update(_env)\n", new="_env = {}\n",
         scenario="supervisor", platform="supervisor-debian13",
         caught_by=["test_redeploy_with_a_new_env_value_makes_it_live_with_the_same_master"]),
    dict(id="supervisor-logs-world-readable", promise="Supervisor's logs are the app's alone",
         file="roles/django_supervisor/tasks/configure.yml",
         old='    mode: "0750"\n', new='    mode: "0755"\n',
         scenario="supervisor", platform="supervisor-debian13",
         caught_by=["test_logs_are_kept_from_other_accounts"]),
    dict(id="bounding-set-dropped", promise="the master holds CAP_NET_BIND_SERVICE and nothing else",
         file="roles/django_systemd/templates/app.service.j2",
         old="CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n", new="",
         scenario="systemd", platform="systemd-debian13",
         caught_by=["test_master_has_exactly_cap_net_bind_service"]),
    dict(id="systemd-env-change-restarts", promise="a new env value reloads (same MainPID), no restart",
         file="roles/django_systemd/tasks/service.yml",
         old="or app_base_changes.run or app_base_changes.venv or app_base_changes.pending }}",
         new="or app_base_changes.run or app_base_changes.venv or app_base_changes.pending or app_base_changes.env }}",
         scenario="systemd", platform="systemd-debian13",
         caught_by=["test_redeploy_with_a_new_env_value_makes_it_live_without_a_restart"]),
    dict(id="env-file-0644", promise=".env is readable by root and the app group only",
         file="roles/app_base/tasks/configure.yml",
         old='    mode: "0640"\n  no_log: true\n', new='    mode: "0644"\n  no_log: true\n',
         scenario="app_base", platform="app_base-debian12",
         caught_by=["test_env_file_is_hidden_from_other_users", "test_tree_ownership_and_modes"]),
    dict(id="name-regex-loosened", promise="bad input is refused before any change",
         file="roles/app_base/tasks/validate.yml",
         old="app_base_name is match('^[a-z][a-z0-9_-]{0,31}\\\\Z')",
         new="app_base_name is match('^[a-zA-Z0-9_./-]+')",
         scenario="app_base", platform="app_base-debian12",
         caught_by=["test_bad_input_is_refused_and_the_host_is_unchanged"]),
    dict(id="manage-keeps-callers-env", promise="manage.py never sees root's environment",
         file="roles/app_base/templates/manage.j2",
         old='if [ -z "${DJANGOOPS_MANAGE_ENV:-}" ]; then', new='if false; then',
         scenario="app_base", platform="app_base-debian12",
         caught_by=["test_the_projects_build_and_manage_commands_run_as_the_app_user_without_roots_env"]),
    dict(id="failure-report-unmasked", promise="a failure report masks the app's secrets",
         file="roles/app_base/tasks/deploy.yml",
         old='msg: "{{ app_base__redacted }}"', new='msg: "{{ app_base__redact_text }}"',
         scenario="app_base", platform="app_base-debian12",
         caught_by=["test_a_failure_report_masks_the_apps_secrets_and_url_tokens"]),
    dict(id="process-without-exec", promise="each process's run script execs its command",
         file="roles/app_base/templates/process.j2",
         old='exec "$VIRTUAL_ENV/bin/"{{', new='"$VIRTUAL_ENV/bin/"{{',
         scenario="processes", platform="processes-supervisor12",
         caught_by=["deploy: each PID the manager watches is the command's, not a shell"]),
    dict(id="rollback-stays-on-the-new-release", promise="a release that fails its proof is rolled back",
         file="roles/django_supervisor/tasks/rollback.yml",
         old='app_base__switch_to: "{{ app_base__releases }}/{{ app_base__current_id }}"',
         new='app_base__switch_to: "{{ app_base__release }}"',
         scenario="processes", platform="processes-supervisor12",
         caught_by=["test_a_release_whose_worker_cannot_start_is_rolled_back"]),
    dict(id="excludes-ignored", promise="the working copy's clutter (.git, .env, .venv) stays off the host",
         file="roles/app_base/tasks/release_files.yml",
         old='exclude: "{{ app_base__src_exclude }}"', new="exclude: []",
         scenario="django_project", platform="django_project-supervisor12",
         caught_by=["test_the_working_copys_clutter_is_not_on_the_host"]),
    dict(id="proof-accepts-any-status", promise="the post-deploy proof fails a deploy whose health path answers wrong",
         file="roles/app_base/tasks/health.yml",
         old="status_code: \"{{ app_base__health_status if app_base__health_path else range(100, 500) | list }}\"",
         new="status_code: \"{{ range(100, 600) | list }}\"",
         scenario="django_project", platform="django_project-supervisor12",
         caught_by=["test_a_bad_health_path_fails_the_deploy_naming_the_status"]),
]

# The mutant runs need only these steps (check mode and idempotence prove other things).
SEQUENCE = "  test_sequence:\n    - destroy\n    - create\n    - prepare\n    - converge\n    - verify\n    - destroy\n"
IGNORE = shutil.ignore_patterns(".git", ".venv", ".cache", "__pycache__", "*.pyc")
PRINT = threading.Lock()


def say(text):
    with PRINT:
        print(text, flush=True)


def tests_of(mutants):
    return sorted({c for m in mutants for c in m["caught_by"] if not c.startswith("deploy: ")})


def copy_tree(name, mutant=None):
    dest = WORK / name
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(ROOT, dest, ignore=IGNORE, symlinks=True)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    # Molecule finds its base config at the top of the enclosing git work tree.
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    link = dest / ".cache/collections/ansible_collections/djangoops/services"
    link.parent.mkdir(parents=True)
    link.symlink_to("../../../..")
    (dest / ".cache/wheels").symlink_to(ROOT / ".cache/wheels")
    # The Molecule base's Mitogen strategy (make collection links it in the checkout).
    (dest / ".cache/mitogen-strategy").symlink_to(os.path.realpath(ROOT / ".cache/mitogen-strategy"))
    config = dest / ".config/molecule/config.yml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"  test_sequence:\n(    - \w+\n)+", SEQUENCE, text), encoding="utf-8")
    # Containers of their own (<platform>-mut), so a mutant never meets a container of
    # `make test` or of a scenario run under the same name.
    for molecule_yml in [config, *dest.glob("molecule/*/molecule.yml")]:
        text = molecule_yml.read_text(encoding="utf-8")
        for name in re.findall(r"^  - name: (\S+)$", text, re.M):
            text = re.sub(rf"^(\s*(?:- name: )?){re.escape(name)}(:?)$", rf"\g<1>{name}-mut\g<2>", text, flags=re.M)
        molecule_yml.write_text(text, encoding="utf-8")
    if mutant:
        target = dest / mutant["file"]
        text = target.read_text(encoding="utf-8")
        count = text.count(mutant["old"])
        if count != 1:
            raise SystemExit(f"mutant {mutant['id']}: the text to change occurs {count} times in {mutant['file']}, not once")
        target.write_text(text.replace(mutant["old"], mutant["new"]), encoding="utf-8")
    return dest


def run(name, scenario, platform_name, tests, mutant=None):
    """molecule test in a copy; returns (deploy failure task or None, failed tests, passed tests)."""
    dest = copy_tree(name, mutant)
    selected = " or ".join(tests or ["no_test_selected"])
    env = dict(os.environ, PY_COLORS="0", ANSIBLE_FORCE_COLOR="false", PYTEST_ADDOPTS=f"-p no:cacheprovider -rA -k '{selected}'")
    log = WORK / f"{name}.log"
    with open(log, "w", encoding="utf-8") as out:
        subprocess.run(["molecule", "test", "--no-command-borders", "-s", scenario, "--platform-name", platform_name + "-mut"],
                       cwd=dest, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    text = log.read_text(encoding="utf-8", errors="replace")
    # The converge's output; a deploy that failed names its first failed task (a failure
    # rescued inside a role shows as fatal too, and comes first: it is the cause).
    converge = re.search(r"> converge\] Executing\n(.*?)> converge\] Executed: (\w+)", text, re.S)
    deploy_failure = None
    if converge is None or converge.group(2) != "Successful":
        task = "(no converge output)"
        rest = converge.group(1) if converge else text.split("> converge] Executing", 1)[-1]
        for line in rest.splitlines():
            header = re.match(r"TASK \[(.*)\]", line)
            if header:
                task = header.group(1)
            elif re.match(r"(fatal|failed): \[", line):
                break
        deploy_failure = task
    outcomes = re.findall(r"^(PASSED|FAILED|ERROR) \S+::(test_\w+)", text, re.M)
    failed = sorted({name for outcome, name in outcomes if outcome != "PASSED"})
    passed = sorted({name for outcome, name in outcomes if outcome == "PASSED"})
    shutil.rmtree(dest, ignore_errors=True)
    return deploy_failure, failed, passed, log


def verdict(mutant, deploy_failure, failed):
    if deploy_failure:
        catchers = [f"deploy: {deploy_failure}"]
    else:
        catchers = failed
    expected = [c for c in catchers
                for want in mutant["caught_by"]
                if (want.startswith("deploy: ") and c.startswith("deploy: ") and want[8:] in c) or want == c]
    if expected:
        return True, ", ".join(expected)
    if catchers:
        return False, "caught elsewhere: " + ", ".join(catchers)
    return False, "**SURVIVED**"


def scenario_lane(group, results):
    scenario, platform_name, mutants = group
    tests = tests_of(mutants)
    say(f"control: {scenario} ({platform_name}), tests: {', '.join(tests) or 'the deploy'}")
    deploy_failure, failed, passed, log = run(f"control-{scenario}", scenario, platform_name, tests)
    missing = [t for t in tests if t not in passed]
    if deploy_failure or failed or missing:
        say(f"CONTROL FAILED: {scenario}: deploy {deploy_failure}, failed {failed}, not run {missing} (log: {log})")
        for m in mutants:
            results[m["id"]] = (False, "control failed: nothing proven")
        return
    say(f"control passed: {scenario}: {len(passed)} tests")
    for mutant in mutants:
        deploy_failure, failed, passed, log = run(mutant["id"], scenario, platform_name, tests_of([mutant]), mutant)
        ok, text = verdict(mutant, deploy_failure, failed)
        results[mutant["id"]] = (ok, text)
        say(f"{'caught' if ok else 'NOT CAUGHT'}: {mutant['id']}: {text} (log: {log})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("MUTANT_JOBS", "2")))
    parser.add_argument("ids", nargs="*")
    args = parser.parse_args()
    unknown = set(args.ids) - {m["id"] for m in MUTANTS}
    if unknown:
        raise SystemExit(f"unknown mutants: {', '.join(sorted(unknown))}")
    chosen = [m for m in MUTANTS if not args.ids or m["id"] in args.ids]
    WORK.mkdir(parents=True, exist_ok=True)
    groups = {}
    for m in chosen:
        groups.setdefault((m["scenario"], m["platform"]), []).append(m)
    results = {}
    started = datetime.datetime.now(datetime.timezone.utc)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(lambda item: scenario_lane((item[0][0], item[0][1], item[1]), results), groups.items()))
    minutes = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds() / 60
    caught = sum(1 for m in chosen if results.get(m["id"], (False,))[0])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
    lines = [f"`make mutants` on {commit}, {started:%Y-%m-%d %H:%M} UTC, {minutes:.0f} min, "
             f"{platform.node()} ({os.cpu_count()} cores): **{caught} caught / {len(chosen)}**", "",
             "| mutant | promise it breaks | file | scenario | caught by |", "| --- | --- | --- | --- | --- |"]
    for m in chosen:
        ok, text = results.get(m["id"], (False, "not run"))
        lines.append(f"| {m['id']} | {m['promise']} | {m['file']} | {m['scenario']} | {text.replace('|', chr(92) + '|')} |")
    table = "\n".join(lines)
    (WORK / "table.md").write_text(table + "\n", encoding="utf-8")
    print(f"\n(also in {WORK / 'table.md'})")
    print("\n" + table)
    sys.exit(0 if caught == len(chosen) else 1)


if __name__ == "__main__":
    main()
