#!/usr/bin/python
"""Module checksums: SHA-256 of several files in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: checksums
author: djangoops.services developers
short_description: SHA-256 checksums of several files on the host in one call
description:
  - Returns the SHA-256 checksum of each path that is a regular file, and null for a path
    that is missing or not a regular file. Never fails on a missing path and never warns.
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
"""

import os
import stat

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec={"paths": {"type": "list", "elements": "path", "required": True}},
        supports_check_mode=True,
    )
    checksums = {}
    for path in module.params["paths"]:
        try:
            regular = stat.S_ISREG(os.stat(path).st_mode)
        except OSError:
            regular = False
        checksums[path] = module.digest_from_file(path, "sha256") if regular else None
    module.exit_json(changed=False, checksums=checksums)


if __name__ == "__main__":
    main()
