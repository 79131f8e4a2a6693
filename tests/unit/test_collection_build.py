"""The tarball users install: built by ansible-galaxy, without venvs, caches or images."""
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNWANTED = (".venv/", ".cache/", ".git/", "__pycache__", ".pyc", ".tar.gz", "molecule/", ".pytest_cache",
            "tests/", "docs/", "changelogs/fragments/", "changelogs/.plugin-cache.yaml",
            "requirements")


def test_build_excludes_venvs_caches_and_test_scaffolding(tmp_path, ansible_cli):
    subprocess.run(
        [ansible_cli("ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    (tarball,) = tmp_path.glob("djangoops-services-*.tar.gz")
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    print(f"\n{tarball.name}: {tarball.stat().st_size} bytes, {len(names)} members")
    assert "galaxy.yml" not in names and "MANIFEST.json" in names
    assert "meta/runtime.yml" in names and "LICENSE" in names
    assert "plugins/filter/envfile.py" in names
    assert "roles/app_base/meta/argument_specs.yml" in names and "playbooks/deploy.yml" in names
    assert "CHANGELOG.rst" in names and "README.md" in names
    offenders = [n for n in names if any(u in n + ("/" if not n.endswith("/") else "") for u in UNWANTED)]
    assert offenders == []
