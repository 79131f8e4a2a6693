#!/usr/bin/python
"""Module checksums: what app_base reads about the host's files and directories in one call.

Replaces a loop of ansible.builtin.stat: a rerun reads 10 to 13 paths, one module run each
with stat (12 paths: 1.0 s against 7.0 s: docs/BENCHMARKS.md, "The plugins against the builtins")."""

from __future__ import annotations

DOCUMENTATION = r"""
module: checksums
author: djangoops.services developers (@djangoops)
short_description: Checksums and owners of files and directories on the host in one call
description:
  - Returns the SHA-256 checksum, owner, group and mode of each path that is a regular file,
    and null for a path that is missing or not a regular file, so that a role can tell whether
    a file it writes already holds what it would write. Never fails on a missing path and
    never warns.
  - Also returns the owner, group and mode of directories (a symlink to one is followed).
  - One call instead of a loop of M(ansible.builtin.stat), each item of which is a module run.
  - Reads only; never changes the host.
options:
  paths:
    description: Files on the host.
    type: list
    elements: path
    required: true
  directories:
    description: Directories on the host.
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
    description: It only reads, so check mode returns what a normal run returns.
  diff_mode:
    support: none
    description: It changes nothing, so there is no diff to show.
"""

EXAMPLES = r"""
- name: Checksums of the requirements file and the venv's stamp
  djangoops.services.checksums:
    paths:
      - /srv/app/requirements.txt
      - /srv/app/venv/.djangoops-stamp
  register: sums

- name: Show whether the requirements file exists
  ansible.builtin.debug:
    msg: "{{ sums.files['/srv/app/requirements.txt'] is not none }}"
"""

RETURN = r"""
files:
  description:
    - Path (as given) to a dict of C(checksum), C(owner), C(group) and C(mode) (four octal
      digits, as a string), or null when it is not a regular file.
    - Owner and group are names, or the numeric ID when the host has no name for it.
  type: dict
  returned: always
  sample:
    /srv/app/run: {checksum: 9f86d081884c7d65..., owner: root, group: app, mode: "0750"}
directories:
  description:
    - Path (as given) to a dict of C(owner), C(group) and C(mode), or null when it is not a
      directory (a symlink to one is followed).
  type: dict
  returned: always
  sample:
    /srv/app: {owner: root, group: app, mode: "0750"}
"""

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "required": True},
            "directories": {"type": "list", "elements": "path", "default": []},
        },
        supports_check_mode=True,
    )
    module.exit_json(
        changed=False,
        files={path: describe(module, path) for path in module.params["paths"]},
        directories={path: describe_directory(path) for path in module.params["directories"]},
    )


def describe(module, path):
    record = ownership(path, stat.S_ISREG)
    if record is not None:
        record["checksum"] = module.digest_from_file(path, "sha256")
    return record


def describe_directory(path):
    return ownership(path, stat.S_ISDIR)


def ownership(path, is_kind):
    """Owner, group and mode of path when it is of the kind asked for, else None."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not is_kind(info.st_mode):
        return None
    return {
        "owner": _name(pwd.getpwuid, info.st_uid),
        "group": _name(grp.getgrgid, info.st_gid),
        "mode": f"{stat.S_IMODE(info.st_mode):04o}",
    }


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


if __name__ == "__main__":
    main()
