"""The tree_manifest lookup as templates call it."""
import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.djangoops.services.plugins.lookup.tree_manifest import LookupModule
from ansible_collections.djangoops.services.plugins.module_utils.tree import manifest


def lookup():
    return LookupModule()


def test_lookup_returns_one_manifest_per_directory(tmp_path):
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "app.pyc").write_bytes(b"x")
    assert lookup().run([str(tmp_path)]) == [manifest(str(tmp_path))]
    assert lookup().run([str(tmp_path)], exclude=["*.pyc"]) == [manifest(str(tmp_path), ["*.pyc"])]
    assert "app.pyc" not in lookup().run([str(tmp_path)], exclude=["*.pyc"])[0]["files"]


def test_lookup_names_a_missing_directory(tmp_path):
    with pytest.raises(AnsibleLookupError, match="cannot read .*missing"):
        lookup().run([str(tmp_path / "missing")])
