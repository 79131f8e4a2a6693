"""tree_state and checksums, run as Ansible runs a module (a JSON args file), on real trees."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.djangoops.services.plugins.module_utils.tree import (
    differences, excluded, host_state, manifest, pack, unsafe_paths)

COLLECTIONS = Path(__file__).resolve().parents[4] / ".cache" / "collections"


def run_module(name, tmp_path, **args):
    args_file = tmp_path / f"{name}-args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
    out = subprocess.run(
        [sys.executable, "-m", f"ansible_collections.djangoops.services.plugins.modules.{name}", str(args_file)],
        capture_output=True, text=True, env=env, check=False,
    )
    return json.loads(out.stdout)


@pytest.fixture
def trees(tmp_path):
    """A controller tree and a host copy of it, 0640 files and 0750 directories."""
    src, dest = tmp_path / "src", tmp_path / "dest"
    for root in (src, dest):
        (root / "project").mkdir(parents=True)
        (root / "empty").mkdir()
        (root / "manage.py").write_text("print('manage')\n", encoding="utf-8")
        (root / "project" / "settings.py").write_text("DEBUG = False\n", encoding="utf-8")
    for path in [dest / "project", dest / "empty"]:
        path.chmod(0o750)
    for path in [dest / "manage.py", dest / "project" / "settings.py"]:
        path.chmod(0o640)
    (dest / "venv").mkdir()  # beyond the tree: the roles' (protected) in the module tests
    return src, dest


def test_manifest_lists_files_with_sha1_and_dirs(trees):
    src, _ = trees
    tree = manifest(str(src))
    assert tree["dirs"] == ["empty", "project"]
    assert tree["files"] == {
        "manage.py": hashlib.sha1(b"print('manage')\n").hexdigest(),
        "project/settings.py": hashlib.sha1(b"DEBUG = False\n").hexdigest(),
    }


def test_manifest_keeps_symlinks_as_links_and_never_follows_them(trees, tmp_path):
    src, _ = trees
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside\n", encoding="utf-8")
    (src / "outside_link").symlink_to(outside)
    (src / "alias.py").symlink_to("manage.py")
    tree = manifest(str(src))
    assert tree["links"] == {"alias.py": "manage.py", "outside_link": str(outside)}
    assert not any("secret" in rel for rel in list(tree["files"]) + tree["dirs"])


@pytest.mark.parametrize(
    "pattern, rel, is_dir, hit",
    [
        (".git/", ".git", True, True),
        (".git/", "sub/.git", True, True),
        (".git/", ".git", False, False),  # a .git file (a worktree's) is not the directory pattern
        ("*.pyc", "a/b/c.pyc", False, True),
        (".env", "sub/.env", False, True),
        ("/run", "run", False, True),
        ("/run", "project/run", False, False),  # a leading / anchors at the top
        ("docs/build", "docs/build", True, True),
        ("docs/build", "x/docs/build", True, False),
        ("node_modules/", "node_modules", True, True),
    ],
)
def test_exclude_patterns_read_like_gitignore(pattern, rel, is_dir, hit):
    assert excluded(rel, is_dir, [pattern]) is hit


def test_manifest_leaves_out_excluded_paths(trees):
    src, _ = trees
    (src / ".git").mkdir()
    (src / ".git" / "config").write_text("url = https://token@x\n", encoding="utf-8")
    (src / "project" / "__pycache__").mkdir()
    (src / "project" / "__pycache__" / "settings.cpython-311.pyc").write_bytes(b"x")
    (src / ".env").write_text("SECRET=1\n", encoding="utf-8")
    tree = manifest(str(src), [".git/", "__pycache__/", "*.pyc", ".env"])
    assert tree["dirs"] == ["empty", "project"]
    assert sorted(tree["files"]) == ["manage.py", "project/settings.py"]


def test_host_state_names_what_the_tree_no_longer_has_and_keeps_the_apps_directories(trees):
    src, dest = trees
    (dest / "project" / "legacy.py").write_text("x = 1\n", encoding="utf-8")
    (dest / "old_pkg").mkdir()
    (dest / "old_pkg" / "mod.py").write_text("x = 1\n", encoding="utf-8")
    (dest / "media").mkdir()
    (dest / "media" / "upload.txt").write_text("the app's\n", encoding="utf-8")
    os.chown(dest / "media", 65534, 65534)
    extra, kept = host_state(str(dest), manifest(str(src)), os.getuid(), {"venv"})
    assert extra == ["old_pkg", "project/legacy.py"]  # topmost only: old_pkg/mod.py goes with old_pkg
    assert kept == ["media"]


def test_nothing_under_a_kept_directory_is_compared(trees):
    src, dest = trees
    (src / "media").mkdir()
    (src / "media" / "dev-upload.txt").write_text("the developer's\n", encoding="utf-8")
    (dest / "media").mkdir()
    os.chown(dest / "media", 65534, 65534)
    assert differences(str(dest), manifest(str(src)), os.getuid(), None, 0o640, 0o750, kept=["media"]) == []
    assert differences(str(dest), manifest(str(src)), os.getuid(), None, 0o640, 0o750) != []


def test_a_changed_symlink_is_a_difference(trees):
    src, dest = trees
    (src / "alias.py").symlink_to("manage.py")
    (dest / "alias.py").symlink_to("project/settings.py")
    assert differences(str(dest), manifest(str(src)), None, None, 0o640, 0o750) == [
        "alias.py: symlink to project/settings.py, wanted manage.py"]


def test_an_identical_tree_matches(trees):
    src, dest = trees
    assert differences(str(dest), manifest(str(src)), os.getuid(), os.getgid(), 0o640, 0o750) == []


@pytest.mark.parametrize(
    "spoil, why",
    [
        (lambda d: (d / "manage.py").write_text("changed\n", encoding="utf-8"), "manage.py: content differs"),
        (lambda d: (d / "manage.py").unlink(), "manage.py: file missing"),
        (lambda d: (d / "manage.py").chmod(0o644), "manage.py: file mode 0644, wanted 0640"),
        (lambda d: (d / "project").chmod(0o755), "project: directory mode 0755, wanted 0750"),
        (lambda d: (d / "empty").rmdir(), "empty: directory missing"),
    ],
)
def test_each_kind_of_drift_is_a_difference(trees, spoil, why):
    src, dest = trees
    spoil(dest)
    assert differences(str(dest), manifest(str(src)), None, None, 0o640, 0o750) == [why]


def test_a_symlink_on_the_host_is_not_the_file(trees):
    src, dest = trees
    (dest / "manage.py").unlink()
    (dest / "manage.py").symlink_to(dest / "project" / "settings.py")
    assert differences(str(dest), manifest(str(src)), None, None, 0o640, 0o750) == ["manage.py: not a regular file"]


def test_owner_is_checked(trees):
    src, dest = trees
    found = differences(str(dest), manifest(str(src)), os.getuid() + 1, None, 0o640, 0o750)
    assert found and "owner uid" in found[0]


def test_paths_that_leave_the_destination_are_unsafe():
    tree = {"files": {"../etc/passwd": "x", "ok.py": "y", "/abs": "z"}, "dirs": ["a/../.."]}
    assert sorted(unsafe_paths(tree)) == ["../etc/passwd", "/abs", "a/../.."]


def test_module_reports_match_without_change(trees, tmp_path):
    src, dest = trees
    args = {"path": str(dest), "tree": manifest(str(src)), "protected": ["venv"]}
    result = run_module("tree_state", tmp_path, **args)
    assert result["matches"] is True and result["changed"] is False and result["checked"] == 4
    assert result["extra"] == [] and result["kept"] == []
    (dest / "project" / "settings.py").write_text("DEBUG = True\n", encoding="utf-8")
    result = run_module("tree_state", tmp_path, **args)
    assert result["matches"] is False
    assert result["differences"] == ["project/settings.py: content differs"]


def test_module_reports_a_file_the_tree_no_longer_has(trees, tmp_path):
    src, dest = trees
    (dest / "legacy.py").write_text("x = 1\n", encoding="utf-8")
    result = run_module("tree_state", tmp_path, path=str(dest), tree=manifest(str(src)), protected=["venv"])
    assert result["matches"] is False
    assert result["extra"] == ["legacy.py"] and result["differences"] == ["legacy.py: not in the tree"]


def test_module_refuses_a_tree_that_leaves_path(trees, tmp_path):
    _, dest = trees
    result = run_module("tree_state", tmp_path, path=str(dest), tree={"files": {"../x": "0"}, "dirs": []})
    assert result["failed"] and "outside path" in result["msg"]


def test_an_unknown_group_never_matches(trees, tmp_path):
    src, dest = trees
    result = run_module("tree_state", tmp_path, path=str(dest), tree=manifest(str(src)), group="no-such-group-xyz")
    assert result["matches"] is False


def test_checksums_module_gives_sha256_or_null(tmp_path):
    present = tmp_path / "requirements.txt"
    present.write_text("Django==5.2\n", encoding="utf-8")
    result = run_module("checksums", tmp_path, paths=[str(present), str(tmp_path / "missing"), str(tmp_path)])
    assert result["changed"] is False and "warnings" not in result
    assert result["checksums"] == {
        str(present): hashlib.sha256(b"Django==5.2\n").hexdigest(),
        str(tmp_path / "missing"): None,
        str(tmp_path): None,
    }


def test_pack_writes_normalised_members_that_unpack_to_a_matching_tree(trees, tmp_path):
    """What the tree_copy action sends: root-owned members of the app group, the asked modes,
    symlinks as symlinks, nothing excluded or skipped."""
    import tarfile

    src, _ = trees
    (src / "manage.py").chmod(0o755)  # an executable on the controller still unpacks as 0640
    (src / "alias.py").symlink_to("manage.py")
    (src / "x.pyc").write_bytes(b"x")
    (src / "media").mkdir()
    (src / "media" / "dev-upload.txt").write_text("x", encoding="utf-8")
    archive, members = pack(str(src), 0o640, 0o750, group="app", exclude=["*.pyc"], skip=["media"])
    try:
        assert members == 5
        with tarfile.open(archive) as tar:
            found = {m.name: m for m in tar.getmembers()}
            assert sorted(found) == ["alias.py", "empty", "manage.py", "project", "project/settings.py"]
            assert {(m.uid, m.gid, m.uname, m.gname) for m in found.values()} == {(0, 0, "root", "app")}
            assert found["alias.py"].issym() and found["alias.py"].linkname == "manage.py"
            assert oct(found["manage.py"].mode) == oct(0o640) and oct(found["project"].mode) == oct(0o750)
            unpacked = tmp_path / "unpacked"
            tar.extractall(unpacked, filter="fully_trusted")
        tree = manifest(str(src), ["*.pyc", "/media"])
        assert differences(str(unpacked), tree, None, None, 0o640, 0o750) == []
    finally:
        os.unlink(archive)


def test_checksums_module_reports_owner_group_and_mode(tmp_path):
    import grp
    import pwd

    from ansible_collections.djangoops.services.plugins.filter.file_record import file_record

    run = tmp_path / "run"
    run.write_text("#!/bin/bash\nexec true\n", encoding="utf-8")
    run.chmod(0o750)
    owner, group = pwd.getpwuid(os.getuid())[0], grp.getgrgid(os.getgid())[0]
    result = run_module("checksums", tmp_path, paths=[str(run), str(tmp_path / "missing")])
    entry = {"dest": str(run), "content": "#!/bin/bash\nexec true\n", "owner": owner, "group": group, "mode": "0750"}
    assert result["files"] == {str(run): file_record(entry), str(tmp_path / "missing"): None}
    # Any attribute the role would set differently makes the record differ.
    assert result["files"][str(run)] != file_record(dict(entry, mode="0755"))
    assert result["files"][str(run)] != file_record(dict(entry, content="#!/bin/bash\nexec false\n"))


def test_checksums_module_reports_directories_accounts_and_groups(tmp_path):
    import grp
    import pwd

    (tmp_path / "var").mkdir()
    (tmp_path / "var").chmod(0o750)
    (tmp_path / "file").write_text("x", encoding="utf-8")
    me = pwd.getpwuid(os.getuid())
    owner, group = me.pw_name, grp.getgrgid(os.getgid())[0]
    result = run_module(
        "checksums", tmp_path, paths=[],
        directories=[str(tmp_path / "var"), str(tmp_path / "file"), str(tmp_path / "missing")],
        accounts=[owner, "djangoops-no-such-user"],
        groups=[group, "djangoops-no-such-group"],
    )
    assert result["changed"] is False
    assert result["directories"] == {
        str(tmp_path / "var"): {"owner": owner, "group": group, "mode": "0750"},
        # A file where a directory should be is not a directory the role can skip creating.
        str(tmp_path / "file"): None,
        str(tmp_path / "missing"): None,
    }
    assert result["accounts"] == {
        owner: {"group": grp.getgrgid(me.pw_gid)[0], "home": me.pw_dir, "shell": me.pw_shell},
        "djangoops-no-such-user": None,
    }
    assert result["groups"] == {group: True, "djangoops-no-such-group": False}


def test_a_directory_that_became_a_symlink_is_extra_so_it_goes_before_the_unpack(trees):
    src, dest = trees
    (src / "empty").rmdir()
    (src / "empty").symlink_to("project")
    extra, _ = host_state(str(dest), manifest(str(src)), os.getuid(), {"venv"})
    assert extra == ["empty"]


def test_module_keeps_the_listed_directories_whoever_owns_them(trees, tmp_path):
    """A root-owned media directory (restored by hand) that the project does not have is not
    removed when the last run listed it; its content is not compared or sent either."""
    src, dest = trees
    (dest / "media").mkdir()
    (dest / "media" / "upload.txt").write_text("the app's\n", encoding="utf-8")
    (src / "media").mkdir()
    (src / "media" / "dev-upload.txt").write_text("the developer's\n", encoding="utf-8")
    listed = tmp_path / "data-dirs.json"
    args = {"path": str(dest), "tree": manifest(str(src)), "protected": ["venv"]}
    unlisted = run_module("tree_state", tmp_path, **args)
    assert unlisted["kept"] == [] and "media/dev-upload.txt: file missing" in unlisted["differences"]
    listed.write_text('["media"]\n', encoding="utf-8")
    result = run_module("tree_state", tmp_path, **args, protected_list=str(listed))
    assert result["matches"] is True and result["extra"] == [] and result["kept"] == ["media"]
    missing = run_module("tree_state", tmp_path, **args, protected_list=str(tmp_path / "none.json"))
    assert missing["kept"] == unlisted["kept"]
    listed.write_text('{"media": 1}', encoding="utf-8")
    assert run_module("tree_state", tmp_path, **args, protected_list=str(listed))["failed"]
