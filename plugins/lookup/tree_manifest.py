"""Lookup plugin tree_manifest: the manifest of a directory on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
name: tree_manifest
author: djangoops.services developers
short_description: Relative paths and SHA-1 checksums of a directory on the controller
description:
  - Walks a directory on the controller and returns its manifest. Symlinks are recorded as
    links with their target, never followed; entries matching O(exclude) are left out.
  - M(djangoops.services.tree_state) compares a host directory with the manifest, so that a
    rerun can skip a directory copy that would change nothing.
options:
  _terms:
    description: One directory on the controller.
    required: true
    type: list
    elements: path
  exclude:
    description:
      - gitignore-like patterns to leave out. A trailing C(/) matches directories only; a
        pattern with another C(/) matches the relative path from the top, one without
        matches the name at any depth (C(*.pyc), C(.git/)).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Compare /srv/app with the controller's copy of the code
  djangoops.services.tree_state:
    path: /srv/app
    tree: "{{ lookup('djangoops.services.tree_manifest', playbook_dir ~ '/app', exclude=['.git/', '*.pyc']) }}"
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
    links:
      description: Relative path of each symlink to its target, as C(readlink) gives it.
      type: dict
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
                results.append(manifest(str(term), kwargs.get("exclude") or []))
            except (OSError, ValueError) as exc:
                raise AnsibleLookupError(f"tree_manifest: cannot read {term}: {exc}") from exc
        return results
