#!/usr/bin/python
"""Module tree_archive: a directory packed as one tar.gz, ready for ansible.builtin.unarchive."""

from __future__ import annotations

DOCUMENTATION = r"""
module: tree_archive
author: djangoops.services developers
short_description: Pack a directory into one tar.gz with normalised owners and modes
description:
  - Packs O(path) into a new temporary C(.tar.gz) and returns its name, for
    M(ansible.builtin.unarchive) to send and unpack in one transfer. Meant to run on the
    controller, delegated to localhost; remove the file afterwards.
  - A directory copy with M(ansible.builtin.copy) runs one module per file, which takes
    minutes for a project of a few hundred files; one archive takes one transfer.
  - Symlinks are followed, as M(ansible.builtin.copy) does by default. Members are owned by
    root, files get O(file_mode) and directories O(dir_mode), so the unpacked tree is the same
    whatever the modes on the controller. The top directory itself is not a member.
options:
  path:
    description: The directory to pack.
    type: path
    required: true
  file_mode:
    description: Octal mode of every file member.
    type: str
    default: "0640"
  dir_mode:
    description: Octal mode of every directory member.
    type: str
    default: "0750"
attributes:
  check_mode:
    support: none
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Pack the code on the controller
  djangoops.services.tree_archive:
    path: /home/me/app
  delegate_to: localhost
  become: false
  register: code_archive

- name: Send and unpack it in one transfer
  ansible.builtin.unarchive:
    src: "{{ code_archive.archive }}"
    dest: /srv/app
"""

RETURN = r"""
archive:
  description: The temporary tar.gz file; the caller removes it.
  type: str
  returned: success
members:
  description: How many files and directories it holds.
  type: int
  returned: success
"""

import os
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule


def pack(root, file_mode, dir_mode):
    """Write root's tree to a new temporary tar.gz; return (its path, member count)."""
    handle, archive = tempfile.mkstemp(prefix="djangoops-tree-", suffix=".tar.gz")
    os.close(handle)
    members = 0
    try:
        with tarfile.open(archive, "w:gz", dereference=True) as tar:
            for current, subdirs, names in os.walk(root, followlinks=True):
                subdirs.sort()
                for name in sorted(subdirs) + sorted(names):
                    full = os.path.join(current, name)
                    if not (os.path.isdir(full) or os.path.isfile(full)):
                        continue
                    info = tar.gettarinfo(full, arcname=os.path.relpath(full, root))
                    info.uid = info.gid = 0
                    info.uname = info.gname = "root"
                    info.mode = dir_mode if info.isdir() else file_mode
                    if info.isdir():
                        tar.addfile(info)
                    else:
                        with open(full, "rb") as content:
                            tar.addfile(info, content)
                    members += 1
    except BaseException:
        os.unlink(archive)
        raise
    return archive, members


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "file_mode": {"type": "str", "default": "0640"},
            "dir_mode": {"type": "str", "default": "0750"},
        },
        supports_check_mode=False,
    )
    path = module.params["path"]
    if not os.path.isdir(path):
        module.fail_json(msg=f"path {path} is not a directory")
    try:
        file_mode, dir_mode = int(module.params["file_mode"], 8), int(module.params["dir_mode"], 8)
    except ValueError:
        module.fail_json(msg="file_mode and dir_mode must be octal strings such as 0640")
    try:
        archive, members = pack(path, file_mode, dir_mode)
    except OSError as exc:
        module.fail_json(msg=f"cannot pack {path}: {exc}")
    module.exit_json(changed=True, archive=archive, members=members)


if __name__ == "__main__":
    main()
