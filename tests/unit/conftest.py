"""Import the collection's plugins as Ansible does: ansible_collections.djangoops.services."""
import os
import shutil
import sys
from pathlib import Path

import pytest
from ansible.plugins.loader import init_plugin_loader
from ansible.utils.collection_loader import AnsibleCollectionConfig

ROOT = Path(__file__).resolve().parents[2]
if ROOT.parents[1].name == "ansible_collections":
    # ansible-test's layout (`make units-layout`): the checkout already is where Ansible looks.
    COLLECTIONS = ROOT.parents[2]
else:
    COLLECTIONS = ROOT / ".cache" / "collections"
    if not (COLLECTIONS / "ansible_collections" / "djangoops" / "services").exists():
        raise RuntimeError(f"{COLLECTIONS} has no djangoops.services link: run 'make collection' first")
if AnsibleCollectionConfig.collection_finder is None:
    # Ansible's own importer of collections (ansible-test's units installs it, plain pytest
    # does not): imports of ansible_collections.* and the plugin loaders then both work.
    init_plugin_loader([str(COLLECTIONS)])
# For the ansible-doc and ansible-galaxy runs of the tests, whatever the caller's environment says.
os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS)
# meta/runtime.yml claims 2.19 only, and `make units-layout` runs these tests on 2.16 too: its
# warning that the collection does not support it is not what the tests look at.
os.environ["ANSIBLE_COLLECTIONS_ON_ANSIBLE_VERSION_MISMATCH"] = "ignore"


@pytest.fixture(scope="session")
def ansible_cli():
    """Path of an Ansible command: the one beside this Python (the toolchain venv, activated or
    not), else the one on PATH (ansible-test's venvs have none of their own)."""

    def path(name):
        beside = Path(sys.executable).parent / name
        return str(beside) if beside.exists() else shutil.which(name)

    return path
