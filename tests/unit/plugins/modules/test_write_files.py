"""write_files, run as Ansible runs a module (a JSON args file), on real files."""
import grp
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

COLLECTIONS = Path(__file__).resolve().parents[4] / ".cache" / "collections"
OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def run(tmp_path, files, check=False, diff=False):
    args = {"files": files, "_ansible_check_mode": check, "_ansible_diff": diff}
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "ansible_collections.djangoops.services.plugins.modules.write_files", str(args_file)],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)), check=False,
    )
    return json.loads(out.stdout), out.stdout


def spec(path, content="a = 1\n", mode="0640", secret=False):
    return {"dest": str(path), ("secret_content" if secret else "content"): content,
            "owner": OWNER, "group": GROUP, "mode": mode}


def test_writes_missing_files_with_their_mode_then_changes_nothing(tmp_path):
    conf, run_script = tmp_path / "gunicorn.conf.py", tmp_path / "run"
    files = [spec(conf), spec(run_script, "#!/bin/sh\nexec true\n", "0750")]
    result, _ = run(tmp_path, files)
    assert result["changed"] and result["changed_paths"] == [str(conf), str(run_script)]
    assert conf.read_text() == "a = 1\n" and oct(conf.stat().st_mode & 0o7777) == "0o640"
    assert oct(run_script.stat().st_mode & 0o7777) == "0o750"
    again, _ = run(tmp_path, files)
    assert not again["changed"] and again["changed_paths"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["args.json", "gunicorn.conf.py", "run"]  # no temp file left


def test_puts_back_content_and_mode_changed_by_hand(tmp_path):
    conf = tmp_path / "gunicorn.conf.py"
    run(tmp_path, [spec(conf)])
    conf.chmod(0o644)
    assert run(tmp_path, [spec(conf)])[0]["changed_paths"] == [str(conf)]
    assert oct(conf.stat().st_mode & 0o7777) == "0o640"
    inode = conf.stat().st_ino
    conf.write_text("a = 2\n")
    assert run(tmp_path, [spec(conf)])[0]["changed_paths"] == [str(conf)]
    assert conf.read_text() == "a = 1\n"
    assert conf.stat().st_ino != inode  # replaced by a rename, not rewritten in place


def test_check_mode_reports_and_writes_nothing(tmp_path):
    conf = tmp_path / "gunicorn.conf.py"
    result, _ = run(tmp_path, [spec(conf)], check=True)
    assert result["changed"] and not conf.exists()


def test_check_mode_on_a_host_without_the_owner_yet_does_not_fail(tmp_path):
    files = [dict(spec(tmp_path / "run"), owner="no-such-user-djangoops", group="no-such-group-djangoops")]
    result, _ = run(tmp_path, files, check=True)
    assert result["changed"] and not result.get("failed")
    failed, _ = run(tmp_path, files)
    assert failed["failed"] and "no such owner 'no-such-user-djangoops'" in failed["msg"]


def test_a_file_that_cannot_be_written_stops_the_others_before_any_write(tmp_path):
    first = tmp_path / "gunicorn.conf.py"
    files = [spec(first), dict(spec(tmp_path / "run"), owner="no-such-user-djangoops"), spec(tmp_path / "gone" / "x")]
    result, _ = run(tmp_path, files)
    assert result["failed"] and "no-such-user-djangoops" in result["msg"]
    assert not first.exists()
    result, _ = run(tmp_path, [spec(first), spec(tmp_path / "gone" / "x")])
    assert result["failed"] and "directory of" in result["msg"] and not first.exists()


def test_diff_shows_content_but_never_a_secret(tmp_path):
    conf, env = tmp_path / "gunicorn.conf.py", tmp_path / ".env"
    env.write_text('DJANGO_SECRET_KEY="old-canary"\n')
    result, raw = run(tmp_path, [spec(conf), spec(env, 'DJANGO_SECRET_KEY="new-canary"\n', secret=True)], diff=True)
    assert result["changed_paths"] == [str(conf), str(env)]
    by_path = {d["after_header"]: d for d in result["diff"]}
    assert by_path[str(conf)]["after"] == "a = 1\n" and by_path[str(conf)]["before"] == ""
    assert "canary" not in json.dumps(by_path[str(env)])
    assert "canary" not in raw  # nor in the invocation the module reports
    assert env.read_text() == 'DJANGO_SECRET_KEY="new-canary"\n'


@pytest.mark.parametrize("bad, message", [
    ({"mode": "rw-r-----"}, "mode must be an octal string"),
    ({"content": None}, "give content or secret_content"),
    ({"secret_content": "s3cr3t-value"}, "mutually exclusive"),
])
def test_bad_input_is_refused_with_what_is_allowed(tmp_path, bad, message):
    result, _ = run(tmp_path, [dict(spec(tmp_path / "x"), **bad)])
    assert result["failed"] and message in result["msg"]
    assert not (tmp_path / "x").exists()


def test_refuses_to_replace_what_is_not_a_regular_file(tmp_path):
    (tmp_path / "target").write_text("kept\n")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "target")
    result, _ = run(tmp_path, [spec(link)])
    assert result["failed"] and "is not a regular file" in result["msg"]
    assert (tmp_path / "target").read_text() == "kept\n"


def test_a_marker_goes_first_and_only_with_the_files_it_names(tmp_path):
    conf, manage, marker = tmp_path / "gunicorn.conf.py", tmp_path / "manage", tmp_path / ".pending"
    files = [dict(spec(marker, "pending\n", "0644"), only_with=[str(conf)]), spec(conf), spec(manage, "#!/bin/sh\n", "0750")]
    result, _ = run(tmp_path, files)
    assert result["changed_paths"] == [str(marker), str(conf), str(manage)]
    marker.unlink()
    # Only a file the marker does not name changes: no marker, and no diff for it.
    manage.write_text("#!/bin/sh\necho edited\n")
    result, _ = run(tmp_path, files, diff=True)
    assert result["changed_paths"] == [str(manage)] and not marker.exists()
    assert [d["after_header"] for d in result["diff"]] == [str(manage)]
    # A file it names changes: the marker is written, before it.
    conf.write_text("edited = 1\n")
    result, _ = run(tmp_path, files, check=True)
    assert result["changed_paths"] == [str(marker), str(conf)] and not marker.exists()
    result, _ = run(tmp_path, files)
    assert result["changed_paths"] == [str(marker), str(conf)] and marker.read_text() == "pending\n"
    # Without only_with it is written whenever it differs.
    marker.unlink()
    result, _ = run(tmp_path, [spec(marker, "pending\n", "0644")] + files[1:])
    assert result["changed_paths"] == [str(marker)]
