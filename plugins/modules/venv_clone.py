#!/usr/bin/python
"""Module venv_clone: a new venv as a copy of one built from the same inputs on the same host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: venv_clone
author: djangoops.services developers
short_description: Make a venv by copying one on the same host that was built from the same inputs
description:
  - Copies the venv O(src) to O(dest), which must not exist yet, and points the copy at its
    new place. The C(#!) line of every script in C(bin/), the activate scripts and
    C(pyvenv.cfg) name O(dest) instead of O(src).
  - Copies only when O(src) holds the stamp file O(stamp) and its content is exactly
    O(stamp_content), the record of what O(src) was built from (Python, requirements
    checksum, packages); the copy carries that stamp along. Otherwise it changes nothing and
    returns RV(cloned) false, and the caller builds the venv with pip.
  - Several apps on one host usually install the same requirements; pip spends seconds per
    venv resolving, unpacking and compiling what a copy of a sibling venv gives in a fraction
    of that. Compiled C(.pyc) files are copied too; Python takes the source path from where it
    loads a module, not from the C(.pyc).
  - The copy is made next to O(dest) and renamed into place, so a failed copy leaves no half
    venv at O(dest). Files keep their modes; they belong to the user the module runs as.
options:
  src:
    description: The venv to copy, built by pip from the inputs O(stamp_content) records.
    type: path
    required: true
  dest:
    description: Where the new venv goes. When it exists, nothing is copied.
    type: path
    required: true
  stamp:
    description: The stamp file's name inside a venv.
    type: str
    required: true
  stamp_content:
    description: The stamp O(src) must hold; the copy is only right for the same inputs.
    type: str
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Copy a venv built from the same requirements by an earlier app
  djangoops.services.venv_clone:
    src: /srv/blog/venv
    dest: /srv/shop/venv
    stamp: .djangoops-stamp
    stamp_content: "{{ stamp_content }}"
  register: clone

- name: Build it with pip when there was nothing to copy
  ansible.builtin.command:
    argv: [python3, -m, pip, --python, /srv/shop/venv/bin/python, install, -r, requirements.txt]
  when: not clone.cloned
"""

RETURN = r"""
cloned:
  description: Whether O(dest) was made as a copy of O(src) (or would be, in check mode).
  type: bool
  returned: always
reason:
  description: Why nothing was copied; empty when RV(cloned) is true.
  type: str
  returned: always
"""

import os
import re
import shutil
import subprocess

from ansible.module_utils.basic import AnsibleModule


def read_text(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def why_not(src, dest, stamp, stamp_content):
    """The reason a copy would be wrong or pointless; empty when it can be made."""
    if os.path.lexists(dest):
        return f"{dest} exists"
    if not os.path.isfile(os.path.join(src, "bin", "python")):
        return f"{src} is not a venv"
    if read_text(os.path.join(src, stamp)) != stamp_content:
        return f"{src} was not built from the same inputs"
    return ""


def repoint(venv, src, dest):
    """Rewrite src to dest in the venv's text files that name their venv (scripts, activate,
    pyvenv.cfg). Only whole paths: src followed by a separator, a quote, a space or the end."""
    pattern = re.compile(re.escape(src) + r"(?=[/\"'\s]|$)", re.MULTILINE)
    bindir = os.path.join(venv, "bin")
    candidates = [os.path.join(venv, "pyvenv.cfg")] + [
        os.path.join(bindir, name) for name in sorted(os.listdir(bindir))
    ]
    for path in candidates:
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        text = read_text(path)
        if text is None or not pattern.search(text):
            continue
        mode = os.stat(path).st_mode
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(pattern.sub(dest.replace("\\", "\\\\"), text))
        os.chmod(path, mode & 0o7777)


def clone(src, dest):
    parent = os.path.dirname(dest.rstrip("/")) or "/"
    staging = os.path.join(parent, f".{os.path.basename(dest.rstrip('/'))}.djangoops-clone")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        # cp -a keeps symlinks (bin/python -> /usr/bin/python3) and modes, and copies a venv of
        # several thousand files in a fraction of shutil.copytree's time.
        subprocess.run(["cp", "-a", "--", src, staging], check=True, capture_output=True, text=True)
        repoint(staging, src.rstrip("/"), dest.rstrip("/"))
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def main():
    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "stamp": {"type": "str", "required": True},
            "stamp_content": {"type": "str", "required": True, "no_log": False},
        },
        supports_check_mode=True,
    )
    src, dest = module.params["src"].rstrip("/"), module.params["dest"].rstrip("/")
    if os.path.realpath(src) == os.path.realpath(dest):
        module.fail_json(msg=f"src and dest are the same venv ({src})")
    reason = why_not(src, dest, module.params["stamp"], module.params["stamp_content"])
    if reason or module.check_mode:
        module.exit_json(changed=not reason, cloned=not reason, reason=reason)
    try:
        clone(src, dest)
    except subprocess.CalledProcessError as exc:
        module.fail_json(msg=f"cannot copy {src} to {dest}: {exc.stderr.strip()}")
    except OSError as exc:
        module.fail_json(msg=f"cannot copy {src} to {dest}: {exc}")
    module.exit_json(changed=True, cloned=True, reason="")


if __name__ == "__main__":
    main()
