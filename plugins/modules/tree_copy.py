#!/usr/bin/python
"""Documentation of the tree_copy action (plugins/action/tree_copy.py): it runs no module of its own."""

from __future__ import annotations

DOCUMENTATION = r"""
module: tree_copy
author: djangoops.services developers
short_description: Copy a controller directory to the host as one archive
description:
  - Packs the controller directory O(src) into one temporary C(.tar.gz) on the controller,
    then sends and unpacks it into O(dest) with M(ansible.builtin.unarchive), and removes
    the archive. One transfer and one module run on the host, where M(ansible.builtin.copy)
    of a directory runs one module per file (minutes for a project of a few hundred files).
  - Symlinks in O(src) are sent as symlinks, never followed. Every member is owned by root
    and O(group) in the archive, files get O(file_mode) and directories O(dir_mode), so the
    result does not depend on the owners and modes on the controller; GNU tar, run by root,
    restores them (nothing is set again through a symlink).
  - Files under O(dest) that O(src) does not have stay; M(djangoops.services.tree_state)
    names them for removal. Compare first with it and the
    P(djangoops.services.tree_manifest#lookup) lookup, and copy only when the tree differs.
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
  file_mode:
    description: Octal mode of every file member in the archive.
    type: str
    default: "0640"
  dir_mode:
    description: Octal mode of every directory member in the archive.
    type: str
    default: "0750"
  exclude:
    description: gitignore-like patterns left out, as the P(djangoops.services.tree_manifest#lookup) lookup reads them.
    type: list
    elements: str
    default: []
  skip:
    description: Relative paths left out with what is under them (the directories tree_state kept).
    type: list
    elements: str
    default: []
  checksums:
    description:
      - Paths relative to O(src) whose sha256 to return in RV(checksums), read from the
        controller's files that were sent (what the host holds after the copy).
    type: list
    elements: str
    default: []
attributes:
  action:
    support: full
  check_mode:
    support: none
  diff_mode:
    support: none
"""

EXAMPLES = r"""
# code_state: the result of djangoops.services.tree_state for the same directory.
- name: Send the code as one archive when the host's copy differs
  djangoops.services.tree_copy:
    src: files/app
    dest: /srv/app
    group: app
    exclude: [.git/, "*.pyc"]
    skip: "{{ code_state.kept }}"
    checksums: [requirements.txt]
  register: code_copy
  when: not code_state.matches

- name: The requirements file the host now holds, without reading it back
  ansible.builtin.debug:
    msg: "{{ code_copy.checksums['requirements.txt'] }}"
  when: code_copy is changed
"""

RETURN = r"""
members:
  description: How many files and directories the archive held.
  type: int
  returned: success
checksums:
  description: The sha256 of each path of O(checksums), or null when O(src) has no such file.
  type: dict
  returned: success
  sample: {requirements.txt: 3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b}
"""
