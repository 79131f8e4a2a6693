"""Action tree_copy: a controller directory packed on the controller and unpacked on the host
by ansible.builtin.unarchive, in one task (documentation: plugins/modules/tree_copy.py).

Replaces ansible.builtin.copy of the directory (286 s for 200 files against 2.5 s) and
community.general.archive + unarchive, which keep the controller's modes or, given a mode,
chmod through a project's symlink (docs/BENCHMARKS.md, "The plugins against the builtins")."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.djangoops.services.plugins.module_utils.tree import pack

ARGUMENT_SPEC = {
    "src": {"type": "path", "required": True},
    "dest": {"type": "path", "required": True},
    "group": {"type": "str", "required": True},
    "exclude": {"type": "list", "elements": "str", "default": []},
}


class ActionModule(ActionBase):
    # The unarchive action below makes, uses and removes the host's temporary directory; one
    # made here would be left behind when packing fails.
    TRANSFERS_FILES = False
    # unarchive cannot run in check mode with tar; app_base builds no release in check mode.
    _supports_check_mode = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        src = args["src"]
        if not os.path.isdir(src):
            raise AnsibleActionFail(f"tree_copy: src {src} is not a directory on the controller")
        try:
            archive, members = pack(src, args["group"], args["exclude"])
        except OSError as exc:
            raise AnsibleActionFail(f"tree_copy: cannot pack {src}: {exc}") from exc
        try:
            unarchive_task = self._task.copy()
            unarchive_task.args.clear()
            unarchive_task.args.update(
                src=archive, dest=args["dest"],
            )
            # The members carry owner, group and mode, which GNU tar run by root restores; owner,
            # group or mode given to unarchive would be set on every member again, through a
            # symlink to whatever it points at.
            # The unarchive action sends the file and runs the module, as it would for a task of
            # its own; ansible.legacy, as core's template action calls copy.
            unarchive = self._shared_loader_obj.action_loader.get(
                "ansible.legacy.unarchive",
                task=unarchive_task,
                connection=self._connection,
                play_context=self._play_context,
                loader=self._loader,
                templar=self._templar,
                shared_loader_obj=self._shared_loader_obj,
            )
            result.update(unarchive.run(task_vars=task_vars))
        finally:
            os.unlink(archive)
        result["members"] = members
        return result
