#!/usr/bin/python
"""Documentation of the tree_copy action (plugins/action/tree_copy.py): it runs no module of its own."""

from __future__ import annotations

DOCUMENTATION = r"""
module: tree_copy
author: djangoops.services developers (@djangoops)
short_description: Copy a controller directory to the host as one archive
description:
  - Packs the controller directory O(src) into one temporary C(.tar.gz) on the controller,
    then sends and unpacks it into O(dest) with M(ansible.builtin.unarchive), and removes
    the archive. One transfer and one module run on the host, where M(ansible.builtin.copy)
    of a directory runs one module per file (minutes for a project of a few hundred files).
  - Symlinks in O(src) are sent as symlinks, never followed. Every member is owned by root
    and O(group) in the archive, files get mode 0640 and directories 0750, so the
    result does not depend on the owners and modes on the controller; GNU tar, run by root,
    restores them (nothing is set again through a symlink).
  - Meant for an empty O(dest) (app_base unpacks each release into a new directory); files
    already under O(dest) that O(src) does not have stay.
options:
  src:
    description: The directory on the controller.
    type: path
    required: true
  dest:
    description: The directory on the host; it must exist.
    type: path
    required: true
  group:
    description: Group of what is unpacked (its owner is root).
    type: str
    required: true
  exclude:
    description: gitignore-like patterns left out, as the P(djangoops.services.tree_manifest#lookup) lookup reads them.
    type: list
    elements: str
    default: []
attributes:
  action:
    support: full
    description: The archive is made on the controller, by the action plugin of the same name.
  check_mode:
    support: none
    description: The task is skipped in check mode.
  diff_mode:
    support: none
    description: No diff of the files replaced is shown.
"""

EXAMPLES = r"""
- name: Send the code as one archive into a new release directory
  djangoops.services.tree_copy:
    src: files/app
    dest: /srv/app/releases/20261202T081500Z-1a2b3c4d5e6f
    group: app
    exclude: [.git/, "*.pyc"]
"""

RETURN = r"""
members:
  description: How many files and directories the archive held.
  type: int
  returned: success
"""
