#!/usr/bin/python
"""Module write_files: several small files, their owner, group and mode, in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: write_files
author: djangoops.services developers
short_description: Write several small files with owner, group and mode in one module run
description:
  - Writes each file whose content, owner, group or mode differs from what is asked, and
    leaves the others untouched. A file is replaced atomically (a temporary file in the same
    directory gets its owner and mode before it is renamed over the target), so its content
    is never readable with the wrong mode and a reader never sees half a file.
  - One module run for all the files, where M(ansible.builtin.template) or
    M(ansible.builtin.copy) take two to four per file (stat, transfer, copy). Render
    templates on the controller with the P(ansible.builtin.template#lookup) lookup.
  - A file given as O(files[].secret_content) is never shown, in the result, the logs or
    C(--diff); a file given as O(files[].content) shows its diff in C(--diff) mode.
  - Does not create directories, follow a symlink at the target, or set SELinux contexts.
options:
  files:
    description: The files to write.
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description: Absolute path of the file; its directory must exist.
        type: path
        required: true
      content:
        description: The content. Exactly one of O(files[].content) and O(files[].secret_content).
        type: str
      secret_content:
        description: The content of a file that holds secrets; never shown.
        type: str
      owner:
        description: Owner name.
        type: str
        required: true
      group:
        description: Group name.
        type: str
        required: true
      mode:
        description: Mode as an octal string, such as V(0640).
        type: str
        required: true
      only_with:
        description:
          - When not empty, this file is written only if one of these files of the same call is
            written too (or would be, in check mode), for a marker that records that they
            changed. Such a file is written before the others, so that a run that stops half
            way still leaves it.
          - When empty, the file is written whenever it differs, like any other.
        type: list
        elements: path
        default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: The app's config and env file, in one module run
  djangoops.services.write_files:
    files:
      - dest: /srv/app/gunicorn.conf.py
        content: "{{ lookup('ansible.builtin.template', 'gunicorn.conf.py.j2') }}"
        owner: root
        group: app
        mode: "0640"
      - dest: /srv/app/.env
        secret_content: "{{ lookup('ansible.builtin.template', 'dotenv.j2') }}"
        owner: root
        group: app
        mode: "0640"
  register: written

- name: Restart when the env file changed
  ansible.builtin.debug:
    msg: "{{ '/srv/app/.env' in written.changed_paths }}"
"""

RETURN = r"""
changed_paths:
  description: >-
    The paths that were written or would be (check mode), in the order written: files with
    O(files[].only_with) first, then the others in the order given.
  type: list
  elements: str
  returned: always
  sample: [/srv/app/gunicorn.conf.py]
"""

import grp
import os
import pwd
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

HIDDEN = "(secret content, not shown)\n"


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "dest": {"type": "path", "required": True},
                    "content": {"type": "str"},
                    "secret_content": {"type": "str", "no_log": True},
                    "owner": {"type": "str", "required": True},
                    "group": {"type": "str", "required": True},
                    "mode": {"type": "str", "required": True},
                    "only_with": {"type": "list", "elements": "path", "default": []},
                },
                "mutually_exclusive": [["content", "secret_content"]],
            },
        },
        supports_check_mode=True,
    )
    # Every file is checked before any is written: a bad owner or a missing directory in the
    # last file must not leave the first ones changed, which the next run would then find
    # matching and never report (no reload for them).
    plan, markers = [], []
    for spec in module.params["files"]:
        if spec["content"] is None and spec["secret_content"] is None:
            module.fail_json(msg=f"write_files: {spec['dest']}: give content or secret_content")
        secret = spec["secret_content"] is not None
        data = to_bytes(spec["secret_content"] if secret else spec["content"])
        try:
            mode = int(spec["mode"], 8)
        except ValueError:
            module.fail_json(msg=f"write_files: {spec['dest']}: mode must be an octal string such as 0640; got {spec['mode']!r}")
        before = current(module, spec["dest"])
        uid, gid = ids(spec)
        same_content = before is not None and before["data"] == data
        same_meta = before is not None and (before["uid"], before["gid"], before["mode"]) == (uid, gid, mode)
        if same_content and same_meta:
            continue
        diff = None
        if module._diff and not same_content:
            diff = {
                "before_header": spec["dest"],
                "after_header": spec["dest"],
                "before": HIDDEN if secret and before else ("" if before is None else before["data"].decode("utf-8", "replace")),
                "after": HIDDEN if secret else data.decode("utf-8", "replace"),
            }
        if not module.check_mode:
            if uid is None or gid is None:
                module.fail_json(msg=f"write_files: {spec['dest']}: no such owner {spec['owner']!r} or group {spec['group']!r} on the host")
            if not os.path.isdir(os.path.dirname(spec["dest"])):
                module.fail_json(msg=f"write_files: the directory of {spec['dest']} does not exist")
        entry = (spec["dest"], data if not same_content else None, uid, gid, mode)
        (markers if spec["only_with"] else plan).append((entry, diff, spec["only_with"]))
    # A marker goes first: a run that stops after it still leaves the record of the change.
    planned = {entry[0] for entry, _, _ in plan}
    plan = [item for item in markers if planned.intersection(item[2])] + plan
    diffs = [diff for _, diff, _ in plan if diff]
    plan = [entry for entry, _, _ in plan]
    changed_paths = [dest for dest, *_ in plan]
    if not module.check_mode:
        for dest, data, uid, gid, mode in plan:
            try:
                if data is None:
                    os.chown(dest, uid, gid)
                    os.chmod(dest, mode)
                else:
                    replace(dest, data, uid, gid, mode)
            except OSError as error:
                module.fail_json(msg=f"write_files: {dest}: {error}", changed=True, changed_paths=changed_paths)
    result = {"changed": bool(changed_paths), "changed_paths": changed_paths}
    if diffs:
        result["diff"] = diffs
    module.exit_json(**result)


def current(module, path):
    """The file's bytes, owner and mode; None when it does not exist. Refuses what is not a
    regular file: replacing a symlink or a directory is not this module's call to make."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        module.fail_json(msg=f"write_files: {path} exists and is not a regular file")
    with open(path, "rb") as handle:
        data = handle.read()
    return {"data": data, "uid": info.st_uid, "gid": info.st_gid, "mode": stat.S_IMODE(info.st_mode)}


def ids(spec):
    """Numeric owner and group; None for a name the host does not know (yet, in check mode)."""
    try:
        uid = pwd.getpwnam(spec["owner"]).pw_uid
    except KeyError:
        uid = None
    try:
        gid = grp.getgrnam(spec["group"]).gr_gid
    except KeyError:
        gid = None
    return uid, gid


def replace(path, data, uid, gid, mode):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            # mkstemp's file is 0600: owner and mode are set before the content is written
            # and before the file appears under the target's name.
            os.fchown(handle.fileno(), uid, gid)
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


if __name__ == "__main__":
    main()
