"""venv_clone, run as Ansible runs a module (a JSON args file), on a venv-shaped tree."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COLLECTIONS = Path(__file__).resolve().parents[4] / ".cache" / "collections"
STAMP = ".djangoops-stamp"
STAMP_CONTENT = "python: python3\nrequirements: requirements.txt sha256:abc\npackages: [\"gunicorn\"]\n"


def run(tmp_path, check=False, **args):
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check)}), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "ansible_collections.djangoops.services.plugins.modules.venv_clone", str(args_file)],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)), check=False,
    )
    return json.loads(out.stdout)


@pytest.fixture
def venv(tmp_path):
    """What `python3 -m venv` and pip leave that names the venv's own path."""
    root = tmp_path / "srv" / "blog" / "venv"
    (root / "bin").mkdir(parents=True)
    (root / "lib" / "site-packages" / "gunicorn").mkdir(parents=True)
    (root / "lib" / "site-packages" / "gunicorn" / "__init__.py").write_text("version = 1\n")
    (root / "bin" / "python").symlink_to(sys.executable)
    script = root / "bin" / "gunicorn"
    script.write_text(f"#!{root}/bin/python\nfrom gunicorn.app.wsgiapp import run\nrun()\n")
    script.chmod(0o755)
    # A path that only starts like the venv's (another app's) is not the venv.
    (root / "bin" / "activate").write_text(f"VIRTUAL_ENV='{root}'\nOTHER='{root}2/bin'\n")
    (root / "pyvenv.cfg").write_text(f"home = /usr/bin\ncommand = /usr/bin/python3 -m venv {root}\n")
    (root / STAMP).write_text(STAMP_CONTENT)
    return root


def test_copies_a_venv_of_the_same_inputs_and_points_it_at_its_new_place(venv, tmp_path):
    dest = tmp_path / "srv" / "shop" / "venv"
    dest.parent.mkdir()
    result = run(tmp_path, src=str(venv), dest=str(dest), stamp=STAMP, stamp_content=STAMP_CONTENT)
    assert result["changed"] and result["cloned"] and result["reason"] == ""
    assert (dest / "bin" / "gunicorn").read_text().splitlines()[0] == f"#!{dest}/bin/python"
    assert os.access(dest / "bin" / "gunicorn", os.X_OK)
    assert (dest / "bin" / "activate").read_text() == f"VIRTUAL_ENV='{dest}'\nOTHER='{venv}2/bin'\n"
    assert (dest / "pyvenv.cfg").read_text().endswith(f"venv {dest}\n")
    assert os.readlink(dest / "bin" / "python") == sys.executable
    assert (dest / STAMP).read_text() == STAMP_CONTENT
    assert (dest / "lib" / "site-packages" / "gunicorn" / "__init__.py").read_text() == "version = 1\n"
    # The source is untouched and no staging directory is left behind.
    assert (venv / "bin" / "gunicorn").read_text().startswith(f"#!{venv}/bin/python")
    assert sorted(p.name for p in dest.parent.iterdir()) == ["venv"]


@pytest.mark.parametrize("spoil, reason", [
    (lambda venv, dest: (venv / STAMP).write_text("python: python3.12\n"), "not built from the same inputs"),
    (lambda venv, dest: (venv / STAMP).unlink(), "not built from the same inputs"),
    (lambda venv, dest: dest.mkdir(), "exists"),
    (lambda venv, dest: (venv / "bin" / "python").unlink(), "is not a venv"),
])
def test_copies_nothing_when_the_copy_would_be_wrong(venv, tmp_path, spoil, reason):
    dest = tmp_path / "srv" / "shop" / "venv"
    dest.parent.mkdir()
    spoil(venv, dest)
    result = run(tmp_path, src=str(venv), dest=str(dest), stamp=STAMP, stamp_content=STAMP_CONTENT)
    assert not result["changed"] and not result["cloned"] and reason in result["reason"]
    assert not (dest / "bin").exists()


def test_check_mode_reports_the_copy_and_makes_none(venv, tmp_path):
    dest = tmp_path / "shop-venv"
    result = run(tmp_path, check=True, src=str(venv), dest=str(dest), stamp=STAMP, stamp_content=STAMP_CONTENT)
    assert result["changed"] and result["cloned"] and not dest.exists()


def test_refuses_to_copy_a_venv_onto_itself(venv, tmp_path):
    result = run(tmp_path, src=str(venv), dest=str(venv) + "/", stamp=STAMP, stamp_content=STAMP_CONTENT)
    assert result["failed"] and "same venv" in result["msg"]
