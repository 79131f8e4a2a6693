"""Lookup plugin tree_manifest: the manifest of a directory on the controller.

Replaces ansible.builtin.find with checksums on localhost, a module run on every rerun (0.7 to
0.9 s against 0.05 s: docs/BENCHMARKS.md, "The plugins against the builtins"), whose excludes
match names only."""

from __future__ import annotations

DOCUMENTATION = r"""
name: tree_manifest
author: djangoops.services developers (@djangoops)
short_description: Relative paths and SHA-1 checksums of a directory on the controller
description:
  - Walks a directory on the controller and returns its manifest. Symlinks are recorded as
    links with their target, never followed; entries matching O(exclude) are left out.
  - app_base names a release by the manifest's digest, so that a rerun with the same tree
    makes no release and sends nothing.
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
- name: A digest of the controller's copy of the code, without .git and compiled files
  ansible.builtin.set_fact:
    code_digest: "{{ lookup('djangoops.services.tree_manifest', playbook_dir ~ '/app', exclude=['.git/', '*.pyc']) | to_json | hash('sha1') }}"
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
