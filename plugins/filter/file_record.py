"""What a file the roles write should look like on the host, in the form the checksums
module reports, so that writing a file whose target already matches can be skipped."""

from __future__ import annotations

import hashlib


def file_record(content, owner, group, mode):
    """The checksums module's record for a regular file with this content and these attributes.

    ``content`` is the rendered text (as ``lookup('ansible.builtin.template', ...)`` returns
    it); it is hashed as UTF-8, as djangoops.services.write_files writes it, and never returned.
    """
    mode = str(mode)
    if len(mode) != 4 or not set(mode) <= set("01234567"):
        raise ValueError(f"file_record: mode must be four octal digits such as '0640', got {mode!r}")
    return {
        "checksum": hashlib.sha256(str(content).encode("utf-8")).hexdigest(),
        "owner": str(owner),
        "group": str(group),
        "mode": mode,
    }


class FilterModule:
    """The file_record filter of djangoops.services."""

    def filters(self):
        return {"file_record": file_record}
