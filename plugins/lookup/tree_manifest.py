"""Lookup plugin tree_manifest: the manifest of a directory on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
name: tree_manifest
author: djangoops.services developers
short_description: Relative paths and SHA-1 checksums of a directory on the controller
description:
  - Walks a directory on the controller, following symlinks as M(ansible.builtin.copy) does
    with O(ansible.builtin.copy#module:local_follow=true), and returns its manifest.
  - M(djangoops.services.tree_state) compares a host directory with the manifest, so that a
    rerun can skip a directory copy that would change nothing.
options:
  _terms:
    description: One directory on the controller.
    required: true
    type: list
    elements: path
"""

EXAMPLES = r"""
- name: Compare /srv/app with the controller's copy of the code
  djangoops.services.tree_state:
    path: /srv/app
    tree: "{{ lookup('djangoops.services.tree_manifest', playbook_dir ~ '/app') }}"
"""

RETURN = r"""
_raw:
  description: One manifest per directory.
  type: list
  elements: dict
  contains:
    files:
      description: Relative path (with C(/)) to the SHA-1 checksum of the file's content.
      type: dict
    dirs:
      description: Relative paths of the subdirectories, sorted.
      type: list
      elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.djangoops.services.plugins.module_utils.tree import manifest


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        results = []
        for term in terms:
            try:
                results.append(manifest(str(term)))
            except (OSError, ValueError) as exc:
                raise AnsibleLookupError(f"tree_manifest: cannot read {term}: {exc}") from exc
        return results
