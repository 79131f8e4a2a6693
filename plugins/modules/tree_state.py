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
  - Symlinks must be symlinks with the same target; they are never followed.
  - Directories under O(path) owned by someone other than O(owner) are the app's own data
    (static files, uploads); nothing under them is compared, and they are returned in
    RV(kept). What else the host has beyond the manifest, but for the O(protected) names at
    the top, is returned in RV(extra), so that the caller can remove what the project no
    longer has.
  - Reads only; never changes the host.
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
  protected:
    description: Paths relative to O(path) that are not the tree's (files the roles write beside the code), with what is under them.
    type: list
    elements: str
    default: []
  protected_list:
    description:
      - A JSON file on the host with a list of further relative paths to treat as O(protected)
        and, where they exist, to return in RV(kept) (the directories a role handed to the app
        on an earlier run). A missing file is an empty list.
    type: path
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
extra:
  description: Topmost paths under O(path), relative, that the tree does not have and that are not kept or protected.
  type: list
  elements: str
  returned: always
kept:
  description: Relative paths of the directories owned by someone other than O(owner), not compared.
  type: list
  elements: str
  returned: always
checked:
  description: How many files, directories and symlinks the manifest lists.
  type: int
  returned: always
"""

import grp
import json
import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.djangoops.services.plugins.module_utils.tree import differences, host_state, unsafe_paths


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
            "protected": {"type": "list", "elements": "str", "default": []},
            "protected_list": {"type": "path"},
        },
        supports_check_mode=True,
    )
    params = module.params
    tree = params["tree"]
    if (not isinstance(tree.get("files", {}), dict) or not isinstance(tree.get("dirs", []), list)
            or not isinstance(tree.get("links", {}), dict)):
        module.fail_json(msg="tree must have files (a dict of relpath: sha1), dirs (a list of relpaths) and links (relpath: target)")
    unsafe = unsafe_paths(tree)
    if unsafe:
        module.fail_json(msg=f"tree lists paths outside path: {unsafe[:5]}")
    try:
        file_mode, dir_mode = int(params["file_mode"], 8), int(params["dir_mode"], 8)
    except ValueError:
        module.fail_json(msg="file_mode and dir_mode must be octal strings such as 0640")
    uid = None if params["owner"] is None else _id(lambda n: pwd.getpwnam(n).pw_uid, params["owner"])
    gid = None if params["group"] is None else _id(lambda n: grp.getgrnam(n).gr_gid, params["group"])
    protected = list(params["protected"])
    if params["protected_list"]:
        try:
            with open(params["protected_list"], encoding="utf-8") as handle:
                listed = json.load(handle)
        except FileNotFoundError:
            listed = []
        except (OSError, ValueError) as exc:
            module.fail_json(msg=f"protected_list {params['protected_list']}: {exc}")
        if not isinstance(listed, list) or not all(isinstance(rel, str) for rel in listed):
            module.fail_json(msg=f"protected_list {params['protected_list']} must hold a JSON list of relative paths")
        protected += listed
    extra, kept = host_state(params["path"], tree, uid, protected)
    # The listed directories are the app's like the ones it owns: not compared, not sent.
    kept = sorted(set(kept) | {rel for rel in protected[len(params["protected"]):]
                               if os.path.lexists(os.path.join(params["path"], rel))})
    found = differences(params["path"], tree, uid, gid, file_mode, dir_mode, kept=kept)
    found += [f"{rel}: not in the tree" for rel in extra[:20 - len(found)]] if len(found) < 20 else []
    module.exit_json(
        changed=False,
        matches=not found,
        differences=found,
        extra=extra,
        kept=kept,
        checked=len(tree.get("files", {})) + len(tree.get("dirs", [])) + len(tree.get("links", {})),
    )


if __name__ == "__main__":
    main()
