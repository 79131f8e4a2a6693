"""One definition of "the code tree" for the controller (lookup) and the host (module).

A tree is described by a manifest: ``{"files": {relpath: sha1}, "dirs": [relpath, ...]}``,
relative paths with ``/``, sorted. The lookup builds it from the controller directory the way
``ansible.builtin.copy`` reads it (symlinks followed); the module compares a host directory
against it, so a rerun can skip a copy that would change nothing.
"""

from __future__ import annotations

import hashlib
import os
import stat

_CHUNK = 64 * 1024


def sha1_of(path):
    digest = hashlib.sha1()  # noqa: S324 - the checksum ansible.builtin.copy compares with
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest(root):
    """The manifest of directory ``root`` (followed symlinks, like copy's local_follow)."""
    if not os.path.isdir(root):
        raise ValueError(f"{root} is not a directory")
    files, dirs = {}, []
    for current, subdirs, names in os.walk(root, followlinks=True):
        subdirs.sort()
        rel_dir = os.path.relpath(current, root)
        if rel_dir != ".":
            dirs.append(rel_dir.replace(os.sep, "/"))
        for name in sorted(names):
            full = os.path.join(current, name)
            if not os.path.isfile(full):
                continue  # broken symlinks, sockets, fifos: copy skips or fails on them too
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            files[rel] = sha1_of(full)
    return {"files": dict(sorted(files.items())), "dirs": sorted(dirs)}


def unsafe_paths(tree):
    """Relative paths that would leave the destination: absolute, or with '..' parts."""
    paths = list(tree.get("files", {})) + list(tree.get("dirs", []))
    return [p for p in paths if p.startswith("/") or ".." in p.split("/") or p in ("", ".")]


def differences(dest, tree, uid, gid, file_mode, dir_mode, limit=20):
    """Why ``dest`` does not hold ``tree`` with these owners and modes; empty when it does.

    ``uid``/``gid`` of None are not checked. Files and directories that ``dest`` has beyond
    the tree are not differences (copy leaves them too).
    """
    found = []

    def note(rel, why):
        found.append(f"{rel}: {why}")
        return len(found) >= limit

    def owned_wrong(info, rel, kind, mode):
        if uid is not None and info.st_uid != uid:
            return note(rel, f"{kind} owner uid {info.st_uid}, wanted {uid}")
        if gid is not None and info.st_gid != gid:
            return note(rel, f"{kind} group gid {info.st_gid}, wanted {gid}")
        if stat.S_IMODE(info.st_mode) != mode:
            return note(rel, f"{kind} mode {stat.S_IMODE(info.st_mode):04o}, wanted {mode:04o}")
        return False

    for rel in tree.get("dirs", []):
        path = os.path.join(dest, rel)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            if note(rel, "directory missing"):
                return found
            continue
        if not stat.S_ISDIR(info.st_mode):
            if note(rel, "not a directory"):
                return found
            continue
        if owned_wrong(info, rel, "directory", dir_mode):
            return found
    for rel, checksum in tree.get("files", {}).items():
        path = os.path.join(dest, rel)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            if note(rel, "file missing"):
                return found
            continue
        if not stat.S_ISREG(info.st_mode):
            if note(rel, "not a regular file"):
                return found
            continue
        if owned_wrong(info, rel, "file", file_mode):
            return found
        if sha1_of(path) != checksum:
            if note(rel, "content differs"):
                return found
    return found
