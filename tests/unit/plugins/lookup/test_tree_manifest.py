"""The tree_manifest lookup as templates call it."""
import hashlib

import pytest
from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader


def tree_manifest():
    """The plugin as Ansible loads it: its options come from its documentation, which ansible-core
    2.16 only reads for a plugin its loader made."""
    return lookup_loader.get("djangoops.services.tree_manifest")


def test_lookup_returns_one_manifest_per_directory(tmp_path):
    """The manifests of the trees, as written here (not compared with the helper it calls)."""
    one, two = tmp_path / "one", tmp_path / "two"
    (one / "pkg").mkdir(parents=True)
    (one / "app.py").write_text("x = 1\n", encoding="utf-8")
    (one / "pkg" / "mod.py").write_text("y = 2\n", encoding="utf-8")
    (one / "alias.py").symlink_to("app.py")
    two.mkdir()
    assert tree_manifest().run([str(one), str(two)]) == [
        {"files": {"app.py": hashlib.sha1(b"x = 1\n").hexdigest(), "pkg/mod.py": hashlib.sha1(b"y = 2\n").hexdigest()},
         "dirs": ["pkg"], "links": {"alias.py": "app.py"}},
        {"files": {}, "dirs": [], "links": {}},
    ]


def test_lookup_leaves_out_the_excluded_paths(tmp_path):
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "app.pyc").write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("[remote]\n", encoding="utf-8")
    assert tree_manifest().run([str(tmp_path)], exclude=["*.pyc", ".git/"]) == [
        {"files": {"app.py": hashlib.sha1(b"x = 1\n").hexdigest()}, "dirs": [], "links": {}}]


def test_lookup_names_a_missing_directory(tmp_path):
    with pytest.raises(AnsibleLookupError, match="cannot read .*missing"):
        tree_manifest().run([str(tmp_path / "missing")])
