#!/usr/bin/python
"""Module checksums: SHA-256 of several files in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: checksums
author: djangoops.services developers
short_description: SHA-256 checksums, owners and modes of several files on the host in one call
description:
  - Returns the SHA-256 checksum of each path that is a regular file, and null for a path
    that is missing or not a regular file. Never fails on a missing path and never warns.
  - Also returns each regular file's owner, group and mode, so that a role can tell whether a
    file it writes already holds what it would write, without a module run per file.
  - One call instead of a loop of M(ansible.builtin.stat), each item of which is a module run.
  - Reads only; never changes the host.
options:
  paths:
    description: Files on the host.
    type: list
    elements: path
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
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
    msg: "{{ sums.checksums['/srv/app/requirements.txt'] is not none }}"
"""

RETURN = r"""
checksums:
  description: Path (as given) to its SHA-256 checksum, or null when it is not a regular file.
  type: dict
  returned: always
files:
  description:
    - Path (as given) to a dict of C(checksum), C(owner), C(group) and C(mode) (four octal
      digits, as a string), or null when it is not a regular file.
    - Owner and group are names, or the numeric ID when the host has no name for it.
  type: dict
  returned: always
  sample:
    /srv/app/run: {checksum: 9f86d081884c7d65..., owner: root, group: app, mode: "0750"}
"""

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec={"paths": {"type": "list", "elements": "path", "required": True}},
        supports_check_mode=True,
    )
    files = {path: describe(module, path) for path in module.params["paths"]}
    checksums = {path: record and record["checksum"] for path, record in files.items()}
    module.exit_json(changed=False, checksums=checksums, files=files)


def describe(module, path):
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return {
        "checksum": module.digest_from_file(path, "sha256"),
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
