"""What a file the roles write should look like on the host, in the form the checksums
module reports, so that writing a file whose target already matches can be skipped."""

from __future__ import annotations

import hashlib


def file_record(spec):
    """The checksums module's record for one djangoops.services.write_files entry.

    ``spec`` is the entry as the role passes it to write_files (``content`` or
    ``secret_content``, ``owner``, ``group``, ``mode``), so that the skip and the write read
    the same values. The content is hashed as UTF-8, as write_files writes it, and never returned.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"file_record: expects a write_files entry (a dict), got {type(spec).__name__}")
    missing = [key for key in ("owner", "group", "mode") if key not in spec]
    if missing or ("content" in spec) == ("secret_content" in spec):
        raise ValueError("file_record: the entry needs owner, group, mode and one of content or secret_content")
    mode = str(spec["mode"])
    if len(mode) != 4 or not set(mode) <= set("01234567"):
        raise ValueError(f"file_record: mode must be four octal digits such as '0640', got {mode!r}")
    content = spec["content"] if "content" in spec else spec["secret_content"]
    return {
        "checksum": hashlib.sha256(str(content).encode("utf-8")).hexdigest(),
        "owner": str(spec["owner"]),
        "group": str(spec["group"]),
        "mode": mode,
    }


class FilterModule:
    """The file_record filter of djangoops.services."""

    def filters(self):
        return {"file_record": file_record}
