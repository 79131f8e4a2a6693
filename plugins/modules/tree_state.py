#!/usr/bin/python
"""Module tree_state: does a host directory already hold a tree, owners and modes included."""

from __future__ import annotations

DOCUMENTATION = r"""
module: tree_state
author: djangoops.services developers
short_description: Tell whether a directory on the host already holds a controller tree
description:
  - Compares O(path) with a manifest from the P(djangoops.services.tree_manifest#lookup) lookup;
    every file must exist as a regular file with the same SHA-1 checksum, owner, group and mode,
    every directory with the same owner, group and mode.
  - Reads only; never changes the host. Files on the host beyond the manifest are ignored,
    as M(ansible.builtin.copy) leaves them too.
  - A directory copy runs one module per file; one call of this module lets a rerun skip it.
options:
  path:
    description: The directory on the host.
    type: path
    required: true
  tree:
    description: The manifest, as the lookup returns it (C(files) and C(dirs)).
    type: dict
    required: true
  owner:
    description: Owner every file and directory must have; not checked when omitted.
    type: str
  group:
    description: Group every file and directory must have; not checked when omitted.
    type: str
  file_mode:
    description: Octal mode every file must have.
    type: str
    default: "0640"
  dir_mode:
    description: Octal mode every directory must have.
    type: str
    default: "0750"
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Compare the code on the host with the controller directory
  djangoops.services.tree_state:
    path: /srv/app
    tree: "{{ lookup('djangoops.services.tree_manifest', '/home/me/app') }}"
    owner: root
    group: app
  register: code_state

- name: Copy the code only when it differs
  ansible.builtin.copy:
    src: /home/me/app/
    dest: /srv/app/
  when: not code_state.matches
"""

RETURN = r"""
matches:
  description: Whether every file and directory of the tree is in place as described.
  type: bool
  returned: always
differences:
  description: Up to 20 reasons it does not match, each C(relpath) then the reason.
  type: list
  elements: str
  returned: always
checked:
  description: How many files and directories the manifest lists.
  type: int
  returned: always
"""

import grp
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.djangoops.services.plugins.module_utils.tree import differences, unsafe_paths


def _id(lookup, name):
    try:
        return lookup(name)
    except KeyError:
        return -1  # no such account: nothing on disk can match it


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "tree": {"type": "dict", "required": True},
            "owner": {"type": "str"},
            "group": {"type": "str"},
            "file_mode": {"type": "str", "default": "0640"},
            "dir_mode": {"type": "str", "default": "0750"},
        },
        supports_check_mode=True,
    )
    params = module.params
    tree = params["tree"]
    if not isinstance(tree.get("files", {}), dict) or not isinstance(tree.get("dirs", []), list):
        module.fail_json(msg="tree must have files (a dict of relpath: sha1) and dirs (a list of relpaths)")
    unsafe = unsafe_paths(tree)
    if unsafe:
        module.fail_json(msg=f"tree lists paths outside path: {unsafe[:5]}")
    try:
        file_mode, dir_mode = int(params["file_mode"], 8), int(params["dir_mode"], 8)
    except ValueError:
        module.fail_json(msg="file_mode and dir_mode must be octal strings such as 0640")
    uid = None if params["owner"] is None else _id(lambda n: pwd.getpwnam(n).pw_uid, params["owner"])
    gid = None if params["group"] is None else _id(lambda n: grp.getgrnam(n).gr_gid, params["group"])
    found = differences(params["path"], tree, uid, gid, file_mode, dir_mode)
    module.exit_json(
        changed=False,
        matches=not found,
        differences=found,
        checked=len(tree.get("files", {})) + len(tree.get("dirs", [])),
    )


if __name__ == "__main__":
    main()
