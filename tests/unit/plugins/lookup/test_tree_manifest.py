"""The tree_manifest lookup as templates call it."""
import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.djangoops.services.plugins.lookup.tree_manifest import LookupModule
from ansible_collections.djangoops.services.plugins.module_utils.tree import manifest


def test_lookup_returns_one_manifest_per_directory(tmp_path):
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    assert LookupModule().run([str(tmp_path)]) == [manifest(str(tmp_path))]


def test_lookup_names_a_missing_directory(tmp_path):
    with pytest.raises(AnsibleLookupError, match="cannot read .*missing"):
        LookupModule().run([str(tmp_path / "missing")])
